package nettrace

import (
	"context"
	"errors"
	"io"
	"time"

	glayers "github.com/google/gopacket/layers"

	"github.com/nettrace/nettrace/layers"
)

// Packet is one captured packet that an embedder feeds from its own
// source (a live interface, a ring buffer, another tool's capture): when
// it was captured, its link type, the bytes captured and its length on the
// wire.
type Packet struct {
	Time time.Time
	// LinkType is the LINKTYPE_ value of Data (tcpdump.org/linktypes.html):
	// LinkTypeEthernet, LinkTypeRaw (IPv4 or IPv6 without a link header),
	// LinkTypeLinuxSLL, LinkTypeLinuxSLL2, …
	LinkType uint16
	// Data is the packet as captured, from its link header on. It is read
	// only during the call it is passed to; the caller may reuse it.
	Data []byte
	// Length is the packet's length on the wire; 0 means len(Data). A
	// larger value says the capture cut the packet (snapshot length).
	Length int
}

// Link types of Packet.LinkType most sources deliver.
const (
	LinkTypeEthernet  uint16 = 1
	LinkTypeRaw       uint16 = 101
	LinkTypeLinuxSLL  uint16 = 113
	LinkTypeLinuxSLL2 uint16 = layers.LinkTypeLinuxSLL2
)

// PacketSource delivers packets one at a time. NextPacket returns io.EOF
// when there are no more; Packet.Data needs to stay valid only until the
// next call.
type PacketSource interface {
	NextPacket() (Packet, error)
}

// AnalyzeSource analyses the packets of src with opts until src returns
// io.EOF (the Report and a nil error), another error (the Report of what
// came before, and that error) or ctx is done (the Report so far and ctx's
// error). name labels the capture in the Report.
func AnalyzeSource(ctx context.Context, name string, src PacketSource, opts Options) (*Report, error) {
	a, err := New(opts)
	if err != nil {
		return nil, err
	}
	return a.AnalyzeSource(ctx, name, src)
}

// AnalyzeSource analyses the packets of src, as the function
// AnalyzeSource does. ctx is checked between packets: a source that can
// block (a live interface) should return when ctx is done, or be read on
// another goroutine (examples/live).
func (a *Analyzer) AnalyzeSource(ctx context.Context, name string, src PacketSource) (*Report, error) {
	if a.ran {
		return nil, errOnce
	}
	a.begin(name)
	a.fed = true
	for {
		if err := ctx.Err(); err != nil {
			return a.Close(), err
		}
		p, err := src.NextPacket()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return a.Close(), err
		}
		a.packet(p)
	}
}

// Packet analyses one packet fed by the caller, in capture order: the
// first call starts the analysis of a stream of packets, Close ends it and
// returns its Report, and Findings tells what was found so far. Packets
// are numbered from 1 as frames are. An Analyzer fed packets analyses
// nothing else: Analyze and AnalyzeFile then return an error, and Packet
// returns one after Close. Memory stays within the Options' limits
// however long the stream: idle connections expire by capture time
// (tcpstate.Config), Report.Events and Report.Flows stop growing at their
// caps, and repeated events are folded.
func (a *Analyzer) Packet(p Packet) error {
	switch {
	case a.closed:
		return errors.New("nettrace: Packet after Close")
	case !a.fed && a.ran:
		return errOnce
	case !a.fed:
		a.begin("packets")
		a.fed = true
	}
	a.packet(p)
	return nil
}

// packet runs one fed packet as the next frame.
func (a *Analyzer) packet(p Packet) {
	f := &a.feed
	f.Number++
	f.Time, f.Data, f.CapLen, f.WireLen = p.Time.UTC(), p.Data, len(p.Data), p.Length
	if f.WireLen < f.CapLen {
		f.WireLen = f.CapLen
	}
	f.Link = p.LinkType
	f.LinkType = glayers.LinkType(p.LinkType) // the decoder uses Link; kept consistent for readers of the frame
	a.arrived(f)
	if a.sel.keep(f, a.info.First) {
		a.frame(f)
	} else {
		a.sel.skipped.Frames++
	}
}

// Close ends the analysis of the packets fed with Packet (every open
// connection ends at the last packet) and returns its Report. Later calls
// return the same Report.
func (a *Analyzer) Close() *Report {
	if !a.ran {
		a.begin("packets")
	}
	return a.end()
}

// Findings returns what the analysis found so far, grouped as in
// Report.Findings: for periodic reports while packets are fed. With
// Workers ≥ 2 it shows the events merged so far, a little behind the
// packets fed. It may be called from any goroutine.
func (a *Analyzer) Findings() []Finding { return a.col.snapshot() }
