package main

import (
	"fmt"
	"strconv"
	"strings"
)

// sizeFlag is a byte count written with an optional unit: 512KiB, 64MiB,
// 1GiB (or K, M, G, KB, MB, GB, all powers of 1024, as memory is sized).
type sizeFlag int64

var sizeUnits = []struct {
	suffix string
	shift  uint
}{
	{"KIB", 10}, {"MIB", 20}, {"GIB", 30}, {"KB", 10}, {"MB", 20}, {"GB", 30}, {"K", 10}, {"M", 20}, {"G", 30}, {"B", 0},
}

func (s *sizeFlag) String() string {
	if *s == 0 {
		return ""
	}
	return fmt.Sprintf("%dMiB", int64(*s)>>20)
}

func (s *sizeFlag) Set(v string) error {
	num, shift := strings.ToUpper(strings.TrimSpace(v)), uint(0)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, shift = strings.TrimSpace(n), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)>>shift {
		return fmt.Errorf("%q is not a size such as 64MiB or 1GiB", v)
	}
	*s = sizeFlag(n << shift)
	return nil
}
