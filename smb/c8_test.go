package smb

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
)

// fileNamed returns the stats of the file whose name ends with suffix.
func fileNamed(t *testing.T, conns []*Conn, suffix string) FileStats {
	t.Helper()
	for _, c := range conns {
		for _, f := range c.Files() {
			if strings.HasSuffix(f.Name, suffix) {
				return f
			}
		}
	}
	t.Fatalf("no file %q", suffix)
	return FileStats{}
}

// TestCaseC8_AppLimitedReads checks the transfer analysis on the two C8
// captures (../shared/captures/cases, 1.7 MB each) against what the
// cases README says the clients did.
func TestCaseC8_AppLimitedReads(t *testing.T) {
	t.Run("1-outstanding", func(t *testing.T) {
		path := capturePath(t, "captures/cases", "c08-smb2-read-1-outstanding-impacket")
		res := runCapture(t, path, DefaultConfig(), 20800*time.Microsecond, whole)
		f := fileNamed(t, res.conns, "setup-1536k.msi")
		t.Logf("%+v", f)
		// README: 25 READs of 65536, max 1 in flight, time-weighted mean 0.9,
		// 0.63 s -> 2437 KiB/s, idle gaps mean 1.5 ms (24 gaps).
		if f.Reads != 25 || f.ReadSize != 65536 || f.MaxInFlight != 1 || f.BytesRead != 1572864 {
			t.Errorf("reads %d size %d max in flight %d bytes %d; want 25, 65536, 1, 1572864", f.Reads, f.ReadSize, f.MaxInFlight, f.BytesRead)
		}
		if math.Abs(f.MeanInFlight-0.9) > 0.05 {
			t.Errorf("mean in flight %.2f, want ~0.9", f.MeanInFlight)
		}
		if kibs := f.Throughput / 1024; math.Abs(kibs-2437) > 50 {
			t.Errorf("throughput %.0f KiB/s, want ~2437", kibs)
		}
		if f.IdleGaps != 24 {
			t.Errorf("idle gaps %d, want 24", f.IdleGaps)
		}
		if f.Limit != "application-limited" {
			t.Errorf("limit %q, want application-limited", f.Limit)
		}
		ev := res.col.OfKind(health.SMBAppLimited)
		if len(ev) != 1 {
			t.Fatalf("%d smb.app_limited events, want 1", len(ev))
		}
		t.Logf("event: frame %d: %s", ev[0].Frame, ev[0].Message)
		if !strings.Contains(ev[0].Message, "only 1 read of 64 KiB in flight") {
			t.Errorf("message %q", ev[0].Message)
		}
		if n := len(res.col.OfKind(health.SMBShapingDelay)); n != 0 {
			t.Errorf("%d shaping events, want 0", n)
		}
	})
	t.Run("pipelined", func(t *testing.T) {
		path := capturePath(t, "captures/cases", "c08-smb2-read-pipelined-smbclient")
		res := runCapture(t, path, DefaultConfig(), 20600*time.Microsecond, whole)
		f := fileNamed(t, res.conns, "setup-1536k.msi")
		t.Logf("%+v", f)
		// README: 24 READs of 65536, max 24 in flight, mean 18.1, 9762 KiB/s.
		if f.Reads != 24 || f.ReadSize != 65536 || f.MaxInFlight != 24 || f.BytesRead != 1572864 {
			t.Errorf("reads %d size %d max in flight %d bytes %d; want 24, 65536, 24, 1572864", f.Reads, f.ReadSize, f.MaxInFlight, f.BytesRead)
		}
		if math.Abs(f.MeanInFlight-18.1) > 0.5 {
			t.Errorf("mean in flight %.2f, want ~18.1", f.MeanInFlight)
		}
		if kibs := f.Throughput / 1024; math.Abs(kibs-9762) > 200 {
			t.Errorf("throughput %.0f KiB/s, want ~9762", kibs)
		}
		if f.Limit != "pipelined" {
			t.Errorf("limit %q, want pipelined", f.Limit)
		}
		if n := len(res.col.OfKind(health.SMBAppLimited)); n != 0 {
			t.Errorf("%d smb.app_limited events, want 0", n)
		}
		if n := len(res.col.OfKind(health.SMBShapingDelay)); n != 0 {
			t.Errorf("%d shaping events, want 0", n)
		}
	})
}
