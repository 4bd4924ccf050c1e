package moderation

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// nrune is one rune of normalised text with the byte range of the original
// text it came from.
type nrune struct {
	r          rune
	start, end int32
}

// normText is normalised text that remembers where each rune came from.
type normText struct {
	runes []nrune
}

// origSpan maps the normalised rune range [i, j) back to original bytes.
func (n *normText) origSpan(i, j int) (int, int) {
	if i >= j || j > len(n.runes) {
		return 0, 0
	}
	return int(n.runes[i].start), int(n.runes[j-1].end)
}

// homoglyphs maps look-alike letters from other scripts to the Latin letter
// they imitate. Applied after case folding.
var homoglyphs = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p',
	'с': 'c', 'т': 't', 'у': 'y', 'х': 'x', 'і': 'i', 'ї': 'i', 'ј': 'j', 'ѕ': 's', 'һ': 'h',
	'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ʏ': 'y',
	// Greek
	'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p',
	'τ': 't', 'υ': 'u', 'χ': 'x', 'ω': 'w', 'ϲ': 'c', 'μ': 'u',
	// Latin look-alikes and typographic quotes
	'ı': 'i', 'ł': 'l', 'ø': 'o', 'ß': 's', 'ƒ': 'f',
	'\u2018': '\'', '\u2019': '\'', '\u02bc': '\'', '\u2032': '\'',
}

// normalize returns src in the form the matchers read: NFKC (which also
// folds full-width and half-width forms), lower case, Latin diacritics
// removed, homoglyphs mapped to Latin, format characters (zero-width
// spaces and joiners, soft hyphens, bidi controls) and combining marks
// dropped, every kind of space made ' ', and separators inserted between
// Japanese letters ("死 ね", "し・ね") removed.
func normalize(src string) normText {
	out := normText{runes: make([]nrune, 0, len(src))}
	var it norm.Iter
	it.InitString(norm.NFKC, src)
	for !it.Done() {
		segStart := int32(it.Pos())
		seg := it.Next()
		segEnd := int32(it.Pos())
		for len(seg) > 0 {
			r, size := utf8.DecodeRune(seg)
			seg = seg[size:]
			if r = foldRune(r); r < 0 {
				continue
			}
			out.runes = append(out.runes, nrune{r: r, start: segStart, end: segEnd})
		}
	}
	out.runes = dropJapaneseSeparators(out.runes)
	return out
}

// foldRune folds one NFKC rune, or returns -1 to drop it.
func foldRune(r rune) rune {
	switch {
	case r == utf8.RuneError:
		return -1
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Mn, r), unicode.Is(unicode.Me, r):
		return -1
	case unicode.IsSpace(r):
		return ' '
	case unicode.IsControl(r):
		return ' '
	}
	r = unicode.ToLower(r)
	if g, ok := homoglyphs[r]; ok {
		return g
	}
	if r >= 0xC0 && r < 0x250 && unicode.Is(unicode.Latin, r) {
		// Strip diacritics: take the base letter of the canonical
		// decomposition (ü → u).
		var buf [utf8.UTFMax]byte
		n := utf8.EncodeRune(buf[:], r)
		d := norm.NFD.Bytes(buf[:n])
		if b, _ := utf8.DecodeRune(d); b < 0x80 {
			return b
		}
	}
	return r
}

// isJapaneseLetter reports whether r is kana, a kanji, or the prolonged
// sound mark.
func isJapaneseLetter(r rune) bool {
	return unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han) || r == 'ー'
}

// isInsertedSeparator reports whether r is a character people insert between
// letters to get past filters.
func isInsertedSeparator(r rune) bool {
	switch r {
	case ' ', '・', '.', '*', '_', '-', '~', '/', '|', '+', '\'', '"', ',':
		return true
	}
	return false
}

// dropJapaneseSeparators removes short runs (at most three) of inserted
// separators between two Japanese letters. Japanese is written without
// spaces, so "死 ね" and "し・ね" are disguises of 死ね.
func dropJapaneseSeparators(rs []nrune) []nrune {
	out := rs[:0]
	for i := 0; i < len(rs); i++ {
		if isInsertedSeparator(rs[i].r) && len(out) > 0 && isJapaneseLetter(out[len(out)-1].r) {
			j := i
			for j < len(rs) && j-i < 4 && isInsertedSeparator(rs[j].r) {
				j++
			}
			if j-i <= 3 && j < len(rs) && isJapaneseLetter(rs[j].r) {
				i = j - 1
				continue
			}
		}
		out = append(out, rs[i])
	}
	return out
}

// leet maps digits and symbols used as letters inside words.
var leet = map[rune]rune{
	'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', '$': 's', '!': 'i', '|': 'l', '8': 'b', '9': 'g',
}

// isJapaneseText reports whether any rune is kana or kanji.
func hasJapanese(rs []nrune) bool {
	for _, r := range rs {
		if r.r >= 0x3040 && isJapaneseLetter(r.r) {
			return true
		}
	}
	return false
}
