// Package browsertest drives a real headless Chromium from Go tests, for
// end-to-end tests of the browser app against a server the test starts.
//
// A test makes one [Browser] and opens a [Page] per user:
//
//	b := browsertest.New(t)
//	alice := b.NewPage(t)
//	bob := b.NewPage(t, browsertest.Languages("ja-JP", "ja"))
//	alice.Navigate(t, srv.URL+"/chat")
//	title := browsertest.Run(t, alice, chromedp.Title())
//	alice.ExpectNoConsoleErrors(t)
//
// Guarantees:
//
//   - Isolation: each page from [Browser.NewPage] lives in its own browser
//     context (like a separate incognito profile): no cookies, storage or
//     cache shared with another page. [Page.NewTab] opens a second tab that
//     does share them, for "the same user in two tabs".
//   - Nothing hangs: every helper runs under a deadline ([WithTimeout],
//     30 seconds by default) and fails the test when it passes.
//   - Evidence on failure: when the test has failed by the time a page is
//     cleaned up, the page's full-page screenshot and its console log are
//     written to the artifacts directory ([ArtifactsDir]) and their paths
//     are logged.
//   - Console: every console call, uncaught exception and browser log entry
//     (failed loads, Content Security Policy violations) of a page is
//     recorded from the moment the page opens. An action that returns has
//     already recorded every message the browser sent before its reply.
//   - Determinism: a page starts with a 1280×800 viewport, the languages
//     en-US and en, the time zone UTC and the light colour scheme, whatever
//     the machine's settings; [PageOption] values change them.
//
// Chromium is found through $KAIGI_CHROMIUM, else chromium, chromium-browser,
// google-chrome or google-chrome-stable on $PATH. Without one, the test is
// skipped with instructions, unless $CI is "true", when it fails: CI must not
// pass by skipping. Under -short the test is skipped.
//
// Helpers that take a testing.TB call t.Fatal on failure, so they must run on
// the test's goroutine. For work on another goroutine, use
// [Page.TimeoutContext] with chromedp directly.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultTimeout bounds every browser action of a helper unless
// [WithTimeout] says otherwise.
const DefaultTimeout = 30 * time.Second

// EnvChromium names the environment variable that points at the browser
// binary; it wins over the search of $PATH.
const EnvChromium = "KAIGI_CHROMIUM"

// EnvArtifacts names the environment variable with the directory for
// screenshots and console logs. Default: kaigi-test-artifacts under
// os.TempDir().
const EnvArtifacts = "KAIGI_TEST_ARTIFACTS"

// candidates are the browser names looked up on $PATH, in order, after
// $KAIGI_CHROMIUM and /usr/bin/chromium.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Option configures [New].
type Option func(*config)

type config struct {
	timeout time.Duration
	flags   []flag
}

type flag struct {
	name  string
	value any
}

// WithTimeout sets the deadline of each browser action run by a helper.
// Default: [DefaultTimeout].
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithFlag passes one more command-line flag to Chromium: a string value
// gives --name=value, true gives --name, false removes a default flag. For
// example WithFlag("allow-loopback-in-peer-connection", true) for WebRTC on
// loopback.
func WithFlag(name string, value any) Option {
	return func(c *config) { c.flags = append(c.flags, flag{name, value}) }
}

// Browser is one headless Chromium process for one test (and its subtests).
// Its methods are safe for concurrent use; pages may be opened from parallel
// subtests.
type Browser struct {
	ctx       context.Context // chromedp context of the browser's first tab
	timeout   time.Duration
	output    *tailBuffer
	artifacts string

	mu      sync.Mutex
	pages   int             // pages opened so far, for artifact names
	cleaned map[string]bool // artifact directories emptied by this browser
}

