package keys_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/keys"
)

func TestLoadOrCreateMasterKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets", "master.key")
	k, err := keys.LoadOrCreateMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key file mode %04o, want 0600", fi.Mode().Perm())
	}
	content := readFile(t, path)
	if len(content) != 65 || content[64] != '\n' {
		t.Fatalf("master key file is %d bytes, want 64 hex digits and a newline", len(content))
	}
	if _, err := hex.DecodeString(string(content[:64])); err != nil {
		t.Fatalf("master key file is not hex: %v", err)
	}
	if names := dirNames(t, filepath.Dir(path)); len(names) != 1 {
		t.Fatalf("directory holds %q, want only the key file", names)
	}
	for name, load := range map[string]func(string) (keys.MasterKey, error){
		"LoadOrCreateMasterKey": keys.LoadOrCreateMasterKey,
		"LoadMasterKey":         keys.LoadMasterKey,
	} {
		again, err := load(path)
		if err != nil || !again.Equal(k) {
			t.Fatalf("%s of the created file = %v, or another key", name, err)
		}
	}
	if !bytes.Equal(readFile(t, path), content) {
		t.Fatal("loading changed the file")
	}
}

func TestLoadMasterKey_NeverCreates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if _, err := keys.LoadMasterKey(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadMasterKey of a missing file = %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("LoadMasterKey created the file")
	}
}

func TestMasterKey_MalformedRefused(t *testing.T) {
	good := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		name    string
		content string
		ok      bool
	}{
		{"hex with newline", good + "\n", true},
		{"hex without newline", good, true},
		{"upper-case hex with CRLF", strings.ToUpper(good) + "\r\n", true},
		{"empty", "", false},
		{"newline only", "\n", false},
		{"one digit short", good[:63] + "\n", false},
		{"one digit long", good + "0\n", false},
		{"not hex", strings.Repeat("zz", 32) + "\n", false},
		{"all zeros", strings.Repeat("0", 64) + "\n", false},
		{"two lines", good + "\n" + good + "\n", false},
		{"leading space", " " + good + "\n", false},
		{"base64", "ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8=\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			for name, load := range map[string]func(string) (keys.MasterKey, error){
				"LoadOrCreateMasterKey": keys.LoadOrCreateMasterKey,
				"LoadMasterKey":         keys.LoadMasterKey,
			} {
				k, err := load(path)
				if tt.ok {
					if err != nil || k.IsZero() {
						t.Fatalf("%s = %v, want a key", name, err)
					}
					continue
				}
				if !errors.Is(err, keys.ErrMalformedMasterKey) {
					t.Fatalf("%s = %v, want ErrMalformedMasterKey", name, err)
				}
				if len(tt.content) > 8 && strings.Contains(err.Error(), strings.TrimSpace(tt.content)[:8]) {
					t.Fatalf("%s error %q quotes the file", name, err)
				}
				if got := readFile(t, path); string(got) != tt.content {
					t.Fatalf("%s changed the file", name)
				}
			}
		})
	}
}

func TestMasterKey_LoosePermissionsRefused(t *testing.T) {
	tests := []struct {
		name string
		mode fs.FileMode
		ok   bool
	}{
		{"owner read-write", 0o600, true},
		{"owner read-only", 0o400, true},
		{"group readable", 0o640, false},
		{"world readable", 0o644, false},
		{"world writable", 0o602, false},
		{"group writable", 0o620, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			if _, err := keys.LoadOrCreateMasterKey(path); err != nil {
				t.Fatal(err)
			}
			before := readFile(t, path)
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			for name, load := range map[string]func(string) (keys.MasterKey, error){
				"LoadOrCreateMasterKey": keys.LoadOrCreateMasterKey,
				"LoadMasterKey":         keys.LoadMasterKey,
			} {
				_, err := load(path)
				if tt.ok != (err == nil) || (!tt.ok && !errors.Is(err, keys.ErrInsecurePermissions)) {
					t.Fatalf("%s of a %04o file = %v", name, tt.mode, err)
				}
			}
			if !bytes.Equal(readFile(t, path), before) {
				t.Fatal("the file changed")
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != tt.mode {
				t.Fatal("the file's mode changed")
			}
		})
	}
}

func TestMasterKey_DirectoryRefused(t *testing.T) {
	dir := t.TempDir()
	if _, err := keys.LoadOrCreateMasterKey(dir); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadOrCreateMasterKey of a directory = %v, want an error", err)
	}
}
