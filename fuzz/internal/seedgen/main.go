// Command seedgen writes Go fuzz corpus files (testdata/fuzz/FuzzXxx/*)
// for the fuzz targets of nettrace from the payloads of real frames and the
// reassembled TCP streams of the project's test captures (testdata/<area>/).
// Run it from the repository root; it is deterministic, and the files it
// writes are checked in as the seeds CI fuzzes from:
//
//	go run ./fuzz/internal/seedgen
//
// Every seed is cut to a few KiB and each target gets at most maxPerTarget
// seeds, keeping the whole corpus well under 2 MB.
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/layers"
)

const (
	maxSeed      = 4 << 10 // bytes of one []byte argument
	maxPerTarget = 24
)

// corpus collects the seeds of one target (package dir, target name).
type corpus struct {
	dir, target string
	seeds       map[string]string // file name → contents
}

var all = map[string]*corpus{}

// add records one seed made of Go values ([]byte, bool, uint16, uint32).
func add(dir, target string, args ...any) {
	key := dir + "/" + target
	c := all[key]
	if c == nil {
		c = &corpus{dir: dir, target: target, seeds: map[string]string{}}
		all[key] = c
	}
	if len(c.seeds) >= maxPerTarget {
		return
	}
	var sb strings.Builder
	sb.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			if len(v) > maxSeed {
				v = v[:maxSeed]
			}
			sb.WriteString("[]byte(" + strconv.Quote(string(v)) + ")\n")
		case bool:
			fmt.Fprintf(&sb, "bool(%v)\n", v)
		case uint16:
			fmt.Fprintf(&sb, "uint16(%d)\n", v)
		case uint32:
			fmt.Fprintf(&sb, "uint32(%d)\n", v)
		default:
			log.Fatalf("seedgen: unsupported argument type %T", a)
		}
	}
	sum := sha256.Sum256([]byte(sb.String()))
	c.seeds[fmt.Sprintf("seed-%x", sum[:8])] = sb.String()
}

func glob(patterns ...string) []string {
	var out []string
	for _, p := range patterns {
		m, _ := filepath.Glob(p)
		out = append(out, m...)
	}
	sort.Strings(out)
	return out
}

// streams adds the reassembled streams of the captures to a stream target
// (client, server []byte, chunk uint16, gapAt uint32) and hands each
// direction's bytes to perDir.
func streams(paths []string, dir, target string, perDir func(clientToServer bool, b []byte)) {
	for _, p := range paths {
		ss, err := testcap.ReadStreams(p)
		if err != nil {
			continue
		}
		for _, s := range ss {
			c, srv := s.Bytes(true), s.Bytes(false)
			if len(c)+len(srv) == 0 {
				continue
			}
			if target != "" {
				add(dir, target, c, srv, uint16(1448), uint32(1<<31))
			}
			if perDir != nil {
				perDir(true, c)
				perDir(false, srv)
			}
		}
	}
}

// frames hands every frame of the captures to fn.
func frames(paths []string, fn func(f *layers.Frame)) {
	for _, p := range paths {
		r, err := os.Open(p)
		if err != nil {
			continue
		}
		c, err := layers.NewCapture(r)
		if err == nil {
			for {
				f, err := c.Next()
				if err == io.EOF || err != nil {
					break
				}
				fn(f)
			}
		}
		r.Close()
	}
}

// split cuts a stream into length-prefixed units: n(b) returns the length
// of the unit at the front of b (0 when it cannot be told).
func split(b []byte, n func([]byte) int, fn func([]byte)) {
	for len(b) > 0 {
		l := n(b)
		if l <= 0 || l > len(b) {
			return
		}
		fn(b[:l])
		b = b[l:]
	}
}

func main() {
	log.SetFlags(0)
	packetSeeds()
	tlsSeeds()
	httpSeeds()
	smbSeeds()
	rpcSeeds()
	tdsSeeds()
	writeCorpora()
}

// packetSeeds adds link frames (every fifth) and DNS payloads.
func packetSeeds() {
	frames(glob("testdata/layers/*.pcap", "testdata/health/*.pcap"), func(f *layers.Frame) {
		if f.Number%5 == 1 {
			add("layers", "FuzzDecode", uint16(f.LinkType), append([]byte(nil), f.Data...))
		}
	})
	for _, p := range glob("testdata/layers/*dns*.pcap", "testdata/health/*dns*.pcap") {
		pkts, _ := testcap.ReadPackets(p)
		for _, pk := range pkts {
			if pk.UDP && (pk.Src.Port() == 53 || pk.Dst.Port() == 53) {
				add("layers", "FuzzParseDNS", pk.Payload)
			}
		}
	}
}