// New starts Chromium for the test and stops it when the test ends. It skips
// the test when no Chromium is installed (fails under CI=true) and under
// -short.
func New(t testing.TB, opts ...Option) *Browser {
	t.Helper()
	cfg := config{timeout: DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	if testing.Short() {
		t.Skip("browsertest: skipping browser test under -short")
	}
	execPath, err := FindChromium()
	if err != nil {
		msg := fmt.Sprintf("browsertest: %v\n\n"+
			"    *** This test drives a real headless Chromium and none was found. ***\n"+
			"    Install it with:   apt-get install -y chromium\n"+
			"    or point $%s at a Chromium or Chrome binary.", err, EnvChromium)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	// t.TempDir is removed after the cleanups registered later have run,
	// so the browser has stopped before its profile goes.
	userDataDir := t.TempDir()
	output := &tailBuffer{max: 16 << 10}
	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(userDataDir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1280, 800),
		chromedp.CombinedOutput(output),
	)
	for _, f := range cfg.flags {
		allocOpts = append(allocOpts, chromedp.Flag(f.name, f.value))
	}

	// The browser must outlive t.Context, which ends before the cleanups
	// run, so that a failing test still gets its screenshots.
	base := context.WithoutCancel(t.Context())
	allocCtx, allocCancel := chromedp.NewExecAllocator(base, allocOpts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &Browser{
		ctx:       ctx,
		timeout:   cfg.timeout,
		output:    output,
		artifacts: ArtifactsDir(),
		cleaned:   map[string]bool{},
	}

	// The first Run starts the browser and binds it to ctx for good, so it
	// cannot carry a deadline; bound it from outside instead.
	if err := within(startTimeout(cfg.timeout), cancel, func() error { return chromedp.Do(ctx) }); err != nil {
		cancel()
		allocCancel()
		t.Fatalf("browsertest: start %s: %v\nbrowser output:\n%s", execPath, err, output.String())
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		defer ccancel()
		if err := chromedp.Cancel(cctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("browsertest: closing the browser: %v", err)
		}
		cancel()
		allocCancel() // waits for the process to exit
	})
	return b
}

// FindChromium returns the browser binary to use: $KAIGI_CHROMIUM if set
// (an error if it is not executable), else /usr/bin/chromium, else the first
// of chromium, chromium-browser, google-chrome and google-chrome-stable on
// $PATH.
func FindChromium() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		found, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("$%s=%q is not an executable: %w", EnvChromium, p, err)
		}
		return found, nil
	}
	if p, err := exec.LookPath("/usr/bin/chromium"); err == nil {
		return p, nil
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found ($%s unset; none of /usr/bin/chromium, %s on $PATH)",
		EnvChromium, strings.Join(candidates, ", "))
}

// ArtifactsDir returns the directory for screenshots and console logs:
// $KAIGI_TEST_ARTIFACTS, else kaigi-test-artifacts under os.TempDir(). Each
// test writes into a subdirectory named after it.
func ArtifactsDir() string {
	if d := os.Getenv(EnvArtifacts); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "kaigi-test-artifacts")
}

// NewPage opens a page in a browser context of its own, isolated from every
// other page, and closes it when t's test ends (after saving a screenshot if
// the test failed).
func (b *Browser) NewPage(t testing.TB, opts ...PageOption) *Page {
	t.Helper()
	p := b.newPage(t.Name())
	return p.open(t, b.ctx, []chromedp.ContextOption{chromedp.WithNewBrowserContext()}, opts)
}

func (b *Browser) newPage(testName string) *Page {
	dir := filepath.Join(b.artifacts, safeName(testName))
	b.mu.Lock()
	b.pages++
	n := b.pages
	// Screenshots of an earlier run of the same test would mislead: the
	// first page of a test starts its directory afresh.
	if !b.cleaned[dir] {
		b.cleaned[dir] = true
		os.RemoveAll(dir) //nolint:errcheck // a leftover file is only clutter
	}
	b.mu.Unlock()
	return &Page{
		browser: b,
		timeout: b.timeout,
		name:    fmt.Sprintf("page%d", n),
		dir:     dir,
	}
}

// startTimeout bounds starting the browser and opening a page: never less
// than DefaultTimeout, because a short timeout for actions must not make a
// slow machine fail to start Chromium.
func startTimeout(timeout time.Duration) time.Duration {
	return max(timeout, DefaultTimeout)
}

// within runs fn and waits at most d for it. When d passes, it calls stop,
// which must make fn return, and reports a timeout.
func within(d time.Duration, stop func(), fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		stop()
		<-done
		return fmt.Errorf("no answer from the browser within %v", d)
	}
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// safeName turns a test or screenshot name into a file name.
func safeName(s string) string {
	s = unsafeChars.ReplaceAllString(s, "_")
	if s == "" {
		return "_"
	}
	return s
}

// tailBuffer keeps the last max bytes written to it: the browser's output,
// for the message when it fails to start.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
