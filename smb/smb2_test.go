package smb

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRejectBody2EndingAfterStructureSize: every request and response body
// that body2Parsers decodes is truncated when it ends right after its
// StructureSize, and the error names the command and direction; a body
// with nothing to decode gives the zero Body2.
func TestRejectBody2EndingAfterStructureSize(t *testing.T) {
	for cmd := SMB2Negotiate; cmd <= SMB2OplockBreak; cmd++ {
		for _, resp := range []bool{false, true} {
			dir, parse := "request", body2Parsers[cmd].request
			if resp {
				dir, parse = "response", body2Parsers[cmd].response
			}
			t.Run(cmd.String()+" "+dir, func(t *testing.T) {
				m := msg2(cmd, 1, resp, StatusSuccess, 0, le.AppendUint16(nil, structSize2(cmd, resp)))
				h, _, err := ParseHeader2(m)
				if err != nil {
					t.Fatal(err)
				}
				got, err := ParseBody2(h, m)
				if parse == nil {
					if err != nil {
						t.Fatalf("ParseBody2() error = %v, want nil", err)
					}
					if diff := cmp.Diff(Body2{}, got); diff != "" {
						t.Errorf("body mismatch (-want +got):\n%s", diff)
					}
					return
				}
				var pe *ParseError
				if !errors.Is(err, ErrTruncated) || !errors.As(err, &pe) {
					t.Fatalf("ParseBody2() error = %v, want ErrTruncated", err)
				}
				if want := "smb2 " + cmd.String() + " " + dir; pe.What != want {
					t.Errorf("error names %q, want %q", pe.What, want)
				}
			})
		}
	}
}

// TestRejectBody2BufferOutsideMessage: an offset/length field that points
// past the message is malformed, and the error names the field.
func TestRejectBody2BufferOutsideMessage(t *testing.T) {
	tests := []struct {
		name  string
		msg   []byte
		at    int // offset of the length field in the message
		field string
	}{
		{"tree connect path", msg2(SMB2TreeConnect, 1, false, 0, 0, treeConnectReq2(`\\s\x`)), 64 + 6, "path"},
		{"create name", msg2(SMB2Create, 1, false, 0, 0, createReq2("x")), 64 + 46, "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			le.PutUint16(tc.msg[tc.at:], 0x7000)
			h, _, _ := ParseHeader2(tc.msg)
			_, err := ParseBody2(h, tc.msg)
			var pe *ParseError
			if !errors.Is(err, ErrMalformed) || !errors.As(err, &pe) {
				t.Fatalf("ParseBody2() error = %v, want ErrMalformed", err)
			}
			if want := tc.field + " "; len(pe.Detail) < len(want) || pe.Detail[:len(want)] != want {
				t.Errorf("detail %q does not name %q", pe.Detail, tc.field)
			}
		})
	}
}
