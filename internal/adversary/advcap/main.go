// Command advcap writes one of the hostile captures of package adversary
// to a file, for measurements:
//
//	go run ./internal/adversary/advcap -case syn-flood -n 2000000 -o flood.pcap
//	go run ./internal/adversary/advcap -list
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/nettrace/nettrace/internal/adversary"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("advcap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("case", "", "the case to write (see -list)")
	n := fs.Int("n", 0, "its size (0: the case's default)")
	out := fs.String("o", "", "output `file` ('-' for stdout)")
	list := fs.Bool("list", false, "list the cases")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		for _, c := range adversary.Cases() {
			fmt.Fprintf(stdout, "%-22s %s (-n %s, default %d)\n", c.Name, c.What, c.Unit, c.Default)
		}
		return 0
	}
	c, err := adversary.Lookup(*name)
	if err != nil || *out == "" {
		fmt.Fprintln(stderr, "advcap: -case and -o are required (-list lists the cases)")
		return 2
	}
	if *n <= 0 {
		*n = c.Default
	}
	if err := write(c, *n, *out, stdout); err != nil {
		fmt.Fprintln(stderr, "advcap:", err)
		return 1
	}
	return 0
}

func write(c adversary.Case, n int, path string, stdout io.Writer) error {
	w := stdout
	var f *os.File
	if path != "-" {
		var err error
		if f, err = os.Create(path); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := c.Write(bw, n); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f != nil {
		return f.Close()
	}
	return nil
}
