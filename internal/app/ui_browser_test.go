package app_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/browsertest"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/principal"
)

// The identity UI end to end, in Chromium against a whole node: the first
// admin accepts the invitation, signs in, is made to set up an
// authenticator app (the code computed by oathtool at the node's clock),
// lands signed in, invites a member who accepts in another browser, edits
// the conditional access policies and tries them with "what if", reads the
// sign-in log, adds a passkey and recovery codes in the security settings,
// signs out, and signs back in with the passkey. Mostly with the keyboard;
// screenshots of every step, wide and at 360 pixels, in English and
// Japanese; no console errors but the API's refusals the test provokes.

// startUINode starts a node whose public URL is http://localhost:<port>,
// so that WebAuthn accepts it as a relying party (an IP address cannot be
// one); the browser opens that URL.
func startUINode(t *testing.T) *apptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return apptest.Start(t, apptest.Options{Config: func(c *config.Config) {
		c.Addr = "127.0.0.1:" + port
		c.PublicURL = "http://localhost:" + port
	}})
}

// ui drives one page of the app.
type ui struct {
	t *testing.T
	p *browsertest.Page
}

// js quotes a string for a JavaScript expression.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// eval runs a JavaScript expression in the page.
func eval[T any](u ui, expr string) T {
	u.t.Helper()
	return browsertest.Eval[T](u.t, u.p, expr)
}

// waitUntil waits until the expression is true; on timeout it fails with
// what it waited for and what the page shows.
func (u ui) waitUntil(what, expr string) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.t.Context(), 15*time.Second)
	defer cancel()
	for {
		if eval[bool](u, `!!(`+expr+`)`) {
			return
		}
		if ctx.Err() != nil {
			state := eval[string](u, `location.pathname + location.search + " | h1: " + ((document.querySelector("h1") || {}).textContent || "") +
				" | alerts: " + [...document.querySelectorAll('[role="alert"]')].map(a => a.textContent).join(" / ")`)
			u.t.Fatalf("waiting for %s: not within 15s; the page shows %s", what, state)
		}
		time.Sleep(40 * time.Millisecond)
	}
}

// waitPage waits for a page of the app with its heading.
func (u ui) waitPage(path, heading string) {
	u.t.Helper()
	u.waitUntil(path+" with heading "+heading, `document.documentElement.dataset.state === "ready" && location.pathname === `+js(path)+
		` && document.querySelector("h1") && document.querySelector("h1").textContent.trim() === `+js(heading))
}

// text returns the trimmed text of the first element matching sel, or "".
func (u ui) text(sel string) string {
	u.t.Helper()
	return eval[string](u, `((document.querySelector(`+js(sel)+`) || {}).textContent || "").trim()`)
}

func (u ui) focus(sel string) {
	u.t.Helper()
	u.p.Do(u.t, chromedp.Focus(chromedp.CSS(sel)))
}

// focusButton focuses the button whose label is label, within scope.
func (u ui) focusButton(scope, label string) {
	u.t.Helper()
	ok := eval[bool](u, `(() => {
		const b = [...document.querySelectorAll(`+js(scope+" button")+`)].find(b => b.textContent.trim() === `+js(label)+`);
		if (b) b.focus();
		return !!b && document.activeElement === b;
	})()`)
	if !ok {
		u.t.Fatalf("no button %q in %s", label, scope)
	}
}

// typeText types text into the focused element, key by key.
func (u ui) typeText(s string) {
	u.t.Helper()
	u.p.Do(u.t, chromedp.KeyEvent(s))
}

func (u ui) press(key string) {
	u.t.Helper()
	u.p.Do(u.t, chromedp.KeyEvent(key))
}

// focused describes the focused element: #id, or the tag and its text.
func (u ui) focused() string {
	u.t.Helper()
	return eval[string](u, `(() => {
		const e = document.activeElement;
		if (!e || e === document.body) return "body";
		return e.id ? "#" + e.id : e.tagName.toLowerCase() + ":" + e.textContent.trim();
	})()`)
}

