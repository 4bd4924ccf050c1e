package mail_test

import (
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
)

type mimeDecoder struct{ mime.WordDecoder }

func (d *mimeDecoder) header(s string) string {
	out, err := d.DecodeHeader(s)
	if err != nil {
		return "undecodable: " + s
	}
	return out
}

func (d *mimeDecoder) qp(b []byte) string {
	out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
	if err != nil {
		return "undecodable"
	}
	return string(out)
}
