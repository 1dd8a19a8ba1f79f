package starttls

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// recTLS records what the TLS handler receives.
type recTLS struct{ got [2][]byte }

func (r *recTLS) Feed(dir tcpstate.Dir, b []byte, _ tcpstate.Position) {
	r.got[dir] = append(r.got[dir], b...)
}
func (r *recTLS) Gap(tcpstate.Dir, int, tcpstate.Position)      {}
func (r *recTLS) Close(tcpstate.CloseReason, tcpstate.Position) {}

const (
	cli = tcpstate.ClientToServer
	srv = tcpstate.ServerToClient
)

// step is one delivery of a conversation.
type step struct {
	dir  tcpstate.Dir
	data string
}

// run feeds a conversation to a Conn for port, each delivery split by
// split (nil: whole), and returns the TLS bytes per direction and the
// messages and events.
func run(t *testing.T, port uint16, steps []step, split func([]byte) [][]byte) ([2]string, *health.Collector) {
	t.Helper()
	col := &health.Collector{KeepMessages: true}
	ctx := &tcpstate.StreamContext{Client: netip.MustParseAddrPort("10.0.0.1:40000"), Server: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), port),
		Flow: "test", Reporter: col}
	rec := &recTLS{}
	c := NewConn(ctx, Config{TLS: func(*tcpstate.StreamContext) tcpstate.StreamHandler { return rec }})
	for i, s := range steps {
		at := tcpstate.Position{Frame: int64(i + 1), Time: time.Unix(int64(i), 0)}
		pieces := [][]byte{[]byte(s.data)}
		if split != nil {
			pieces = split([]byte(s.data))
		}
		for _, p := range pieces {
			c.Feed(s.dir, p, at)
		}
	}
	c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: int64(len(steps) + 1)})
	return [2]string{string(rec.got[0]), string(rec.got[1])}, col
}

