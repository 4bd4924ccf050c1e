package moderation

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// maxOrdinaryFPR is the release bar: at most 0.1% of ordinary messages
// flagged, per language.
const maxOrdinaryFPR = 0.001

var (
	sharedLocal     *Local
	sharedLocalErr  error
	sharedLocalOnce sync.Once
)

// testLocal returns one Local for all tests: loading the dictionary takes
// about a second.
func testLocal(t testing.TB) *Local {
	t.Helper()
	sharedLocalOnce.Do(func() { sharedLocal, sharedLocalErr = NewLocal(Options{}) })
	if sharedLocalErr != nil {
		t.Fatal(sharedLocalErr)
	}
	return sharedLocal
}

// example is one labelled message.
type example struct {
	lang   Lang
	source string // labelled, generated
	in     Input
	want   []Category
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func parseLabels(t testing.TB, s string) []Category {
	t.Helper()
	if s == "none" || s == "-" {
		return nil
	}
	var out []Category
	for _, c := range strings.Split(s, ",") {
		if !Category(c).Valid() {
			t.Fatalf("bad label %q", c)
		}
		out = append(out, Category(c))
	}
	return out
}

func labelledExamples(t testing.TB, lang Lang) []example {
	t.Helper()
	var out []example
	for _, l := range readLines(t, filepath.Join("testdata", "labelled", string(lang)+".tsv")) {
		cols := strings.SplitN(l, "\t", 3)
		if len(cols) != 3 {
			t.Fatalf("labelled %s: bad line %q", lang, l)
		}
		in := Input{Text: cols[2]}
		switch cols[1] {
		case "mention":
			in.Mentions = []string{"someone"}
		case "reply":
			in.IsReply = true
		}
		out = append(out, example{lang: lang, source: "labelled", in: in, want: parseLabels(t, cols[0])})
	}
	return out
}

// generatedExamples makes disguised variants of held-out words by code and
// puts them in sentence templates, bare and aimed at a second person.
func generatedExamples(t testing.TB, lang Lang) []example {
	t.Helper()
	var out []example
	for _, l := range readLines(t, filepath.Join("testdata", "heldout", string(lang)+".tsv")) {
		cols := strings.Split(l, "\t")
		if len(cols) != 3 {
			t.Fatalf("heldout %s: bad line %q", lang, l)
		}
		word, bare, aimed := cols[0], parseLabels(t, cols[1]), parseLabels(t, cols[2])
		aimedWant := slices.Concat(bare, aimed)
		slices.Sort(aimedWant)
		aimedWant = slices.Compact(aimedWant)
		for _, v := range disguises(word, lang) {
			if lang == LangEN {
				out = append(out,
					example{lang, "generated", Input{Text: "what a " + v + " thing to post"}, bare},
					example{lang, "generated", Input{Text: "you " + v}, aimedWant},
					example{lang, "generated", Input{Text: "you are such a " + v + "!"}, aimedWant})
			} else {
				out = append(out,
					example{lang, "generated", Input{Text: v}, bare},
					example{lang, "generated", Input{Text: "お前、" + v}, aimedWant},
					example{lang, "generated", Input{Text: "てめえ、" + v + "！"}, aimedWant})
			}
		}
	}
	return out
}

var leetOut = map[rune]string{'a': "4", 'e': "3", 'i': "1", 'o': "0", 's': "$", 't': "7"}
var homoglyphOut = map[rune]rune{'a': 'а', 'e': 'е', 'o': 'о', 'c': 'с', 'p': 'р', 'x': 'х', 'i': 'і'}

// disguises returns the word as written and disguised in the ways the
// normaliser is meant to undo.
func disguises(w string, lang Lang) []string {
	rs := []rune(w)
	join := func(sep string) string {
		parts := make([]string, len(rs))
		for i, r := range rs {
			parts[i] = string(r)
		}
		return strings.Join(parts, sep)
	}
	zw := join("\u200b")
	out := []string{w, zw}
	if lang == LangEN {
		var leetS, homo, upper strings.Builder
		for _, r := range rs {
			if l, ok := leetOut[r]; ok {
				leetS.WriteString(l)
			} else {
				leetS.WriteRune(r)
			}
			if h, ok := homoglyphOut[r]; ok {
				homo.WriteRune(h)
			} else {
				homo.WriteRune(r)
			}
			upper.WriteRune(r - 'a' + 'Ａ')
		}
		stretched := string(rs[:1]) + strings.Repeat(string(rs[1]), 4) + string(rs[2:])
		masked := string(rs[:1]) + "*" + string(rs[2:])
		out = append(out, leetS.String(), homo.String(), upper.String(), stretched, masked,
			join(" "), join("."), join("-"), strings.ToUpper(w))
		return out
	}
	// Japanese: hiragana ↔ katakana, half-width katakana, inserted
	// spaces and symbols.
	var swapped, half strings.Builder
	for _, r := range rs {
		switch {
		case r >= 'ぁ' && r <= 'ゖ':
			swapped.WriteRune(r + 0x60)
		case r >= 'ァ' && r <= 'ヶ':
			swapped.WriteRune(r - 0x60)
		default:
			swapped.WriteRune(r)
		}
	}
	for _, r := range swapped.String() {
		if h, ok := halfWidth[r]; ok {
			half.WriteString(h)
		} else {
			half.WriteRune(r)
		}
	}
	out = append(out, swapped.String(), half.String(), join(" "), join("・"), join("*"))
	return out
}

// halfWidth maps the katakana the held-out words use to half-width forms.
var halfWidth = map[rune]string{
	'ア': "ｱ", 'ウ': "ｳ", 'エ': "ｴ", 'オ': "ｵ", 'カ': "ｶ", 'キ': "ｷ", 'ク': "ｸ", 'コ': "ｺ", 'サ': "ｻ", 'シ': "ｼ", 'ス': "ｽ", 'セ': "ｾ",
	'タ': "ﾀ", 'チ': "ﾁ", 'テ': "ﾃ", 'ト': "ﾄ", 'ナ': "ﾅ", 'ニ': "ﾆ", 'ネ': "ﾈ", 'ハ': "ﾊ", 'ヒ': "ﾋ", 'ホ': "ﾎ", 'マ': "ﾏ", 'ヤ': "ﾔ",
	'ラ': "ﾗ", 'リ': "ﾘ", 'ル': "ﾙ", 'レ': "ﾚ", 'ロ': "ﾛ", 'ワ': "ﾜ", 'ン': "ﾝ", 'ッ': "ｯ", 'ズ': "ｽﾞ", 'ブ': "ﾌﾞ", 'ダ': "ﾀﾞ", 'デ': "ﾃﾞ",
	'ボ': "ﾎﾞ", 'ゴ': "ｺﾞ", 'ガ': "ｶﾞ", 'バ': "ﾊﾞ", 'ビ': "ﾋﾞ",
}

// ordinaryCorpus returns ordinary messages by source name.
func ordinaryCorpus(t testing.TB, lang Lang) map[string][]string {
	t.Helper()
	out := map[string][]string{
		"testdata/ordinary/" + string(lang) + ".txt": readLines(t, filepath.Join("testdata", "ordinary", string(lang)+".txt")),
	}
	if lang == LangEN {
		out["Go standard library doc comments ($GOROOT/src)"] = goDocSentences(t, 6000)
	} else {
		out["generated workplace sentences (templates in eval_test.go)"] = generatedJapanese()
		if s := japaneseSystemText(t); len(s) > 0 {
			out["Debian Japanese manual pages and vim tutor (/usr/share)"] = s
		} else {
			t.Log("no Japanese manual pages or vim tutor on this machine: that ordinary corpus is skipped")
		}
	}
	return out
}

var sentenceSplit = regexp.MustCompile(`[.!?]\s+`)

// goDocSentences takes sentences from the doc comments of the Go standard
// library on this machine: technical prose in ordinary English.
func goDocSentences(t testing.TB, limit int) []string {
	t.Helper()
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	root := filepath.Join(strings.TrimSpace(string(goroot)), "src")
	var files []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "vendor" || d.Name() == "cmd") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var para []string
		flush := func() {
			text := strings.Join(para, " ")
			para = para[:0]
			for _, s := range sentenceSplit.Split(text, -1) {
				s = strings.TrimSpace(s)
				if len(s) >= 20 && len(s) <= 300 && !strings.ContainsAny(s, "{}\t") {
					out = append(out, s)
				}
			}
		}
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if c, ok := strings.CutPrefix(line, "// "); ok && !strings.HasPrefix(c, " ") {
				para = append(para, c)
				continue
			}
			if len(para) > 0 {
				flush()
			}
		}
		if len(out) >= limit {
			break
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// generatedJapanese builds ordinary workplace sentences from templates, many
// containing words that embed list words (カスタマー, バカンス, 死角, 殺菌).
func generatedJapanese() []string {
	nouns := []string{"カスタマーサポート", "バカンス", "死角", "殺菌", "ゴミ箱", "サーバー", "データベース", "会議", "資料", "新機能",
		"カスタム設定", "チケット", "ログ", "バックアップ", "キャッシュ", "ビルド", "テスト", "請求書", "見積もり", "プロジェクト",
		"デザイン", "カスタネット", "ブースター", "死活監視", "必死の対応", "殺虫剤", "自殺防止の窓口", "アホウドリ", "くず餅", "ホモジニアス構成",
		"カステラ", "バカラのグラス", "ブスケッタ", "キモノ", "クズネッツの法則"}
	preds := []string{"%sについて相談させてください。", "%sを確認しました。", "%sの件、ありがとうございます。", "%sはどうなりましたか？",
		"明日までに%sを準備します。", "%sが届きました。", "%sの担当は誰ですか。", "%sを更新しておきます。", "%sに問題があるようです。",
		"%sの写真を共有します。", "%sについてのメモを書きました。", "来週%sを見直しましょう。", "%sの資料はこちらです。", "%sを改善したいです。",
		"%sの予算を確認してください。", "%sを楽しみにしています。", "%sが好きです。", "%sはもう終わりました。", "%sについて質問があります。",
		"%sのおかげで助かりました。", "%sを削除してもいいですか。", "%sは後回しにしましょう。", "%sの説明を聞きました。", "%sの進捗を教えてください。",
		"%sを見てください。", "%sが壊れたみたいです。", "%sを止めました。", "%sを再起動しました。", "%sの手順を書きました。", "%sのレビューをお願いします。"}
	var out []string
	for _, n := range nouns {
		for _, p := range preds {
			out = append(out, fmt.Sprintf(p, n))
		}
	}
	return out
}

var roffEscape = regexp.MustCompile(`\\f[BIRP]|\\\(..|\\[-&e|^ ]|\\\*\(..|\\s[-+]?\d`)

// japaneseSystemText reads Japanese prose shipped with Debian packages on
// this machine: manual pages under /usr/share/man/ja and the vim tutor.
func japaneseSystemText(t testing.TB) []string {
	t.Helper()
	var lines []string
	pages, _ := filepath.Glob("/usr/share/man/ja/man*/*.gz")
	sort.Strings(pages)
	for _, p := range pages {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			continue
		}
		data, _ := io.ReadAll(io.LimitReader(zr, 1<<20))
		f.Close()
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
				continue
			}
			lines = append(lines, roffEscape.ReplaceAllString(l, ""))
		}
	}
	if data, err := os.ReadFile("/usr/share/vim/vim90/tutor/tutor.ja.utf-8"); err == nil {
		lines = append(lines, strings.Split(string(data), "\n")...)
	}
	var out []string
	for _, s := range strings.Split(strings.Join(lines, ""), "。") {
		s = strings.TrimSpace(s)
		if hasJapanese(normalize(s).runes) && len(s) >= 15 && len(s) <= 600 {
			out = append(out, s+"。")
		}
	}
	return out
}

