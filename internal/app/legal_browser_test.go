package app_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/kaigi/kaigi/internal/browsertest"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/provider"
)

// The law-enforcement request ledger in the operator console, in Chromium:
// the operator enters a subpoena naming two accounts of the customer
// through the intake form (a date in the future is refused with the API's
// words), sees the open request's sealed details read back (the agency,
// contact, accounts named and summary; one audited read, not another after
// each step) and nowhere else on the page, records a redirect, a review that narrows it to non-content, is
// refused a disclosure wider than that (a tampered page) and one of an
// account the request does not name, discloses one named account, downloads
// the signed package from the page (its size and SHA-256 as the API serves
// them), and verifies the ledger's chain. What the page shows is checked
// against the API after each step.
func TestLegalBrowserOperatorWorksARequestThroughTheLedger(t *testing.T) {
	w := lockboxWorld(t)
	op := setUpOperator(t, w.s)
	adminID := mustAccount(t, w.world, "admin@acme.example")

	b := browsertest.New(t)
	oper := openChatAs(t, b, w, op, "/operator")
	oper.waitPage("/operator", "Operator console")
	oper.clickJS("the legal requests tab", `document.querySelector('a.tab[href="/operator/legal"]')`)
	oper.waitPage("/operator/legal", "Operator console")
	oper.waitUntil("the empty ledger and the tenants", `document.querySelector("#legal-none") && document.querySelector("#legal-tenant").options.length === 2`)
	if got := eval[string](oper, `document.querySelector('a.tab[aria-current="page"]').getAttribute("href")`); got != "/operator/legal" {
		t.Errorf("the current tab is %q", got)
	}
	now := time.Now().UTC()
	period := strconv.Itoa(now.Year()) + "-H1"
	if now.Month() > 6 {
		period = strconv.Itoa(now.Year()) + "-H2"
	}
	if got := eval[string](oper, `document.querySelector("#legal-period").value`); got != period {
		t.Errorf("the period picker starts at %q, want %q", got, period)
	}

	// An empty form is refused in the page, field by field.
	oper.focus("#legal-enter")
	oper.press(kb.Enter)
	oper.waitUntil("the form's errors", `document.querySelector("#legal-country").getAttribute("aria-invalid") === "true" && document.activeElement.id === "legal-country"`)
	for _, id := range []string{"legal-agency", "legal-accounts"} {
		if !eval[bool](oper, `document.querySelector("#`+id+`").getAttribute("aria-invalid") === "true"`) {
			t.Errorf("%s is not marked invalid", id)
		}
	}
	if got := oper.text("#legal-asked-error"); got == "" {
		t.Error("no error for the categories asked")
	}

	// The whole form; received tomorrow is refused by the API, in its words.
	oper.setComposer("#legal-country", "jp")
	eval[bool](oper, `(() => { const s = document.querySelector("#legal-instrument"); s.value = "subpoena"; s.dispatchEvent(new Event("change")); return true; })()`)
	oper.clickJS("the compulsory box", `document.querySelector("#legal-compulsory")`)
	eval[bool](oper, `(() => { const s = document.querySelector("#legal-customer"); s.value = "enterprise"; s.dispatchEvent(new Event("change")); return true; })()`)
	eval[bool](oper, `(() => { const s = document.querySelector("#legal-tenant"); s.selectedIndex = 1; s.dispatchEvent(new Event("change")); return true; })()`)
	oper.check("#legal-intake", "Data asked for", "Content", true)
	oper.check("#legal-intake", "Data asked for", "Non-content", true)
	oper.setComposer("#legal-agency", "Tokyo District Public Prosecutors Office")
	oper.setComposer("#legal-contact", "prosecutor@example.jp")
	oper.setComposer("#legal-accounts", "Max@Acme.example\n"+string(w.guestID)+"\n")
	oper.setComposer("#legal-summary", "Records of two accounts in a fraud investigation.")
	tomorrow := time.Now().Add(48 * time.Hour).Format("2006-01-02T15:04")
	oper.setComposer("#legal-received", tomorrow)
	oper.focus("#legal-enter")
	oper.press(kb.Enter)
	oper.waitUntil("the API's refusal next to the form", `!document.querySelector("#legal-intake-error").hidden`)
	if got := oper.text("#legal-intake-error"); !strings.Contains(got, "cannot be received in the future") {
		t.Errorf("the intake's refusal reads %q", got)
	}
	oper.expectRefused("400")
	oper.setComposer("#legal-received", "")
	oper.focus("#legal-enter")
	oper.press(kb.Enter)
	oper.waitUntil("the new request, open", `document.querySelector('#legal-steps[data-status="received"]') && document.querySelector("#legal-table tbody tr[data-status=received]")`)
	if got := eval[string](oper, `document.querySelector("#legal-intake-error").hidden ? "" : document.querySelector("#legal-intake-error").textContent`); got != "" {
		t.Errorf("the intake still shows an error: %q", got)
	}
	var list []provider.LegalRequest
	op.do("GET", "/api/v1/operator/legal-requests?period="+period, nil).json(t, &list)
	if len(list) != 1 {
		t.Fatalf("the ledger holds %d requests: %+v", len(list), list)
	}
	lr := list[0]
	if lr.Country != "JP" || lr.Instrument != "subpoena" || !lr.Compulsory || lr.Customer != "enterprise" || lr.Tenant != w.tenant.ID ||
		lr.Accounts != 2 || strings.Join(lr.Asked, ",") != "content,non_content" || lr.Status != provider.StatusReceived {
		t.Fatalf("the request as entered: %+v", lr)
	}
	row := `#legal-table tbody tr[data-id="` + lr.ID + `"]`
	got := oper.text(row)
	for _, want := range []string{"JP", "Subpoena", "Yes", "Enterprise", "2", "Content, Non-content", "Received"} {
		if !strings.Contains(got, want) {
			t.Errorf("the row lacks %q: %q", want, got)
		}
	}
	// The open request shows its sealed details, read once from the API
	// (and audited in the operator's log); the list and the emptied intake
	// form show none of them.
	oper.waitUntil("the request's details", `document.querySelector('#legal-details-body[data-loaded]')`)
	if got := eval[string](oper, `document.querySelector("#legal-details-body").dataset.loaded`); got != "true" {
		t.Fatalf("the details did not load: %q", oper.text("#legal-details"))
	}
	if got := oper.text("#legal-details-agency"); got != "Tokyo District Public Prosecutors Office" {
		t.Errorf("the agency shown is %q", got)
	}
	if got := eval[[]string](oper, `[...document.querySelectorAll("#legal-details-accounts li")].map(li => li.textContent)`); strings.Join(got, ",") != "Max@Acme.example,"+string(w.guestID) {
		t.Errorf("the accounts named shown are %v", got)
	}
	for _, want := range []string{"prosecutor@example.jp", "Records of two accounts in a fraud investigation."} {
		if !strings.Contains(oper.text("#legal-details"), want) {
			t.Errorf("the details lack %q: %q", want, oper.text("#legal-details"))
		}
	}
	for _, sel := range []string{"#legal-requests", "#legal-intake"} {
		if got := oper.text(sel); strings.Contains(got, "prosecutor@example.jp") || strings.Contains(got, "Max@Acme") || strings.Contains(got, "Tokyo District") {
			t.Errorf("%s shows sealed details: %q", sel, got)
		}
	}
	reads := func() int {
		t.Helper()
		n := 0
		for _, rec := range auditActions(t, w.s, ids.ServiceTenant) {
			if rec.Action == "legal.request.read" && rec.Target == "legal-request:"+lr.ID {
				n++
			}
		}
		return n
	}
	if n := reads(); n != 1 {
		t.Errorf("the operator's log holds %d reads of the request, want 1", n)
	}
	oper.shot("legal-received")

	status := func() string {
		t.Helper()
		var l []provider.LegalRequest
		op.do("GET", "/api/v1/operator/legal-requests?period="+period, nil).json(t, &l)
		return l[0].Status
	}

	// Redirect.
	oper.focus("#legal-redirect")
	oper.press(kb.Enter)
	oper.waitUntil("the redirect", `document.querySelector('#legal-steps[data-status="redirected"]') && document.querySelector('`+row+`[data-status="redirected"]')`)
	if s := status(); s != provider.StatusRedirected {
		t.Fatalf("after the redirect the API says %s", s)
	}
	if eval[bool](oper, `!!document.querySelector("#legal-redirect")`) {
		t.Error("a redirected request still offers a redirect")
	}
	// The panel drawn again after the step shows the same read: no second
	// read is recorded.
	oper.waitUntil("the details after the step", `document.querySelector('#legal-details-body[data-loaded="true"]')`)
	if got := oper.text("#legal-details-agency"); got != "Tokyo District Public Prosecutors Office" {
		t.Errorf("after the redirect the agency shown is %q", got)
	}
	if n := reads(); n != 1 {
		t.Errorf("after the redirect the operator's log holds %d reads of the request, want 1", n)
	}

	// Review: narrow to non-content.
	oper.check("#legal-review-form", "Decision", "Narrow", true)
	oper.check("#legal-review-form", "Categories allowed", "Content", false)
	oper.setComposer("#legal-review-reason", "overbroad")
	oper.focus("#legal-review")
	oper.press(kb.Enter)
	oper.waitUntil("the approval", `document.querySelector('#legal-steps[data-status="approved"]') && document.querySelector("#legal-disclose-form")`)
	if got := eval[[]string](oper, `[...document.querySelectorAll("#legal-disclose-form input[type=checkbox]")].map(i => i.value)`); strings.Join(got, ",") != "non_content" {
		t.Errorf("the disclosure offers the categories %v", got)
	}
	if got := oper.text(row + " td:nth-child(8)"); got != "Non-content" {
		t.Errorf("the approved column reads %q", got)
	}

	// A disclosure wider than approved (a page tampered with): the API's
	// refusal next to the form.
	oper.setComposer("#legal-disclose-accounts", string(w.memberID))
	eval[bool](oper, `(document.querySelector("#legal-disclose-form input[type=checkbox]").value = "content", true)`)
	oper.focus("#legal-disclose")
	oper.press(kb.Enter)
	oper.waitUntil("the refusal of a wider disclosure", `!document.querySelector("#legal-disclose-error").hidden`)
	if got := oper.text("#legal-disclose-error"); !strings.Contains(got, "wider than the approved scope") {
		t.Errorf("the wider disclosure's refusal reads %q", got)
	}
	oper.expectRefused("400")
	oper.shot("legal-disclose-refused")
	eval[bool](oper, `(document.querySelector("#legal-disclose-form input[type=checkbox]").value = "non_content", true)`)

	// An account of the customer that the request does not name.
	oper.setComposer("#legal-disclose-accounts", string(adminID))
	oper.focus("#legal-disclose")
	oper.press(kb.Enter)
	oper.waitUntil("the refusal of an account not named", `document.querySelector("#legal-disclose-error").textContent.includes("not among the accounts the request names")`)
	oper.expectRefused("400")
	if s := status(); s != provider.StatusApproved {
		t.Fatalf("after the refusals the API says %s", s)
	}

	// The disclosure of Max, named by email in the request, by his id.
	oper.setComposer("#legal-disclose-accounts", string(w.memberID)+"\n")
	oper.focus("#legal-disclose")
	oper.press(kb.Enter)
	oper.waitUntil("the disclosure and its package's link", `document.querySelector('#legal-steps[data-status="disclosed"]') && document.querySelector("#legal-download")`)
	op.do("GET", "/api/v1/operator/legal-requests?period="+period, nil).json(t, &list)
	lr = list[0]
	if lr.Status != provider.StatusDisclosed || lr.Outcome != provider.OutcomeNonContent || strings.Join(lr.Disclosed, ",") != "non_content" || lr.Disclosure == "" {
		t.Fatalf("after the disclosure: %+v", lr)
	}
	if got := eval[string](oper, `document.querySelector("#legal-download").getAttribute("href")`); got != "/api/v1/operator/legal-requests/"+lr.ID+"/disclosure" {
		t.Errorf("the download link goes to %q", got)
	}
	if got := oper.text(row + ` [data-figure="outcome"]`); got != "Non-content disclosed" {
		t.Errorf("the outcome column reads %q", got)
	}

	// The download, from the page: while the package is being built the
	// page says so; then it has its size and SHA-256.
	deadline := time.Now().Add(60 * time.Second)
	for {
		oper.clickJS("the download link", `document.querySelector("#legal-download")`)
		oper.waitUntil("the download's answer", `["done", "building", "failed"].includes(document.querySelector("#legal-download-status").dataset.state)`)
		state := eval[string](oper, `document.querySelector("#legal-download-status").dataset.state`)
		if state == "done" {
			break
		}
		if state != "building" || time.Now().After(deadline) {
			t.Fatalf("the download: %s, %q", state, oper.text("#legal-download-status"))
		}
		if got := oper.text("#legal-download-status"); !strings.Contains(got, "still being built") {
			t.Errorf("while building, the page says %q", got)
		}
		oper.expectRefused("409")
		time.Sleep(200 * time.Millisecond)
	}
	bytes := eval[string](oper, `document.querySelector("#legal-download-status").dataset.bytes`)
	sha := eval[string](oper, `document.querySelector("#legal-download-status").dataset.sha256`)
	r := op.do("GET", "/api/v1/operator/legal-requests/"+lr.ID+"/disclosure", nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/x-tar" {
		t.Fatalf("the package over HTTP: %d %.200s", r.status, r.body)
	}
	if bytes != strconv.Itoa(len(r.body)) || len(r.body) == 0 {
		t.Errorf("the page downloaded %s bytes; the package has %d", bytes, len(r.body))
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(sha) || sha != r.header.Get("X-Kaigi-SHA256") {
		t.Errorf("the page's SHA-256 %q, the API's %q", sha, r.header.Get("X-Kaigi-SHA256"))
	}
	if got := oper.text("#legal-download-status"); !strings.Contains(got, sha) || !strings.Contains(got, bytes+" bytes") {
		t.Errorf("the download's status reads %q", got)
	}
	oper.shot("legal-disclosed")

	// The ledger's chain, verified from the page as the API computes it.
	var check httpapi.LedgerCheck
	op.do("GET", "/api/v1/operator/legal-ledger/verification", nil).json(t, &check)
	if !check.OK || check.Entries < 4 {
		t.Fatalf("the ledger's check over HTTP: %+v", check)
	}
	oper.focus("#legal-verify")
	oper.press(kb.Enter)
	oper.waitUntil("the verification", `document.querySelector("#legal-verification").dataset.ok === "true"`)
	if got := oper.text("#legal-verification"); !strings.Contains(got, "The chain is intact: "+strconv.FormatInt(check.Entries, 10)+" entries checked.") {
		t.Errorf("the verification reads %q (the API: %+v)", got, check)
	}
	oper.allLanguages("operator-legal")
}
