package rpc

import (
	"fmt"
	"net/netip"

	"github.com/nettrace/nettrace/internal/wire"
)

// EPM opnums ([MS-RPCE] 3.1.1.5, C706 Appendix O).
const (
	EPMOpLookup uint16 = 2 // ept_lookup
	EPMOpMap    uint16 = 3 // ept_map
)

// Tower floor protocol identifiers (C706 Appendix I and L, [MS-RPCE] 2.2.1.2).
const (
	FloorUUID      uint8 = 0x0d // interface or transfer syntax UUID + version
	FloorRPCCL     uint8 = 0x0a // RPC connectionless (ncadg)
	FloorRPCCO     uint8 = 0x0b // RPC connection-oriented (ncacn)
	FloorLRPC      uint8 = 0x0c // local RPC (ncalrpc)
	FloorTCP       uint8 = 0x07 // TCP port, big-endian
	FloorUDP       uint8 = 0x08 // UDP port, big-endian
	FloorIP        uint8 = 0x09 // IPv4 address
	FloorNamedPipe uint8 = 0x0f // SMB named pipe (ncacn_np)
	FloorLocalPipe uint8 = 0x10 // local pipe / ALPC port name (ncalrpc)
	FloorNetBIOS   uint8 = 0x11 // NetBIOS host name
	FloorNetBEUI   uint8 = 0x12
	FloorSPX       uint8 = 0x13
	FloorIPX       uint8 = 0x14
	FloorHTTP      uint8 = 0x1f // ncacn_http port, big-endian
)

// Floor is one protocol floor of a tower: its protocol identifier, the rest
// of its left-hand side (e.g. UUID+version) and its right-hand side (e.g. a
// port). LHS and RHS alias the input.
type Floor struct {
	Protocol uint8
	LHS      []byte
	RHS      []byte
}

// Tower is a decoded protocol tower (twr_t, C706 Appendix L): the floors and
// what they say. Floors alias the input; the other fields are copies.
type Tower struct {
	Floors []Floor

	Interface        UUID
	InterfaceVersion uint16 // major
	InterfaceMinor   uint16
	Transfer         UUID
	TransferVersion  uint16
	// RPCProtocol is the floor-3 protocol: FloorRPCCO, FloorRPCCL, FloorLRPC.
	RPCProtocol uint8
	// Protocol is the transport: "tcp", "udp", "pipe" (SMB named pipe),
	// "lrpc", "http", "netbios", or "" when none was recognised.
	Protocol string
	Port     uint16 // TCP, UDP or HTTP port
	HasPort  bool
	IP       netip.Addr // zero when the tower holds none
	Pipe     string     // named pipe or local endpoint name, without NUL
	NetBIOS  string     // NetBIOS host name, without NUL
}

// Protseq returns the protocol sequence the tower describes
// ("ncacn_ip_tcp", "ncacn_np", "ncalrpc", "ncadg_ip_udp", "ncacn_http"),
// or "" when unknown.
func (t *Tower) Protseq() string {
	switch {
	case t.Protocol == "tcp" && t.RPCProtocol == FloorRPCCO:
		return "ncacn_ip_tcp"
	case t.Protocol == "udp":
		return "ncadg_ip_udp"
	case t.Protocol == "pipe" && t.RPCProtocol == FloorRPCCO:
		return "ncacn_np"
	case t.Protocol == "lrpc" || t.RPCProtocol == FloorLRPC:
		return "ncalrpc"
	case t.Protocol == "http":
		return "ncacn_http"
	}
	return ""
}

// String returns e.g. "ncacn_ip_tcp:10.200.3.20[49152]".
func (t *Tower) String() string {
	ep := ""
	switch {
	case t.HasPort:
		ep = fmt.Sprint(t.Port)
	case t.Pipe != "":
		ep = t.Pipe
	}
	host := t.NetBIOS
	if t.IP.IsValid() {
		host = t.IP.String()
	}
	ps := t.Protseq()
	if ps == "" {
		ps = t.Protocol
	}
	return fmt.Sprintf("%s:%s[%s]", ps, host, ep)
}

const maxFloors = 16 // towers have 3-6 floors; more is malformed

