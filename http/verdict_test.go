package http

import (
	"bytes"
	"compress/gzip"
	"math/rand/v2"
	"reflect"
	"testing"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// TestCompressedBodyVerdictRemembered: a compressed body seen again gets
// the verdict decoding it gave, from the cache; a body of the same length
// with one byte changed is decoded, not mistaken for it; a body whose
// decoded bytes someone reads (sink) is always decoded.
func TestCompressedBodyVerdictRemembered(t *testing.T) {
	lim := Limits{}.withDefaults()
	text := make([]byte, 8000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range text {
		text[i] = "abcdefghijklmnopqrstuvwxyz <>/\n"[rng.IntN(31)]
	}
	page := gzipped(t, text)
	hits0, misses0, _ := verdicts.Stats()
	first := decodeBody(codingGzip, page, lim, false, nil)
	again := decodeBody(codingGzip, page, lim, false, nil)
	hits, misses, _ := verdicts.Stats()
	if hits-hits0 != 1 || misses-misses0 != 1 || !reflect.DeepEqual(first, again) || first.err != nil || first.sha256 == "" {
		t.Fatalf("hits %d misses %d; first %+v again %+v", hits-hits0, misses-misses0, first, again)
	}
	broken := bytes.Clone(page)
	broken[len(broken)-6] ^= 0xff // the CRC-32 trailer
	if res := decodeBody(codingGzip, broken, lim, false, nil); res.err == nil {
		t.Errorf("a body with a wrong CRC got %+v", res)
	}
	var sunk int
	res := decodeBody(codingGzip, page, lim, false, func(b []byte) { sunk += len(b) })
	if int64(sunk) != first.decoded || res.sha256 != first.sha256 {
		t.Errorf("with a sink: %d bytes handed over, result %+v; want %d", sunk, res, first.decoded)
	}
	lim.MaxBodyBytes = 100
	if res := decodeBody(codingGzip, page, lim, false, nil); res.limit != "size" {
		t.Errorf("a smaller MaxBodyBytes got the remembered verdict %+v", res)
	}
}
