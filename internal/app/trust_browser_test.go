package app_test

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/kaigi/kaigi/internal/browsertest"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/identity/mfa/passkey/passkeytest"
	"github.com/kaigi/kaigi/internal/provider"
)

// trustPages are the Trust Center's pages (TRUST_PATHS in trust.js).
var trustPages = []string{"/trust", "/trust/security", "/trust/data", "/trust/commitments", "/trust/compliance",
	"/trust/subprocessors", "/trust/transparency", "/trust/government", "/trust/status"}

// TestTrustCenterBrowserFiguresMatchTheAPI loads every Trust Center page in
// Chromium without signing in, and checks that each figure it shows — the
// subprocessors, those touching customer data, the announced changes, the
// controls, the transparency report's figures and ledger hash, the service
// status — is what the public API answers; that every page has its
// heading and marks its tab, reads in Japanese too, and is reached from the
// keyboard. Then a signed-in tenant admin records an objection on the
// subprocessors page, from the keyboard, and the operator sees it.
func TestTrustCenterBrowserFiguresMatchTheAPI(t *testing.T) {
	w, adminKey := passkeyAdmin(t)
	op, opSignIn := operatorWithPasskey(t, w.s)
	for _, b := range []map[string]any{subprocessor("Metrics GmbH", false, time.Time{}), subprocessor("Support Desk Inc", true, time.Time{}),
		subprocessor("Hosting AG", true, time.Time{})} {
		if r := op.do("POST", "/api/v1/operator/subprocessors", b); r.status != 201 {
			t.Fatalf("add: %d %s", r.status, r.body)
		}
	}
	// A request received now: once the clock has moved 183 days on, its
	// half-year is the last complete one, which the report shows by default.
	if r := op.do("POST", "/api/v1/operator/legal-requests", map[string]any{"received": w.s.Clock.Now().Add(-time.Hour), "country": "JP", "instrument": "subpoena",
		"compulsory": true, "customer_type": "enterprise", "asked": []string{"non_content"},
		"details": map[string]any{"agency": "Agency JP", "accounts": []string{"a@acme.example", "b@acme.example", "c@acme.example"}}}); r.status != 201 {
		t.Fatalf("legal request: %d %s", r.status, r.body)
	}
	w.s.Clock.Advance(183 * 24 * time.Hour)
	op = opSignIn()
	var backup provider.Change
	r := op.do("POST", "/api/v1/operator/subprocessors", subprocessor("Backup SA", false, time.Time{}))
	if r.status != 201 {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	r.json(t, &backup)

	// What the public API says.
	anon := newClient(t, w.s.URL)
	reg := registry(t, w.s)
	if len(reg.Subprocessors) != 3 || reg.CustomerData != 2 || len(reg.Upcoming) != 1 {
		t.Fatalf("the registry the test expects: %+v", reg)
	}
	var controls []provider.Control
	anon.do("GET", "/api/v1/trust/controls", nil).json(t, &controls)
	var status httpapi.ServiceStatus
	anon.do("GET", "/api/v1/trust/status", nil).json(t, &status)
	var report provider.Report
	if r := anon.do("GET", "/api/v1/trust/transparency-report", nil); r.status != 200 {
		t.Fatalf("report: %d %s", r.status, r.body)
	} else {
		r.json(t, &report)
	}

	b := browsertest.New(t)
	u := ui{t, b.NewPage(t)}
	figure := func(name string) string {
		t.Helper()
		u.waitUntil("the figure "+name, `document.querySelector('[data-figure=`+js(name)+`][data-loaded=true]')`)
		return u.text(`[data-figure=` + js(name) + `]`)
	}
	wantFigure := func(name, want string) {
		t.Helper()
		if got := figure(name); got != want {
			t.Errorf("%s: the page shows %q, the API %q", name, got, want)
		}
	}
	count := func(sel string) int {
		t.Helper()
		return eval[int](u, `document.querySelectorAll(`+js(sel)+`).length`)
	}
	for _, path := range trustPages {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			u := ui{t, u.p}
			u.p.Navigate(t, w.s.URL+path)
			u.waitPage(path, "Trust Center")
			u.waitUntil("the page's tab marked", `document.querySelector('.trust-tabs a[aria-current=page]') && new URL(document.querySelector('.trust-tabs a[aria-current=page]').href).pathname === `+js(path))
			u.waitUntil("the page's body", `document.querySelector('[data-trust-page=`+js(path)+`] .panel h2')`)
			switch path {
			case "/trust":
				wantFigure("subprocessors", strconv.Itoa(len(reg.Subprocessors)))
				wantFigure("customer-data-subprocessors", strconv.Itoa(reg.CustomerData))
				wantFigure("upcoming-changes", strconv.Itoa(len(reg.Upcoming)))
				wantFigure("controls", strconv.Itoa(len(controls)))
				wantFigure("status", "Operational")
				if got := u.text(`[data-figure=status]`); status.Status != "operational" || eval[string](u, `document.querySelector('[data-figure=status]').dataset.status`) != status.Status {
					t.Errorf("status: the page shows %q, the API %q", got, status.Status)
				}
				if n := count(`.trust-links a[href^="/trust/"]`); n != len(trustPages)-1 {
					t.Errorf("the overview links %d pages, want %d", n, len(trustPages)-1)
				}
			case "/trust/security":
				if count(`a[href="/.well-known/security.txt"]`) == 0 {
					t.Error("no link to security.txt")
				}
			case "/trust/data":
				if n := count(`#trust-lifecycle li`); n != 4 {
					t.Errorf("the lifecycle has %d steps", n)
				}
				if !strings.Contains(u.text(`[data-trust-page="/trust/data"]`), "90 days") || !strings.Contains(u.text(`[data-trust-page="/trust/data"]`), "day 180") {
					t.Error("the lifecycle does not name its 90 and 180 days")
				}
			case "/trust/compliance":
				wantFigure("controls", strconv.Itoa(len(controls)))
				u.waitUntil("the controls table", `document.querySelector('[data-control]')`)
				if n := count(`tr[data-control]`); n != len(controls) {
					t.Errorf("the table has %d controls, the API %d", n, len(controls))
				}
				for _, c := range controls {
					row := `tr[data-control="` + c.Framework + " " + c.ID + `"]` // no quotes in control ids
					if got := u.text(row); !strings.Contains(got, c.Feature) || !strings.Contains(got, c.Tests[0]) {
						t.Errorf("%s %s shows %q", c.Framework, c.ID, got)
					}
				}
			case "/trust/subprocessors":
				wantFigure("subprocessors", strconv.Itoa(len(reg.Subprocessors)))
				wantFigure("customer-data-subprocessors", strconv.Itoa(reg.CustomerData))
				wantFigure("upcoming-changes", strconv.Itoa(len(reg.Upcoming)))
				u.waitUntil("the list", `document.querySelector('tr[data-subprocessor]')`)
				if n := count(`tr[data-subprocessor]`); n != len(reg.Subprocessors) {
					t.Errorf("the list has %d rows, the API %d", n, len(reg.Subprocessors))
				}
				for _, s := range reg.Subprocessors {
					got := u.text(`tr[data-subprocessor=` + js(s.ID) + `]`)
					if !strings.Contains(got, s.Name) || !strings.Contains(got, s.Location) || strings.Contains(got, "Yes") != s.CustomerData {
						t.Errorf("%s shows %q", s.Name, got)
					}
				}
				if n := count(`li[data-change]`); n != len(reg.Upcoming) || !strings.Contains(u.text(`#change-`+backup.ID), "Backup SA") {
					t.Errorf("announced changes: %d shown, the API %d", n, len(reg.Upcoming))
				}
				if count(`#trust-feeds a[href="/api/v1/trust/subprocessors/feed.json"]`) != 1 || count(`#trust-feeds a[href="/api/v1/trust/subprocessors/feed.atom"]`) != 1 {
					t.Error("the feeds are not linked")
				}
				if count(`#trust-notices-panel`) != 0 {
					t.Error("someone not signed in sees a tenant's notices")
				}
			case "/trust/transparency":
				wantFigure("report-period", report.Period)
				wantFigure("report-requests", strconv.Itoa(report.All.Requests))
				wantFigure("report-accounts", strconv.Itoa(report.All.Accounts))
				wantFigure("report-ledger-hash", report.LedgerHash)
				if report.All.Requests != 1 || report.All.Accounts != 3 {
					t.Errorf("the report the test expects: %+v", report.All)
				}
				for _, f := range []struct {
					name  string
					share float64
				}{{"report-share-rejected", report.All.ShareRejected}, {"report-share-no-data", report.All.ShareNoData},
					{"report-share-non-content", report.All.ShareNonContent}, {"report-share-content", report.All.ShareContent}} {
					if got, want := figure(f.name), fmt.Sprintf("%g%%", f.share*100); got != want {
						t.Errorf("%s: the page shows %q, the API %q", f.name, got, want)
					}
				}
				if count(`#trust-report-links a[href*="format=csv"]`) != 1 || count(`#trust-report-links a[href*="format=html"]`) != 1 {
					t.Error("the report's CSV and HTML are not linked")
				}
			case "/trust/status":
				u.waitUntil("the status", `document.querySelector('#trust-status [data-figure=status]')`)
				if got := eval[string](u, `document.querySelector('#trust-status [data-figure=status]').dataset.status`); got != status.Status {
					t.Errorf("status: the page %q, the API %q", got, status.Status)
				}
				if n := count(`li[data-component]`); n != len(status.Components) {
					t.Errorf("components: %d shown, the API %d", n, len(status.Components))
				}
			}
			u.shot("trust" + strings.ReplaceAll(strings.TrimPrefix(path, "/trust"), "/", "-"))
			u.p.ExpectNoConsoleErrors(t)
		})
	}

	// In Japanese, and from the keyboard: the tabs are links in the tab order.
	u.p.Navigate(t, w.s.URL+"/trust")
	u.waitPage("/trust", "Trust Center")
	u.language("ja")
	u.waitUntil("the heading in Japanese", `document.querySelector("h1").textContent.trim() === "トラスト センター"`)
	u.waitUntil("the figures labelled in Japanese", `document.querySelector(".trust-figure-label").textContent.includes("再委託先")`)
	u.focus(`.trust-tabs a[href="/trust/subprocessors"]`)
	u.press(kb.Enter)
	u.waitPage("/trust/subprocessors", "トラスト センター")
	wantFigure("subprocessors", strconv.Itoa(len(reg.Subprocessors)))
	u.shotBoth("trust-subprocessors-ja")
	u.language("en")
	u.shotBoth("trust-subprocessors-en")

	// A tenant admin, signed in, records an objection from the keyboard.
	admin := newClient(t, w.s.URL)
	if _, r := admin.passkeySignIn(adminKey, passkeytest.Knobs{}); r.status != 200 {
		t.Fatalf("the admin's sign-in: %d %s", r.status, r.body)
	}
	a := ui{t, b.NewPage(t)}
	setSessionCookie(t, a, w.s.URL, admin)
	a.p.Navigate(t, w.s.URL+"/trust/subprocessors")
	a.waitPage("/trust/subprocessors", "Trust Center")
	item := `#trust-notices li[data-notice=` + js(backup.ID) + `]`
	a.waitUntil("the admin's notices", `document.querySelector(`+js(item)+`)`)
	if n := eval[int](a, `document.querySelectorAll("#trust-notices li[data-notice]").length`); n != len(reg.Changes) {
		t.Errorf("the admin sees %d notices, the API has %d changes", n, len(reg.Changes))
	}
	a.focus(item + " textarea")
	a.typeText("Backups must stay in Japan.")
	a.press(kb.Tab)
	a.press(kb.Enter)
	a.waitUntil("the objection shown", `document.querySelector(`+js(item+" [data-objection]")+`)`)
	var view provider.OperatorView
	op.do("GET", "/api/v1/operator/subprocessors", nil).json(t, &view)
	if len(view.Objections) != 1 || view.Objections[0].Change != backup.ID || view.Objections[0].Reason != "Backups must stay in Japan." {
		t.Fatalf("the operator sees %+v", view.Objections)
	}
	a.shot("trust-notices-admin")
	a.p.ExpectNoConsoleErrors(t)
}

// setSessionCookie gives the browser page the session of client c.
func setSessionCookie(t *testing.T, u ui, origin string, c *client) {
	t.Helper()
	base, err := url.Parse(c.base)
	if err != nil {
		t.Fatal(err)
	}
	var token string
	for _, ck := range c.http.Jar.Cookies(base) {
		if ck.Name == httpapi.SessionCookie(false) {
			token = ck.Value
		}
	}
	if token == "" {
		t.Fatal("the client has no session cookie")
	}
	ctx, cancel := u.p.TimeoutContext()
	defer cancel()
	yes := true
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
		Name: httpapi.SessionCookie(false), Value: token, URL: origin + "/", Path: "/", HTTPOnly: &yes, SameSite: network.CookieSameSiteLax,
	}); err != nil {
		t.Fatalf("set the session cookie: %v", err)
	}
}
