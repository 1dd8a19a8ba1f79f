package smb

import (
	"fmt"
	"time"

	"github.com/nettrace/nettrace/health"
)

// Message is one decoded SMB message, as Conn delivers it when its
// Reporter wants messages (health.Message.Value): an SMB2/SMB3 command of
// a compound, one block of an SMB1 AndX chain, an SMB3 message that could
// not be opened (Wrapper), or a NetBIOS session packet (NBSS). The header
// fields are flat; the command-specific ones are in the part the command
// has (Negotiate, Session, TreeConnect, Create, IO, Ioctl, Query,
// OplockBreak, Trans, Wrapper, NBSS), nil for the others. A part is also
// nil when the body did not decode.
//
// Fields gives the JSON form ("fields" of a dissect record); it is the
// only place that form is defined. A Message owns its data: nothing in it
// aliases the capture's bytes. It holds no secret: the NTLM part is names
// and flags only.
type Message struct {
	health.Origin
	// EndFrame is the frame that completes the message when it spans
	// several frames (Frame holds its first byte), else 0.
	EndFrame int64
	// Version is 2 for SMB2/SMB3 (proto "smb2"), 1 for SMB1 ("smb"), 0
	// for a NetBIOS session packet ("nbss").
	Version int
	// Command names the command ("CREATE", "NT_CREATE_ANDX"); "ENCRYPTED"
	// or "COMPRESSED" for a Wrapper. Command2 and Command1 are its code.
	Command  string
	Command2 Command2
	Command1 Command1
	// Response is set for a response (the SERVER_TO_REDIR or REPLY flag).
	Response bool
	// MessageID is the SMB2 MessageId or the SMB1 MID.
	MessageID uint64

	// SMB2 header ([MS-SMB2] 2.2.1). SessionID is also the session of an
	// encrypted Wrapper. Async messages carry AsyncID instead of TreeID.
	SessionID    uint64
	Credits      uint16
	CreditCharge uint16
	Signed       bool
	Async        bool
	AsyncID      uint64
	TreeID       uint32
	// User is the session's DOMAIN\user when its authentication was seen.
	User string
	// Encrypted and Compressed say that the message arrived inside an SMB3
	// transform or compression header and was opened.
	Encrypted, Compressed bool

	// SMB1 header ([MS-CIFS] 2.2.3.1) and the block's place in an AndX chain.
	TID, UID  uint16
	PID       uint32
	AndXIndex int
	// FID is the SMB1 file id of a request on a file or of an
	// NT_CREATE_ANDX response (HasFID).
	FID    uint16
	HasFID bool

	// Status of a response: the code and its name (for SMB1 without NT
	// status, the DOS error's name).
	Status     Status
	StatusName string
	// RequestFrame is the frame of the request a response answers (0 when
	// the request was not seen or for an interim response), Latency the
	// time from the request to the response.
	RequestFrame int64
	Latency      time.Duration
	// Tree is the share (\\server\share) and FileName the file (from the
	// share's root) the message is about, when known; Directory replaces
	// FileName for a QUERY_DIRECTORY (the directory listed).
	Tree, FileName, Directory string

	Negotiate   *Negotiate
	Session     *SessionSetup
	TreeConnect *TreeConnect
	Create      *Create
	IO          *IO
	Ioctl       *Ioctl
	Query       *Query
	OplockBreak *OplockBreak
	Trans       *Trans
	// EchoCount is the count of an SMB1 ECHO request.
	EchoCount uint16
	Wrapper   *Wrapper
	NBSS      *NBSSPacket
}

// Negotiate is the part of a NEGOTIATE ([MS-SMB2] 2.2.3, 2.2.4; [MS-CIFS]
// 2.2.4.52).
type Negotiate struct {
	// Dialects are the dialects a request offers: "0x0311" for SMB2, the
	// dialect strings for SMB1.
	Dialects []string
	// Dialect is the dialect a response chose ("0x0311", or the SMB1
	// dialect string when the request was seen); DialectIndex is its
	// index for SMB1 (-1 when none was chosen).
	Dialect      string
	DialectIndex int
	// Capabilities of an SMB2 response.
	Capabilities uint32
	// Contexts names the SMB 3.1.1 negotiate contexts.
	Contexts []string
}

