package health

import (
	"encoding/json"
	"fmt"
	"time"
)

// Severity grades an Event. The zero value is Info.
type Severity uint8

// Severities, from least to most serious.
const (
	Info Severity = iota
	Notice
	Warning
	Error
)

var severityNames = [...]string{"info", "notice", "warning", "error"}

// String returns the lower-case name used in JSON ("info", "notice", …).
func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("Severity(%d)", uint8(s))
}

// MarshalJSON writes the severity as its lower-case name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a severity written by MarshalJSON.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	for i, n := range severityNames {
		if n == name {
			*s = Severity(i)
			return nil
		}
	}
	return fmt.Errorf("health: unknown severity %q", name)
}

// SchemaVersion is the version of the JSON records' schema (docs/events.md),
// written as "schema" in every record the JSON sink writes. Within a
// version, kinds keep their name and meaning and evidence fields their name
// and type; fields may be added. Removing or retyping a field raises it.
const SchemaVersion = 1

// Kind names what an Event reports, as a dotted lower-case string
// ("tcp.retransmission"). Every kind is a constant in kinds.go; kinds are
// stable once released.
type Kind string

// Event is one stream-health finding. It is the JSON-lines contract of
// DESIGN.md:
//
//	{"kind":"tcp.retransmission","severity":"warning","time":"…","frame":1921,
//	 "flow":"10.1.1.1:1099->172.16.1.1:80/tcp","message":"…","evidence":{…}}
//
// Frame is the 1-based frame number as tshark counts it (0 only for findings
// about a whole capture, such as a diagnosis over many flows). Evidence holds
// numbers and short strings only — never keys, hashes or passwords.
type Event struct {
	Kind     Kind           `json:"kind"`
	Severity Severity       `json:"severity"`
	Time     time.Time      `json:"time"`
	Frame    int64          `json:"frame"`
	Flow     string         `json:"flow,omitempty"`
	Message  string         `json:"message"`
	Evidence map[string]any `json:"evidence,omitempty"`
}

// Message is one decoded protocol message as examples/dissect prints it:
//
//	{"frame":N,"time":…,"flow":…,"proto":"smb2","fields":{…}}
//
// A frame holding several messages gives several Messages. Fields hold
// decoded values only — never secrets.
//
// The decoders of SMB, DCE/RPC, TDS, TLS and HTTP/1 deliver their messages
// as typed values (Value: *smb.Message, *rpc.Message, *tds.Message,
// *tls.Message, *http.Message) and leave Fields nil: the map is derived
// from the value, by FieldMap, only where it is needed (the JSON sink,
// the Collector). Messages without a type of their own (packets, DNS, the
// endpoint mapper, SSRP, HTTP/2 frames, NBSS) carry Fields only.
type Message struct {
	Frame  int64          `json:"frame"`
	Time   time.Time      `json:"time"`
	Flow   string         `json:"flow,omitempty"`
	Proto  string         `json:"proto"`
	Fields map[string]any `json:"fields"`
	// Value is the typed message, nil for messages that carry Fields only.
	Value Decoded `json:"-"`
}

// FieldMap returns m's fields as a map: Fields when set, else the map
// derived from Value (built anew on each call), else nil. It is the
// compatibility form of a typed message.
func (m *Message) FieldMap() map[string]any {
	if m.Fields == nil && m.Value != nil {
		return m.Value.Fields()
	}
	return m.Fields
}

// Reporter receives what decoders find. Decoders call Event for every
// finding; they build and pass a Message only when WantMessages reports true,
// so that the cost of filling Fields is paid only by tools that print them.
type Reporter interface {
	Event(e Event)
	Message(m Message)
	WantMessages() bool
}

// Discard is a Reporter that drops everything.
var Discard Reporter = discard{}

type discard struct{}

func (discard) Event(Event)        {}
func (discard) Message(Message)    {}
func (discard) WantMessages() bool { return false }

// Collector is a Reporter that keeps everything in memory, in arrival order.
// It is meant for tests and small captures: it fills the Fields of every
// message it keeps (FieldMap), so that code reading Fields keeps working;
// an embedder who wants only typed values uses nettrace.Handlers instead.
type Collector struct {
	Events   []Event
	Messages []Message
	// KeepMessages makes WantMessages report true.
	KeepMessages bool
}

// Event appends e to c.Events.
func (c *Collector) Event(e Event) { c.Events = append(c.Events, e) }

// Message appends m to c.Messages, with its Fields filled (FieldMap).
func (c *Collector) Message(m Message) {
	m.Fields = m.FieldMap()
	c.Messages = append(c.Messages, m)
}

// WantMessages reports c.KeepMessages.
func (c *Collector) WantMessages() bool { return c.KeepMessages }

// OfKind returns the collected events of kind k, in order.
func (c *Collector) OfKind(k Kind) []Event {
	var out []Event
	for _, e := range c.Events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}
