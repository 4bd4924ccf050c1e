package app_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/moderation"
)

// moderationWorld is a chat world with a compliance officer signed in and a
// second compliance officer to escalate to.
type moderationWorld struct {
	*chatWorld
	officer, second     *client
	officerID, secondID ids.UserID
}

func startModerationWorld(t *testing.T) *moderationWorld {
	t.Helper()
	w := &moderationWorld{chatWorld: startChatWorld(t)}
	officer := func(email string) (*client, ids.UserID) {
		inviteAndSignIn(t, w.world, email)
		id := mustAccount(t, w.world, email)
		if r := w.admin.do("PUT", "/api/v1/admin/accounts/"+string(id)+"/roles", map[string]any{"roles": []string{"compliance_officer"}}); r.status != 204 {
			t.Fatalf("make %s a compliance officer: %d %s", email, r.status, r.body)
		}
		c := newClient(t, w.s.URL)
		enrolTOTP(t, w.s, c, email) // privileged roles need a second factor
		return c, id
	}
	w.officer, w.officerID = officer("cora@acme.example")
	w.second, w.secondID = officer("otto@acme.example")
	waitForClassifier(t)
	return w
}

// waitForClassifier waits for the process's classifier. Loading the
// dictionaries takes seconds, and far longer under the race detector on a
// busy machine; it happens once per process.
func waitForClassifier(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	if err := moderation.SharedLocal().Wait(ctx); err != nil {
		t.Fatalf("load the classifier: %v", err)
	}
}

func (w *moderationWorld) setPolicy(t *testing.T, pol moderation.Policy) {
	t.Helper()
	if r := w.admin.do("PUT", "/api/v1/moderation/policy", pol); r.status != 204 {
		t.Fatalf("set policy: %d %s", r.status, r.body)
	}
}

func rule(action moderation.Action, cats ...moderation.Category) moderation.Rule {
	r := moderation.Rule{Name: string(action) + " " + string(cats[0]), Action: action, Categories: map[moderation.Category]float64{}}
	for _, c := range cats {
		r.Categories[c] = moderation.FlagThreshold
	}
	return r
}

func (w *moderationWorld) alerts(t *testing.T, status string) []moderation.AlertSummary {
	t.Helper()
	var out []moderation.AlertSummary
	r := w.officer.do("GET", "/api/v1/moderation/alerts?status="+status, nil)
	if r.status != 200 {
		t.Fatalf("list alerts: %d %s", r.status, r.body)
	}
	r.json(t, &out)
	return out
}

func (w *moderationWorld) auditActions(t *testing.T) []string {
	t.Helper()
	recs, err := w.s.DB.AuditRecords(t.Context(), w.tenant.ID, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Action)
	}
	return out
}

