package layers

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// jsonFirst returns the first value of a field of a *.tshark.json frame.
func jsonFirst(fr map[string]any, k string) string {
	switch v := fr[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		if len(v) > 0 {
			if s, ok := v[0].(string); ok {
				return s
			}
		}
	}
	return ""
}

// TestSharedCapturesAgreeWithTshark decodes every capture of
// ../shared/captures and ../shared/public-captures and compares each frame
// with tshark's reference (*.tshark.json): frame count, addresses, TTL, IP
// length, ports, tcp.len, tcp.flags, MSS, UDP length, ICMP type/code/MTU,
// ARP opcode. It skips when ../shared is absent; TestAgreesWithTshark covers
// the same on testdata.
func TestSharedCapturesAgreeWithTshark(t *testing.T) {
	root := sharedPath(t, "captures")
	files, _ := filepath.Glob(filepath.Join(root, "*", "*.pcap"))
	pub, _ := filepath.Glob(filepath.Join(filepath.Dir(root), "public-captures", "*.pcap*"))
	files = append(files, pub...)
	var totalFrames, totalAgree, totalFiles int
	for _, path := range files {
		if strings.HasSuffix(path, ".json") {
			continue
		}
		refPath := strings.TrimSuffix(path, ".pcap") + ".tshark.json"
		if strings.HasSuffix(path, ".pcapng") {
			refPath = path + ".tshark.json"
		}
		raw, err := os.ReadFile(refPath)
		if err != nil {
			continue
		}
		var ref struct {
			Frames []map[string]any `json:"frames"`
		}
		if err := json.Unmarshal(raw, &ref); err != nil {
			t.Fatalf("%s: %v", refPath, err)
		}
		frames, err := readFrames(t, path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
		}
		if len(frames) != len(ref.Frames) {
			t.Errorf("%s: %d frames, tshark %d", path, len(frames), len(ref.Frames))
			continue
		}
		d := NewDecoder(nil, DefaultLimits())
		agree := 0
		for i := range frames {
			p, ok := d.Decode(&frames[i])
			if diffs := compareJSONFrame(ref.Frames[i], p, ok); len(diffs) > 0 {
				if why, known := knownDifferences[fmt.Sprintf("%s:%d", filepath.Base(path), frames[i].Number)]; known {
					t.Logf("%s frame %d differs as expected: %s", filepath.Base(path), frames[i].Number, why)
				} else {
					t.Errorf("%s frame %d: %s", filepath.Base(path), frames[i].Number, strings.Join(diffs, "; "))
				}
				continue
			}
			agree++
		}
		totalFiles++
		totalFrames += len(frames)
		totalAgree += agree
	}
	t.Logf("%d captures, %d frames: %d agree with tshark on every compared field", totalFiles, totalFrames, totalAgree)
}

// knownDifferences lists frames where we deliberately differ from tshark.
var knownDifferences = map[string]string{
	"zeek-ipv4-fragmented-1.pcap:3": "a first fragment of 18 bytes with MF set (not a multiple of 8) and a second offset-0 fragment: " +
		"we drop the inconsistent datagram (net.fragment_overlap); tshark dissects frame 3 alone as malformed UDP",
}

func compareJSONFrame(fr map[string]any, p *Packet, ok bool) []string {
	var diffs []string
	check := func(field, want, have string) {
		if want != "" && want != have {
			diffs = append(diffs, fmt.Sprintf("%s: tshark %q, we %q", field, want, have))
		}
	}
	protos := jsonFirst(fr, "frame.protocols")
	src, dst := jsonFirst(fr, "ip.src"), jsonFirst(fr, "ip.dst")
	if strings.Contains(protos, ":ipv6") && !strings.Contains(protos, ":ip:") {
		src, dst = jsonFirst(fr, "ipv6.src"), jsonFirst(fr, "ipv6.dst")
	}
	if op := jsonFirst(fr, "arp.opcode"); op != "" {
		if !ok || p.Transport != TransportARP {
			return []string{"arp: not decoded"}
		}
		check("arp.opcode", op, strconv.Itoa(int(p.ARP.Op)))
		check("arp.src.proto_ipv4", jsonFirst(fr, "arp.src.proto_ipv4"), p.ARP.SenderIP.String())
		return diffs
	}
	if src == "" {
		return nil
	}
	tcpShown := jsonFirst(fr, "tcp.srcport") != ""
	udpShown := jsonFirst(fr, "udp.srcport") != ""
	icmpShown := jsonFirst(fr, "icmp.type") != "" || jsonFirst(fr, "icmpv6.type") != ""
	if !ok {
		if tcpShown || udpShown || icmpShown {
			return []string{"not decoded"}
		}
		return nil // a fragment waiting for the rest
	}
	check("ip.src", src, p.Src.String())
	check("ip.dst", dst, p.Dst.String())
	if p.Network == 4 {
		check("ip.ttl", jsonFirst(fr, "ip.ttl"), strconv.Itoa(int(p.TTL)))
		if !p.TSO && !p.Reassembled {
			check("ip.len", jsonFirst(fr, "ip.len"), strconv.Itoa(p.IPLen))
		}
	}
	switch {
	case icmpShown:
		if p.Transport != TransportICMP {
			return append(diffs, "icmp: not decoded")
		}
		check("icmp.type", jsonFirst(fr, "icmp.type")+jsonFirst(fr, "icmpv6.type"), strconv.Itoa(int(p.ICMP.Type)))
		check("icmp.code", jsonFirst(fr, "icmp.code")+jsonFirst(fr, "icmpv6.code"), strconv.Itoa(int(p.ICMP.Code)))
		check("icmp.mtu", jsonFirst(fr, "icmp.mtu")+jsonFirst(fr, "icmpv6.mtu"), strconv.Itoa(int(p.ICMP.MTU)))
	case tcpShown:
		if p.Transport != TransportTCP {
			return append(diffs, "tcp: not decoded")
		}
		check("tcp.srcport", jsonFirst(fr, "tcp.srcport"), strconv.Itoa(int(p.TCP.SrcPort)))
		check("tcp.dstport", jsonFirst(fr, "tcp.dstport"), strconv.Itoa(int(p.TCP.DstPort)))
		check("tcp.len", jsonFirst(fr, "tcp.len"), strconv.Itoa(p.PayloadLen))
		check("tcp.flags", jsonFirst(fr, "tcp.flags"), fmt.Sprintf("0x%04x", uint16(p.TCP.Flags)))
		check("tcp.options.mss_val", jsonFirst(fr, "tcp.options.mss_val"), strconv.Itoa(int(p.TCP.MSS)))
	case udpShown:
		if p.Transport != TransportUDP {
			return append(diffs, "udp: not decoded")
		}
		check("udp.srcport", jsonFirst(fr, "udp.srcport"), strconv.Itoa(int(p.UDP.SrcPort)))
		check("udp.dstport", jsonFirst(fr, "udp.dstport"), strconv.Itoa(int(p.UDP.DstPort)))
		check("udp.length", jsonFirst(fr, "udp.length"), strconv.Itoa(int(p.UDP.Length)))
	}
	return diffs
}
