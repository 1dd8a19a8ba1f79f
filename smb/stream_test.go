package smb

import (
	"testing"
	"time"
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