// ParseTower decodes tower_octet_string (C706 Appendix L): a little-endian
// floor count, then per floor a little-endian lhs length, lhs (protocol id
// first), rhs length, rhs. Floor lengths are always little-endian,
// whatever the NDR data representation. It must use b exactly.
func ParseTower(b []byte) (Tower, error) {
	var t Tower
	r := wire.Reader(b)
	var n uint16
	if !r.ReadUint16(&n) {
		return Tower{}, truncated("tower", 2)
	}
	if n == 0 || n > maxFloors {
		return Tower{}, malformed("tower", "floor count %d outside 1..%d", n, maxFloors)
	}
	t.Floors = make([]Floor, 0, n)
	for i := 0; i < int(n); i++ {
		var ll, rl uint16
		var lhs, rhs []byte
		if !r.ReadUint16(&ll) || !r.ReadBytes(&lhs, int(ll)) || !r.ReadUint16(&rl) || !r.ReadBytes(&rhs, int(rl)) {
			return Tower{}, truncatedf("tower", "floor %d of %d runs past %d bytes", i+1, n, len(b))
		}
		if ll == 0 {
			return Tower{}, malformed("tower", "floor %d has an empty left-hand side", i+1)
		}
		f := Floor{Protocol: lhs[0], LHS: lhs[1:], RHS: rhs}
		t.Floors = append(t.Floors, f)
		t.floor(i, f)
	}
	if !r.Empty() {
		return Tower{}, malformed("tower", "%d bytes after %d floors", r.Len(), n)
	}
	return t, nil
}

