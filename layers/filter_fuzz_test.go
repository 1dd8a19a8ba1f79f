package layers

import (
	"errors"
	"testing"
)

// FuzzCompileFilter: no expression panics the compiler; an error is a
// *FilterError positioned inside the expression (or just after it); a
// compiled filter's canonical form compiles to itself and selects the same
// packets.
func FuzzCompileFilter(f *testing.F) {
	for _, s := range []string{
		"", "tcp", "host 10.1.1.1 or 10.1.1.2", "tcp or udp and port 53", "not (tcp and udp)",
		"src and dst net 10.1 mask 255.255.0.0", "net 10.0.0.0/8", "ip6 net 2001:db8::/32",
		"portrange 6000-6010", "tcp dst port http", "vlan 100 and ip proto 47", "!tcp && !udp || arp",
		"tcp[13] & 2 != 0", "((((tcp))))", "src or dst host ::1", "icmp6 or icmp", "port 80 and tcp and 443",
	} {
		f.Add(s)
	}
	for _, s := range filterCrossCheckExprs {
		f.Add(s)
	}
	pk := filterPackets(f)
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := CompileFilter(expr)
		if err != nil {
			var fe *FilterError
			if !errors.As(err, &fe) {
				t.Fatalf("CompileFilter(%q) error %T, want *FilterError", expr, err)
			}
			if fe.Pos < 1 || fe.Pos > len(expr)+1 || fe.Expr != expr || fe.Msg == "" {
				t.Fatalf("CompileFilter(%q): error %+v out of the expression", expr, fe)
			}
			return
		}
		canon, err := CompileFilter(flt.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not compile: %v", flt.String(), expr, err)
		}
		if canon.String() != flt.String() {
			t.Fatalf("canonical form of %q is %q, which recompiles to %q", expr, flt.String(), canon.String())
		}
		for name, tp := range pk {
			if a, b := flt.MatchFrame(tp.frame), canon.MatchFrame(tp.frame); a != b {
				t.Fatalf("%q and its canonical form %q disagree on %s: %v, %v", expr, flt.String(), name, a, b)
			}
			if tp.pkt != nil && flt.Match(tp.pkt) != canon.Match(tp.pkt) {
				t.Fatalf("%q and its canonical form %q disagree on decoded %s", expr, flt.String(), name)
			}
		}
	})
}
