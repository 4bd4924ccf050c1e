package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/browsertest"
	"github.com/kaigi/kaigi/internal/compliance/retention"
)

// TestRetentionBrowserPoliciesHoldsRunAndWhyKept: a compliance officer
// places a legal hold on the guest from the keyboard, creates a retention
// policy that deletes messages after a day, asks why the guest's message
// is kept (the hold) and why the member's is (deleted on a date), runs the
// deletion job and watches its progress to the end, then releases the
// hold. A tenant admin sees the retention section but not the holds tab.
func TestRetentionBrowserPoliciesHoldsRunAndWhyKept(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	officer, _ := makeOfficer(t, w, "cora@acme.example")
	held := send(t, w.guest, w.general.ID, "Guest's note for the case", "")
	plain := send(t, w.member, w.general.ID, "An ordinary message", "")

	b := browsertest.New(t)
	u := openChatAs(t, b, w, officer, "/compliance/holds")
	u.waitPage("/compliance/holds", "Compliance center")
	u.waitUntil("the empty list of holds", `document.querySelector("#holds-empty")`)

	// Place a hold on the guest, from the keyboard.
	u.focus("#hold-name")
	u.typeText("Case 42")
	u.focus("#hold-custodians")
	u.typeText(string(w.guestID))
	u.focus("#hold-keywords")
	u.typeText("note")
	u.focus("#hold-create")
	u.press(kb.Enter)
	u.waitUntil("the hold in the list", `document.querySelector("#holds .hold-item[data-active=true]")`)
	if got := u.text("#holds .hold-item"); !strings.Contains(got, "Case 42") || !strings.Contains(got, "1 custodians") || !strings.Contains(got, "1 keywords") || strings.Contains(got, "note") {
		t.Fatalf("the hold shows %q", got)
	}
	u.shot("compliance-holds")

	// A bad hold is refused with the server's message.
	u.focus("#hold-name")
	u.typeText("Elsewhere")
	u.focus("#hold-locations")
	u.typeText("no-such-team")
	u.focus("#hold-create")
	u.press(kb.Enter)
	u.waitUntil("the refusal", `document.querySelector("#hold-form [role=alert]").textContent.includes("not in your organisation")`)
	u.expectRefused("400")

	// The retention section: a policy, from the keyboard.
	u.p.Navigate(t, w.origin+"/compliance/retention")
	u.waitPage("/compliance/retention", "Compliance center")
	u.waitUntil("no policies yet", `document.querySelector("#retention-policies-empty")`)
	u.focus("#policy-name")
	u.typeText("Chats: a day")
	u.focus("#policy-kind")
	u.press(kb.ArrowDown)
	u.press(kb.ArrowDown) // retain then delete, retain, delete
	u.waitUntil("delete chosen", `document.querySelector("#policy-kind").value === "delete"`)
	u.focus("#policy-days")
	eval[bool](u, `(document.querySelector("#policy-days").value = "", true)`)
	u.typeText("1")
	u.focus("#policy-create")
	u.press(kb.Enter)
	u.waitUntil("the policy in the list", `document.querySelector("#retention-policies .policy-item")`)
	if got := u.text("#retention-policies .policy-item"); !strings.Contains(got, "Chats: a day") || !strings.Contains(got, "Delete only") || !strings.Contains(got, "1 days") {
		t.Fatalf("the policy shows %q", got)
	}

	// Why is this kept?
	ask := func(id string) string {
		u.focus("#why-id")
		eval[bool](u, `(document.querySelector("#why-id").value = "", true)`)
		u.typeText(id)
		u.focus("#why-submit")
		u.press(kb.Enter)
		u.waitUntil("the answer for "+id, `document.querySelector("#why-result .why-outcome")`)
		out := eval[string](u, `document.querySelector("#why-result .why-outcome").dataset.outcome`)
		eval[bool](u, `(document.querySelector("#why-result").replaceChildren(), true)`)
		return out
	}
	if got := ask(held.ID); got != retention.OutcomeHeld {
		t.Fatalf("the guest's message: %s", got)
	}
	if got := ask(plain.ID); got != retention.OutcomeDeleteOn {
		t.Fatalf("the member's message: %s", got)
	}
	u.focus("#why-id")
	eval[bool](u, `(document.querySelector("#why-id").value = "", true)`)
	u.typeText("../etc")
	u.focus("#why-submit")
	u.press(kb.Enter)
	u.waitUntil("the id refused in the page", `document.querySelector("#why-id[aria-invalid=true]")`)

	// Run the deletion job; its progress shows until it is done.
	u.focus("#retention-run")
	u.press(kb.Enter)
	u.waitUntil("the job done", `document.querySelector("#retention-jobs .retention-job[data-state=done]")`)
	if got := u.text("#retention-jobs .retention-job"); !strings.Contains(got, "Deleted 0 messages") {
		t.Fatalf("the job shows %q", got)
	}
	if max := eval[string](u, `document.querySelector("#retention-jobs progress").getAttribute("max")`); max == "" {
		t.Fatal("no progress bar")
	}
	u.allLanguages("compliance-retention")

	// Release the hold, confirmed.
	u.p.Navigate(t, w.origin+"/compliance/holds")
	u.waitPage("/compliance/holds", "Compliance center")
	u.waitUntil("the hold", `document.querySelector("#holds .hold-release")`)
	u.focus("#holds .hold-release")
	u.press(kb.Enter)
	u.waitUntil("the confirmation", `document.querySelector("dialog[open]")`)
	u.clickJS("the confirm button", `document.querySelector("dialog[open] .button-danger")`)
	u.waitUntil("no active hold", `document.querySelector("#holds-empty")`)
	var n int
	if err := w.s.DB.QueryRow(t.Context(), `SELECT COUNT(*) FROM legal_holds WHERE released_at IS NOT NULL`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("released holds: %d %v", n, err)
	}

	// A tenant admin: retention yes, holds no.
	a := openChatAs(t, b, w, w.admin, "/compliance/retention")
	a.waitPage("/compliance/retention", "Compliance center")
	a.waitUntil("the policy", `document.querySelector("#retention-policies .policy-item")`)
	if eval[bool](a, `!![...document.querySelectorAll(".tabs a")].find(l => l.getAttribute("href") === "/compliance/holds")`) {
		t.Fatal("a tenant admin is offered the legal holds")
	}

	// The admin erases the member on request, from the people list, confirmed.
	a.p.Navigate(t, w.origin+"/admin")
	a.waitPage("/admin", "Admin center")
	sel := `[data-erase="` + string(w.memberID) + `"]`
	a.waitUntil("the member's erase button", `document.querySelector('`+sel+`')`)
	if eval[bool](a, `!!document.querySelector('[data-erase="`+string(mustAccount(t, w.world, "admin@acme.example"))+`"]')`) {
		t.Fatal("the admin is offered to erase themself")
	}
	a.focus(sel)
	a.press(kb.Enter)
	a.waitUntil("the confirmation", `document.querySelector("dialog[open]")`)
	a.clickJS("the confirm button", `document.querySelector("dialog[open] .button-danger")`)
	a.waitUntil("the erasure under way", `document.querySelector("#people .status-message") && document.querySelector("#people .status-message").textContent.includes("Erasing")`)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var email string
		err := w.s.DB.QueryRow(t.Context(), `SELECT email FROM accounts WHERE id = ?`, string(w.memberID)).Scan(&email)
		if err == nil && strings.HasSuffix(email, "@erased.invalid") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the member was not erased: %q %v", email, err)
		}
	}
	a.focus("#people .panel-actions button")
	a.press(kb.Enter)
	a.waitUntil("the pseudonym in the list, without an erase button", `!document.querySelector('`+sel+`') && document.querySelector("#accounts-table").textContent.includes("erased.invalid")`)
}
