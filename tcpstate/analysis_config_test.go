package tcpstate

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
)

// TestAnalysisConfigIdleThreshold: the idle finding follows the
// configured threshold (the keep-alive capture idles ~1 s between probes).
func TestAnalysisConfigIdleThreshold(t *testing.T) {
	pkts, dirs, _ := anaOneConn(t, filepath.Join(anaTestdata(), "tcp-keepalive-idle-python.pcap"))
	for _, tc := range []struct {
		cfg  *AnalysisConfig
		want int
	}{
		{cfg: nil, want: 0}, // default 5 s
		{cfg: &AnalysisConfig{IdleThreshold: 900 * time.Millisecond}, want: 1},
	} {
		col := &health.Collector{}
		ctx := &StreamContext{Reporter: col, Flow: "test"}
		var a seqAnalysis
		if tc.cfg != nil {
			c := tc.cfg.withDefaults()
			a.configure(&c)
		}
		for i := range pkts {
			a.analyze(ctx, dirs[i], &pkts[i])
		}
		var st health.FlowStats
		a.finish(ctx, CloseFIN, Position{}, &st)
		if got := len(col.OfKind(health.TCPIdle)); got != tc.want {
			t.Errorf("config %+v: %d tcp.idle, want %d", tc.cfg, got, tc.want)
		}
		if st.MaxIdle < 900*time.Millisecond {
			t.Errorf("max idle %v", st.MaxIdle)
		}
	}
}
