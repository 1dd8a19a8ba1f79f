package layers

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"time"

	"github.com/nettrace/nettrace/internal/wire"
)

// pcapng block types (draft-ietf-opsawg-pcapng, section 4 and 11.1).
const (
	ngBlockIDB = 0x00000001 // Interface Description Block, 4.2
	ngBlockPB  = 0x00000002 // Packet Block (obsolete), Appendix A
	ngBlockSPB = 0x00000003 // Simple Packet Block, 4.4
	ngBlockEPB = 0x00000006 // Enhanced Packet Block, 4.3
	ngBlockDSB = 0x0000000a // Decryption Secrets Block, 4.7
	ngBlockSHB = 0x0a0d0d0a // Section Header Block, 4.1

	ngByteOrderMagic = 0x1a2b3c4d
	// ngSecretsTLSKeyLog is the DSB secrets type of an NSS key log ("TLSK").
	ngSecretsTLSKeyLog = 0x544c534b

	ngOptEnd      = 0  // opt_endofopt
	ngOptTSResol  = 9  // if_tsresol
	ngOptTSOffset = 14 // if_tsoffset

	maxIDBLen = 64 << 10 // an Interface Description Block larger than this is damage
)

// ngState is the per-section state of a pcapng file.
type ngState struct {
	order   binary.ByteOrder // nil before the first Section Header Block
	ifaces  []ngIface
	secrets []byte
	skipped SecretsSkipped
}

// SecretsSkipped counts the pcapng Decryption Secrets Blocks whose secrets
// were not kept: TLS key logs beyond MaxSecretsLen in all, and secrets of
// other types (SSH, WireGuard, ZigBee, OPC UA...), which nettrace does not
// use.
type SecretsSkipped struct {
	Blocks     int   // blocks not kept
	Bytes      int64 // their secrets' bytes
	OverLimit  int   // of them, TLS key logs beyond MaxSecretsLen
	OtherTypes int   // of them, secrets of another type
	// Frame is the number of the first frame after the first block skipped
	// (the frame the capture had reached).
	Frame int64
	// Type is the secrets type of the first block of another type
	// (pcapng section 4.7, e.g. 0x5353484b "SSHK").
	Type uint32
}

// ngIface is one Interface Description Block.
type ngIface struct {
	link    uint16
	snaplen uint32
	pow2    bool   // if_tsresol is a power of 2
	exp     uint8  // resolution exponent: units are 10^-exp (or 2^-exp) seconds
	offset  int64  // if_tsoffset, seconds
	div     uint64 // 10^exp when !pow2 and exp <= 19; 0 beyond
}

// ngReader reads fields in the section's byte order with bounds checks.
type ngReader struct {
	wire.Reader
	be bool
}

func (r *ngReader) u16(out *uint16) bool {
	if r.be {
		return r.ReadUint16BE(out)
	}
	return r.ReadUint16(out)
}

func (r *ngReader) u32(out *uint32) bool {
	if r.be {
		return r.ReadUint32BE(out)
	}
	return r.ReadUint32(out)
}

