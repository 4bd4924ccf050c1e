package web

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// get sends one request to a fresh handler and returns the recorded response.
func get(t *testing.T, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	Handler(Options{}).ServeHTTP(rec, req)
	return rec
}

func assetURL(name string) string {
	return AssetPrefix + loadSite().version + "/" + name
}

func TestHandlerResponses(t *testing.T) {
	const (
		html  = "text/html; charset=utf-8"
		text  = "text/plain; charset=utf-8"
		index = "no-cache"
		asset = "public, max-age=31536000, immutable"
	)
	tests := []struct {
		name        string
		path        string
		status      int
		contentType string
		cache       string
	}{
		{"root", "/", 200, html, index},
		{"sign-in", "/signin", 200, html, index},
		{"chat", "/chat", 200, html, index},
		{"chat channel", "/chat/general/thread", 200, html, index},
		{"meetings", "/meetings", 200, html, index},
		{"admin", "/admin", 200, html, index},
		{"admin subpage", "/admin/users", 200, html, index},
		{"invitation", "/invite", 200, html, index},
		{"password reset", "/reset", 200, html, index},
		{"security settings", "/settings/security", 200, html, index},
		{"settings prefix is not a route", "/settingsx", 404, html, index},
		{"compliance", "/compliance", 200, html, index},
		{"operator", "/operator", 200, html, index},
		{"trust", "/trust", 200, html, index},
		{"trailing slash", "/trust/", 200, html, index},
		{"unknown route gets the app with 404", "/nowhere", 404, html, index},
		{"route prefix is not a route", "/chatter", 404, html, index},
		{"api root", "/api", 404, text, "no-cache"},
		{"api slash", "/api/", 404, text, "no-cache"},
		{"api v1", "/api/v1/me", 404, text, "no-cache"},
		{"script", assetURL("app.js"), 200, "text/javascript; charset=utf-8", asset},
		{"module", assetURL("router.js"), 200, "text/javascript; charset=utf-8", asset},
		{"api module", assetURL("api.js"), 200, "text/javascript; charset=utf-8", asset},
		{"sign-in module", assetURL("signin.js"), 200, "text/javascript; charset=utf-8", asset},
		{"admin module", assetURL("admin.js"), 200, "text/javascript; charset=utf-8", asset},
		{"stylesheet", assetURL("app.css"), 200, "text/css; charset=utf-8", asset},
		{"catalogue", assetURL("i18n/ja.json"), 200, "application/json", asset},
		{"icon", assetURL("icon.svg"), 200, "image/svg+xml", asset},
		{"unknown asset", assetURL("nope.js"), 404, text, "no-cache"},
		{"old asset version", AssetPrefix + "0123456789abcdef0123/app.js", 404, text, "no-cache"},
		{"unversioned asset", AssetPrefix + "app.js", 404, text, "no-cache"},
		{"asset directory", assetURL(""), 404, text, "no-cache"},
		{"asset subdirectory", assetURL("i18n"), 404, text, "no-cache"},
		{"index is not an asset", assetURL("index.html"), 404, text, "no-cache"},
		{"assets root", AssetPrefix, 404, text, "no-cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, http.MethodGet, tt.path, nil)
			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d", rec.Code, tt.status)
			}
			h := rec.Header()
			if got := h.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			if got := h.Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.cache)
			}
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if got := h.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
				t.Errorf("Content-Security-Policy = %q, want %q", got, ContentSecurityPolicy)
			}
			if got := h.Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("Referrer-Policy = %q, want no-referrer", got)
			}
			if rec.Code == 200 && h.Get("ETag") == "" {
				t.Error("no ETag")
			}
			if tt.contentType == html && !strings.Contains(rec.Body.String(), `<main id="main"`) {
				t.Error("body is not the app's index.html")
			}
		})
	}
}

