package layers

import (
	"time"

	"github.com/nettrace/nettrace/internal/defaults"
)

// Capture-file limits. They bound what one record of a capture file may make
// the reader allocate; a record beyond them is damage (a *CaptureError), not
// an allocation.
const (
	// MaxFrameLen is the largest captured frame length accepted (1 MiB). It
	// leaves room for Linux "BIG TCP" GSO super-segments (up to 512 KiB).
	MaxFrameLen = 1 << 20
	// MaxBlockLen is the largest pcapng block accepted (16 MiB).
	MaxBlockLen = 16 << 20
	// MaxSecretsLen caps the TLS key-log text kept from pcapng Decryption
	// Secrets Blocks (8 MiB in total); further secrets are dropped.
	MaxSecretsLen = 8 << 20
	// maxInterfaces caps the pcapng interfaces of one section.
	maxInterfaces = 1024
)

// Limits bounds the Decoder's state. A zero field takes its default (see
// DefaultLimits), so Limits{} is usable.
type Limits struct {
	// SkipChecksums turns off IPv4 header and TCP/UDP/ICMP checksum
	// verification (default false: checksums are verified and recorded in
	// Packet.IPChecksum/L4Checksum, never trusted).
	SkipChecksums bool

	// MaxDatagramLen is the largest datagram reassembled from fragments
	// (default 65535 + 40 bytes: an IPv4 datagram or an IPv6 payload of
	// 64 KiB plus its header). A datagram growing beyond it is dropped with a
	// net.fragment_incomplete event.
	MaxDatagramLen int
	// MaxDatagrams is the number of datagrams being reassembled at once
	// (default 1024). When it is reached the oldest is dropped with a
	// net.fragment_incomplete event.
	MaxDatagrams int
	// MaxFragments is the number of fragments one datagram may have
	// (default 256).
	MaxFragments int
	// MaxFragmentBytes bounds the bytes held by all datagrams in progress
	// (default 16 MiB); the oldest datagrams are dropped to stay under it.
	MaxFragmentBytes int
	// FragmentTimeout is how long, in capture time, a datagram may wait for
	// its missing fragments (default 30 s, Linux's ipfrag_time).
	FragmentTimeout time.Duration

	// MaxTracked is the number of sources (checksum verdict) and flows (one
	// TSO event per flow) remembered (default 4096). Beyond it, new flows
	// are not remembered (their TSO events repeat) and new sources are
	// counted in ChecksumStats' frame totals but get no checksum verdict.
	MaxTracked int
	// MaxBadChecksumEvents is no longer used: a source gets at most one
	// ip.bad_checksum event, given at Decoder.Flush, which counts its wrong
	// checksums and lists the first frames.
	//
	// Deprecated: the field is ignored.
	MaxBadChecksumEvents int
	// MaxExtHeaders is the number of IPv6 extension headers walked before a
	// packet is declared malformed (default 8).
	MaxExtHeaders int
}

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{
		MaxDatagramLen:   65535 + 40,
		MaxDatagrams:     1024,
		MaxFragments:     256,
		MaxFragmentBytes: 16 << 20,
		FragmentTimeout:  30 * time.Second,
		MaxTracked:       4096,
		MaxExtHeaders:    8,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	defaults.Fill(&l, DefaultLimits())
	return l
}

// orDefault sets *v to d when *v is zero or negative.