// check ticks (or unticks) the checkbox or radio button labelled label in
// the fieldset whose legend is legend, within scope.
func (u ui) check(scope, legend, label string, on bool) {
	u.t.Helper()
	ok := eval[bool](u, `(() => {
		const fs = [...document.querySelectorAll(`+js(scope+" fieldset")+`)].find(f => f.querySelector("legend").textContent.trim() === `+js(legend)+`);
		const l = fs && [...fs.querySelectorAll("label")].find(l => l.querySelector(".check-label").textContent.trim() === `+js(label)+`);
		const i = l && document.getElementById(l.htmlFor);
		if (!i) return false;
		if (i.checked !== `+map[bool]string{true: "true", false: "false"}[on]+`) i.click();
		return true;
	})()`)
	if !ok {
		u.t.Fatalf("no choice %q under %q in %s", label, legend, scope)
	}
}

// shot takes a screenshot of the whole page and checks that it does not
// scroll sideways. The page is scrolled to the top first: the sticky header
// would otherwise appear where the page was scrolled to.
func (u ui) shot(name string) {
	u.t.Helper()
	eval[bool](u, `(window.scrollTo(0, 0), true)`)
	if w, vw := eval[int](u, `document.documentElement.scrollWidth`), eval[int](u, `window.innerWidth`); w > vw {
		u.t.Errorf("%s: the page is %dpx wide in a %dpx viewport: it scrolls sideways", name, w, vw)
	}
	u.p.Screenshot(u.t, name)
}

// shotBoth takes the screenshot wide and at 360 pixels.
func (u ui) shotBoth(name string) {
	u.t.Helper()
	u.shot(name + "-wide")
	u.p.SetViewport(u.t, 360, 780)
	u.shot(name + "-phone")
	u.p.SetViewport(u.t, 1280, 800)
}

// language switches the language with the picker, by keyboard.
func (u ui) language(code string) {
	u.t.Helper()
	u.focus("#lang-select")
	if code == "ja" {
		u.press(kb.ArrowDown)
	} else {
		u.press(kb.ArrowUp)
	}
	u.waitUntil("the page in "+code, `document.documentElement.lang === `+js(code))
}

// allLanguages takes the screenshot wide and at 360 pixels, in English and
// in Japanese, and returns to English.
func (u ui) allLanguages(name string) {
	u.t.Helper()
	u.shotBoth(name + "-en")
	u.language("ja")
	u.shotBoth(name + "-ja")
	u.language("en")
}

// expectRefused clears the console of the failed load the browser logs for
// an API refusal with status the test provoked, and fails on anything else.
func (u ui) expectRefused(status string) {
	u.t.Helper()
	for _, m := range u.p.ConsoleErrors() {
		if m.Source != "network" || !strings.Contains(m.URL, "/api/v1/") || !strings.Contains(m.Text, "status of "+status) {
			u.t.Errorf("console error: %s", m)
		}
	}
	u.p.ClearConsole()
}

// addAuthenticator gives the page a virtual passkey authenticator that
// verifies its user and answers at once.
func addAuthenticator(t *testing.T, p *browsertest.Page) {
	t.Helper()
	ctx, cancel := p.TimeoutContext()
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("enable WebAuthn: %v", err)
	}
	if _, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol:                    webauthn.AuthenticatorProtocolCtap2,
		Transport:                   webauthn.AuthenticatorTransportInternal,
		HasResidentKey:              true,
		HasUserVerification:         true,
		IsUserVerified:              true,
		AutomaticPresenceSimulation: true,
	}}); err != nil {
		t.Fatalf("add a virtual authenticator: %v", err)
	}
}

