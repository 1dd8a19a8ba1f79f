package tds

import (
	"fmt"

	"github.com/nettrace/nettrace/internal/wire"
)

// MessageInfo is an ERROR or INFO token ([MS-TDS] 2.2.7.10, 2.2.7.13).
type MessageInfo struct {
	Number  int32
	State   uint8
	Class   uint8
	Message string
	Server  string
	Proc    string
	Line    int32
}

// EnvChange types ([MS-TDS] 2.2.7.9).
const (
	EnvDatabase        = 1
	EnvLanguage        = 2
	EnvCharset         = 3
	EnvPacketSize      = 4
	EnvSortLCID        = 5
	EnvSortFlags       = 6
	EnvCollation       = 7
	EnvBeginTran       = 8
	EnvCommitTran      = 9
	EnvRollbackTran    = 10
	EnvEnlistDTC       = 11
	EnvDefectTran      = 12
	EnvMirrorPartner   = 13
	EnvPromoteTran     = 15
	EnvTranManagerAddr = 16
	EnvTranEnded       = 17
	EnvResetAck        = 18
	EnvUserInstance    = 19
	EnvRouting         = 20
)

var envNames = map[uint8]string{1: "database", 2: "language", 3: "charset", 4: "packet_size",
	5: "sort_lcid", 6: "sort_flags", 7: "collation", 8: "begin_tran", 9: "commit_tran", 10: "rollback_tran",
	11: "enlist_dtc", 12: "defect_tran", 13: "mirror_partner", 15: "promote_tran", 16: "tran_manager_address",
	17: "tran_ended", 18: "reset_ack", 19: "user_instance", 20: "routing"}

// EnvChange is an ENVCHANGE token. For string types New/Old hold the text;
// for collation and transaction types they hold hex; for routing, Server
// and Port are set.
type EnvChange struct {
	Type   uint8
	New    string
	Old    string
	Server string // routing
	Port   uint16 // routing
}

// Name returns the change's name ("database", "routing", …).
func (e EnvChange) Name() string {
	if n, ok := envNames[e.Type]; ok {
		return n
	}
	return fmt.Sprintf("env(%d)", e.Type)
}

// LoginAck is a LOGINACK token ([MS-TDS] 2.2.7.14).
type LoginAck struct {
	Interface  uint8
	TDSVersion TDSVersion // big-endian on the wire here
	ProgName   string
	Major      uint8
	Minor      uint8
	Build      uint16
}

// ServerVersion returns "major.minor.build".
func (l LoginAck) ServerVersion() string { return fmt.Sprintf("%d.%d.%d", l.Major, l.Minor, l.Build) }

// maxFeatureAcks bounds FEATUREEXTACK entries.
const maxFeatureAcks = 32

// readMessageInfo reads the data of an ERROR or INFO token t ([MS-TDS]
// 2.2.7.10, 2.2.7.13): Number, State, Class, MsgText, ServerName, ProcName
// and LineNumber.
func readMessageInfo(body *wire.Reader, m *MessageInfo, t TokenType, v TDSVersion) error {
	var num uint32
	var ok bool
	if !body.ReadUint32(&num) || !body.ReadUint8(&m.State) || !body.ReadUint8(&m.Class) {
		return malformed(t.String(), "short header")
	}
	m.Number = int32(num)
	if m.Message, ok = readUSVarchar(body); !ok {
		return malformed(t.String(), "message text exceeds token")
	}
	if m.Server, ok = readBVarchar(body); !ok {
		return malformed(t.String(), "server name exceeds token")
	}
	if m.Proc, ok = readBVarchar(body); !ok {
		return malformed(t.String(), "procedure name exceeds token")
	}
	if m.Line, ok = readLineNumber(body, v); !ok {
		return malformed(t.String(), "line number missing")
	}
	return nil
}

// readLineNumber reads the LineNumber of ERROR and INFO: a LONG since TDS
// 7.2, a USHORT before. Some 7.2+ servers send a USHORT; it is accepted.
func readLineNumber(r *wire.Reader, v TDSVersion) (int32, bool) {
	var line uint32
	if v.atLeast72() && r.ReadUint32(&line) {
		return int32(line), true
	}
	var l16 uint16
	if !r.ReadUint16(&l16) {
		return 0, false
	}
	return int32(l16), true
}

