package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/htmlreport"
)

// htmlFlag registers -html FILE: the report also written as one
// self-contained HTML page with graphs (package htmlreport).
func htmlFlag(fs *flag.FlagSet, cfg *config) {
	fs.StringVar(&cfg.html, "html", "", "also write the report as a self-contained HTML page with graphs to `file` (one capture)")
}

// htmlOptions asks the analysis for the packet series the graphs need.
func htmlOptions(cfg config, opts *nettrace.Options) {
	if cfg.html != "" {
		opts.Series = &nettrace.SeriesOptions{}
	}
}

// writeHTML writes rep as an HTML page to path.
func writeHTML(path string, rep *nettrace.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := htmlreport.Write(w, rep, htmlreport.Options{}); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
