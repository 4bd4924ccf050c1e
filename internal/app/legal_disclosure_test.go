package app_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/compliance/discovery"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/provider"
)

// TestLegalDisclosureIsTheMinimumBuiltAsAnExport: an operator enters a
// request naming two accounts; review narrows it to non-content; a
// disclosure wider than that, of another tenant's account, of an account
// the request does not name, or by email instead of id is refused; the
// disclosure of one named account is built by the export machinery, downloads
// through the operator's route, verifies with sha256sum and openssl, and
// holds that account's profile and metadata — no message bodies, files or
// meeting titles, and nothing of the other account. A second request,
// under a warrant, discloses content: exactly that account's messages and
// files, kept apart from the non-content. Each download is in the
// operator's own audit log; under a non-disclosure order the customer's log
// shows nothing, and no tenant user can see or download the package.
func TestLegalDisclosureIsTheMinimumBuiltAsAnExport(t *testing.T) {
	onEachEngine(t, testLegalDisclosureIsTheMinimumBuiltAsAnExport)
}

func testLegalDisclosureIsTheMinimumBuiltAsAnExport(t *testing.T, pg bool) {
	w := startPasskeyWorldOn(t, pg)
	op := setUpOperator(t, w.s)
	enrolTOTP(t, w.s, w.admin, "admin@acme.example")
	adminID := mustAccount(t, w, "admin@acme.example")
	maxC := inviteAndSignIn(t, w, "max@acme.example")
	maxID := mustAccount(t, w, "max@acme.example")
	nora := inviteAndSignIn(t, w, "nora@acme.example")
	noraID := mustAccount(t, w, "nora@acme.example")
	_, globexAdmin := secondTenant(t, w, "Globex", "globex.example", "grace@globex.example")
	grace, err := w.s.DB.AccountByEmail(t.Context(), identity.TenantRealm, globexAdmin.Tenant, "grace@globex.example")
	if err != nil {
		t.Fatal(err)
	}

	// Max and Nora talk in a team channel, share files, and Max organises a
	// meeting. Every text carries a marker the non-content package must not.
	var team chat.Team
	if r := maxC.do("POST", "/api/v1/teams", map[string]string{"name": "Project Falcon"}); r.status != 201 {
		t.Fatalf("create team: %d %s", r.status, r.body)
	} else {
		r.json(t, &team)
	}
	if r := maxC.do("PUT", "/api/v1/teams/"+team.ID+"/members/"+string(noraID), map[string]string{"role": "member"}); r.status != 204 {
		t.Fatalf("add Nora: %d %s", r.status, r.body)
	}
	var chans []chat.Channel
	maxC.do("GET", "/api/v1/channels", nil).json(t, &chans)
	general := ""
	for _, c := range chans {
		if c.Team == team.ID {
			general = c.ID
		}
	}
	if general == "" {
		t.Fatal("the team has no General channel")
	}
	mark := "MK" + ids.New()
	maxBodies := []string{"max-body-1 " + mark, "max-body-2 " + mark}
	for _, b := range maxBodies {
		send(t, maxC, general, b, "")
	}
	send(t, nora, general, "nora-body "+mark, "")
	maxFile := []byte("max-file-content " + mark + "\n")
	noraFile := []byte("nora-file-content " + mark + "\n")
	if r := upload(t, maxC, general, "max plan.txt", maxFile); r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	if r := upload(t, nora, general, "nora notes.txt", noraFile); r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	now := w.s.Clock.Now()
	var mt meeting.Created
	if r := maxC.do("POST", "/api/v1/meetings", map[string]any{"title": "meeting-title " + mark, "start": now.Add(time.Hour), "end": now.Add(2 * time.Hour),
		"invitees": []map[string]string{{"account": string(noraID), "role": "attendee"}}}); r.status != 201 {
		t.Fatalf("schedule: %d %s", r.status, r.body)
	} else {
		r.json(t, &mt)
	}

	enter := func(instrument string, asked []string, named ...string) provider.LegalRequest {
		t.Helper()
		var lr provider.LegalRequest
		r := op.do("POST", "/api/v1/operator/legal-requests", map[string]any{"country": "JP", "instrument": instrument, "compulsory": true,
			"customer_type": "enterprise", "tenant": w.tenant.ID, "asked": asked, "details": map[string]any{"agency": "Agency", "accounts": named}})
		if r.status != 201 {
			t.Fatalf("enter: %d %s", r.status, r.body)
		}
		r.json(t, &lr)
		return lr
	}
	step := func(id string, body map[string]any, want int) provider.LegalRequest {
		t.Helper()
		r := op.do("POST", "/api/v1/operator/legal-requests/"+id+"/steps", body)
		if r.status != want {
			t.Fatalf("step %v: %d %s, want %d", body, r.status, r.body, want)
		}
		var lr provider.LegalRequest
		if want == 200 {
			r.json(t, &lr)
		}
		return lr
	}

	// Request 1: a subpoena naming Max (by email, in another case) and Nora
	// (by id), narrowed to non-content, under a non-disclosure order.
	sub := enter("subpoena", []string{"content", "non_content"}, "Max@Acme.example", string(noraID))
	if r := op.do("GET", "/api/v1/operator/legal-requests/"+sub.ID+"/disclosure", nil); r.status != 404 {
		t.Fatalf("a disclosure before any was built: %d %s", r.status, r.body)
	}
	step(sub.ID, map[string]any{"kind": "gag", "until": now.Add(30 * 24 * time.Hour)}, 200)
	step(sub.ID, map[string]any{"kind": "review", "decision": "narrow", "scope": []string{"non_content"}}, 200)
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"wider than approved", map[string]any{"kind": "disclose", "scope": []string{"content"}, "accounts": []string{string(maxID)}}},
		{"wider than approved, both", map[string]any{"kind": "disclose", "scope": []string{"non_content", "content"}, "accounts": []string{string(maxID)}}},
		{"another tenant's account", map[string]any{"kind": "disclose", "scope": []string{"non_content"}, "accounts": []string{string(grace.ID)}}},
		{"one of the tenant but not named", map[string]any{"kind": "disclose", "scope": []string{"non_content"}, "accounts": []string{string(adminID)}}},
		{"one named, one of another tenant", map[string]any{"kind": "disclose", "scope": []string{"non_content"}, "accounts": []string{string(maxID), string(grace.ID)}}},
		{"no such account", map[string]any{"kind": "disclose", "scope": []string{"non_content"}, "accounts": []string{ids.New()}}},
		{"an email, not an id", map[string]any{"kind": "disclose", "scope": []string{"non_content"}, "accounts": []string{"max@acme.example"}}},
		{"twice the same", map[string]any{"kind": "disclose", "scope": []string{"non_content"}, "accounts": []string{string(maxID), string(maxID)}}},
		{"accounts but nothing disclosed", map[string]any{"kind": "disclose", "scope": []string{}, "accounts": []string{string(maxID)}}},
		{"accounts on another step", map[string]any{"kind": "close", "accounts": []string{string(maxID)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := op.do("POST", "/api/v1/operator/legal-requests/"+sub.ID+"/steps", tc.body)
			var eb httpapi.ErrorBody
			json.Unmarshal(r.body, &eb)
			if r.status != 400 || eb.Error.Message == "" {
				t.Fatalf("%d %s, want 400 with a message", r.status, r.body)
			}
			if strings.Contains(tc.name, "another tenant") && !strings.Contains(eb.Error.Message, "not an account of the organisation") {
				t.Fatalf("the refusal does not say why: %s", eb.Error.Message)
			}
		})
	}
	lr := step(sub.ID, map[string]any{"kind": "disclose", "scope": []string{"non_content"}, "accounts": []string{string(maxID)}}, 200)
	if lr.Status != provider.StatusDisclosed || lr.Outcome != provider.OutcomeNonContent || lr.Disclosure == "" {
		t.Fatalf("after the disclosure: %+v", lr)
	}
	dir, pkg, sum := downloadDisclosure(t, op, sub.ID)
	var info discovery.Info
	readJSON(t, filepath.Join(dir, "export.json"), &info)
	if info.Kind != discovery.KindDisclosure || info.ID != lr.Disclosure || info.Request != sub.ID || info.Subject != sub.ID ||
		!slices.Equal(info.Categories, []string{"non_content"}) || !slices.Equal(info.Accounts, []ids.UserID{maxID}) || info.Tenant != string(w.tenant.ID) {
		t.Fatalf("export.json: %+v", info)
	}
	files := packageFiles(t, dir)
	want := []string{"accounts/" + string(maxID) + "/meetings.jsonl", "accounts/" + string(maxID) + "/message_counts.jsonl",
		"accounts/" + string(maxID) + "/profile.json", "accounts/" + string(maxID) + "/signins.jsonl",
		"export.json", discovery.ManifestName, discovery.SignatureName, discovery.KeyName}
	if !slices.Equal(files, want) {
		t.Fatalf("the non-content package holds %v, want exactly %v", files, want)
	}
	var profile struct {
		ID          ids.UserID `json:"id"`
		Email       string     `json:"email"`
		DisplayName string     `json:"display_name"`
		State       string     `json:"state"`
		Created     time.Time  `json:"created"`
	}
	readJSON(t, filepath.Join(dir, "accounts", string(maxID), "profile.json"), &profile)
	if profile.ID != maxID || profile.Email != "max@acme.example" || profile.State != identity.AccountActive || profile.Created.IsZero() {
		t.Fatalf("profile: %+v", profile)
	}
	signIns := jsonLines[discovery.SignIn](t, filepath.Join(dir, "accounts", string(maxID), "signins.jsonl"))
	if len(signIns) == 0 || signIns[0].At.IsZero() || signIns[0].Address == "" || signIns[0].Result == "" {
		t.Fatalf("sign-ins: %+v", signIns)
	}
	meetings := jsonLines[discovery.MeetingMeta](t, filepath.Join(dir, "accounts", string(maxID), "meetings.jsonl"))
	if len(meetings) != 1 || meetings[0].ID != mt.ID || meetings[0].Role != "organizer" || !meetings[0].Start.Equal(mt.Start) {
		t.Fatalf("meetings: %+v", meetings)
	}
	counts := jsonLines[discovery.MessageCount](t, filepath.Join(dir, "accounts", string(maxID), "message_counts.jsonl"))
	var inGeneral int64
	for _, c := range counts {
		if c.Channel == general && c.Date == now.UTC().Format(time.DateOnly) {
			inGeneral += c.Messages
		}
	}
	if inGeneral != int64(len(maxBodies))+1 { // the two messages and the one carrying the file
		t.Fatalf("message counts: %+v", counts)
	}
	// Nothing of content, and nothing of Nora, anywhere in the package.
	for _, bad := range []string{mark, "max-body", "max-file", "meeting-title", "nora", string(noraID), "max plan"} {
		if bytes.Contains(bytes.ToLower(pkg), bytes.ToLower([]byte(bad))) {
			t.Errorf("the non-content package holds %q", bad)
		}
	}

	// The download is in the operator's own log, with the request, the
	// export, the categories and the package's hash.
	if !slices.ContainsFunc(auditActions(t, w.s, ids.ServiceTenant), func(r audit.Record) bool {
		d := r.DetailMap()
		return r.Action == "legal.disclosure.download" && r.Target == "legal-request:"+sub.ID && d["export"] == lr.Disclosure &&
			d["categories"] == "non_content" && d["sha256"] == sum && r.ActorKind != ""
	}) {
		t.Fatal("the download is not in the operator's audit log with the request, export, categories and SHA-256")
	}
	// Under the non-disclosure order the customer's log shows nothing of it,
	// and nobody of the tenant sees or downloads the package.
	for _, r := range auditActions(t, w.s, w.tenant.ID) {
		if strings.Contains(r.Target, lr.Disclosure) || strings.Contains(r.Details, lr.Disclosure) || strings.Contains(r.Details, discovery.KindDisclosure) ||
			strings.HasPrefix(r.Action, "legal.") {
			t.Fatalf("the customer's audit log shows the disclosure during a gag: %+v", r)
		}
	}
	for name, c := range map[string]*client{"the tenant admin": w.admin, "Max": maxC} {
		for _, path := range []string{"/api/v1/exports/" + lr.Disclosure, "/api/v1/exports/" + lr.Disclosure + "/package"} {
			if r := c.do("GET", path, nil); r.status != 404 {
				t.Fatalf("%s GET %s: %d", name, path, r.status)
			}
		}
	}
	var adminExports []discovery.Export
	w.admin.do("GET", "/api/v1/admin/exports", nil).json(t, &adminExports)
	if len(adminExports) != 0 {
		t.Fatalf("the tenant admin lists %+v", adminExports)
	}

	// Request 2: a warrant naming Max by id, approved for both categories.
	war := enter("warrant", []string{"content", "non_content"}, string(maxID))
	step(war.ID, map[string]any{"kind": "review", "decision": "proceed", "scope": []string{"content", "non_content"}}, 200)
	step(war.ID, map[string]any{"kind": "disclose", "scope": []string{"content", "non_content"}, "accounts": []string{string(noraID)}}, 400) // not named
	lr = step(war.ID, map[string]any{"kind": "disclose", "scope": []string{"content", "non_content"}, "accounts": []string{string(maxID)}}, 200)
	if lr.Outcome != provider.OutcomeContent || lr.Disclosure == "" {
		t.Fatalf("after the disclosure: %+v", lr)
	}
	dir, pkg, _ = downloadDisclosure(t, op, war.ID)
	readJSON(t, filepath.Join(dir, "export.json"), &info)
	if info.Request != war.ID || !slices.Equal(info.Categories, []string{"non_content", "content"}) || !slices.Equal(info.Accounts, []ids.UserID{maxID}) {
		t.Fatalf("export.json: %+v", info)
	}
	recs := readRecords(t, dir)
	var bodies []string
	var sawFile bool
	inGeneral = 0
	for _, rec := range recs {
		if rec.Author != maxID {
			t.Fatalf("a message of someone else: %+v", rec)
		}
		if rec.Channel == general {
			inGeneral++
		}
		bodies = append(bodies, rec.Body)
		for _, a := range rec.Attachments {
			b, err := os.ReadFile(filepath.Join(dir, a.Path))
			if err != nil || !bytes.Equal(b, maxFile) || a.Name != "max plan.txt" {
				t.Fatalf("attachment %+v: %v", a, err)
			}
			sawFile = true
		}
	}
	for _, b := range maxBodies {
		if !slices.Contains(bodies, b) {
			t.Fatalf("Max's message %q is missing: %q", b, bodies)
		}
	}
	if !sawFile || inGeneral != int64(len(maxBodies))+1 {
		t.Fatalf("%d records (%d in the team's channel), file %v", len(recs), inGeneral, sawFile)
	}
	files = packageFiles(t, dir)
	for _, f := range files {
		top, _, _ := strings.Cut(f, "/")
		if !slices.Contains([]string{"accounts", "attachments", "export.json", "messages.jsonl", discovery.ManifestName, discovery.SignatureName, discovery.KeyName}, top) ||
			top == "accounts" && !strings.HasPrefix(f, "accounts/"+string(maxID)+"/") {
			t.Fatalf("the content package holds %s", f)
		}
	}
	for _, bad := range []string{"nora", string(noraID), "meeting-title"} {
		if bytes.Contains(bytes.ToLower(pkg), bytes.ToLower([]byte(bad))) {
			t.Errorf("the content package holds %q", bad)
		}
	}

	// Request 3: nothing found builds nothing.
	none := enter("court_order", []string{"non_content"}, string(maxID))
	step(none.ID, map[string]any{"kind": "review", "decision": "proceed", "scope": []string{"non_content"}}, 200)
	if lr := step(none.ID, map[string]any{"kind": "disclose", "scope": []string{}}, 200); lr.Disclosure != "" || lr.Outcome != provider.OutcomeNoData {
		t.Fatalf("nothing found: %+v", lr)
	}
	if r := op.do("GET", "/api/v1/operator/legal-requests/"+none.ID+"/disclosure", nil); r.status != 404 {
		t.Fatalf("the disclosure of nothing: %d %s", r.status, r.body)
	}
	// Tenant users never reach the route.
	if r := w.admin.do("GET", "/api/v1/operator/legal-requests/"+war.ID+"/disclosure", nil); r.status != 403 && r.status != 401 {
		t.Fatalf("a tenant admin downloads a disclosure: %d", r.status)
	}
}

// downloadDisclosure waits for a request's disclosure package (409 while it
// is built), downloads it as the operator, checks its SHA-256 header, its
// manifest with sha256sum and its signature with openssl against the key
// the server publishes, and returns the extracted directory, the package
// and its SHA-256.
func downloadDisclosure(t *testing.T, op *client, request string) (string, []byte, string) {
	t.Helper()
	var r response
	deadline := time.Now().Add(60 * time.Second)
	for {
		r = op.do("GET", "/api/v1/operator/legal-requests/"+request+"/disclosure", nil)
		if r.status != http.StatusConflict || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := verifyPackageResponse(t, op, r, "export.json")
	sum := sha256.Sum256(r.body)
	return out, r.body, hex.EncodeToString(sum[:])
}

// packageFiles lists the files of an extracted package, sorted.
func packageFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func jsonLines[T any](t *testing.T, path string) []T {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%s line %q: %v", path, line, err)
		}
		out = append(out, v)
	}
	return out
}