// SessionSetup is the part of a SESSION_SETUP: the security token's
// mechanism and NTLMSSP message, or the SMB1 account without extended
// security.
type SessionSetup struct {
	// Mech is the SPNEGO mechanism of the security blob ("NTLMSSP",
	// "Kerberos"), "" when not recognised.
	Mech string
	// NTLM is the NTLMSSP message of the blob, nil when it has none.
	NTLM *NTLM
	// Account and Domain: an SMB1 SESSION_SETUP_ANDX request without
	// extended security.
	Account, Domain string
	// NativeOS of an SMB1 request.
	NativeOS string
}

// TreeConnect is the part of a TREE_CONNECT (the path is in
// Message.Tree).
type TreeConnect struct {
	// ShareType of an SMB2 response: 1 disk, 2 pipe, 3 print.
	ShareType uint8
	// Service of SMB1 ("A:", "IPC", "?????").
	Service string
}

// Create is the part of an SMB2 CREATE or SMB1 NT_CREATE_ANDX (the name
// is in Message.FileName, the SMB1 fid in Message.FID).
type Create struct {
	// Disposition and Access of a request.
	Disposition uint32
	Access      uint32
	// Contexts names the create contexts of an SMB2 request ("MxAc").
	Contexts []string
	// Action of a response (CreateAction), and the SMB2 file id it opened.
	Action uint32
	FileID FileID
}

// IO is the part of a READ or WRITE: the request's offset and length, the
// bytes a response read or wrote.
type IO struct {
	Offset uint64
	Length uint32
}

// Ioctl is the part of an IOCTL: its control code (FSCTL_PIPE_TRANSCEIVE
// is 0x0011c017).
type Ioctl struct {
	CtlCode uint32
}

// Query is the part of a QUERY_DIRECTORY, QUERY_INFO or SET_INFO.
type Query struct {
	// InfoType and InfoClass of a request (QUERY_DIRECTORY: InfoClass is
	// the FileInformationClass).
	InfoType, InfoClass uint8
	// Pattern is the search pattern of a QUERY_DIRECTORY.
	Pattern string
	// Names are the first names a QUERY_DIRECTORY response lists (at most
	// 256), Entries how many it lists in all.
	Names   []string
	Entries int
}

// OplockBreak is the part of an OPLOCK_BREAK response.
type OplockBreak struct {
	// Lease is set for a lease break, clear for an oplock break.
	Lease bool
}

// Trans is the part of an SMB1 TRANS, TRANS2 or NT_TRANSACT.
type Trans struct {
	// Name is the TRANS request's name (\PIPE\LANMAN).
	Name string
	// SubCommand is Setup[0] (HasSub): the TRANS2 subcommand, the TRANS
	// pipe function or the NT_TRANSACT function.
	SubCommand uint16
	HasSub     bool
	// RAP names the RAP opcode of a \PIPE\LANMAN request, "" for none.
	RAP string
}

// Wrapper is an SMB3 message left closed: encrypted (no key) or
// compressed with an algorithm that was not decoded.
type Wrapper struct {
	OriginalSize uint32
	// Algorithm of a compressed message ([MS-SMB2] 2.2.42).
	Algorithm uint16
}

// NBSSPacket is a NetBIOS session packet other than a session message
// (RFC 1002, 4.3): a session request and its answers, on port 139.
type NBSSPacket struct {
	Type NBSSType
	// Called and Calling are the names of a session request.
	Called, Calling string
	// Error names the reason of a negative session response.
	Error string
}

// Proto returns the proto of the message's record: "smb2", "smb" or
// "nbss".
func (m *Message) Proto() string {
	switch m.Version {
	case 2:
		return "smb2"
	case 1:
		return "smb"
	}
	return "nbss"
}

// Fields returns the message's JSON form, the "fields" of its dissect
// record (health.Decoded).
func (m *Message) Fields() map[string]any {
	var f map[string]any
	switch {
	case m.NBSS != nil:
		f = m.nbssFields()
	case m.Wrapper != nil:
		f = m.wrapperFields()
	case m.Version == 1:
		f = m.header1Fields()
	default:
		f = m.header2Fields()
	}
	if m.Version != 0 && m.Wrapper == nil {
		m.commonFields(f)
		m.commandFields(f)
	}
	if m.EndFrame != 0 {
		f["end_frame"] = m.EndFrame
	}
	return f
}

