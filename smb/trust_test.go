package smb

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// Tests of the rules that keep findings true on captures made elsewhere:
// captures that start mid-stream or miss bytes, and the ending a reset
// follows (tcpstate.Finisher). Not understanding bytes is a notice about
// nettrace's coverage, not about the peer.

// replay feeds the TCP segments of one capture stream to c, the last
// frame's position returned.
func replay(c *Conn, s *testcap.Stream, split splitter) tcpstate.Position {
	var last tcpstate.Position
	for _, seg := range s.Segments {
		d := tcpstate.ServerToClient
		if seg.ClientToServer {
			d = tcpstate.ClientToServer
		}
		last = tcpstate.Position{Frame: seg.Frame, Time: seg.Time}
		for _, ch := range split(seg.Data) {
			c.Feed(d, ch, last)
		}
	}
	return last
}

// logoffReq1 and logoffResp1 are the LOGOFF_ANDX parameter blocks
// ([MS-CIFS] 2.2.4.54): WordCount 2, no further AndX command, ByteCount 0.
func logoffBlock1() []byte { return []byte{2, 0xff, 0, 0, 0, 0, 0} }

// logoff2 is the body of an SMB2 LOGOFF request or response ([MS-SMB2]
// 2.2.7, 2.2.8): StructureSize 4, Reserved.
var logoff2 = []byte{4, 0, 0, 0}

// TestFinishedAfterLogoff: smb.Conn is a tcpstate.Finisher. After the real
// sessions of smb2_10-alice-ls-get.pcap (ending with TREE_DISCONNECT) and
// smb1-nt1-alice-ls-get.pcap every request was answered; a LOGOFF then
// pending is not finished; a LOGOFF answered with success ends the
// session; a failed LOGOFF does not, and a request after a LOGOFF reopens.
func TestFinishedAfterLogoff(t *testing.T) {
	var _ tcpstate.Finisher = (*Conn)(nil)
	const answered, loggedOff = "every SMB request was answered", "the SMB session was logged off"
	type step struct {
		dir  tcpstate.Dir
		b    []byte
		want string
	}
	smb2 := func(id uint64, resp bool, st Status) []byte {
		return nbssWrap(msg2(SMB2Logoff, id, resp, st, 0, logoff2))
	}
	smb1 := func(mid uint16, resp bool, st Status) []byte {
		return nbssWrap(msg1(SMB1LogoffAndX, mid, resp, st, 0, logoffBlock1()))
	}
	echo := nbssWrap(msg2(SMB2Echo, 40, false, 0, 0, []byte{4, 0, 0, 0}))
	tests := []struct {
		name, capture string
		steps         []step
	}{
		{"SMB2 LOGOFF answered", "smb2_10-alice-ls-get", []step{
			{c2s, smb2(26, false, 0), ""}, {s2c, smb2(26, true, 0), loggedOff}}},
		{"SMB2 LOGOFF failed", "smb2_10-alice-ls-get", []step{
			{c2s, smb2(26, false, 0), ""}, {s2c, smb2(26, true, StatusAccessDenied), answered}}},
		{"SMB2 request after LOGOFF", "smb2_10-alice-ls-get", []step{
			{c2s, smb2(26, false, 0), ""}, {s2c, smb2(26, true, 0), loggedOff}, {c2s, echo, ""}}},
		{"SMB2 LOGOFF response partial", "smb2_10-alice-ls-get", []step{
			{c2s, smb2(26, false, 0), ""}, {s2c, smb2(26, true, 0)[:40], ""}}},
		{"SMB1 LOGOFF_ANDX answered", "smb1-nt1-alice-ls-get", []step{
			{c2s, smb1(90, false, 0), ""}, {s2c, smb1(90, true, 0), loggedOff}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			streams, err := testcap.ReadStreams(capturePath(t, "captures/smb", tc.capture))
			if err != nil {
				t.Fatal(err)
			}
			s := streams[0]
			c := NewConn(&tcpstate.StreamContext{Client: s.Client, Server: s.Server, Reporter: &health.Collector{}}, DefaultConfig())
			last := replay(c, s, whole)
			if got := c.Finished(); got != answered {
				t.Fatalf("after the capture: Finished() = %q, want %q", got, answered)
			}
			for i, st := range tc.steps {
				last.Frame++
				c.Feed(st.dir, st.b, last)
				if got := c.Finished(); got != st.want {
					t.Errorf("step %d: Finished() = %q, want %q", i, got, st.want)
				}
			}
		})
	}

	// SMB3 encryption hides the commands: nothing can be said.
	t.Run("encrypted", func(t *testing.T) {
		streams, err := testcap.ReadStreams(capturePath(t, "captures/smb", "smb3_11-encrypted"))
		if err != nil {
			t.Fatal(err)
		}
		c := NewConn(&tcpstate.StreamContext{Reporter: &health.Collector{}}, DefaultConfig())
		replay(c, streams[0], whole)
		if got := c.Finished(); got != "" {
			t.Errorf("Finished() = %q on an encrypted session", got)
		}
	})
}

