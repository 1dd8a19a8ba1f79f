package cli

import (
	"flag"
	"strings"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/smb"
)

// SMBFlags are the SMB 3 decryption flags: -smbkeys FILE (a key file in
// smb.Keys format: session id, session key, [s2c key, [c2s key]]) and
// -ntpassword PASSWORD (tried on each NTLMv2 authentication), both
// repeatable. doctor and dissect take them.
type SMBFlags struct {
	keyFiles, passwords smbList
}

type smbList []string

func (l *smbList) String() string     { return strings.Join(*l, ",") }
func (l *smbList) Set(v string) error { *l = append(*l, v); return nil }

// Register adds -smbkeys and -ntpassword to fs.
func (s *SMBFlags) Register(fs *flag.FlagSet) {
	fs.Var(&s.keyFiles, "smbkeys", "SMB3 session key `file` for decryption: session-id session-key [s2c-key [c2s-key]] per line (repeatable)")
	fs.Var(&s.passwords, "ntpassword", "user `password` tried on NTLMv2 authentications to decrypt SMB3 sessions (repeatable)")
}

// Apply loads the key files into opts.SMBKeys and sets opts.NTPasswords.
func (s *SMBFlags) Apply(opts *nettrace.Options) error {
	if len(s.keyFiles) > 0 {
		keys := smb.NewKeys()
		for _, path := range s.keyFiles {
			if err := keys.Load(path); err != nil {
				return err
			}
		}
		opts.SMBKeys = keys
	}
	opts.NTPasswords = s.passwords
	return nil
}
