package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// PageOption configures a page when it opens.
type PageOption func(*pageConfig)

type pageConfig struct {
	width, height int64
	languages     []string
	timeZone      string
	colorScheme   string
}

func defaultPageConfig() pageConfig {
	return pageConfig{
		width:       1280,
		height:      800,
		languages:   []string{"en-US", "en"},
		timeZone:    "UTC",
		colorScheme: "light",
	}
}

// Viewport sets the size of the page's viewport in CSS pixels.
// Default: 1280×800.
func Viewport(width, height int64) PageOption {
	return func(c *pageConfig) { c.width, c.height = width, height }
}

// Languages sets the languages the page prefers, most preferred first, as
// navigator.languages and the Accept-Language header show them.
// Default: en-US, en.
func Languages(tags ...string) PageOption {
	return func(c *pageConfig) { c.languages = tags }
}

// TimeZone sets the page's time zone, an IANA name such as "Asia/Tokyo".
// Default: UTC.
func TimeZone(name string) PageOption {
	return func(c *pageConfig) { c.timeZone = name }
}

// ColorScheme sets prefers-color-scheme: "light" or "dark".
// Default: light.
func ColorScheme(scheme string) PageOption {
	return func(c *pageConfig) { c.colorScheme = scheme }
}

// Page is one browser tab. Use it from one goroutine at a time: the actions
// of one tab run in order. Different pages may be used in parallel.
type Page struct {
	browser *Browser
	timeout time.Duration
	name    string // page1, page2, … within the browser
	dir     string // artifacts directory of the test

	ctx    context.Context // chromedp context of the tab, no deadline
	cancel context.CancelFunc

	mu      sync.Mutex
	console []ConsoleMessage
	shots   int
}

// open creates the tab under parent, records its console from the first
// message, applies the options and registers the cleanup.
func (p *Page) open(t testing.TB, parent context.Context, ctxOpts []chromedp.ContextOption, opts []PageOption) *Page {
	t.Helper()
	cfg := defaultPageConfig()
	for _, o := range opts {
		o(&cfg)
	}
	ctxOpts = append(ctxOpts, chromedp.WithListener(p.record))
	p.ctx, p.cancel = chromedp.NewContext(parent, ctxOpts...)

	// The first Run creates the tab and binds it to the context it gets,
	// so it runs on p.ctx itself, bounded from outside.
	if err := within(startTimeout(p.timeout), p.cancel, func() error { return chromedp.Do(p.ctx) }); err != nil {
		p.cancel()
		t.Fatalf("browsertest: open %s: %v\nbrowser output:\n%s", p.name, err, p.browser.output.String())
	}
	t.Cleanup(func() { p.close(t) })

	ctx, cancel := context.WithTimeout(p.ctx, startTimeout(p.timeout))
	defer cancel()
	if err := p.configure(ctx, cfg); err != nil {
		t.Fatalf("browsertest: set up %s: %v", p.name, err)
	}
	return p
}

func (p *Page) configure(ctx context.Context, cfg pageConfig) error {
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(cfg.width, cfg.height)); err != nil {
		return fmt.Errorf("viewport: %w", err)
	}
	if len(cfg.languages) > 0 {
		// Emulation.setUserAgentOverride sets navigator.languages and
		// Accept-Language, but needs the user agent too: keep the real one.
		v, err := chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{})
		if err != nil {
			return fmt.Errorf("browser version: %w", err)
		}
		if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent:      v.UserAgent,
			AcceptLanguage: strings.Join(cfg.languages, ","),
		}); err != nil {
			return fmt.Errorf("languages: %w", err)
		}
	}
	if cfg.timeZone != "" {
		if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{
			TimezoneID: cfg.timeZone,
		}); err != nil {
			return fmt.Errorf("time zone %q: %w", cfg.timeZone, err)
		}
	}
	if cfg.colorScheme != "" {
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: cfg.colorScheme}},
		}); err != nil {
			return fmt.Errorf("colour scheme %q: %w", cfg.colorScheme, err)
		}
	}
	return nil
}

// NewTab opens another tab in the same browser context as p: it shares p's
// cookies and storage, as a second tab of the same user would. It closes
// when t's test ends, or when p closes.
func (p *Page) NewTab(t testing.TB, opts ...PageOption) *Page {
	t.Helper()
	tab := p.browser.newPage(t.Name())
	return tab.open(t, p.ctx, nil, opts)
}

// close saves the evidence of a failed test and closes the tab.
func (p *Page) close(t testing.TB) {
	if t.Failed() {
		p.saveEvidence(t)
	}
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	chromedp.Cancel(ctx) //nolint:errcheck // the tab is going either way
	p.cancel()
}

