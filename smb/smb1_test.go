package smb

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/internal/wire"
)

// TestSMB1EmptyRequestBlocks: every request block1Parsers reads accepts a
// block with no words and no bytes and decodes nothing, except the
// commands whose layout fixes the word count, which are malformed.
func TestSMB1EmptyRequestBlocks(t *testing.T) {
	fixed := map[Command1]bool{SMB1NTCreateAndX: true, SMB1ReadAndX: true, SMB1WriteAndX: true}
	for code := range block1Parsers {
		cmd := Command1(code)
		if block1Parsers[cmd].request == nil {
			continue
		}
		t.Run(cmd.String(), func(t *testing.T) {
			h, blocks, err := ParseSMB1(msg1(cmd, 1, false, 0, 0, []byte{0, 0, 0}), 16)
			if fixed[cmd] {
				var pe *ParseError
				if !errors.Is(err, ErrMalformed) || !errors.As(err, &pe) || pe.What != "smb1 "+cmd.String() {
					t.Fatalf("ParseSMB1() error = %v, want ErrMalformed naming smb1 %s", err, cmd)
				}
				return
			}
			if err != nil || h.Command != cmd {
				t.Fatalf("ParseSMB1() header %v error %v", h.Command, err)
			}
			want := []Body1{{Command: cmd, DialectIndex: -1, RAPOpcode: -1}}
			if diff := cmp.Diff(want, blocks); diff != "" {
				t.Errorf("blocks mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadOEMZAndUTF16ZNeedTerminator: a string without its NUL is not
// read, and every whole unit before the end is consumed.
func TestReadOEMZAndUTF16ZNeedTerminator(t *testing.T) {
	r := wire.Reader("ab\x00c")
	if s, ok := readOEMZ(&r); !ok || s != "ab" || r.Len() != 1 {
		t.Errorf("readOEMZ = %q, %v, %d left; want \"ab\", true, 1", s, ok, r.Len())
	}
	if _, ok := readOEMZ(&r); ok || r.Len() != 0 {
		t.Errorf("readOEMZ without NUL: ok %v, %d left; want false, 0", ok, r.Len())
	}
	u := wire.Reader(string(u16le("hé")) + "\x00\x00x")
	if s, ok := readUTF16Z(&u); !ok || s != "hé" || u.Len() != 1 {
		t.Errorf("readUTF16Z = %q, %v, %d left; want \"hé\", true, 1", s, ok, u.Len())
	}
	if _, ok := readUTF16Z(&u); ok || u.Len() != 1 {
		t.Errorf("readUTF16Z with an odd byte: ok %v, %d left; want false, 1", ok, u.Len())
	}
}
