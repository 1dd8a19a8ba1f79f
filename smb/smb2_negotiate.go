package smb

import (
	"fmt"

	"github.com/nettrace/nettrace/internal/wire"
)

// Dialect is an SMB2 dialect revision ([MS-SMB2] 2.2.3).
type Dialect uint16

// SMB2 dialects.
const (
	Dialect202      Dialect = 0x0202
	Dialect210      Dialect = 0x0210
	Dialect300      Dialect = 0x0300
	Dialect302      Dialect = 0x0302
	Dialect311      Dialect = 0x0311
	DialectWildcard Dialect = 0x02ff
)

// String returns "SMB 3.1.1", "SMB 2.???" for the wildcard, or the hex value.
func (d Dialect) String() string {
	switch d {
	case Dialect202:
		return "SMB 2.0.2"
	case Dialect210:
		return "SMB 2.1"
	case Dialect300:
		return "SMB 3.0"
	case Dialect302:
		return "SMB 3.0.2"
	case Dialect311:
		return "SMB 3.1.1"
	case DialectWildcard:
		return "SMB 2.???"
	}
	return fmt.Sprintf("Dialect(0x%04x)", uint16(d))
}

// parseNegotiateRequest2 reads an SMB2 NEGOTIATE request ([MS-SMB2] 2.2.3): the
// dialects and, when 3.1.1 is offered, the negotiate context types.
func parseNegotiateRequest2(p body2) (Body2, error) {
	var b Body2
	r := &p.r
	var count, ctxCount uint16
	var ctxOff uint32
	if !r.ReadUint16(&count) || !r.ReadUint16(&b.SecurityMode) || !r.Skip(2) || !r.ReadUint32(&b.Capabilities) ||
		!r.Skip(16) || !r.ReadUint32(&ctxOff) || !r.ReadUint16(&ctxCount) || !r.Skip(2) {
		return Body2{}, p.short()
	}
	has311 := false
	for i := 0; i < int(count); i++ {
		var d uint16
		if !r.ReadUint16(&d) {
			return Body2{}, malformed(p.what(), "dialect count %d exceeds buffer", count)
		}
		b.Dialects = append(b.Dialects, Dialect(d))
		has311 = has311 || Dialect(d) == Dialect311
	}
	if has311 && ctxCount > 0 {
		b.NegotiateContexts = negotiateContexts(p.msg, ctxOff, ctxCount)
	}
	return b, nil
}

// parseNegotiateResponse2 reads an SMB2 NEGOTIATE response ([MS-SMB2] 2.2.4):
// the chosen dialect, capabilities, sizes, security buffer and, for 3.1.1,
// the negotiate context types.
func parseNegotiateResponse2(p body2) (Body2, error) {
	var b Body2
	r := &p.r
	var d, ctxCount, secOff, secLen uint16
	var ctxOff uint32
	if !r.ReadUint16(&b.SecurityMode) || !r.ReadUint16(&d) || !r.ReadUint16(&ctxCount) || !r.Skip(16) ||
		!r.ReadUint32(&b.Capabilities) || !r.Skip(4) || !r.ReadUint32(&b.MaxReadSize) || !r.ReadUint32(&b.MaxWriteSize) ||
		!r.Skip(16) || !r.ReadUint16(&secOff) || !r.ReadUint16(&secLen) || !r.ReadUint32(&ctxOff) {
		return Body2{}, p.short()
	}
	b.Dialect = Dialect(d)
	var err error
	if b.SecurityBlob, err = p.buffer("security buffer", uint32(secOff), uint32(secLen)); err != nil {
		return Body2{}, err
	}
	if b.Dialect == Dialect311 && ctxCount > 0 {
		b.NegotiateContexts = negotiateContexts(p.msg, ctxOff, ctxCount)
	}
	return b, nil
}

// negotiateContexts lists the context types of an SMB 3.1.1 NEGOTIATE
// ([MS-SMB2] 2.2.3.1); contexts are 8-byte aligned from the header. It stops
// at the first context that does not fit.
func negotiateContexts(msg []byte, off uint32, count uint16) []uint16 {
	if off > 1<<30 || int(off) > len(msg) {
		return nil
	}
	var out []uint16
	pos := int(off)
	for i := 0; i < int(count) && i < 64; i++ {
		pos = (pos + 7) &^ 7
		r, ok := wire.Field(msg, pos, 8)
		if !ok {
			break
		}
		var typ, n uint16
		r.ReadUint16(&typ)
		r.ReadUint16(&n)
		if _, ok := wire.Field(msg, pos+8, int(n)); !ok {
			break
		}
		out = append(out, typ)
		pos += 8 + int(n)
	}
	return out
}

// NegotiateContextName names an SMB 3.1.1 negotiate context type ([MS-SMB2] 2.2.3.1).
func NegotiateContextName(t uint16) string {
	switch t {
	case 1:
		return "PREAUTH_INTEGRITY_CAPABILITIES"
	case 2:
		return "ENCRYPTION_CAPABILITIES"
	case 3:
		return "COMPRESSION_CAPABILITIES"
	case 5:
		return "NETNAME_NEGOTIATE_CONTEXT_ID"
	case 6:
		return "TRANSPORT_CAPABILITIES"
	case 7:
		return "RDMA_TRANSFORM_CAPABILITIES"
	case 8:
		return "SIGNING_CAPABILITIES"
	}
	return fmt.Sprintf("context 0x%04x", t)
}
