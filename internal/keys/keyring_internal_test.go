package keys

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/ids"
)

// Destroy leaves no trace of the KEK's bytes in the live keyring file, even
// once the file is decrypted.
func TestKeyring_DestroyRemovesKEKBytesFromFile(t *testing.T) {
	dir := t.TempDir()
	master, err := LoadOrCreateMasterKey(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "keyring")
	k, err := OpenLocalKeyring(path, master)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	gone, err := k.CreateKEK(ctx, ids.NewTenant())
	if err != nil {
		t.Fatal(err)
	}
	kept, err := k.CreateKEK(ctx, ids.NewTenant())
	if err != nil {
		t.Fatal(err)
	}
	goneKey := bytes.Clone(k.cur.Load().keks[gone].key.b[:])
	keptKey := bytes.Clone(k.cur.Load().keks[kept].key.b[:])

	payload := func() []byte {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, goneKey) || bytes.Contains(data, keptKey) {
			t.Fatal("the keyring file holds a KEK in clear")
		}
		p, err := k.seal.Open(nil, nil, data[keyringHeader:], data[:keyringHeader])
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := payload(); !bytes.Contains(p, goneKey) || !bytes.Contains(p, keptKey) {
		t.Fatal("test is broken: the payload should hold both KEKs before Destroy")
	}
	if err := k.Destroy(ctx, gone); err != nil {
		t.Fatal(err)
	}
	p := payload()
	if bytes.Contains(p, goneKey) {
		t.Fatal("the destroyed KEK is still in the keyring file")
	}
	if !bytes.Contains(p, keptKey) {
		t.Fatal("the other KEK is gone from the keyring file")
	}
	if !bytes.Contains(p, []byte(gone)) {
		t.Fatal("the destroyed KEK left no tombstone")
	}
}

// FuzzDecodeRing: a payload that authenticates but is malformed (a bug, or
// a file written by a broken build) is refused without panicking or
// allocating without bound.
func FuzzDecodeRing(f *testing.F) {
	b, _ := randomKey()
	valid := &ring{keks: map[string]*kek{
		"local-1": {id: "local-1", tenant: "t1", key: kekKey{b: b}},
		"local-2": {id: "local-2", tenant: "t2", destroyed: time.Unix(1, 0)},
	}}
	k := &LocalKeyring{}
	master, _ := randomKey()
	if err := k.derive(MasterKey{b: master}); err != nil {
		f.Fatal(err)
	}
	sealed, err := k.encode(valid)
	if err != nil {
		f.Fatal(err)
	}
	payload, err := k.seal.Open(nil, nil, sealed[keyringHeader:], sealed[:keyringHeader])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(payload)
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add(append([]byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}, payload[8:]...))
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := decodeRing(p)
		if err == nil && len(r.keks) > len(p) {
			t.Fatalf("%d entries from %d bytes", len(r.keks), len(p))
		}
	})
}

func TestKEKNotPrintable(t *testing.T) {
	b, _ := randomKey()
	e := kek{id: "local-1", tenant: "t", key: kekKey{b: b}}
	for _, out := range []string{fmt.Sprintf("%v %+v %#v %x %d", e, e, e, e.key, e.key), e.key.String(), e.key.GoString(), e.key.LogValue().String()} {
		if strings.Contains(out, hex.EncodeToString(b[:4])) || strings.Contains(out, string(b[:4])) ||
			strings.Contains(out, strings.Trim(fmt.Sprint(b[:4]), "[]")) {
			t.Fatalf("%q shows the KEK", out)
		}
	}
}
