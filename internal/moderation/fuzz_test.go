package moderation

import (
	"testing"
	"unicode/utf8"
)

// FuzzClassify checks that no input panics and that spans stay inside the
// original text.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"", "I will kill you", "ｼﾈ", "k.i.l.l yourself", "a\u0301\u0301\u0301", "\xff", "f*ck", "お前 死 ね", "@bob idiot", "🖕"} {
		f.Add(s, false)
	}
	l := testLocal(f)
	f.Fuzz(func(t *testing.T, s string, ja bool) {
		in := Input{Text: s}
		if ja {
			in.Lang = LangJA
		}
		v, err := l.Classify(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, sp := range v.Spans {
			if sp.Start < 0 || sp.End > len(s) || sp.Start > sp.End {
				t.Fatalf("span %+v outside text of %d bytes", sp, len(s))
			}
			if utf8.ValidString(s) && !utf8.ValidString(s[sp.Start:sp.End]) {
				t.Fatalf("span %+v splits a rune", sp)
			}
		}
		for c, sc := range v.Scores {
			if sc < 0 || sc > 1 {
				t.Fatalf("%s score %v", c, sc)
			}
		}
	})
}
