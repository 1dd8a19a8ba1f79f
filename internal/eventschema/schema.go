// Package eventschema turns the event vocabulary of package health into
// the schema document docs/events.md: for every kind its meaning, default
// severity, evidence fields with their JSON types, and an example event.
// The kinds and their fields come from the doc comments of health/kinds.go
// (Parse); types and examples come from events observed on the bundled
// captures (Observed, kept in docs/events-observed.json by the root
// package's TestEventSchemaDocumented, which also fails when a kind or an
// evidence field is emitted without its documentation). Render writes the
// document; `go generate ./health` runs it (gen/main.go).
package eventschema

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Kind is one kind as health/kinds.go documents it.
type Kind struct {
	Name     string   // the constant, e.g. TCPRefused
	Kind     string   // its value, e.g. "tcp.refused"
	Group    string   // the comment of its const block, e.g. "TCP connection kinds."
	Doc      string   // the constant's doc comment, one paragraph
	Evidence []string // evidence field names listed after "Evidence:"
}

// Parse reads the kinds of health/kinds.go (its source in src): every
// constant of type Kind with its doc comment and evidence fields.
func Parse(src []byte) ([]Kind, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "kinds.go", src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	var kinds []Kind
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		group := strings.TrimSpace(gd.Doc.Text())
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if vs.Doc == nil && len(gd.Specs) == 1 {
				vs.Doc, group = gd.Doc, "Connection summary." // const X Kind = "…" with its comment above
			}
			if k, ok := kindOf(vs); ok {
				k.Group = group
				kinds = append(kinds, k)
			}
		}
	}
	byName := map[string]*Kind{}
	for i := range kinds {
		byName[kinds[i].Name] = &kinds[i]
	}
	for i := range kinds {
		kinds[i].Evidence = evidenceOf(kinds[i].Doc, byName, 0)
	}
	return kinds, nil
}

// kindOf returns the kind a const spec declares, if it is one.
func kindOf(vs *ast.ValueSpec) (Kind, bool) {
	id, ok := vs.Type.(*ast.Ident)
	if !ok || id.Name != "Kind" || len(vs.Names) != 1 || len(vs.Values) != 1 {
		return Kind{}, false
	}
	lit, ok := vs.Values[0].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return Kind{}, false
	}
	value, err := strconv.Unquote(lit.Value)
	if err != nil {
		return Kind{}, false
	}
	doc := strings.Join(strings.Fields(vs.Doc.Text()), " ")
	return Kind{Name: vs.Names[0].Name, Kind: value, Doc: doc}, true
}

var (
	fieldName = regexp.MustCompile(`^[a-z][a-z0-9_]*`)
	asKind    = regexp.MustCompile(`^as ([A-Z][A-Za-z0-9]*)`)
)

// evidenceOf returns the field names listed after "Evidence:" in doc: the
// list runs to the end of its sentence; parenthesised remarks are left
// out; "as OtherKind" includes that kind's fields.
func evidenceOf(doc string, byName map[string]*Kind, depth int) []string {
	_, list, ok := strings.Cut(doc, "Evidence:")
	if !ok || depth > 3 {
		return nil
	}
	list = stripParens(list)
	if end := sentenceEnd(list); end >= 0 {
		list = list[:end]
	}
	var out []string
	seen := map[string]bool{}
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	for _, item := range splitList(list) {
		if m := asKind.FindStringSubmatch(item); m != nil {
			if other := byName[m[1]]; other != nil {
				for _, f := range evidenceOf(other.Doc, byName, depth+1) {
					add(f)
				}
			}
			continue
		}
		if f := fieldName.FindString(item); f != "" {
			add(f)
		}
	}
	return out
}

// stripParens removes parenthesised text, nested or not.
func stripParens(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// sentenceEnd returns the index of the period that ends the first
// sentence of s, or -1.
func sentenceEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' && (i+1 == len(s) || s[i+1] == ' ') {
			return i
		}
	}
	return -1
}

// splitList splits "a, b or c and d" into its items.
func splitList(s string) []string {
	s = strings.NewReplacer(" or ", ",", " and ", ",", ";", ",").Replace(s)
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// Observed is what events of each kind carried on the bundled captures:
// per kind, the JSON types seen for each evidence field, and one example.
type Observed map[string]*ObservedKind

// ObservedKind is what was seen of one kind.
type ObservedKind struct {
	Fields  map[string][]string `json:"fields"`  // evidence field → JSON types seen, sorted
	Example string              `json:"example"` // one event as the JSON sink writes it
}

// Add records one event: its kind, evidence and JSON line. The example
// kept is the first seen (events arrive in a deterministic order).
func (o Observed) Add(kind string, evidence map[string]any, line string) {
	ok := o[kind]
	if ok == nil {
		ok = &ObservedKind{Fields: map[string][]string{}, Example: line}
		o[kind] = ok
	}
	for k, v := range evidence {
		t := JSONType(v)
		if !contains(ok.Fields[k], t) {
			ok.Fields[k] = append(ok.Fields[k], t)
			sort.Strings(ok.Fields[k])
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// JSONType names the JSON type a Go evidence value is written as:
// "string", "integer", "number", "boolean", "array", "object" or "null".
func JSONType(v any) string {
	switch reflect.ValueOf(v).Kind() {
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if _, ok := v.(json.Marshaler); !ok {
			return "integer"
		}
	}
	b, err := json.Marshal(v)
	if err != nil || len(b) == 0 {
		return "string"
	}
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	if bytes.ContainsAny(b, ".eE") {
		return "number"
	}
	return "integer"
}