// channelHas reports whether text is in the channel's messages or events as
// the admin (a team owner) sees them.
func (w *moderationWorld) channelHas(t *testing.T, channel, text string) bool {
	t.Helper()
	for _, path := range []string{"/api/v1/channels/" + channel + "/messages", "/api/v1/channels/" + channel + "/events"} {
		r := w.admin.do("GET", path, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		if strings.Contains(string(r.body), text) {
			return true
		}
	}
	return false
}

func TestModerationBlockHoldsThreatsInEnglishAndJapanese(t *testing.T) {
	w := startModerationWorld(t)
	ch := w.general.ID
	w.setPolicy(t, moderation.Policy{Rules: []moderation.Rule{rule(moderation.ActionBlock, moderation.Threat)}})
	send(t, w.guest, ch, "Morning all, the build is green.", "")

	for _, tc := range []struct{ name, text string }{
		{"english", "<@" + string(w.guestID) + "> I will kill you"},
		{"japanese", "お前なんか死ね"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.member.do("POST", "/api/v1/channels/"+ch+"/messages", map[string]string{"body": tc.text})
			if r.status != 422 || r.errorCode() != "moderation_held" || !strings.Contains(string(r.body), "held for review") || !strings.Contains(string(r.body), "threat") {
				t.Fatalf("the sender is told the message is held: %d %s", r.status, r.body)
			}
			if w.channelHas(t, ch, tc.text) {
				t.Fatal("the held message reached the channel")
			}
		})
	}
	// The recipient never sees them either.
	var views []chat.View
	w.guest.do("GET", "/api/v1/channels/"+ch+"/messages", nil).json(t, &views)
	if len(views) != 1 {
		t.Fatalf("the channel holds %d messages, want only the clean one", len(views))
	}

	open := w.alerts(t, "")
	if len(open) != 2 || open[0].Kind != moderation.KindBlock || open[0].Sender != "Person A" || open[0].Scores[moderation.Threat] < 0.5 {
		t.Fatalf("the queue: %+v", open)
	}
	// The English one (older) with its context: the clean message before it.
	var d moderation.AlertDetail
	r := w.officer.do("GET", "/api/v1/moderation/alerts/"+open[1].ID, nil)
	if r.status != 200 {
		t.Fatalf("open alert: %d %s", r.status, r.body)
	}
	r.json(t, &d)
	if len(d.Context) != 2 || d.Context[0].Body != "Morning all, the build is green." || !d.Context[1].Held || !d.Context[1].Alerted {
		t.Fatalf("context: %+v", d.Context)
	}
	held := d.Context[1]
	if held.Author != "Person A" || d.Context[0].Author != "Person B" || !strings.Contains(held.Body, "<@Person B> I will kill you") || strings.Contains(string(r.body), string(w.guestID)) || strings.Contains(string(r.body), string(w.memberID)) {
		t.Fatalf("people must be pseudonyms until unmasked: %s", r.body)
	}
	if len(held.Spans) == 0 || held.Body[held.Spans[0].Start:held.Spans[0].End] == "" || !strings.Contains(held.Body[held.Spans[0].Start:held.Spans[0].End], "kill") {
		t.Fatalf("spans must point into the masked body: %+v", held.Spans)
	}
	// Stable: the same names on a second read.
	var again moderation.AlertDetail
	w.officer.do("GET", "/api/v1/moderation/alerts/"+open[1].ID, nil).json(t, &again)
	if again.Context[0].Author != "Person B" || again.Sender != "Person A" {
		t.Fatalf("pseudonyms changed between reads: %+v", again)
	}
	var people httpapi.PeopleBody
	if r := w.officer.do("POST", "/api/v1/moderation/alerts/"+open[1].ID+"/unmask", nil); r.status != 200 {
		t.Fatalf("unmask: %d %s", r.status, r.body)
	} else {
		r.json(t, &people)
	}
	if len(people.People) != 2 || people.People[0].ID != w.memberID || people.People[1].ID != w.guestID || people.People[0].DisplayName == "" {
		t.Fatalf("unmasked: %+v", people)
	}

	// The reviewer resolves it; a held message cannot be "removed".
	if r := w.officer.do("POST", "/api/v1/moderation/alerts/"+open[1].ID+"/actions", moderation.Review{Action: "remove"}); r.status != 409 {
		t.Fatalf("removing a held message: %d %s", r.status, r.body)
	}
	if r := w.officer.do("POST", "/api/v1/moderation/alerts/"+open[1].ID+"/actions", moderation.Review{Action: "resolve"}); r.status != 200 {
		t.Fatalf("resolve: %d %s", r.status, r.body)
	}
	if r := w.officer.do("POST", "/api/v1/moderation/alerts/"+open[1].ID+"/actions", moderation.Review{Action: "resolve"}); r.status != 409 {
		t.Fatalf("resolving twice: %d %s", r.status, r.body)
	}
	if got := w.alerts(t, ""); len(got) != 1 || got[0].ID != open[0].ID {
		t.Fatalf("open after resolving: %+v", got)
	}
	if got := w.alerts(t, "resolved"); len(got) != 1 || got[0].ClosedBy != w.officerID {
		t.Fatalf("resolved: %+v", got)
	}
	acts := w.auditActions(t)
	for _, want := range []string{"moderation.policy.update", "moderation.message.hold", "moderation.alerts.list", "moderation.alert.read", "moderation.alert.unmask", "moderation.alert.resolve"} {
		if !slices.Contains(acts, want) {
			t.Errorf("the audit log lacks %s: %v", want, acts)
		}
	}
}

