// Package htmlreport renders a nettrace.Report as one self-contained HTML
// page: the findings, most serious first, each with the graphs of a
// connection it was found on, and the table of TCP connections, sortable
// by clicking a column header.
//
// The graphs are inline SVG, each with a data-graph attribute naming its
// kind: the Stevens time-sequence graph of the connection's data direction
// (GraphSequence: data segments, retransmissions, segments after missing
// bytes, the ACK line, the receive window and SACK blocks), the round-trip
// time over time (GraphRTT), the throughput of each direction
// (GraphThroughput) and, for request/response protocols, the latency
// timeline splitting each response time into network round trip and server
// time (GraphLatency). They are drawn from Report.Series, which the
// analysis records when nettrace.Options.Series is set, for a bounded
// number of connections with findings (see nettrace.SeriesOptions).
//
// The page fetches nothing (no script, style, font or image from anywhere)
// and its Content-Security-Policy allows only its own inline script, by
// hash. Every string from the capture — URIs, host names, SNI, file names,
// SQL text, certificate names — is escaped: a capture is attacker-controlled
// and a URI such as /<script>…</script> shows as text.
package htmlreport