func (p *Page) saveEvidence(t testing.TB) {
	if path, err := p.screenshot("failure"); err != nil {
		t.Logf("browsertest: %s: no failure screenshot: %v", p.name, err)
	} else {
		t.Logf("browsertest: %s: failure screenshot: %s", p.name, path)
	}
	msgs := p.ConsoleMessages()
	if len(msgs) == 0 {
		return
	}
	var sb strings.Builder
	for _, m := range msgs {
		sb.WriteString(m.String())
		sb.WriteByte('\n')
	}
	path := filepath.Join(p.dir, p.name+"-console.log")
	if err := writeFile(path, []byte(sb.String())); err != nil {
		t.Logf("browsertest: %s: console log not saved: %v", p.name, err)
	} else {
		t.Logf("browsertest: %s: console log (%d messages): %s", p.name, len(msgs), path)
	}
	for _, m := range p.ConsoleErrors() {
		t.Logf("browsertest: %s: console: %s", p.name, m)
	}
}

// Context returns the tab's chromedp context, for calls the helpers do not
// cover. It has no deadline: bound each call, for example with
// [Page.TimeoutContext]. Do not use it after the test ends.
func (p *Page) Context() context.Context { return p.ctx }

// TimeoutContext returns a child of [Page.Context] that ends after the
// browser's timeout.
func (p *Page) TimeoutContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.ctx, p.timeout)
}

// Do runs the actions in order under the timeout and fails the test on the
// first error.
func (p *Page) Do(t testing.TB, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := p.TimeoutContext()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browsertest: %s: %v%s", p.name, err, p.errorSummary())
	}
}

// Run runs one action that returns a value under the page's timeout and
// fails the test on error.
func Run[T any](t testing.TB, p *Page, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := p.TimeoutContext()
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatalf("browsertest: %s: %v%s", p.name, err, p.errorSummary())
	}
	return v
}

// Eval evaluates a JavaScript expression in the page and decodes its value
// into T, as chromedp.Evaluate does. A promise is awaited.
func Eval[T any](t testing.TB, p *Page, expression string) T {
	t.Helper()
	return Run(t, p, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
}

// Navigate loads url and waits for its load event.
func (p *Page) Navigate(t testing.TB, url string) {
	t.Helper()
	p.Do(t, chromedp.Navigate(url))
}

// SetViewport changes the viewport's size in CSS pixels.
func (p *Page) SetViewport(t testing.TB, width, height int64) {
	t.Helper()
	p.Do(t, chromedp.EmulateViewport(width, height))
}

// Screenshot saves a full-page PNG named after name in the test's artifacts
// directory, logs its path and returns it.
func (p *Page) Screenshot(t testing.TB, name string) string {
	t.Helper()
	path, err := p.screenshot(name)
	if err != nil {
		t.Fatalf("browsertest: %s: screenshot %q: %v", p.name, name, err)
	}
	t.Logf("browsertest: %s: screenshot %q: %s", p.name, name, path)
	return path
}

func (p *Page) screenshot(name string) (string, error) {
	ctx, cancel := p.TimeoutContext()
	defer cancel()
	png, err := fullPage(ctx)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	p.shots++
	n := p.shots
	p.mu.Unlock()
	path := filepath.Join(p.dir, fmt.Sprintf("%s-%02d-%s.png", p.name, n, safeName(name)))
	return path, writeFile(path, png)
}

// fullPage captures the whole page as a PNG, beyond the viewport: a clip of
// the size of the page's content, in document coordinates, whatever the
// scroll position and the emulated viewport.
func fullPage(ctx context.Context) ([]byte, error) {
	m, err := chromedp.Call(ctx, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return nil, fmt.Errorf("layout metrics: %w", err)
	}
	if m.CSSContentSize == nil || m.CSSLayoutViewport == nil {
		return nil, fmt.Errorf("layout metrics: no content size")
	}
	width := math.Ceil(max(m.CSSContentSize.Width, float64(m.CSSLayoutViewport.ClientWidth)))
	height := math.Ceil(max(m.CSSContentSize.Height, float64(m.CSSLayoutViewport.ClientHeight)))
	yes := true
	res, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format:                page.CaptureScreenshotFormatPng,
		FromSurface:           &yes,
		CaptureBeyondViewport: &yes,
		Clip:                  &page.Viewport{Width: width, Height: height, Scale: 1},
	})
	if err != nil {
		return nil, err
	}
	return res.Data, nil
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// ConsoleMessage is one message of a page's console: a call of the console
// API, an uncaught exception, or an entry of the browser's log (a failed
// load, a Content Security Policy violation, a deprecation…).
type ConsoleMessage struct {
	// Type is the console API's type ("log", "info", "warning", "error",
	// "assert", …), "exception" for an uncaught exception or unhandled
	// rejection, or the level of a browser log entry ("verbose", "info",
	// "warning", "error").
	Type string
	// Text is the message, its arguments joined by spaces.
	Text string
	// Source is what wrote a browser log entry ("network", "security",
	// "javascript", …); empty for console calls and exceptions.
	Source string
	// URL and Line (1-based; 0 when unknown) say where it came from.
	URL  string
	Line int64
}

