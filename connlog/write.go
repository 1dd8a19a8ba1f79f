package connlog

import (
	"bufio"
	"encoding/json"
	"io"
	"strconv"
	"strings"
)

// Fields are the conn.log columns a Record fills, in Zeek's order, and
// Types their Zeek types, as TSVWriter's #fields and #types lines list
// them.
var (
	Fields = []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
		"duration", "orig_bytes", "resp_bytes", "conn_state", "missed_bytes", "history",
		"orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes"}
	Types = []string{"time", "string", "addr", "port", "addr", "port", "enum", "string",
		"interval", "count", "count", "string", "count", "string",
		"count", "count", "count", "count"}
)

// TSVWriter writes records as Zeek's tab-separated conn.log: the header
// lines (#separator, #set_separator, #empty_field, #unset_field, #path,
// #fields, #types) before the first record, "-" for unset fields. Call
// Flush when done; write errors are kept and returned by Flush.
type TSVWriter struct {
	w      *bufio.Writer
	header bool
	line   []byte
	err    error
}

// NewTSVWriter returns a TSVWriter writing to w.
func NewTSVWriter(w io.Writer) *TSVWriter { return &TSVWriter{w: bufio.NewWriter(w)} }

// WriteHeader writes the header lines, if not written yet. Write calls it;
// call it directly for a log with no record.
func (t *TSVWriter) WriteHeader() {
	if t.header {
		return
	}
	t.header = true
	t.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n" +
		"#fields\t" + strings.Join(Fields, "\t") + "\n#types\t" + strings.Join(Types, "\t") + "\n")
}

// Write writes one record as one line.
func (t *TSVWriter) Write(r Record) {
	t.WriteHeader()
	t.line = r.AppendTSV(t.line[:0])
	t.line = append(t.line, '\n')
	t.write(string(t.line))
}

func (t *TSVWriter) write(s string) {
	if t.err == nil {
		_, t.err = t.w.WriteString(s)
	}
}

// Flush writes what is buffered and returns the first error met.
func (t *TSVWriter) Flush() error {
	if err := t.w.Flush(); t.err == nil {
		t.err = err
	}
	return t.err
}

// AppendTSV appends r as one line of the TSV log (without the newline).
func (r Record) AppendTSV(b []byte) []byte {
	b = epoch(b, r.TS)
	b = tab(b, r.UID)
	b = tab(b, r.Orig.Addr().String())
	b = strconv.AppendUint(append(b, '\t'), uint64(r.Orig.Port()), 10)
	b = tab(b, r.Resp.Addr().String())
	b = strconv.AppendUint(append(b, '\t'), uint64(r.Resp.Port()), 10)
	b = tab(b, r.Proto)
	b = tab(b, orUnset(r.Service))
	if r.unset() {
		b = append(b, "\t-\t-\t-"...)
	} else {
		b = seconds(append(b, '\t'), r.Duration)
		b = strconv.AppendInt(append(b, '\t'), r.OrigBytes, 10)
		b = strconv.AppendInt(append(b, '\t'), r.RespBytes, 10)
	}
	b = tab(b, orUnset(r.ConnState))
	b = strconv.AppendInt(append(b, '\t'), r.MissedBytes, 10)
	b = tab(b, orUnset(r.History))
	for _, n := range [...]int64{r.OrigPkts, r.OrigIPBytes, r.RespPkts, r.RespIPBytes} {
		b = strconv.AppendInt(append(b, '\t'), n, 10)
	}
	return b
}

func tab(b []byte, s string) []byte { return append(append(b, '\t'), s...) }

func orUnset(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// MarshalJSON writes r as Zeek's JSON logs do: one object with the conn.log
// field names in Zeek's order, ts as seconds since 1970, duration in
// seconds, unset fields left out.
func (r Record) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

// AppendJSON appends r as MarshalJSON writes it.
func (r Record) AppendJSON(b []byte) []byte {
	b = epoch(append(b, `{"ts":`...), r.TS)
	b = quote(append(b, `,"uid":`...), r.UID)
	b = quote(append(b, `,"id.orig_h":`...), r.Orig.Addr().String())
	b = strconv.AppendUint(append(b, `,"id.orig_p":`...), uint64(r.Orig.Port()), 10)
	b = quote(append(b, `,"id.resp_h":`...), r.Resp.Addr().String())
	b = strconv.AppendUint(append(b, `,"id.resp_p":`...), uint64(r.Resp.Port()), 10)
	b = quote(append(b, `,"proto":`...), r.Proto)
	if r.Service != "" {
		b = quote(append(b, `,"service":`...), r.Service)
	}
	if !r.unset() {
		b = seconds(append(b, `,"duration":`...), r.Duration)
		b = strconv.AppendInt(append(b, `,"orig_bytes":`...), r.OrigBytes, 10)
		b = strconv.AppendInt(append(b, `,"resp_bytes":`...), r.RespBytes, 10)
	}
	if r.ConnState != "" {
		b = quote(append(b, `,"conn_state":`...), r.ConnState)
	}
	b = strconv.AppendInt(append(b, `,"missed_bytes":`...), r.MissedBytes, 10)
	if r.History != "" {
		b = quote(append(b, `,"history":`...), r.History)
	}
	b = strconv.AppendInt(append(b, `,"orig_pkts":`...), r.OrigPkts, 10)
	b = strconv.AppendInt(append(b, `,"orig_ip_bytes":`...), r.OrigIPBytes, 10)
	b = strconv.AppendInt(append(b, `,"resp_pkts":`...), r.RespPkts, 10)
	b = strconv.AppendInt(append(b, `,"resp_ip_bytes":`...), r.RespIPBytes, 10)
	return append(b, '}')
}

// quote appends s as a JSON string.
func quote(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
