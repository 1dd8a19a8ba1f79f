// Package defaults fills the unset fields of a configuration struct with
// their defaults. Across nettrace, a numeric limit or threshold that is zero
// or negative means "the default", so that the zero value of every Config
// and Limits type works; each package states its defaults once, in its
// DefaultXxx function, and fills a caller's value from it with Fill.
package defaults

import "reflect"

// Fill sets every numeric field of *cfg (integers, floats, durations) that
// is zero or negative to the same field of def, descending into nested
// structs. Other fields are left as they are. It is meant for construction
// time, not hot paths.
func Fill[T any](cfg *T, def T) {
	fill(reflect.ValueOf(cfg).Elem(), reflect.ValueOf(def))
}

func fill(v, def reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				fill(f, def.Field(i))
			}
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() <= 0 {
			v.SetInt(def.Int())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() == 0 {
			v.SetUint(def.Uint())
		}
	case reflect.Float32, reflect.Float64:
		if v.Float() <= 0 {
			v.SetFloat(def.Float())
		}
	}
}
