// Package pair compares two captures of the same traffic taken at two
// points — typically one at the client and one at the server, possibly with
// NAT between them (casebook C1, C13, C15). It matches the TCP connections
// seen in both, and says what changed between the two points: packets
// altered in transit (pair.packet_changed), segments sent and never
// delivered (pair.lost_between), and where each request's time goes
// (pair.delay_split: the network between the points versus the server).
//
// ReadCapture reads a capture's connections as tcpstate's tracker numbers
// them (tshark's tcp.stream), keeping TCP header values only, never
// payload; Compare matches and compares two such views; AnalyzeFiles does
// both for two files. Memory is bounded by Limits.
//
// Types in this package are not safe for concurrent use.
package pair
