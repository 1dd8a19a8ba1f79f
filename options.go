package nettrace

import (
	"math"
	"time"

	"github.com/nettrace/nettrace/connlog"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/http"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/smb"
	"github.com/nettrace/nettrace/tcpstate"
	"github.com/nettrace/nettrace/tls"
)

// Options configure an Analyzer. The zero value analyses with the defaults
// documented on each field.
type Options struct {
	// Reporter, when set, receives every event (and, with Messages, every
	// decoded message) as it is found, in emission order. The Report holds
	// a grouped, bounded view of the same events either way.
	Reporter health.Reporter

	// OnConn, when set, receives each TCP connection as a line of Zeek's
	// conn.log (package connlog) when it ends, every connection of the
	// capture (Report.Flows is capped by MaxFlowsKept), in the order they
	// end. It is called from one goroutine at a time, whatever Workers.
	OnConn func(connlog.Record)

	// Messages asks the decoders for decoded messages (examples/dissect).
	// Off by default: building them costs time.
	Messages bool
	// Handlers receive the messages of SMB, DCE/RPC, TDS, TLS and HTTP/1
	// as typed values (smb.Message, ...), whether Messages is set or not.
	// Unset (the default), they cost nothing.
	Handlers Handlers
	// PacketMessages adds one message per TCP/UDP/ICMP/ARP packet (and DNS
	// message) to the decoded messages. Needs Messages.
	PacketMessages bool

	// KeyLogFiles are NSS key-log files used to decrypt TLS. Keys found in
	// pcapng Decryption Secrets Blocks are added to them.
	KeyLogFiles []string
	// KeyLog, when set, is used (and extended) instead of loading KeyLogFiles.
	KeyLog *tls.KeyLog

	// HTTPBody, when set, receives every HTTP body as it is decoded
	// (de-chunked, decompressed), in plaintext and decrypted TLS alike.
	HTTPBody func(ctx *tcpstate.StreamContext, b http.Body)
	// TLSPlaintext, when set, also receives each decrypted TLS stream
	// (both directions), next to the HTTP decoder.
	TLSPlaintext tcpstate.NewHandler

	// SMBKeys, when set, holds SMB 3.x session keys by Session ID
	// (smb.Keys: load key files with its Load): the encrypted SMB sessions
	// whose keys it gives are decrypted and decoded like clear ones.
	SMBKeys *smb.Keys
	// NTPasswords are user passwords tried on every NTLMv2 authentication
	// of an SMB session: the session key of the first that matches
	// decrypts that session (like Wireshark's ntlmssp.nt_password).
	NTPasswords []string

	// DecodeAs forces a protocol on a TCP port ("tls", "http", "smb",
	// "dcerpc", "tds", "starttls"), like tshark's -d tcp.port==N,proto.
	DecodeAs map[uint16]string
	// Decoders are extra stream decoders, tried before the built-in ones.
	Decoders []Decoder

	// MemoryBudget bounds what all connections buffer together, in bytes
	// (default 128 MiB): a quarter goes to TCP reassembly (out-of-order and
	// retained bytes, unless TCP sets its own caps), the rest to the
	// decoders (partial PDUs, messages being reassembled, pending
	// requests). When the decoders' share is reached, the buffered state of
	// the connections quiet the longest is dropped (their decoders resume
	// at the next message) and one memory.shed event says how much, where
	// and for which protocols; the budget is never exceeded. With Workers
	// ≥ 2 each worker has an equal part of the decoders' share, so which
	// connections are shed can then depend on the worker count.
	MemoryBudget int64

	// Filter, when not empty, is a capture filter in the tcpdump syntax
	// (layers.Filter: "host 10.1.1.1 and tcp port 445"). Frames it does
	// not match are left out before they are decoded, as if the capture
	// held only the frames that match (tcpdump -w with the same filter)
	// except that frames keep their numbers in the whole capture. New
	// fails, with a *layers.FilterError giving the position, on a bad
	// expression.
	Filter string
	// From and To bound the capture time analysed: frames before From or
	// at or after To are left out before they are decoded, as editcap -A
	// and -B do. Each is an absolute time or an offset from the capture's
	// first frame (ParseTimeBound: "2026-11-21T10:00:00Z", "+10s"); the
	// zero TimeBound does not bound.
	From, To TimeBound
	// Streams, when not empty, limits the analysis to these TCP
	// connections, numbered as tshark's tcp.stream (and Report.Flows' ID)
	// in the frames that Filter, From and To keep. Every packet is still
	// tracked, so that the numbers stay tshark's, but only the packets of
	// these connections are decoded, diagnosed and reported: other TCP
	// connections, UDP, ICMP and ARP are left out (Report.Skipped).
	Streams []uint64

	// Layers and TCP set the packet-decoding and connection-tracking
	// limits. Zero values mean layers.DefaultLimits() and
	// tcpstate.DefaultConfig().
	Layers *layers.Limits
	TCP    *tcpstate.Config

	// MaxEventsKept caps the events kept in Report.Events (default 10000;
	// -1 keeps none). Findings and counts always cover every event.
	MaxEventsKept int
	// MaxFlowsKept caps Report.Flows (default 10000; -1 keeps none). The
	// cap keeps memory bounded on captures with millions of connections.
	MaxFlowsKept int
	// MaxExampleFrames is the number of example frames kept per finding
	// (default 8).
	MaxExampleFrames int
	// MaxEventsPerFlow and MaxEventsPerKind fold repeated events: past
	// MaxEventsPerFlow events of one kind on one flow (default 1000), or
	// MaxEventsPerKind of one kind in the capture (default 10000), events
	// are counted in the Report's findings but not passed to the Reporter,
	// and one events.folded event per kind and flow says how many and
	// between which frames. Output then grows with what happened, not with
	// the number of bad frames. -1 means no cap.
	MaxEventsPerFlow int
	MaxEventsPerKind int

	// Progress, when set, is called about every ProgressEvery of wall time
	// with the work done so far. It is for user interfaces; analysis
	// results never depend on it.
	Progress      func(Progress)
	ProgressEvery time.Duration

	// Series, when set, records the packet series of the TCP connections
	// that end with findings, for graphs (Report.Series, package
	// htmlreport); memory stays bounded (see SeriesOptions).
	Series *SeriesOptions

	// Workers is how many goroutines run the application decoders (TLS,
	// HTTP, SMB, DCE/RPC, TDS and Decoders). 0 or 1: everything runs on the
	// calling goroutine. With n ≥ 2 the calling goroutine still reads,
	// decodes and tracks every packet, and n workers decode the
	// connections' streams, sharded by stream ID so each connection stays
	// in order on one worker; events are merged back into the order of a
	// single-worker run, so the Reporter, the Report and every count are
	// identical to Workers = 1 (tested on the bundled capture and on the full
	// capture corpus).
	// Two limits: once 4,096 endpoint-mapper endpoints are known, which
	// further ones are remembered may differ; and HTTPBody,
	// TLSPlaintext and Decoders' handlers are then called from several
	// goroutines at once (each connection from one goroutine at a time).
	// The Reporter is always called from one goroutine at a time. At
	// most 64 workers are started.
	Workers int
}

