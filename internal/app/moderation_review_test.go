package app_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp/kb"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/browsertest"
	"github.com/kaigi/kaigi/internal/compliance/discovery"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/moderation"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// act posts a reviewer's action on an alert.
func (w *moderationWorld) act(c *client, alert string, r moderation.Review) response {
	return c.do("POST", "/api/v1/moderation/alerts/"+alert+"/actions", r)
}

// reviewSet returns the ids in a case's review set, as c sees them.
func reviewSet(t *testing.T, c *client, caseID string) []string {
	t.Helper()
	var page discovery.Page
	r := c.do("GET", "/api/v1/ediscovery/cases/"+caseID+"/review", nil)
	if r.status != 200 {
		t.Fatalf("review set of %s: %d %s", caseID, r.status, r.body)
	}
	r.json(t, &page)
	var out []string
	for _, it := range page.Items {
		out = append(out, it.ID)
	}
	return out
}

// TestModerationReviewOpensEDiscoveryCase: a reviewer puts a flagged
// message into a new eDiscovery case named after the alert, with the
// reviewer as its only member; a report's message goes into the same case
// by id; the alert records the case; a reviewer who is not a member of a
// case cannot add to it; a held message, never delivered, cannot go into a
// case; every step is audited.
func TestModerationReviewOpensEDiscoveryCase(t *testing.T) {
	w := startModerationWorld(t)
	ch := w.general.ID
	w.setPolicy(t, moderation.Policy{Rules: []moderation.Rule{rule(moderation.ActionFlag, moderation.Harassment), rule(moderation.ActionBlock, moderation.Threat)}})
	flagged := send(t, w.member, ch, "you are such an idiot <@"+string(w.guestID)+">", "")
	reported := send(t, w.member, ch, "see me after the meeting, alone", "")
	if r := w.guest.do("POST", "/api/v1/messages/"+reported.ID+"/report", map[string]string{"reason": "intimidating"}); r.status != 202 {
		t.Fatalf("report: %d %s", r.status, r.body)
	}
	if r := w.member.do("POST", "/api/v1/channels/"+ch+"/messages", map[string]string{"body": "I will kill you"}); r.status != 422 {
		t.Fatalf("hold: %d %s", r.status, r.body)
	}
	byKind := map[string]moderation.AlertSummary{}
	for _, a := range w.alerts(t, "") {
		byKind[a.Kind] = a
	}
	flag, report, held := byKind[moderation.KindFlag], byKind[moderation.KindReport], byKind[moderation.KindBlock]
	if flag.ID == "" || report.ID == "" || held.ID == "" {
		t.Fatalf("alerts: %+v", byKind)
	}

	// A new case, named after the alert.
	r := w.act(w.officer, flag.ID, moderation.Review{Action: moderation.ReviewEDiscovery})
	if r.status != 200 {
		t.Fatalf("ediscovery: %d %s", r.status, r.body)
	}
	var got moderation.AlertSummary
	r.json(t, &got)
	if len(got.Cases) != 1 || got.Status != moderation.StatusPending {
		t.Fatalf("the alert after ediscovery (it records the case and stays open): %+v", got)
	}
	caseID := got.Cases[0]
	var c discovery.Case
	if r := w.officer.do("GET", "/api/v1/ediscovery/cases/"+caseID, nil); r.status != 200 {
		t.Fatalf("the case for its member: %d %s", r.status, r.body)
	} else {
		r.json(t, &c)
	}
	if !strings.Contains(c.Name, flag.ID) || c.State != discovery.Open || len(c.Members) != 1 || c.Members[0].Account != w.officerID {
		t.Fatalf("the case: %+v", c)
	}
	if set := reviewSet(t, w.officer, caseID); !slices.Equal(set, []string{flagged.ID}) {
		t.Fatalf("the review set holds %v, want the flagged message", set)
	}
	// The alert view says so.
	var d moderation.AlertDetail
	w.officer.do("GET", "/api/v1/moderation/alerts/"+flag.ID, nil).json(t, &d)
	if !slices.Equal(d.Cases, []string{caseID}) {
		t.Fatalf("the alert's cases: %v", d.Cases)
	}

	// Only members add to a case: the second officer is not one.
	if r := w.second.do("GET", "/api/v1/ediscovery/cases/"+caseID, nil); r.status != 404 {
		t.Fatalf("a non-member sees the case: %d", r.status)
	}
	if r := w.act(w.second, report.ID, moderation.Review{Action: moderation.ReviewEDiscovery, Case: caseID}); r.status != 404 {
		t.Fatalf("a non-member adds to the case: %d %s", r.status, r.body)
	}
	if r := w.act(w.officer, report.ID, moderation.Review{Action: moderation.ReviewEDiscovery, Case: "../../x"}); r.status != 404 {
		t.Fatalf("a malformed case id: %d %s", r.status, r.body)
	}
	// The member adds the report's message to the same case.
	if r := w.act(w.officer, report.ID, moderation.Review{Action: moderation.ReviewEDiscovery, Case: caseID}); r.status != 200 {
		t.Fatalf("add to the case: %d %s", r.status, r.body)
	}
	if set := reviewSet(t, w.officer, caseID); len(set) != 2 || !slices.Contains(set, reported.ID) {
		t.Fatalf("the review set holds %v", set)
	}
	// A held message was never delivered.
	if r := w.act(w.officer, held.ID, moderation.Review{Action: moderation.ReviewEDiscovery}); r.status != 409 {
		t.Fatalf("a held message into a case: %d %s", r.status, r.body)
	}
	// A closed case takes nothing more.
	if r := w.officer.do("POST", "/api/v1/ediscovery/cases/"+caseID+"/state", map[string]string{"state": "closed"}); r.status != 200 {
		t.Fatalf("close the case: %d %s", r.status, r.body)
	}
	if r := w.act(w.officer, flag.ID, moderation.Review{Action: moderation.ReviewEDiscovery, Case: caseID}); r.status != 409 {
		t.Fatalf("add to a closed case: %d %s", r.status, r.body)
	}

	recs, err := w.s.DB.AuditRecords(t.Context(), w.tenant.ID, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var ediscovery, created, added int
	for _, rec := range recs {
		switch {
		case rec.Action == "moderation.alert.ediscovery" && rec.Result == audit.Success && rec.DetailMap()["case"] == caseID:
			ediscovery++
		case rec.Action == "ediscovery.case.create" && rec.Target == "case:"+caseID && rec.ActorID == string(w.officerID):
			created++
		case rec.Action == "ediscovery.review.add" && rec.Target == "case:"+caseID && rec.DetailMap()["source"] == "moderation":
			added++
		}
	}
	if ediscovery != 2 || created != 1 || added != 2 {
		t.Fatalf("audited: %d moderation.alert.ediscovery, %d ediscovery.case.create, %d ediscovery.review.add; want 2, 1, 2", ediscovery, created, added)
	}
}

// TestModerationReviewNeverAboutOneself: a compliance officer who sent an
// alerted message, or reported one, neither sees that alert in the queue
// nor opens, unmasks or acts on it (403, audited as denied), and an alert
// is never escalated to them; a second officer reviews it.
func TestModerationReviewNeverAboutOneself(t *testing.T) {
	w := startModerationWorld(t)
	w.setPolicy(t, moderation.Policy{Rules: []moderation.Rule{rule(moderation.ActionFlag, moderation.Harassment)}})
	chatID := startChat(t, w.officer, w.memberID)
	send(t, w.officer, chatID, "you are such an idiot", "") // the officer is the sender
	m := send(t, w.member, chatID, "see me after the meeting, alone", "")
	if r := w.officer.do("POST", "/api/v1/messages/"+m.ID+"/report", map[string]string{"reason": "odd"}); r.status != 202 { // the officer is the reporter
		t.Fatalf("report: %d %s", r.status, r.body)
	}
	var all []moderation.AlertSummary
	if r := w.second.do("GET", "/api/v1/moderation/alerts", nil); r.status != 200 {
		t.Fatalf("the second officer's queue: %d %s", r.status, r.body)
	} else {
		r.json(t, &all)
	}
	if len(all) != 2 {
		t.Fatalf("the second officer sees %d alerts, want both: %+v", len(all), all)
	}
	if own := w.alerts(t, ""); len(own) != 0 {
		t.Fatalf("the officer's own queue lists alerts about them: %+v", own)
	}
	for _, a := range all {
		for _, tc := range []struct {
			name, method, path string
			body               any
		}{
			{"open", "GET", "/api/v1/moderation/alerts/" + a.ID, nil},
			{"unmask", "POST", "/api/v1/moderation/alerts/" + a.ID + "/unmask", nil},
			{"resolve", "POST", "/api/v1/moderation/alerts/" + a.ID + "/actions", moderation.Review{Action: moderation.ReviewResolve}},
			{"remove", "POST", "/api/v1/moderation/alerts/" + a.ID + "/actions", moderation.Review{Action: moderation.ReviewRemove}},
			{"ediscovery", "POST", "/api/v1/moderation/alerts/" + a.ID + "/actions", moderation.Review{Action: moderation.ReviewEDiscovery}},
		} {
			t.Run(a.Kind+" "+tc.name, func(t *testing.T) {
				r := w.officer.do(tc.method, tc.path, tc.body)
				if r.status != 403 || !strings.Contains(string(r.body), "Another compliance officer reviews it") {
					t.Fatalf("%d %s, want 403 with a clear reason", r.status, r.body)
				}
			})
		}
		// Escalating to them is refused; the second officer reviews it.
		if r := w.act(w.second, a.ID, moderation.Review{Action: moderation.ReviewEscalate, To: w.officerID}); r.status != 400 || !strings.Contains(string(r.body), "cannot review it") {
			t.Fatalf("escalate to the person the alert is about: %d %s", r.status, r.body)
		}
		if r := w.second.do("GET", "/api/v1/moderation/alerts/"+a.ID, nil); r.status != 200 {
			t.Fatalf("the second officer opens it: %d %s", r.status, r.body)
		}
		if r := w.act(w.second, a.ID, moderation.Review{Action: moderation.ReviewResolve}); r.status != 200 {
			t.Fatalf("the second officer resolves it: %d %s", r.status, r.body)
		}
		if r := w.officer.do("GET", "/api/v1/moderation/alerts/"+a.ID, nil); r.status != 403 {
			t.Fatalf("a closed alert about oneself: %d", r.status)
		}
	}
	if own := w.alerts(t, "all"); len(own) != 0 {
		t.Fatalf("the officer's queue of every status lists alerts about them: %+v", own)
	}
	recs, err := w.s.DB.AuditRecords(t.Context(), w.tenant.ID, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	denied := map[string]int{}
	for _, rec := range recs {
		if rec.Result == audit.Denied && rec.ActorID == string(w.officerID) && rec.DetailMap()["reason"] == "involved" {
			denied[rec.Action]++
		}
	}
	for _, want := range []string{"moderation.alert.read", "moderation.alert.unmask", "moderation.alert.resolve", "moderation.alert.remove", "moderation.alert.ediscovery"} {
		if denied[want] < 2 {
			t.Errorf("denied %s audited %d times, want once per alert: %v", want, denied[want], denied)
		}
	}
}

// TestModerationPatternsSharedAcrossNodesAndRestarts runs nodes of one
// deployment on one PostgreSQL database: borderline messages aimed at one
// person, sent through two different nodes, count together, and a node
// started afresh (as after a restart, with nothing in memory) counts them
// too: the third message, sent through it, raises one possible-bullying
// alert, and a fourth through the first node extends that alert.
func TestModerationPatternsSharedAcrossNodesAndRestarts(t *testing.T) {
	nats := natsURL(t)
	db := storetest.PostgresSchemaURL(t)
	dir, prefix := t.TempDir(), "mod-"+ids.New()
	opts := apptest.Options{NATSURL: nats, DataDir: dir, Config: func(c *config.Config) {
		c.DatabaseURL, c.NATSPrefix = db, prefix
	}}
	n1 := realtimeNode(t, opts, "")
	w := realtimeWorldOn(t, n1)
	n2 := realtimeNode(t, opts, n1.Config.URL())
	waitForClassifier(t)
	pol := moderation.Policy{Patterns: true, Rules: []moderation.Rule{{Name: "self-harm only", Action: moderation.ActionFlag,
		Categories: map[moderation.Category]float64{moderation.SelfHarm: 0.9}}}}
	if r := w.admin.do("PUT", "/api/v1/moderation/policy", pol); r.status != 204 {
		t.Fatalf("set policy: %d %s", r.status, r.body)
	}
	ch := w.general.ID
	target := "<@" + string(w.guestID) + "> "
	patterns := func() []moderation.Alert {
		t.Helper()
		as, err := store.Moderation(n1.DB).Alerts(t.Context(), w.tenant.ID, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		return slices.DeleteFunc(as, func(a moderation.Alert) bool { return a.Kind != moderation.KindPattern })
	}
	send(t, w.member, ch, target+"you idiot", "")                        // node 1
	send(t, w.admin.to(n2.URL), ch, target+"you are useless, idiot", "") // node 2
	if got := patterns(); len(got) != 0 {
		t.Fatalf("two messages raised %+v", got)
	}
	// A node with nothing in memory: a restarted one.
	n3 := realtimeNode(t, opts, n1.Config.URL())
	third := send(t, w.member.to(n3.URL), ch, target+"shut up, idiot", "")
	got := patterns()
	if len(got) != 1 || got[0].Target != w.guestID || len(got[0].Info.Messages) != 3 || len(got[0].Info.Senders) != 2 || got[0].Message != third.ID {
		t.Fatalf("after three messages through three nodes, want one possible-bullying alert counting 3 from 2 senders: %+v", got)
	}
	send(t, w.admin, ch, target+"nobody likes you, idiot", "") // node 1 again
	if again := patterns(); len(again) != 1 || again[0].ID != got[0].ID || len(again[0].Info.Messages) != 4 {
		t.Fatalf("a fourth message: %+v", again)
	}
}

// TestModerationBrowserAlertOpensEDiscoveryCase: in the alert view a
// reviewer puts the flagged message into a new eDiscovery case by
// keyboard; the view then links to the case, and the link opens it.
func TestModerationBrowserAlertOpensEDiscoveryCase(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	officer, _ := makeOfficer(t, w, "cora@acme.example")
	waitForClassifier(t)
	pol := moderation.Policy{Rules: []moderation.Rule{rule(moderation.ActionFlag, moderation.Harassment)}}
	if r := w.admin.do("PUT", "/api/v1/moderation/policy", pol); r.status != 204 {
		t.Fatalf("set policy: %d %s", r.status, r.body)
	}
	send(t, w.member, w.general.ID, "you are such an idiot <@"+string(w.guestID)+">", "")
	var open []moderation.AlertSummary
	officer.do("GET", "/api/v1/moderation/alerts", nil).json(t, &open)
	if len(open) != 1 {
		t.Fatalf("alerts: %+v", open)
	}
	b := browsertest.New(t)
	reviewer := openChatAs(t, b, w, officer, "/compliance/alerts/"+open[0].ID)
	reviewer.waitUntil("the alert's actions", `document.querySelector("#action-ediscovery") && document.querySelector("#ediscovery-case")`)
	if got := reviewer.text("#alert-actions"); !strings.Contains(got, "Open an eDiscovery case") {
		t.Errorf("the actions read %q", got)
	}
	reviewer.focus("#action-ediscovery")
	reviewer.press(kb.Enter)
	reviewer.waitUntil("the link to the case", `document.querySelector("#alert-cases a[data-case]") && document.querySelector("#alert-cases a[data-case]").textContent.includes("Moderation alert")`)
	reviewer.shot("moderation-alert-ediscovery")
	officer.do("GET", "/api/v1/moderation/alerts", nil).json(t, &open)
	if len(open) != 1 || len(open[0].Cases) != 1 {
		t.Fatalf("the alert records no case: %+v", open)
	}
	reviewer.clickJS("the case link", `document.querySelector("#alert-cases a[data-case]")`)
	reviewer.waitUntil("the case", `location.pathname === "/compliance/ediscovery/`+open[0].Cases[0]+`" && document.querySelector("main") && document.querySelector("main").textContent.includes("Moderation alert")`)
}
