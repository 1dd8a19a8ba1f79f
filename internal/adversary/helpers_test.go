package adversary

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
)

// inflate decodes a body with the standard library and counts its bytes,
// checking that each is zero.
func inflate(coding string, body []byte) (int64, error) {
	var r io.Reader
	var err error
	if coding == "gzip" {
		r, err = gzip.NewReader(bytes.NewReader(body))
	} else {
		r, err = zlib.NewReader(bytes.NewReader(body))
	}
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 64<<10)
	var n int64
	for {
		k, err := r.Read(buf)
		for _, c := range buf[:k] {
			if c != 0 {
				return n, io.ErrUnexpectedEOF
			}
		}
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
