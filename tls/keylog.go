package tls

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Key log labels (NSS key log format; RFC 9850 draft "SSLKEYLOGFILE").
const (
	labelClientRandom       = "CLIENT_RANDOM"                   // TLS 1.2 master secret
	labelClientEarly        = "CLIENT_EARLY_TRAFFIC_SECRET"     // TLS 1.3 0-RTT
	labelClientHandshake    = "CLIENT_HANDSHAKE_TRAFFIC_SECRET" // TLS 1.3
	labelServerHandshake    = "SERVER_HANDSHAKE_TRAFFIC_SECRET" // TLS 1.3
	labelClientTraffic0     = "CLIENT_TRAFFIC_SECRET_0"         // TLS 1.3
	labelServerTraffic0     = "SERVER_TRAFFIC_SECRET_0"         // TLS 1.3
	labelExporter           = "EXPORTER_SECRET"
	maxKeyLogLine           = 1024 // bytes in one key log line
	maxSecretLen            = 64   // bytes of one secret (SHA-512 size)
	defaultMaxKeyLogEntries = 1 << 20
)

// secretID indexes the secrets kept per client random.
type secretID uint8

const (
	secretMaster secretID = iota
	secretClientEarly
	secretClientHandshake
	secretServerHandshake
	secretClientTraffic0
	secretServerTraffic0
	numSecrets
)

var secretLabels = [numSecrets]string{
	labelClientRandom, labelClientEarly, labelClientHandshake, labelServerHandshake,
	labelClientTraffic0, labelServerTraffic0,
}

// keyEntry holds the secrets logged for one client random.
type keyEntry struct {
	secrets [numSecrets][]byte
}

// KeyLog holds TLS secrets keyed by client random, read from NSS key log
// files (CLIENT_RANDOM, CLIENT_/SERVER_HANDSHAKE_TRAFFIC_SECRET,
// CLIENT_/SERVER_TRAFFIC_SECRET_0, CLIENT_EARLY_TRAFFIC_SECRET; comments,
// blank lines and CRLF accepted, unknown labels skipped), whatever carried
// them (layers reads pcapng Decryption Secrets Blocks into the same text).
// Several sources may be merged; a later line
// for the same client random and label replaces the earlier one. Later
// TLS 1.3 traffic secret generations (after KeyUpdate) are derived by Conn.
//
// A KeyLog is safe for concurrent use: Add may run while connections look
// up keys. It never exposes secrets in errors.
type KeyLog struct {
	mu         sync.RWMutex
	entries    map[[32]byte]*keyEntry
	maxEntries int
	lines      int
}

// NewKeyLog returns an empty KeyLog holding at most 1<<20 client randoms.
func NewKeyLog() *KeyLog {
	return &KeyLog{entries: map[[32]byte]*keyEntry{}, maxEntries: defaultMaxKeyLogEntries}
}

// Len returns the number of client randoms with at least one secret.
func (k *KeyLog) Len() int {
	if k == nil {
		return 0
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.entries)
}

// ErrKeyLogLine is wrapped by errors about key log lines.
var ErrKeyLogLine = errors.New("bad key log line")

// SkippedLinesError says that lines of a key log were skipped: too long,
// bad hex, wrong lengths, a half-written last line. Every good line was
// added; tshark skips such lines too. It never holds a line's content.
type SkippedLinesError struct {
	Lines     int    // lines skipped
	FirstLine int    // number (1-based) of the first skipped line
	Reason    string // why that line was skipped
}

// Error says how many lines were skipped and why the first was.
func (e *SkippedLinesError) Error() string {
	s := "s"
	if e.Lines == 1 {
		s = ""
	}
	return fmt.Sprintf("tls: key log: %d line%s skipped (line %d: %s)", e.Lines, s, e.FirstLine, e.Reason)
}

// Unwrap returns ErrKeyLogLine.
func (e *SkippedLinesError) Unwrap() error { return ErrKeyLogLine }

// Add parses key log text (one or more lines) and adds its secrets. Lines
// longer than 1024 bytes, or with bad hex or lengths, are skipped; after
// adding every good line Add returns a *SkippedLinesError counting them
// (naming the first bad line's number, never its content). Text without
// any newline is one line.
func (k *KeyLog) Add(text []byte) error {
	return k.AddFrom(bytes.NewReader(text))
}

