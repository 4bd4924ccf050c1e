package app_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/kaigi/kaigi/internal/browsertest"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/identity/mfa/passkey/passkeytest"
	"github.com/kaigi/kaigi/internal/mail/mailtest"
	"github.com/kaigi/kaigi/internal/provider"
)

// TestContractBrowserEarlyDeletion walks a tenant admin through the
// contract section of the admin center in Chromium, from the keyboard.
// An open-ended contract says so and offers nothing to delete; once the
// operator sets an end, the admin sees it coming, and still no early
// deletion is offered. The clock moves past the end; the admin sees the
// state and both countdowns (export window, deletion) with
// the API's dates; asks for the early deletion, reads what it means in a
// dialog whose safe choice has the focus, and gets a code by email; a
// wrong code is refused in the field with the API's words, the right one
// schedules the deletion three days later (the page shows the API's
// date); the operator console shows the deletion and its countdown; the
// admin cancels it and the scheduled date goes back to the contract's.
// Then a confirmed deletion runs to its end, and the operator console
// shows the tenant deleted with a link to its public certificate, which
// the Trust Center explains how to check.
func TestContractBrowserEarlyDeletion(t *testing.T) {
	smtp := mailtest.Start(t, mailtest.Options{Plain: true})
	w, adminKey := passkeyAdmin(t, func(c *config.Config) {
		c.SMTPAddr, c.SMTPFrom, c.SMTPTLS = smtp.Addr, "kaigi@ops.example", "none"
	})
	_, opSignIn := operatorWithPasskey(t, w.s)
	s, tenant := w.s, string(w.tenant.ID)
	// The node's clock reads the real time, so that the browser's "in N
	// days" and the node's dates count from the same day.
	if d := time.Since(s.Clock.Now()); d > 0 {
		s.Clock.Advance(d)
	}
	op := opSignIn()
	admin := newClient(t, s.URL)
	if _, r := admin.passkeySignIn(adminKey, passkeytest.Knobs{}); r.status != 200 {
		t.Fatalf("the admin's sign-in: %d %s", r.status, r.body)
	}
	contract := func() provider.Contract {
		t.Helper()
		var c provider.Contract
		r := admin.do("GET", "/api/v1/admin/contract", nil)
		if r.status != 200 {
			t.Fatalf("the contract: %d %s", r.status, r.body)
		}
		r.json(t, &c)
		return c
	}
	b := browsertest.New(t)
	u := ui{t, b.NewPage(t)}
	setSessionCookie(t, u, s.URL, admin)
	u.p.Navigate(t, s.URL+"/admin")
	u.waitPage("/admin", "Admin center")
	// The section is a tab of the admin center, reached from the keyboard.
	u.focus(`.tabs a[href="/admin/contract"]`)
	u.press(kb.Enter)
	u.waitPage("/admin/contract", "Admin center")
	u.waitUntil("the contract", `document.querySelector("#contract-state")`)
	refresh := func() {
		t.Helper()
		before := eval[string](u, `document.querySelector("#contract-facts").textContent`)
		u.focus("#contract-refresh")
		u.press(kb.Enter)
		u.waitUntil("the contract again", `document.querySelector("#contract-facts").textContent !== `+js(before))
	}

	// Open-ended: no end, no countdown, nothing to delete.
	if got := u.text("#contract-state"); got != "Active" || !strings.Contains(u.text("#contract-open-ended"), "open-ended") ||
		eval[int](u, `document.querySelectorAll("#contract-countdowns, #contract-delete-early").length`) != 0 {
		t.Fatalf("an open-ended contract shows %q", u.text("#contract-panel"))
	}
	u.shot("contract-open-ended")

	// The operator sets an end: the admin sees it coming.
	end := s.Clock.Now().Add(time.Hour).Truncate(time.Second)
	if r := op.do("PUT", "/api/v1/operator/tenants/"+tenant+"/contract", map[string]any{"end": end}); r.status != 200 {
		t.Fatalf("set the end: %d %s", r.status, r.body)
	}
	refresh()
	c := contract()
	if got := u.text("#contract-state"); got != "Active" || c.State != provider.ContractActive {
		t.Fatalf("before the end the state shows %q, the API %s", got, c.State)
	}
	contractCountdown(t, u, "#contract-ends", c.End, "The contract ends %[2]s (%[1]s).")
	if eval[int](u, `document.querySelectorAll("#contract-delete-early").length`) != 0 || !strings.Contains(u.text("#contract-early-later"), "Once the contract has ended") {
		t.Fatal("an early deletion is offered before the contract's end")
	}

	// The clock moves past the end.
	s.Clock.Advance(2 * time.Hour)
	op = opSignIn()
	c = contract()
	if c.State != provider.ContractEnded || !c.End.Equal(end) || c.DisableAt.IsZero() || c.DeleteAt.IsZero() || c.Deletion != "" {
		t.Fatalf("the contract the test expects: %+v", c)
	}
	refresh()
	if got, text := eval[string](u, `document.querySelector("#contract-state").dataset.state`), u.text("#contract-state"); got != "ended" || text != "Ended: read-only" {
		t.Fatalf("the state shows %q (%s)", text, got)
	}
	if got := eval[string](u, `document.querySelector("#contract-end time").dateTime`); !contractSameTime(t, got, end) {
		t.Fatalf("the end shows %s, the API %s", got, end)
	}
	contractCountdown(t, u, "#contract-export-closes", c.DisableAt, "Export window closes %[2]s (%[1]s).")
	contractCountdown(t, u, "#contract-deleted-on", c.DeleteAt, "Data will be deleted on %[1]s (%[2]s)")
	if eval[string](u, `document.querySelector("#contract-export-link").getAttribute("href")`) != "/admin/export" {
		t.Fatal("no link to the export")
	}
	u.language("ja")
	u.waitUntil("the countdowns in Japanese", `document.querySelector("#contract-export-closes").textContent.includes("エクスポート期間は") && document.querySelector("#contract-export-closes").textContent.includes("日後")`)
	u.shotBoth("contract-ended-ja")
	u.language("en")
	u.waitUntil("the countdowns in English", `document.querySelector("#contract-export-closes").textContent.includes("Export window closes")`)
	u.shotBoth("contract-ended-en")

	// The early deletion: the consequences first, the safe choice focused.
	u.focus("#contract-delete-early")
	u.press(kb.Enter)
	u.waitUntil("the dialog", `document.querySelector("dialog#contract-confirm[open]")`)
	if got := u.focused(); got != "button:Cancel" {
		t.Fatalf("the dialog opens with the focus on %s, not on Cancel", got)
	}
	if got := u.text("dialog#contract-confirm"); !strings.Contains(got, "cannot be undone") || !strings.Contains(got, "three days") {
		t.Fatalf("the dialog says %q", got)
	}
	u.shot("contract-confirm")
	u.press(kb.Tab)
	if got := u.focused(); got != "#contract-confirm-submit" {
		t.Fatalf("Tab from Cancel reaches %s", got)
	}
	u.press(kb.Enter)
	u.waitUntil("the code field, focused", `document.activeElement && document.activeElement.id === "contract-code"`)
	u.waitUntil("the status", `document.querySelector("#contract-panel [role=status]").textContent.includes("confirmation code is on its way")`)
	code := contractCode(t, smtp, "admin@acme.example", 1)

	// A wrong code is refused in the field, with the API's words.
	u.typeText("WRONG0CODE") // O and 0 are not in the codes' alphabet
	u.press(kb.Enter)
	u.waitUntil("the refusal", `document.querySelector("#contract-code[aria-invalid=true]") && document.querySelector("#contract-code-error").textContent.includes("not right")`)
	if got := u.focused(); got != "#contract-code" {
		t.Fatalf("after the refusal the focus is on %s", got)
	}
	u.expectRefused("400")
	u.shot("contract-code-refused")

	// The right one schedules the deletion three days later.
	eval[bool](u, `(document.querySelector("#contract-code").value = "", true)`)
	u.typeText(code)
	u.press(kb.Enter)
	u.waitUntil("the scheduled deletion", `document.activeElement && document.activeElement.id === "contract-scheduled-heading"`)
	c = contract()
	if c.Deletion != provider.DeletionScheduled || !c.DeleteAt.Equal(s.Clock.Now().Add(provider.AcceleratedDelay)) {
		t.Fatalf("the API after the confirmation: %+v", c)
	}
	// The early deletion's moment is shown to the minute: the day, the
	// date, the time, the zone.
	contractCountdown(t, u, "#contract-deleted-on", c.DeleteAt, "Data will be deleted on %[3]s, %[1]s, ", "UTC (%[2]s), by the early deletion an admin asked for.")
	if got := u.text("#contract-deleted-on"); !strings.Contains(got, c.DeleteAt.UTC().Format(":04")) {
		t.Fatalf("the early deletion's time is not shown: %q", got)
	}
	u.waitUntil("the status", `document.querySelector("#contract-panel [role=status]").textContent.includes("scheduled for")`)
	u.shotBoth("contract-scheduled")

	// The operator sees it, with its countdown.
	o := ui{t, b.NewPage(t)}
	setSessionCookie(t, o, s.URL, op)
	o.p.Navigate(t, s.URL+"/operator")
	o.waitPage("/operator", "Operator console")
	cell := `#operator-tenants-table tr[data-tenant=` + js(tenant) + `] [data-figure=contract]`
	o.waitUntil("the tenant's contract", `document.querySelector(`+js(cell)+`) && document.querySelector(`+js(cell)+`).dataset.state`)
	if got := eval[string](o, `document.querySelector(`+js(cell)+`).dataset.deletion`); got != "scheduled" || !strings.Contains(o.text(cell), "Deletion scheduled") {
		t.Fatalf("the operator's contract cell: %q (%s)", o.text(cell), got)
	}
	if got := eval[string](o, `document.querySelector(`+js(cell+" .contract-delete-at")+`).dataset.date`); !contractSameTime(t, got, c.DeleteAt) {
		t.Fatalf("the operator's countdown is to %s, the API's %s", got, c.DeleteAt)
	}
	o.shot("contract-operator-scheduled")
	o.p.ExpectNoConsoleErrors(t)
	// The console polls; it is closed while the clock jumps days ahead,
	// past the operator's session.
	o.p.Navigate(t, "about:blank")

	// The admin cancels it: the date is the contract's again.
	u.focus("#contract-cancel-deletion")
	u.press(kb.Enter)
	u.waitUntil("the deletion cancelled", `document.querySelector("#contract-delete-early") && document.activeElement && document.activeElement.id === "contract-early-heading"`)
	u.waitUntil("the status", `document.querySelector("#contract-panel [role=status]").textContent.includes("cancelled")`)
	c = contract()
	if c.Deletion != "" || !c.DeleteAt.Equal(end.Add(provider.DeleteAfter)) {
		t.Fatalf("the API after the cancellation: %+v", c)
	}
	if _, found, err := s.Deletions.Of(t.Context(), w.tenant.ID); err != nil || found {
		t.Fatalf("a deletion is left after the cancellation (%v)", err)
	}
	contractCountdown(t, u, "#contract-deleted-on", c.DeleteAt, "Data will be deleted on %[1]s (%[2]s)")
	if n := eval[int](u, `document.querySelectorAll("#contract-scheduled-heading, #contract-cancel-deletion").length`); n != 0 {
		t.Fatal("the page still offers to cancel a deletion that is gone")
	}
	u.shot("contract-cancelled")
	u.p.ExpectNoConsoleErrors(t)

	// A deletion asked for and confirmed through the API runs three days
	// later; the operator then sees the tenant deleted, with its certificate.
	if r := admin.do("POST", "/api/v1/admin/deletion", nil); r.status != 202 {
		t.Fatalf("ask again: %d %s", r.status, r.body)
	}
	if r := admin.do("POST", "/api/v1/admin/deletion/confirm", map[string]string{"code": contractCode(t, smtp, "admin@acme.example", 2)}); r.status != 200 {
		t.Fatalf("confirm again: %d %s", r.status, r.body)
	}
	s.Clock.Advance(provider.AcceleratedDelay + time.Minute)
	// The node's own sweep (every minute) may be first: either starts it.
	if _, err := s.Deletions.Sweep(t.Context()); err != nil {
		t.Fatalf("the sweep: %v", err)
	}
	waitDeletion(t, s, w.tenant.ID)
	op = opSignIn()
	setSessionCookie(t, o, s.URL, op)
	o.p.Navigate(t, s.URL+"/operator")
	o.waitPage("/operator", "Operator console")
	row := `#operator-tenants-table tr[data-tenant=` + js(tenant) + `]`
	o.waitUntil("the deleted tenant", `document.querySelector(`+js(row+" a.contract-certificate")+`)`)
	if got := o.text(row + " [data-figure=contract]"); !strings.Contains(got, "Deleted") || !strings.Contains(got, "Deletion certificate") {
		t.Fatalf("the deleted tenant's contract cell: %q", got)
	}
	href := eval[string](o, `document.querySelector(`+js(row+" a.contract-certificate")+`).getAttribute("href")`)
	if href != "/api/v1/trust/deletions/"+tenant {
		t.Fatalf("the certificate link: %q", href)
	}
	if got := eval[string](o, `fetch(`+js(href)+`).then(r => r.ok ? r.json() : {}).then(c => c.kind + " " + c.tenant + " " + c.reason)`); got != provider.CertificateKind+" "+tenant+" "+provider.ReasonCustomerRequest {
		t.Fatalf("the linked certificate: %q", got)
	}
	o.shot("contract-operator-deleted")
	o.p.ExpectNoConsoleErrors(t)

	// The Trust Center says where certificates are and how to check them.
	o.p.Navigate(t, s.URL+"/trust/data")
	o.waitPage("/trust/data", "Trust Center")
	o.waitUntil("the certificate's explanation", `document.querySelector("#trust-deletion-certificate #trust-certificate-verify")`)
	if got := o.text("#trust-deletion-certificate"); !strings.Contains(got, "/api/v1/trust/deletions/{tenant id}") ||
		!strings.Contains(got, "openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in cert.json -sigfile cert.sig") ||
		!strings.Contains(got, s.URL+"/api/v1/trust/deletions/$TENANT/signature") {
		t.Fatalf("the Trust Center says %q", got)
	}
	o.shot("contract-trust-certificate")
	o.p.ExpectNoConsoleErrors(t)
}