func TestUIIdentityInBrowser(t *testing.T) {
	s := startUINode(t)
	_, link, err := s.Identity.CreateTenant(t.Context(), principal.Job("test", ""), identity.NewTenant{Name: "Acme Corp", Domain: "acme.example", AdminEmail: "admin@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	base := s.Config.URL()
	b := browsertest.New(t)
	page := b.NewPage(t)
	addAuthenticator(t, page)
	t.Cleanup(func() { page.ExpectNoConsoleErrors(t) })

	// Steps share the page; the first to fail ends the test.
	step := func(name string, fn func(u ui)) {
		t.Helper()
		if !t.Run(name, func(t *testing.T) { fn(ui{t, page}) }) {
			t.FailNow()
		}
	}

	step("the admin accepts the invitation", func(u ui) {
		path := strings.TrimPrefix(link, base)
		if !strings.HasPrefix(path, "/invite#") {
			t.Fatalf("invitation link %q", link)
		}
		u.p.Navigate(u.t, base+path)
		u.waitPage("/invite", "Join acme-corp on Kaigi")
		if loc := eval[string](u, `location.href`); strings.Contains(loc, "token") {
			u.t.Errorf("the token stayed in the address bar: %s", loc)
		}
		u.allLanguages("invite")

		// Keyboard only: name, Tab, a password the API refuses, Enter.
		u.focus("#invite-name")
		u.typeText("Ada Admin")
		u.press(kb.Tab)
		if got := u.focused(); got != "#invite-password" {
			u.t.Fatalf("Tab from the name focuses %s", got)
		}
		u.typeText("password123")
		u.press(kb.Enter)
		u.waitUntil("the refusal", `document.querySelector('[role="alert"]').textContent !== ""`)
		if got := u.text(`[role="alert"]`); !strings.Contains(got, "password") {
			u.t.Errorf("alert for a weak password = %q, want the API's words", got)
		}
		if got := eval[string](u, `document.getElementById("invite-name").value`); got != "Ada Admin" {
			u.t.Errorf("the name was not kept after the refusal: %q", got)
		}
		u.shot("invite-refused-en")
		u.expectRefused("400")

		eval[bool](u, `(document.getElementById("invite-password").value = "", true)`)
		u.focus("#invite-password")
		u.typeText(goodPassword)
		u.press(kb.Enter)
		u.waitPage("/signin", "Sign in to Kaigi")
		if got := u.text(".banner"); !strings.Contains(got, "Your account is ready") {
			u.t.Errorf("banner after accepting = %q", got)
		}
		if got := eval[string](u, `document.getElementById("signin-email").value + " " + document.getElementById("signin-org").value`); got != "admin@acme.example acme-corp" {
			u.t.Errorf("sign-in form filled in with %q, want the invited email and the organisation", got)
		}
	})

	step("sign-in, in both languages and sizes", func(u ui) {
		u.allLanguages("signin")
	})

	var manualKey string
	step("sign-in leads to the authenticator enrolment", func(u ui) {
		u.focus("#signin-password")
		u.typeText(goodPassword)
		u.press(kb.Enter)
		u.waitPage("/settings/security", "Set up two-step verification")
		u.waitUntil("the setup key", `document.getElementById("totp-manual-key")`)
		manualKey = u.text("#totp-manual-key")
		if len(strings.ReplaceAll(manualKey, " ", "")) < 16 || !strings.Contains(manualKey, " ") {
			u.t.Fatalf("manual key %q: want a base32 key in groups", manualKey)
		}
		if !eval[bool](u, `(() => { const i = document.querySelector("img.qr"); return i.complete && i.naturalWidth > 0 && i.alt !== ""; })()`) {
			u.t.Error("the QR code did not load, or has no text alternative")
		}
		if got := eval[string](u, `document.getElementById("totp-code").getAttribute("autocomplete") + " " + document.getElementById("totp-code").inputMode`); got != "one-time-code numeric" {
			u.t.Errorf("code field: autocomplete and inputmode = %q", got)
		}
		u.allLanguages("enrol")
		if again := u.text("#totp-manual-key"); again != manualKey {
			u.t.Errorf("changing the language started the enrolment again: key %q, then %q", manualKey, again)
		}
	})

	step("the first code turns on two-step verification and signs in", func(u ui) {
		code := oathtool(u.t, manualKey, s.Clock.Now())
		u.focus("#totp-code")
		u.typeText(code)
		u.press(kb.Enter)
		u.waitPage("/settings/security", "Security settings")
		if got := u.text(".banner"); !strings.Contains(got, "Two-step verification is on") {
			u.t.Errorf("banner after enrolment = %q", got)
		}
		if got := u.text("#account-name"); got != "Ada Admin" {
			u.t.Errorf("header shows %q, want the person's name", got)
		}
		if nav := eval[[]string](u, `[...document.querySelectorAll("#site-nav a[data-nav]")].filter(a => !a.closest("[hidden]")).map(a => a.getAttribute("href"))`); strings.Join(nav, " ") != "/chat /meetings /admin /compliance /trust" {
			u.t.Errorf("a tenant admin's navigation = %v, want the admin and compliance centers and no operator console", nav)
		}
		u.waitUntil("the factor list", `document.querySelector("#factor-list .item")`)
		if got := u.text("#factor-list"); !strings.Contains(got, "Authenticator app") {
			u.t.Errorf("factors = %q", got)
		}
		u.waitUntil("the session list", `document.querySelector("#session-list .item")`)
		u.shotBoth("security-en")
	})

	step("admin center: people, and an invitation", func(u ui) {
		u.focus(`#site-nav a[href="/admin"]`)
		u.press(kb.Enter)
		u.waitPage("/admin", "Admin center")
		u.waitUntil("the accounts", `document.getElementById("accounts-table")`)
		if got := u.text("#accounts-table"); !strings.Contains(got, "admin@acme.example") || !strings.Contains(got, "You") || !strings.Contains(got, "Tenant admin") {
			u.t.Errorf("accounts = %q", got)
		}

		u.focus("#invite-email")
		u.typeText("mia@acme.example")
		u.press(kb.Enter)
		u.waitUntil("the invitation link", `document.getElementById("invite-link")`)
		invite := u.text("#invite-link")
		if !strings.HasPrefix(invite, base+"/invite#") {
			u.t.Fatalf("invitation link %q", invite)
		}
		u.shotBoth("admin-invited-en")

		// Mia accepts in a browser of her own.
		mia := ui{u.t, b.NewPage(u.t)}
		mia.p.Navigate(u.t, invite)
		mia.waitPage("/invite", "Join acme-corp on Kaigi")
		mia.focus("#invite-name")
		mia.typeText("Mia Member")
		mia.press(kb.Tab)
		mia.typeText(goodPassword)
		mia.press(kb.Enter)
		mia.waitPage("/signin", "Sign in to Kaigi")
		mia.p.ExpectNoConsoleErrors(u.t)

		u.focusButton("#people", "Refresh")
		u.press(kb.Enter)
		u.waitUntil("Mia in the list", `document.getElementById("accounts-table") && document.getElementById("accounts-table").textContent.includes("Mia Member")`)
		row := eval[string](u, `[...document.querySelectorAll("#accounts-table tbody tr")].find(r => r.textContent.includes("Mia Member")).textContent`)
		if !strings.Contains(row, "Member") || !strings.Contains(row, "Active") || !strings.Contains(row, "Deactivate") {
			u.t.Errorf("Mia's row = %q", row)
		}
		u.allLanguages("admin-people")
	})

	step("admin center: sign-in policy", func(u ui) {
		u.focus(`a.tab[href="/admin/policy"]`)
		u.press(kb.Enter)
		u.waitPage("/admin/policy", "Admin center")
		u.waitUntil("the policy form", `document.querySelector('input[name="policy-mfa"]:checked')`)
		if got := eval[string](u, `document.querySelector('input[name="policy-mfa"]:checked').value`); got != "privileged" {
			u.t.Errorf("MFA requirement = %q, want the default privileged", got)
		}
		u.focusButton("#policy", "Save")
		u.press(kb.Enter)
		u.waitUntil("saved", `document.querySelector("#policy .status-message").textContent === "Saved."`)
		u.allLanguages("admin-policy")
	})

	step("admin center: conditional access, self-lockout guard, what if", func(u ui) {
		u.focus(`a.tab[href="/admin/access"]`)
		u.press(kb.Enter)
		u.waitPage("/admin/access", "Admin center")
		u.waitUntil("the policies", `document.getElementById("access-policies")`)

		u.focusButton("#access-locations", "Add location")
		u.press(kb.Enter)
		u.waitUntil("the location form", `document.querySelector("#access-locations form")`)
		u.focus("#access-locations form input")
		u.typeText("Tokyo office")
		u.press(kb.Tab)
		u.typeText("10.0.0.0/8")
		u.press(kb.Tab)
		u.press(" ") // trusted
		u.focusButton("#access-locations form", "Save")
		u.press(kb.Enter)
		u.waitUntil("the location saved", `document.querySelector("#access-locations .item-list") && document.querySelector("#access-locations .item-list").textContent.includes("10.0.0.0/8")`)
		if got := u.text("#access-locations .item-list"); !strings.Contains(got, "Tokyo office") || !strings.Contains(got, "Trusted") {
			u.t.Errorf("named locations = %q", got)
		}

		u.focusButton("#access-policies", "Add policy")
		u.press(kb.Enter)
		u.waitUntil("the policy form", `document.querySelector("#access-policies form")`)
		u.focus("#access-policies form input")
		u.typeText("Block outside office")
		u.check("#access-policies", "State", "Enabled", true)
		u.check("#access-policies", "Exclude sign-ins from", "Tokyo office", true)
		u.check("#access-policies", "Control", "Block access", true)
		u.shot("access-editor-en")
		u.focusButton("#access-policies form", "Save")
		u.press(kb.Enter)
		// The admin works from 127.0.0.1, outside the office: refused.
		u.waitUntil("the lockout refusal", `document.querySelector("#access-policies form [role=alert]").textContent.includes("block your own sign-in")`)
		if got := u.focused(); got != "button:Save anyway" {
			u.t.Errorf("focus after the refusal on %s, want Save anyway", got)
		}
		u.shot("access-lockout-en")
		u.expectRefused("409")
		// Report-only instead: nothing enforced, everything traced.
		u.check("#access-policies", "State", "Report-only", true)
		u.focusButton("#access-policies form", "Save")
		u.press(kb.Enter)
		u.waitUntil("the policy saved", `!document.querySelector("#access-policies form") && document.querySelector("#access-policies .item-list")`)
		if got := u.text("#access-policies .item-list"); !strings.Contains(got, "Block outside office") || !strings.Contains(got, "Report-only") || !strings.Contains(got, "Block access") {
			u.t.Errorf("policies = %q", got)
		}

		// What if Mia signs in from elsewhere, and from the office?
		eval[bool](u, `(() => {
			const sel = document.querySelector("#access-whatif select");
			sel.value = [...sel.options].find(o => o.textContent.includes("Mia")).value;
			return true;
		})()`)
		u.focus(`#access-whatif input[inputmode="decimal"]`)
		u.typeText("203.0.113.9")
		u.press(kb.Enter)
		u.waitUntil("the outcome", `document.querySelector(".whatif-result .whatif-outcome")`)
		if got := u.text(".whatif-result"); !strings.Contains(got, "Blocked") || !strings.Contains(got, "Block outside office") || !strings.Contains(got, "203.0.113.9") {
			u.t.Errorf("what-if from outside = %q", got)
		}
		u.allLanguages("access")
		eval[bool](u, `(document.querySelector('#access-whatif input[inputmode="decimal"]').value = "", true)`)
		u.focus(`#access-whatif input[inputmode="decimal"]`)
		u.typeText("10.1.2.3")
		u.press(kb.Enter)
		u.waitUntil("the second outcome", `document.querySelector(".whatif-result").textContent.includes("10.1.2.3")`)
		if got := u.text(".whatif-outcome"); !strings.Contains(got, "Allowed") {
			u.t.Errorf("what-if from the office = %q", got)
		}
	})

	step("admin center: sign-in log", func(u ui) {
		u.focus(`a.tab[href="/admin/signins"]`)
		u.press(kb.Enter)
		u.waitPage("/admin/signins", "Admin center")
		u.waitUntil("the log", `document.getElementById("signins-table")`)
		if got := u.text("#signins-table"); !strings.Contains(got, "admin@acme.example") || !strings.Contains(got, "Must set up second step") {
			u.t.Errorf("sign-in log = %q", got)
		}
		u.allLanguages("signins")
	})

	step("security settings from the account menu: passkey and recovery codes", func(u ui) {
		u.focus("#account-button")
		u.press(kb.Enter)
		if got := eval[string](u, `document.getElementById("account-button").getAttribute("aria-expanded")`); got != "true" {
			u.t.Fatalf("account menu: aria-expanded = %q after Enter", got)
		}
		u.shot("account-menu")
		u.press(kb.Tab)
		if got := u.focused(); got != "#account-security" {
			u.t.Fatalf("Tab in the account menu focuses %s", got)
		}
		u.press(kb.Enter)
		u.waitPage("/settings/security", "Security settings")
		u.waitUntil("the session list", `document.querySelector("#session-list .item")`)
		if got := u.text("#session-list"); !strings.Contains(got, "Chrome") || !strings.Contains(got, "127.0.0.1") {
			u.t.Errorf("sessions = %q", got)
		}

		// A passkey, confirmed with a new code from the app.
		s.Clock.Advance(30 * time.Second)
		u.waitUntil("the factors", `document.querySelector("#factor-list .item")`)
		u.focusButton("#factors", "Add a passkey")
		u.press(kb.Enter)
		u.waitUntil("the proof dialog", `document.querySelector("dialog[open] input")`)
		u.typeText(oathtool(u.t, manualKey, s.Clock.Now()))
		u.shot("passkey-proof")
		u.press(kb.Enter)
		u.waitUntil("the passkey in the list", `document.getElementById("factor-list").textContent.includes("Passkey")`)

		// Recovery codes, with yet another code.
		s.Clock.Advance(30 * time.Second)
		u.waitUntil("the recovery button", `[...document.querySelectorAll("#recovery button")].some(b => b.textContent.trim() === "Create recovery codes" && !b.hidden)`)
		u.focusButton("#recovery", "Create recovery codes")
		u.press(kb.Enter)
		u.waitUntil("the proof dialog", `document.querySelector("dialog[open] input")`)
		u.typeText(oathtool(u.t, manualKey, s.Clock.Now()))
		u.press(kb.Enter)
		u.waitUntil("the codes", `document.querySelectorAll("#recovery-codes li").length === 10`)
		u.allLanguages("recovery-codes")
		u.focus("#recovery-saved")
		u.press(" ")
		u.focusButton("#recovery", "Done")
		u.press(kb.Enter)
		u.waitUntil("the codes put away", `!document.getElementById("recovery-codes") && document.getElementById("recovery").textContent.includes("You have recovery codes")`)

		// A personal access token: its secret is shown once.
		eval[bool](u, `(document.querySelector("#tokens details").open = true, true)`)
		u.focus("#token-name")
		u.typeText("Backup script")
		u.press(kb.Enter)
		u.waitUntil("the token's secret", `document.getElementById("token-secret")`)
		if got := u.text("#token-secret"); !strings.HasPrefix(got, identity.TokenPrefix) {
			u.t.Errorf("token secret %q", got)
		}
		// The list reloads after the secret is shown.
		u.waitUntil("the token listed", `document.getElementById("token-list").textContent.includes("Backup script")`)
		if got := u.text("#token-list"); !strings.Contains(got, "Backup script") || !strings.Contains(got, "Read") {
			u.t.Errorf("tokens = %q", got)
		}
		u.allLanguages("security-full")
		u.focusButton("#token-list", "Revoke")
		u.press(kb.Enter)
		u.waitUntil("the confirmation", `document.querySelector("dialog[open]")`)
		if got := u.focused(); got != "button:Cancel" {
			u.t.Errorf("the confirmation starts on %s, want Cancel", got)
		}
		u.press(kb.Tab)
		u.press(kb.Enter)
		u.waitUntil("the token revoked", `document.getElementById("token-list").textContent.includes("You have no access tokens")`)
	})

	step("sign out from the account menu", func(u ui) {
		u.focus("#account-button")
		u.press(kb.Enter)
		u.press(kb.Tab)
		u.press(kb.Tab)
		if got := u.focused(); got != "#signout-button" {
			u.t.Fatalf("second Tab in the account menu focuses %s", got)
		}
		u.press(kb.Enter)
		u.waitPage("/signin", "Sign in to Kaigi")
		if got := u.text(".banner"); !strings.Contains(got, "You have signed out") {
			u.t.Errorf("banner after signing out = %q", got)
		}
		if !eval[bool](u, `document.getElementById("account").hidden`) {
			u.t.Error("the account menu is still shown")
		}
		if eval[bool](u, `!document.querySelector('#site-nav a[href="/admin"]').closest("[hidden]")`) {
			u.t.Error("the admin center is still in the navigation")
		}
	})

	step("sign in with the password and a code from the app", func(u ui) {
		u.focus("#signin-email")
		u.typeText("admin@acme.example")
		u.press(kb.Tab)
		u.typeText(goodPassword)
		u.press(kb.Enter)
		u.waitPage("/signin", "Confirm it’s you")
		if got := u.focused(); got != "#signin-heading" {
			u.t.Errorf("focus on the second step: %s, want its heading", got)
		}
		if got := u.text(".auth-card"); !strings.Contains(got, "Use a recovery code instead") || !strings.Contains(got, "Use a passkey") {
			u.t.Errorf("second step offers %q: want the recovery code switch and the passkey", got)
		}
		u.allLanguages("second-factor")
		s.Clock.Advance(30 * time.Second)
		u.focus("#mfa-code")
		u.typeText(oathtool(u.t, manualKey, s.Clock.Now()))
		u.press(kb.Enter)
		u.waitPage("/chat", "Chat")
		if got := u.text("#account-name"); got != "Ada Admin" {
			u.t.Errorf("header after the second step shows %q", got)
		}
		u.focus("#account-button")
		u.press(kb.Enter)
		u.press(kb.Tab)
		u.press(kb.Tab)
		u.press(kb.Enter)
		u.waitPage("/signin", "Sign in to Kaigi")
	})

	step("sign in with the passkey alone", func(u ui) {
		u.focusButton(".auth-card", "Sign in with a passkey")
		u.press(kb.Enter)
		u.waitPage("/chat", "Chat")
		if got := u.text("#account-name"); got != "Ada Admin" {
			u.t.Errorf("header after the passkey sign-in shows %q", got)
		}
		u.shot("chat-after-passkey")
	})

	step("dark colour scheme", func(u ui) {
		ctx, cancel := u.p.TimeoutContext()
		defer cancel()
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		}); err != nil {
			u.t.Fatal(err)
		}
		for _, pg := range []struct{ path, heading, ready string }{
			{"/settings/security", "Security settings", `document.querySelector("#session-list .item")`},
			{"/admin/access", "Admin center", `document.querySelector("#access-policies .item")`},
			{"/admin", "Admin center", `document.getElementById("accounts-table")`},
		} {
			u.p.Navigate(u.t, base+pg.path)
			u.waitPage(pg.path, pg.heading)
			u.waitUntil(pg.path+" loaded", pg.ready)
			u.shotBoth("dark" + strings.ReplaceAll(pg.path, "/", "-"))
		}
	})
}
