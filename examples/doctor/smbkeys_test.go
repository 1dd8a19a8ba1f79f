package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDoctorDecryptsSMB3: with -ntpassword the encrypted session is
// decrypted (smb.decrypted, no smb.encrypted); with a wrong one it is said
// to have no key.
func TestDoctorDecryptsSMB3(t *testing.T) {
	const capture = "../../testdata/smb/smb3_11-encrypted.pcap"
	var out, errOut bytes.Buffer
	if code := run([]string{"-json", "-ntpassword", "Passw0rd!", capture}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if s := out.String(); !strings.Contains(s, `"kind":"smb.decrypted"`) || strings.Contains(s, `"kind":"smb.encrypted"`) {
		t.Errorf("events:\n%s", s)
	}
	out.Reset()
	if code := run([]string{"-json", "-ntpassword", "wrong", "-smbkeys", "../../testdata/smb/smb3_00-ccm-encrypted.smbkeys", capture}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if s := out.String(); !strings.Contains(s, `"kind":"smb.no_key"`) || strings.Contains(s, "wrong") {
		t.Errorf("events:\n%s", s)
	}
}
