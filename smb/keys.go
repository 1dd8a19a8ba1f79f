package smb

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
)

// Keys is a table of SMB 3.x session keys, by Session ID, used to decrypt
// encrypted sessions (Config.Keys). For each session it holds the session
// key (from which the encryption keys are derived, with the capture's
// preauthentication hash for SMB 3.1.1), the derived server-to-client and
// client-to-server keys, or both; derived keys, when given, are used as
// they are.
//
// The text form is Wireshark's smb2_seskey_list table written one session
// per line, fields separated by spaces or tabs:
//
//	# session-id        session-key                       [s2c-key                           [c2s-key]]
//	0000040000000005    d7b9a3...(16 or 32 bytes in hex)  -                                  -
//
// The session ID is the number tshark shows as smb2.sesid, as 16 hex digits
// (0x0000040000000005 is written 0000040000000005; a leading 0x is
// accepted). Note that Wireshark's own table (-o uat:smb2_seskey_list:...)
// takes the ID's 8 bytes in wire order instead: 0500000000040000. Keys are
// hex, 16 or 32 bytes; "-" stands for a key that is not known. "#" starts a
// comment, and blank lines are skipped.
//
// A Keys is safe for concurrent use. Its errors name line numbers, never
// the keys.
type Keys struct {
	mu sync.RWMutex
	m  map[uint64]SessionKeys
}

// SessionKeys are the keys of one session. A nil field is not known.
type SessionKeys struct {
	SessionKey     []byte // the session's cryptographic key (16 or 32 bytes)
	ServerToClient []byte // the key that encrypts what the server sends
	ClientToServer []byte // the key that encrypts what the client sends
}

// maxKeysLine is the longest key-file line accepted.
const maxKeysLine = 1024

// maxKeys caps the sessions a Keys holds.
const maxKeys = 1 << 20

// ErrKeysLine is wrapped by errors about one line of a key file.
var ErrKeysLine = errors.New("bad SMB key line")

// NewKeys returns an empty table.
func NewKeys() *Keys { return &Keys{} }

// Len returns the number of sessions with at least one key.
func (k *Keys) Len() int {
	if k == nil {
		return 0
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.m)
}

// Add sets the keys of session id (a later Add replaces an earlier one).
// The slices are copied. Keys must be 16 or 32 bytes, or nil.
func (k *Keys) Add(id uint64, s SessionKeys) error {
	for _, key := range [][]byte{s.SessionKey, s.ServerToClient, s.ClientToServer} {
		if key != nil && len(key) != 16 && len(key) != 32 {
			return fmt.Errorf("smb: key of %d bytes for session 0x%016x, want 16 or 32", len(key), id)
		}
	}
	if s.SessionKey == nil && s.ServerToClient == nil && s.ClientToServer == nil {
		return nil
	}
	s = SessionKeys{SessionKey: bytes.Clone(s.SessionKey), ServerToClient: bytes.Clone(s.ServerToClient),
		ClientToServer: bytes.Clone(s.ClientToServer)}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[uint64]SessionKeys{}
	}
	if _, ok := k.m[id]; !ok && len(k.m) >= maxKeys {
		return fmt.Errorf("smb: more than %d sessions in the key table", maxKeys)
	}
	k.m[id] = s
	return nil
}

// Lookup returns the keys of session id (copies).
func (k *Keys) Lookup(id uint64) (SessionKeys, bool) {
	if k == nil {
		return SessionKeys{}, false
	}
	k.mu.RLock()
	s, ok := k.m[id]
	k.mu.RUnlock()
	if !ok {
		return SessionKeys{}, false
	}
	return SessionKeys{SessionKey: bytes.Clone(s.SessionKey), ServerToClient: bytes.Clone(s.ServerToClient),
		ClientToServer: bytes.Clone(s.ClientToServer)}, true
}

// Load adds the sessions of the key file at path (see Keys for the format).
func (k *Keys) Load(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("smb: key file: %w", err)
	}
	defer f.Close()
	if err := k.Read(f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Parse adds the sessions of key-file text (see Keys for the format).
func (k *Keys) Parse(text []byte) error { return k.Read(bytes.NewReader(text)) }

// Read adds the sessions of key-file text read from r, line by line (at
// most 1024 bytes a line). Every good line is added; it returns the first
// read error, else an error naming the first bad line (wrapping
// ErrKeysLine).
func (k *Keys) Read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxKeysLine)
	var first error
	n := 0
	for sc.Scan() {
		n++
		if err := k.addLine(sc.Bytes()); err != nil && first == nil {
			first = fmt.Errorf("smb: key file line %d: %s: %w", n, err.Error(), ErrKeysLine)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("smb: key file line %d: longer than %d bytes: %w", n+1, maxKeysLine, ErrKeysLine)
		}
		return fmt.Errorf("smb: key file: %w", err)
	}
	return first
}

// addLine parses one line; errors say what is wrong without the content.
func (k *Keys) addLine(line []byte) error {
	if i := bytes.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	f := bytes.Fields(line)
	if len(f) == 0 {
		return nil
	}
	if len(f) < 2 || len(f) > 4 {
		return fmt.Errorf("%d fields, want 2 to 4 (session id, session key, [s2c key, [c2s key]])", len(f))
	}
	id := f[0]
	if len(id) > 2 && id[0] == '0' && (id[1] == 'x' || id[1] == 'X') {
		id = id[2:]
	}
	if len(id) != 16 {
		return fmt.Errorf("session id has %d hex digits, want 16", len(id))
	}
	sid, err := strconv.ParseUint(string(id), 16, 64)
	if err != nil {
		return errors.New("session id is not hex")
	}
	var keys [3][]byte
	names := [3]string{"session key", "server-to-client key", "client-to-server key"}
	for i, v := range f[1:] {
		if string(v) == "-" {
			continue
		}
		if len(v) != 32 && len(v) != 64 {
			return fmt.Errorf("%s has %d hex digits, want 32 or 64", names[i], len(v))
		}
		b := make([]byte, len(v)/2)
		if _, err := hex.Decode(b, v); err != nil {
			return fmt.Errorf("%s is not hex", names[i])
		}
		keys[i] = b
	}
	if keys[0] == nil && keys[1] == nil && keys[2] == nil {
		return errors.New("no key")
	}
	return k.Add(sid, SessionKeys{SessionKey: keys[0], ServerToClient: keys[1], ClientToServer: keys[2]})
}