func (m *Message) nbssFields() map[string]any {
	f := map[string]any{"type": m.NBSS.Type.String()}
	switch m.NBSS.Type {
	case NBSSRequest:
		f["called"], f["calling"] = m.NBSS.Called, m.NBSS.Calling
	case NBSSNegativeResponse:
		f["error"] = m.NBSS.Error
	}
	return f
}

func (m *Message) wrapperFields() map[string]any {
	f := map[string]any{"cmd": m.Command, "is_response": m.Response, "original_size": m.Wrapper.OriginalSize}
	if m.Command == "ENCRYPTED" {
		f["session_id"] = fmt.Sprintf("0x%016x", m.SessionID)
	} else {
		f["algorithm"] = m.Wrapper.Algorithm
	}
	return f
}

func (m *Message) header2Fields() map[string]any {
	f := map[string]any{"cmd": m.Command, "is_response": m.Response, "msg_id": m.MessageID,
		"session_id": fmt.Sprintf("0x%016x", m.SessionID), "credits": m.Credits, "signed": m.Signed}
	if m.Async {
		f["async_id"] = m.AsyncID
	} else {
		f["tree_id"] = m.TreeID
	}
	if m.CreditCharge > 1 {
		f["credit_charge"] = m.CreditCharge
	}
	if m.User != "" {
		f["user"] = m.User
	}
	if m.Encrypted {
		f["encrypted"] = true
	}
	if m.Compressed {
		f["compressed"] = true
	}
	return f
}

func (m *Message) header1Fields() map[string]any {
	f := map[string]any{"cmd": m.Command, "is_response": m.Response, "msg_id": m.MessageID,
		"tid": m.TID, "uid": m.UID, "pid": m.PID}
	if m.AndXIndex > 0 {
		f["andx_index"] = m.AndXIndex
	}
	if m.HasFID {
		f["fid"] = m.FID
	}
	return f
}

// commonFields adds the status, the request answered and the tree and
// file names.
func (m *Message) commonFields(f map[string]any) {
	if m.Response {
		f["status"] = m.StatusName
		f["status_code"] = fmt.Sprintf("0x%08x", uint32(m.Status))
	}
	if m.RequestFrame != 0 {
		f["request_frame"] = m.RequestFrame
		f["latency_ms"] = msf(m.Latency)
	}
	if m.Tree != "" || m.ownTree() {
		f["tree"] = m.Tree
	}
	if m.FileName != "" || m.ownFileName() {
		f["filename"] = m.FileName
	}
	if m.Directory != "" {
		f["directory"] = m.Directory
	}
	if m.IO != nil {
		if !m.Response {
			f["offset"] = m.IO.Offset
		}
		f["length"] = m.IO.Length
	}
	if m.Ioctl != nil {
		f["ctl_code"] = fmt.Sprintf("0x%08x", m.Ioctl.CtlCode)
	}
	if m.Version == 1 && m.Command1 == SMB1Echo && !m.Response {
		f["echo_count"] = m.EchoCount
	}
}

// commandFields adds the fields of the command-specific parts.
func (m *Message) commandFields(f map[string]any) {
	if m.Negotiate != nil {
		m.negotiateFields(f)
	}
	if m.Session != nil {
		m.Session.fields(f)
	}
	if t := m.TreeConnect; t != nil {
		switch {
		case m.Version == 1 && !m.Response:
			f["service"] = t.Service
		case m.Version == 1:
			if t.Service != "" {
				f["service"] = t.Service
			}
		case m.Response:
			f["share_type"] = t.ShareType
		}
	}
	if m.Create != nil {
		m.createFields(f)
	}
	if q := m.Query; q != nil {
		m.queryFields(f)
	}
	if m.OplockBreak != nil {
		f["lease"] = m.OplockBreak.Lease
	}
	if m.Trans != nil {
		m.transFields(f)
	}
}