// Progress reports how far an analysis has come.
type Progress struct {
	Frames    int64
	BytesRead int64 // bytes of the capture file consumed (compressed size for .gz)
	BytesSize int64 // size of the capture file, 0 when unknown (a pipe)
	Active    int   // open TCP connections
}

// Decoder describes a stream decoder the Analyzer can attach to TCP
// connections: by server port, and by the first bytes of either direction.
type Decoder struct {
	// Name is the protocol name used in DecodeAs and in reports.
	Name string
	// Ports are server ports that select this decoder without detection.
	Ports []uint16
	// Detect reports whether first — up to 64 bytes that begin one
	// direction of a connection — start this protocol. It must be cheap
	// and confident: a false positive steals the connection.
	Detect func(dir tcpstate.Dir, first []byte) bool
	// New builds the decoder for one connection.
	New tcpstate.NewHandler
}

func (o *Options) maxEventsKept() int {
	switch {
	case o.MaxEventsKept < 0:
		return 0
	case o.MaxEventsKept == 0:
		return 10000
	}
	return o.MaxEventsKept
}

func (o *Options) maxFlowsKept() int {
	switch {
	case o.MaxFlowsKept < 0:
		return 0
	case o.MaxFlowsKept == 0:
		return 10000
	}
	return o.MaxFlowsKept
}

// memoryBudget returns the budget, its TCP reassembly share and the
// decoders' share.
func (o *Options) memoryBudget() (total, reassembly, decoders int64) {
	total = o.MemoryBudget
	if total <= 0 {
		total = 128 << 20
	}
	reassembly = total / 4
	return total, reassembly, total - reassembly
}

func (o *Options) maxEventsPerFlow() int { return capOrDefault(o.MaxEventsPerFlow, 1000) }

func (o *Options) maxEventsPerKind() int { return capOrDefault(o.MaxEventsPerKind, 10000) }

// capOrDefault returns v, def when v is 0, and no cap when v is negative.
func capOrDefault(v, def int) int {
	switch {
	case v < 0:
		return math.MaxInt
	case v == 0:
		return def
	}
	return v
}

func (o *Options) maxExampleFrames() int {
	if o.MaxExampleFrames <= 0 {
		return 8
	}
	return o.MaxExampleFrames
}