// floor records what floor i says.
func (t *Tower) floor(i int, f Floor) {
	switch f.Protocol {
	case FloorUUID:
		// lhs: UUID (little-endian fields) + major version; rhs: minor.
		if len(f.LHS) < 18 {
			return
		}
		u := uuidFromWire(f.LHS, false)
		maj := uint16(f.LHS[16]) | uint16(f.LHS[17])<<8
		var minor uint16
		if len(f.RHS) >= 2 {
			minor = uint16(f.RHS[0]) | uint16(f.RHS[1])<<8
		}
		switch i {
		case 0:
			t.Interface, t.InterfaceVersion, t.InterfaceMinor = u, maj, minor
		case 1:
			t.Transfer, t.TransferVersion = u, maj
		}
	case FloorRPCCO, FloorRPCCL, FloorLRPC:
		t.RPCProtocol = f.Protocol
		if f.Protocol == FloorLRPC && t.Protocol == "" {
			t.Protocol = "lrpc"
		}
	case FloorTCP, FloorUDP, FloorHTTP:
		if len(f.RHS) >= 2 {
			t.Port, t.HasPort = uint16(f.RHS[0])<<8|uint16(f.RHS[1]), true
		}
		switch f.Protocol {
		case FloorTCP:
			t.Protocol = "tcp"
		case FloorUDP:
			t.Protocol = "udp"
		default:
			t.Protocol = "http"
		}
	case FloorIP:
		if len(f.RHS) >= 4 {
			t.IP = netip.AddrFrom4([4]byte(f.RHS[:4]))
		}
	case FloorNamedPipe:
		t.Protocol, t.Pipe = "pipe", cString(f.RHS)
	case FloorLocalPipe:
		t.Protocol, t.Pipe = "lrpc", cString(f.RHS)
	case FloorNetBIOS:
		t.NetBIOS = cString(f.RHS)
		if t.Protocol == "" {
			t.Protocol = "netbios"
		}
	}
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// MapRequest is an ept_map request ([MS-RPCE] 3.1.1.5.1.1, C706 O.2.4).
type MapRequest struct {
	Object    UUID
	HasObject bool
	Tower     Tower // the tower asked for (interface, transfer syntax, protseq)
	HasTower  bool
	Handle    [20]byte // entry_handle
	MaxTowers uint32
}

// MapResponse is an ept_map response.
type MapResponse struct {
	Handle    [20]byte
	NumTowers uint32
	Towers    []Tower // towers with a non-null pointer, in order
	Status    Status
}

// LookupRequest is an ept_lookup request (C706 O.2.3).
type LookupRequest struct {
	InquiryType  uint32
	Object       UUID
	HasObject    bool
	Interface    UUID
	IfVersion    uint16
	IfMinor      uint16
	HasInterface bool
	VersOption   uint32
	Handle       [20]byte
	MaxEntries   uint32
}

// Entry is one ept_entry_t of an ept_lookup response.
type Entry struct {
	Object     UUID
	Tower      Tower
	HasTower   bool
	Annotation string
}

// LookupResponse is an ept_lookup response.
type LookupResponse struct {
	Handle     [20]byte
	NumEntries uint32
	Entries    []Entry
	Status     Status
}

// EPMLimits bound the endpoint-mapper decoder.
type EPMLimits struct {
	NDR NDRLimits
	// MaxTowers caps the towers or entries decoded from one reply
	// (default 1024); more is malformed.
	MaxTowers int
}

// DefaultEPMLimits returns the documented defaults.
func DefaultEPMLimits() EPMLimits { return EPMLimits{NDR: DefaultNDRLimits(), MaxTowers: 1024} }

func (l EPMLimits) maxTowers() int {
	if l.MaxTowers <= 0 {
		return 1024
	}
	return l.MaxTowers
}

// readTowerRef reads a tower pointee (twr_t: conformance, tower_length,
// octets; in NDR64 the 8-byte conformance leads the structure, [MS-RPCE]
// 2.2.5.3.4.2) and decodes it.
func readTowerRef(n *NDR, what string) (Tower, error) {
	var max, length uint32
	if !n.Conformant(1, &max) || !n.Uint32(&length) {
		return Tower{}, truncatedf(what, "tower header runs past the stub at offset %d", n.Offset())
	}
	if length != max {
		return Tower{}, malformed(what, "tower_length %d differs from its conformance %d", length, max)
	}
	var oct []byte
	if !n.Bytes(&oct, int(length)) {
		return Tower{}, truncatedf(what, "tower of %d bytes runs past the stub", length)
	}
	t, err := ParseTower(oct)
	if err != nil {
		return Tower{}, err
	}
	return t, nil
}

// ParseMapRequest decodes the stub of an ept_map request in NDR 2.0
// (C706 14): object (unique pointer to a UUID), map_tower (unique pointer to
// a twr_t), entry_handle, max_towers. Towers' floors alias stub.
func ParseMapRequest(stub []byte, drep DataRep, lim EPMLimits) (MapRequest, error) {
	return parseMapRequest(stub, drep, NDR20, lim)
}

// ParseMapRequest64 is ParseMapRequest for a stub in NDR64 ([MS-RPCE] 2.2.5),
// the transfer syntax 64-bit Windows hosts negotiate with each other.
func ParseMapRequest64(stub []byte, drep DataRep, lim EPMLimits) (MapRequest, error) {
	return parseMapRequest(stub, drep, NDR64, lim)
}

// parseMapRequest decodes the stub of ParseMapRequest in encoding enc.
func parseMapRequest(stub []byte, drep DataRep, enc Encoding, lim EPMLimits) (MapRequest, error) {
	const what = "epm map request"
	var m MapRequest
	n := NewNDREncoding(stub, drep, enc, lim.NDR)
	var ref uint32
	if !n.Pointer(&ref) {
		return MapRequest{}, truncated(what, 4)
	}
	if ref != 0 {
		if !n.UUID(&m.Object) {
			return MapRequest{}, truncatedf(what, "object uuid runs past %d bytes", len(stub))
		}
		m.HasObject = true
	}
	if !n.Pointer(&ref) {
		return MapRequest{}, truncatedf(what, "map_tower pointer runs past %d bytes", len(stub))
	}
	if ref != 0 {
		t, err := readTowerRef(&n, what)
		if err != nil {
			return MapRequest{}, err
		}
		m.Tower, m.HasTower = t, true
	}
	if !n.ContextHandle(&m.Handle) || !n.Uint32(&m.MaxTowers) {
		return MapRequest{}, truncatedf(what, "entry_handle/max_towers run past %d bytes", len(stub))
	}
	return m, nil
}

// ParseMapResponse decodes the stub of an ept_map response in NDR 2.0
// (C706 14): entry_handle, num_towers, a conformant varying array of tower
// pointers whose towers follow (deferred), and the status. A stub that ends
// early gives an error wrapping ErrTruncated: the short reply of casebook
// C4.
func ParseMapResponse(stub []byte, drep DataRep, lim EPMLimits) (MapResponse, error) {
	return parseMapResponse(stub, drep, NDR20, lim)
}

// ParseMapResponse64 is ParseMapResponse for a stub in NDR64 ([MS-RPCE] 2.2.5),
// the transfer syntax 64-bit Windows hosts negotiate with each other.
func ParseMapResponse64(stub []byte, drep DataRep, lim EPMLimits) (MapResponse, error) {
	return parseMapResponse(stub, drep, NDR64, lim)
}

// parseMapResponse decodes the stub of ParseMapResponse in encoding enc.
func parseMapResponse(stub []byte, drep DataRep, enc Encoding, lim EPMLimits) (MapResponse, error) {
	const what = "epm map response"
	var m MapResponse
	n := NewNDREncoding(stub, drep, enc, lim.NDR)
	if !n.ContextHandle(&m.Handle) || !n.Uint32(&m.NumTowers) {
		return MapResponse{}, truncatedf(what, "stub of %d bytes cannot hold entry_handle and num_towers (24)", len(stub))
	}
	var max, off, act uint32
	if !n.ArrayCount(&max) || !n.ArrayCount(&off) || !n.ArrayCount(&act) {
		return MapResponse{}, truncatedf(what, "stub of %d bytes ends before the tower array", len(stub))
	}
	if int64(act) > int64(lim.maxTowers()) || uint64(act)*uint64(n.PointerSize()) > uint64(n.Len()) {
		return MapResponse{}, malformed(what, "%d towers do not fit (limit %d, %d bytes left)", act, lim.maxTowers(), n.Len())
	}
	if act != m.NumTowers {
		return MapResponse{}, malformed(what, "array holds %d towers but num_towers is %d", act, m.NumTowers)
	}
	refs := make([]bool, 0, act) // act is bounded by the bytes present
	for i := uint32(0); i < act; i++ {
		var ref uint32
		n.Pointer(&ref)
		refs = append(refs, ref != 0)
	}
	for _, nonNull := range refs {
		if !nonNull {
			continue
		}
		t, err := readTowerRef(&n, what)
		if err != nil {
			return MapResponse{}, err
		}
		m.Towers = append(m.Towers, t)
	}
	var st uint32
	if !n.Uint32(&st) {
		return MapResponse{}, truncatedf(what, "status missing after %d towers", len(m.Towers))
	}
	m.Status = Status(st)
	return m, nil
}

// ParseLookupRequest decodes the stub of an ept_lookup request in NDR 2.0
// (C706 O.2.3): inquiry_type, object, interface id, vers_option,
// entry_handle, max_ents.
func ParseLookupRequest(stub []byte, drep DataRep, lim EPMLimits) (LookupRequest, error) {
	return parseLookupRequest(stub, drep, NDR20, lim)
}

// ParseLookupRequest64 is ParseLookupRequest for a stub in NDR64 ([MS-RPCE] 2.2.5),
// the transfer syntax 64-bit Windows hosts negotiate with each other.
func ParseLookupRequest64(stub []byte, drep DataRep, lim EPMLimits) (LookupRequest, error) {
	return parseLookupRequest(stub, drep, NDR64, lim)
}

// parseLookupRequest decodes the stub of ParseLookupRequest in encoding enc.
func parseLookupRequest(stub []byte, drep DataRep, enc Encoding, lim EPMLimits) (LookupRequest, error) {
	const what = "epm lookup request"
	var m LookupRequest
	n := NewNDREncoding(stub, drep, enc, lim.NDR)
	var ref uint32
	if !n.Uint32(&m.InquiryType) || !n.Pointer(&ref) {
		return LookupRequest{}, truncated(what, 8)
	}
	if ref != 0 {
		if !n.UUID(&m.Object) {
			return LookupRequest{}, truncatedf(what, "object runs past %d bytes", len(stub))
		}
		m.HasObject = true
	}
	if !n.Pointer(&ref) {
		return LookupRequest{}, truncatedf(what, "interface pointer runs past %d bytes", len(stub))
	}
	if ref != 0 {
		if !n.UUID(&m.Interface) || !n.Uint16(&m.IfVersion) || !n.Uint16(&m.IfMinor) {
			return LookupRequest{}, truncatedf(what, "interface id runs past %d bytes", len(stub))
		}
		m.HasInterface = true
	}
	if !n.Uint32(&m.VersOption) || !n.ContextHandle(&m.Handle) || !n.Uint32(&m.MaxEntries) {
		return LookupRequest{}, truncatedf(what, "vers_option/entry_handle/max_ents run past %d bytes", len(stub))
	}
	return m, nil
}

// ParseLookupResponse decodes the stub of an ept_lookup response in
// NDR 2.0 (C706 14): entry_handle, num_ents, a conformant varying array of
// ept_entry_t (object, tower pointer, annotation string) with the towers
// deferred after the array, and the status.
func ParseLookupResponse(stub []byte, drep DataRep, lim EPMLimits) (LookupResponse, error) {
	return parseLookupResponse(stub, drep, NDR20, lim)
}

// ParseLookupResponse64 is ParseLookupResponse for a stub in NDR64 ([MS-RPCE] 2.2.5),
// the transfer syntax 64-bit Windows hosts negotiate with each other.
func ParseLookupResponse64(stub []byte, drep DataRep, lim EPMLimits) (LookupResponse, error) {
	return parseLookupResponse(stub, drep, NDR64, lim)
}

// parseLookupResponse decodes the stub of ParseLookupResponse in encoding enc.
func parseLookupResponse(stub []byte, drep DataRep, enc Encoding, lim EPMLimits) (LookupResponse, error) {
	const what = "epm lookup response"
	var m LookupResponse
	n := NewNDREncoding(stub, drep, enc, lim.NDR)
	if !n.ContextHandle(&m.Handle) || !n.Uint32(&m.NumEntries) {
		return LookupResponse{}, truncatedf(what, "stub of %d bytes cannot hold entry_handle and num_ents", len(stub))
	}
	var max, off, act uint32
	if !n.ArrayCount(&max) || !n.ArrayCount(&off) || !n.ArrayCount(&act) {
		return LookupResponse{}, truncatedf(what, "stub of %d bytes ends before the entry array", len(stub))
	}
	// an entry is at least a uuid, a pointer and the annotation's offset and
	// count: 28 bytes in NDR, 40 in NDR64.
	if int64(act) > int64(lim.maxTowers()) || uint64(act)*uint64(16+3*n.PointerSize()) > uint64(n.Len()) {
		return LookupResponse{}, malformed(what, "%d entries do not fit (limit %d, %d bytes left)", act, lim.maxTowers(), n.Len())
	}
	if act != m.NumEntries {
		return LookupResponse{}, malformed(what, "array holds %d entries but num_ents is %d", act, m.NumEntries)
	}
	m.Entries = make([]Entry, 0, act)
	refs := make([]bool, 0, act)
	for i := uint32(0); i < act; i++ {
		var e Entry
		var ref uint32
		var ann []byte
		// ept_entry_t is aligned as its widest member, the pointer.
		if !n.Align(n.PointerSize()) || !n.UUID(&e.Object) || !n.Pointer(&ref) || !n.VaryingString(1, &ann) {
			return LookupResponse{}, truncatedf(what, "entry %d of %d runs past the stub", i+1, act)
		}
		e.Annotation = string(ann)
		m.Entries = append(m.Entries, e)
		refs = append(refs, ref != 0)
	}
	for i, nonNull := range refs {
		if !nonNull {
			continue
		}
		t, err := readTowerRef(&n, what)
		if err != nil {
			return LookupResponse{}, err
		}
		m.Entries[i].Tower, m.Entries[i].HasTower = t, true
	}
	var st uint32
	if !n.Uint32(&st) {
		return LookupResponse{}, truncatedf(what, "status missing after %d entries", len(m.Entries))
	}
	m.Status = Status(st)
	return m, nil
}
