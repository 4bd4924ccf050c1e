package moderation

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// word is one English word of normalised text.
type word struct {
	// text is the word with leetspeak mapped (1 → i, | → l); alt is the
	// other reading of 1 and | (1 → l, | → i) when there is one.
	text, alt string
	// i, j is the word's range in normalised runes.
	i, j int
	// sentence numbers the sentence the word is in.
	sentence int
	// gap is the number of runes between the previous word and this one;
	// sepOnly is true when they are all inserted separators.
	gap     int
	sepOnly bool
	mention bool
	masked  bool
	leet    bool
	// disguise says how the word was disguised, if it was.
	disguise string
	// letters holds the normalised rune index of each letter of a word
	// joined from spaced letters.
	letters []int
}

func isWordRune(r rune) bool {
	if r < 0x80 {
		return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '\'' || r == '*' || leet[r] != 0
	}
	return unicode.IsLetter(r) && !isJapaneseLetter(r)
}

// englishWords splits normalised runes into words, mapping leetspeak inside
// words that have at least one letter.
func englishWords(rs []nrune) []word {
	var out []word
	sentence, gap, sepOnly := 0, 0, true
	for i := 0; i < len(rs); {
		if !isWordRune(rs[i].r) {
			switch rs[i].r {
			case '.', '!', '?', '\n', '。', '！', '？':
				// A '.' between single letters ("k.i.l.l") is not an
				// end of sentence; the spaced-letter pass joins them.
				if !(rs[i].r == '.' && i+1 < len(rs) && isWordRune(rs[i+1].r)) {
					sentence++
				}
			}
			if !isInsertedSeparator(rs[i].r) {
				sepOnly = false
			}
			gap++
			i++
			continue
		}
		j := i
		for j < len(rs) && isWordRune(rs[j].r) {
			j++
		}
		if w, ok := makeWord(rs, i, j); ok {
			w.sentence, w.gap, w.sepOnly = sentence, gap, sepOnly
			out = append(out, w)
		}
		gap, sepOnly = 0, true
		i = j
	}
	return out
}

// makeWord builds a word from rs[i:j], trimming edge punctuation.
func makeWord(rs []nrune, i, j int) (word, bool) {
	trimLead := func(r rune) bool { return r == '\'' || r == '*' || r == '!' || r == '|' }
	trimTail := func(r rune) bool { return r == '\'' || r == '*' || r == '!' || r == '|' || r == '@' }
	mention := false
	for i < j && (trimLead(rs[i].r) || rs[i].r == '@') {
		if rs[i].r == '@' {
			mention = true
		}
		i++
	}
	for j > i && trimTail(rs[j-1].r) {
		j--
	}
	if i >= j {
		return word{}, false
	}
	var b, alt strings.Builder
	letters, masked, ambiguous, leeted := 0, false, false, false
	for k := i; k < j; k++ {
		r := rs[k].r
		switch {
		case r == '*':
			masked = true
			b.WriteRune(r)
			alt.WriteRune(r)
		case r == '1' || r == '|':
			ambiguous, leeted = true, true
			b.WriteRune(map[bool]rune{true: 'i', false: 'l'}[r == '1'])
			alt.WriteRune(map[bool]rune{true: 'l', false: 'i'}[r == '1'])
		case leet[r] != 0:
			leeted = true
			b.WriteRune(leet[r])
			alt.WriteRune(leet[r])
		default:
			if unicode.IsLetter(r) {
				letters++
			}
			b.WriteRune(r)
			alt.WriteRune(r)
		}
	}
	if letters == 0 {
		// Numbers and symbols alone ("1337", "$5") are not words.
		return word{}, false
	}
	w := word{text: b.String(), i: i, j: j, mention: mention, masked: masked, leet: leeted}
	if ambiguous {
		w.alt = alt.String()
	}
	return w, true
}

// collapseRuns returns s with every run of three or more equal letters cut
// to n (1 or 2), and whether there was such a run.
func collapseRuns(s string, n int) (string, bool) {
	rs := []rune(s)
	var b strings.Builder
	found := false
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && rs[j] == rs[i] {
			j++
		}
		k := j - i
		if k >= 3 {
			found = true
			k = n
		}
		for range k {
			b.WriteRune(rs[i])
		}
		i = j
	}
	return b.String(), found
}

// variants are the spellings of w to look up: as written, with the other
// reading of 1 and |, and with long letter runs cut to one or two letters
// ("stuuuupid" → "stupid", "asssss" → "ass").
func (w word) variants(buf []string) []string {
	buf = append(buf[:0], w.text)
	if w.alt != "" {
		buf = append(buf, w.alt)
	}
	n := len(buf)
	for _, v := range buf[:n] {
		if c1, ok := collapseRuns(v, 1); ok {
			c2, _ := collapseRuns(v, 2)
			buf = append(buf, c1, c2)
		}
	}
	return buf
}

