package main

import (
	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/connlog"
	"github.com/nettrace/nettrace/examples/internal/cli"
)

// analyseConns prints the capture's TCP connections as Zeek's conn.log
// (doctor -conn): tab-separated with Zeek's header lines, or with -json
// one JSON object per line with Zeek's field names. Records are written as
// connections end, as Zeek writes them, so memory does not grow with the
// number of connections.
func analyseConns(t *cli.Tool, in *cli.Input, opts nettrace.Options) int {
	out := t.Stdout
	var write func(connlog.Record)
	var flush func() error
	if t.JSON {
		line := make([]byte, 0, 512)
		var err error
		write = func(rec connlog.Record) {
			if err == nil {
				line = append(rec.AppendJSON(line[:0]), '\n')
				_, err = out.Write(line)
			}
		}
		flush = func() error { return err }
	} else {
		tsv := connlog.NewTSVWriter(out)
		tsv.WriteHeader()
		write, flush = tsv.Write, tsv.Flush
	}
	opts.OnConn = write
	opts.MaxFlowsKept = -1 // the records are written as they come
	run, err := t.Analyze(in, opts)
	if err != nil {
		return t.Fail(err) // names the capture
	}
	if err := flush(); err != nil {
		return t.Fail(err)
	}
	return run.Check()
}