func bytewise(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

// hello stands for TLS records.
const hello, shello = "\x16\x03\x01\x00\x05HELLO", "\x16\x03\x03\x00\x05SHELO"

var ldapReq = "\x30\x1d\x02\x01\x01\x77\x18\x80\x16" + startTLSOID

// TestUpgradeHandsTheRestToTLS: for each protocol, the bytes after the
// client's command and after the server's go-ahead (in the same delivery
// or not) go to the TLS handler, whole or fed byte by byte, and the
// upgrade is reported at the go-ahead's frame.
func TestUpgradeHandsTheRestToTLS(t *testing.T) {
	for _, tc := range []struct {
		name  string
		port  uint16
		steps []step
		frame int64
	}{
		{"smtp", 25, []step{{srv, "220 mx ESMTP\r\n"}, {cli, "EHLO c\r\n"}, {srv, "250-mx\r\n250 STARTTLS\r\n"}, {cli, "STARTTLS\r\n"},
			{srv, "220 2.0.0 go ahead\r\n"}, {cli, hello}, {srv, shello}}, 5},
		{"smtp multiline refusal then go-ahead", 587, []step{{cli, "STARTTLS\r\n"}, {srv, "454-not now\r\n454 really\r\n"},
			{cli, "STARTTLS\r\n"}, {srv, "220 ok\r\n" + shello}, {cli, hello}}, 4},
		{"imap", 143, []step{{srv, "* OK ready\r\n"}, {cli, "a1 STARTTLS\r\n"}, {srv, "* untagged\r\na1 OK begin\r\n"}, {cli, hello}, {srv, shello}}, 3},
		{"pop3 pipelined hello held", 110, []step{{srv, "+OK\r\n"}, {cli, "STLS\r\n" + hello}, {srv, "+OK go\r\n" + shello}}, 3},
		{"ftp", 21, []step{{srv, "220 ftp\r\n"}, {cli, "AUTH TLS\r\n"}, {srv, "234 go\r\n"}, {cli, hello}, {srv, shello}}, 3},
		{"ldap", 389, []step{{cli, ldapReq}, {srv, "\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00"}, {cli, hello}, {srv, shello}}, 2},
	} {
		for _, split := range []struct {
			name string
			fn   func([]byte) [][]byte
		}{{"whole", nil}, {"bytewise", bytewise}} {
			t.Run(tc.name+"/"+split.name, func(t *testing.T) {
				got, col := run(t, tc.port, tc.steps, split.fn)
				if diff := cmp.Diff([2]string{hello, shello}, got); diff != "" {
					t.Errorf("TLS bytes (-want +got):\n%s", diff)
				}
				var at int64
				for _, m := range col.Messages {
					if m.Fields["result"] == "upgraded" {
						at = m.Frame
					}
				}
				if at != tc.frame || len(col.Events) != 0 {
					t.Errorf("upgrade at frame %d, want %d; events %+v", at, tc.frame, col.Events)
				}
			})
		}
	}
}

// TestRefusedUpgradeStaysCleartext: a refused upgrade hands nothing to
// TLS, and is reported.
func TestRefusedUpgradeStaysCleartext(t *testing.T) {
	for _, tc := range []struct {
		port  uint16
		steps []step
	}{
		{25, []step{{cli, "STARTTLS\r\n"}, {srv, "454 no\r\n"}, {cli, "QUIT\r\n"}, {srv, "221 bye\r\n"}}},
		{143, []step{{cli, "a1 STARTTLS\r\n"}, {srv, "a1 NO never\r\n"}, {cli, "a2 LOGOUT\r\n"}}},
		{110, []step{{cli, "STLS\r\n"}, {srv, "-ERR no\r\n"}}},
		{21, []step{{cli, "AUTH TLS\r\n"}, {srv, "530 no\r\n"}}},
		{389, []step{{cli, ldapReq}, {srv, "\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x02\x04\x00\x04\x00"}}},
	} {
		got, col := run(t, tc.port, tc.steps, nil)
		if got != [2]string{} || len(col.Messages) != 1 || col.Messages[0].Fields["result"] != "refused" {
			t.Errorf("port %d: TLS %q, messages %+v", tc.port, got, col.Messages)
		}
	}
}

// TestGiveUpIsSaid: a line over the limit or a gap before the upgrade ends
// the following with one decode.gave_up event; nothing goes to TLS.
func TestGiveUpIsSaid(t *testing.T) {
	long := make([]byte, DefaultLimits().MaxLine+1)
	for i := range long {
		long[i] = 'x'
	}
	got, col := run(t, 25, []step{{srv, string(long)}, {cli, "STARTTLS\r\n"}, {srv, "220 go\r\n"}, {cli, hello}}, nil)
	if got != [2]string{} || len(col.OfKind(health.DecodeGaveUp)) != 1 {
		t.Errorf("TLS %q, events %+v", got, col.Events)
	}
	col = &health.Collector{}
	c := NewConn(&tcpstate.StreamContext{Server: netip.MustParseAddrPort("10.0.0.2:389"), Reporter: col}, Config{})
	c.Gap(cli, 100, tcpstate.Position{Frame: 3})
	c.Gap(srv, 100, tcpstate.Position{Frame: 4})
	if ev := col.OfKind(health.DecodeGaveUp); len(ev) != 1 || ev[0].Frame != 3 {
		t.Errorf("events %+v", col.Events)
	}
}

// TestLineProtocolResumesAfterGap: a gap in a line protocol before the
// upgrade drops the line it cut; the following is resumed at the next
// line end, and a later upgrade is followed.
func TestLineProtocolResumesAfterGap(t *testing.T) {
	col := &health.Collector{KeepMessages: true}
	rec := &recTLS{}
	c := NewConn(&tcpstate.StreamContext{Server: netip.MustParseAddrPort("10.0.0.2:143"), Reporter: col},
		Config{TLS: func(*tcpstate.StreamContext) tcpstate.StreamHandler { return rec }})
	at := tcpstate.Position{Frame: 1}
	c.Feed(srv, []byte("* OK hel"), at)
	c.Gap(srv, 40, at)
	c.Feed(srv, []byte("lo world\r\n"), at)
	c.Feed(cli, []byte("a1 STARTTLS\r\n"), at)
	c.Feed(srv, []byte("a1 OK go\r\n"+shello), at)
	if string(rec.got[srv]) != shello || len(col.Events) != 0 {
		t.Errorf("TLS %q, events %+v", rec.got, col.Events)
	}
}

// TestHeldBytesBounded: a client that keeps sending after its command
// while the server does not answer is held up to maxHeld bytes, then the
// Conn gives up.
func TestHeldBytesBounded(t *testing.T) {
	col := &health.Collector{}
	c := NewConn(&tcpstate.StreamContext{Server: netip.MustParseAddrPort("10.0.0.2:25"), Reporter: col}, Config{})
	c.Feed(cli, []byte("STARTTLS\r\n"), tcpstate.Position{Frame: 1})
	chunk := make([]byte, 1000)
	for i := 0; i < 100; i++ {
		c.Feed(cli, chunk, tcpstate.Position{Frame: int64(i + 2)})
	}
	if c.heldN > maxHeld || len(col.OfKind(health.DecodeGaveUp)) != 1 {
		t.Errorf("held %d, events %d", c.heldN, len(col.Events))
	}
}

// TestDetect recognises the greetings and first commands, not HTTP.
func TestDetect(t *testing.T) {
	for in, want := range map[string]bool{"220 mx ESMTP": true, "* OK IMAP": true, "+OK POP3": true, "GET / HTTP/1.1": false,
		"HTTP/1.1 200": false, ldapReq: true, "\x30\x05\x02\x01\x02\x42\x00": false} {
		for _, dir := range []tcpstate.Dir{cli, srv} {
			got := Detect(dir, []byte(in))
			isServer := in[0] != 0x30 && in[0] != 'G'
			if got != (want && (dir == srv) == isServer) {
				t.Errorf("Detect(%v, %q) = %v", dir, in, got)
			}
		}
	}
	if !Detect(cli, []byte("EHLO x\r\n")) || !Detect(cli, []byte("AUTH TLS\r\n")) {
		t.Error("client commands not detected")
	}
}

// TestGuessProtocolOnOtherPort: on a port that names no protocol, the
// first bytes tell it.
func TestGuessProtocolOnOtherPort(t *testing.T) {
	got, _ := run(t, 2525, []step{{srv, "220 mx\r\n"}, {cli, "EHLO x\r\n"}, {srv, "250 ok\r\n"}, {cli, "STARTTLS\r\n"}, {srv, "220 go\r\n"}, {cli, hello}}, nil)
	if got[0] != hello {
		t.Errorf("TLS %q", got)
	}
}
