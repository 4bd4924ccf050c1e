package moderation

import (
	"context"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/ikawaha/kagome-dict/ipa"
	"github.com/ikawaha/kagome/v2/tokenizer"
)

// DefaultMaxBytes is the default for [Options.MaxBytes].
const DefaultMaxBytes = 8 << 10

// Target strengths: the harassment score an insult gets when it is aimed at
// a person, by how we know it is aimed.
const (
	aimedDirect  = 0.85 // a second-person word right before it: "you idiot"
	aimedMention = 0.6  // the message @mentions or addresses someone
	aimedReply   = 0.4  // the message is a reply (borderline only)
)

// Options configures [NewLocal].
type Options struct {
	// MaxBytes is how much of a message is analysed, in bytes; the rest is
	// passed unanalysed and the verdict records it. Default
	// [DefaultMaxBytes] (8 KiB), far above a typical chat message.
	MaxBytes int
}

// Local is the built-in classifier: word lists and explainable rules, pure
// Go, nothing loaded at run time. It is safe for concurrent use; create one
// and share it, since loading the Japanese dictionary takes about a second.
type Local struct {
	lex      *lexicon
	tok      *tokenizer.Tokenizer
	maxBytes int
}

var _ Classifier = (*Local)(nil)

// NewLocal loads the embedded word lists and the Japanese dictionary.
func NewLocal(opts Options) (*Local, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	lx, err := loadLexicon()
	if err != nil {
		return nil, err
	}
	tk, err := tokenizer.New(ipa.Dict(), tokenizer.OmitBosEos())
	if err != nil {
		return nil, fmt.Errorf("japanese tokenizer: %w", err)
	}
	return &Local{lex: lx, tok: tk, maxBytes: opts.MaxBytes}, nil
}

// Classify scores in.Text. The error is non-nil only when ctx is done.
func (l *Local) Classify(ctx context.Context, in Input) (Verdict, error) {
	if err := ctx.Err(); err != nil {
		return Verdict{}, err
	}
	text := in.Text
	var notes []string
	truncated := false
	if len(text) > l.maxBytes {
		cut := l.maxBytes
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		notes = append(notes, fmt.Sprintf("analysed the first %d of %d bytes: message longer than the %d-byte limit", cut, len(text), l.maxBytes))
		text, truncated = text[:cut], true
	}
	nt := normalize(text)
	lang := in.Lang
	isJA := hasJapanese(nt.runes)
	if lang == LangAuto {
		lang = LangEN
		if isJA {
			lang = LangJA
		}
	}
	v := newVerdict(lang)
	v.Truncated, v.Notes = truncated, notes
	c := collector{v: &v, nt: &nt}

	// Who the message is aimed at, from the signals.
	signal := 0.0
	switch {
	case len(in.Mentions) > 0 || in.Addressee != "":
		signal = aimedMention
	case in.IsReply:
		signal = aimedReply
	}

	ws := l.lex.prepareEnglish(englishWords(nt.runes))
	for _, w := range ws {
		if w.mention {
			signal = max(signal, aimedMention)
			break
		}
	}
	for _, m := range l.lex.matchEnglish(ws) {
		strength := signal
		if aimedAt(ws, m.first) {
			strength = aimedDirect
		}
		c.addEntry(m.e, m.i, m.j, m.disguise, strength, aimedHow(strength))
	}
	for _, r := range threatRule(ws) {
		c.addRule(Threat, r.score, ws[r.first].i, ws[r.last].j, r.rule)
		if r.score >= FlagThreshold {
			c.addRule(Harassment, r.score*0.9, ws[r.first].i, ws[r.last].j, "threat aimed at a person")
		}
	}
	l.symbols(&c, nt.runes, signal)

	if isJA || in.Lang == LangJA {
		ts := tokenizeJA(l.tok, nt.runes)
		for _, m := range l.lex.matchJapanese(ts) {
			strength := signal
			if jaAimed(ts, m.first) {
				strength = aimedDirect
			}
			d := ""
			if ts[m.first].i < len(nt.runes) && nt.origSpanDiffers(ts[m.first].i, ts[m.last].j) {
				d = "disguised spelling"
			}
			c.addEntry(m.e, ts[m.first].i, ts[m.last].j, d, strength, aimedHow(strength))
		}
	}
	if len(ws) == 0 && !isJA && len(v.Notes) == 0 {
		v.Notes = append(v.Notes, "no words to analyse")
	}
	slices.SortStableFunc(v.Spans, func(a, b Span) int { return a.Start - b.Start })
	return v, nil
}

// symbols matches single-rune entries such as 🖕.
func (l *Local) symbols(c *collector, rs []nrune, signal float64) {
	if len(l.lex.symbols) == 0 {
		return
	}
	for i, r := range rs {
		for _, e := range l.lex.symbols[r.r] {
			c.addEntry(e, i, i+1, "", signal, aimedHow(signal))
		}
	}
}

func aimedHow(strength float64) string {
	switch strength {
	case aimedDirect:
		return "insult aimed at a second person"
	case aimedMention:
		return "insult in a message that mentions or addresses someone"
	case aimedReply:
		return "insult in a reply (borderline)"
	}
	return ""
}

// collector turns matches into spans and scores.
type collector struct {
	v  *Verdict
	nt *normText
}

func (c *collector) addEntry(e *entry, i, j int, disguise string, strength float64, how string) {
	start, end := c.nt.origSpan(i, j)
	rule := "word list"
	if disguise != "" {
		rule = "word list, " + disguise
	}
	for _, cs := range e.scores {
		c.add(Span{Start: start, End: end, Category: cs.cat, Score: cs.score, List: e.list, TermID: e.id, Rule: rule})
	}
	if e.insult && strength > 0 {
		c.add(Span{Start: start, End: end, Category: Harassment, Score: max(strength, e.scoreFor(Harassment)), List: e.list, TermID: e.id, Rule: how})
	}
}

func (e *entry) scoreFor(cat Category) float64 {
	for _, cs := range e.scores {
		if cs.cat == cat {
			return cs.score
		}
	}
	return 0
}

func (c *collector) addRule(cat Category, score float64, i, j int, rule string) {
	start, end := c.nt.origSpan(i, j)
	c.add(Span{Start: start, End: end, Category: cat, Score: score, List: "rule", TermID: string(cat), Rule: rule})
}

func (c *collector) add(s Span) {
	c.v.Spans = append(c.v.Spans, s)
	if s.Score > c.v.Scores[s.Category] {
		c.v.Scores[s.Category] = s.Score
	}
}

// origSpanDiffers reports whether the normalised runes [i, j) differ from
// the original text they came from (a sign of a disguised spelling).
func (n *normText) origSpanDiffers(i, j int) bool {
	for k := i; k < j && k < len(n.runes); k++ {
		if n.runes[k].end-n.runes[k].start != int32(utf8.RuneLen(n.runes[k].r)) {
			return true
		}
	}
	return false
}