type confusion struct{ tp, fp, fn, tn int }

func (c confusion) precision() float64 { return ratio(c.tp, c.tp+c.fp) }
func (c confusion) recall() float64    { return ratio(c.tp, c.tp+c.fn) }
func (c confusion) fpr() float64       { return ratio(c.fp, c.fp+c.tn) }
func (c confusion) f1() float64 {
	p, r := c.precision(), c.recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// TestEvaluation prints precision, recall, F1 and false-positive rate per
// language and category on the labelled and generated sets, and the
// false-positive rate on ordinary text; it fails when that rate exceeds
// 0.1% in a language.
func TestEvaluation(t *testing.T) {
	l := testLocal(t)
	ctx := t.Context()
	for _, lang := range []Lang{LangEN, LangJA} {
		examples := slices.Concat(labelledExamples(t, lang), generatedExamples(t, lang))
		counts := map[string]int{}
		cm := map[Category]*confusion{}
		for _, c := range Categories {
			cm[c] = &confusion{}
		}
		var misses []string
		for _, ex := range examples {
			counts[ex.source]++
			v, err := l.Classify(ctx, ex.in)
			if err != nil {
				t.Fatal(err)
			}
			got := v.Flagged(FlagThreshold)
			for _, c := range Categories {
				w, g := slices.Contains(ex.want, c), slices.Contains(got, c)
				switch {
				case w && g:
					cm[c].tp++
				case !w && g:
					cm[c].fp++
				case w && !g:
					cm[c].fn++
				default:
					cm[c].tn++
				}
			}
			if !slices.Equal(sortedCats(ex.want), sortedCats(got)) {
				misses = append(misses, fmt.Sprintf("%s want %v got %v: %q", ex.source, ex.want, got, ex.in.Text))
			}
		}
		t.Logf("== %s: %d labelled examples, %d generated from held-out words (disguised variants made by code)", lang, counts["labelled"], counts["generated"])
		t.Logf("%-10s %5s %5s %5s %9s %7s %6s %6s", "category", "tp", "fp", "fn", "precision", "recall", "f1", "fpr")
		var all confusion
		for _, c := range Categories {
			m := cm[c]
			all.tp, all.fp, all.fn, all.tn = all.tp+m.tp, all.fp+m.fp, all.fn+m.fn, all.tn+m.tn
			t.Logf("%-10s %5d %5d %5d %9.3f %7.3f %6.3f %6.3f", c, m.tp, m.fp, m.fn, m.precision(), m.recall(), m.f1(), m.fpr())
		}
		t.Logf("%-10s %5d %5d %5d %9.3f %7.3f %6.3f %6.3f", "all", all.tp, all.fp, all.fn, all.precision(), all.recall(), all.f1(), all.fpr())
		if testing.Verbose() {
			for _, m := range misses {
				t.Logf("  miss: %s", m)
			}
		}

		corpora := ordinaryCorpus(t, lang)
		names := make([]string, 0, len(corpora))
		for n := range corpora {
			names = append(names, n)
		}
		sort.Strings(names)
		total, flagged := 0, 0
		for _, name := range names {
			n, f := 0, 0
			for _, s := range corpora[name] {
				v, err := l.Classify(ctx, Input{Text: s})
				if err != nil {
					t.Fatal(err)
				}
				n++
				if cats := v.Flagged(FlagThreshold); len(cats) > 0 {
					f++
					t.Logf("  ordinary text flagged %v: %q", cats, s)
				}
			}
			t.Logf("ordinary %s: %d of %d flagged (FPR %.4f%%) — %s", lang, f, n, 100*ratio(f, n), name)
			total += n
			flagged += f
		}
		fpr := ratio(flagged, total)
		t.Logf("ordinary %s total: %d of %d flagged, FPR %.4f%% (limit %.1f%%)", lang, flagged, total, 100*fpr, 100*maxOrdinaryFPR)
		if fpr > maxOrdinaryFPR {
			t.Errorf("%s: ordinary-text false-positive rate %.4f%% exceeds %.1f%%", lang, 100*fpr, 100*maxOrdinaryFPR)
		}
		if total < 1000 {
			t.Errorf("%s: ordinary corpus has %d messages, need at least 1000 for a 0.1%% bar to mean anything", lang, total)
		}
	}
}

func sortedCats(cs []Category) []Category {
	out := slices.Clone(cs)
	slices.Sort(out)
	return out
}
