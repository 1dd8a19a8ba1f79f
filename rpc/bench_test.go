package rpc

import (
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// BenchmarkParsePDU decodes a request PDU with a 1 KiB stub and an NTLMSSP
// verifier into a reused PDU.
func BenchmarkParsePDU(b *testing.B) {
	buf := pdu(false, PTRequest, flagsFirstAndLastFrag, 7, requestBody(false, 0, 2, make([]byte, 1024)), 16)
	var p PDU
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParsePDUDoesNotAllocate guards the hot path: decoding a request into
// a reused PDU allocates nothing.
func TestParsePDUDoesNotAllocate(t *testing.T) {
	buf := pdu(false, PTRequest, flagsFirstAndLastFrag, 7, requestBody(false, 0, 2, make([]byte, 64)), 16)
	var p PDU
	if n := testing.AllocsPerRun(100, func() { _ = p.Decode(buf) }); n != 0 {
		t.Errorf("Decode allocates %.0f times per run", n)
	}
}

// BenchmarkConnFeed runs the request/response streams of the MAPI trace
// (testdata/rpc/zeek-dce-rpc-mapi-1-250.pcap) through Conns without
// messages, as the doctor does.
func BenchmarkConnFeed(b *testing.B) {
	streams := dceStreams(readTCP(b, testdataPath("zeek-dce-rpc-mapi-1-250.pcap")))
	total := 0
	for _, s := range streams {
		for _, sg := range s.segs {
			total += len(sg.data)
		}
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range streams {
			ctx := &tcpstate.StreamContext{Client: s.client, Server: s.server, Reporter: health.Discard}
			c := NewConn(ctx, DefaultConfig())
			for _, sg := range s.segs {
				if sg.gap > 0 {
					c.Gap(sg.dir, sg.gap, sg.pos)
				}
				c.Feed(sg.dir, sg.data, sg.pos)
			}
			c.Close(tcpstate.CloseFIN, tcpstate.Position{})
		}
	}
}

// BenchmarkEPMLookup decodes the 38-tower ept_lookup reply of rpcdump.
func BenchmarkEPMLookup(b *testing.B) {
	streams := readTCP(b, testdataPath("epm-rpcdump-impacket-tcp135.pcap"))
	var stub []byte
	var drep DataRep
	for _, sg := range streams[0].segs {
		if sg.dir == tcpstate.ServerToClient {
			stub = append(stub, sg.data...)
		}
	}
	// the reply is the last two PDUs after the 60-byte bind_ack
	rest := stub[60:]
	var joined []byte
	for len(rest) > 0 {
		p, r, err := ParsePDU(rest)
		if err != nil {
			b.Fatal(err)
		}
		joined = append(joined, p.Stub...)
		drep = p.Header.DataRep
		rest = r
	}
	b.SetBytes(int64(len(joined)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := ParseLookupResponse(joined, drep, DefaultEPMLimits())
		if err != nil || len(m.Entries) != 38 {
			b.Fatal(err, len(m.Entries))
		}
	}
}