func TestModerationWarnNeedsConfirmFlagRaisesAlert(t *testing.T) {
	w := startModerationWorld(t)
	ch := w.general.ID
	w.setPolicy(t, moderation.Policy{Rules: []moderation.Rule{rule(moderation.ActionWarn, moderation.Threat), rule(moderation.ActionFlag, moderation.Harassment)}})

	text := "I will kill you"
	r := w.member.do("POST", "/api/v1/channels/"+ch+"/messages", map[string]any{"body": text})
	if r.status != 422 || r.errorCode() != "moderation_warning" || !strings.Contains(string(r.body), "threat") || strings.Contains(string(r.body), "kill") {
		t.Fatalf("a warning naming the kind of thing found, never the words: %d %s", r.status, r.body)
	}
	if w.channelHas(t, ch, text) || len(w.alerts(t, "")) != 0 {
		t.Fatal("a warned message was stored or alerted before confirmation")
	}
	var sent chat.View
	r = w.member.do("POST", "/api/v1/channels/"+ch+"/messages", map[string]any{"body": text, "confirm": true})
	if r.status != 201 {
		t.Fatalf("confirmed send: %d %s", r.status, r.body)
	}
	r.json(t, &sent)
	if !w.channelHas(t, ch, text) {
		t.Fatal("the confirmed message is not in the channel")
	}
	got := w.alerts(t, "")
	if len(got) != 1 || got[0].Kind != moderation.KindWarn || !got[0].Confirmed || got[0].Message != sent.ID {
		t.Fatalf("the confirmed send's alert: %+v", got)
	}

	// Edits are screened like sends: a harmless message edited into the
	// threat is warned about, and the edit goes through only confirmed.
	clean := send(t, w.member, ch, "see you at the standup", "")
	if r := w.member.do("PATCH", "/api/v1/messages/"+clean.ID, map[string]any{"body": "see you at the standup. " + text}); r.status != 422 || r.errorCode() != "moderation_warning" {
		t.Fatalf("an edit into a threat: %d %s", r.status, r.body)
	}
	if w.channelHas(t, ch, "see you at the standup. "+text) {
		t.Fatal("the warned edit was stored")
	}
	if r := w.member.do("PATCH", "/api/v1/messages/"+clean.ID, map[string]any{"body": "see you at the standup. " + text, "confirm": true}); r.status != 200 {
		t.Fatalf("a confirmed edit: %d %s", r.status, r.body)
	}
	if got := w.alerts(t, ""); len(got) != 2 || got[0].Message != clean.ID || !got[0].Confirmed {
		t.Fatalf("the confirmed edit raised no alert: %+v", got)
	}

	// Flag: stored and delivered, then an alert.
	flagged := send(t, w.member, ch, "you are such an idiot <@"+string(w.guestID)+">", "")
	got = w.alerts(t, "")
	if len(got) != 3 || got[0].Kind != moderation.KindFlag || got[0].Message != flagged.ID || got[0].Confirmed {
		t.Fatalf("flag alert: %+v", got)
	}
	// The reviewer notifies the sender and removes the message.
	if r := w.officer.do("POST", "/api/v1/moderation/alerts/"+got[0].ID+"/actions", moderation.Review{Action: "notify", Template: "nonsense"}); r.status != 400 {
		t.Fatalf("unknown template: %d %s", r.status, r.body)
	}
	if r := w.officer.do("POST", "/api/v1/moderation/alerts/"+got[0].ID+"/actions", moderation.Review{Action: "notify", Template: "message_removed"}); r.status != 200 {
		t.Fatalf("notify: %d %s", r.status, r.body)
	}
	if r := w.officer.do("POST", "/api/v1/moderation/alerts/"+got[0].ID+"/actions", moderation.Review{Action: "remove", Reason: "harassment of a colleague"}); r.status != 200 {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	var views []chat.View
	w.guest.do("GET", "/api/v1/channels/"+ch+"/messages", nil).json(t, &views)
	if i := slices.IndexFunc(views, func(v chat.View) bool { return v.ID == flagged.ID }); i < 0 || !views[i].Deleted || views[i].Body != "" {
		t.Fatalf("the removed message: %+v", views)
	}
	// The reviewer still sees what was flagged.
	var d moderation.AlertDetail
	w.officer.do("GET", "/api/v1/moderation/alerts/"+got[0].ID, nil).json(t, &d)
	if i := slices.IndexFunc(d.Context, func(m moderation.ContextMessage) bool { return m.Alerted }); i < 0 || !strings.Contains(d.Context[i].Body, "idiot") || d.Status != moderation.StatusRemoved {
		t.Fatalf("the removed message for the reviewer: %+v", d)
	}
	var notices []moderation.Notice
	w.member.do("GET", "/api/v1/me/moderation-notices", nil).json(t, &notices)
	if len(notices) != 1 || notices[0].Template != "message_removed" || notices[0].Text == "" {
		t.Fatalf("notices: %+v", notices)
	}

	// Escalation: only to another compliance officer.
	if r := w.officer.do("POST", "/api/v1/moderation/alerts/"+got[1].ID+"/actions", moderation.Review{Action: "escalate", To: w.memberID}); r.status != 400 {
		t.Fatalf("escalate to a member: %d %s", r.status, r.body)
	}
	if r := w.officer.do("POST", "/api/v1/moderation/alerts/"+got[1].ID+"/actions", moderation.Review{Action: "escalate", To: w.secondID}); r.status != 200 {
		t.Fatalf("escalate: %d %s", r.status, r.body)
	}
	if r := w.second.do("POST", "/api/v1/moderation/alerts/"+got[1].ID+"/actions", moderation.Review{Action: "false_positive"}); r.status != 200 {
		t.Fatalf("the second reviewer closes it: %d %s", r.status, r.body)
	}
	acts := w.auditActions(t)
	for _, want := range []string{"moderation.alert.raise", "moderation.alert.notify", "moderation.alert.remove", "message.remove", "moderation.alert.escalate", "moderation.alert.false_positive"} {
		if !slices.Contains(acts, want) {
			t.Errorf("the audit log lacks %s: %v", want, acts)
		}
	}
}

func TestModerationReportsAndBadInput(t *testing.T) {
	w := startModerationWorld(t)
	ch := w.general.ID
	m := send(t, w.member, ch, "see me after the meeting, alone", "")
	if r := w.guest.do("POST", "/api/v1/messages/"+m.ID+"/report", map[string]string{"category": "harassment", "reason": "This felt intimidating."}); r.status != 202 {
		t.Fatalf("report: %d %s", r.status, r.body)
	}
	if r := w.guest.do("POST", "/api/v1/messages/"+m.ID+"/report", map[string]string{"reason": "again"}); r.status != 409 {
		t.Fatalf("reporting twice: %d %s", r.status, r.body)
	}
	if r := w.admin.do("POST", "/api/v1/messages/"+m.ID+"/report", map[string]string{"reason": strings.Repeat("x", moderation.MaxReportReason+1)}); r.status != 413 {
		t.Fatalf("a huge report: %d %s", r.status, r.body)
	}
	if r := w.admin.do("POST", "/api/v1/messages/"+m.ID+"/report", map[string]string{"category": "rudeness"}); r.status != 400 {
		t.Fatalf("an unknown category: %d %s", r.status, r.body)
	}
	if r := w.admin.do("POST", "/api/v1/messages/"+ids.New()+"/report", map[string]string{}); r.status != 403 {
		t.Fatalf("an unknown message: %d %s", r.status, r.body)
	}
	// A message in a team the guest is not in cannot be reported by the guest.
	board := send(t, w.admin, w.otherChans.ID, "board minutes", "")
	if r := w.guest.do("POST", "/api/v1/messages/"+board.ID+"/report", map[string]string{}); r.status != 403 {
		t.Fatalf("reporting an unseen message: %d %s", r.status, r.body)
	}
	got := w.alerts(t, "")
	if len(got) != 1 || got[0].Kind != moderation.KindReport || got[0].Sender != "Person A" || got[0].Reporter != "Person B" || got[0].Category != "harassment" {
		t.Fatalf("the report in the queue: %+v", got)
	}
	var d moderation.AlertDetail
	w.officer.do("GET", "/api/v1/moderation/alerts/"+got[0].ID, nil).json(t, &d)
	if d.Reason != "This felt intimidating." || len(d.Context) != 1 || !d.Context[0].Alerted {
		t.Fatalf("the report's detail: %+v", d)
	}

	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"unknown alert", "GET", "/api/v1/moderation/alerts/" + ids.New(), nil, 404},
		{"malformed alert id", "GET", "/api/v1/moderation/alerts/..%2f..", nil, 404},
		{"unknown alert action", "POST", "/api/v1/moderation/alerts/" + ids.New() + "/actions", moderation.Review{Action: "resolve"}, 404},
		{"unknown action", "POST", "/api/v1/moderation/alerts/" + got[0].ID + "/actions", moderation.Review{Action: "ban"}, 400},
		{"bad status filter", "GET", "/api/v1/moderation/alerts?status=weird", nil, 400},
		{"bad policy action", "PUT", "/api/v1/moderation/policy", map[string]any{"rules": []map[string]any{{"name": "x", "action": "shout"}}}, 400},
		{"bad policy category", "PUT", "/api/v1/moderation/policy", map[string]any{"rules": []map[string]any{{"name": "x", "action": "flag", "categories": map[string]float64{"rude": 0.5}}}}, 400},
		{"bad policy threshold", "PUT", "/api/v1/moderation/policy", map[string]any{"rules": []map[string]any{{"name": "x", "action": "flag", "categories": map[string]float64{"threat": 2}}}}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := w.officer.do(tc.method, tc.path, tc.body); r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
		})
	}
	// A member is never a reviewer, whatever the alert.
	if r := w.member.do("GET", "/api/v1/moderation/alerts/"+got[0].ID, nil); r.status != 403 {
		t.Fatalf("a member opening an alert: %d", r.status)
	}
	if !slices.Contains(w.auditActions(t), "moderation.report") {
		t.Error("the report is not audited")
	}
}

