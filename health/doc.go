// Package health owns nettrace's output vocabulary: the stream-health Event
// (what went wrong on the wire, in which frame, and the likely cause), the
// decoded-message record printed by examples/dissect, the catalogue of event
// kinds and their severities (kinds.go), the sinks that write both as JSON
// lines or text, and the typed per-connection summary (FlowStats).
//
// Decoders of SMB, DCE/RPC, TDS, TLS and HTTP/1 put a typed message in
// Message.Value (a Decoded: its Fields is the JSON form); Values ranges
// over the kept messages of one type, and nettrace.Handlers delivers them
// to typed functions without a Reporter.
//
// health is the ground floor: it imports no other package of the project,
// and every other package reports through its Reporter. The diagnoses that
// reason across connections live in package diagnose, the comparison of
// two captures in package pair.
//
// Types in this package are not safe for concurrent use unless a type's doc
// says otherwise.
package health

//go:generate go run ../internal/eventschema/gen
