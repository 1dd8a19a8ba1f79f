package rpc

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

func seedPDUs() [][]byte {
	var out [][]byte
	for _, h := range []string{hexBindEPM, hexBindAckEPM, hexMapRequest, hexMapResponse, hexBindNTLM} {
		b, _ := hex.DecodeString(h)
		out = append(out, b)
	}
	out = append(out,
		pdu(true, PTFault, flagsFirstAndLastFrag, 3, faultBody(true, StatusOpRangeError), 0),
		pdu(false, PTBindNak, flagsFirstAndLastFrag, 1, []byte{4, 0, 1, 5, 0}, 0),
		pdu(false, PTRequest, flagsFirstAndLastFrag|FlagObjectUUID, 2, requestBody(false, 0, 3, make([]byte, 20)), 16),
	)
	return out
}

// FuzzParsePDU: no panic; a success re-parses from exactly the consumed
// bytes to an equal PDU with nothing left.
func FuzzParsePDU(f *testing.F) {
	for _, b := range seedPDUs() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, rest, err := ParsePDU(b)
		if err != nil {
			if len(rest) != len(b) {
				t.Fatalf("error %v but rest changed", err)
			}
			return
		}
		used := b[:len(b)-len(rest)]
		q, rest2, err := ParsePDU(used)
		if err != nil || len(rest2) != 0 {
			t.Fatalf("re-parse of consumed bytes: %v, %d left", err, len(rest2))
		}
		if d := cmp.Diff(p, q, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("re-parse differs:\n%s", d)
		}
	})
}

// FuzzNDR drives the NDR decoder with an operation script taken from the
// first bytes of the input; it must not panic or loop.
func FuzzNDR(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8}, []byte{1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{9, 9, 9}, []byte{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, ops, data []byte) {
		for _, drep := range []DataRep{LittleEndian, {}} {
			n := NewNDR(data, drep, NDRLimits{MaxDepth: 4, MaxElements: 1024})
			for _, op := range ops {
				var u8 uint8
				var u16 uint16
				var u32 uint32
				var u64 uint64
				var u UUID
				var h [20]byte
				var s []byte
				var ok bool
				var first bool
				switch op % 13 {
				case 0:
					ok = n.Uint8(&u8)
				case 1:
					ok = n.Uint16(&u16)
				case 2:
					ok = n.Uint32(&u32)
				case 3:
					ok = n.Uint64(&u64)
				case 4:
					ok = n.UUID(&u)
				case 5:
					ok = n.ContextHandle(&h)
				case 6:
					ok = n.Pointer(&u32)
				case 7:
					ok = n.VaryingString(1, &s)
				case 8:
					ok = n.ConformantVaryingString(2, &s)
					_ = UTF16String(s, drep)
				case 9:
					ok = n.Conformant(4, &u32)
				case 10:
					ok = n.Enter()
				case 11:
					n.Leave()
					ok = true
				case 12:
					ok = n.FullPointer(&u32, &first)
				}
				if !ok {
					break
				}
			}
		}
	})
}

// FuzzEPM: the endpoint-mapper decoders never panic; a tower that decodes
// decodes again to the same floors.
func FuzzEPM(f *testing.F) {
	for _, b := range seedPDUs() {
		if p, _, err := ParsePDU(b); err == nil && len(p.Stub) > 0 {
			f.Add(p.Stub)
		}
	}
	f.Add(towerBytes(mapi, 0, 135, netip.MustParseAddr("10.1.2.3")))
	f.Add(mapResponseStub(false, [][]byte{towerBytes(winreg, 1, 49152, netip.MustParseAddr("10.1.2.3"))}, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := DefaultEPMLimits()
		for _, drep := range []DataRep{LittleEndian, {}} {
			ParseMapRequest(b, drep, lim)
			ParseMapResponse(b, drep, lim)
			ParseLookupRequest(b, drep, lim)
			ParseLookupResponse(b, drep, lim)
			ParseMapRequest64(b, drep, lim)
			ParseMapResponse64(b, drep, lim)
			ParseLookupRequest64(b, drep, lim)
			ParseLookupResponse64(b, drep, lim)
		}
		if tw, err := ParseTower(b); err == nil {
			tw2, err := ParseTower(b)
			if err != nil || len(tw2.Floors) != len(tw.Floors) || tw2.String() != tw.String() {
				t.Fatalf("tower re-parse differs")
			}
		}
	})
}