// readLoginAck reads the data of LOGINACK ([MS-TDS] 2.2.7.14): Interface,
// TDSVersion (big-endian), ProgName and ProgVersion (major, minor and a
// big-endian build number).
func readLoginAck(body *wire.Reader, la *LoginAck) error {
	var ver uint32
	var ok bool
	if !body.ReadUint8(&la.Interface) || !body.ReadUint32BE(&ver) {
		return malformed(TokenLoginAck.String(), "short")
	}
	la.TDSVersion = TDSVersion(ver)
	if la.ProgName, ok = readBVarchar(body); !ok {
		return malformed(TokenLoginAck.String(), "program name exceeds token")
	}
	if !body.ReadUint8(&la.Major) || !body.ReadUint8(&la.Minor) || !body.ReadUint16BE(&la.Build) {
		return malformed(TokenLoginAck.String(), "short version")
	}
	return nil
}

// readEnvChange reads the data of ENVCHANGE ([MS-TDS] 2.2.7.9): the type,
// then the new and old values in the layout the type selects. Types without
// a known layout keep only their type.
func readEnvChange(body *wire.Reader, e *EnvChange) error {
	if !body.ReadUint8(&e.Type) {
		return malformed(TokenEnvChange.String(), "empty")
	}
	switch e.Type {
	case EnvDatabase, EnvLanguage, EnvCharset, EnvPacketSize, EnvSortLCID, EnvSortFlags, EnvMirrorPartner, EnvUserInstance:
		return readEnvText(body, e)
	case EnvCollation, EnvBeginTran, EnvCommitTran, EnvRollbackTran, EnvEnlistDTC, EnvDefectTran, EnvTranEnded, EnvResetAck, EnvTranManagerAddr:
		readEnvBinary(body, e)
	case EnvRouting:
		return readEnvRouting(body, e)
	}
	return nil
}

// readEnvText reads the B_VARCHAR new and old values of a text ENVCHANGE
// (database, language, packet size …).
func readEnvText(body *wire.Reader, e *EnvChange) error {
	var ok1, ok2 bool
	e.New, ok1 = readBVarchar(body)
	e.Old, ok2 = readBVarchar(body)
	if !ok1 || !ok2 {
		return malformed(TokenEnvChange.String(), fmt.Sprintf("%s values exceed token", e.Name()))
	}
	return nil
}

// readEnvBinary reads the B_VARBYTE new and old values of a collation or
// transaction ENVCHANGE as hex. A value that is missing is left empty.
func readEnvBinary(body *wire.Reader, e *EnvChange) {
	var n uint8
	var v []byte
	if body.ReadUint8(&n) && body.ReadBytes(&v, int(n)) {
		e.New = fmt.Sprintf("%x", v)
	}
	if body.ReadUint8(&n) && body.ReadBytes(&v, int(n)) {
		e.Old = fmt.Sprintf("%x", v)
	}
}

// readEnvRouting reads the RoutingData of a routing ENVCHANGE: its length,
// the protocol, the port and the server (US_VARCHAR).
func readEnvRouting(body *wire.Reader, e *EnvChange) error {
	var n uint16
	var rd wire.Reader
	var proto uint8
	var ok bool
	if !body.ReadUint16(&n) || !body.ReadReader(&rd, int(n)) || !rd.ReadUint8(&proto) || !rd.ReadUint16(&e.Port) {
		return malformed(TokenEnvChange.String(), "routing data exceeds token")
	}
	if e.Server, ok = readUSVarchar(&rd); !ok {
		return malformed(TokenEnvChange.String(), "routing server exceeds routing data")
	}
	e.New = fmt.Sprintf("%s:%d", e.Server, e.Port)
	return nil
}

// readFeatureExtAck reads FEATUREEXTACK ([MS-TDS] 2.2.7.11): FeatureId,
// FeatureAckDataLen and FeatureAckData per feature, up to the terminator.
// The data is skipped; at most maxFeatureAcks features are accepted.
func readFeatureExtAck(r *wire.Reader, out *[]Feature) error {
	for i := 0; ; i++ {
		var id uint8
		if !r.ReadUint8(&id) {
			return errShortToken
		}
		if FeatureID(id) == FeatureTerminator {
			return nil
		}
		var n uint32
		if !r.ReadUint32(&n) {
			return errShortToken
		}
		if i >= maxFeatureAcks || n > maxTokenData {
			return malformed("featureextack", fmt.Sprintf("feature %s length %d", FeatureID(id), n))
		}
		if !r.Skip(int(n)) {
			return errShortToken
		}
		*out = append(*out, Feature{ID: FeatureID(id), Length: int(n)})
	}
}
