// Package health owns nettrace's output vocabulary: the stream-health Event
// (what went wrong on the wire, in which frame, and the likely cause), the
// decoded-message record printed by examples/dissect, the catalogue of event
// kinds (kinds.go), the sinks that write both as JSON lines or text, and the
// diagnoses that reason over events and per-flow summaries across
// connections.
//
// health imports no protocol package: protocol decoders depend on it, never
// the other way round.
//
// Types in this package are not safe for concurrent use unless a type's doc
// says otherwise.
package health