// nextPcapng reads blocks until one carries a packet.
func (c *Capture) nextPcapng() error {
	for {
		start := c.off
		h := c.hdr[:8]
		if err := c.readFull(h); err != nil {
			if err == io.EOF {
				return io.EOF
			}
			return c.fail(start, err)
		}
		if binary.BigEndian.Uint32(h[0:4]) == ngBlockSHB {
			if err := c.readSHB(start); err != nil {
				return err
			}
			continue
		}
		if c.ng.order == nil {
			return c.fail(start, errors.New("pcapng: block before the section header"))
		}
		typ := c.ng.order.Uint32(h[0:4])
		total := c.ng.order.Uint32(h[4:8])
		if total < 12 || total%4 != 0 {
			return c.fail(start, fmt.Errorf("pcapng: block type 0x%x: invalid block length %d", typ, total))
		}
		if total > MaxBlockLen {
			return c.fail(start, fmt.Errorf("pcapng: block type 0x%x: block length %d exceeds limit %d", typ, total, MaxBlockLen))
		}
		body := int(total) - 12
		switch typ {
		case ngBlockIDB:
			if err := c.readIDB(start, body, total); err != nil {
				return err
			}
		case ngBlockEPB, ngBlockSPB, ngBlockPB:
			if body > MaxFrameLen+maxIDBLen {
				return c.fail(start, fmt.Errorf("pcapng: packet block length %d exceeds limit %d", total, MaxFrameLen+maxIDBLen))
			}
			ok, err := c.readPacketBlock(start, typ, body, total)
			if err != nil {
				return err
			}
			if ok {
				return nil
			}
		case ngBlockDSB:
			if err := c.readDSB(start, body, total); err != nil {
				return err
			}
		default:
			// Name Resolution, Interface Statistics, custom blocks ...:
			// skipped by their length.
			if err := c.discard(body); err != nil {
				return c.fail(start, err)
			}
			if err := c.trailer(start, total); err != nil {
				return err
			}
		}
	}
}

// readSHB reads a Section Header Block whose first 8 bytes are in c.hdr.
func (c *Capture) readSHB(start int64) error {
	bom := c.hdr[8:12]
	if err := c.readFull(bom); err != nil {
		return c.fail(start, err)
	}
	switch {
	case binary.BigEndian.Uint32(bom) == ngByteOrderMagic:
		c.ng.order = binary.BigEndian
	case binary.LittleEndian.Uint32(bom) == ngByteOrderMagic:
		c.ng.order = binary.LittleEndian
	default:
		return c.fail(start, fmt.Errorf("pcapng: section header: bad byte-order magic 0x%08x", binary.BigEndian.Uint32(bom)))
	}
	total := c.ng.order.Uint32(c.hdr[4:8])
	if total < 28 || total%4 != 0 || total > MaxBlockLen {
		return c.fail(start, fmt.Errorf("pcapng: section header: invalid block length %d", total))
	}
	c.ng.ifaces = c.ng.ifaces[:0] // interface ids restart in every section
	if err := c.discard(int(total) - 16); err != nil {
		return c.fail(start, err)
	}
	return c.trailer(start, total)
}

// trailer reads and checks a block's trailing total length.
func (c *Capture) trailer(start int64, total uint32) error {
	t := c.hdr[12:16]
	if err := c.readFull(t); err != nil {
		return c.fail(start, err)
	}
	if got := c.ng.order.Uint32(t); got != total {
		return c.fail(start, fmt.Errorf("pcapng: block trailer length %d does not match header length %d", got, total))
	}
	return nil
}

// readBody reads a block body of n bytes plus its trailer into c.buf and
// returns the body.
func (c *Capture) readBody(start int64, n int, total uint32) ([]byte, error) {
	b, err := c.readRecord(n + 4)
	if err != nil {
		return nil, c.fail(start, err)
	}
	if got := c.ng.order.Uint32(b[n:]); got != total {
		return nil, c.fail(start, fmt.Errorf("pcapng: block trailer length %d does not match header length %d", got, total))
	}
	return b[:n], nil
}

func (c *Capture) reader(b []byte) ngReader {
	return ngReader{Reader: wire.Reader(b), be: c.ng.order == binary.BigEndian}
}

