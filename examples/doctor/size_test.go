package main

import "testing"

func TestSizeFlag(t *testing.T) {
	for in, want := range map[string]int64{
		"64MiB": 64 << 20, "1GiB": 1 << 30, "512k": 512 << 10, "100": 100, "2 GB": 2 << 30, "3M": 3 << 20,
	} {
		var s sizeFlag
		if err := s.Set(in); err != nil || int64(s) != want {
			t.Errorf("%q: %d, %v; want %d", in, s, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "-5MiB", "0", "1.5GiB", "9999999999999GiB"} {
		var s sizeFlag
		if err := s.Set(bad); err == nil {
			t.Errorf("%q accepted as %d", bad, s)
		}
	}
}
