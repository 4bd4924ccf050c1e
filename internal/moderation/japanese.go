package moderation

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ikawaha/kagome/v2/tokenizer"
)

// jaToken is one kagome token with what the matcher needs.
type jaToken struct {
	// i, j is the token's range in normalised runes.
	i, j    int
	surface string // folded (see foldKana)
	raw     string // as kagome saw it
	pos     string // part of speech, first level (名詞, 動詞, 助詞 …)
	pos2    string // second level (代名詞, 接尾 …)
	form    string // inflectional form (命令ｅ, 仮定形 …)
	base    string
}

// jaSecondPerson are folded second-person words: aimed at the reader.
var jaSecondPerson = set("お前", "おまえ", "てめえ", "てめー", "てめ", "あんた", "君", "きみ", "貴様", "きさま", "おめえ", "おめー", "貴方", "あなた", "おまえら", "お前ら", "てめえら", "あんたら")

// tokenizeJA runs kagome over the normalised text. The tokenizer is created
// once per [Local]; its Analyze method takes a lattice from a pool and only
// reads the dictionary, so it is safe for concurrent use.
func tokenizeJA(tk *tokenizer.Tokenizer, rs []nrune) []jaToken {
	text := string(runesOf(rs))
	toks := tk.Analyze(text, tokenizer.Normal)
	out := make([]jaToken, 0, len(toks))
	for _, t := range toks {
		if t.Class == tokenizer.DUMMY || t.Surface == "" {
			continue
		}
		f := t.Features()
		jt := jaToken{i: t.Start, j: t.End}
		if jt.j > len(rs) {
			jt.j = len(rs)
		}
		var b strings.Builder
		for _, r := range t.Surface {
			if r != ' ' {
				b.WriteRune(foldKana(r))
			}
		}
		jt.surface, jt.raw = b.String(), t.Surface
		if jt.surface == "" {
			continue
		}
		if len(f) > 0 {
			jt.pos = f[0]
		}
		if len(f) > 1 {
			jt.pos2 = f[1]
		}
		if len(f) > 5 {
			jt.form = f[5]
		}
		if len(f) > 6 {
			jt.base = f[6]
		}
		out = append(out, jt)
	}
	return out
}

// jaMatch is one Japanese match before scoring.
type jaMatch struct {
	e           *entry
	first, last int // token indexes
}

// matchJapanese finds list entries whose folded form is exactly the
// concatenation of one or more whole tokens. Because a match must start and
// end on token boundaries, カス does not match inside カスタマー, nor バカ
// inside バカンス, nor 死 inside 死角.
func (lx *lexicon) matchJapanese(ts []jaToken) []jaMatch {
	var out []jaMatch
	var b strings.Builder
	for a := range ts {
		b.Reset()
		best := -1
		var bestEs []*entry
		for k := a; k < len(ts) && k-a < 6; k++ {
			b.WriteString(ts[k].surface)
			if b.Len() > lx.jaMaxRunes*4 {
				break
			}
			if es := lx.ja[b.String()]; es != nil {
				best, bestEs = k, es
			}
		}
		if best < 0 {
			continue
		}
		if lx.inKatakanaCompound(ts, a, best) {
			continue
		}
		for _, e := range bestEs {
			if e.imperative && !imperativeUse(ts, a, best) {
				continue
			}
			if e.notAfterNoun && a > 0 && ts[a-1].pos == "名詞" {
				continue
			}
			out = append(out, jaMatch{e: e, first: a, last: best})
		}
	}
	return out
}

// imperativeUse reports whether tokens a..k are used as an imperative: not
// a conditional (死ねば), and not followed by an auxiliary or a conjunctive
// particle (死ねた, 死ねない, 死ねて), which make it past, negative or
// potential.
func imperativeUse(ts []jaToken, a, k int) bool {
	if ts[k].form == "仮定形" || ts[k].form == "未然形" {
		return false
	}
	if k+1 >= len(ts) {
		return true
	}
	next := ts[k+1]
	switch next.pos {
	case "助動詞":
		return false
	case "助詞":
		return next.pos2 != "接続助詞"
	case "動詞":
		return next.pos2 != "非自立" && next.pos2 != "接尾"
	}
	return true
}

// jaAimed reports whether the sentence holding token k addresses a second
// person (お前, てめえ, あんた …).
func jaAimed(ts []jaToken, k int) bool {
	for d := -1; d <= 1; d += 2 {
		for x := k + d; x >= 0 && x < len(ts); x += d {
			if isSentenceEnd(ts[x].surface) {
				break
			}
			if ts[x].pos2 != "接尾" && jaSecondPerson[ts[x].surface] {
				return true
			}
		}
	}
	return false
}

func isSentenceEnd(s string) bool {
	return s == "。" || s == "!" || s == "?" || s == "\n" || s == "．"
}

// inKatakanaCompound reports whether a match is part of a longer katakana
// word that kagome split: ホモ in ホモサピエンス. A neighbouring katakana
// token that is itself a list word (クソバカ) does not count.
func (lx *lexicon) inKatakanaCompound(ts []jaToken, a, k int) bool {
	isKata := func(t jaToken) bool {
		r, _ := utf8.DecodeRuneInString(t.raw)
		return unicode.Is(unicode.Katakana, r) && r != 'ー'
	}
	lastKata := func(t jaToken) bool {
		r, _ := utf8.DecodeLastRuneInString(t.raw)
		return unicode.Is(unicode.Katakana, r) || r == 'ー'
	}
	if k+1 < len(ts) && ts[k+1].i == ts[k].j && lastKata(ts[k]) && isKata(ts[k+1]) && lx.ja[ts[k+1].surface] == nil {
		return true
	}
	if a > 0 && ts[a-1].j == ts[a].i && isKata(ts[a]) && lastKata(ts[a-1]) && lx.ja[ts[a-1].surface] == nil {
		return true
	}
	return false
}
