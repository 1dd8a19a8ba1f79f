package layers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nettrace/nettrace/health"
)

// This file counts the frames the Decoder gives back without an IP packet
// to analyse because it does not decode what they carry — a link type, an
// EtherType, a tunnel's payload — and says so once, at Flush, in one
// capture.undecoded event with the counts per encapsulation: a capture
// made only of such frames must not read as "nothing wrong".

// undecodedWhat says why a frame was not decoded.
type undecodedWhat uint8

const (
	undecodedLinkType        undecodedWhat = iota // a pcap link type nettrace does not decode
	undecodedEtherType                            // an EtherType that carries no IP packet nettrace decodes
	undecodedLLC                                  // an IEEE 802.3 frame with an LLC header (STP, CDP, NetBIOS...)
	undecodedLoopFamily                           // a BSD loopback address family other than IPv4/IPv6
	undecodedPPP                                  // a PPP protocol other than IPv4/IPv6 (LCP, IPCP, authentication)
	undecodedMPLSPayload                          // an MPLS payload that is not IP nor a pseudowire Ethernet frame
	undecodedGREProto                             // a GRE protocol type nettrace does not decode
	undecodedGREVersion                           // a GRE version other than 0 and 1
	undecodedGRERouting                           // GRE with RFC 1701 source routing
	undecodedShortGRE                             // a GRE header longer than the packet
	undecodedERSPANVersion                        // an ERSPAN header of an unknown version
	undecodedERSPANFrameType                      // an ERSPAN type III frame type other than Ethernet or IP
	undecodedShortERSPAN                          // an ERSPAN header longer than the packet
	undecodedTooDeep                              // encapsulations nested deeper than maxEncapDepth
	undecodedOther                                // a link layer that named nothing decodable
)

// undecodedKey identifies one kind of frame not decoded: why, and the
// number concerned (link type, EtherType, protocol, version).
type undecodedKey struct {
	what undecodedWhat
	code uint32
}

// undecodedCount is what was counted of one kind.
type undecodedCount struct {
	frames      int64
	first, last int64
}

// maxUndecodedKinds bounds the kinds counted one by one; further kinds are
// counted under "other".
const maxUndecodedKinds = 64

// etherTypeNames names the EtherTypes commonly seen on LANs that carry no
// IP packet.
var etherTypeNames = map[uint16]string{
	0x0842: "Wake-on-LAN", 0x22f0: "AVTP", 0x22f3: "TRILL", 0x6002: "DEC MOP", 0x8035: "RARP",
	0x809b: "AppleTalk", 0x80f3: "AARP", 0x8137: "IPX", 0x8808: "Ethernet flow control",
	0x8809: "slow protocols (LACP)", 0x8819: "CobraNet", 0x8863: "PPPoE discovery", 0x886d: "Intel ANS",
	0x888e: "EAPOL (802.1X)", 0x8892: "PROFINET", 0x889a: "HyperSCSI", 0x88a4: "EtherCAT",
	0x88b8: "GOOSE", 0x88ba: "Sampled Values", 0x88cc: "LLDP", 0x88e1: "HomePlug", 0x88e3: "MRP",
	0x88e5: "MACsec", 0x88e7: "PBB", 0x88f7: "PTP", 0x88fb: "PRP", 0x8902: "CFM (802.1ag)",
	0x8906: "FCoE", 0x8914: "FIP", 0x8915: "RoCE", 0x892f: "HSR", 0x893a: "IEEE 1905.1",
	0x9000: "Ethernet loopback",
}

// name words a kind of frame not decoded for the event and the profile.
func (k undecodedKey) name() string {
	switch k.what {
	case undecodedLinkType:
		return fmt.Sprintf("link type %d", k.code)
	case undecodedEtherType:
		if n, ok := etherTypeNames[uint16(k.code)]; ok {
			return fmt.Sprintf("%s (EtherType 0x%04x)", n, k.code)
		}
		return fmt.Sprintf("EtherType 0x%04x", k.code)
	case undecodedLLC:
		return "IEEE 802.3 LLC (STP, CDP, NetBIOS...)"
	case undecodedLoopFamily:
		return fmt.Sprintf("loopback address family %d", k.code)
	case undecodedPPP:
		return fmt.Sprintf("PPP protocol 0x%04x (control)", k.code)
	case undecodedMPLSPayload:
		return fmt.Sprintf("MPLS payload starting with nibble %d", k.code)
	case undecodedGREProto:
		return fmt.Sprintf("GRE protocol type 0x%04x", k.code)
	case undecodedGREVersion:
		return fmt.Sprintf("GRE version %d", k.code)
	case undecodedGRERouting:
		return "GRE with source routing (RFC 1701)"
	case undecodedShortGRE:
		return "GRE header cut short"
	case undecodedERSPANVersion:
		return fmt.Sprintf("ERSPAN version %d", k.code)
	case undecodedERSPANFrameType:
		return fmt.Sprintf("ERSPAN type III frame type %d", k.code)
	case undecodedShortERSPAN:
		return fmt.Sprintf("ERSPAN type %d header cut short", k.code)
	case undecodedTooDeep:
		return fmt.Sprintf("encapsulations nested deeper than %d", k.code)
	}
	return "other link payload"
}