// AddFrom reads key log text from r, line by line (a line is at most 1024
// bytes: the buffer never grows to fit a longer one), and adds its secrets
// as Add does. It returns the first read error, else a *SkippedLinesError
// when lines were skipped.
func (k *KeyLog) AddFrom(r io.Reader) error {
	br := bufio.NewReaderSize(r, 4096)
	var skipped *SkippedLinesError
	skip := func(line int, reason string) {
		if skipped == nil {
			skipped = &SkippedLinesError{FirstLine: line, Reason: reason}
		}
		skipped.Lines++
	}
	line := 0
	for {
		b, err := readLine(br)
		if len(b) > 0 || err == nil || errors.Is(err, errLineTooLong) {
			line++
		}
		if errors.Is(err, errLineTooLong) {
			skip(line, fmt.Sprintf("longer than %d bytes", maxKeyLogLine))
			continue
		}
		if len(b) > 0 {
			if e := k.addLine(b); e != nil {
				skip(line, e.Error())
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return err
			}
			if skipped != nil {
				return skipped
			}
			return nil
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line without its CR/LF. A line over
// maxKeyLogLine is consumed and reported as errLineTooLong; the buffer
// never grows past the limit.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	tooLong := false
	for {
		frag, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(frag) > maxKeyLogLine+2 {
				tooLong = true
				buf = nil
			} else {
				buf = append(buf, frag...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if tooLong {
			if err == nil {
				err = errLineTooLong
			} else if errors.Is(err, io.EOF) {
				err = errLineTooLong
			}
			return nil, err
		}
		buf = bytes.TrimRight(buf, "\r\n")
		return buf, err
	}
}

func (k *KeyLog) addLine(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] == '#' {
		return nil
	}
	f := bytes.Fields(b)
	if len(f) != 3 {
		return fmt.Errorf("%d fields, want 3", len(f))
	}
	id := secretID(numSecrets)
	for i, l := range secretLabels {
		if string(f[0]) == l {
			id = secretID(i)
		}
	}
	if id == numSecrets {
		if !isLabel(f[0]) {
			return errors.New("not a key log line")
		}
		return nil // a label this package does not use (EXPORTER_SECRET, RSA, …): skipped
	}
	var cr [32]byte
	if len(f[1]) != 64 {
		return fmt.Errorf("client random has %d hex digits, want 64", len(f[1]))
	}
	if _, err := hex.Decode(cr[:], f[1]); err != nil {
		return errors.New("client random is not hex")
	}
	if len(f[2])%2 != 0 || len(f[2])/2 > maxSecretLen || len(f[2]) < 32 {
		return fmt.Errorf("%s secret has %d hex digits", f[0], len(f[2]))
	}
	secret := make([]byte, len(f[2])/2)
	if _, err := hex.Decode(secret, f[2]); err != nil {
		return fmt.Errorf("%s secret is not hex", f[0])
	}
	if id == secretMaster && len(secret) != 48 {
		return fmt.Errorf("master secret has %d bytes, want 48", len(secret))
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.entries == nil {
		k.entries = map[[32]byte]*keyEntry{}
	}
	if k.maxEntries == 0 {
		k.maxEntries = defaultMaxKeyLogEntries
	}
	e := k.entries[cr]
	if e == nil {
		if len(k.entries) >= k.maxEntries {
			return fmt.Errorf("key log holds %d client randoms already", k.maxEntries)
		}
		e = &keyEntry{}
		k.entries[cr] = e
	}
	e.secrets[id] = secret
	k.lines++
	return nil
}

// lookup returns the secret logged for clientRandom under id, or nil.
func (k *KeyLog) lookup(clientRandom []byte, id secretID) []byte {
	if k == nil || len(clientRandom) != 32 {
		return nil
	}
	var cr [32]byte
	copy(cr[:], clientRandom)
	k.mu.RLock()
	defer k.mu.RUnlock()
	if e := k.entries[cr]; e != nil {
		return e.secrets[id]
	}
	return nil
}

// Has reports whether any secret is logged for clientRandom.
func (k *KeyLog) Has(clientRandom []byte) bool {
	for id := secretID(0); id < numSecrets; id++ {
		if k.lookup(clientRandom, id) != nil {
			return true
		}
	}
	return false
}

// LoadKeyLog reads NSS key log files and merges them into one KeyLog. It
// returns the KeyLog with every good line and the first error (file not
// found, bad line: never the secret itself). A capture holding its key log
// in pcapng Decryption Secrets Blocks is read with layers.ReadSecrets and
// added with Add.
func LoadKeyLog(paths ...string) (*KeyLog, error) {
	k := NewKeyLog()
	var firstErr error
	for _, p := range paths {
		if err := k.addFile(p); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return k, firstErr
}

func (k *KeyLog) addFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("tls: key log: %w", err)
	}
	defer f.Close()
	if err := k.AddFrom(f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// isLabel reports whether b can be an NSS key log label: upper-case
// letters, digits and underscores (labels this package does not use are
// skipped silently; other first words make the line garbage).
func isLabel(b []byte) bool {
	for _, c := range b {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return len(b) > 0
}