// readIDB reads an Interface Description Block (section 4.2).
func (c *Capture) readIDB(start int64, n int, total uint32) error {
	if n > maxIDBLen {
		return c.fail(start, fmt.Errorf("pcapng: interface block length %d exceeds limit %d", total, maxIDBLen))
	}
	if len(c.ng.ifaces) >= maxInterfaces {
		return c.fail(start, fmt.Errorf("pcapng: more than %d interfaces in a section", maxInterfaces))
	}
	b, err := c.readBody(start, n, total)
	if err != nil {
		return err
	}
	r := c.reader(b)
	var link, reserved uint16
	var snap uint32
	if !r.u16(&link) || !r.u16(&reserved) || !r.u32(&snap) {
		return c.fail(start, errors.New("pcapng: interface block too short"))
	}
	ifc := ngIface{link: link, snaplen: snap, exp: 6, div: 1e6}
	for r.Len() >= 4 {
		var code, olen uint16
		var val wire.Reader
		if !r.u16(&code) || !r.u16(&olen) || !r.ReadReader(&val, int(olen)) || !r.Skip((4-int(olen)%4)%4) {
			break // options damaged: keep what was read, as tshark does
		}
		switch code {
		case ngOptEnd:
			r = c.reader(nil)
		case ngOptTSResol:
			var v uint8
			if olen == 1 && val.ReadUint8(&v) {
				ifc.pow2 = v&0x80 != 0
				ifc.exp = v & 0x7f
			}
		case ngOptTSOffset:
			var lo, hi uint32
			vr := ngReader{Reader: val, be: r.be}
			if olen == 8 {
				if r.be {
					vr.u32(&hi)
					vr.u32(&lo)
				} else {
					vr.u32(&lo)
					vr.u32(&hi)
				}
				ifc.offset = int64(uint64(hi)<<32 | uint64(lo))
			}
		}
	}
	ifc.div = 0 // 10^exp does not fit in 64 bits: every timestamp is below 1 s
	if !ifc.pow2 && ifc.exp <= 19 {
		ifc.div = 1
		for i := uint8(0); i < ifc.exp; i++ {
			ifc.div *= 10
		}
	}
	c.ng.ifaces = append(c.ng.ifaces, ifc)
	return nil
}

// time converts a timestamp in interface units to a time.Time. Every
// if_tsresol value is accepted, as tshark does: 10^-0 to 10^-127 and 2^-0
// to 2^-127 seconds (units finer than 1 ns are rounded down to it; tshark
// 4.0 loses more of the fraction beyond 10^-9).
func (ifc *ngIface) time(ts uint64) time.Time {
	var sec, ns uint64
	switch {
	case ifc.pow2:
		sec, ns = pow2Time(ts, uint(ifc.exp))
	case ifc.div == 0: // 10^-20 or finer
		ns = ts
		for i := 9; i < int(ifc.exp) && ns > 0; i++ {
			ns /= 10
		}
	default:
		sec = ts / ifc.div
		rem := ts % ifc.div
		switch {
		case ifc.exp <= 9:
			for i := ifc.exp; i < 9; i++ {
				rem *= 10
			}
			ns = rem
		default:
			for i := uint8(9); i < ifc.exp; i++ {
				rem /= 10
			}
			ns = rem
		}
	}
	return time.Unix(int64(sec)+ifc.offset, int64(ns)).UTC()
}

// pow2Time splits ts units of 2^-e seconds (e < 128) into seconds and
// nanoseconds: the fraction times 10^9, shifted right by e in 128 bits.
func pow2Time(ts uint64, e uint) (sec, ns uint64) {
	if e == 0 {
		return ts, 0
	}
	if e >= 64 {
		hi, _ := bits.Mul64(ts, 1e9)
		return 0, hi >> (e - 64)
	}
	frac := ts & (1<<e - 1)
	hi, lo := bits.Mul64(frac, 1e9)
	return ts >> e, hi<<(64-e) | lo>>e
}

