package smb

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestFileNamesAgreeWithTshark compares, for every frame where tshark shows
// smb2.filename (CREATE requests, the names a QUERY_DIRECTORY response
// lists, the name a QUERY_INFO response carries), our "filename" or
// "filenames" fields with tshark's. smb2-ls-smbclient is smbclient 4.17
// (SMB 2.1) listing \ and \docs and reading docs\a.txt from Samba 4.17
// (made by testdata/rpc/capture.sh with the setup of testdata/rpc).
func TestFileNamesAgreeWithTshark(t *testing.T) {
	for _, name := range []string{"smb2-ls-smbclient", "smb2_10-alice-ls-get", "smb3-access-denied",
		"zeek-smb-smb2readwrite", "zeek-smb-smb2-multiple-pdus", "rpc-over-smb-pipes-rpcclient"} {
		t.Run(name, func(t *testing.T) {
			ref := refFrames(t, "", name)
			res := runCapture(t, capturePath(t, "", name), DefaultConfig(), 0, whole)
			ours := map[int64][]string{}
			for _, m := range res.col.Messages {
				cmd, resp := m.Fields["cmd"], m.Fields["is_response"] == true
				if m.Proto != "smb2" || !(cmd == "CREATE" && !resp || (cmd == "QUERY_DIRECTORY" || cmd == "QUERY_INFO") && resp) {
					continue // tshark shows smb2.filename for these only
				}
				if ns, ok := m.Fields["filenames"].([]string); ok {
					ours[frameOf(m)] = append(ours[frameOf(m)], ns...)
				} else if n, ok := m.Fields["filename"].(string); ok && n != "" {
					ours[frameOf(m)] = append(ours[frameOf(m)], n)
				}
			}
			frames, agree := 0, 0
			for _, fr := range ref {
				want := list(fr["smb2.filename"])
				if len(want) == 0 {
					continue
				}
				n, _ := strconv.ParseInt(fmt.Sprint(fr["frame.number"]), 10, 64)
				frames++
				if got := ours[n]; strings.Join(got, "|") == strings.Join(want, "|") {
					agree++
				} else {
					t.Errorf("frame %d: tshark %q, ours %q", n, want, got)
				}
			}
			t.Logf("%s: file names agree with tshark in %d/%d frames", name, agree, frames)
		})
	}
}

// TestSMB1NamesKeepBackslash: on SMB1 named pipes the name of every message
// on the pipe is the name the NT_CREATE_ANDX gave, leading backslash
// included, as tshark's smb.file shows it (FileStats.Name still drops the
// "\PIPE\" prefix for pipes). Captures of testdata/rpc: rpcclient
// (TransactNmPipe) and impacket (WRITE_ANDX / READ_ANDX) against Samba.
func TestSMB1NamesKeepBackslash(t *testing.T) {
	for _, name := range []string{"smb1-pipes-rpcclient", "smb1-pipes-impacket-split"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "testdata", "rpc", name+".ref.json"))
			if err != nil {
				t.Fatal(err)
			}
			var doc struct{ Frames []map[string]any }
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			res := runCapture(t, filepath.Join("..", "testdata", "rpc", name+".pcap"), DefaultConfig(), 0, whole)
			ours := map[int64]string{}
			for _, m := range res.col.Messages {
				if n, ok := m.Fields["filename"].(string); ok && m.Proto == "smb" {
					if _, seen := ours[frameOf(m)]; !seen {
						ours[frameOf(m)] = n
					}
				}
			}
			frames, agree := 0, 0
			for _, fr := range doc.Frames {
				want := list(fr["smb.file"])
				if len(want) != 1 {
					continue
				}
				n, _ := strconv.ParseInt(fmt.Sprint(fr["frame.number"]), 10, 64)
				frames++
				if ours[n] == want[0] {
					agree++
				} else {
					t.Errorf("frame %d: tshark %q, ours %q", n, want[0], ours[n])
				}
			}
			t.Logf("%s: SMB1 file names agree with tshark in %d/%d frames", name, agree, frames)
		})
	}
}

// TestDirectoryListingFields: a QUERY_DIRECTORY request names its directory
// "directory" and its search pattern "pattern"; its response lists the
// names found ("filenames", "entries").
func TestDirectoryListingFields(t *testing.T) {
	res := runCapture(t, capturePath(t, "", "smb2-ls-smbclient"), DefaultConfig(), 0, whole)
	got := map[int64]map[string]any{}
	for _, m := range res.col.Messages {
		if m.Proto == "smb2" {
			got[frameOf(m)] = m.Fields
		}
	}
	req, resp := got[49], got[50]
	if req["directory"] != "docs" || req["pattern"] != "*" || req["filename"] != nil {
		t.Errorf("frame 49 (QUERY_DIRECTORY request on docs): %v", req)
	}
	if fmt.Sprint(resp["filenames"]) != "[. .. a.txt]" || resp["entries"] != 3 || resp["directory"] != "docs" || resp["pattern"] != "*" {
		t.Errorf("frame 50 (its response): %v", resp)
	}
}