var (
	secondPerson = set("you", "u", "ya", "ye", "yall", "y'all", "youre", "you're", "ur", "yourself", "yourselves", "thou", "yu", "yo")
	// fillers may stand between a second-person word and an insult aimed at
	// it ("you are such a total idiot").
	fillers = set("are", "r", "'re", "a", "an", "so", "such", "the", "fucking", "fuckin", "total", "complete", "absolute",
		"little", "big", "stupid", "dumb", "damn", "bloody", "utter", "really", "real", "just", "being", "is", "am", "like",
		"ugly", "fat", "worthless", "pathetic", "useless", "sad", "lazy", "an", "of", "piece", "ignorant", "disgusting",
		"filthy", "dirty", "old", "sick", "fuck", "fucken", "freaking", "frigging", "goddamn", "one", "are", "re")
	firstPerson  = set("i", "we", "ill", "im", "i'll", "i'm", "ima", "imma", "i'ma", "we'll", "we're", "i'd", "we'd", "ive", "i've")
	negations    = set("not", "never", "won't", "wont", "don't", "dont", "wouldn't", "wouldnt", "can't", "cant", "cannot", "didn't", "didnt", "no", "shouldn't", "shouldnt")
	threatVerbs  = set("kill", "killing", "murder", "murdering", "stab", "stabbing", "shoot", "shooting", "strangle", "strangling", "choke", "choking", "hurt", "hurting", "beat", "punch", "slap", "rape", "raping", "behead", "bury", "burn", "hunt", "skin", "gut", "slaughter", "lynch", "smash", "break", "slit", "drown", "hang", "torture", "end", "shank", "cut")
	objectGroups = set("all", "of", "every", "one", "each", "both", "the", "whole", "lot", "and", "family")
	objectNouns  = set("throat", "neck", "face", "head", "legs", "arms", "family", "kids", "children", "wife", "husband", "mom", "mother", "dog", "house", "skull", "life")
)

