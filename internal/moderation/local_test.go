package moderation

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestClassify(t *testing.T) {
	l := testLocal(t)
	tests := []struct {
		name string
		in   Input
		want []Category // flagged at FlagThreshold
		span string     // text one span must cover, as written
	}{
		{name: "first-person threat", in: Input{Text: "I will kill you"}, want: []Category{Harassment, Threat}, span: "I will kill you"},
		{name: "idiom killing me", in: Input{Text: "this bug is killing me"}},
		{name: "killer feature", in: Input{Text: "killer feature"}},
		{name: "negated threat", in: Input{Text: "I would never hurt you"}},
		{name: "scunthorpe words", in: Input{Text: "assassin classic Scunthorpe therapist cockpit"}},
		{name: "kys", in: Input{Text: "kys"}, want: []Category{Harassment, SelfHarm}, span: "kys"},
		{name: "spaced letters", in: Input{Text: "go k.i.l.l yourself"}, want: []Category{Harassment, SelfHarm}, span: "k.i.l.l yourself"},
		{name: "insult aimed", in: Input{Text: "you are an idiot"}, want: []Category{Harassment}, span: "idiot"},
		{name: "insult not aimed", in: Input{Text: "what an idiot I am"}},
		{name: "insult with mention signal", in: Input{Text: "idiot", Mentions: []string{"u1"}}, want: []Category{Harassment}},
		{name: "insult in reply is borderline", in: Input{Text: "idiot", IsReply: true}},
		{name: "repeated letters and leet", in: Input{Text: "you stuuuupid idi0t"}, want: []Category{Harassment}, span: "idi0t"},
		{name: "homoglyph", in: Input{Text: "fuсk you"}, want: []Category{Harassment, Profanity}, span: "fuсk you"},
		{name: "zero width", in: Input{Text: "f\u200bu\u200bc\u200bk"}, want: []Category{Profanity}, span: "f\u200bu\u200bc\u200bk"},
		{name: "full width", in: Input{Text: "ｆｕｃｋ"}, want: []Category{Profanity}, span: "ｆｕｃｋ"},
		{name: "ja imperative", in: Input{Text: "お前死ね"}, want: []Category{Harassment, Threat}, span: "死ね"},
		{name: "ja half-width disguise", in: Input{Text: "ｼﾈ"}, want: []Category{Harassment, Threat}, span: "ｼﾈ"},
		{name: "ja 氏ね disguise", in: Input{Text: "氏ね"}, want: []Category{Harassment, Threat}},
		{name: "ja honorific 氏 then ね", in: Input{Text: "田中氏ね、さっき来てたよ"}},
		{name: "ja conditional", in: Input{Text: "死ねば"}},
		{name: "ja past", in: Input{Text: "死んだ"}},
		{name: "ja inserted space", in: Input{Text: "死 ね"}, want: []Category{Harassment, Threat}, span: "死 ね"},
		{name: "ja customer", in: Input{Text: "カスタマーサポート"}},
		{name: "ja vacance", in: Input{Text: "バカンスに行く"}},
		{name: "ja blind spot", in: Input{Text: "死角"}},
		{name: "ja insult aimed", in: Input{Text: "お前はバカだ"}, want: []Category{Harassment}, span: "バカ"},
		{name: "ja insult not aimed", in: Input{Text: "バカみたいなミスをした"}},
		{name: "ja self harm", in: Input{Text: "もう死にたい"}, want: []Category{SelfHarm}},
		{name: "mixed scripts", in: Input{Text: "lol お前 idiot 死ね"}, want: []Category{Harassment, Threat}},
		{name: "emoji only", in: Input{Text: "😀😀🎉"}},
		{name: "whitespace only", in: Input{Text: " \t\n "}},
		{name: "empty", in: Input{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := l.Classify(t.Context(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Flagged(FlagThreshold); !slices.Equal(got, tt.want) {
				t.Errorf("flagged %v, want %v; spans %+v", got, tt.want, v.Spans)
			}
			if tt.span != "" && !slices.ContainsFunc(v.Spans, func(s Span) bool { return tt.in.Text[s.Start:s.End] == tt.span }) {
				t.Errorf("no span covering %q; spans %+v", tt.span, v.Spans)
			}
			if v.Backend != BackendLocal || len(v.Scores) != len(Categories) {
				t.Errorf("backend %q, %d scores", v.Backend, len(v.Scores))
			}
		})
	}
}

// Every span is a valid byte range of the original text, on rune
// boundaries, whatever normalisation did.
func TestSpansPointIntoOriginalText(t *testing.T) {
	l := testLocal(t)
	for _, s := range []string{"ｆｕｃｋ you", "Ｉ ｗｉｌｌ ｋｉｌｌ ｙｏｕ", "ﾊﾞｶ お前", "f\u0301u\u0301c\u0301k", "k\u200bi\u200bl\u200bl yourself", "おまえ ｼﾈ！", "é idiot you idiot"} {
		v, err := l.Classify(t.Context(), Input{Text: s})
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Spans) == 0 {
			t.Errorf("%q: no spans", s)
		}
		for _, sp := range v.Spans {
			if sp.Start < 0 || sp.End > len(s) || sp.Start >= sp.End || !utf8.ValidString(s[sp.Start:sp.End]) {
				t.Errorf("%q: bad span %+v", s, sp)
			}
		}
	}
}

func TestTruncationIsRecorded(t *testing.T) {
	l, err := NewLocal(Options{MaxBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("あ", 100) + " kill yourself"
	v, err := l.Classify(t.Context(), Input{Text: text})
	if err != nil {
		t.Fatal(err)
	}
	if !v.Truncated || len(v.Notes) == 0 {
		t.Fatalf("truncated %v notes %v", v.Truncated, v.Notes)
	}
	if strings.Contains(strings.Join(v.Notes, " "), "あ") {
		t.Error("notes must not carry message text")
	}
}

func TestClassifyCancelled(t *testing.T) {
	l := testLocal(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Classify(ctx, Input{Text: "hi"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// The shared kagome tokenizer is used from many goroutines (run with -race).
func TestClassifyConcurrent(t *testing.T) {
	l := testLocal(t)
	msgs := []string{"お前はバカだ", "I will kill you", "カスタマーサポートに連絡", "死ね", "hello there"}
	want := make([]Verdict, len(msgs))
	for i, m := range msgs {
		want[i], _ = l.Classify(t.Context(), Input{Text: m})
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				k := (g + i) % len(msgs)
				v, err := l.Classify(t.Context(), Input{Text: msgs[k]})
				if err != nil || !slices.Equal(v.Flagged(FlagThreshold), want[k].Flagged(FlagThreshold)) {
					t.Errorf("%q: concurrent verdict differs", msgs[k])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestBadInputIsBounded(t *testing.T) {
	l := testLocal(t)
	inputs := map[string]string{
		"combining flood": "a" + strings.Repeat("\u0301", 100000),
		"enormous":        strings.Repeat("you idiot ", 200000),
		"mixed scripts":   strings.Repeat("аbсdе死ねｶｽ\u200b🙂", 5000),
		"emoji":           strings.Repeat("🤬", 50000),
		"spaced letters":  strings.Repeat("a ", 100000),
		"invalid utf8":    "\xff\xfe idiot \xc0",
	}
	for name, s := range inputs {
		t.Run(name, func(t *testing.T) {
			if _, err := l.Classify(t.Context(), Input{Text: s, Lang: LangJA}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestEmbeddedListsHaveSources(t *testing.T) {
	lx, err := loadLexicon()
	if err != nil {
		t.Fatal(err)
	}
	if lx.count < 300 {
		t.Errorf("only %d entries loaded", lx.count)
	}
	if _, err := loadLexiconFS(badFS{}, "lists"); !errors.Is(err, ErrBadLists) {
		t.Errorf("bad list: err %v, want ErrBadLists", err)
	}
}
