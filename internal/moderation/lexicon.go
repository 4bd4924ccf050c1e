package moderation

import (
	"bufio"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The word lists. Files named *-en.tsv are English, *-ja.tsv Japanese. Each
// non-comment line has five tab-separated columns:
//
//	id  term  scores  flags  source
//
// scores is a comma-separated list of category:score (sexual:0.6); flags is
// "-" or a comma-separated list of:
//
//	insult      raised to harassment when aimed at a person
//	plural      English: also matches the term + "s" or "es"
//	imperative  Japanese: only an imperative use matches, not a conditional,
//	            past or auxiliary form (死ね, not 死ねば or 死ねた)
//	notafter-noun  Japanese: not when right after a noun (氏ね is a known
//	            disguise of 死ね, but 田中氏ね is "Mr Tanaka, right?")
//
// source says where the entry comes from or why the team added it.
//
//go:generate go run ./wordlists
//go:embed lists/*.tsv
var listFS embed.FS

type catScore struct {
	cat   Category
	score float64
}

type entry struct {
	list, id, term string
	scores         []catScore
	insult         bool
	plural         bool
	imperative     bool
	notAfterNoun   bool
}

// lexicon is the loaded word lists, keyed by their normalised form.
type lexicon struct {
	// en is keyed by normalised words joined by single spaces.
	en         map[string][]*entry
	enMaxWords int
	// enByLen holds single-word English keys by rune length, for masked
	// words such as "f*ck".
	enByLen map[int][]string
	// symbols are single-rune entries (emoji) matched anywhere.
	symbols map[rune][]*entry
	// ja is keyed by folded Japanese surface (see foldKana).
	// vocab holds every word of every English key, for choosing among a
	// word's spellings.
	vocab      map[string]bool
	ja         map[string][]*entry
	jaMaxRunes int
	count      int
}

// loadLexicon parses every embedded list.
func loadLexicon() (*lexicon, error) {
	return loadLexiconFS(listFS, "lists")
}

func loadLexiconFS(fsys fs.FS, dir string) (*lexicon, error) {
	lx := &lexicon{
		en:      map[string][]*entry{},
		enByLen: map[int][]string{},
		symbols: map[rune][]*entry{},
		vocab:   map[string]bool{},
		ja:      map[string][]*entry{},
	}
	files, err := fs.Glob(fsys, path.Join(dir, "*.tsv"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadLists, err)
	}
	for _, name := range files {
		base := path.Base(name)
		list := strings.TrimSuffix(base, ".tsv")
		var lang Lang
		switch {
		case strings.HasSuffix(list, "-en"):
			lang = LangEN
		case strings.HasSuffix(list, "-ja"):
			lang = LangJA
		default:
			return nil, fmt.Errorf("%w: %s: name must end in -en.tsv or -ja.tsv", ErrBadLists, base)
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadLists, err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		line := 0
		for sc.Scan() {
			line++
			text := sc.Text()
			if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
				continue
			}
			e, err := parseEntry(list, text)
			if err != nil {
				return nil, fmt.Errorf("%w: %s:%d: %v", ErrBadLists, base, line, err)
			}
			if err := lx.add(lang, e); err != nil {
				return nil, fmt.Errorf("%w: %s:%d: %v", ErrBadLists, base, line, err)
			}
		}
	}
	return lx, nil
}

func parseEntry(list, line string) (*entry, error) {
	cols := strings.Split(line, "\t")
	if len(cols) != 5 {
		return nil, fmt.Errorf("want 5 tab-separated columns, have %d", len(cols))
	}
	e := &entry{list: list, id: cols[0], term: cols[1]}
	if e.id == "" || e.term == "" || strings.TrimSpace(cols[4]) == "" {
		return nil, fmt.Errorf("id, term and source are required")
	}
	for _, f := range strings.Split(cols[2], ",") {
		c, s, ok := strings.Cut(f, ":")
		score, err := strconv.ParseFloat(s, 64)
		if !ok || err != nil || score < 0 || score > 1 || !Category(c).Valid() {
			return nil, fmt.Errorf("bad score %q", f)
		}
		e.scores = append(e.scores, catScore{Category(c), score})
	}
	if cols[3] != "-" {
		for _, f := range strings.Split(cols[3], ",") {
			switch f {
			case "insult":
				e.insult = true
			case "plural":
				e.plural = true
			case "imperative":
				e.imperative = true
			case "notafter-noun":
				e.notAfterNoun = true
			default:
				return nil, fmt.Errorf("unknown flag %q", f)
			}
		}
	}
	return e, nil
}

func (lx *lexicon) add(lang Lang, e *entry) error {
	lx.count++
	n := normalize(e.term)
	if lang == LangJA {
		key := foldKanaRunes(n.runes)
		if key == "" {
			return fmt.Errorf("term %q normalises to nothing", e.term)
		}
		lx.ja[key] = append(lx.ja[key], e)
		lx.jaMaxRunes = max(lx.jaMaxRunes, utf8.RuneCountInString(key))
		return nil
	}
	ws := englishWords(n.runes)
	if len(ws) == 0 {
		if rs := []rune(strings.TrimSpace(string(runesOf(n.runes)))); len(rs) == 1 {
			lx.symbols[rs[0]] = append(lx.symbols[rs[0]], e)
			return nil
		}
		return fmt.Errorf("term %q has no words", e.term)
	}
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.text
		lx.vocab[w.text] = true
	}
	key := strings.Join(parts, " ")
	if _, seen := lx.en[key]; !seen && len(ws) == 1 {
		l := utf8.RuneCountInString(key)
		lx.enByLen[l] = append(lx.enByLen[l], key)
	}
	lx.en[key] = append(lx.en[key], e)
	lx.enMaxWords = max(lx.enMaxWords, len(ws))
	return nil
}

func runesOf(ns []nrune) []rune {
	rs := make([]rune, len(ns))
	for i, n := range ns {
		rs[i] = n.r
	}
	return rs
}

// foldKana folds one rune for Japanese matching: katakana to hiragana and
// small vowels to their full-size forms, so that バカ, ばか and ﾊﾞｶ (after
// NFKC) compare equal, as do てめぇ and てめえ.
func foldKana(r rune) rune {
	if r >= 'ァ' && r <= 'ヶ' {
		r -= 0x60
	}
	switch r {
	case 'ぁ', 'ぃ', 'ぅ', 'ぇ', 'ぉ':
		r++
	}
	return r
}

func foldKanaRunes(ns []nrune) string {
	var b strings.Builder
	for _, n := range ns {
		if n.r == ' ' {
			continue
		}
		b.WriteRune(foldKana(n.r))
	}
	return b.String()
}