func TestContentSecurityPolicyIsStrict(t *testing.T) {
	directives := map[string]string{}
	for d := range strings.SplitSeq(ContentSecurityPolicy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	for name, want := range map[string]string{
		"default-src":               "'self'",
		"script-src":                "'self'",
		"style-src":                 "'self'",
		"object-src":                "'none'",
		"base-uri":                  "'none'",
		"frame-ancestors":           "'none'",
		"require-trusted-types-for": "'script'",
	} {
		if got, ok := directives[name]; !ok || got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, weak := range []string{"unsafe-inline", "unsafe-eval", "unsafe-hashes", "http:", "https:", "*"} {
		if strings.Contains(ContentSecurityPolicy, weak) {
			t.Errorf("policy contains %q", weak)
		}
	}
}

func TestConditionalGet(t *testing.T) {
	for _, path := range []string{"/", "/chat", assetURL("app.js"), assetURL("i18n/en.json")} {
		for _, enc := range []string{"", "gzip"} {
			t.Run(path+" "+enc, func(t *testing.T) {
				hdr := http.Header{}
				if enc != "" {
					hdr.Set("Accept-Encoding", enc)
				}
				first := get(t, http.MethodGet, path, hdr)
				etag := first.Header().Get("ETag")
				if first.Code != 200 || etag == "" || !strings.HasPrefix(etag, `"`) {
					t.Fatalf("first GET: status %d, ETag %q; want 200 and a strong ETag", first.Code, etag)
				}

				hdr.Set("If-None-Match", etag)
				again := get(t, http.MethodGet, path, hdr)
				if again.Code != http.StatusNotModified {
					t.Errorf("If-None-Match %s: status %d, want 304", etag, again.Code)
				}
				if again.Body.Len() != 0 {
					t.Errorf("304 has a body of %d bytes", again.Body.Len())
				}
				if got := again.Header().Get("ETag"); got != etag {
					t.Errorf("304 ETag = %q, want %q", got, etag)
				}

				hdr.Set("If-None-Match", `"something-else"`)
				if other := get(t, http.MethodGet, path, hdr); other.Code != 200 {
					t.Errorf("If-None-Match with another ETag: status %d, want 200", other.Code)
				}
			})
		}
	}
}

func TestETagIsContentHash(t *testing.T) {
	a := get(t, http.MethodGet, assetURL("app.js"), nil).Header().Get("ETag")
	b := get(t, http.MethodGet, assetURL("app.css"), nil).Header().Get("ETag")
	if a == b {
		t.Errorf("two different files share the ETag %s", a)
	}
	if again := get(t, http.MethodGet, assetURL("app.js"), nil).Header().Get("ETag"); again != a {
		t.Errorf("ETag changed between requests: %s, then %s", a, again)
	}
}

func TestGzip(t *testing.T) {
	path := assetURL("app.css")
	plain := get(t, http.MethodGet, path, nil)
	if plain.Header().Get("Content-Encoding") != "" {
		t.Fatal("compressed without Accept-Encoding")
	}
	if !strings.Contains(plain.Header().Get("Vary"), "Accept-Encoding") {
		t.Error("no Vary: Accept-Encoding")
	}

	zipped := get(t, http.MethodGet, path, http.Header{"Accept-Encoding": {"br, gzip"}})
	if got := zipped.Header().Get("Content-Encoding"); got != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", got)
	}
	if zipped.Header().Get("ETag") == plain.Header().Get("ETag") {
		t.Error("gzip and identity share an ETag")
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, plain.Body.Bytes()) {
		t.Error("gzip body does not decompress to the file")
	}

	refused := get(t, http.MethodGet, path, http.Header{"Accept-Encoding": {"gzip;q=0, identity"}})
	if refused.Header().Get("Content-Encoding") != "" {
		t.Error("compressed although gzip;q=0")
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   bool
	}{
		{"empty", "", false},
		{"gzip", "gzip", true},
		{"list", "deflate, gzip, br", true},
		{"upper case", "GZIP", true},
		{"weighted", "gzip;q=0.5", true},
		{"refused", "gzip;q=0", false},
		{"refused with decimals", "gzip; q=0.000", false},
		{"star", "*", true},
		{"star refused", "*;q=0", false},
		{"gzip beats star", "*;q=0, gzip", true},
		{"gzip refusal beats star", "gzip;q=0, *", false},
		{"other only", "br", false},
		{"lookalike", "x-gzip2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := acceptsGzip(tt.header); got != tt.want {
				t.Errorf("acceptsGzip(%q) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}

func TestMethods(t *testing.T) {
	post := get(t, http.MethodPost, "/signin", nil)
	if post.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /signin: status %d, want 405", post.Code)
	}
	if got := post.Header().Get("Allow"); got != "GET, HEAD" {
		t.Errorf("Allow = %q, want GET, HEAD", got)
	}
	if got := get(t, http.MethodPost, "/api/v1/sessions", nil).Code; got != http.StatusNotFound {
		t.Errorf("POST /api/v1/sessions: status %d, want 404 (not this handler's)", got)
	}

	for _, path := range []string{"/", assetURL("app.js"), "/nowhere"} {
		head := get(t, http.MethodHead, path, nil)
		full := get(t, http.MethodGet, path, nil)
		if head.Code != full.Code {
			t.Errorf("HEAD %s: status %d, GET gives %d", path, head.Code, full.Code)
		}
		if head.Body.Len() != 0 {
			t.Errorf("HEAD %s: body of %d bytes", path, head.Body.Len())
		}
		if head.Header().Get("Content-Length") != full.Header().Get("Content-Length") {
			t.Errorf("HEAD %s: Content-Length %q, GET gives %q", path,
				head.Header().Get("Content-Length"), full.Header().Get("Content-Length"))
		}
	}
}

// element is a start tag of the served index.html.
type element struct {
	name  string
	attrs map[string]string
	text  string // character data directly inside, for script and style
}

// parseHTML reads the start tags of an HTML document with encoding/xml in
// its lenient HTML mode (void elements, attributes without values, HTML
// entities). index.html is kept simple enough for it; anything it cannot
// parse fails the test rather than passing unseen.
func parseHTML(t *testing.T, doc []byte) []element {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	var (
		out   []element
		stack []int // indexes into out of open elements
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("parse index.html: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := element{name: strings.ToLower(tok.Name.Local), attrs: map[string]string{}}
			for _, a := range tok.Attr {
				name := strings.ToLower(a.Name.Local)
				if a.Name.Space != "" {
					name = strings.ToLower(a.Name.Space) + ":" + name
				}
				e.attrs[name] = a.Value
			}
			out = append(out, e)
			stack = append(stack, len(out)-1)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if len(stack) > 0 {
				out[stack[len(stack)-1]].text += string(tok)
			}
		}
	}
}

func TestIndexHasNoInlineCode(t *testing.T) {
	rec := get(t, http.MethodGet, "/", nil)
	body := rec.Body.Bytes()
	if bytes.Contains(body, []byte(assetsToken)) {
		t.Fatalf("served index.html still contains %s", assetsToken)
	}
	var scripts, stylesheets int
	for _, e := range parseHTML(t, body) {
		for name, value := range e.attrs {
			if strings.HasPrefix(name, "on") {
				t.Errorf("<%s %s=…>: event-handler attribute", e.name, name)
			}
			if name == "style" {
				t.Errorf("<%s style=…>: inline style", e.name)
			}
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(value)), "javascript:") {
				t.Errorf("<%s %s=%q>: javascript: URL", e.name, name, value)
			}
		}
		switch e.name {
		case "style":
			t.Errorf("<style> element: inline style")
		case "script":
			scripts++
			if e.attrs["src"] == "" {
				t.Errorf("<script> without src: inline script")
			}
			if strings.TrimSpace(e.text) != "" {
				t.Errorf("<script src=%q> has inline content", e.attrs["src"])
			}
			if e.attrs["type"] != "module" {
				t.Errorf("<script src=%q> is not a module", e.attrs["src"])
			}
			checkLocalAsset(t, "script src", e.attrs["src"])
		case "link":
			if e.attrs["rel"] == "stylesheet" {
				stylesheets++
			}
			checkLocalAsset(t, "link href", e.attrs["href"])
		case "html":
			if e.attrs["lang"] == "" {
				t.Error("<html> has no lang")
			}
		case "iframe", "object", "embed", "base", "frame":
			t.Errorf("<%s> in the shell", e.name)
		}
	}
	if scripts != 1 || stylesheets != 1 {
		t.Errorf("found %d scripts and %d stylesheets, want 1 and 1", scripts, stylesheets)
	}
}

// checkLocalAsset fails unless ref is a URL of an asset the handler serves.
func checkLocalAsset(t *testing.T, what, ref string) {
	t.Helper()
	if code := get(t, http.MethodGet, ref, nil).Code; !strings.HasPrefix(ref, AssetPrefix) || code != 200 {
		t.Errorf("%s %q: not a served asset (status %d)", what, ref, code)
	}
}

// TestAssetsAreSafe reads the JavaScript and CSS for the constructs the
// policy forbids or the app has promised not to use. The Trusted Types
// policy catches HTML sinks at run time too; this catches them in review.
func TestAssetsAreSafe(t *testing.T) {
	forbiddenJS := []string{
		"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment",
		"DOMParser", "eval(", "new Function", "setAttribute(\"on", "setAttribute('on", ".style.", "cssText",
	}
	for name, a := range loadSite().assets {
		src := string(a.body)
		switch {
		case strings.HasSuffix(name, ".js"):
			for _, bad := range forbiddenJS {
				if strings.Contains(src, bad) {
					t.Errorf("%s uses %s", name, bad)
				}
			}
			checkNoRemoteURLs(t, name, src)
		case strings.HasSuffix(name, ".css"):
			if strings.Contains(src, "@import") {
				t.Errorf("%s uses @import", name)
			}
			checkNoRemoteURLs(t, name, src)
		}
	}
}

func checkNoRemoteURLs(t *testing.T, name, src string) {
	t.Helper()
	const svgNS = "http://www.w3.org/2000/svg" // a name, never fetched
	for _, scheme := range []string{"http://", "https://", "//cdn", "wss://", "ws://"} {
		if strings.Contains(strings.ReplaceAll(src, svgNS, ""), scheme) {
			t.Errorf("%s refers to remote content (%s…)", name, scheme)
		}
	}
}

func TestRoutesAreCopies(t *testing.T) {
	r := Routes()
	r[0] = "/changed"
	if Routes()[0] == "/changed" {
		t.Error("Routes returns the package's own slice")
	}
}

func TestVersionFollowsContent(t *testing.T) {
	files := func(js string) fstest.MapFS {
		return fstest.MapFS{
			"static/index.html":   {Data: []byte(`<script type="module" src="{{ASSETS}}/a.js"></script>`)},
			"static/a.js":         {Data: []byte(js)},
			"static/i18n/en.json": {Data: []byte(`{}`)},
		}
	}
	one, err := buildSite(files("export const a = 1;"))
	if err != nil {
		t.Fatal(err)
	}
	same, err := buildSite(files("export const a = 1;"))
	if err != nil {
		t.Fatal(err)
	}
	two, err := buildSite(files("export const a = 2;"))
	if err != nil {
		t.Fatal(err)
	}
	if one.version != same.version {
		t.Error("same content, different versions")
	}
	if one.version == two.version {
		t.Error("an asset changed and the version did not")
	}
	if one.index.etag == two.index.etag {
		t.Error("the version changed and index.html's ETag did not")
	}
	if want := "/assets/" + two.version + "/a.js"; !bytes.Contains(two.index.body, []byte(want)) {
		t.Errorf("index.html does not reference %s: %s", want, two.index.body)
	}
}

func TestBuildSiteRejects(t *testing.T) {
	tests := []struct {
		name  string
		files fstest.MapFS
	}{
		{"unknown extension", fstest.MapFS{
			"static/index.html": {Data: []byte(`{{ASSETS}}`)},
			"static/a.exe":      {Data: []byte("MZ")},
		}},
		{"no index", fstest.MapFS{
			"static/a.js": {Data: []byte("")},
		}},
		{"index without asset token", fstest.MapFS{
			"static/index.html": {Data: []byte(`<script src="/a.js"></script>`)},
			"static/a.js":       {Data: []byte("")},
		}},
		{"no assets", fstest.MapFS{
			"static/index.html": {Data: []byte(`{{ASSETS}}`)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := buildSite(tt.files); err == nil {
				t.Error("buildSite succeeded, want an error")
			}
		})
	}
}