func set(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

// enMatch is one English match before scoring.
type enMatch struct {
	e        *entry
	first    int // index of first word
	last     int // index of last word
	i, j     int // normalised rune range
	disguise string
}

// prepareEnglish rewrites ws into the words the matchers compare:
//
//   - runs of three or more single letters separated only by inserted
//     separators ("i d i o t", "k.i.l.l") become one word;
//   - masked words ("f*ck") become the one list word they fit;
//   - a word whose spelling is not known but one of its variants is
//     ("stuuuupid", "k1ll") becomes that variant.
//
// Each rewritten word records how it was disguised.
func (lx *lexicon) prepareEnglish(ws []word) []word {
	out := ws[:0:0]
	for a := 0; a < len(ws); {
		b := a
		for b < len(ws) && b-a < 64 && utf8.RuneCountInString(ws[b].text) == 1 && (b == a || (ws[b].sepOnly && ws[b].gap <= 3 && ws[b].sentence == ws[a].sentence)) {
			b++
		}
		if b-a >= 3 {
			m := word{i: ws[a].i, j: ws[b-1].j, sentence: ws[a].sentence, gap: ws[a].gap, sepOnly: ws[a].sepOnly, disguise: "letters spaced apart"}
			var sb strings.Builder
			for k := a; k < b; k++ {
				sb.WriteString(ws[k].text)
				m.letters = append(m.letters, ws[k].i)
			}
			m.text = sb.String()
			out = append(out, m)
			a = b
			continue
		}
		out = append(out, ws[a])
		a++
	}
	var vbuf []string
	for k := range out {
		w := &out[k]
		switch {
		case w.masked:
			if key, ok := lx.unmask(w.text); ok {
				w.text, w.alt, w.disguise = key, "", "masked letters"
			}
		case lx.vocab[w.text] || threatVerbs[w.text]:
		default:
			vbuf = w.variants(vbuf)
			for _, v := range vbuf[1:] {
				if lx.vocab[v] || threatVerbs[v] {
					w.text, w.alt, w.disguise = v, "", "disguised spelling"
					break
				}
			}
		}
		if w.disguise == "" && w.leet {
			w.disguise = "disguised spelling"
		}
	}
	return out
}

// matchEnglish finds list entries among prepared words.
func (lx *lexicon) matchEnglish(ws []word) []enMatch {
	var out []enMatch
	covered := -1
	for a := range ws {
		// Longest phrase first.
		for n := min(lx.enMaxWords, len(ws)-a); n >= 2; n-- {
			if ws[a+n-1].sentence != ws[a].sentence {
				continue
			}
			var b strings.Builder
			d := ""
			for k := a; k < a+n; k++ {
				if k > a {
					b.WriteByte(' ')
				}
				b.WriteString(ws[k].text)
				if ws[k].disguise != "" {
					d = ws[k].disguise
				}
			}
			if es := lx.en[b.String()]; es != nil {
				for _, e := range es {
					out = append(out, enMatch{e: e, first: a, last: a + n - 1, i: ws[a].i, j: ws[a+n-1].j, disguise: d})
				}
				covered = max(covered, a+n-1)
				break
			}
		}
		if a <= covered {
			continue
		}
		w := ws[a]
		es := lx.en[w.text]
		if es == nil && w.alt != "" {
			es = lx.en[w.alt]
		}
		if es == nil {
			es = lx.plural(w.text)
		}
		if es != nil {
			for _, e := range es {
				out = append(out, enMatch{e: e, first: a, last: a, i: w.i, j: w.j, disguise: w.disguise})
			}
			continue
		}
		if len(w.letters) > 0 {
			out = append(out, lx.matchSpacedInside(w, a)...)
		}
	}
	return out
}

func (lx *lexicon) plural(v string) []*entry {
	var es []*entry
	for _, suf := range []string{"s", "es"} {
		if base, ok := strings.CutSuffix(v, suf); ok && len(base) >= 3 {
			for _, e := range lx.en[base] {
				if e.plural {
					es = append(es, e)
				}
			}
		}
	}
	return es
}

// unmask finds the one single-word list entry that a word with letters
// masked by '*' ("f*ck", "sh*t") fits: at most two masks, at least two
// visible letters, and not starting with a mask.
func (lx *lexicon) unmask(text string) (string, bool) {
	rs := []rune(text)
	masks := strings.Count(text, "*")
	if masks == 0 || masks > 2 || len(rs)-masks < 2 || rs[0] == '*' {
		return "", false
	}
	for _, key := range lx.enByLen[len(rs)] {
		kr := []rune(key)
		ok := true
		for i := range rs {
			if rs[i] != '*' && rs[i] != kr[i] {
				ok = false
				break
			}
		}
		if ok {
			return key, true
		}
	}
	return "", false
}

// matchSpacedInside looks for list words inside a word joined from spaced
// letters ("you are a b i t c h" joins to "abitch"): every stretch of three
// or more letters is tried, longest first.
func (lx *lexicon) matchSpacedInside(w word, k int) []enMatch {
	var out []enMatch
	n := len(w.letters)
	if n != len(w.text) {
		return nil
	}
	for s := 0; s < n-2; s++ {
		for e := n; e-s >= 3; e-- {
			if es := lx.en[w.text[s:e]]; es != nil {
				for _, en := range es {
					out = append(out, enMatch{e: en, first: k, last: k, i: w.letters[s], j: w.letters[e-1] + 1, disguise: w.disguise})
				}
				s = e - 1
				break
			}
		}
	}
	return out
}

// aimedAt reports whether the words before index k, in the same sentence,
// aim it at a second person: "you idiot", "you are such an idiot", "ur dumb".
func aimedAt(ws []word, k int) bool {
	// "shut up faggot", "stfu idiot": a vocative after a hostile command.
	if k >= 2 && ws[k-2].text == "shut" && ws[k-1].text == "up" && ws[k-1].sentence == ws[k].sentence {
		return true
	}
	if k >= 1 && ws[k-1].text == "stfu" && ws[k-1].sentence == ws[k].sentence {
		return true
	}
	for back := 1; back <= 5 && k-back >= 0; back++ {
		w := ws[k-back]
		if w.sentence != ws[k].sentence {
			return false
		}
		if secondPerson[w.text] {
			return true
		}
		if !fillers[w.text] {
			return false
		}
	}
	return false
}

// threatRule finds first-person threats against a second person: "I will
// kill you", "i'm gonna stab u", "we'll find you and hurt your family". It
// returns matches as (first word, last word, score, explanation).
func threatRule(ws []word) []ruleMatch {
	var out []ruleMatch
	for k, w := range ws {
		if !threatVerbs[w.text] {
			continue
		}
		// Object: a second-person word within a few words after the verb.
		obj := -1
		for f := k + 1; f < len(ws) && f <= k+4 && ws[f].sentence == w.sentence; f++ {
			t := ws[f].text
			if t == "you" || t == "u" || t == "ya" || t == "yall" || t == "y'all" {
				obj = f
				break
			}
			if t == "your" || t == "ur" {
				if f+1 < len(ws) && objectNouns[ws[f+1].text] {
					obj = f + 1
				}
				break
			}
			if !objectGroups[t] {
				break
			}
		}
		if obj < 0 {
			continue
		}
		// Subject: a first-person word before the verb, with no negation
		// in between.
		subject, negated := -1, false
		for back := k - 1; back >= 0 && back >= k-6 && ws[back].sentence == w.sentence; back-- {
			t := ws[back].text
			if negations[t] || strings.HasSuffix(t, "n't") {
				negated = true
			}
			if firstPerson[t] {
				subject = back
				break
			}
		}
		switch {
		case negated:
			continue
		case subject >= 0:
			out = append(out, ruleMatch{first: subject, last: obj, cat: Threat, score: 0.9, rule: "first-person threat of violence against a second person"})
		default:
			out = append(out, ruleMatch{first: k, last: obj, cat: Threat, score: 0.45, rule: "violent verb aimed at a second person, no first-person subject (borderline)"})
		}
	}
	return out
}

type ruleMatch struct {
	first, last int
	cat         Category
	score       float64
	rule        string
}
