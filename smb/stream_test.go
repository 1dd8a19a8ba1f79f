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
