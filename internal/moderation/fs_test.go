package moderation

import (
	"io/fs"
	"testing/fstest"
)

// badFS holds a list with a missing source column.
type badFS struct{}

func (badFS) Open(name string) (fs.File, error) {
	return fstest.MapFS{"lists/x-en.tsv": {Data: []byte("id\tterm\tprofanity:0.5\t-\n")}}.Open(name)
}
