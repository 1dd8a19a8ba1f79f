// Package demo holds the capture bundled with the examples: real traffic
// from a lab branch office with known faults (a SYN-ACK carrying stray
// bytes, an endpoint-mapper reply naming another IP, a gzip body that does
// not decompress, a failed SQL login, a failed SMB logon, a refused and an
// unanswered connection, an expired certificate). doctor analyses it when
// given no capture; pcapsynth builds benchmark captures from it when given
// no template.
package demo

import _ "embed"

// Name is the bundled capture's file name.
const Name = "branch-office.pcapng"

// Capture is the bundled capture (pcapng, with the TLS key log in a
// Decryption Secrets Block).
//
//go:embed branch-office.pcapng
var Capture []byte