// FuzzConn feeds arbitrary bytes, cut at arbitrary points with gaps, to a
// Conn in both directions; it must not panic and must keep its caps.
func FuzzConn(f *testing.F) {
	var stream []byte
	for _, b := range seedPDUs() {
		stream = append(stream, b...)
	}
	f.Add(stream, []byte{3, 17, 200, 5})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		ctx := &tcpstate.StreamContext{Server: netip.MustParseAddrPort("10.0.0.1:135"), Reporter: &health.Collector{KeepMessages: true}}
		cfg := DefaultConfig()
		cfg.Limits.MaxCalls = 8
		cfg.Learned = func(Endpoint) {}
		c := NewConn(ctx, cfg)
		i := 0
		for k := 0; len(data) > 0; k++ {
			n := len(data)
			if len(cuts) > 0 {
				n = 1 + int(cuts[k%len(cuts)])
				if n > len(data) {
					n = len(data)
				}
			}
			dir := tcpstate.Dir(k % 2)
			if len(cuts) > 0 && cuts[k%len(cuts)]%7 == 0 {
				c.Gap(dir, n, tcpstate.Position{Frame: int64(i)})
			}
			c.Feed(dir, data[:n], tcpstate.Position{Frame: int64(i)})
			data = data[n:]
			i++
		}
		c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: int64(i)})
		if len(c.calls) > 8 {
			t.Fatalf("%d calls kept above the cap", len(c.calls))
		}
	})
}

// FuzzDatagrams feeds a sequence of datagrams (split from the input at
// 0xfe 0xfe) to a Datagrams tracker with tiny limits: no panic, the calls
// kept stay within MaxCalls, every event names a frame.
func FuzzDatagrams(f *testing.F) {
	f.Add(buildCLSeed())
	f.Fuzz(func(t *testing.T, in []byte) {
		col := &health.Collector{KeepMessages: true}
		d := NewDatagrams(col, CLConfig{Limits: CLLimits{MaxCalls: 3, MaxFragments: 8, MaxStub: 64, MaxEvents: 4},
			Stubs: map[UUID]StubFunc{{}: func(CallInfo, []byte) {}}})
		src, dst := netip.MustParseAddrPort("10.0.0.1:1000"), netip.MustParseAddrPort("10.0.0.2:135")
		at := tcpstate.Position{}
		for _, dg := range bytes.Split(in, []byte{0xfe, 0xfe}) {
			at.Frame++
			d.Datagram(src, dst, dg, len(dg), at)
			d.Datagram(dst, src, dg, len(dg), at)
			if len(d.calls) > 3 {
				t.Fatalf("%d calls kept, cap 3", len(d.calls))
			}
		}
		d.Finish(at)
		for _, e := range col.Events {
			if e.Frame < 1 || e.Frame > at.Frame {
				t.Fatalf("event at frame %d: %+v", e.Frame, e)
			}
		}
		if _, _, err := ParseFackBody(in, false); err == nil && len(in) < 16 {
			t.Fatal("fack body shorter than 16 bytes accepted")
		}
	})
}

// buildCLSeed joins a few connectionless PDUs (fragments, fack, fault) with
// the FuzzDatagrams separator.
func buildCLSeed() []byte {
	var out []byte
	for i, p := range []clPDU{
		{ptype: PTRequest, flags1: CLFlagFrag, body: []byte{1, 2}},
		{ptype: PTFack, body: fackBody(4, 1)},
		{ptype: PTRequest, flags1: CLFlagFrag | CLFlagLastFrag, fragnum: 1, body: []byte{3}},
		{ptype: PTResponse, body: []byte{9}},
		{ptype: PTFault, seq: 1, body: statusBody(5)},
	} {
		if i > 0 {
			out = append(out, 0xfe, 0xfe)
		}
		out = append(out, p.bytes()...)
	}
	return out
}
