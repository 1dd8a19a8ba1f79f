package tls

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// pcapng block types and the TLS secrets type (pcapng spec, 4.1 and 4.7).
const (
	blockSHB                   = 0x0A0D0D0A
	blockDSB                   = 0x0000000A
	secretsTypeTLS             = 0x544c534b // "TLSK": NSS key log text
	byteOrderMagic      uint32 = 0x1A2B3C4D
	maxDSBLen                  = 16 << 20 // bytes of one Decryption Secrets Block
	maxPcapngBlockLen          = 1 << 30  // larger is treated as corruption
	pcapngBlockOverhead        = 12       // type, length, trailing length
)

var pcapngSHB = []byte{0x0A, 0x0D, 0x0D, 0x0A}

// AddPcapng reads a pcapng stream and adds the TLS key logs found in its
// Decryption Secrets Blocks (as written by `editcap --inject-secrets
// tls,FILE`). Other blocks are skipped without being buffered. It returns
// the number of TLS secrets blocks read. gopacket's pcapng reader skips these
// blocks, so callers that also analyse the capture open it twice.
func (k *KeyLog) AddPcapng(r io.Reader) (int, error) {
	var hdr [12]byte
	var order binary.ByteOrder = binary.LittleEndian
	blocks := 0
	var firstErr error
	for first := true; ; first = false {
		if _, err := io.ReadFull(r, hdr[:8]); err != nil {
			if errors.Is(err, io.EOF) && !first {
				return blocks, firstErr
			}
			return blocks, fmt.Errorf("tls: pcapng: block header: %w", err)
		}
		typ := binary.LittleEndian.Uint32(hdr[0:4])
		if typ == blockSHB {
			if _, err := io.ReadFull(r, hdr[8:12]); err != nil {
				return blocks, fmt.Errorf("tls: pcapng: section header: %w", err)
			}
			switch byteOrderMagic {
			case binary.LittleEndian.Uint32(hdr[8:12]):
				order = binary.LittleEndian
			case binary.BigEndian.Uint32(hdr[8:12]):
				order = binary.BigEndian
			default:
				return blocks, errors.New("tls: pcapng: bad byte-order magic")
			}
		} else if first {
			return 0, errors.New("tls: pcapng: does not start with a section header block")
		}
		typ = order.Uint32(hdr[0:4])
		n := order.Uint32(hdr[4:8])
		if n < pcapngBlockOverhead || n%4 != 0 || n > maxPcapngBlockLen {
			return blocks, fmt.Errorf("tls: pcapng: block type 0x%x length %d invalid", typ, n)
		}
		rest := int64(n) - 8
		if typ == blockSHB {
			rest -= 4
		}
		if typ != blockDSB || n > maxDSBLen {
			if _, err := io.CopyN(io.Discard, r, rest); err != nil {
				return blocks, fmt.Errorf("tls: pcapng: block type 0x%x: %w", typ, err)
			}
			continue
		}
		body := make([]byte, rest) // bounded by maxDSBLen
		if _, err := io.ReadFull(r, body); err != nil {
			return blocks, fmt.Errorf("tls: pcapng: decryption secrets block: %w", err)
		}
		if len(body) < 12 {
			return blocks, errors.New("tls: pcapng: decryption secrets block too short")
		}
		stype, slen := order.Uint32(body[0:4]), order.Uint32(body[4:8])
		if uint64(slen) > uint64(len(body)-12) {
			return blocks, fmt.Errorf("tls: pcapng: secrets length %d exceeds block", slen)
		}
		if stype != secretsTypeTLS {
			continue
		}
		blocks++
		if err := k.Add(body[8 : 8+slen]); err != nil && firstErr == nil {
			firstErr = err
		}
	}
}