// tlsSeeds adds TLS streams, their records and handshake messages.
func tlsSeeds() {
	tlsCaps := glob("testdata/tls/*.pcap", "testdata/layers/tls12-gcm.pcap")
	streams(tlsCaps, "fuzz", "FuzzTLSStream", func(_ bool, b []byte) {
		split(b, tlsRecordLen, func(rec []byte) {
			add("tls", "FuzzParseRecord", rec)
			if rec[0] == 22 && len(rec) > 9 {
				add("tls", "FuzzParseHandshake", rec[5:])
			}
		})
	})
}

// httpSeeds adds HTTP streams and the first header block of each
// direction.
func httpSeeds() {
	streams(glob("testdata/http/*.pcap"), "fuzz", "FuzzHTTPStream", func(_ bool, b []byte) {
		if i := strings.Index(string(b), "\r\n\r\n"); i > 0 {
			add("http", "FuzzParseLines", b[:i+4])
		}
	})
}

// smbSeeds adds SMB streams, their NBSS messages and the SMB2 and NTLMSSP
// messages inside.
func smbSeeds() {
	streams(glob("testdata/smb/*.pcap"), "fuzz", "FuzzSMBStream", func(_ bool, b []byte) {
		split(b, nbssLen, func(m []byte) {
			add("smb", "FuzzParseNBSS", m)
			if len(m) > 8 && string(m[4:8]) == "\xfeSMB" {
				add("smb", "FuzzParseSMB2", m[4:])
			}
			if i := strings.Index(string(m), "NTLMSSP\x00"); i >= 0 {
				add("smb", "FuzzParseNTLM", m[i:])
			}
		})
	})
}

// rpcSeeds adds DCE/RPC streams and their PDUs.
func rpcSeeds() {
	streams(glob("testdata/rpc/*.pcap"), "fuzz", "FuzzRPCStream", func(_ bool, b []byte) {
		split(b, rpcPDULen, func(pdu []byte) { add("rpc", "FuzzParsePDU", pdu) })
	})
}

// tdsSeeds adds TDS streams, their packets and the PRELOGIN and LOGIN7
// payloads.
func tdsSeeds() {
	streams(glob("testdata/tds/*.pcap"), "fuzz", "FuzzTDSStream", func(_ bool, b []byte) {
		split(b, tdsPacketLen, func(p []byte) {
			if len(p) < 8 {
				return
			}
			add("tds", "FuzzParsePacket", p)
			switch p[0] {
			case 0x12:
				add("tds", "FuzzParsePrelogin", p[8:])
			case 0x10:
				add("tds", "FuzzParseLogin7", p[8:])
			}
		})
	})
}

// tlsRecordLen is the length of the TLS record at the front of b: a 5-byte
// header whose last two bytes are the fragment length (RFC 8446, 5.1).
func tlsRecordLen(b []byte) int {
	if len(b) < 5 {
		return 0
	}
	return 5 + int(binary.BigEndian.Uint16(b[3:]))
}

// nbssLen is the length of the NBSS message at the front of b: a 4-byte
// header with a 24-bit length (RFC 1002, 4.3.1; [MS-SMB2] 2.1).
func nbssLen(b []byte) int {
	if len(b) < 4 {
		return 0
	}
	return 4 + int(b[1])<<16 | int(b[2])<<8 | int(b[3])
}

// rpcPDULen is the frag_length of the DCE/RPC PDU at the front of b, in the
// integer byte order of its data representation (C706 12.6.3.1).
func rpcPDULen(b []byte) int {
	if len(b) < 10 || b[0] != 5 {
		return 0
	}
	if b[4]&0x10 != 0 {
		return int(binary.LittleEndian.Uint16(b[8:]))
	}
	return int(binary.BigEndian.Uint16(b[8:]))
}

// tdsPacketLen is the big-endian Length of the TDS packet at the front of b
// ([MS-TDS] 2.2.3.1.3).
func tdsPacketLen(b []byte) int {
	if len(b) < 8 {
		return 0
	}
	return int(binary.BigEndian.Uint16(b[2:]))
}

// writeCorpora writes every target's seeds under <dir>/testdata/fuzz/<target>
// and prints their counts and sizes.
func writeCorpora() {
	total := 0
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := all[k]
		dir := filepath.Join(c.dir, "testdata", "fuzz", c.target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			log.Fatal(err)
		}
		size := 0
		for name, body := range c.seeds {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				log.Fatal(err)
			}
			size += len(body)
		}
		total += size
		fmt.Printf("%-40s %3d seeds %7d bytes\n", dir, len(c.seeds), size)
	}
	fmt.Printf("total %d bytes\n", total)
}
