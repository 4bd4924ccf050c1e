package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/browsertest"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/moderation"
)

// Communication compliance end to end in Chromium: a policy in block mode,
// a sender whose threats (in English and in Japanese) are held and who is
// told so in the composer, a recipient on the same channel whose live page
// never shows them, and a compliance officer who finds both in the review
// queue, opens one in context, unmasks its people, resolves it and sends
// the sender a notice; and a report of concern from the recipient.

// makeOfficer invites a member, makes them a compliance officer with the
// roles API and signs them in with the second factor the role needs.
func makeOfficer(t *testing.T, w *rtWorld, email string) (*client, ids.UserID) {
	t.Helper()
	inviteAndSignIn(t, w.world, email)
	id := mustAccount(t, w.world, email)
	if r := w.admin.do("PUT", "/api/v1/admin/accounts/"+string(id)+"/roles", map[string]any{"roles": []string{"compliance_officer"}}); r.status != 204 {
		t.Fatalf("make %s a compliance officer: %d %s", email, r.status, r.body)
	}
	c := newClient(t, w.s.URL)
	enrolTOTP(t, w.s, c, email)
	return c, id
}

func TestModerationBrowserBlockHoldsThreatsAndAReviewerResolves(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	officer, _ := makeOfficer(t, w, "cora@acme.example")
	waitForClassifier(t)
	// The admin (a tenant admin) sets the policy: threats are blocked.
	pol := moderation.Policy{Rules: []moderation.Rule{{Name: "Threats everywhere", Action: moderation.ActionBlock, Categories: map[moderation.Category]float64{moderation.Threat: moderation.FlagThreshold}}}}
	if r := w.admin.do("PUT", "/api/v1/moderation/policy", pol); r.status != 204 {
		t.Fatalf("set policy: %d %s", r.status, r.body)
	}

	b := browsertest.New(t)
	path := "/chat/" + w.general.ID
	sender := openChatAs(t, b, w, w.member, path)
	recipient := openChatAs(t, b, w, w.admin, path)
	for _, u := range []ui{sender, recipient} {
		u.waitChannel("General")
		u.waitUntil("the live connection", `document.querySelector(".chat").dataset.connection === "online"`)
	}
	// Everything the recipient's page ever shows as a message, from now on.
	eval[bool](recipient, `(() => {
		window.seenBodies = [];
		const note = () => { for (const b of document.querySelectorAll(".msg-body")) window.seenBodies.push(b.textContent); };
		new MutationObserver(note).observe(document.body, {subtree: true, childList: true, characterData: true});
		return true;
	})()`)

	const composer = ".chat-main .composer-input"
	for i, threat := range []string{"I will kill you", "殺すぞ"} {
		sender.focus(composer)
		if i == 0 {
			sender.typeText(threat)
		} else {
			sender.insertText(threat)
		}
		sender.enter()
		sender.waitUntil("the hold in the composer", `document.querySelector(".chat-main .composer-moderation.is-held")`)
		if got := sender.text(".chat-main .composer-moderation"); !strings.Contains(got, "held for review") || !strings.Contains(got, "Not sent") {
			t.Errorf("%q: the sender is told %q", threat, got)
		}
		if got := eval[string](sender, `document.querySelector(`+js(composer)+`).value`); got != threat {
			t.Errorf("%q: the composer keeps %q, want the held text", threat, got)
		}
		if !eval[bool](sender, `!document.querySelector(".chat-main .composer-held-mark").hidden`) {
			t.Errorf("%q: the kept text is not marked as held", threat)
		}
		if n := sender.countBody(threat); n != 0 {
			t.Errorf("%q: the sender's list shows the held message %d times", threat, n)
		}
		if i == 0 {
			sender.shotBoth("moderation-held-en")
		}
		sender.expectRefused("422")
		// Discard clears the held text and the mark.
		sender.clickJS("the discard button", `document.querySelector('.chat-main [data-moderation="discard"]')`)
		sender.waitUntil("the composer emptied", `document.querySelector(`+js(composer)+`).value === "" && !document.querySelector(".chat-main .composer-moderation.is-held")`)
	}

	// A clean message goes through and reaches the recipient live: the
	// stream flows, and the held ones never came down it.
	const clean = "Lunch at noon?"
	sender.focus(composer)
	sender.typeText(clean)
	sender.enter()
	recipient.waitUntil("the clean message, live", `[...document.querySelectorAll(".chat-main .msg-body")].some(b => b.textContent === `+js(clean)+`)`)
	time.Sleep(500 * time.Millisecond)
	seen := eval[[]string](recipient, `window.seenBodies`)
	for _, s := range append(seen, recipient.bodies()...) {
		if strings.Contains(s, "kill") || strings.Contains(s, "殺す") {
			t.Fatalf("the recipient's page showed a held message: %q", s)
		}
	}

	// The recipient reports the clean message, with a reason.
	recipient.clickJS("the report button", `[...document.querySelectorAll(".chat-main article.msg")].find(a => a.textContent.includes(`+js(clean)+`)).querySelector('[data-action="report"]')`)
	recipient.waitUntil("the report dialog", `document.querySelector("dialog[open] .report-form")`)
	eval[bool](recipient, `(() => { const d = document.querySelector("dialog[open]"); d.querySelector("select").value = "harassment"; d.querySelector("textarea").value = "Out of context this reads oddly."; return true; })()`)
	recipient.shot("moderation-report-dialog")
	recipient.clickJS("the report submit", `document.querySelector('dialog[open] button[type="submit"]')`)
	recipient.waitUntil("the report received", `document.querySelector("dialog[open] .report-done")`)
	recipient.press(kb.Escape)

	// The compliance officer opens the review queue.
	reviewer := openChatAs(t, b, w, officer, "/compliance")
	reviewer.waitPage("/compliance", "Compliance center")
	reviewer.waitUntil("three open alerts", `document.querySelectorAll("#alerts .alert-item").length === 3`)
	kinds := eval[[]string](reviewer, `[...document.querySelectorAll("#alerts .alert-link")].map(a => a.textContent)`)
	if strings.Join(kinds, "|") != "Reported by a person|Held message|Held message" {
		t.Errorf("the queue lists %q", kinds)
	}
	if got := reviewer.text("#alerts"); strings.Contains(got, "Max") || !strings.Contains(got, "Person A") || !strings.Contains(got, "Threat") {
		t.Errorf("the queue shows %q: want pseudonyms and the category", got)
	}
	reviewer.shotBoth("moderation-queue")

	// The older held message, the English one, in context.
	reviewer.clickJS("the English alert", `document.querySelectorAll("#alerts .alert-link")[2]`)
	reviewer.waitUntil("the alert in context", `location.pathname.startsWith("/compliance/alerts/") && document.querySelector("#alert-context .context-msg.is-alerted")`)
	if got := reviewer.text("#alert-context .context-msg.is-alerted"); !strings.Contains(got, "I will kill you") || !strings.Contains(got, "Person A") {
		t.Errorf("the held message in context: %q", got)
	}
	if got := reviewer.text("#alert-context .context-msg.is-alerted mark"); got != "I will kill you" {
		t.Errorf("the match marked: %q", got)
	}
	if got := reviewer.text("#alert-summary"); !strings.Contains(got, "Pending") || !strings.Contains(got, "Threats everywhere") {
		t.Errorf("the alert's facts: %q", got)
	}
	reviewer.shotBoth("moderation-alert")

	// Unmask, confirmed first.
	reviewer.focus("#unmask")
	reviewer.press(kb.Enter)
	reviewer.waitUntil("the unmask confirmation", `document.querySelector("dialog[open]")`)
	if got := reviewer.text("dialog[open]"); !strings.Contains(got, "recorded") {
		t.Errorf("the unmask dialog says %q, want that it is recorded", got)
	}
	reviewer.clickJS("the confirm button", `document.querySelector("dialog[open] .button-primary")`)
	reviewer.waitUntil("the people unmasked", `document.querySelector("#alert-people .unmasked-name")`)
	if got := reviewer.text("#alert-people"); !strings.Contains(got, "max@") && !strings.Contains(got, "Someone") {
		t.Errorf("the people, unmasked: %q", got)
	}

	// Resolve, by keyboard; the status changes.
	reviewer.focus("#action-resolve")
	reviewer.press(kb.Enter)
	reviewer.waitUntil("the alert resolved", `document.querySelector("#alert-summary") && document.querySelector("#alert-summary").textContent.includes("Resolved") && !document.querySelector("#action-resolve")`)
	if got := reviewer.focused(); got != "#alert-summary-heading" {
		t.Errorf("focus after resolving on %s, want the alert's heading", got)
	}
	// The sender gets a notice, from a template.
	eval[bool](reviewer, `(() => { const s = document.getElementById("notify-template"); s.value = "message_held"; s.dispatchEvent(new Event("change")); return true; })()`)
	reviewer.clickJS("send notice", `document.getElementById("action-notify")`)
	reviewer.waitUntil("the notice recorded", `document.querySelector("#alert-summary").textContent.includes("Message held")`)
	reviewer.shot("moderation-alert-resolved")

	var resolved []moderation.AlertSummary
	officer.do("GET", "/api/v1/moderation/alerts?status=resolved", nil).json(t, &resolved)
	if len(resolved) != 1 || resolved[0].Kind != moderation.KindBlock {
		t.Fatalf("resolved alerts: %+v", resolved)
	}
	reviewer.clickJS("back to the queue", `document.getElementById("back-to-queue")`)
	reviewer.waitUntil("two open alerts", `location.pathname === "/compliance" && document.querySelectorAll("#alerts .alert-item").length === 2`)
	// The filter shows the resolved one.
	eval[bool](reviewer, `(() => { const s = document.getElementById("queue-status"); s.value = "resolved"; s.dispatchEvent(new Event("change")); return true; })()`)
	reviewer.waitUntil("the resolved alert", `location.search === "?status=resolved" && document.querySelectorAll("#alerts .alert-item").length === 1 && document.querySelector("#alerts").textContent.includes("Resolved")`)

	// The policy editor shows the rule; the page in Japanese.
	reviewer.clickJS("the policy tab", `document.querySelector('a.tab[href="/compliance/policy"]')`)
	reviewer.waitUntil("the policy", `document.querySelector("#policy-rules .rule-name") && document.querySelector("#policy-rules .rule-name").value === "Threats everywhere"`)
	reviewer.shotBoth("moderation-policy")
	// Patterns on, saved.
	reviewer.check("#moderation-policy", "Patterns", "Detect possible bullying", true)
	reviewer.focus("#policy-save")
	reviewer.press(kb.Enter)
	reviewer.waitUntil("the policy saved", `document.querySelector("#moderation-policy [role=status]").textContent.includes("Saved")`)
	var saved moderation.Policy
	w.admin.do("GET", "/api/v1/moderation/policy", nil).json(t, &saved)
	if !saved.Patterns || len(saved.Rules) != 1 || saved.Rules[0].Action != moderation.ActionBlock || saved.Rules[0].Categories[moderation.Threat] != 0.5 {
		t.Errorf("the saved policy: %+v", saved)
	}
	reviewer.language("ja")
	if got := reviewer.text("h1"); got != "コンプライアンス センター" {
		t.Errorf("h1 in Japanese = %q", got)
	}

	// A tenant admin who is no compliance officer gets the policy, not
	// the queue; a member gets neither.
	recipient.p.Navigate(t, w.origin+"/compliance")
	recipient.waitUntil("the policy for an admin", `document.querySelector("#queue-officers-only") && document.querySelector("#policy-rules .rule-name") && !document.querySelector("#alerts")`)

	// The sender sees the notice in chat.
	sender.p.Navigate(t, w.origin+path)
	sender.waitChannel("General")
	sender.waitUntil("the notice", `document.querySelector(".chat-main .notice-banner")`)
	if got := sender.text(".chat-main .notice-banner"); !strings.Contains(got, "will not be delivered") {
		t.Errorf("the notice reads %q", got)
	}
	sender.p.Navigate(t, w.origin+"/compliance/alerts/"+resolved[0].ID)
	sender.waitUntil("not for a member", `document.querySelector("#compliance-denied")`)
}

