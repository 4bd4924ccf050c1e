package browsertest

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// fakeT stands in for a test's testing.TB, to test what the harness does
// when a test fails, skips or times out. Methods it does not override go to
// the real test.
type fakeT struct {
	testing.TB

	mu       sync.Mutex
	failed   bool
	fatal    string
	skipped  string
	errors   []string
	logs     []string
	cleanups []func()
}

func (f *fakeT) Helper() {}

func (f *fakeT) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *fakeT) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func (f *fakeT) Fail() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = true
}

func (f *fakeT) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = true
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.failed = true
	f.fatal = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeT) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

func (f *fakeT) Skip(args ...any) {
	f.mu.Lock()
	f.skipped = fmt.Sprint(args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeT) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

// run runs body on a goroutine of its own, as the testing package runs a
// test, so that Fatal and Skip end only body.
func (f *fakeT) run(body func(t testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		body(f)
	}()
	<-done
}

// finish runs the registered cleanups, last first, as the end of a test does.
func (f *fakeT) finish() {
	f.mu.Lock()
	fns := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for _, fn := range slices.Backward(fns) {
		f.run(func(testing.TB) { fn() })
	}
}

func TestFindChromium(t *testing.T) {
	t.Run("env names a missing file", func(t *testing.T) {
		t.Setenv(EnvChromium, filepath.Join(t.TempDir(), "no-such-browser"))
		if _, err := FindChromium(); err == nil || !strings.Contains(err.Error(), EnvChromium) {
			t.Errorf("FindChromium() error = %v, want one naming $%s", err, EnvChromium)
		}
	})
	t.Run("env names an executable", func(t *testing.T) {
		exe := filepath.Join(t.TempDir(), "my-chromium")
		if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv(EnvChromium, exe)
		if got, err := FindChromium(); err != nil || got != exe {
			t.Errorf("FindChromium() = %q, %v; want %q", got, err, exe)
		}
	})
}

func TestNewWithoutChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("New skips under -short before it looks for Chromium")
	}
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv(EnvChromium, filepath.Join(t.TempDir(), "no-such-browser"))
			t.Setenv("CI", ci)
			f := &fakeT{TB: t}
			f.run(func(t testing.TB) { New(t) })
			f.finish()
			msg := f.skipped + f.fatal
			if !strings.Contains(msg, "apt-get install -y chromium") {
				t.Errorf("message %q does not say how to install Chromium", msg)
			}
			switch {
			case ci == "true" && f.fatal == "":
				t.Error("under CI=true a missing Chromium must fail the test, not skip it")
			case ci != "true" && f.skipped == "":
				t.Error("without CI a missing Chromium must skip the test")
			}
		})
	}
}

func TestWithin(t *testing.T) {
	boom := errors.New("boom")
	if err := within(time.Second, func() {}, func() error { return boom }); !errors.Is(err, boom) {
		t.Errorf("within() = %v, want fn's error", err)
	}
	stop := make(chan struct{})
	start := time.Now()
	err := within(50*time.Millisecond, func() { close(stop) }, func() error { <-stop; return nil })
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("within() = %v after %v, want a timeout soon after 50ms", err, time.Since(start))
	}
}

func TestSafeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"TestShell/renders the frame", "TestShell_renders_the_frame"},
		{"../../etc/passwd", ".._.._etc_passwd"},
		{"日本語", "_"},
		{"", "_"},
		{"ok-name_1.png", "ok-name_1.png"},
	}
	for _, tt := range tests {
		if got := safeName(tt.in); got != tt.want {
			t.Errorf("safeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.ContainsAny(safeName(tt.in), `/\`) {
			t.Errorf("safeName(%q) contains a path separator", tt.in)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 5}
	fmt.Fprint(b, "abc")
	fmt.Fprint(b, "defg")
	if got := b.String(); got != "cdefg" {
		t.Errorf("tail = %q, want cdefg", got)
	}
}

// The tests below drive Chromium.

// testSite serves small pages that exercise the console.
func testSite(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	page := func(csp, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if csp != "" {
				w.Header().Set("Content-Security-Policy", csp)
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!doctype html><html lang=en><head><title>test</title></head><body>%s</body></html>", body)
		}
	}
	script := func(src string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, src)
		}
	}
	mux.HandleFunc("/quiet", page("default-src 'self'", `<h1>Quiet</h1><script src="/quiet.js"></script>`))
	mux.HandleFunc("/quiet.js", script(`console.log("hello", 42, {a: 1}); console.info("fine");`))
	mux.HandleFunc("/noisy", page("default-src 'self'",
		`<h1>Noisy</h1><script>console.log("inline ran")</script><img src="/missing.png" alt=""><script src="/noisy.js"></script>`))
	mux.HandleFunc("/noisy.js", script(`
		console.error("boom", 7);
		Promise.reject(new Error("nobody listens"));
		setTimeout(() => { throw new Error("kaput"); }, 0);
		document.title = "noisy done";`))
	mux.HandleFunc("/missing.png", http.NotFound)
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/blank", page("", `<h1 id="h">Blank</h1>`))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestConsole(t *testing.T) {
	srv := testSite(t)
	b := New(t)

	t.Run("quiet page", func(t *testing.T) {
		p := b.NewPage(t)
		p.Navigate(t, srv.URL+"/quiet")
		p.ExpectNoConsoleErrors(t)
		var texts []string
		for _, m := range p.ConsoleMessages() {
			texts = append(texts, m.Type+": "+m.Text)
		}
		for _, want := range []string{"log: hello 42 Object", "info: fine"} {
			if !slices.Contains(texts, want) {
				t.Errorf("console %q lacks %q", texts, want)
			}
		}
	})

	t.Run("every kind of error is recorded", func(t *testing.T) {
		p := b.NewPage(t)
		p.Navigate(t, srv.URL+"/noisy")
		p.Do(t, chromedp.Poll[chromedp.Void](`document.title === "noisy done"`, chromedp.WithPollingInterval(10*time.Millisecond)))
		// The exceptions come from a later task and an unhandled promise:
		// wait until they have arrived.
		p.Do(t, chromedp.Sleep(200*time.Millisecond))
		errs := p.ConsoleErrors()
		all := fmt.Sprint(errs)
		for _, want := range []struct{ what, text string }{
			{"CSP violation", "Content Security Policy"},
			{"console.error", "boom 7"},
			{"uncaught exception", "kaput"},
			{"unhandled rejection", "nobody listens"},
			{"failed load", "404"},
		} {
			if !strings.Contains(all, want.text) {
				t.Errorf("%s (%q) not among the console errors: %v", want.what, want.text, errs)
			}
		}
		if strings.Contains(all, "inline ran") {
			t.Error("the inline script ran despite the policy")
		}
		p.ClearConsole()
		if n := len(p.ConsoleMessages()); n != 0 {
			t.Errorf("%d messages after ClearConsole", n)
		}
	})
}

func TestIsolation(t *testing.T) {
	srv := testSite(t)
	b := New(t)
	alice := b.NewPage(t)
	bob := b.NewPage(t)
	for _, p := range []*Page{alice, bob} {
		p.Navigate(t, srv.URL+"/blank")
	}
	Eval[string](t, alice, `localStorage.setItem("who", "alice"), document.cookie = "who=alice; path=/", "ok"`)
	if got := Eval[*string](t, bob, `localStorage.getItem("who")`); got != nil {
		t.Errorf("bob sees alice's localStorage: %q", *got)
	}
	if got := Eval[string](t, bob, `document.cookie`); got != "" {
		t.Errorf("bob sees alice's cookies: %q", got)
	}

	tab := alice.NewTab(t)
	tab.Navigate(t, srv.URL+"/blank")
	if got := Eval[string](t, tab, `localStorage.getItem("who") + " " + document.cookie`); got != "alice who=alice" {
		t.Errorf("alice's second tab sees %q, want her storage and cookie", got)
	}
}

func TestPageOptions(t *testing.T) {
	srv := testSite(t)
	b := New(t)

	def := b.NewPage(t)
	def.Navigate(t, srv.URL+"/blank")
	got := Eval[string](t, def, `[navigator.languages.join(","), Intl.DateTimeFormat().resolvedOptions().timeZone,
		matchMedia("(prefers-color-scheme: dark)").matches, innerWidth, innerHeight].join(" ")`)
	if want := "en-US,en UTC false 1280 800"; got != want {
		t.Errorf("defaults: %q, want %q", got, want)
	}

	p := b.NewPage(t, Languages("ja-JP", "ja"), TimeZone("Asia/Tokyo"), ColorScheme("dark"), Viewport(360, 640))
	p.Navigate(t, srv.URL+"/blank")
	got = Eval[string](t, p, `[navigator.languages.join(","), Intl.DateTimeFormat().resolvedOptions().timeZone,
		matchMedia("(prefers-color-scheme: dark)").matches, innerWidth, innerHeight].join(" ")`)
	if want := "ja-JP,ja Asia/Tokyo true 360 640"; got != want {
		t.Errorf("with options: %q, want %q", got, want)
	}

	p.SetViewport(t, 800, 600)
	if got := Eval[int](t, p, `innerWidth`); got != 800 {
		t.Errorf("after SetViewport: innerWidth = %d", got)
	}
}

