// Package web serves Kaigi's browser app: the shell (index.html) and its
// static assets, embedded in the binary with go:embed.
//
// The app is plain ES modules and hand-written CSS; there is no JavaScript
// build step. The handler:
//
//   - serves the assets under /assets/<version>/, where <version> is a hash
//     of the content of every asset, so a URL never changes meaning and the
//     assets can be cached for a year ("immutable"). Relative imports between
//     modules stay inside one version. Each asset also has a strong ETag
//     (its content hash) and, when it is smaller that way, a gzip variant.
//   - serves index.html for the routes of the client-side router (see
//     [Routes]) with "Cache-Control: no-cache", so a browser revalidates it and
//     picks up a new asset version at once. Any other path gets index.html
//     with status 404, so the app can show its "not found" page and crawlers
//     and monitors still see a 404.
//   - never serves /api or anything under /api/: those paths belong to the
//     JSON API, and reaching this handler with one is a routing mistake that
//     must not turn into an HTML page with status 200.
//   - sets the security headers the shell needs on every response, among them
//     [ContentSecurityPolicy]. The shell contains no inline script or style,
//     so the policy needs no 'unsafe-inline', no hashes and no nonces.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ContentSecurityPolicy is the policy the shell is written for. Everything
// comes from the app's own origin; there is no inline script or style and no
// eval. Trusted Types are enforced with no policy allowed, so the DOM's HTML
// sinks (innerHTML, outerHTML, insertAdjacentHTML, document.write) throw
// instead of parsing strings: the app builds the DOM with textContent and
// createElement only.
//
// The handler sets it on every response; a server that sets its own policy for
// "/" must allow at least this much.
const ContentSecurityPolicy = "default-src 'self'; " +
	"script-src 'self'; " +
	"style-src 'self'; " +
	"img-src 'self' data:; " +
	"font-src 'self'; " +
	"connect-src 'self'; " +
	"object-src 'none'; " +
	"base-uri 'none'; " +
	"form-action 'self'; " +
	"frame-ancestors 'none'; " +
	"require-trusted-types-for 'script'; " +
	"trusted-types 'none'"

// PermissionsPolicy allows the browser features meetings need (camera,
// microphone, screen sharing, full screen) for the app's own origin only and
// turns off a few powerful features the app never uses.
const PermissionsPolicy = "camera=(self), microphone=(self), display-capture=(self), " +
	"fullscreen=(self), geolocation=(), payment=(), usb=()"

// AssetPrefix is the path under which the versioned assets are served.
const AssetPrefix = "/assets/"

// routes are the top-level paths of the client-side router in
// static/router.js and static/app.js. A path also covers everything below it
// ("/chat" covers "/chat/general"), except "/", which is only itself.
// TestRoutesMatchRouter keeps this list and the JavaScript in step.
var routes = []string{
	"/",
	"/signin",
	"/invite",
	"/reset",
	"/setup",
	"/chat",
	"/meetings",
	"/meet",
	"/settings",
	"/admin",
	"/compliance",
	"/operator",
	"/trust",
}

// Routes returns the top-level paths the client-side router knows. The
// handler answers each of them, and every path below them, with index.html
// and status 200.
func Routes() []string { return slices.Clone(routes) }

// Options configures [Handler]. The zero value is the production
// configuration; it has no fields yet and is there so fields can be added
// without changing callers.
type Options struct{}

// Handler returns the http.Handler of the browser app, to be mounted at "/".
// It answers GET and HEAD; other methods get 405.
func Handler(opts Options) http.Handler {
	return &handler{site: loadSite()}
}

// asset is one file ready to serve: its bytes, its gzip variant (nil when
// gzip does not make it smaller) and the strong ETags of both.
type asset struct {
	contentType string
	body        []byte
	etag        string
	gz          []byte
	gzETag      string
}

// site is everything the handler serves, built once from the embedded files.
type site struct {
	version string            // content hash of all assets, the path segment after /assets/
	assets  map[string]*asset // by path relative to static/, e.g. "app.js"
	index   *asset
}

//go:embed static
var staticFiles embed.FS

// indexFile is the shell; assetsToken in it is replaced with the versioned
// asset prefix ("/assets/<version>").
const (
	indexFile   = "index.html"
	assetsToken = "{{ASSETS}}"
)

// contentTypes maps the extensions the app uses to their types. An embedded
// file with another extension is a programming error that loadSite reports,
// so no type is ever guessed.
var contentTypes = map[string]string{
	".css":   "text/css; charset=utf-8",
	".html":  "text/html; charset=utf-8",
	".ico":   "image/x-icon",
	".js":    "text/javascript; charset=utf-8",
	".json":  "application/json",
	".png":   "image/png",
	".svg":   "image/svg+xml",
	".txt":   "text/plain; charset=utf-8",
	".woff2": "font/woff2",
}

