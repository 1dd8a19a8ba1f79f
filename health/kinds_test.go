package health

import (
	"regexp"
	"testing"
)

// Every kind is listed once, dotted and lower-case, as the contract says.
func TestCatalogueKindsAreUniqueAndWellFormed(t *testing.T) {
	form := regexp.MustCompile(`^[a-z0-9]+(\.[a-z0-9_]+)+$`)
	seen := map[Kind]bool{}
	for _, ki := range Catalogue() {
		if seen[ki.Kind] {
			t.Errorf("kind %q listed twice", ki.Kind)
		}
		seen[ki.Kind] = true
		if !form.MatchString(string(ki.Kind)) {
			t.Errorf("kind %q is not dotted lower-case", ki.Kind)
		}
		if ki.Meaning == "" {
			t.Errorf("kind %q has no meaning", ki.Kind)
		}
	}
}

func TestIsDiagnosis(t *testing.T) {
	for k, want := range map[Kind]bool{
		TCPNotAccepting: true, NetManyConnectionsSingleSource: true, NetPMTUBlackhole: true,
		TCPRetransmission: false, TCPSynUnanswered: false, SMBAuthFailed: false,
	} {
		if got := IsDiagnosis(k); got != want {
			t.Errorf("IsDiagnosis(%s) = %v, want %v", k, got, want)
		}
	}
}