func TestScreenshot(t *testing.T) {
	t.Setenv(EnvArtifacts, t.TempDir())
	srv := testSite(t)
	b := New(t)
	p := b.NewPage(t, Viewport(400, 300))
	p.Navigate(t, srv.URL+"/blank")
	// Taller than the viewport, and scrolled: the screenshot still shows
	// the whole page from its top.
	Eval[int](t, p, `(() => {
		document.body.style.cssText = "margin: 0; height: 1000px";
		const top = document.createElement("div");
		top.style.cssText = "height: 50px; background: rgb(255, 0, 0)";
		document.body.prepend(top);
		window.scrollTo(0, 400);
		return window.scrollY;
	})()`)

	path := p.Screenshot(t, "tall page")
	if !strings.HasPrefix(path, os.Getenv(EnvArtifacts)) || !strings.HasSuffix(path, ".png") {
		t.Errorf("screenshot at %q, want a PNG under $%s", path, EnvArtifacts)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if size := img.Bounds().Size(); size.X != 400 || size.Y < 1000 {
		t.Errorf("screenshot is %v, want the full page: 400 wide and at least 1000 high", size)
	}
	if r, g, b, _ := img.At(10, 10).RGBA(); r>>8 < 200 || g>>8 > 50 || b>>8 > 50 {
		t.Errorf("pixel (10,10) is (%d,%d,%d), want the red bar at the top of the page", r>>8, g>>8, b>>8)
	}
}

func TestFailureEvidence(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvArtifacts, dir)
	srv := testSite(t)
	b := New(t)

	f := &fakeT{TB: t}
	f.run(func(ft testing.TB) {
		p := b.NewPage(ft)
		p.Navigate(ft, srv.URL+"/noisy")
		ft.Errorf("something went wrong")
	})
	f.finish()

	shots, _ := filepath.Glob(filepath.Join(dir, "*", "*-failure.png"))
	logs, _ := filepath.Glob(filepath.Join(dir, "*", "*-console.log"))
	if len(shots) != 1 || len(logs) != 1 {
		t.Fatalf("after a failed test: screenshots %v, console logs %v; want one of each", shots, logs)
	}
	if !slices.ContainsFunc(f.logs, func(s string) bool { return strings.Contains(s, shots[0]) }) {
		t.Errorf("the screenshot's path was not logged; logs: %q", f.logs)
	}
	content, _ := os.ReadFile(logs[0])
	if !strings.Contains(string(content), "boom 7") {
		t.Errorf("console log lacks the page's error:\n%s", content)
	}

	// A passing test leaves nothing behind.
	passing := &fakeT{TB: t}
	passing.run(func(ft testing.TB) {
		p := b.NewPage(ft)
		p.Navigate(ft, srv.URL+"/blank")
	})
	passing.finish()
	if shots, _ := filepath.Glob(filepath.Join(dir, "*", "*-failure.png")); len(shots) != 1 {
		t.Errorf("screenshots after a passing test: %v", shots)
	}
}

func TestTimeout(t *testing.T) {
	t.Setenv(EnvArtifacts, t.TempDir()) // the fake failure saves evidence
	srv := testSite(t)
	b := New(t, WithTimeout(time.Second))
	f := &fakeT{TB: t}
	start := time.Now()
	f.run(func(ft testing.TB) {
		p := b.NewPage(ft)
		p.Navigate(ft, srv.URL+"/blank")
		p.Do(ft, chromedp.WaitVisible(chromedp.CSS("#never")))
		ft.Errorf("Do returned although the element never appears")
	})
	f.finish()
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("the helper gave up after %v, want about a second", elapsed)
	}
	if !strings.Contains(f.fatal, "deadline") {
		t.Errorf("fatal message %q does not name the deadline", f.fatal)
	}
}
