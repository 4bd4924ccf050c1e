package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/kaigi/kaigi/internal/browsertest"
)

// The shell in a real browser: it renders, speaks English and Japanese,
// works with the keyboard and on a phone, and breaks none of its own
// Content Security Policy (a violation is a console error, and every page
// must end with none).

// openShell opens path of the server in a new page and waits until the app
// has started.
func openShell(t *testing.T, b *browsertest.Browser, srv *httptest.Server, path string, opts ...browsertest.PageOption) *browsertest.Page {
	t.Helper()
	p := b.NewPage(t, opts...)
	p.Navigate(t, srv.URL+path)
	waitReady(t, p)
	t.Cleanup(func() { p.ExpectNoConsoleErrors(t) })
	return p
}

func waitReady(t *testing.T, p *browsertest.Page) {
	t.Helper()
	p.Do(t, chromedp.WaitReady(chromedp.CSS(`html[data-state="ready"]`)))
}

func text(t *testing.T, p *browsertest.Page, sel string) string {
	t.Helper()
	return strings.TrimSpace(browsertest.Run(t, p, chromedp.Text(chromedp.CSS(sel))))
}

// focused describes the element that has the focus: #id, or tag.class, with
// the href of a link.
func focused(t *testing.T, p *browsertest.Page) string {
	t.Helper()
	return browsertest.Eval[string](t, p, `(() => {
		const e = document.activeElement;
		if (!e || e === document.body) return "body";
		if (e.id) return "#" + e.id;
		let s = e.tagName.toLowerCase();
		if (e.classList.length) s += "." + e.classList[0];
		if (e.hasAttribute("href")) s += "[href=" + e.getAttribute("href") + "]";
		return s;
	})()`)
}

func press(t *testing.T, p *browsertest.Page, key string) {
	t.Helper()
	p.Do(t, chromedp.KeyEvent(key))
}

func isDisplayed(t *testing.T, p *browsertest.Page, sel string) bool {
	t.Helper()
	return browsertest.Eval[bool](t, p, `(() => {
		const e = document.querySelector(`+"`"+sel+"`"+`);
		return !!e && getComputedStyle(e).display !== "none" && e.getClientRects().length > 0;
	})()`)
}

// fakeAPI stands in for the JSON API the shell talks to: nobody is signed
// in, and every sign-in is refused, with the API's words. A sign-in as
// slow@example.com is throttled for two minutes. The sign-in answers after
// a moment, so that the page shows its progress.
func fakeAPI() http.Handler {
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v) //nolint:errcheck // a test server
	}
	apiError := func(code, msg string) map[string]any {
		return map[string]any{"error": map[string]string{"code": code, "message": msg, "request_id": "test"}}
	}
	mux.HandleFunc("GET /api/v1/session", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"state": "anonymous", "kind": "anonymous"})
	})
	mux.HandleFunc("POST /api/v1/auth/signin", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Email string }
		json.NewDecoder(r.Body).Decode(&body) //nolint:errcheck // checked by the page
		time.Sleep(400 * time.Millisecond)
		if body.Email == "slow@example.com" {
			w.Header().Set("Retry-After", "120")
			writeJSON(w, 429, apiError("rate_limited", "Too many failed attempts. Wait 2 minutes before trying again."))
			return
		}
		writeJSON(w, 401, apiError("unauthenticated", "The email address or password is not right. Check both and try again."))
	})
	// The Trust Center's public figures (the overview page asks for them).
	mux.HandleFunc("GET /api/v1/trust/subprocessors", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"subprocessors": []any{}, "upcoming": []any{}, "changes": []any{}, "customer_data_count": 0,
			"notice": map[string]any{"customer_data_months": 6, "other_days": 30}})
	})
	mux.HandleFunc("GET /api/v1/trust/controls", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, []any{}) })
	mux.HandleFunc("GET /api/v1/trust/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"status": "operational", "components": map[string]string{}})
	})
	mux.Handle("/api/", http.NotFoundHandler())
	mux.Handle("/", Handler(Options{}))
	return mux
}

