package keys_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/keys"
)

// TestKeyTypesNotPrintable: no way of printing or logging a key reaches its
// bytes, in any encoding.
func TestKeyTypesNotPrintable(t *testing.T) {
	dek, err := keys.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "master.key")
	master, err := keys.LoadOrCreateMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	masterRaw, err := hex.DecodeString(strings.TrimSpace(string(readFile(t, path))))
	if err != nil {
		t.Fatal(err)
	}

	type holder struct {
		Name string
		Key  any
	}
	tests := []struct {
		name string
		key  any
		raw  []byte
	}{
		{"DataKey", dek, keys.RawDataKey(dek)},
		{"MasterKey", master, masterRaw},
		{"*DataKey", &dek, keys.RawDataKey(dek)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var outputs []string
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b", "%T"} {
				outputs = append(outputs,
					fmt.Sprintf(verb, tt.key),
					fmt.Sprintf(verb, holder{"k", tt.key}),
					fmt.Sprintf(verb, []any{tt.key}))
			}
			outputs = append(outputs, fmt.Sprint(tt.key), fmt.Sprintln(tt.key))
			if s, ok := tt.key.(interface {
				String() string
				GoString() string
				LogValue() slog.Value
			}); ok {
				outputs = append(outputs, s.String(), s.GoString(), s.LogValue().String())
			} else {
				t.Fatalf("%T lacks String, GoString or LogValue", tt.key)
			}
			var logs bytes.Buffer
			for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
				l := slog.New(h)
				l.Info("key", "key", tt.key)
				l.Info("group", slog.Group("g", "key", tt.key))
				l.Info("struct", "holder", holder{"k", tt.key})
			}
			outputs = append(outputs, logs.String())
			if b, err := json.Marshal(holder{"k", tt.key}); err == nil {
				outputs = append(outputs, string(b))
			}

			forms := []string{
				string(tt.raw),
				hex.EncodeToString(tt.raw)[:16],
				strings.ToUpper(hex.EncodeToString(tt.raw))[:16],
				base64.StdEncoding.EncodeToString(tt.raw)[:12],
				base64.RawURLEncoding.EncodeToString(tt.raw)[:12],
				strings.Trim(fmt.Sprint(tt.raw[:6]), "[]"),
				strings.Trim(fmt.Sprintf("%o", tt.raw[:6]), "[]"),
				strings.Trim(fmt.Sprintf("%b", tt.raw[:4]), "[]"),
			}
			for _, out := range outputs {
				for _, form := range forms {
					if strings.Contains(out, form) {
						t.Fatalf("output %q contains the key (%q)", out, form)
					}
				}
			}
			if !strings.Contains(logs.String(), "redacted") {
				t.Fatalf("logs do not show the redacted placeholder: %s", logs.String())
			}
		})
	}
}

func TestKeyTypesRefuseMarshalling(t *testing.T) {
	dek, _ := keys.NewDataKey()
	if b, err := json.Marshal(map[string]any{"k": dek}); err == nil {
		t.Fatalf("json.Marshal of a DataKey = %s, want an error", b)
	}
}

func TestKeyTypesIncomparable(t *testing.T) {
	for _, v := range []any{keys.DataKey{}, keys.MasterKey{}} {
		if reflect.TypeOf(v).Comparable() {
			t.Errorf("%T is comparable with ==", v)
		}
	}
}

func TestDataKeyEqual(t *testing.T) {
	a, _ := keys.NewDataKey()
	b, _ := keys.NewDataKey()
	aCopy, err := keys.DataKeyFromRaw(keys.RawDataKey(a))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		x, y keys.DataKey
		want bool
	}{
		{"same key", a, a, true},
		{"same bytes", a, aCopy, true},
		{"different keys", a, b, false},
		{"key and zero", a, keys.DataKey{}, false},
		{"zero and zero", keys.DataKey{}, keys.DataKey{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.x.Equal(tt.y); got != tt.want {
				t.Fatalf("Equal = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := keys.DataKeyFromRaw(make([]byte, 31)); err == nil {
		t.Fatal("DataKeyFromRaw accepted 31 bytes")
	}
	if keys.RawDataKey(keys.DataKey{}) != nil {
		t.Fatal("RawDataKey of the zero key is not nil")
	}
}