// loadSite builds the site once. The embedded files are fixed at compile
// time, so an error here is a programming error (an asset with an unknown
// extension, a missing index.html) that every test of this package hits; it
// panics rather than serving a broken app.
var loadSite = sync.OnceValue(func() *site {
	s, err := buildSite(staticFiles)
	if err != nil {
		panic(fmt.Sprintf("web: embedded app is broken: %v", err))
	}
	return s
})

// buildSite reads every file under static/ in fsys, hashes the assets into a
// version and renders index.html with it.
func buildSite(fsys fs.FS) (*site, error) {
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, err
	}
	s := &site{assets: make(map[string]*asset)}
	var names []string
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == indexFile {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		a, err := newAsset(p, body)
		if err != nil {
			return err
		}
		s.assets[p] = a
		names = append(names, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read assets: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no assets under static/")
	}

	// The version covers the name and the content of every asset, so
	// renaming, adding, removing or editing any of them changes it.
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%s\x00", n, s.assets[n].etag)
	}
	s.version = hex.EncodeToString(h.Sum(nil))[:20]

	tmpl, err := fs.ReadFile(root, indexFile)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", indexFile, err)
	}
	if !bytes.Contains(tmpl, []byte(assetsToken)) {
		return nil, fmt.Errorf("%s does not reference %s", indexFile, assetsToken)
	}
	rendered := bytes.ReplaceAll(tmpl, []byte(assetsToken), []byte(strings.TrimSuffix(AssetPrefix, "/")+"/"+s.version))
	if s.index, err = newAsset(indexFile, rendered); err != nil {
		return nil, err
	}
	return s, nil
}

func newAsset(name string, body []byte) (*asset, error) {
	ct, ok := contentTypes[path.Ext(name)]
	if !ok {
		return nil, fmt.Errorf("%s: no content type for extension %q; add it to contentTypes", name, path.Ext(name))
	}
	sum := sha256.Sum256(body)
	a := &asset{
		contentType: ct,
		body:        body,
		etag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
	}
	if compressible(ct) {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return nil, err
		}
		if _, err := zw.Write(body); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		if buf.Len() < len(body) {
			a.gz = buf.Bytes()
			a.gzETag = `"` + hex.EncodeToString(sum[:16]) + `-gzip"`
		}
	}
	return a, nil
}

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") ||
		strings.HasPrefix(contentType, "application/json") ||
		strings.HasPrefix(contentType, "image/svg+xml")
}

type handler struct {
	site *site
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	setSecurityHeaders(hdr)

	p := r.URL.Path
	switch {
	case p == "/api" || strings.HasPrefix(p, "/api/"):
		// Not ours: the JSON API is mounted elsewhere. No HTML fallback.
		notFound(w)
		return
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		hdr.Set("Allow", "GET, HEAD")
		hdr.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusMethodNotAllowed)
		fmt.Fprintln(w, "method not allowed")
		return
	case strings.HasPrefix(p, AssetPrefix):
		h.serveAsset(w, r, strings.TrimPrefix(p, AssetPrefix))
		return
	}

	hdr.Set("Cache-Control", "no-cache")
	if !isRoute(p) {
		// The app renders its "not found" page; the status tells machines.
		serveBytes(w, r, h.site.index, http.StatusNotFound)
		return
	}
	serveBytes(w, r, h.site.index, http.StatusOK)
}

// serveAsset serves rest = "<version>/<file>". Only the current version
// exists: an old version is a 404, never the current bytes under an old URL,
// which a cache would keep for a year.
func (h *handler) serveAsset(w http.ResponseWriter, r *http.Request, rest string) {
	version, name, ok := strings.Cut(rest, "/")
	a := h.site.assets[name]
	if !ok || version != h.site.version || a == nil {
		notFound(w)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("Cross-Origin-Resource-Policy", "same-origin")
	serveBytes(w, r, a, http.StatusOK)
}

// isRoute reports whether p is one of the router's paths or below one.
func isRoute(p string) bool {
	for _, rt := range routes {
		if p == rt || (rt != "/" && strings.HasPrefix(p, rt+"/")) {
			return true
		}
	}
	return false
}

// serveBytes writes a with its type, ETag and encoding. With status 200 it
// goes through http.ServeContent, which answers If-None-Match with 304, HEAD
// without a body and Range requests; any other status is written as is.
func serveBytes(w http.ResponseWriter, r *http.Request, a *asset, status int) {
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	body, etag := a.body, a.etag
	if a.gz != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = a.gz, a.gzETag
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	if status != http.StatusOK {
		hdr.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			w.Write(body) //nolint:errcheck // the client went away; nothing to do
		}
		return
	}
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding header value allows gzip,
// honouring "gzip;q=0" and "*".
func acceptsGzip(header string) bool {
	star := false
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		ok := !qualityIsZero(params)
		if coding == "gzip" {
			return ok
		}
		star = ok
	}
	return star
}

func qualityIsZero(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q == 0
		}
	}
	return false
}

func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", PermissionsPolicy)
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintln(w, "404 page not found")
}