// mayCarryIP reports whether frames of this kind may carry IP traffic that
// was not analysed: an unknown link type, a tunnel's payload, nesting
// beyond the bound. The others (LLDP, STP, PPP control...) are protocols
// without IP that nettrace does not decode.
func (k undecodedKey) mayCarryIP() bool {
	switch k.what {
	case undecodedLinkType, undecodedMPLSPayload, undecodedGREProto, undecodedGREVersion, undecodedGRERouting,
		undecodedShortGRE, undecodedERSPANVersion, undecodedERSPANFrameType, undecodedShortERSPAN, undecodedTooDeep:
		return true
	case undecodedEtherType:
		return k.code == 0x88e5 || k.code == 0x88e7 // MACsec and PBB carry frames nettrace does not open
	}
	return false
}

// notDecoded counts the current frame as not decoded for the reason k.
func (d *Decoder) notDecoded(what undecodedWhat, code uint32) {
	k := undecodedKey{what, code}
	c, ok := d.undecoded[k]
	if !ok && len(d.undecoded) >= maxUndecodedKinds {
		k = undecodedKey{what: undecodedOther}
		c = d.undecoded[k]
	}
	if c.frames == 0 {
		c.first = d.frame.Number
	}
	c.frames++
	c.last = d.frame.Number
	d.undecoded[k] = c
}

// UndecodedKind is one kind of frame not decoded, with its count.
type UndecodedKind struct {
	// Name says what the frames carry: "link type 147", "LLDP (EtherType
	// 0x88cc)", "GRE protocol type 0x8881", "PPP protocol 0xc021 (control)".
	Name string
	// MayCarryIP: frames of this kind may hold IP traffic that was not
	// analysed (an unknown link type or tunnel payload), as opposed to a
	// protocol without IP (LLDP, STP, PPP control).
	MayCarryIP  bool
	Frames      int64
	First, Last int64 // frame numbers
}

// UndecodedStats counts the frames the Decoder did not decode because of
// their link type or encapsulation, by kind.
type UndecodedStats struct {
	Frames int64 // all kinds
	// MayCarryIP counts the frames of kinds that may carry IP traffic.
	MayCarryIP int64
	Kinds      []UndecodedKind // by first frame
}

// UndecodedStats returns the counts of frames not decoded so far (after
// Flush, those of the capture Flush ended).
func (d *Decoder) UndecodedStats() UndecodedStats {
	if len(d.undecoded) == 0 {
		return d.undecodedFlushed
	}
	return undecodedStats(d.undecoded)
}

func undecodedStats(m map[undecodedKey]undecodedCount) UndecodedStats {
	var st UndecodedStats
	for k, c := range m {
		st.Kinds = append(st.Kinds, UndecodedKind{Name: k.name(), MayCarryIP: k.mayCarryIP(), Frames: c.frames, First: c.first, Last: c.last})
		st.Frames += c.frames
		if k.mayCarryIP() {
			st.MayCarryIP += c.frames
		}
	}
	sort.Slice(st.Kinds, func(i, j int) bool {
		a, b := st.Kinds[i], st.Kinds[j]
		if a.First != b.First {
			return a.First < b.First
		}
		return a.Name < b.Name
	})
	return st
}

// Summary words the counts: "LLDP (EtherType 0x88cc) 12 frames from frame
// 3, link type 147 400 frames from frame 1".
func (st UndecodedStats) Summary() string {
	parts := make([]string, len(st.Kinds))
	for i, k := range st.Kinds {
		parts[i] = fmt.Sprintf("%s: %d frame%s from frame %d", k.Name, k.Frames, plural(int(k.Frames), "", "s"), k.First)
	}
	return strings.Join(parts, "; ")
}

// flushUndecoded reports the frames not decoded in one capture.undecoded
// event (notice when some may carry IP traffic or when no frame at all was
// analysed, info otherwise) and starts counting anew.
func (d *Decoder) flushUndecoded(at time.Time) {
	analysed := d.analysed
	d.analysed = 0
	if len(d.undecoded) == 0 {
		return
	}
	st := undecodedStats(d.undecoded)
	d.undecodedFlushed = st
	clear(d.undecoded)
	sev := health.Info
	why := "they carry protocols without IP that nettrace does not decode"
	switch {
	case st.MayCarryIP > 0:
		sev = health.Notice
		why = fmt.Sprintf("%d of them may carry IP traffic that was not analysed: findings say nothing about it", st.MayCarryIP)
	case analysed == 0:
		sev = health.Notice
		why = "no frame of the capture was analysed: findings say nothing about its traffic"
	}
	byKind := make(map[string]int64, len(st.Kinds))
	firsts := make(map[string]int64, len(st.Kinds))
	for _, k := range st.Kinds {
		byKind[k.Name] = k.Frames
		firsts[k.Name] = k.First
	}
	first := st.Kinds[0].First
	d.rep.Event(health.Event{Kind: health.CaptureUndecoded, Severity: sev, Time: at, Frame: first,
		Message: fmt.Sprintf("%d frame%s not decoded because of their link type or encapsulation (%s); %s",
			st.Frames, plural(int(st.Frames), " was", "s were"), st.Summary(), why),
		Evidence: map[string]any{"frames": st.Frames, "may_carry_ip": st.MayCarryIP, "by_encapsulation": byKind,
			"first_frames": firsts, "first_frame": first}})
}
