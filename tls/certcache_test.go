package tls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"reflect"
	"testing"
	"time"
)

func selfSigned(t *testing.T, key *ecdsa.PrivateKey, serial int64) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "cache.example"},
		DNSNames: []string{"cache.example"}, NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestCertificatesParsedOncePerDistinctCertificate: the same DER gives
// the same CertInfo from the cache as from parsing, and is parsed once.
func TestCertificatesParsedOncePerDistinctCertificate(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der := selfSigned(t, key, 1)
	hits0, misses0, _ := certs.Stats()
	first := DescribeCertificate(der)
	for range 10 {
		if got := DescribeCertificate(der); !reflect.DeepEqual(got, first) {
			t.Fatalf("cached %+v, parsed %+v", got, first)
		}
	}
	hits, misses, _ := certs.Stats()
	if misses-misses0 != 1 || hits-hits0 != 10 || first.KeyType != "ECDSA-P-256" || first.CommonName != "cache.example" {
		t.Fatalf("misses %d hits %d info %+v", misses-misses0, hits-hits0, first)
	}
	if uncached := describeCertificate(der); !reflect.DeepEqual(uncached, first) {
		t.Errorf("cached %+v, parsed %+v", first, uncached)
	}
}
