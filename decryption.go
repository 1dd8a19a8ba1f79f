package nettrace

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// Decryption says what TLS decryption did in one capture
// (Report.Decryption).
type Decryption struct {
	// KeyLog is set when keys were available: Options.KeyLogFiles or
	// KeyLog, or Decryption Secrets Blocks in the capture.
	KeyLog bool
	// TLS counts the connections a TLS decoder handled (TLS inside TDS
	// included).
	TLS int
	// Decrypted counts the connections whose application data was
	// decrypted.
	Decrypted int
	// NoKey counts the connections whose keys the key log lacked, or whose
	// ClientHello the capture lacked (tls.no_key).
	NoKey int
	// Unsupported counts, by cipher suite name, the connections whose keys
	// were logged but whose suite or version is not decrypted
	// (tls.decrypt_failed with reason "unsupported cipher suite").
	Unsupported map[string]int
	// Failed counts the connections where a record did not decrypt with
	// the logged key (the other tls.decrypt_failed).
	Failed int
}

// reasonUnsupported is the tls.decrypt_failed reason of a suite not
// decrypted.
const reasonUnsupported = "unsupported cipher suite"

// decryptionTally counts what decryption did. The TLS decoders count on
// the atomics (they run on several workers in a parallel run); the
// collector counts the events, in single-worker order.
type decryptionTally struct {
	tls, decrypted atomic.Int64
	unsupported    map[string]int
	unsupportedN   int
}

// event counts an unsupported suite from its tls.decrypt_failed event.
func (d *decryptionTally) event(e health.Event) {
	if e.Kind != health.TLSDecryptFailed || e.Evidence["reason"] != reasonUnsupported {
		return
	}
	suite, _ := e.Evidence["suite"].(string)
	if d.unsupported == nil {
		d.unsupported = map[string]int{}
	}
	d.unsupported[suite]++
	d.unsupportedN++
}

// decryptedHook wraps the user's TLSPlaintext: the TLS decoder calls it
// once per connection, at its first decrypted application data.
func (d *decryptionTally) decryptedHook(user tcpstate.NewHandler) tcpstate.NewHandler {
	return func(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
		d.decrypted.Add(1)
		if user != nil {
			return user(ctx)
		}
		return nil
	}
}

// decryption returns the Report's view.
func (a *Analyzer) decryption() Decryption {
	d := &a.decrypt
	out := Decryption{
		KeyLog: a.keylog != nil, TLS: int(d.tls.Load()), Decrypted: int(d.decrypted.Load()),
		Unsupported: d.unsupported,
	}
	if f := a.col.findings[health.TLSNoKey]; f != nil {
		out.NoKey = f.FlowCount
	}
	if f := a.col.findings[health.TLSDecryptFailed]; f != nil {
		out.Failed = max(f.FlowCount-d.unsupportedN, 0)
	}
	return out
}

// String says it in one line, as doctor prints it: "" when the capture had
// no TLS connection.
func (d Decryption) String() string {
	if d.TLS == 0 {
		return ""
	}
	conns := func(n int) string {
		if n == 1 {
			return "1 connection"
		}
		return fmt.Sprintf("%d connections", n)
	}
	if !d.KeyLog {
		return fmt.Sprintf("TLS decryption: none (%s; no key log given: -keylog FILE, or Options.KeyLogFiles)", conns(d.TLS))
	}
	parts := []string{fmt.Sprintf("%d of %d TLS connections decrypted", d.Decrypted, d.TLS)}
	if d.NoKey > 0 {
		parts = append(parts, conns(d.NoKey)+" with no key in the key log")
	}
	if len(d.Unsupported) > 0 {
		suites := make([]string, 0, len(d.Unsupported))
		for s, n := range d.Unsupported {
			suites = append(suites, fmt.Sprintf("%s ×%d", s, n))
		}
		sort.Strings(suites)
		parts = append(parts, "suites not supported: "+strings.Join(suites, ", "))
	}
	if d.Failed > 0 {
		parts = append(parts, conns(d.Failed)+" whose records did not decrypt with the logged key")
	}
	if rest := d.TLS - d.Decrypted - d.NoKey - d.Failed - sum(d.Unsupported); rest > 0 {
		parts = append(parts, conns(rest)+" without application data to decrypt")
	}
	return "TLS decryption: " + strings.Join(parts, "; ")
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
