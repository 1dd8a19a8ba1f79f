// Package fuzz holds fuzz targets that go through nettrace's public API:
// the whole Analyzer over arbitrary capture bytes, and each stream decoder
// fed arbitrary chunks with gaps inserted. Every parser also has its own
// FuzzXxx target beside it in its package.
//
// Run one target locally:
//
//	go test ./fuzz -run '^$' -fuzz '^FuzzAnalyzeCapture$' -fuzztime 60s
//
// .ci/run runs every target for a few seconds; a crasher fails CI, and its
// input (written under testdata/fuzz/) is kept as a regression seed.
package fuzz