// expectRefusals clears the console of the failed loads that the browser
// logs for the API's refusals with these statuses, and fails on anything
// else.
func expectRefusals(t *testing.T, p *browsertest.Page, statuses ...string) {
	t.Helper()
	for _, m := range p.ConsoleErrors() {
		ok := m.Source == "network" && strings.Contains(m.URL, "/api/v1/")
		ok = ok && slices.ContainsFunc(statuses, func(s string) bool { return strings.Contains(m.Text, "status of "+s) })
		if !ok {
			t.Errorf("console error: %s", m)
		}
	}
	p.ClearConsole()
}

func TestShellInBrowser(t *testing.T) {
	srv := httptest.NewServer(fakeAPI())
	t.Cleanup(srv.Close)
	b := browsertest.New(t)

	t.Run("renders the frame and sign-in", func(t *testing.T) {
		p := openShell(t, b, srv, "/")
		if got := browsertest.Run(t, p, chromedp.Location()); got != srv.URL+"/signin" {
			t.Errorf("/ shows %s, want /signin", got)
		}
		if got := browsertest.Run(t, p, chromedp.Title()); got != "Sign in · Kaigi" {
			t.Errorf("title = %q", got)
		}
		if got := text(t, p, ".brand-name"); got != "Kaigi" {
			t.Errorf("product name = %q", got)
		}
		if got := text(t, p, "h1"); got != "Sign in to Kaigi" {
			t.Errorf("h1 = %q", got)
		}
		nav := browsertest.Eval[[]string](t, p, `[...document.querySelectorAll("nav a[data-nav]")].filter(a => !a.closest("[hidden]")).map(a => a.textContent.trim())`)
		want := []string{"Chat", "Meetings", "Compliance center", "Operator console", "Trust Center"}
		if !slices.Equal(nav, want) {
			t.Errorf("navigation = %q, want %q (the admin center only for tenant admins)", nav, want)
		}
		if isDisplayed(t, p, "#account") {
			t.Error("the account menu is shown to nobody signed in")
		}
		landmarks := browsertest.Eval[[]string](t, p, `["header", "nav", "main", "footer"].filter(s => document.querySelectorAll(s).length !== 1)`)
		if len(landmarks) > 0 {
			t.Errorf("landmarks not present exactly once: %v", landmarks)
		}
		if got := browsertest.Eval[string](t, p, `document.documentElement.lang`); got != "en" {
			t.Errorf("lang = %q, want en", got)
		}
		clock := text(t, p, "#clock")
		if !strings.Contains(clock, "UTC") || browsertest.Eval[string](t, p, `document.getElementById("clock").dateTime`) == "" {
			t.Errorf("footer clock = %q, want a local time with its zone (UTC in this browser)", clock)
		}
		p.Screenshot(t, "signin-wide-en")
	})

	t.Run("routes have pages, headings and aria-current", func(t *testing.T) {
		p := openShell(t, b, srv, "/signin")
		p.Do(t, chromedp.Click(chromedp.CSS(`nav a[href="/trust"]`)))
		p.Do(t, chromedp.WaitVisible(chromedp.CSS(`.area h1`)))
		if got := browsertest.Run(t, p, chromedp.Location()); got != srv.URL+"/trust" {
			t.Errorf("location = %s, want /trust", got)
		}
		if got := text(t, p, "h1"); got != "Trust Center" {
			t.Errorf("h1 = %q", got)
		}
		if got := focused(t, p); got != "h1" {
			t.Errorf("focus after navigation on %s, want the page's h1", got)
		}
		// The main navigation's links (a page's own section tabs, such as the
		// Trust Center's, mark their current section too).
		current := browsertest.Eval[[]string](t, p, `[...document.querySelectorAll("[aria-current]:not(.tab)")].map(a => a.getAttribute("href") + "=" + a.getAttribute("aria-current"))`)
		if !slices.Equal(current, []string{"/trust=page"}) {
			t.Errorf("aria-current on %v, want only /trust=page", current)
		}
		if got := browsertest.Run(t, p, chromedp.Title()); got != "Trust Center · Kaigi" {
			t.Errorf("title = %q", got)
		}
		p.Screenshot(t, "trust-wide-en")

		p.Do(t, chromedp.NavigateBack())
		p.Do(t, chromedp.WaitVisible(chromedp.CSS(`#signin-email`)))
		if n := browsertest.Eval[int](t, p, `document.querySelectorAll("[aria-current]").length`); n != 0 {
			t.Errorf("%d links still aria-current on the sign-in page", n)
		}

		for path, heading := range map[string]string{
			"/meetings":             "Sign in to Kaigi",
			"/meet#nocode":          "Meeting",
			"/admin":                "Sign in to Kaigi",
			"/settings/security":    "Sign in to Kaigi",
			"/invite":               "Join Kaigi",
			"/reset":                "Choose a new password",
			"/compliance/holds/42":  "Sign in to Kaigi",
			"/operator":             "Operator console",
			"/trust":                "Trust Center",
			"/no-such-page":         "Page not found",
			"/chat/general?x=1#top": "Sign in to Kaigi",
		} {
			p.Navigate(t, srv.URL+path)
			waitReady(t, p)
			if got := text(t, p, "h1"); got != heading {
				t.Errorf("%s: h1 = %q, want %q", path, got, heading)
			}
		}
		// A page that needs a session sends the person to sign in, and back
		// afterwards.
		p.Navigate(t, srv.URL+"/admin/signins")
		waitReady(t, p)
		if got := browsertest.Run(t, p, chromedp.Location()); got != srv.URL+"/signin?next=%2Fadmin%2Fsignins" {
			t.Errorf("/admin/signins signed out shows %s, want the sign-in page with next", got)
		}
		p.Navigate(t, srv.URL+"/no-such-page")
		waitReady(t, p)
		p.Screenshot(t, "not-found-wide-en")
		// The server answers an unknown path with status 404, which Chrome
		// logs as a failed load: the one console error these pages expect.
		for _, m := range p.ConsoleErrors() {
			if m.Source != "network" || !strings.Contains(m.Text, "404") || !strings.HasSuffix(m.URL, "/no-such-page") {
				t.Errorf("console error: %s", m)
			}
		}
		p.ClearConsole()
	})

	t.Run("keyboard: skip link first, then the header and the navigation", func(t *testing.T) {
		p := openShell(t, b, srv, "/signin")
		press(t, p, kb.Tab)
		if got := focused(t, p); got != "a.skip-link[href=#main]" {
			t.Fatalf("first Tab focuses %s, want the skip link", got)
		}
		if !isDisplayed(t, p, ".skip-link") || browsertest.Eval[float64](t, p, `document.querySelector(".skip-link").getBoundingClientRect().top`) < 0 {
			t.Error("the focused skip link is not on screen")
		}
		p.Screenshot(t, "skip-link-focused")

		var stops []string
		for range 4 {
			press(t, p, kb.Tab)
			stops = append(stops, focused(t, p))
			if stops[len(stops)-1] == "a[href=/chat]" {
				break
			}
		}
		want := []string{"a.brand[href=/]", "#lang-select", "a[href=/chat]"}
		if !slices.Equal(stops, want) {
			t.Errorf("Tab stops after the skip link = %v, want %v", stops, want)
		}
		if !browsertest.Eval[bool](t, p, `getComputedStyle(document.activeElement).outlineStyle !== "none"`) {
			t.Error("the focused navigation link has no visible outline")
		}

		// Enter follows the focused link; chat needs a session, so it
		// asks to sign in first.
		press(t, p, kb.Enter)
		p.Do(t, chromedp.WaitVisible(chromedp.CSS(`#signin-email`)))
		if got := browsertest.Run(t, p, chromedp.Location()); got != srv.URL+"/signin?next=%2Fchat" {
			t.Errorf("Enter on the Chat link signed out shows %s, want the sign-in page with next", got)
		}

		// The skip link moves the focus to the main region.
		p.Navigate(t, srv.URL+"/signin")
		waitReady(t, p)
		press(t, p, kb.Tab)
		press(t, p, kb.Enter)
		if got := focused(t, p); got != "#main" {
			t.Errorf("after the skip link, focus is on %s, want #main", got)
		}
		press(t, p, kb.Tab)
		if got := focused(t, p); got != "#signin-email" {
			t.Errorf("Tab after skipping focuses %s, want the email field", got)
		}
	})

	t.Run("sign-in form: labels, validation, progress, the API's refusal", func(t *testing.T) {
		p := openShell(t, b, srv, "/signin")
		labels := browsertest.Eval[[]string](t, p, `[...document.querySelectorAll("form input")].map(i => i.id + ":" + [...i.labels].map(l => l.textContent.trim()).join("|"))`)
		want := []string{"signin-email:Work email", "signin-password:Password", "signin-org:Organisation short name (optional)"}
		if !slices.Equal(labels, want) {
			t.Errorf("inputs and their labels = %q, want %q", labels, want)
		}
		if got := browsertest.Eval[string](t, p, `document.getElementById("signin-org").getAttribute("aria-describedby")`); got != "signin-org-hint" {
			t.Errorf("organisation field described by %q, want its hint", got)
		}
		browsertest.Eval[int](t, p, `window.kaigiNoReload = 1`)

		p.Do(t, chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
		if got := focused(t, p); got != "#signin-email" {
			t.Errorf("focus after an empty submit on %s, want the email field", got)
		}
		if got := browsertest.Eval[string](t, p, `document.getElementById("signin-email").getAttribute("aria-invalid")`); got != "true" {
			t.Errorf("empty email: aria-invalid = %q", got)
		}
		if got := text(t, p, "#signin-email-error"); !strings.HasPrefix(got, "Enter your email address") {
			t.Errorf("email error = %q", got)
		}
		p.Screenshot(t, "signin-errors-en")

		p.Do(t,
			chromedp.SendKeys(chromedp.CSS("#signin-email"), "ada@example.com"),
			chromedp.SendKeys(chromedp.CSS("#signin-password"), "correct horse battery staple\n"),
		)
		// While the request runs, the button says so and refuses a second submit.
		if got := text(t, p, `form button[type="submit"]`); got != "Signing in…" {
			t.Errorf("button while signing in = %q", got)
		}
		if got := browsertest.Eval[string](t, p, `document.querySelector('form button[type="submit"]').getAttribute("aria-disabled")`); got != "true" {
			t.Errorf("button while signing in: aria-disabled = %q", got)
		}
		p.Screenshot(t, "signin-busy-en")
		p.Do(t, chromedp.Poll[chromedp.Void](`document.querySelector('[role="alert"]').textContent !== ""`, chromedp.WithPollingInterval(20*time.Millisecond)))
		if got := text(t, p, `[role="alert"]`); !strings.Contains(got, "The email address or password is not right") {
			t.Errorf("alert after a refused sign-in = %q", got)
		}
		if got := text(t, p, `form button[type="submit"]`); got != "Sign in" {
			t.Errorf("button after the answer = %q", got)
		}
		if browsertest.Eval[int](t, p, `window.kaigiNoReload || 0`) != 1 {
			t.Error("the page reloaded on submit")
		}
		if got := browsertest.Run(t, p, chromedp.Location()); got != srv.URL+"/signin" {
			t.Errorf("location after submit = %s", got)
		}
		if got := browsertest.Run(t, p, chromedp.Value(chromedp.CSS("#signin-email"))); got != "ada@example.com" {
			t.Errorf("the email was not kept after the refusal: %q", got)
		}
		if n := browsertest.Eval[int](t, p, `document.querySelectorAll('[aria-invalid="true"]').length`); n != 0 {
			t.Errorf("%d fields still marked invalid", n)
		}
		p.Screenshot(t, "signin-refused-en")
		expectRefusals(t, p, "401")

		// Throttled: the wait, in words.
		p.Do(t, chromedp.SetValue(chromedp.CSS("#signin-email"), "slow@example.com"))
		p.Do(t, chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
		p.Do(t, chromedp.Poll[chromedp.Void](`document.querySelector('[role="alert"]').textContent.includes("minutes")`, chromedp.WithPollingInterval(20*time.Millisecond)))
		if got := text(t, p, `[role="alert"]`); !strings.Contains(got, "try again in 2 minutes") {
			t.Errorf("alert when throttled = %q, want the wait in words", got)
		}
		expectRefusals(t, p, "429")
	})

	t.Run("language: switch to Japanese, remembered", func(t *testing.T) {
		p := openShell(t, b, srv, "/signin")
		p.Do(t, chromedp.Focus(chromedp.CSS("#lang-select")))
		press(t, p, kb.ArrowDown)
		p.Do(t, chromedp.WaitReady(chromedp.CSS(`html[lang="ja"]`)))
		if got := text(t, p, "h1"); got != "Kaigi にサインイン" {
			t.Errorf("h1 in Japanese = %q", got)
		}
		if got := text(t, p, `nav a[href="/meetings"]`); got != "会議" {
			t.Errorf("Meetings in Japanese = %q", got)
		}
		if got := browsertest.Run(t, p, chromedp.Title()); got != "サインイン · Kaigi" {
			t.Errorf("title in Japanese = %q", got)
		}
		if got := browsertest.Eval[string](t, p, `document.querySelector("nav").getAttribute("aria-label")`); got != "メイン" {
			t.Errorf("nav aria-label in Japanese = %q", got)
		}
		if got := text(t, p, "#clock"); !strings.Contains(got, "年") {
			t.Errorf("clock in Japanese = %q, want a Japanese date", got)
		}
		if got := browsertest.Eval[string](t, p, `localStorage.getItem("kaigi.lang")`); got != "ja" {
			t.Errorf("remembered language = %q, want ja", got)
		}
		p.Screenshot(t, "signin-wide-ja")

		p.Do(t, chromedp.Reload())
		waitReady(t, p)
		if got := browsertest.Eval[string](t, p, `document.documentElement.lang + " " + document.getElementById("lang-select").value`); got != "ja ja" {
			t.Errorf("after a reload: lang and picker = %q, want ja ja", got)
		}
		// The compliance center needs a session: its link, named in
		// Japanese, asks to sign in first, still in Japanese.
		if got := text(t, p, `nav a[href="/compliance"]`); got != "コンプライアンス センター" {
			t.Errorf("compliance link in Japanese = %q", got)
		}
		p.Do(t, chromedp.Click(chromedp.CSS(`nav a[href="/compliance"]`)))
		p.Do(t, chromedp.WaitVisible(chromedp.CSS(`#signin-email`)))
		if got := browsertest.Run(t, p, chromedp.Location()); got != srv.URL+"/signin?next=%2Fcompliance" {
			t.Errorf("the compliance link signed out shows %s, want the sign-in page with next", got)
		}
		if got := text(t, p, "h1"); got != "Kaigi にサインイン" {
			t.Errorf("h1 after the compliance link in Japanese = %q", got)
		}
		p.Screenshot(t, "compliance-signin-wide-ja")
	})

	t.Run("language: the browser's preference picks the default", func(t *testing.T) {
		p := openShell(t, b, srv, "/trust", browsertest.Languages("ja-JP", "ja", "en"), browsertest.TimeZone("Asia/Tokyo"))
		if got := browsertest.Eval[string](t, p, `document.documentElement.lang`); got != "ja" {
			t.Errorf("lang = %q, want ja for a browser that prefers ja-JP", got)
		}
		if got := text(t, p, "h1"); got != "トラスト センター" {
			t.Errorf("h1 = %q", got)
		}
		if got := text(t, p, "#clock"); !strings.Contains(got, "JST") {
			t.Errorf("clock = %q, want the time in Japan (JST)", got)
		}
		// A page of its own browser context: nothing remembered from the
		// page that chose Japanese, so this proves the preference, not
		// localStorage.
		if got := browsertest.Eval[*string](t, p, `localStorage.getItem("kaigi.lang")`); got != nil {
			t.Errorf("remembered language = %q, want none", *got)
		}

		fr := openShell(t, b, srv, "/signin", browsertest.Languages("fr-FR", "fr"))
		if got := browsertest.Eval[string](t, fr, `document.documentElement.lang`); got != "en" {
			t.Errorf("lang = %q, want the fallback en for a browser that prefers French", got)
		}
	})

	t.Run("phone: navigation behind a menu button", func(t *testing.T) {
		p := openShell(t, b, srv, "/signin", browsertest.Viewport(360, 740))
		if !isDisplayed(t, p, "#menu-button") {
			t.Fatal("no menu button at 360px")
		}
		if isDisplayed(t, p, "#site-nav") {
			t.Error("navigation shown before the menu is opened")
		}
		if w := browsertest.Eval[int](t, p, `document.documentElement.scrollWidth`); w > 360 {
			t.Errorf("page is %dpx wide at a 360px viewport: it scrolls sideways", w)
		}
		p.Screenshot(t, "signin-phone-en")

		p.Do(t, chromedp.Click(chromedp.CSS("#menu-button")))
		if got := browsertest.Eval[string](t, p, `document.getElementById("menu-button").getAttribute("aria-expanded")`); got != "true" {
			t.Errorf("aria-expanded after opening = %q", got)
		}
		if !isDisplayed(t, p, "#site-nav") {
			t.Error("navigation hidden after opening the menu")
		}
		p.Screenshot(t, "menu-open-phone-en")

		// Keyboard: the navigation follows the button; Escape closes it
		// and gives the focus back.
		press(t, p, kb.Tab)
		if got := focused(t, p); got != "a[href=/chat]" {
			t.Errorf("Tab from the open menu button focuses %s, want the first link", got)
		}
		press(t, p, kb.Escape)
		if got := focused(t, p); got != "#menu-button" {
			t.Errorf("focus after Escape on %s, want the menu button", got)
		}
		if isDisplayed(t, p, "#site-nav") {
			t.Error("navigation still shown after Escape")
		}

		// Enter opens it again; following a link closes it.
		press(t, p, kb.Enter)
		if !isDisplayed(t, p, "#site-nav") {
			t.Fatal("Enter on the menu button does not open the navigation")
		}
		p.Do(t, chromedp.Click(chromedp.CSS(`nav a[href="/trust"]`)))
		p.Do(t, chromedp.WaitVisible(chromedp.CSS(`.area h1`)))
		if got := browsertest.Eval[string](t, p, `document.getElementById("menu-button").getAttribute("aria-expanded")`); got != "false" {
			t.Errorf("aria-expanded after following a link = %q", got)
		}
		if isDisplayed(t, p, "#site-nav") {
			t.Error("navigation still shown after following a link")
		}
		p.Screenshot(t, "trust-phone-en")

		// Wide again: the navigation is a sidebar and the button goes.
		p.SetViewport(t, 1280, 800)
		if isDisplayed(t, p, "#menu-button") || !isDisplayed(t, p, "#site-nav") {
			t.Error("at 1280px the menu button should go and the navigation show")
		}
	})

	t.Run("phone in Japanese, dark", func(t *testing.T) {
		p := openShell(t, b, srv, "/signin", browsertest.Viewport(360, 740), browsertest.Languages("ja"),
			browsertest.ColorScheme("dark"), browsertest.TimeZone("Asia/Tokyo"))
		if w := browsertest.Eval[int](t, p, `document.documentElement.scrollWidth`); w > 360 {
			t.Errorf("page is %dpx wide at a 360px viewport", w)
		}
		p.Screenshot(t, "signin-phone-ja-dark")
		p.Do(t, chromedp.Click(chromedp.CSS("#menu-button")))
		p.Screenshot(t, "menu-open-phone-ja-dark")
	})

	t.Run("dark, wide", func(t *testing.T) {
		p := openShell(t, b, srv, "/trust", browsertest.ColorScheme("dark"))
		p.Screenshot(t, "trust-wide-en-dark")
		p.Navigate(t, srv.URL+"/signin")
		waitReady(t, p)
		p.Screenshot(t, "signin-wide-en-dark")
	})

	t.Run("Trusted Types stop HTML strings", func(t *testing.T) {
		p := openShell(t, b, srv, "/signin")
		got := browsertest.Eval[string](t, p, `(() => {
			try { document.querySelector("h1").innerHTML = "<img src=x>"; return "accepted"; }
			catch (e) { return e.name; }
		})()`)
		if got != "TypeError" {
			t.Errorf("assigning an HTML string to innerHTML: %s, want a TypeError from Trusted Types", got)
		}
		// The browser reports the refusal as a policy violation on the
		// console: the same path a real violation takes.
		var reported bool
		for _, m := range p.ConsoleErrors() {
			reported = reported || strings.Contains(m.Text, "TrustedHTML")
		}
		if !reported {
			t.Errorf("no console error for the refused assignment; console: %v", p.ConsoleMessages())
		}
		p.ClearConsole()
	})
}
