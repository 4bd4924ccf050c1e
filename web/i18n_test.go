package web

import (
	"encoding/json"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// languages are the catalogues the app ships; LANGUAGES in i18n.js lists
// the same codes.
var languages = []string{"en", "ja"}

func readStatic(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(staticFiles, path.Join("static", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func loadCatalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal([]byte(readStatic(t, "i18n/"+lang+".json")), &raw); err != nil {
		t.Fatalf("i18n/%s.json: %v", lang, err)
	}
	cat := make(map[string]string, len(raw))
	for k, v := range raw {
		s, ok := v.(string)
		if !ok {
			t.Errorf("i18n/%s.json: %q is a %T, want a string (the catalogue is flat)", lang, k, v)
			continue
		}
		if strings.TrimSpace(s) == "" {
			t.Errorf("i18n/%s.json: %q is empty", lang, k)
		}
		cat[k] = s
	}
	return cat
}

var placeholder = regexp.MustCompile(`\{(\w+)\}`)

func placeholders(s string) []string {
	var names []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		names = append(names, m[1])
	}
	sort.Strings(names)
	return names
}

// Where the code names message keys; see the comment at the top of i18n.js.
var (
	htmlKey = regexp.MustCompile(`data-i18n(?:-aria-label)?="([^"]*)"`)
	jsKey   = regexp.MustCompile(`(?:\bt\(\s*|\bi18n(?:AriaLabel)?:\s*|\w*Key:\s*)["'` + "`" + `]([^"'` + "`" + `]*)["'` + "`" + `]`)
	// Comments may talk about keys without using them.
	lineComment  = regexp.MustCompile(`(?m)^\s*//.*$`)
	blockComment = regexp.MustCompile(`(?s)/\*.*?\*/`)
)

// usedKeys returns each message key the shell's HTML and JavaScript name,
// with the files that name it.
func usedKeys(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	for _, m := range htmlKey.FindAllStringSubmatch(readStatic(t, indexFile), -1) {
		used[m[1]] = append(used[m[1]], indexFile)
	}
	err := fs.WalkDir(staticFiles, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := fs.ReadFile(staticFiles, p)
		if err != nil {
			return err
		}
		src := blockComment.ReplaceAllString(lineComment.ReplaceAllString(string(b), ""), "")
		for _, m := range jsKey.FindAllStringSubmatch(src, -1) {
			used[m[1]] = append(used[m[1]], path.Base(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return used
}

// TestCatalogues keeps the message catalogues complete and in step: the same
// keys in every language, the same placeholders in each translation, every
// key the shell uses present, and no key that nothing uses.
func TestCatalogues(t *testing.T) {
	cats := map[string]map[string]string{}
	for _, lang := range languages {
		cats[lang] = loadCatalogue(t, lang)
	}
	ref := cats[languages[0]]
	for _, lang := range languages[1:] {
		for k := range ref {
			if _, ok := cats[lang][k]; !ok {
				t.Errorf("%q is in %s.json but missing from %s.json", k, languages[0], lang)
			}
		}
		for k, v := range cats[lang] {
			refV, ok := ref[k]
			if !ok {
				t.Errorf("%q is in %s.json but missing from %s.json", k, lang, languages[0])
				continue
			}
			if a, b := placeholders(refV), placeholders(v); !slices.Equal(a, b) {
				t.Errorf("%q: placeholders %v in %s.json, %v in %s.json", k, a, languages[0], b, lang)
			}
		}
	}

	used := usedKeys(t)
	if len(used) < 10 {
		t.Fatalf("found only %d keys in use; is the key pattern still right?", len(used))
	}
	for k, files := range used {
		for _, lang := range languages {
			if _, ok := cats[lang][k]; !ok {
				t.Errorf("%q (used in %s) is missing from %s.json", k, strings.Join(slices.Compact(files), ", "), lang)
			}
		}
	}
	for k := range ref {
		if _, ok := used[k]; !ok {
			t.Errorf("%q is in the catalogues but nothing uses it (a key must be written out in full; see i18n.js)", k)
		}
	}
}

// TestLanguagesMatchScript keeps the list of catalogues and LANGUAGES in
// i18n.js, and the language picker in index.html, in step.
func TestLanguagesMatchScript(t *testing.T) {
	m := regexp.MustCompile(`LANGUAGES = Object\.freeze\(\[([^\]]*)\]\)`).FindStringSubmatch(readStatic(t, "i18n.js"))
	if m == nil {
		t.Fatal("LANGUAGES not found in i18n.js")
	}
	var inScript []string
	for _, s := range regexp.MustCompile(`"(\w+)"`).FindAllStringSubmatch(m[1], -1) {
		inScript = append(inScript, s[1])
	}
	if !slices.Equal(inScript, languages) {
		t.Errorf("LANGUAGES in i18n.js = %v, catalogues = %v", inScript, languages)
	}
	var inPicker []string
	for _, s := range regexp.MustCompile(`<option value="(\w+)" lang="(\w+)"`).FindAllStringSubmatch(readStatic(t, indexFile), -1) {
		if s[1] != s[2] {
			t.Errorf("option %q has lang %q", s[1], s[2])
		}
		inPicker = append(inPicker, s[1])
	}
	if !slices.Equal(inPicker, languages) {
		t.Errorf("language picker offers %v, catalogues = %v", inPicker, languages)
	}
}

// TestRoutesMatchRouter keeps Routes and the router's table in pages.js in
// step, so every client-side route is served with status 200 and no path the
// router does not know is.
func TestRoutesMatchRouter(t *testing.T) {
	var inScript []string
	for _, m := range regexp.MustCompile(`\bpath: "([^"]*)"`).FindAllStringSubmatch(readStatic(t, "pages.js"), -1) {
		if m[1] != "" { // the not-found page
			inScript = append(inScript, m[1])
		}
	}
	if !slices.Equal(inScript, Routes()) {
		t.Errorf("routes in pages.js = %v\nRoutes() = %v", inScript, Routes())
	}
	// Every navigation link leads to a route.
	for _, m := range regexp.MustCompile(`<a href="([^"]*)" data-nav`).FindAllStringSubmatch(readStatic(t, indexFile), -1) {
		if !isRoute(m[1]) {
			t.Errorf("navigation link %q is not a route", m[1])
		}
	}
}