func (m *Message) negotiateFields(f map[string]any) {
	n := m.Negotiate
	if !m.Response {
		f["dialect"] = n.Dialects
	} else if n.Dialect != "" {
		f["dialect"] = n.Dialect
	}
	if m.Version == 2 && m.Response {
		f["capabilities"] = fmt.Sprintf("0x%08x", n.Capabilities)
	}
	if m.Version == 1 && m.Response && n.DialectIndex >= 0 {
		f["dialect_index"] = n.DialectIndex
	}
	if len(n.Contexts) > 0 {
		f["negotiate_contexts"] = n.Contexts
	}
}

func (s *SessionSetup) fields(f map[string]any) {
	if s.Mech != "" {
		f["mech"] = s.Mech
	}
	if s.NTLM != nil {
		ntlmFields(f, s.NTLM)
	}
	if s.Account != "" || s.Domain != "" {
		f["ntlm_user"], f["ntlm_domain"] = s.Account, s.Domain
	}
	if s.NativeOS != "" {
		f["native_os"] = s.NativeOS
	}
}

// ntlmFields adds the names and flags of an NTLMSSP message.
func ntlmFields(f map[string]any, m *NTLM) {
	f["ntlm_type"] = m.Type.String()
	f["ntlm_flags"] = fmt.Sprintf("0x%08x", m.Flags)
	if m.HasVersion {
		f["ntlm_version"] = m.Version.String()
	}
	switch m.Type {
	case NTLMAuthenticate:
		f["ntlm_user"], f["ntlm_domain"], f["ntlm_workstation"] = m.User, m.Domain, m.Workstation
		if m.Anonymous() {
			f["ntlm_anonymous"] = true
		}
	case NTLMChallenge:
		f["ntlm_target"] = m.TargetName
		for _, kv := range [...]struct{ key, v string }{
			{"ntlm_server", m.NbComputerName},
			{"ntlm_server_domain", m.NbDomainName},
			{"ntlm_dns_computer", m.DNSComputer},
			{"ntlm_dns_domain", m.DNSDomain},
		} {
			if kv.v != "" {
				f[kv.key] = kv.v
			}
		}
	case NTLMNegotiate:
		if m.Domain != "" {
			f["ntlm_domain"] = m.Domain
		}
		if m.Workstation != "" {
			f["ntlm_workstation"] = m.Workstation
		}
	}
}

func (m *Message) createFields(f map[string]any) {
	c := m.Create
	switch {
	case !m.Response:
		f["disposition"] = c.Disposition
		f["access"] = fmt.Sprintf("0x%08x", c.Access)
		if len(c.Contexts) > 0 {
			f["create_contexts"] = c.Contexts
		}
	case m.Version == 2:
		f["create_action"] = c.Action
		f["file_id"] = c.FileID.String()
	default:
		f["create_action"] = c.Action
	}
}

func (m *Message) queryFields(f map[string]any) {
	q := m.Query
	if m.Command2 == SMB2QueryDirectory {
		f["pattern"] = q.Pattern
		if !m.Response {
			f["info_class"] = q.InfoClass
		} else if q.Entries > 0 {
			f["filenames"] = q.Names
			f["entries"] = q.Entries
		}
		return
	}
	if !m.Response {
		f["info_type"], f["info_class"] = q.InfoType, q.InfoClass
	}
}

func (m *Message) transFields(f map[string]any) {
	t := m.Trans
	switch m.Command1 {
	case SMB1Trans:
		f["trans_name"] = t.Name
		if t.HasSub {
			f["subcommand"] = t.SubCommand
		}
		if t.RAP != "" {
			f["rap"] = t.RAP
		}
	case SMB1Trans2:
		if t.HasSub {
			f["subcommand"] = Trans2Name(t.SubCommand)
		}
	default:
		if t.HasSub {
			f["subcommand"] = t.SubCommand
		}
	}
}

// ownTree reports whether Tree is the command's own (a TREE_CONNECT
// request's path): it is then written even when empty, and not replaced
// by the tracked one.
func (m *Message) ownTree() bool { return m.TreeConnect != nil && !m.Response }

// ownFileName reports whether FileName is the command's own (a CREATE
// request's name, the name a QUERY_INFO response gives): it is then
// written even when empty, and not replaced by the tracked one.
func (m *Message) ownFileName() bool {
	return m.Create != nil && !m.Response || m.Query != nil && m.Response && m.Command2 == SMB2QueryInfo && m.Version == 2
}
