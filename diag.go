package nettrace

import (
	"github.com/nettrace/nettrace/health"
)

// flowDiagnoser reasons across connections: it sees every closed
// connection's summary, then reports at the end of the capture.
type flowDiagnoser interface {
	Flow(s *health.FlowStats)
	Finish(rep health.Reporter)
}

func (a *Analyzer) diagnoseFlow(s *health.FlowStats) {
	for _, d := range a.diagnosers {
		d.Flow(s)
	}
}

func (a *Analyzer) finishDiagnoses() {
	for _, d := range a.diagnosers {
		d.Finish(a.col)
	}
}