// IsError reports whether the message is an error, an exception or a failed
// console.assert.
func (m ConsoleMessage) IsError() bool {
	return m.Type == "error" || m.Type == "exception" || m.Type == "assert"
}

func (m ConsoleMessage) String() string {
	var sb strings.Builder
	sb.WriteString(m.Type)
	if m.Source != "" {
		sb.WriteString("(" + m.Source + ")")
	}
	sb.WriteString(": ")
	sb.WriteString(m.Text)
	if m.URL != "" {
		fmt.Fprintf(&sb, " [%s:%d]", m.URL, m.Line)
	}
	return sb.String()
}

// ConsoleMessages returns every console message of the page so far.
func (p *Page) ConsoleMessages() []ConsoleMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ConsoleMessage(nil), p.console...)
}

// ConsoleErrors returns the errors among the console messages so far:
// console.error, failed console.assert, uncaught exceptions and unhandled
// rejections, and browser log errors such as failed loads and Content
// Security Policy violations.
func (p *Page) ConsoleErrors() []ConsoleMessage {
	var errs []ConsoleMessage
	for _, m := range p.ConsoleMessages() {
		if m.IsError() {
			errs = append(errs, m)
		}
	}
	return errs
}

// ClearConsole forgets the messages so far, for a test that provoked some
// on purpose.
func (p *Page) ClearConsole() {
	p.mu.Lock()
	p.console = nil
	p.mu.Unlock()
}

// ExpectNoConsoleErrors reports each console error of the page as a test
// error.
func (p *Page) ExpectNoConsoleErrors(t testing.TB) {
	t.Helper()
	for _, m := range p.ConsoleErrors() {
		t.Errorf("browsertest: %s: console error: %s", p.name, m)
	}
}

func (p *Page) errorSummary() string {
	errs := p.ConsoleErrors()
	if len(errs) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.WriteString("\nconsole errors so far:")
	for _, m := range errs {
		sb.WriteString("\n  " + m.String())
	}
	return sb.String()
}

// record runs on chromedp's reader goroutine for each event of the tab: it
// must be quick and must not call the browser.
func (p *Page) record(ev any) {
	var m ConsoleMessage
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		parts := make([]string, 0, len(ev.Args))
		for _, a := range ev.Args {
			parts = append(parts, remoteText(a))
		}
		m = ConsoleMessage{Type: string(ev.Type), Text: strings.Join(parts, " ")}
		m.URL, m.Line = topFrame(ev.StackTrace)
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		if d == nil {
			return
		}
		m = ConsoleMessage{Type: "exception", Text: d.Text}
		if d.Exception != nil && d.Exception.Description != "" {
			m.Text = d.Text + " " + d.Exception.Description
		}
		m.URL, m.Line = d.URL, d.LineNumber+1
		if u, l := topFrame(d.StackTrace); u != "" {
			m.URL, m.Line = u, l
		}
	case *log.EventEntryAdded:
		e := ev.Entry
		if e == nil {
			return
		}
		m = ConsoleMessage{Type: string(e.Level), Text: e.Text, Source: string(e.Source), URL: e.URL}
		if e.LineNumber > 0 {
			m.Line = e.LineNumber + 1
		}
	default:
		return
	}
	p.mu.Lock()
	p.console = append(p.console, m)
	p.mu.Unlock()
}

func topFrame(st *runtime.StackTrace) (string, int64) {
	if st == nil || len(st.CallFrames) == 0 {
		return "", 0
	}
	f := st.CallFrames[0]
	return f.URL, f.LineNumber + 1
}

// remoteText renders a console argument as DevTools would, roughly: a
// string as itself, another primitive as its JSON, an object by its
// description.
func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		var s string
		if err := json.Unmarshal(o.Value, &s); err == nil {
			return s
		}
		return string(o.Value)
	}
	if o.UnserializableValue != "" {
		return string(o.UnserializableValue)
	}
	if o.Description != "" {
		return o.Description
	}
	return string(o.Type)
}
