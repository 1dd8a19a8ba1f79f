package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDissectDecryptsSMB3: -ntpassword and -smbkeys decrypt an encrypted
// SMB 3.1.1 session: its commands are printed, marked "encrypted", and
// neither the password nor a key appears in the output.
func TestDissectDecryptsSMB3(t *testing.T) {
	const capture = "../../testdata/smb/smb3_11-encrypted.pcap"
	for name, args := range map[string][]string{
		"password": {"-ntpassword", "Passw0rd!"},
		"key file": {"-smbkeys", "../../testdata/smb/smb3_11-encrypted.smbkeys"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append(append([]string{"-proto", "smb2", "-packets=false"}, args...), capture)
			if code := run(args, &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			s := out.String()
			if n := strings.Count(s, `"encrypted":true`); n != 33 {
				t.Errorf("%d encrypted records, want 33", n)
			}
			if !strings.Contains(s, `"filename":"readme.txt"`) {
				t.Error("no CREATE readme.txt record")
			}
			if strings.Contains(s, "Passw0rd") || strings.Contains(s, "1448fac36a0463c2") {
				t.Error("output shows a secret")
			}
		})
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"-smbkeys", "no-such.smbkeys", capture}, &out, &errOut); code != 2 {
		t.Errorf("missing key file: exit %d, want 2", code)
	}
}
