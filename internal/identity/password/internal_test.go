package password

import (
	"reflect"
	"testing"
)

// TestCommonListLoaded: the embedded list is loaded whole, once.
func TestCommonListLoaded(t *testing.T) {
	set := commonSet()
	// 10,000 lines: one is empty and 73 differ from another only in case.
	t.Logf("%d distinct entries", len(set))
	if n := len(set); n < 9900 {
		t.Errorf("common list has %d distinct entries, want the whole SecLists top 10,000", n)
	}
	if _, ok := set[""]; ok {
		t.Error("empty string in the common list")
	}
	for _, w := range []string{"123456", "password", "qwerty", "iloveyou2", "sakura", "naruto"} {
		if _, ok := set[w]; !ok {
			t.Errorf("%q missing from the common list", w)
		}
	}
	for w := range set {
		if w != toLowerASCII(w) {
			t.Fatalf("entry %q is not lower case", w)
		}
	}
	if reflect.ValueOf(commonSet()).UnsafePointer() != reflect.ValueOf(set).UnsafePointer() {
		t.Error("the list was loaded a second time")
	}
}

func toLowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
