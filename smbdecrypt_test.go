package nettrace_test

import (
	"testing"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/smb"
)

// TestSMBDecryptionOptions: Options.NTPasswords and Options.SMBKeys reach
// the SMB decoder, on one goroutine and on workers alike: the encrypted
// session's commands are decoded (messages marked "encrypted") and the
// report has smb.decrypted instead of smb.encrypted.
func TestSMBDecryptionOptions(t *testing.T) {
	keys := smb.NewKeys()
	if err := keys.Load("testdata/smb/smb3_11-encrypted.smbkeys"); err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]nettrace.Options{
		"password":            {NTPasswords: []string{"Passw0rd!"}},
		"key table":           {SMBKeys: keys},
		"password, 2 workers": {NTPasswords: []string{"Passw0rd!"}, Workers: 2},
	} {
		t.Run(name, func(t *testing.T) {
			col := &health.Collector{KeepMessages: true}
			opts.Reporter, opts.Messages = col, true
			rep, err := nettrace.AnalyzeFile("testdata/smb/smb3_11-encrypted.pcap", opts)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[health.Kind]int{}
			for _, f := range rep.Findings {
				kinds[f.Kind] = f.Count
			}
			if kinds[health.SMBDecrypted] != 1 || kinds[health.SMBEncrypted] != 0 {
				t.Errorf("findings %v", kinds)
			}
			enc := 0
			for _, m := range col.Messages {
				if m.Proto == "smb2" && m.Fields["encrypted"] == true {
					enc++
				}
			}
			if enc != 33 {
				t.Errorf("%d decrypted SMB2 messages, want 33", enc)
			}
		})
	}
}
