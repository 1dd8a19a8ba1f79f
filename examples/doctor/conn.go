package main

import (
	"io"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/connlog"
)

// analyseConns prints the capture's TCP connections as Zeek's conn.log
// (doctor -conn): tab-separated with Zeek's header lines, or with -json
// one JSON object per line with Zeek's field names. Records are written as
// connections end, as Zeek writes them, so memory does not grow with the
// number of connections.
func analyseConns(name string, r io.Reader, opts nettrace.Options, cfg config, out io.Writer) error {
	var write func(connlog.Record)
	var flush func() error
	if cfg.json {
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
	a, err := nettrace.New(opts)
	if err != nil {
		return err
	}
	if _, err := a.Analyze(name, r); err != nil {
		return err
	}
	return flush()
}
