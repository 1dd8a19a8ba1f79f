module github.com/nettrace/nettrace

go 1.26.0

require (
	github.com/google/go-cmp v0.7.0
	github.com/google/gopacket v1.1.19
	github.com/klauspost/compress v1.20.3
	golang.org/x/crypto v0.58.0
	golang.org/x/net v0.60.0
)

require golang.org/x/sys v0.49.0 // indirect
