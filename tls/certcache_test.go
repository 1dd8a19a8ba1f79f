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
// the same CertInfo from the cache without being parsed again, and the
// cache stays within two generations however many certificates pass.
func TestCertificatesParsedOncePerDistinctCertificate(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cc := &certCache{}
	der := selfSigned(t, key, 1)
	first := cc.describe(der)
	for range 10 {
		if got := cc.describe(der); !reflect.DeepEqual(got, first) {
			t.Fatalf("cached %+v, parsed %+v", got, first)
		}
	}
	if cc.miss != 1 || cc.hits != 10 || first.KeyType != "ECDSA-P-256" || first.CommonName != "cache.example" {
		t.Fatalf("misses %d hits %d info %+v", cc.miss, cc.hits, first)
	}
	for i := range 3 * certCacheSize {
		cc.describe(selfSigned(t, key, int64(i+2)))
		if n := len(cc.cur) + len(cc.prev); n > 2*certCacheSize {
			t.Fatalf("%d certificates cached", n)
		}
	}
}
