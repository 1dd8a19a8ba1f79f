// Package adversary writes hostile captures for tests and measurements:
// the inputs a tool meets in the wild or from an attacker, each small,
// deterministic (no clock, a fixed random seed) and scalable by a count.
// Tests across the module assert that each one gives a clear event and
// bounded output (event counts, buffered bytes, table sizes); the command
// in ./advcap writes any of them to a file for measurements:
//
//	go run ./internal/adversary/advcap -case syn-flood -n 2000000 -o flood.pcap
//
// It lives in internal/ because it is a tool of this repository, not an
// API: tests in several packages (the root package, tcpstate, layers) use
// it, and the examples/ programs are built on the public API only.
//
// What it owns: pcap (through internal/testcap) and pcapng writers of the
// cases listed by Cases; it knows just enough of SMB, TDS and NBSS framing
// to write their damaged forms. It does not analyse anything. Nothing in it
// is safe for concurrent use on one Builder.
package adversary
