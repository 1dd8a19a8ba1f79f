package tls

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nettrace/nettrace/tcpstate"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRecord(t *testing.T) {
	alert := Record{Type: TypeAlert, Version: VersionTLS12, Fragment: []byte{0x02, 0x28}}
	tests := []struct {
		name, in, wantRest string
		want               Record
		wantErr            error
	}{
		{name: "alert", in: "15030300020228", want: alert},
		{name: "two records", in: "1503030002022816", wantRest: "16", want: alert},
		{name: "short header", in: "1603", wantRest: "1603", wantErr: ErrTruncated},
		{name: "short body", in: "16030300050100", wantRest: "16030300050100", wantErr: ErrTruncated},
		{name: "over limit", in: "1703034801", wantRest: "1703034801", wantErr: ErrMalformed},
		{name: "unknown type", in: "6303030001ff", wantRest: "6303030001ff", wantErr: ErrMalformed},
		{name: "not version 3", in: "1604030001ff", wantRest: "1604030001ff", wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rest, err := ParseRecord(mustHex(t, tc.in))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ParseRecord() error = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("record mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(mustHex(t, tc.wantRest), rest, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("rest mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRecordPrefixesTruncated: every strict prefix of a record is
// ErrTruncated.
func TestRecordPrefixesTruncated(t *testing.T) {
	rec := mustHex(t, "160303000a0102030405060708090a")
	for i := 0; i < len(rec); i++ {
		if _, _, err := ParseRecord(rec[:i]); !errors.Is(err, ErrTruncated) {
			t.Errorf("prefix %d: error %v, want ErrTruncated", i, err)
		}
	}
}

// clientHelloRFC8448 is the RFC 8448 section 3 ClientHello body.
const clientHelloRFC8448 = "0303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113031302010000910000000b0009000006736572766572ff01000100000a00140012001d0017001800190100010101020103010400230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d00020101001c00024001"

func TestParseClientHello(t *testing.T) {
	ch, err := ParseClientHello(mustHex(t, clientHelloRFC8448))
	if err != nil {
		t.Fatal(err)
	}
	if ch.ServerName != "server" || ch.MaxVersion() != VersionTLS13 || len(ch.CipherSuites) != 3 ||
		!cmp.Equal(ch.KeyShareGroups, []uint16{29}) || !ch.SessionTicket || ch.PSK || len(ch.SignatureAlgorithms) != 15 {
		t.Errorf("client hello %+v", ch)
	}
	ja3, hash := ch.JA3()
	if ja3 != "771,4865-4867-4866,0-65281-10-35-51-43-13-45-28,29-23-24-25-256-257-258-259-260," || len(hash) != 32 {
		t.Errorf("JA3 %q %s", ja3, hash)
	}
	// Every strict prefix fails, except the one ending after the
	// compression methods: a ClientHello without extensions is valid
	// (RFC 5246, 7.4.1.2).
	body := mustHex(t, clientHelloRFC8448)
	for i := 0; i < len(body); i++ {
		if _, err := ParseClientHello(body[:i]); err == nil && i != 45 {
			t.Errorf("prefix %d parsed", i)
		}
	}
	// Trailing bytes are malformed.
	if _, err := ParseClientHello(append(body, 0)); !errors.Is(err, ErrMalformed) {
		t.Errorf("trailing byte: %v", err)
	}
}

// TestRejectDuplicateExtensions: a ClientHello repeating an extension is
// malformed (RFC 8446, 4.2).
func TestRejectDuplicateExtensions(t *testing.T) {
	body := mustHex(t, "0303"+"00000000000000000000000000000000000000000000000000000000000000000000"+"00020a0a"+"0100"+"0008"+"00170000"+"00170000")
	if _, err := ParseClientHello(body); !errors.Is(err, ErrMalformed) {
		t.Errorf("error %v, want ErrMalformed", err)
	}
}

func TestParseHandshakeLimit(t *testing.T) {
	if _, _, err := ParseHandshake(mustHex(t, "0b010000"), 100); !errors.Is(err, ErrMalformed) {
		t.Errorf("oversized: %v", err)
	}
	if _, _, err := ParseHandshake(mustHex(t, "14000004aabb"), 100); !errors.Is(err, ErrTruncated) {
		t.Errorf("short: %v", err)
	}
}

func TestSSLv2ClientHello(t *testing.T) {
	// SSLv2-compatible hello offering TLS 1.0, 2 cipher specs, 16-byte challenge.
	in := mustHex(t, "801f010301000600000010"+"00002f000035"+"0102030405060708090a0b0c0d0e0f10")
	h, rest, err := ParseSSLv2ClientHello(in)
	if err != nil || len(rest) != 0 || h.Version != VersionTLS10 || len(h.CipherSuites) != 2 {
		t.Fatalf("got %+v rest %d err %v", h, len(rest), err)
	}
	if !Detect(tcpstate.ClientToServer, in) {
		t.Error("Detect(sslv2 hello) = false")
	}
}

func TestDetect(t *testing.T) {
	ch := mustHex(t, "16030100c4010000c00303")
	sh := mustHex(t, "160303005a020000560303")
	for _, tc := range []struct {
		dir  tcpstate.Dir
		in   []byte
		want bool
	}{
		{tcpstate.ClientToServer, ch, true},
		{tcpstate.ServerToClient, sh, true},
		{tcpstate.ServerToClient, ch, false},
		{tcpstate.ClientToServer, []byte("GET / HTTP/1.1\r\n"), false},
		{tcpstate.ClientToServer, ch[:5], false},
		{tcpstate.ServerToClient, mustHex(t, "15030300020228"), true},
	} {
		if got := Detect(tc.dir, tc.in); got != tc.want {
			t.Errorf("Detect(%s, %x) = %v, want %v", tc.dir, tc.in, got, tc.want)
		}
	}
}

func TestMatchHost(t *testing.T) {
	c := CertInfo{DNSNames: []string{"*.example.test", "example.test"}, IPs: []string{"10.0.0.1"}}
	for host, want := range map[string]string{
		"web.example.test": MatchWildcard, "example.test": MatchExact, "a.b.example.test": MatchNone,
		"other.test": MatchNone, "10.0.0.1": MatchIP, "10.0.0.2": MatchNone, "WEB.Example.Test.": MatchWildcard,
	} {
		if got := c.MatchHost(host); got != want {
			t.Errorf("MatchHost(%q) = %q, want %q", host, got, want)
		}
	}
}

// TestGapResync: after a gap, the direction resynchronises on the next
// record header and decryption finds the sequence number again.
func TestGapResync(t *testing.T) {
	streams := readStreams(t, testdata("tls13-aes128gcm-curl-nginx.pcap"))
	kl := mustKeyLog(t, testdata("tls13-aes128gcm-curl-nginx.keys"))
	r := &plainSink{}
	cfg := DefaultConfig()
	cfg.KeyLog = kl
	cfg.Plaintext = func(*tcpstate.StreamContext) tcpstate.StreamHandler { return r }
	col := newCollector()
	c := NewConn(&tcpstate.StreamContext{Reporter: col}, cfg)
	dropped := false
	for _, seg := range streams[0].Segments {
		dir := tcpstate.ServerToClient
		if seg.ClientToServer {
			dir = tcpstate.ClientToServer
		}
		at := tcpstate.Position{Frame: seg.Frame, Time: seg.Time}
		if !dropped && dir == tcpstate.ServerToClient && seg.Frame > 40 {
			dropped = true
			c.Gap(dir, len(seg.Data), at)
			continue
		}
		c.Feed(dir, seg.Data, at)
	}
	c.Close(tcpstate.CloseFIN, tcpstate.Position{})
	if r.gaps[1] == 0 {
		t.Error("plaintext decoder was not told of the gap")
	}
	if len(r.data[1]) < 30000 {
		t.Errorf("only %d plaintext bytes after the gap", len(r.data[1]))
	}
	for _, e := range col.Events {
		if e.Kind == "tls.decrypt_failed" {
			t.Errorf("%s", e.Message)
		}
	}
}
