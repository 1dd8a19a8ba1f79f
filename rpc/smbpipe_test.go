package rpc

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// pipeStream is the DCE/RPC byte stream of one SMB2 named pipe (one FileId):
// writes and FSCTL_PIPE_TRANSCEIVE input as ClientToServer, reads and
// transceive output as ServerToClient, as the smb package hands them over.
type pipeStream struct {
	fileID [16]byte
	segs   []seg
}

// smb2Pipes is a minimal SMB2 (and SMB1 TransactNmPipe) reader for tests (the smb package does this
// for the product): NBSS framing, SMB2 headers with compounding, and the
// payloads of WRITE and IOCTL requests and of READ and IOCTL responses.
// Each payload gets the frame that completed its NBSS message.
func smb2Pipes(t testing.TB, s *tstream) []*pipeStream {
	t.Helper()
	var buf [2][]byte
	var out []*pipeStream
	byID := map[[16]byte]*pipeStream{}
	readFile := map[uint64][16]byte{} // READ message id → FileId
	add := func(id [16]byte, d tcpstate.Dir, data []byte, pos tcpstate.Position) {
		if len(data) == 0 {
			return
		}
		p := byID[id]
		if p == nil {
			p = &pipeStream{fileID: id}
			byID[id] = p
			out = append(out, p)
		}
		p.segs = append(p.segs, seg{dir: d, data: append([]byte(nil), data...), pos: pos})
	}
	field := func(msg []byte, off, n uint32) []byte {
		if uint64(off)+uint64(n) > uint64(len(msg)) {
			return nil
		}
		return msg[off : off+n]
	}
	for _, sg := range s.segs {
		if sg.gap > 0 {
			t.Fatalf("gap in SMB stream")
		}
		d := sg.dir
		buf[d] = append(buf[d], sg.data...)
		for len(buf[d]) >= 4 {
			n := int(buf[d][1])<<16 | int(buf[d][2])<<8 | int(buf[d][3])
			if len(buf[d]) < 4+n {
				break
			}
			nb := buf[d][4 : 4+n]
			buf[d] = buf[d][4+n:]
			if len(nb) >= 33 && string(nb[:4]) == "\xffSMB" {
				smb1Trans(nb, sg.pos, readFile, add)
				continue
			}
			for len(nb) >= 64 && string(nb[:4]) == "\xfeSMB" {
				next := binary.LittleEndian.Uint32(nb[20:])
				msg := nb
				if next != 0 && int(next) <= len(nb) {
					msg = nb[:next]
				}
				status := binary.LittleEndian.Uint32(msg[8:])
				cmd := binary.LittleEndian.Uint16(msg[12:])
				resp := binary.LittleEndian.Uint32(msg[16:])&1 != 0
				mid := binary.LittleEndian.Uint64(msg[24:])
				body := msg[64:]
				ok := status == 0 || status == 0x80000005 // STATUS_BUFFER_OVERFLOW carries data
				switch {
				case cmd == 0x09 && !resp && len(body) >= 32: // WRITE [MS-SMB2] 2.2.21
					off, n := uint32(binary.LittleEndian.Uint16(body[2:])), binary.LittleEndian.Uint32(body[4:])
					add([16]byte(body[16:32]), tcpstate.ClientToServer, field(msg, off, n), sg.pos)
				case cmd == 0x08 && !resp && len(body) >= 32: // READ request 2.2.19
					readFile[mid] = [16]byte(body[16:32])
				case cmd == 0x08 && resp && ok && len(body) >= 8: // READ response 2.2.20
					if id, found := readFile[mid]; found {
						add(id, tcpstate.ServerToClient, field(msg, uint32(body[2]), binary.LittleEndian.Uint32(body[4:])), sg.pos)
					}
				case cmd == 0x0b && len(body) >= 48 && binary.LittleEndian.Uint32(body[4:]) == 0x0011c017: // IOCTL transceive
					id := [16]byte(body[8:24])
					if !resp {
						add(id, tcpstate.ClientToServer, field(msg, binary.LittleEndian.Uint32(body[24:]), binary.LittleEndian.Uint32(body[28:])), sg.pos)
					} else if ok {
						add(id, tcpstate.ServerToClient, field(msg, binary.LittleEndian.Uint32(body[32:]), binary.LittleEndian.Uint32(body[36:])), sg.pos)
					}
				}
				if next == 0 || int(next) > len(nb) {
					break
				}
				nb = nb[next:]
			}
		}
	}
	return out
}

