package web

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/kaigi/kaigi/internal/browsertest"
)

// TestMarkdownInBrowser runs the chat's Markdown renderer (markdown.js) in
// Chromium, under the app's Content Security Policy, on a table of inputs:
// what it makes of each is written out as a tree of elements and texts, so
// that an attribute or element that should not be there shows.
func TestMarkdownInBrowser(t *testing.T) {
	srv := httptest.NewServer(fakeAPI())
	t.Cleanup(srv.Close)
	b := browsertest.New(t)
	p := openShell(t, b, srv, "/signin")

	// tree writes a node as <tag attr=value>children</tag>, texts quoted;
	// a mention is rendered by the test's callback as <mention id>.
	render := func(t *testing.T, src string) string {
		t.Helper()
		return browsertest.Eval[string](t, p, `import(`+jsString(assetURL("markdown.js"))+`).then(m => {
			const tree = (n) => {
				if (n.nodeType === Node.TEXT_NODE) return JSON.stringify(n.data);
				const attrs = [...(n.attributes || [])].map(a => " " + a.name + "=" + a.value).join("");
				const inner = [...n.childNodes].map(tree).join("");
				return n.nodeType === Node.DOCUMENT_FRAGMENT_NODE ? inner : "<" + n.localName + attrs + ">" + inner + "</" + n.localName + ">";
			};
			const mention = (id) => { const e = document.createElement("mention"); e.setAttribute("id", id); return e; };
			return tree(m.renderMarkdown(`+jsString(src)+`, { mention }));
		})`)
	}
	const link = ` target=_blank rel=noopener noreferrer nofollow`
	tests := []struct {
		name, src, want string
	}{
		{"paragraph with line breaks", "one\ntwo\n\nthree", `<p>"one"<br></br>"two"</p><p>"three"</p>`},
		{"emphasis", "**b** *i* _i_ ~~s~~ `c`", `<p><strong>"b"</strong>" "<em>"i"</em>" "<em>"i"</em>" "<del>"s"</del>" "<code class=md-inline-code>"c"</code></p>`},
		{"nested emphasis", "***both*** **a *b* c**", `<p><strong><em>"both"</em></strong>" "<strong>"a "<em>"b"</em>" c"</strong></p>`},
		{"underscores inside words", "snake_case_name and 2*3*4", `<p>"snake_case_name and 2"<em>"3"</em>"4"</p>`},
		{"unclosed delimiters", "**open and *half", `<p>"**open and *half"</p>`},
		{"spaced asterisks", "a * b * c", `<p>"a * b * c"</p>`},
		{"escapes", `\*not\* \[x\](y)`, `<p>"*not* [x](y)"</p>`},
		{"code hides marks", "`**x** <b>`", `<p><code class=md-inline-code>"**x** <b>"</code></p>`},
		{"fenced code", "```js\n<script>alert(1)</script>\n**x**\n```\nafter", `<pre class=md-code><code>"<script>alert(1)</script>\n**x**"</code></pre><p>"after"</p>`},
		{"unclosed fence", "```\ncode", `<pre class=md-code><code>"code"</code></pre>`},
		{"quote", "> quoted **b**\n> more\n\nnot", `<blockquote class=md-quote><p>"quoted "<strong>"b"</strong><br></br>"more"</p></blockquote><p>"not"</p>`},
		{"nested quote", "> > deep", `<blockquote class=md-quote><blockquote class=md-quote><p>"deep"</p></blockquote></blockquote>`},
		{"bullets", "- a\n- b\n  more\n* c", `<ul class=md-list><li>"a"</li><li>"b"<br></br>"more"</li><li>"c"</li></ul>`},
		{"numbers", "3. c\n4. d", `<ol class=md-list start=3><li>"c"</li><li>"d"</li></ol>`},
		{"html is text", `<img src=x onerror="alert(1)"><script>x</script>`, `<p>"<img src=x onerror=\"alert(1)\"><script>x</script>"</p>`},
		{"https link", "[site](https://example.org/a?b=1)", `<p><a class=md-link href=https://example.org/a?b=1` + link + ` title=https://example.org/a?b=1>"site"</a></p>`},
		{"mailto link", "[mail](mailto:a@example.org)", `<p><a class=md-link href=mailto:a@example.org` + link + ` title=mailto:a@example.org>"mail"</a></p>`},
		{"javascript link is text", "[x](javascript:alert(1))", `<p>"[x](javascript:alert(1))"</p>`},
		{"JavaScript link with case and spaces is text", "[x]( JaVaScRiPt:alert(1))", `<p>"[x]( JaVaScRiPt:alert(1))"</p>`},
		{"data link is text", "[x](data:text/html,hi)", `<p>"[x](data:text/html,hi)"</p>`},
		{"relative link is text", "[x](/api/v1/session)", `<p>"[x](/api/v1/session)"</p>`},
		{"link with a user name is text", "[bank](https://bank.example@evil.example/)", `<p>"[bank](https://bank.example@evil.example/)"</p>`},
		{"no link inside a link", "[see https://a.example](https://b.example)", `<p><a class=md-link href=https://b.example/` + link + ` title=https://b.example/>"see https://a.example"</a></p>`},
		{"bare URL, sentence punctuation outside", "see https://example.com/x_(y). ok", `<p>"see "<a class=md-link href=https://example.com/x_(y)` + link + ` title=https://example.com/x_(y)>"https://example.com/x_(y)"</a>". ok"</p>`},
		{"bare URL in brackets", "(https://example.com/a)", `<p>"("<a class=md-link href=https://example.com/a` + link + ` title=https://example.com/a>"https://example.com/a"</a>")"</p>`},
		{"bare URL inside a word is text", "xhttps://example.com", `<p>"xhttps://example.com"</p>`},
		{"image syntax is a link, never an image", "![i](https://example.com/i.png)", `<p>"!"<a class=md-link href=https://example.com/i.png` + link + ` title=https://example.com/i.png>"i"</a></p>`},
		{"mention", "hi <@0190-ab_C>!", `<p>"hi "<mention id=0190-ab_C></mention>"!"</p>`},
		{"not a mention", `<@a b> <@x" onclick="y>`, `<p>"<@a b> <@x\" onclick=\"y>"</p>`},
		{"right to left text stays text", "שלום **עולם**", `<p>"שלום "<strong>"עולם"</strong></p>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := render(t, tt.src); got != tt.want {
				t.Errorf("render(%q)\n got %s\nwant %s", tt.src, got, tt.want)
			}
		})
	}

	t.Run("pathological input stays fast", func(t *testing.T) {
		ms := browsertest.Eval[float64](t, p, `import(`+jsString(assetURL("markdown.js"))+`).then(m => {
			const inputs = ["*".repeat(32000), "**a".repeat(10000), "[".repeat(32000), "[a](".repeat(8000), "`+"`"+`a".repeat(16000), "_a ".repeat(10000), "> ".repeat(5000) + "x"];
			const start = performance.now();
			for (const s of inputs) m.renderMarkdown(s);
			return performance.now() - start;
		})`)
		if ms > 1500 {
			t.Errorf("rendering the pathological inputs took %.0f ms", ms)
		}
	})

	t.Run("emoji-only messages", func(t *testing.T) {
		got := browsertest.Eval[[]bool](t, p, `import(`+jsString(assetURL("markdown.js"))+`).then(m => ["👍", "🎉🎉", "👍 hi", "123", "#", "👨‍👩‍👧"].map(m.isEmojiOnly))`)
		if want := []bool{true, true, false, false, false, true}; !slices.Equal(got, want) {
			t.Errorf("isEmojiOnly = %v, want %v", got, want)
		}
	})
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
