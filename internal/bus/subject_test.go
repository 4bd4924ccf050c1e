package bus_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/bus"
	"github.com/kaigi/kaigi/internal/errs"
)

func TestValidateSubject(t *testing.T) {
	tests := []struct {
		name    string
		subject string
		ok      bool
	}{
		{"one token", "a", true},
		{"tenant channel", "tenant.0190a7e2-7c1b-7f3e-9d2a-1b2c3d4e5f60.channel.c_1", true},
		{"all token bytes", "azAZ09-_", true},
		{"at the length limit", strings.Repeat("a", bus.MaxSubjectLen), true},
		{"over the length limit", strings.Repeat("a", bus.MaxSubjectLen+1), false},
		{"empty", "", false},
		{"dot", ".", false},
		{"leading dot", ".a", false},
		{"trailing dot", "a.", false},
		{"empty token", "a..b", false},
		{"star", "a.*", false},
		{"gt", "a.>", false},
		{"star in token", "a*", false},
		{"space", "a b", false},
		{"newline", "a\nb", false},
		{"non-ASCII", "ä", false},
		{"NUL", "a\x00", false},
		{"colon", "a:b", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := bus.ValidateSubject(tc.subject)
			checkValid(t, tc.subject, err, tc.ok)
		})
	}
}

func TestValidatePattern(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		ok      bool
	}{
		{"literal", "a.b", true},
		{"star alone", "*", true},
		{"gt alone", ">", true},
		{"star middle", "a.*.c", true},
		{"stars", "*.*", true},
		{"gt last", "a.>", true},
		{"star then gt", "a.*.>", true},
		{"gt not last", "a.>.b", false},
		{"gt first of two", ">.a", false},
		{"star in token", "a.b*", false},
		{"gt in token", "a.b>", false},
		{"double star token", "a.**", false},
		{"empty", "", false},
		{"empty token", "a..>", false},
		{"trailing dot", "a.*.", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkValid(t, tc.pattern, bus.ValidatePattern(tc.pattern), tc.ok)
		})
	}
}

func checkValid(t *testing.T, s string, err error, ok bool) {
	t.Helper()
	if ok {
		if err != nil {
			t.Fatalf("%q: unexpected error %v", s, err)
		}
		return
	}
	if !errors.Is(err, bus.ErrInvalidSubject) {
		t.Fatalf("%q: error %v, want ErrInvalidSubject", s, err)
	}
	if errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("%q: code %q, want %q", s, errs.CodeOf(err), errs.Invalid)
	}
	if errs.MessageOf(err) != "invalid event subject" {
		t.Fatalf("%q: safe message %q", s, errs.MessageOf(err))
	}
}

func TestInvalidSubjectErrorSaysWhat(t *testing.T) {
	tests := []struct{ subject, want string }{
		{"a..b", "token 2 is empty"},
		{"a.>", `wildcard ">" in token 2`},
		{"a.b c", `token 2 has " "`},
		{strings.Repeat("a", 300), "300 bytes, more than the limit of 256"},
	}
	for _, tc := range tests {
		if err := bus.ValidateSubject(tc.subject); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidateSubject(%.20q) = %v, want it to say %q", tc.subject, err, tc.want)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, subject string
		want             bool
	}{
		{"a", "a", true},
		{"a", "b", false},
		{"a", "a.b", false},
		{"a.b", "a", false},
		{"a.b", "a.b", true},
		{"ab", "a", false},
		{"a", "ab", false},
		{"*", "a", true},
		{"*", "a.b", false},
		{"a.*", "a.b", true},
		{"a.*", "a", false},
		{"a.*", "a.b.c", false},
		{"*.b", "a.b", true},
		{"*.b", "a.c", false},
		{"a.*.c", "a.x.c", true},
		{"a.*.c", "a.x.d", false},
		{">", "a", true},
		{">", "a.b.c", true},
		{"a.>", "a", false},
		{"a.>", "a.b", true},
		{"a.>", "a.b.c", true},
		{"a.>", "b.c", false},
		{"a.*.>", "a.b", false},
		{"a.*.>", "a.b.c", true},
		{"tenant.t1.>", "tenant.t10.x", false},
		{"tenant.t1.>", "tenant.t1.x", true},
	}
	for _, tc := range tests {
		if got := bus.Match(tc.pattern, tc.subject); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.subject, got, tc.want)
		}
	}
}

// FuzzMatch checks Match against a plain token-by-token reference on valid
// inputs.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{{"a.*.>", "a.b.c"}, {">", "x"}, {"a.b", "a.b"}, {"*.*", "a.b.c"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, subject string) {
		if bus.ValidatePattern(pattern) != nil || bus.ValidateSubject(subject) != nil {
			return
		}
		if got, want := bus.Match(pattern, subject), refMatch(pattern, subject); got != want {
			t.Fatalf("Match(%q, %q) = %v, reference says %v", pattern, subject, got, want)
		}
	})
}

func refMatch(pattern, subject string) bool {
	p, s := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, tok := range p {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || tok != "*" && tok != s[i] {
			return false
		}
	}
	return len(p) == len(s)
}