// TestSMBResyncIsNotMalformed: a capture that starts inside a PDU (the
// first 3 segments of smb2_10-alice-ls-get.pcap's client and the rest of a
// message cut) and a gap in the middle of a message are artefacts of the
// capture: the direction resynchronises on the next SMB header and reports
// decode.resync (Info) with the bytes skipped — never smb.malformed — and
// decodes the rest, however the bytes are cut.
func TestSMBResyncIsNotMalformed(t *testing.T) {
	streams, err := testcap.ReadStreams(capturePath(t, "captures/smb", "smb2_10-alice-ls-get"))
	if err != nil {
		t.Fatal(err)
	}
	s := streams[0]
	// A long client message to cut: the first one of 100 bytes or more.
	cut := -1
	for i, seg := range s.Segments {
		if seg.ClientToServer && len(seg.Data) >= 100 && i > 2 {
			cut = i
			break
		}
	}
	if cut < 0 {
		t.Fatal("no client segment to cut")
	}
	midStream := *s
	midStream.Segments = append([]testcap.Segment{{ClientToServer: true, Frame: s.Segments[cut].Frame, Time: s.Segments[cut].Time,
		Data: s.Segments[cut].Data[40:]}}, s.Segments[cut+1:]...)
	for _, sp := range []struct {
		name  string
		split splitter
	}{{"segments", whole}, {"bytes", bytewise}} {
		t.Run("mid-stream/"+sp.name, func(t *testing.T) {
			col := &health.Collector{KeepMessages: true}
			c := NewConn(&tcpstate.StreamContext{Client: s.Client, Server: s.Server, Reporter: col}, DefaultConfig())
			replay(c, &midStream, sp.split)
			ev := col.OfKind(health.DecodeResync)
			if len(ev) != 1 || ev[0].Severity != health.Info || ev[0].Evidence["reason"] != "mid_stream" ||
				ev[0].Evidence["skipped"] != len(s.Segments[cut].Data)-40 || ev[0].Evidence["dir"] != "client" {
				t.Fatalf("resync events %+v", col.Events)
			}
			if n := len(col.OfKind(health.SMBMalformed)); n != 0 {
				t.Errorf("%d malformed events: %+v", n, col.Events)
			}
			if c.Stats().Commands == nil || len(col.Messages) == 0 {
				t.Errorf("nothing decoded after the resync")
			}
		})
		t.Run("gap/"+sp.name, func(t *testing.T) {
			col := &health.Collector{KeepMessages: true}
			c := NewConn(&tcpstate.StreamContext{Client: s.Client, Server: s.Server, Reporter: col}, DefaultConfig())
			for i, seg := range s.Segments {
				d := tcpstate.ServerToClient
				if seg.ClientToServer {
					d = tcpstate.ClientToServer
				}
				at := tcpstate.Position{Frame: seg.Frame, Time: seg.Time}
				data := seg.Data
				if i == cut {
					c.Feed(d, data[:20], at)
					c.Gap(d, 30, at)
					data = data[50:]
				}
				for _, ch := range sp.split(data) {
					c.Feed(d, ch, at)
				}
			}
			if d := cmp.Diff([]any{len(s.Segments[cut].Data) - 50}, evidenceOf(col, health.DecodeResync, "skipped")); d != "" {
				t.Errorf("resync skipped (-want +got):\n%s\n%+v", d, col.Events)
			}
			if n := len(col.OfKind(health.SMBMalformed)); n != 0 {
				t.Errorf("%d malformed events: %+v", n, col.Events)
			}
		})
	}
}

// evidenceOf returns the evidence field key of the events of kind k.
func evidenceOf(col *health.Collector, k health.Kind, key string) []any {
	var out []any
	for _, e := range col.OfKind(k) {
		out = append(out, e.Evidence[key])
	}
	return out
}

// TestSMBMalformedIsANotice: SMB nettrace cannot decode, after SMB that
// framed, is smb.malformed at its default severity (a notice about
// nettrace's coverage), and a direction that never finds a header again is
// given up with decode.gave_up.
func TestSMBMalformedIsANotice(t *testing.T) {
	col := &health.Collector{}
	cfg := DefaultConfig()
	cfg.Limits.MaxResync = 1000
	c := NewConn(synthCtx(col, 0), cfg)
	c.Feed(c2s, nbssWrap(msg2(SMB2Echo, 1, false, 0, 0, []byte{4, 0, 0, 0})), tcpstate.Position{Frame: 1})
	c.Feed(c2s, []byte{0, 0, 0, 8, 'n', 'o', 't', ' ', 's', 'm', 'b', '!'}, tcpstate.Position{Frame: 2})
	junk := make([]byte, 600)
	for i := 0; i < 3; i++ {
		c.Feed(c2s, junk, tcpstate.Position{Frame: int64(3 + i)})
	}
	want := []string{"smb.malformed/notice", "decode.gave_up/notice"}
	var got []string
	for _, e := range col.Events {
		got = append(got, string(e.Kind)+"/"+e.Severity.String())
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("events (-want +got):\n%s\n%+v", d, col.Events)
	}
}
