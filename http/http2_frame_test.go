package http

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseFrame(t *testing.T) {
	hdrBlock := "\x82\x84\x87" // :method GET, :path /, :scheme http (RFC 7541, C.3.1)
	tests := []struct {
		name     string
		in       string
		max      uint32
		want     Frame
		wantRest string
		wantErr  error
	}{
		{name: "DATA", in: dataFrame(1, FlagEndStream, "hello"),
			want: Frame{FrameHeader: FrameHeader{Length: 5, Type: FrameData, Flags: FlagEndStream, StreamID: 1}, Payload: []byte("hello"), Data: []byte("hello")}},
		{name: "DATA padded", in: rawFrame(FrameData, FlagPadded, 3, "\x02hi\x00\x00"),
			want: Frame{FrameHeader: FrameHeader{Length: 5, Type: FrameData, Flags: FlagPadded, StreamID: 3}, Payload: []byte("\x02hi\x00\x00"), PadLength: 2, Data: []byte("hi")}},
		{name: "DATA padding past the payload", in: rawFrame(FrameData, FlagPadded, 3, "\x05hi"), wantErr: ErrMalformed},
		{name: "DATA padded, empty", in: rawFrame(FrameData, FlagPadded, 3, ""), wantErr: ErrMalformed},
		{name: "DATA on stream 0", in: dataFrame(0, 0, "x"), wantErr: ErrMalformed},
		{name: "HEADERS with priority", in: rawFrame(FrameHeaders, FlagEndHeaders|FlagPriority, 1, "\x80\x00\x00\x03\x0f"+hdrBlock),
			want: Frame{FrameHeader: FrameHeader{Length: 8, Type: FrameHeaders, Flags: FlagEndHeaders | FlagPriority, StreamID: 1},
				Payload: []byte("\x80\x00\x00\x03\x0f" + hdrBlock), Priority: PriorityParam{Exclusive: true, StreamDep: 3, Weight: 15}, Block: []byte(hdrBlock)}},
		{name: "HEADERS priority cut", in: rawFrame(FrameHeaders, FlagPriority, 1, "\x00\x00"), wantErr: ErrMalformed},
		{name: "PRIORITY", in: rawFrame(FramePriority, 0, 5, "\x00\x00\x00\x03\xff"),
			want: Frame{FrameHeader: FrameHeader{Length: 5, Type: FramePriority, StreamID: 5}, Payload: []byte("\x00\x00\x00\x03\xff"), Priority: PriorityParam{StreamDep: 3, Weight: 255}}},
		{name: "PRIORITY of 4 bytes", in: rawFrame(FramePriority, 0, 5, "\x00\x00\x00\x03"), wantErr: ErrMalformed},
		{name: "RST_STREAM", in: rstFrame(7, ErrCodeCancel),
			want: Frame{FrameHeader: FrameHeader{Length: 4, Type: FrameRSTStream, StreamID: 7}, Payload: []byte(u32(8)), ErrCode: ErrCodeCancel}},
		{name: "RST_STREAM on stream 0", in: rstFrame(0, ErrCodeCancel), wantErr: ErrMalformed},
		{name: "SETTINGS", in: settingsFrame(3, 100, 4, 65535),
			want: Frame{FrameHeader: FrameHeader{Length: 12, Type: FrameSettings}, Payload: []byte("\x00\x03\x00\x00\x00\x64\x00\x04\x00\x00\xff\xff"),
				Settings: []Setting{{SettingMaxConcurrentStreams, 100}, {SettingInitialWindowSize, 65535}}}},
		{name: "SETTINGS ACK with payload", in: rawFrame(FrameSettings, FlagAck, 0, "\x00\x03\x00\x00\x00\x64"), wantErr: ErrMalformed},
		{name: "SETTINGS of 5 bytes", in: rawFrame(FrameSettings, 0, 0, "\x00\x03\x00\x00\x00"), wantErr: ErrMalformed},
		{name: "SETTINGS on stream 1", in: rawFrame(FrameSettings, 0, 1, ""), wantErr: ErrMalformed},
		{name: "PUSH_PROMISE", in: rawFrame(FramePushPromise, FlagEndHeaders, 1, u32(2)+hdrBlock),
			want: Frame{FrameHeader: FrameHeader{Length: 7, Type: FramePushPromise, Flags: FlagEndHeaders, StreamID: 1},
				Payload: []byte(u32(2) + hdrBlock), Promised: 2, Block: []byte(hdrBlock)}},
		{name: "PING", in: rawFrame(FramePing, FlagAck, 0, "\x00\x00\x00\x00\x00\x00\x00\x2a"),
			want: Frame{FrameHeader: FrameHeader{Length: 8, Type: FramePing, Flags: FlagAck}, Payload: []byte("\x00\x00\x00\x00\x00\x00\x00\x2a"), Opaque: 42}},
		{name: "PING of 7 bytes", in: rawFrame(FramePing, 0, 0, "1234567"), wantErr: ErrMalformed},
		{name: "GOAWAY", in: goAwayFrame(5, ErrCodeEnhanceYourCalm, "calm"),
			want: Frame{FrameHeader: FrameHeader{Length: 12, Type: FrameGoAway}, Payload: []byte(u32(5) + u32(11) + "calm"),
				LastStreamID: 5, ErrCode: ErrCodeEnhanceYourCalm, Debug: []byte("calm")}},
		{name: "GOAWAY of 7 bytes", in: rawFrame(FrameGoAway, 0, 0, "1234567"), wantErr: ErrMalformed},
		{name: "WINDOW_UPDATE with the reserved bit", in: rawFrame(FrameWindowUpdate, 0, 0, u32(1<<31|1000)),
			want: Frame{FrameHeader: FrameHeader{Length: 4, Type: FrameWindowUpdate}, Payload: []byte(u32(1<<31 | 1000)), Increment: 1000}},
		{name: "CONTINUATION", in: rawFrame(FrameContinuation, FlagEndHeaders, 1, hdrBlock),
			want: Frame{FrameHeader: FrameHeader{Length: 3, Type: FrameContinuation, Flags: FlagEndHeaders, StreamID: 1}, Payload: []byte(hdrBlock), Block: []byte(hdrBlock)}},
		{name: "unknown type is kept whole", in: rawFrame(0xfa, 0xff, 9, "ab"),
			want: Frame{FrameHeader: FrameHeader{Length: 2, Type: 0xfa, Flags: 0xff, StreamID: 9}, Payload: []byte("ab")}},
		{name: "reserved stream bit ignored", in: rawFrame(FramePing, 0, 1<<31, "12345678"),
			want: Frame{FrameHeader: FrameHeader{Length: 8, Type: FramePing}, Payload: []byte("12345678"), Opaque: 0x3132333435363738}},
		{name: "two frames", in: settingsAck + settingsAck, wantRest: settingsAck,
			want: Frame{FrameHeader: FrameHeader{Type: FrameSettings, Flags: FlagAck}, Payload: []byte{}}},
		{name: "over SETTINGS_MAX_FRAME_SIZE", in: dataFrame(1, 0, string(make([]byte, 20))), max: 16, wantErr: ErrMalformed},
		{name: "short header", in: "\x00\x00\x00\x04", wantErr: ErrTruncated},
		{name: "short payload", in: dataFrame(1, 0, "hello")[:12], wantErr: ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rest, err := ParseFrame([]byte(tc.in), tc.max)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ParseFrame() error = %v, want %v", err, tc.wantErr)
			}
			if err != nil && string(rest) != tc.in {
				t.Errorf("ParseFrame() on error returned rest %q, want the input", rest)
			}
			if err == nil {
				if diff := cmp.Diff(tc.wantRest, string(rest)); diff != "" {
					t.Errorf("rest (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("frame (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRejectFramePrefixes: no strict prefix of a frame parses; each is
// ErrTruncated.
func TestRejectFramePrefixes(t *testing.T) {
	enc := newEnc()
	for _, f := range []string{
		dataFrame(1, FlagEndStream, "hello"), enc.headers(1, 0, get("/")...), settingsFrame(1, 4096, 4, 65535),
		goAwayFrame(3, ErrCodeNo, "bye"), rstFrame(1, ErrCodeCancel), rawFrame(FramePing, 0, 0, "12345678"),
	} {
		for n := range len(f) {
			if _, _, err := ParseFrame([]byte(f[:n]), 0); !errors.Is(err, ErrTruncated) {
				t.Errorf("prefix %x of %x: error %v, want ErrTruncated", f[:n], f, err)
			}
		}
	}
}

// TestFrameLengthTooLarge: every frame announcing more bytes than maxLen
// is malformed before its payload is waited for.
func TestFrameLengthTooLarge(t *testing.T) {
	for _, n := range []uint32{defaultMaxFrameSize + 1, MaxFrameLen} {
		b := []byte(rawFrame(FrameHeaders, 0, 1, ""))
		b[0], b[1], b[2] = byte(n>>16), byte(n>>8), byte(n)
		if _, _, err := ParseFrame(b, defaultMaxFrameSize); !errors.Is(err, ErrMalformed) {
			t.Errorf("length %d: error %v, want ErrMalformed", n, err)
		}
	}
}

func TestFrameNames(t *testing.T) {
	got := []string{FrameGoAway.String(), FrameType(0xfe).String(), ErrCodeHTTP11Required.String(), ErrCode(0x42).String(),
		SettingMaxFrameSize.String(), SettingID(0x99).String(), FlagString(FrameHeaders, FlagEndStream|FlagEndHeaders|0x40),
		FlagString(FrameSettings, FlagAck), FlagString(FrameData, 0)}
	want := []string{"GOAWAY", "FrameType(0xfe)", "HTTP_1_1_REQUIRED", "ErrCode(0x42)", "MAX_FRAME_SIZE", "SettingID(0x99)",
		"END_STREAM|END_HEADERS|0x40", "ACK", ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

// TestParseFrameHex parses frames as Go's net/http server sent them
// (h2c-upgrade-go-curl.pcap, frame 11: SETTINGS ACK, WINDOW_UPDATE).
func TestParseFrameHex(t *testing.T) {
	b, err := hex.DecodeString("000000040100000000" + "00000408000000000000" + "0f0001")
	if err != nil {
		t.Fatal(err)
	}
	f, rest, err := ParseFrame(b, 0)
	if err != nil || f.Type != FrameSettings || !f.Flags.Has(FlagAck) {
		t.Fatalf("first frame: %+v, %v", f, err)
	}
	f, rest, err = ParseFrame(rest, 0)
	if err != nil || f.Type != FrameWindowUpdate || f.Increment != 0xf0001 || len(rest) != 0 {
		t.Fatalf("second frame: %+v, rest %x, %v", f, rest, err)
	}
}
