package smb

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

func TestSubMatchesTimeSub(t *testing.T) {
	base := time.Date(2024, 3, 1, 12, 0, 0, 999_999_999, time.UTC)
	for _, d := range []time.Duration{0, 1, -1, time.Second - 1, -time.Second + 1, 90 * time.Minute, -90 * time.Minute,
		100 * 365 * 24 * time.Hour, -100 * 365 * 24 * time.Hour} {
		u := base.Add(d)
		if got, want := sub(u, base), u.Sub(base); got != want {
			t.Errorf("sub(base%+v, base) = %v, want %v", d, got, want)
		}
	}
	now := time.Now() // monotonic reading: sub must give what Sub gives
	if got, want := sub(now.Add(time.Second), now), now.Add(time.Second).Sub(now); got != want {
		t.Errorf("sub with monotonic readings = %v, want %v", got, want)
	}
	far := []time.Time{time.Unix(1<<40, 5), time.Unix(-1<<40, 7), {}, base, now}
	for _, a := range far {
		for _, b := range far {
			if got, want := sub(a, b), a.Sub(b); got != want {
				t.Errorf("sub(%v, %v) = %v, want %v", a, b, got, want)
			}
		}
	}
}

// TestHeadOnlyReadMatchesBuffered checks that READ responses decoded from
// their head (the data is skipped, not copied) give the same statistics,
// files, events and messages as when every PDU is buffered whole, however
// the stream is chunked.
func TestHeadOnlyReadMatchesBuffered(t *testing.T) {
	s := c8Script()
	run := func(cfg Config, split splitter) (Stats, []FileStats, *health.Collector) {
		col := &health.Collector{KeepMessages: true}
		c := NewConn(&tcpstate.StreamContext{Reporter: col}, cfg)
		s.run(c, split)
		return c.Stats(), c.Files(), col
	}
	buffered := DefaultConfig()
	buffered.Limits.HeadBytes = buffered.Limits.MaxBuffered // no PDU is decoded from its head alone
	wantStats, wantFiles, wantCol := run(buffered, whole)
	for name, split := range map[string]splitter{"whole": whole, "random": randomSplit(7)} {
		gotStats, gotFiles, gotCol := run(DefaultConfig(), split)
		if diff := cmp.Diff(wantStats, gotStats); diff != "" {
			t.Errorf("%s: stats (-buffered +head-only):\n%s", name, diff)
		}
		if diff := cmp.Diff(wantFiles, gotFiles); diff != "" {
			t.Errorf("%s: files (-buffered +head-only):\n%s", name, diff)
		}
		if diff := cmp.Diff(wantCol.Events, gotCol.Events); diff != "" {
			t.Errorf("%s: events (-buffered +head-only):\n%s", name, diff)
		}
		if diff := cmp.Diff(wantCol.Messages, gotCol.Messages); diff != "" {
			t.Errorf("%s: messages (-buffered +head-only):\n%s", name, diff)
		}
	}
}

type pipeSink struct{ got map[tcpstate.Dir]int }

func (p *pipeSink) Feed(dir tcpstate.Dir, b []byte, _ tcpstate.Position) { p.got[dir] += len(b) }
func (p *pipeSink) Gap(tcpstate.Dir, int, tcpstate.Position)             {}
func (p *pipeSink) Close(tcpstate.CloseReason, tcpstate.Position)        {}

// TestHeadOnlyReadKeepsPipeData checks that on a connection with an IPC$
// tree, a large READ of a pipe is still buffered whole and handed to the
// pipe handler, while a large READ of a disk file is decoded from its head.
func TestHeadOnlyReadKeepsPipeData(t *testing.T) {
	s := &script{t0: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	disk, pipe := FileID{7, 9}, FileID{8, 10}
	ms := time.Millisecond
	s.send(c2s, nbssWrap(msg2(SMB2TreeConnect, 1, false, 0, 0, treeConnectReq2(`\\fs1\dist`))), 0, 0)
	s.send(s2c, nbssWrap(msg2(SMB2TreeConnect, 1, true, 0, 5, treeConnectResp2(1))), 1*ms, 0)
	s.send(c2s, nbssWrap(msg2(SMB2TreeConnect, 2, false, 0, 0, treeConnectReq2(`\\fs1\IPC$`))), 2*ms, 0)
	s.send(s2c, nbssWrap(msg2(SMB2TreeConnect, 2, true, 0, 6, treeConnectResp2(2))), 3*ms, 0)
	s.send(c2s, nbssWrap(msg2(SMB2Create, 3, false, 0, 5, createReq2(`a.bin`))), 4*ms, 0)
	s.send(s2c, nbssWrap(msg2(SMB2Create, 3, true, 0, 5, createResp2(disk, 65536))), 5*ms, 0)
	s.send(c2s, nbssWrap(msg2(SMB2Create, 4, false, 0, 6, createReq2(`srvsvc`))), 6*ms, 0)
	s.send(s2c, nbssWrap(msg2(SMB2Create, 4, true, 0, 6, createResp2(pipe, 0))), 7*ms, 0)
	s.send(c2s, nbssWrap(msg2(SMB2Read, 5, false, 0, 5, readReq2(disk, 0, 65536))), 8*ms, 0)
	s.send(s2c, nbssWrap(msg2(SMB2Read, 5, true, 0, 5, readResp2(make([]byte, 65536)))), 9*ms, 10*time.Microsecond)
	s.send(c2s, nbssWrap(msg2(SMB2Read, 6, false, 0, 6, readReq2(pipe, 0, 20000))), 10*ms, 0)
	s.send(s2c, nbssWrap(msg2(SMB2Read, 6, true, 0, 6, readResp2(make([]byte, 20000)))), 11*ms, 10*time.Microsecond)
	run := func(cfg Config) (Stats, []FileStats, []health.Event, int) {
		sink := &pipeSink{got: map[tcpstate.Dir]int{}}
		cfg.Pipe = func(*tcpstate.StreamContext, string) tcpstate.StreamHandler { return sink }
		col := &health.Collector{}
		c := NewConn(&tcpstate.StreamContext{Reporter: col}, cfg)
		s.run(c, whole)
		return c.Stats(), c.Files(), col.Events, sink.got[s2c]
	}
	buffered := DefaultConfig()
	buffered.Limits.HeadBytes = buffered.Limits.MaxBuffered
	wantStats, wantFiles, wantEvents, wantPipe := run(buffered)
	gotStats, gotFiles, gotEvents, gotPipe := run(DefaultConfig())
	if wantPipe != 20000 || gotPipe != 20000 {
		t.Errorf("pipe bytes: buffered %d, head-only %d; want 20000", wantPipe, gotPipe)
	}
	if diff := cmp.Diff(wantStats, gotStats); diff != "" {
		t.Errorf("stats (-buffered +head-only):\n%s", diff)
	}
	if diff := cmp.Diff(wantFiles, gotFiles); diff != "" {
		t.Errorf("files (-buffered +head-only):\n%s", diff)
	}
	if diff := cmp.Diff(wantEvents, gotEvents); diff != "" {
		t.Errorf("events (-buffered +head-only):\n%s", diff)
	}
}