func TestModerationPatternAlertsPossibleBullying(t *testing.T) {
	w := startModerationWorld(t)
	ch := w.general.ID
	w.setPolicy(t, moderation.Policy{Patterns: true, Rules: []moderation.Rule{{Name: "self-harm only", Action: moderation.ActionFlag,
		Categories: map[moderation.Category]float64{moderation.SelfHarm: 0.9}}}})
	target := "<@" + string(w.guestID) + "> "
	send(t, w.member, ch, target+"you idiot", "")
	send(t, w.admin, ch, target+"you are useless, idiot", "")
	send(t, w.member, ch, target+"shut up, idiot", "")
	got := w.alerts(t, "")
	if len(got) != 1 || got[0].Kind != moderation.KindPattern || got[0].Target == "" || len(got[0].Senders) != 2 || got[0].Messages < 3 {
		t.Fatalf("possible bullying: %+v", got)
	}
	var d moderation.AlertDetail
	w.officer.do("GET", "/api/v1/moderation/alerts/"+got[0].ID, nil).json(t, &d)
	if len(d.Context) < 3 || strings.Contains(d.Context[0].Body, string(w.guestID)) {
		t.Fatalf("pattern context: %+v", d.Context)
	}
}

// TestModerationCanaryNeverReachesDisk holds a message and reports another,
// both carrying a marker, then scans every byte of the data directory: the
// held text and the report's reason are sealed.
func TestModerationCanaryNeverReachesDisk(t *testing.T) {
	w := startModerationWorld(t)
	dir := w.s.Config.DataDir
	canary := "CANARY" + strings.ReplaceAll(ids.New(), "-", "")
	w.setPolicy(t, moderation.Policy{Rules: []moderation.Rule{rule(moderation.ActionBlock, moderation.Threat)}})
	if r := w.member.do("POST", "/api/v1/channels/"+w.general.ID+"/messages", map[string]string{"body": "I will kill you " + canary}); r.status != 422 {
		t.Fatalf("hold: %d %s", r.status, r.body)
	}
	m := send(t, w.member, w.general.ID, "lunch at noon", "")
	if r := w.guest.do("POST", "/api/v1/messages/"+m.ID+"/report", map[string]string{"reason": "it said " + canary}); r.status != 202 {
		t.Fatalf("report: %d %s", r.status, r.body)
	}
	// Both read back through the review queue.
	for _, a := range w.alerts(t, "") {
		r := w.officer.do("GET", "/api/v1/moderation/alerts/"+a.ID, nil)
		if !bytes.Contains(r.body, []byte(canary)) {
			t.Fatalf("alert %s does not read back: %s", a.Kind, r.body)
		}
	}
	scanned := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		scanned[strings.SplitN(rel, string(filepath.Separator), 2)[0]] = true
		if bytes.Contains(b, []byte(canary)) {
			t.Errorf("the canary is readable in %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kaigi.db", "kaigi.db-wal"} {
		if !scanned[want] {
			t.Errorf("%s was not scanned (found %v)", want, scanned)
		}
	}
}
