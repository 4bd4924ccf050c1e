package discovery

import (
	"strings"
	"testing"
)

// TestSafeNameKeepsPackagesCheckable: names from uploads become file names
// that tar extracts inside attachments/ and that sha256sum's manifest can
// name (no slash, no backslash, no newline, no leading dot).
func TestSafeNameKeepsPackagesCheckable(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "plan.txt", "plan.txt"},
		{"spaces", "falcon budget plan.txt", "falcon_budget_plan.txt"},
		{"japanese kept", "予算 計画.pdf", "予算_計画.pdf"},
		{"path escape", "../../etc/passwd", "_.._etc_passwd"},
		{"backslash and newline", "a\\b\nc", "a_b_c"},
		{"leading dots", "...hidden", "hidden"},
		{"empty", "", "file"},
		{"only dots", "..", "file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SafeName(tc.in); got != tc.want {
				t.Fatalf("SafeName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	long := SafeName(strings.Repeat("予", 80))
	if len(long) > 100 || !strings.HasPrefix(long, "予") || strings.ToValidUTF8(long, "?") != long {
		t.Fatalf("a long name is cut badly: %d bytes, %q", len(long), long)
	}
}

func TestFoldMatchesWidthsAndCase(t *testing.T) {
	if fold("ＢＵＤＧＥＴ ﾃｽﾄ") != fold("budget テスト") {
		t.Fatal("full-width and half-width forms do not fold alike")
	}
}

func TestHashIDsIgnoresOrder(t *testing.T) {
	if hashIDs([]string{"b", "a"}) != hashIDs([]string{"a", "b"}) || hashIDs([]string{"a"}) == hashIDs([]string{"b"}) {
		t.Fatal("hashIDs is not a hash of the sorted set")
	}
}