// contractCountdown checks a countdown line of the contract section: the
// moment it carries is the API's, and it reads each of formats, given
// the date as the page formats dates in en-US and UTC (%[1]s, "Feb 24,
// 2027"), the calendar days from the browser's today to it (%[2]s, "in 88
// days", "tomorrow", "today") and the weekday (%[3]s, "Wed").
func contractCountdown(t *testing.T, u ui, sel string, want time.Time, formats ...string) {
	t.Helper()
	if got := eval[string](u, `document.querySelector(`+js(sel)+`).dataset.date`); !contractSameTime(t, got, want) {
		t.Fatalf("%s counts down to %s, the API to %s", sel, got, want)
	}
	date, weekday := want.UTC().Format("Jan 2, 2006"), want.UTC().Format("Mon")
	// The browser's today, read on both sides of the text: midnight may pass.
	var days []string
	text := ""
	for i := range 2 {
		now, err := time.Parse(time.RFC3339, eval[string](u, `new Date().toISOString()`))
		if err != nil {
			t.Fatal(err)
		}
		days = append(days, contractRelativeDays(now, want))
		if i == 0 {
			text = u.text(sel)
		}
	}
	if !slices.ContainsFunc(days, func(d string) bool {
		for _, f := range formats {
			if !strings.Contains(text, fmt.Sprintf(f, date, d, weekday)) {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("%s reads %q, want %q", sel, text, fmt.Sprintf(strings.Join(formats, " … "), date, days[0], weekday))
	}
}

// contractRelativeDays says, as Intl.RelativeTimeFormat does in en-US with
// numeric "auto", how many calendar days (UTC) lie from now to at.
func contractRelativeDays(now, at time.Time) string {
	day := func(t time.Time) time.Time {
		y, m, d := t.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	switch n := int(day(at).Sub(day(now)).Hours() / 24); n {
	case 0:
		return "today"
	case 1:
		return "tomorrow"
	default:
		return fmt.Sprintf("in %d days", n)
	}
}

func contractSameTime(t *testing.T, iso string, want time.Time) bool {
	t.Helper()
	got, err := time.Parse(time.RFC3339Nano, iso)
	return err == nil && got.Equal(want.Truncate(time.Millisecond))
}

// contractCode waits for the nth deletion confirmation code emailed to to.
func contractCode(t *testing.T, smtp *mailtest.Server, to string, nth int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		var codes []string
		for _, m := range smtp.Inbox() {
			if !slices.Contains(m.To, to) {
				continue
			}
			if _, rest, ok := strings.Cut(string(m.Body), "Your confirmation code: "); ok {
				codes = append(codes, strings.TrimSpace(strings.SplitN(rest, "\n", 2)[0]))
			}
		}
		if len(codes) >= nth {
			return codes[nth-1]
		}
		if _, err := smtp.Wait(ctx, len(smtp.Inbox())+1); err != nil {
			t.Fatalf("no confirmation code %d for %s", nth, to)
		}
	}
}
