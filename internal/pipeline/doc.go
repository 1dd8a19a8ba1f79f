// Package pipeline runs an analysis on several goroutines while keeping
// the output of a single-goroutine run, byte for byte (Options.Workers of
// the root package).
//
// The calling goroutine reads, decodes and tracks every packet exactly as a
// single-worker run does — so stream numbers, TCP analysis, idle expiry and
// the connection cap are those of one worker — and writes, in order, a
// record of everything it reports, of what the cross-connection diagnoses
// observe (packets, closed connections), and one job per call into an
// application decoder (attach, Feed, Gap, Close). The jobs run on the
// workers, sharded by stream ID, so each connection's calls run in order
// on one goroutine. The merger goroutine replays the record batch by batch,
// splicing in each job's output where the call was made, into a Merger:
// it sees exactly the sequence of a single-worker run.
//
// One thing crosses connections and is kept in single-worker order
// explicitly: state that decoders of some connections write and decoders of
// others read (the endpoints learned from endpoint-mapper replies). Jobs of
// connections that may write it are marked when attached; a decoder that
// reads it first calls Worker.WaitPrevious, which returns once the other
// workers have run every earlier marked job, and compares what it reads
// with Worker.Seq, the position of its own job. Everything else that
// crosses connections is drained first (Pipeline.Drain).
//
// The package is internal: the root package is its only user.
package pipeline
