package layers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/gopacket"
	glayers "github.com/google/gopacket/layers"
)

func TestLayerTypes(t *testing.T) {
	smb1 := append([]byte{0, 0, 0, 33, 0xff, 'S', 'M', 'B', 0x72, 0x22, 0, 0, 0xc0, 0x18, 0x01, 0x28}, make([]byte, 20)...)
	smb1 = append(smb1, 0)
	tests := []struct {
		name    string
		first   gopacket.LayerType
		in      []byte
		want    gopacket.DecodingLayer
		payload int
		trunc   bool
	}{
		{"smb1 negotiate", LayerTypeNBSS, smb1, &SMB{Command: 0x72, Status: 0xc0000022, Flags: 0x18, Flags2: 0x2801}, 1, false},
		{"dcerpc bind le", LayerTypeDCERPC, []byte{5, 0, 11, 3, 0x10, 0, 0, 0, 20, 0, 0, 0, 2, 0, 0, 0, 1, 2, 3, 4},
			&DCERPC{Major: 5, PacketType: 11, Flags: 3, DataRep: [4]byte{0x10}, FragLength: 20, CallID: 2}, 4, false},
		{"dcerpc big-endian cut", LayerTypeDCERPC, []byte{5, 0, 0, 3, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 9, 1},
			&DCERPC{Major: 5, PacketType: 0, Flags: 3, FragLength: 100, CallID: 9}, 1, true},
		{"tds prelogin", LayerTypeTDS, []byte{18, 1, 0, 10, 0, 0, 1, 0, 0xaa, 0xbb}, &TDS{Type: 18, Status: 1, Length: 10, PacketID: 1}, 2, false},
		{"tls handshake", LayerTypeTLS, []byte{22, 3, 1, 0, 2, 1, 0, 0xff}, &TLSRecord{ContentType: 22, Version: 0x0301, Length: 2}, 2, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkt := gopacket.NewPacket(tc.in, tc.first, gopacket.Default)
			l := pkt.Layer(tc.want.(gopacket.Layer).LayerType())
			if l == nil {
				t.Fatalf("layer not decoded: %v", pkt)
			}
			if diff := cmp.Diff(tc.want, l, cmpopts.IgnoreTypes(glayers.BaseLayer{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got := len(l.LayerPayload()); got != tc.payload {
				t.Errorf("payload %d bytes, want %d", got, tc.payload)
			}
			if m := pkt.Metadata(); m.Truncated != tc.trunc {
				t.Errorf("truncated = %v", m.Truncated)
			}
		})
	}
	// Bad magic / version are errors, and no prefix panics.
	for _, l := range []gopacket.DecodingLayer{&NBSS{}, &SMB{}, &SMB2{}, &DCERPC{}, &TDS{}, &TLSRecord{}} {
		in := smb1
		for i := 0; i <= len(in); i++ {
			_ = l.DecodeFromBytes(in[:i], gopacket.NilDecodeFeedback)
		}
	}
	if err := (&TLSRecord{}).DecodeFromBytes([]byte{99, 3, 3, 0, 0}, gopacket.NilDecodeFeedback); err == nil {
		t.Error("TLS record type 99 accepted")
	}
	if err := (&DCERPC{}).DecodeFromBytes(make([]byte, 16), gopacket.NilDecodeFeedback); err == nil {
		t.Error("DCE/RPC version 0 accepted")
	}
}
