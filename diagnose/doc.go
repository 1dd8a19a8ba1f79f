// Package diagnose draws the conclusions no single connection explains,
// from the decoded packets of package layers, the events of the analysis
// and the summaries of closed TCP connections (casebook C2, C6, C9, C14,
// C16–C21):
//
//   - Network: ICMP errors matched to the flows they quote, path-MTU
//     reductions and black holes, fragmentation, UDP and SYN floods, one
//     source opening many connections (NAT), ARP storms and conflicts,
//     replies from another address than the one asked, periodic attempts,
//     destinations explained by DNS, and the workload profile per service.
//   - Connections: failures that cluster on source ports, servers that stop
//     accepting while serving, resets after idle.
//
// It reads layers.Packet directly and keeps no packet model of its own;
// every table it keeps is bounded (NetworkConfig, ConnectionsConfig) and
// everything is driven by capture time. It emits its findings at Finish, in
// frame order. A finding is as severe as the capture proves it: a SYN
// flood whose server's answers are not in the capture (one direction
// captured) is a notice, not a warning.
//
// Types in this package are not safe for concurrent use.
package diagnose
