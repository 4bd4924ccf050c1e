package app_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp/kb"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/browsertest"
	"github.com/kaigi/kaigi/internal/principal"
)

// TestAuditBrowserOfficerSearchesAndVerifies: a compliance officer opens the
// audit log in the compliance center, searches it from the keyboard by an
// action prefix, sees exactly the matching records, pages to older ones,
// gets export links for the same filter, and verifies the chain.
func TestAuditBrowserOfficerSearchesAndVerifies(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	officer, officerID := makeOfficer(t, w, "cora@acme.example")
	for i := range 60 {
		if err := w.s.Record(t.Context(), audit.Entry{Actor: principal.Job("test", w.tenant.ID), Tenant: w.tenant.ID, Action: "test.browser.poke",
			Target: fmt.Sprintf("thing:%d", i)}); err != nil {
			t.Fatal(err)
		}
	}

	b := browsertest.New(t)
	u := openChatAs(t, b, w, officer, "/compliance/audit")
	u.waitPage("/compliance/audit", "Compliance center")
	u.waitUntil("the first results", `document.querySelectorAll("#audit-results tbody tr").length > 0`)

	u.focus("#audit-action")
	u.typeText("test.browser.")
	u.press(kb.Enter)
	u.waitUntil("only the matching records", `(() => {
		const rows = [...document.querySelectorAll("#audit-results tbody tr")];
		return rows.length === 50 && rows.every(r => r.querySelector(".audit-action").textContent === "test.browser.poke");
	})()`)
	if got := u.text("#audit-results tbody tr td:nth-child(5)"); got != "thing:59" {
		t.Fatalf("the newest record first: got %q", got)
	}
	if href := eval[string](u, `document.querySelector("#audit-export-csv").getAttribute("href")`); !strings.Contains(href, "action=test.browser.") || !strings.Contains(href, "format=csv") {
		t.Fatalf("the CSV export does not follow the filter: %q", href)
	}
	u.shot("compliance-audit-search")
	u.focus("#audit-more")
	u.press(kb.Enter)
	u.waitUntil("the older page", `document.querySelectorAll("#audit-results tbody tr").length === 60 && document.querySelector("#audit-more").hidden`)

	u.focus("#audit-verify")
	u.press(kb.Enter)
	u.waitUntil("the verification report", `document.querySelector('#audit-verify-report [data-ok]')`)
	if ok := u.text("#audit-verify-report"); !strings.Contains(ok, "The chain is intact") || eval[string](u, `document.querySelector('#audit-verify-report [data-ok]').dataset.ok`) != "true" {
		t.Fatalf("verification report: %q", ok)
	}
	u.allLanguages("compliance-audit-verified")

	// The officer's searches are in the log, as the officer's.
	recs, err := w.s.DB.SearchAudit(t.Context(), w.tenant.ID, audit.Filter{Action: "audit.search", ActorID: string(officerID), Limit: 10})
	if err != nil || len(recs) < 3 {
		t.Fatalf("the searches were not audited: %d %v", len(recs), err)
	}
}

// TestAuditBrowserAdminSetsRetentionAndManagesSinks: a tenant admin sees
// the audit log without the verification (that is for compliance
// officers), sets the retention from the keyboard, adds a webhook sink and
// is shown its secret once, and removes it after confirming.
func TestAuditBrowserAdminSetsRetentionAndManagesSinks(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	b := browsertest.New(t)
	u := openChatAs(t, b, w, w.admin, "/compliance/audit")
	u.waitPage("/compliance/audit", "Compliance center")
	u.waitUntil("the retention form", `document.querySelector("#audit-retention")`)
	if eval[bool](u, `!!document.querySelector("#audit-verify")`) {
		t.Fatal("a tenant admin is offered the verification, which is for compliance officers")
	}
	eval[bool](u, `(document.querySelector("#audit-retention").value = "", true)`)
	u.focus("#audit-retention")
	u.typeText("12")
	u.press(kb.Enter)
	u.waitUntil("the range error", `document.querySelector("#audit-retention").getAttribute("aria-invalid") === "true"`)
	eval[bool](u, `(document.querySelector("#audit-retention").value = "", true)`)
	u.typeText("3")
	u.press(kb.Enter)
	u.waitUntil("saved", `document.querySelector("#audit-retention-panel [role=status]").textContent.includes("Retention saved")`)
	st, _, err := w.s.DB.AuditSettings(t.Context(), w.tenant.ID)
	if err != nil || st.RetentionYears != 3 {
		t.Fatalf("retention: %+v %v", st, err)
	}

	u.clickJS("the new sink disclosure", `document.querySelector("#audit-sinks-panel summary")`)
	u.focus("#audit-sink-name")
	u.typeText("Splunk")
	u.focus("#audit-sink-endpoint")
	u.typeText("https://siem.example/kaigi")
	u.focus("#audit-sink-add")
	u.press(kb.Enter)
	u.waitUntil("the secret, once", `document.querySelector("#audit-sink-secret .secret-value")`)
	secret := u.text("#audit-sink-secret .secret-value")
	u.waitUntil("the sink listed", `document.querySelector("#audit-sinks [data-sink]")`)
	if !strings.Contains(u.text("#audit-sinks"), "Splunk") || strings.Contains(u.text("#audit-sinks"), secret) || len(secret) < 40 {
		t.Fatalf("sinks: %q (secret %q)", u.text("#audit-sinks"), secret)
	}
	u.allLanguages("compliance-audit-admin")
	u.clickJS("remove", `document.querySelector("#audit-sinks [data-sink] .item-actions button")`)
	u.waitUntil("the confirmation", `document.querySelector("dialog[open]")`)
	u.clickJS("confirm", `document.querySelector("dialog[open] .button-danger")`)
	u.waitUntil("no sinks", `!document.querySelector("#audit-sinks [data-sink]")`)
	sinks, err := w.s.DB.AuditSinks(t.Context(), w.tenant.ID)
	if err != nil || len(sinks) != 0 {
		t.Fatalf("sinks left: %v %v", sinks, err)
	}
}
