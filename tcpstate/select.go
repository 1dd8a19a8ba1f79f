package tcpstate

// selected reports whether the connection with stream ID id is analysed
// (Tracker.Select). Connections that are not are tracked as closely as the
// others, since which connection a later packet starts or joins (port
// reuse, late packets after FIN or RST, idle expiry) depends on their
// state; only what they would report is left out.
func (t *Tracker) selected(id uint64) bool {
	return t.Select == nil || t.Select(id)
}