// readPacketBlock reads an EPB, SPB or PB; it reports whether it produced a
// frame.
func (c *Capture) readPacketBlock(start int64, typ uint32, n int, total uint32) (bool, error) {
	b, err := c.readBody(start, n, total)
	if err != nil {
		return false, err
	}
	r := c.reader(b)
	var ifid, caplen, origlen, tsHi, tsLo uint32
	switch typ {
	case ngBlockEPB: // 4.3: interface, timestamp (hi, lo), captured, original
		if !r.u32(&ifid) || !r.u32(&tsHi) || !r.u32(&tsLo) || !r.u32(&caplen) || !r.u32(&origlen) {
			return false, c.fail(start, errors.New("pcapng: enhanced packet block too short"))
		}
	case ngBlockPB: // Appendix A: interface (16), drops (16), timestamp, captured, original
		var if16, drops uint16
		if !r.u16(&if16) || !r.u16(&drops) || !r.u32(&tsHi) || !r.u32(&tsLo) || !r.u32(&caplen) || !r.u32(&origlen) {
			return false, c.fail(start, errors.New("pcapng: packet block too short"))
		}
		ifid = uint32(if16)
	case ngBlockSPB: // 4.4: original length, then data up to the snaplen
		if !r.u32(&origlen) {
			return false, c.fail(start, errors.New("pcapng: simple packet block too short"))
		}
		caplen = uint32(min(r.Len(), int(min(origlen, MaxFrameLen))))
		if len(c.ng.ifaces) > 0 && c.ng.ifaces[0].snaplen > 0 {
			caplen = min(caplen, c.ng.ifaces[0].snaplen)
		}
	}
	if int(ifid) >= len(c.ng.ifaces) {
		return false, c.fail(start, fmt.Errorf("pcapng: packet for undeclared interface %d (%d declared)", ifid, len(c.ng.ifaces)))
	}
	var data []byte
	if !r.ReadBytes(&data, int(caplen)) {
		return false, c.fail(start, fmt.Errorf("pcapng: captured length %d exceeds block body %d", caplen, n))
	}
	ifc := &c.ng.ifaces[ifid]
	var t time.Time
	if typ != ngBlockSPB {
		t = ifc.time(uint64(tsHi)<<32 | uint64(tsLo))
	}
	c.emit(t, data, int(origlen), ifc.link, int(ifid))
	return true, nil
}

// readDSB reads a Decryption Secrets Block (section 4.7) and keeps TLS key
// logs, up to MaxSecretsLen bytes in all.
func (c *Capture) readDSB(start int64, n int, total uint32) error {
	h := c.hdr[16:24]
	if n < 8 {
		return c.fail(start, errors.New("pcapng: decryption secrets block too short"))
	}
	if err := c.readFull(h); err != nil {
		return c.fail(start, err)
	}
	r := c.reader(h)
	var typ, slen uint32
	r.u32(&typ)
	r.u32(&slen)
	rest := n - 8
	if int64(slen) > int64(rest) {
		return c.fail(start, fmt.Errorf("pcapng: secrets length %d exceeds block body %d", slen, rest))
	}
	keep := typ == ngSecretsTLSKeyLog && len(c.ng.secrets)+int(slen)+1 <= MaxSecretsLen
	if !keep {
		c.skipSecrets(typ, slen)
	}
	if keep {
		if k := len(c.ng.secrets); k > 0 && c.ng.secrets[k-1] != '\n' {
			c.ng.secrets = append(c.ng.secrets, '\n')
		}
		k := len(c.ng.secrets)
		b, err := c.readAppend(c.ng.secrets, int(slen))
		if err != nil {
			c.ng.secrets = b[:k]
			return c.fail(start, err)
		}
		c.ng.secrets = b
		rest -= int(slen)
	}
	if err := c.discard(rest); err != nil {
		return c.fail(start, err)
	}
	return c.trailer(start, total)
}

// skipSecrets counts a Decryption Secrets Block whose secrets are not kept.
func (c *Capture) skipSecrets(typ, slen uint32) {
	k := &c.ng.skipped
	if k.Blocks == 0 {
		k.Frame = c.n + 1
	}
	k.Blocks++
	k.Bytes += int64(slen)
	if typ == ngSecretsTLSKeyLog {
		k.OverLimit++
	} else if k.OtherTypes++; k.OtherTypes == 1 {
		k.Type = typ
	}
}
