package connlog

import (
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"net/netip"
	"strconv"
	"time"

	"github.com/nettrace/nettrace/health"
)

// Record is one connection as a line of Zeek's conn.log. Field names in
// the comments are Zeek's.
type Record struct {
	TS     time.Time      // ts: the first packet
	UID    string         // uid
	Orig   netip.AddrPort // id.orig_h, id.orig_p
	Resp   netip.AddrPort // id.resp_h, id.resp_p
	Proto  string         // proto: "tcp"
	Stream uint64         // nettrace's (and tshark's) tcp.stream; not a conn.log field

	Service  string        // service, "" when none
	Duration time.Duration // duration; 0 leaves it and the byte counts unset

	OrigBytes, RespBytes int64  // orig_bytes, resp_bytes (from sequence numbers)
	ConnState            string // conn_state
	MissedBytes          int64  // missed_bytes
	History              string // history

	OrigPkts, OrigIPBytes int64 // orig_pkts, orig_ip_bytes
	RespPkts, RespIPBytes int64 // resp_pkts, resp_ip_bytes
}

// FromFlow builds the record of one TCP connection from its summary;
// decoder is the nettrace decoder attached to it ("" for none). The
// service is the decoder's (in Zeek's name) when the connection carried
// payload the capture holds and the decoder did not give up on it.
func FromFlow(s *health.FlowStats, decoder string) Record {
	z := &s.Zeek
	r := Record{
		TS: s.FirstTime, UID: UID(s.Client, s.Server, s.FirstTime),
		Orig: s.Client, Resp: s.Server, Proto: "tcp", Stream: s.ID,
		ConnState: z.ConnState, History: z.History,
		MissedBytes: z.Missed[0] + z.Missed[1],
		OrigPkts:    z.Packets[0], OrigIPBytes: z.IPBytes[0],
		RespPkts: z.Packets[1], RespIPBytes: z.IPBytes[1],
	}
	if s.Counts[health.DecodeGaveUp] == 0 && s.Bytes[0]+s.Bytes[1] > 0 {
		r.Service = Service(decoder)
	}
	if !z.End.IsZero() && z.End.After(s.FirstTime) {
		r.Duration = z.End.Sub(s.FirstTime)
		r.OrigBytes, r.RespBytes = z.Bytes[0], z.Bytes[1]
	}
	return r
}

// Service returns Zeek's service name for a nettrace decoder name.
func Service(decoder string) string {
	switch decoder {
	case "tls":
		return "ssl"
	case "dcerpc":
		return "dce_rpc"
	}
	return decoder
}

// uidDigits is the number of base62 digits of a uid: 96 bits need 17.
const uidDigits = 17

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// UID returns the connection's uid: "C" and 17 base62 digits of 96 bits
// of a SHA-256 over the two endpoints and the first packet's time, so that
// a capture gives the same uids on every run.
func UID(orig, resp netip.AddrPort, first time.Time) string {
	var buf [2*18 + 8]byte
	b := buf[:0]
	for _, ap := range [2]netip.AddrPort{orig, resp} {
		a := ap.Addr().As16()
		b = append(b, a[:]...)
		b = binary.BigEndian.AppendUint16(b, ap.Port())
	}
	b = binary.BigEndian.AppendUint64(b, uint64(first.UnixNano()))
	sum := sha256.Sum256(b)
	n := new(big.Int).SetBytes(sum[:12])
	digits := make([]byte, uidDigits)
	sixtyTwo, mod := big.NewInt(62), new(big.Int)
	for i := uidDigits - 1; i >= 0; i-- {
		n.DivMod(n, sixtyTwo, mod)
		digits[i] = base62[mod.Int64()]
	}
	return "C" + string(digits)
}

// unset reports whether the duration and byte counts are unset.
func (r *Record) unset() bool { return r.Duration <= 0 }

// seconds formats d as Zeek does: seconds with six decimals.
func seconds(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, d.Seconds(), 'f', 6, 64)
}

// epoch formats t as Zeek's ts: seconds since 1970 with six decimals.
func epoch(b []byte, t time.Time) []byte {
	us := t.UnixMicro()
	sec, frac := us/1_000_000, us%1_000_000
	if frac < 0 {
		sec, frac = sec-1, frac+1_000_000
	}
	b = strconv.AppendInt(b, sec, 10)
	b = append(b, '.')
	s := strconv.FormatInt(frac, 10)
	for i := len(s); i < 6; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}
