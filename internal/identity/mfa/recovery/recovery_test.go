package recovery

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
)

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

var codeFormat = regexp.MustCompile(`^[` + Alphabet + `]{5}-[` + Alphabet + `]{5}$`)

func mustGenerate(t *testing.T) ([]string, Set) {
	t.Helper()
	codes, set, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	return codes, set
}

// setOf returns a Set holding exactly the given (normalised) codes.
func setOf(t *testing.T, codes ...string) Set {
	t.Helper()
	_, s := mustGenerate(t)
	s.Entries = nil
	for _, c := range codes {
		var b [codeLen]byte
		if len(c) != codeLen || copy(b[:], c) != codeLen {
			t.Fatalf("bad test code %q", c)
		}
		s.Entries = append(s.Entries, Entry{Hash: hashCode(s.Salt, b)})
	}
	return s
}

func TestGenerate(t *testing.T) {
	codes, set := mustGenerate(t)
	if len(codes) != Count || len(set.Entries) != Count {
		t.Fatalf("%d codes and %d entries, want %d", len(codes), len(set.Entries), Count)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if !codeFormat.MatchString(c) {
			t.Errorf("code %q is not XXXXX-XXXXX over the alphabet", c)
		}
		if seen[c] {
			t.Errorf("code %q repeated", c)
		}
		seen[c] = true
	}
	if len(set.Salt) != saltSize || !ids.Valid(set.ID) {
		t.Fatalf("salt of %d bytes, id %q", len(set.Salt), set.ID)
	}
	for i, e := range set.Entries {
		if len(e.Hash) != 32 || !e.UsedAt.IsZero() {
			t.Errorf("entry %d: %d-byte hash, used %v", i, len(e.Hash), e.UsedAt)
		}
	}
	_, other := mustGenerate(t)
	if string(other.Salt) == string(set.Salt) || other.ID == set.ID {
		t.Fatal("two Sets share a salt or an id")
	}
}

func TestGenerateUsesTheWholeAlphabet(t *testing.T) {
	// 500 codes hold 5,000 characters; a symbol of a uniform 32-symbol
	// alphabet is missing from them with probability about 32·(31/32)^5000.
	counts := map[rune]int{}
	for range 50 {
		codes, _ := mustGenerate(t)
		for _, c := range codes {
			for _, r := range strings.ReplaceAll(c, "-", "") {
				counts[r]++
			}
		}
	}
	for _, r := range Alphabet {
		if counts[r] == 0 {
			t.Errorf("symbol %c never drawn", r)
		}
	}
	if len(counts) != len(Alphabet) {
		t.Errorf("%d distinct symbols drawn, want %d", len(counts), len(Alphabet))
	}
}

func TestEachCodeWorksOnce(t *testing.T) {
	codes, set := mustGenerate(t)
	for i, c := range codes {
		got, err := set.Consume(c, now)
		if err != nil {
			t.Fatalf("code %d: %v", i, err)
		}
		if got != i {
			t.Fatalf("code %d matched index %d", i, got)
		}
		if _, err := set.Consume(c, now); !errors.Is(err, ErrCodeUsed) || !errs.Is(err, errs.Unauthenticated) {
			t.Fatalf("code %d again: %v, want ErrCodeUsed", i, err)
		}
		if r := set.Remaining(); r != Count-i-1 {
			t.Fatalf("Remaining() = %d after %d codes", r, i+1)
		}
	}
}

func TestWrongCodesFail(t *testing.T) {
	codes, set := mustGenerate(t)
	otherCodes, _ := mustGenerate(t)
	flip := func(c string) string { // change the last character
		last := c[len(c)-1]
		next := Alphabet[(strings.IndexByte(Alphabet, last)+1)%len(Alphabet)]
		return c[:len(c)-1] + string(next)
	}
	tests := []struct {
		name  string
		input string
	}{
		{name: "code of another set", input: otherCodes[0]},
		{name: "one character changed", input: flip(codes[3])},
		{name: "two codes' halves", input: codes[0][:6] + codes[1][6:]},
		{name: "all zeros", input: "00000-00000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Verify(set, tt.input); !errors.Is(err, ErrIncorrectCode) || !errs.Is(err, errs.Unauthenticated) {
				t.Fatalf("Verify(%q): %v, want ErrIncorrectCode", tt.input, err)
			}
		})
	}
	if set.Remaining() != Count {
		t.Fatal("a failed attempt used up a code")
	}
}

func TestNormalisation(t *testing.T) {
	set := setOf(t, "0123456789", "ABCDEFGHJK", "MNPQRSTVWX")
	tests := []struct {
		name  string
		input string
		want  int   // index, when accepted
		err   error // when refused
	}{
		{name: "as shown", input: "01234-56789", want: 0},
		{name: "no dash", input: "0123456789", want: 0},
		{name: "lower case", input: "abcde-fghjk", want: 1},
		{name: "mixed case and spaces", input: " aBcDe fGhJk ", want: 1},
		{name: "dashes anywhere", input: "M-N-P-Q-R-S-T-V-W-X", want: 2},
		{name: "O and I and L for 0 and 1", input: "oI234-56789", want: 0},
		{name: "L for 1", input: "0L234-56789", want: 0},
		{name: "full-width", input: "ＡＢＣＤＥ－ＦＧＨＪＫ", want: 1},
		{name: "full-width lower case and ideographic space", input: "ａｂｃｄｅ\u3000ｆｇｈｊｋ", want: 1},
		{name: "tab", input: "01234\t56789", want: 0},
		{name: "empty", input: "", err: ErrMalformedCode},
		{name: "nine characters", input: "01234-5678", err: ErrMalformedCode},
		{name: "eleven characters", input: "01234-567890", err: ErrMalformedCode},
		{name: "U is not in the alphabet", input: "U1234-56789", err: ErrMalformedCode},
		{name: "punctuation", input: "01234_56789", err: ErrMalformedCode},
		{name: "non-ASCII letter", input: "É1234-56789", err: ErrMalformedCode},
		{name: "emoji", input: "0123456789🙂", err: ErrMalformedCode},
		{name: "NUL", input: "0123456789\x00", err: ErrMalformedCode},
		{name: "very long", input: strings.Repeat("-", 1<<20) + "0123456789", err: ErrMalformedCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(set, tt.input)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !errs.Is(err, errs.Invalid) {
					t.Fatalf("Verify(%q): %v, want %v", tt.input, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify(%q): %v", tt.input, err)
			}
			if got != tt.want {
				t.Fatalf("Verify(%q) = %d, want %d", tt.input, got, tt.want)
			}
		})
	}
}

func TestSetSerialises(t *testing.T) {
	codes, set := mustGenerate(t)
	if _, err := set.Consume(codes[2], now); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range codes {
		if strings.Contains(string(b), strings.ReplaceAll(c, "-", "")) || strings.Contains(string(b), c) {
			t.Fatal("stored Set contains a code")
		}
	}
	var back Set
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(back, codes[2]); !errors.Is(err, ErrCodeUsed) {
		t.Fatalf("used code after a round trip: %v", err)
	}
	if i, err := Verify(back, codes[5]); err != nil || i != 5 {
		t.Fatalf("unused code after a round trip: %d, %v", i, err)
	}
	if _, err := Verify(Set{}, codes[5]); err == nil || errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("Set without a salt: %v, want an internal error", err)
	}
}