// TestModerationBrowserWarnThenSendAnyway: a policy in warn mode; the
// sender is warned in the composer, edits nothing and sends anyway; the
// message arrives, and the alert records the confirmation.
func TestModerationBrowserWarnThenSendAnyway(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	officer, _ := makeOfficer(t, w, "cora@acme.example")
	waitForClassifier(t)
	pol := moderation.Policy{Rules: []moderation.Rule{{Name: "Warn on threats", Action: moderation.ActionWarn, Categories: map[moderation.Category]float64{moderation.Threat: moderation.FlagThreshold}}}}
	if r := w.admin.do("PUT", "/api/v1/moderation/policy", pol); r.status != 204 {
		t.Fatalf("set policy: %d %s", r.status, r.body)
	}
	b := browsertest.New(t)
	path := "/chat/" + w.general.ID
	sender := openChatAs(t, b, w, w.member, path)
	sender.waitChannel("General")
	const text = "I will kill you"
	sender.focus(".chat-main .composer-input")
	sender.typeText(text)
	sender.enter()
	sender.waitUntil("the warning", `document.querySelector(".chat-main .composer-moderation.is-warning")`)
	if got := sender.text(".chat-main .composer-moderation"); !strings.Contains(got, "threat") || !strings.Contains(got, "Send anyway") {
		t.Errorf("the warning reads %q", got)
	}
	sender.shot("moderation-warning-en")
	sender.expectRefused("422")
	sender.focusButton(".chat-main .composer-moderation", "Send anyway")
	sender.press(kb.Enter)
	sender.waitUntil("the message sent anyway", `[...document.querySelectorAll(".chat-main .msg-body")].some(b => b.textContent === `+js(text)+`) && !document.querySelector(".chat-main .composer-moderation.is-warning")`)
	if got := eval[string](sender, `document.querySelector(".chat-main .composer-input").value`); got != "" {
		t.Errorf("the composer kept %q", got)
	}
	// The alert is raised after the message is stored.
	var open []moderation.AlertSummary
	for deadline := time.Now().Add(chatWait); ; time.Sleep(50 * time.Millisecond) {
		officer.do("GET", "/api/v1/moderation/alerts", nil).json(t, &open)
		if len(open) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(open) != 1 || open[0].Kind != moderation.KindWarn || !open[0].Confirmed {
		t.Fatalf("the alert of a send anyway: %+v", open)
	}
}
