package smb

import (
	"testing"

	"github.com/nettrace/nettrace/health"
)

// smbCaptures lists every SMB capture of ../shared with the folder it is in.
// The small ones are copied to testdata/smb with an extract of their tshark
// reference (<name>.ref.json), so this test runs on a fresh clone too.
var smbCaptures = []struct{ sub, name string }{
	{"captures/smb", "smb1-nt1-alice-ls-get"},
	{"captures/smb", "smb2_10-alice-ls-get"},
	{"captures/smb", "smb3-access-denied"},
	{"captures/smb", "smb3-bad-password"},
	{"captures/smb", "smb3_11-encrypted"},
	{"captures/smb", "smb3_11-alice-ls-get-put"},
	{"captures/cases", "c17-smb1-periodic-139-server"},
	{"captures/dcerpc", "rpc-over-smb-pipes-rpcclient"},
	{"captures/cases", "c08-smb2-read-1-outstanding-impacket"},
	{"captures/cases", "c08-smb2-read-pipelined-smbclient"},
	{"public-captures", "zeek-smb-smb1"},
	{"public-captures", "zeek-smb-smb2readwrite"},
	{"public-captures", "zeek-smb-smb3"},
	{"public-captures", "zeek-smb-smb311"},
	{"public-captures", "zeek-smb-smb2-multiple-pdus"},
	{"public-captures", "zeek-smb-smb3_negotiate_context"},
	{"public-captures", "zeek-smb-raw_ntlm_in_smb"},
	{"public-captures", "zeek-smb-cifs_negotiate_lanman"},
	{"public-captures", "ndpi-smbv1"},
	{"public-captures", "ndpi-netbios"},
}

// explained lists frames where we knowingly differ from tshark.
var explained = map[string][]int64{
	"zeek-smb-raw_ntlm_in_smb": {46, 47},
	"ndpi-netbios":             {20, 113},
}

const explainedWhy = "SMB TRANSACTION (browser announcement) inside a NetBIOS datagram on UDP 138: " +
	"not an SMB session over TCP; smb.Conn decodes TCP 139/445 only"

// TestTsharkAgreement compares, for every frame tshark decodes as SMB or
// SMB2, the command, response flag, NT status and message id of every
// message in it, and the file name of CREATE / NT_CREATE_ANDX requests.
func TestTsharkAgreement(t *testing.T) {
	for _, c := range smbCaptures {
		t.Run(c.name, func(t *testing.T) {
			path := capturePath(t, c.sub, c.name)
			ref := refFrames(t, c.sub, c.name)
			res := runCapture(t, path, DefaultConfig(), 0, whole)
			a := compareWithTshark(res.col.Messages, ref, explained[c.name])
			t.Logf("%s: %d/%d SMB frames agree (command, response, status, message id); file names %d/%d",
				c.name, a.agree, a.frames, a.filesOK, a.files)
			if a.explained > 0 {
				t.Logf("%s: %d frame(s) differ for an explained reason: %s", c.name, a.explained, explainedWhy)
			}
			if ev := res.col.OfKind(health.SMBMalformed); len(ev) > 0 {
				t.Errorf("%d smb.malformed events on a clean capture, first: %+v", len(ev), ev[0])
			}
			for _, d := range a.diffs {
				t.Errorf("%s", d)
			}
		})
	}
}