// TestAgreementWithTsharkSMBPipes decodes DCE/RPC over SMB2 named pipes
// (\srvsvc, \samr) extracted by a test helper, each pipe fed to its own
// Conn as the smb package's hand-off does, and compares with tshark.
func TestAgreementWithTsharkSMBPipes(t *testing.T) {
	streams := readTCP(t, testdataPath("rpc-over-smb-pipes-rpcclient.pcap"))
	ref := loadRef(t, testdataPath("rpc-over-smb-pipes-rpcclient.ref.json"))
	var base *health.Collector
	for _, mode := range []chunking{wholeSegments, byteAtATime, randomSplits} {
		var pipes []*tstream
		for _, s := range streams {
			for _, p := range smb2Pipes(t, s) {
				pipes = append(pipes, &tstream{id: s.id, client: s.client, server: s.server, segs: p.segs})
			}
		}
		if len(pipes) != 3 {
			t.Fatalf("found %d pipes, want 3 (srvsvc, samr, srvsvc)", len(pipes))
		}
		col := runStreams(pipes, DefaultConfig(), mode, 3)
		a := compareRef(ref, views(col))
		for _, d := range a.diffs {
			t.Errorf("%s: %s", mode, d)
		}
		for _, n := range a.extra {
			t.Errorf("%s: frame %d: we decoded DCE/RPC, tshark decodes none", mode, n)
		}
		if base == nil {
			base = col
			t.Logf("agreement with tshark over SMB2 pipes: %d/%d DCERPC frames, %d PDUs, %d opnums, %d bind UUIDs",
				a.frames, len(ref), a.pdus, a.opnums, a.uuids)
			var ops []string
			for _, m := range col.Messages {
				if op, ok := m.Fields["operation"]; ok && m.Fields["pkt_type"] == "request" {
					ops = append(ops, op.(string))
				}
			}
			t.Logf("operations: %v", ops)
		}
		if len(col.Events) != 0 {
			t.Errorf("unexpected events: %+v", col.Events)
		}
	}
}

// smb1Trans extracts the pipe data of SMB1 TRANSACTION TransactNmPipe
// ([MS-CIFS] 2.2.4.33, subcommand 0x0026): the request's FID is in
// setup[1]; the response is matched by MID.
func smb1Trans(msg []byte, pos tcpstate.Position, fidByMID map[uint64][16]byte,
	add func([16]byte, tcpstate.Dir, []byte, tcpstate.Position)) {
	if msg[4] != 0x25 {
		return
	}
	status := binary.LittleEndian.Uint32(msg[5:])
	reply := msg[9]&0x80 != 0
	mid := uint64(binary.LittleEndian.Uint16(msg[30:]))
	wc := int(msg[32])
	words := msg[33:]
	if len(words) < 2*wc {
		return
	}
	w := func(i int) uint16 { return binary.LittleEndian.Uint16(words[2*i:]) }
	data := func(off, n uint16) []byte {
		if int(off)+int(n) > len(msg) {
			return nil
		}
		return msg[off : off+n]
	}
	var fid [16]byte
	if !reply {
		if wc < 16 || w(13)&0xff < 2 || w(14) != 0x0026 { // SetupCount >= 2, TransactNmPipe
			return
		}
		binary.LittleEndian.PutUint16(fid[:], w(15))
		fidByMID[mid|1<<63] = fid
		add(fid, tcpstate.ClientToServer, data(w(12), w(11)), pos)
		return
	}
	fid, ok := fidByMID[mid|1<<63]
	if !ok || wc < 10 || (status != 0 && status != 0x80000005) {
		return
	}
	add(fid, tcpstate.ServerToClient, data(w(7), w(6)), pos)
}

// TestAgreementWithTsharkSMB1PipesShared decodes the DCE/RPC carried by
// SMB1 TransactNmPipe in Zeek's mapi.pcap (TCP 139, \lsarpc and a pipe
// opened before the capture) and compares with tshark.
func TestAgreementWithTsharkSMB1PipesShared(t *testing.T) {
	p := sharedPath(t, "public-captures/zeek-dce-rpc-mapi.pcap")
	ref := loadSharedRef(t, "public-captures/zeek-dce-rpc-mapi.tshark.json")
	var pipes []*tstream
	smbStreams := map[string]bool{}
	for _, s := range readTCP(t, p) {
		if s.server.Port() != 139 && s.server.Port() != 445 {
			continue
		}
		smbStreams[fmt.Sprint(s.id)] = true
		for _, ps := range smb2Pipes(t, s) {
			pipes = append(pipes, &tstream{id: s.id, client: s.client, server: s.server, segs: ps.segs})
		}
	}
	for n, f := range ref {
		if !smbStreams[fmt.Sprint(f["tcp.stream"])] {
			delete(ref, n)
		}
	}
	col := runStreams(pipes, DefaultConfig(), wholeSegments, 1)
	a := compareRef(ref, views(col))
	for _, d := range a.diffs {
		t.Error(d)
	}
	for _, n := range a.extra {
		t.Errorf("frame %d: we decoded DCE/RPC, tshark decodes none", n)
	}
	t.Logf("zeek mapi.pcap over SMB1 pipes: %d/%d DCERPC frames, %d PDUs, %d opnums (+%d tshark could not match), %d bind UUIDs",
		a.frames, len(ref), a.pdus, a.opnums, a.opnumExtra, a.uuids)
}
