// Package nettrace analyses packet captures: it reads pcap and pcapng files,
// tracks every TCP connection, decodes TLS (decrypting with key logs), HTTP,
// SMB, DCE/RPC with the endpoint mapper and TDS, and reports stream-health
// events — what went wrong on the wire, in which frame, and the likely cause.
//
// The root package is the facade: the Analyzer opens captures, runs them
// through layers (packets), tcpstate (connections), the stream decoders
// (tls, http, smb, rpc, tds) and diagnose (cross-flow diagnoses), detects
// protocols by port, by first bytes and by endpoints learned from
// endpoint-mapper replies, routes each stream to its decoder and collects a
// Report. It holds no protocol logic; that lives in the protocol packages.
// Two captures of the same traffic are compared by package pair.
//
// The simplest use:
//
//	rep, err := nettrace.AnalyzeFile("customer.pcapng", nettrace.Options{})
//	if err != nil { … }
//	for _, f := range rep.Findings { fmt.Println(f.Severity, f.Kind, f.Count, f.Frames) }
//
// An Analyzer is not safe for concurrent use; run one per capture.
//
// Options.Filter (a tcpdump-syntax capture filter, layers.Filter), From and
// To (a capture-time window) leave frames out before they are decoded, as
// if the capture held only the others; Options.Streams analyses only some
// TCP connections, numbered as tshark's tcp.stream. Report.Skipped counts
// what they left out.
//
// Options.Workers runs the application decoders on several goroutines
// (connections sharded by stream ID) while the calling goroutine reads,
// decodes and tracks the packets; the events are merged back into the order
// of a single-worker run, so the output is the same byte for byte.
//
// Options.Handlers receives the decoded messages of SMB, DCE/RPC, TDS, TLS
// and HTTP/1 as Go types (*smb.Message, *rpc.Message, *tds.Message,
// *tls.Message, *http.Message), in capture order whatever Workers; with
// no handler set (and Options.Messages off) no message is built.
package nettrace
