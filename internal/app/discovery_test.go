package app_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/app"
	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/compliance/discovery"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// discoveryOfficer invites a member, makes them a compliance officer and signs
// them in with a second factor.
func discoveryOfficer(t *testing.T, w *world, email string) (*client, ids.UserID) {
	t.Helper()
	inviteAndSignIn(t, w, email)
	id := mustAccount(t, w, email)
	if r := w.admin.do("PUT", "/api/v1/admin/accounts/"+string(id)+"/roles", map[string]any{"roles": []string{"compliance_officer"}}); r.status != 204 {
		t.Fatalf("make %s a compliance officer: %d %s", email, r.status, r.body)
	}
	c := newClient(t, w.s.URL)
	enrolTOTP(t, w.s, c, email)
	return c, id
}

// waitJob polls path (an export or a search) until its job is done.
func waitJob(t *testing.T, c *client, path string) []byte {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		r := c.do("GET", path, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		var v struct {
			State    string `json:"state"`
			Progress struct {
				State string `json:"state"`
				Error string `json:"error"`
			} `json:"progress"`
		}
		r.json(t, &v)
		switch {
		case v.State == "done":
			return r.body
		case v.State == "failed" || v.Progress.State == "failed":
			t.Fatalf("%s failed: %s", path, r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not finish in time", path)
	return nil
}

// verifyPackage downloads an export as c through the API, extracts it with
// tar, checks it with sha256sum and its signature with openssl against the
// key the server publishes, and returns the directory and the package.
func verifyPackage(t *testing.T, c *client, exportID string) (string, []byte, http.Header) {
	t.Helper()
	r := c.do("GET", "/api/v1/exports/"+exportID+"/package", nil)
	return verifyPackageResponse(t, c, r, "messages.jsonl"), r.body, r.header
}

// verifyPackageResponse checks a downloaded package as verifyPackage does
// (its SHA-256 header, sha256sum -c with listed among the files checked,
// every file in the manifest, the signature with openssl and the published
// key, a changed manifest refused) and returns the extracted directory.
func verifyPackageResponse(t *testing.T, c *client, r response, listed string) string {
	t.Helper()
	if r.status != 200 || r.header.Get("Content-Type") != "application/x-tar" {
		t.Fatalf("download: %d %.300s", r.status, r.body)
	}
	sum := sha256.Sum256(r.body)
	if got := r.header.Get("X-Kaigi-SHA256"); got != hex.EncodeToString(sum[:]) {
		t.Fatalf("the package's SHA-256 header %s is not its hash %x", got, sum)
	}
	dir := t.TempDir()
	pkg := filepath.Join(dir, "package.tar")
	if err := os.WriteFile(pkg, r.body, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "x")
	os.Mkdir(out, 0o700)
	run := func(dir string, name string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), name, args...)
		cmd.Dir = dir
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, b)
		}
		return string(b)
	}
	run(out, "tar", "-xf", pkg)
	check := run(out, "sha256sum", "-c", "--strict", discovery.ManifestName)
	if strings.Contains(check, "FAILED") || !strings.Contains(check, listed+": OK") {
		t.Fatalf("sha256sum -c:\n%s", check)
	}
	// Every file but the manifest and its signature is in the manifest.
	man, _ := os.ReadFile(filepath.Join(out, discovery.ManifestName))
	filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, path)
		if rel != discovery.ManifestName && rel != discovery.SignatureName && !strings.Contains(string(man), "  "+rel+"\n") {
			t.Errorf("%s is not in the manifest", rel)
		}
		return nil
	})
	// The key comes from the server's public route, not from the package.
	var info httpapi.ServiceInfo
	if status, body := get(t, c.base+"/api/v1/service"); status != 200 || json.Unmarshal(body, &info) != nil {
		t.Fatalf("service info: %d", status)
	}
	keyFile := filepath.Join(dir, "server-key.pem")
	os.WriteFile(keyFile, []byte(info.PublicKeyPEM), 0o600)
	v := run(out, "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", keyFile, "-rawin", "-in", discovery.ManifestName, "-sigfile", discovery.SignatureName)
	if !strings.Contains(v, "Signature Verified Successfully") {
		t.Fatalf("openssl: %s", v)
	}
	// A changed manifest does not verify.
	os.WriteFile(filepath.Join(dir, "tampered"), append(man, '\n'), 0o600)
	cmd := exec.CommandContext(t.Context(), "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", keyFile, "-rawin", "-in", filepath.Join(dir, "tampered"), "-sigfile", discovery.SignatureName)
	cmd.Dir = out
	if b, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("a changed manifest verified: %s", b)
	}
	return out
}

func readRecords(t *testing.T, dir string) []discovery.Record {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "messages.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []discovery.Record
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var r discovery.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("messages.jsonl line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// TestEDiscoveryCaseSearchExportVerifiesOutsideKaigi is the acceptance test
// of eDiscovery: a filled tenant, a case, searches, a review set, an export
// downloaded through the API that sha256sum and openssl accept; nothing
// outside the searched locations in the package; non-members see nothing.
func TestEDiscoveryCaseSearchExportVerifiesOutsideKaigi(t *testing.T) {
	w := startChatWorld(t)
	officer, officerID := discoveryOfficer(t, w.world, "cora@acme.example")
	outsider, _ := discoveryOfficer(t, w.world, "otto@acme.example")

	// The tenant: messages in the Falcon team (edited, with an attachment),
	// in a private chat, and in the Board team, which the search leaves out.
	first := send(t, w.member, w.general.ID, "The falcon budget is ready for review.", "")
	send(t, w.guest, w.general.ID, "Ｂｕｄｇｅｔ numbers attached below", first.ID) // full-width: folded like chat search
	send(t, w.member, w.general.ID, "Lunch at noon?", "")
	edited := send(t, w.member, w.general.ID, "draft: numbers pending", "")
	if r := w.member.do("PATCH", "/api/v1/messages/"+edited.ID, map[string]string{"body": "final figures approved"}); r.status != 200 {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	fileContent := []byte("Falcon plan, quarter 3: the BUDGET line items.\n")
	if r := upload(t, w.member, w.general.ID, "falcon budget plan.txt", fileContent); r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	board := send(t, w.admin, w.otherChans.ID, "Board only: the budget for the acquisition is secret-canary-7731.", "")
	for i := range 30 {
		send(t, w.admin, w.otherChans.ID, "board filler "+strings.Repeat("x", i), "")
	}

	// A case; only its members see it.
	var c discovery.Case
	r := officer.do("POST", "/api/v1/ediscovery/cases", map[string]string{"name": "Falcon budget inquiry"})
	if r.status != 201 {
		t.Fatalf("create case: %d %s", r.status, r.body)
	}
	r.json(t, &c)
	if c.State != discovery.Open || len(c.Members) != 1 || c.Members[0].Account != officerID {
		t.Fatalf("case: %+v", c)
	}
	for name, cl := range map[string]*client{"another compliance officer": outsider} {
		if r := cl.do("GET", "/api/v1/ediscovery/cases/"+c.ID, nil); r.status != 404 {
			t.Fatalf("%s sees the case: %d", name, r.status)
		}
		var list []discovery.Case
		cl.do("GET", "/api/v1/ediscovery/cases", nil).json(t, &list)
		if len(list) != 0 {
			t.Fatalf("%s lists the case", name)
		}
		if r := cl.do("POST", "/api/v1/ediscovery/cases/"+c.ID+"/searches", map[string]string{"keywords": "budget"}); r.status != 404 {
			t.Fatalf("%s searches the case: %d", name, r.status)
		}
	}
	if r := w.admin.do("GET", "/api/v1/ediscovery/cases/"+c.ID, nil); r.status != 403 {
		t.Fatalf("a tenant admin sees the case: %d", r.status)
	}

	// Bad queries get clear refusals.
	for _, tc := range []struct {
		name string
		q    any
	}{
		{"thousands of words", map[string]any{"keywords": strings.Repeat("word ", 3000)}},
		{"too many words", map[string]any{"keywords": strings.Repeat("w ", 60)}},
		{"huge range", map[string]any{"keywords": "budget", "from": "0001-01-01T00:00:00Z", "to": "9999-01-01T00:00:00Z"}},
		{"backwards range", map[string]any{"keywords": "budget", "from": "2026-12-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}},
		{"invalid location id", map[string]any{"keywords": "budget", "locations": []string{"../../etc"}}},
		{"unknown location", map[string]any{"keywords": "budget", "locations": []string{ids.New()}}},
		{"unknown sender", map[string]any{"senders": []string{"nobody"}}},
		{"no condition", map[string]any{}},
		{"not JSON", "budget"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := officer.do("POST", "/api/v1/ediscovery/cases/"+c.ID+"/searches", tc.q)
			if r.status != 400 && r.status != 413 {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
	// Another tenant's channel is refused like an unknown one.
	_, otherAdmin := secondTenant(t, w.world, "Globex", "globex.example", "gina@globex.example")
	otherTeam, err := w.s.Chat.CreateTeam(t.Context(), otherAdmin, "Globex secrets", "")
	if err != nil {
		t.Fatal(err)
	}
	if r := officer.do("POST", "/api/v1/ediscovery/cases/"+c.ID+"/searches", map[string]any{"keywords": "budget", "locations": []string{otherTeam.ID}}); r.status != 400 {
		t.Fatalf("another tenant's team as location: %d %s", r.status, r.body)
	}

	// Search the Falcon team for "budget".
	var sr discovery.Search
	r = officer.do("POST", "/api/v1/ediscovery/cases/"+c.ID+"/searches", map[string]any{"keywords": "BUDGET", "locations": []string{w.team.ID}})
	if r.status != 202 {
		t.Fatalf("search: %d %s", r.status, r.body)
	}
	r.json(t, &sr)
	json.Unmarshal(waitJob(t, officer, "/api/v1/ediscovery/searches/"+sr.ID), &sr)
	if sr.Hits != 3 || sr.HitsHash == "" {
		t.Fatalf("search found %d (want 3: the message, the full-width reply, the attachment by name): %+v", sr.Hits, sr)
	}
	var pg discovery.Page
	officer.do("GET", "/api/v1/ediscovery/searches/"+sr.ID+"/results", nil).json(t, &pg)
	if len(pg.Items) != 3 {
		t.Fatalf("results: %+v", pg)
	}
	for _, it := range pg.Items {
		if it.Channel != w.general.ID || strings.Contains(it.Body, "canary") {
			t.Fatalf("a result from outside the location: %+v", it)
		}
	}
	if r := outsider.do("GET", "/api/v1/ediscovery/searches/"+sr.ID+"/results", nil); r.status != 404 {
		t.Fatalf("a non-member reads results: %d", r.status)
	}
	// An earlier version is found too.
	var sr2 discovery.Search
	officer.do("POST", "/api/v1/ediscovery/cases/"+c.ID+"/searches", map[string]any{"keywords": "pending", "senders": []string{string(w.memberID)}}).json(t, &sr2)
	json.Unmarshal(waitJob(t, officer, "/api/v1/ediscovery/searches/"+sr2.ID), &sr2)
	if sr2.Hits != 1 {
		t.Fatalf("a word of an earlier version: %d hits", sr2.Hits)
	}

	// The review set: the budget results and the edited message.
	var added httpapi.ReviewAdded
	officer.do("POST", "/api/v1/ediscovery/cases/"+c.ID+"/review", map[string]any{"search": sr.ID}).json(t, &added)
	officer.do("POST", "/api/v1/ediscovery/cases/"+c.ID+"/review", map[string]any{"search": sr2.ID, "items": []string{edited.ID}})
	if added.Added != 3 {
		t.Fatalf("review add: %+v", added)
	}
	if r := officer.do("POST", "/api/v1/ediscovery/cases/"+c.ID+"/review", map[string]any{"search": sr.ID, "items": []string{board.ID}}); r.status != 400 {
		t.Fatalf("adding a message that is not a hit: %d", r.status)
	}

	// Export the review set.
	var e discovery.Export
	r = officer.do("POST", "/api/v1/ediscovery/cases/"+c.ID+"/exports", map[string]string{"source": "review"})
	if r.status != 202 {
		t.Fatalf("export: %d %s", r.status, r.body)
	}
	r.json(t, &e)
	json.Unmarshal(waitJob(t, officer, "/api/v1/exports/"+e.ID), &e)
	if e.Messages != 4 || e.Files != 1 || e.Progress == nil || e.Progress.Done != e.Progress.Total {
		t.Fatalf("export: %+v %+v", e, e.Progress)
	}
	for name, cl := range map[string]*client{"another compliance officer": outsider, "the tenant admin": w.admin, "a member": w.member} {
		if r := cl.do("GET", "/api/v1/exports/"+e.ID+"/package", nil); r.status != 404 {
			t.Fatalf("%s downloads the case's package: %d", name, r.status)
		}
		if r := cl.do("GET", "/api/v1/exports/"+e.ID, nil); r.status != 404 {
			t.Fatalf("%s sees the case's export: %d", name, r.status)
		}
	}
	dir, pkg, _ := verifyPackage(t, officer, e.ID)
	recs := readRecords(t, dir)
	if len(recs) != 4 {
		t.Fatalf("messages.jsonl has %d records", len(recs))
	}
	var sawVersion, sawFile bool
	for _, rec := range recs {
		if rec.Channel != w.general.ID || rec.TeamName != "Project Falcon" || rec.AuthorName == "" {
			t.Fatalf("record: %+v", rec)
		}
		if rec.ID == edited.ID && len(rec.Versions) == 1 && rec.Versions[0].Body == "draft: numbers pending" && rec.Body == "final figures approved" {
			sawVersion = true
		}
		for _, a := range rec.Attachments {
			b, err := os.ReadFile(filepath.Join(dir, a.Path))
			if err != nil || !bytes.Equal(b, fileContent) || a.Name != "falcon budget plan.txt" {
				t.Fatalf("attachment %+v: %v", a, err)
			}
			sawFile = true
		}
	}
	if !sawVersion || !sawFile {
		t.Fatalf("versions %v, attachment %v", sawVersion, sawFile)
	}
	if bytes.Contains(pkg, []byte("secret-canary-7731")) || bytes.Contains(pkg, []byte("board filler")) {
		t.Fatal("the package holds messages from outside the case")
	}

	// Audited: the search with what it found, the download with the
	// package's hash; never the keywords.
	recsAudit, err := w.s.DB.AuditRecords(t.Context(), w.tenant.ID, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	pkgSum := sha256.Sum256(pkg)
	var ran, downloaded bool
	for _, a := range recsAudit {
		if strings.Contains(strings.ToLower(a.Details), "budget") || strings.Contains(a.Details, "pending") {
			t.Fatalf("audit details hold a keyword: %s %s", a.Action, a.Details)
		}
		d := a.DetailMap()
		switch a.Action {
		case "ediscovery.search.run":
			if a.Target == "search:"+sr.ID && d["hits"] == "3" && d["hits_sha256"] == sr.HitsHash {
				ran = true
			}
		case "export.download":
			if a.Target == "export:"+e.ID && d["sha256"] == hex.EncodeToString(pkgSum[:]) && a.ActorID == string(officerID) {
				downloaded = true
			}
		}
	}
	if !ran || !downloaded {
		t.Fatalf("audit: search run %v, download %v", ran, downloaded)
	}

	// Closing the case stops new work; reopening allows it again.
	if r := officer.do("POST", "/api/v1/ediscovery/cases/"+c.ID+"/state", map[string]string{"state": "closed"}); r.status != 200 {
		t.Fatalf("close: %d", r.status)
	}
	if r := officer.do("POST", "/api/v1/ediscovery/cases/"+c.ID+"/searches", map[string]string{"keywords": "budget"}); r.status != 409 {
		t.Fatalf("search a closed case: %d", r.status)
	}
	officer.do("POST", "/api/v1/ediscovery/cases/"+c.ID+"/state", map[string]string{"state": "open"})
	// Members are compliance officers; a member adds another.
	if r := officer.do("PUT", "/api/v1/ediscovery/cases/"+c.ID+"/members/"+string(w.memberID), nil); r.status != 400 {
		t.Fatalf("adding a plain member: %d", r.status)
	}
	ottoID := mustAccount(t, w.world, "otto@acme.example")
	if r := officer.do("PUT", "/api/v1/ediscovery/cases/"+c.ID+"/members/"+string(ottoID), nil); r.status != 200 {
		t.Fatalf("add member: %d %s", r.status, r.body)
	}
	if r := outsider.do("GET", "/api/v1/exports/"+e.ID+"/package", nil); r.status != 200 {
		t.Fatalf("a new member downloads: %d", r.status)
	}
	if r := outsider.do("DELETE", "/api/v1/ediscovery/cases/"+c.ID+"/members/"+string(ottoID), nil); r.status != 204 {
		t.Fatalf("leave: %d", r.status)
	}
	if r := outsider.do("GET", "/api/v1/exports/"+e.ID+"/package", nil); r.status != 404 {
		t.Fatalf("a former member downloads: %d", r.status)
	}
}

// TestOwnDataAndTenantExportsVerify: a person downloads their own data (their
// messages only), an admin exports a person and the whole tenant; each
// package verifies, and nobody else can download them.
func TestOwnDataAndTenantExportsVerify(t *testing.T) {
	w := startChatWorld(t)
	mine := send(t, w.member, w.general.ID, "my own words", "")
	send(t, w.guest, w.general.ID, "the guest's words", mine.ID)
	send(t, w.admin, w.otherChans.ID, "board words", "")
	var chatCh chat.Channel
	if r := w.admin.do("POST", "/api/v1/chats", map[string]any{"with": []string{string(w.guestID)}}); r.status != 200 {
		t.Fatalf("start chat: %d %s", r.status, r.body)
	} else {
		r.json(t, &chatCh)
	}
	send(t, w.admin, chatCh.ID, "private to the guest", "")

	// The first step waits, so that the export is under way when asked again.
	release := make(chan struct{})
	w.s.Discovery.SetAfterStep(func(ctx context.Context, _ string, _ int) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	var e discovery.Export
	if r := w.member.do("POST", "/api/v1/me/exports", nil); r.status != 202 {
		t.Fatalf("own export: %d %s", r.status, r.body)
	} else {
		r.json(t, &e)
	}
	if r := w.member.do("POST", "/api/v1/me/exports", nil); r.status != 409 {
		t.Fatalf("a second own export while the first runs: %d %s", r.status, r.body)
	}
	close(release)
	w.s.Discovery.SetAfterStep(nil)
	json.Unmarshal(waitJob(t, w.member, "/api/v1/exports/"+e.ID), &e)
	for name, cl := range map[string]*client{"a guest": w.guest, "the admin": w.admin} {
		if r := cl.do("GET", "/api/v1/exports/"+e.ID+"/package", nil); r.status != 404 {
			t.Fatalf("%s downloads another's own data: %d", name, r.status)
		}
	}
	dir, pkg, _ := verifyPackage(t, w.member, e.ID)
	recs := readRecords(t, dir)
	if len(recs) != 1 || recs[0].Body != "my own words" {
		t.Fatalf("own data: %+v", recs)
	}
	if bytes.Contains(pkg, []byte("guest's words")) || bytes.Contains(pkg, []byte("board words")) {
		t.Fatal("own data holds other people's messages")
	}
	var prof discovery.Profile
	b, _ := os.ReadFile(filepath.Join(dir, "profile.json"))
	if json.Unmarshal(b, &prof) != nil || prof.ID != w.memberID || bytes.Contains(b, []byte("password")) {
		t.Fatalf("profile: %s", b)
	}

	// The admin exports the guest's data.
	if r := w.member.do("POST", "/api/v1/admin/accounts/"+string(w.guestID)+"/exports", nil); r.status != 403 {
		t.Fatalf("a member exports another: %d", r.status)
	}
	var ue discovery.Export
	w.admin.do("POST", "/api/v1/admin/accounts/"+string(w.guestID)+"/exports", nil).json(t, &ue)
	waitJob(t, w.admin, "/api/v1/exports/"+ue.ID)
	dir, _, _ = verifyPackage(t, w.admin, ue.ID)
	if recs := readRecords(t, dir); len(recs) != 1 || recs[0].Body != "the guest's words" {
		t.Fatalf("the guest's data: %+v", recs)
	}
	if r := w.admin.do("POST", "/api/v1/admin/accounts/"+ids.New()+"/exports", nil); r.status != 404 {
		t.Fatalf("exporting an unknown person: %d", r.status)
	}

	// A meeting the member organised, with a recording (written as the
	// media server writes one: a row and a sealed blob).
	var mt struct {
		ID string `json:"id"`
	}
	if r := w.member.do("POST", "/api/v1/meetings/instant", map[string]string{"title": "Falcon sync"}); r.status != 201 {
		t.Fatalf("meeting: %d %s", r.status, r.body)
	} else {
		r.json(t, &mt)
	}
	recording := []byte("\x1aE\xdf\xa3 not really webm, but bytes all the same")
	rec := meeting.Recording{ID: ids.New(), Tenant: w.tenant.ID, Meeting: mt.ID, Name: "Max", Kind: "camera+microphone", Bytes: int64(len(recording)),
		Started: w.s.Clock.Now(), Created: w.s.Clock.Now(), BlobKey: "recordings/" + mt.ID + "/max", StartedBy: w.memberID}
	if _, err := w.s.Blobs.Put(t.Context(), w.tenant.ID, rec.BlobKey, bytes.NewReader(recording)); err != nil {
		t.Fatal(err)
	}
	if err := w.s.DB.InTx(t.Context(), func(tx *store.Tx) error { return tx.InsertRecording(t.Context(), rec) }); err != nil {
		t.Fatal(err)
	}

	// The whole tenant.
	var te discovery.Export
	w.admin.do("POST", "/api/v1/admin/exports", nil).json(t, &te)
	waitJob(t, w.admin, "/api/v1/exports/"+te.ID)
	if r := w.member.do("GET", "/api/v1/exports/"+te.ID+"/package", nil); r.status != 404 {
		t.Fatalf("a member downloads the tenant: %d", r.status)
	}
	dir, _, _ = verifyPackage(t, w.admin, te.ID)
	recs = readRecords(t, dir)
	if len(recs) < 3 {
		t.Fatalf("tenant export has %d messages", len(recs))
	}
	for _, f := range []string{"users.jsonl", "teams.jsonl", "channels.jsonl", "meetings.jsonl", "audit.jsonl", "policies/moderation.json", "tenant.json", "export.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("tenant export lacks %s", f)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "recordings", rec.ID+"-camera_microphone.webm")); err != nil || !bytes.Equal(b, recording) {
		t.Fatalf("the recording in the tenant export: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "meetings.jsonl")); !bytes.Contains(b, []byte("Falcon sync")) {
		t.Fatalf("meetings.jsonl: %s", b)
	}
	users, _ := os.ReadFile(filepath.Join(dir, "users.jsonl"))
	if !bytes.Contains(users, []byte("max@acme.example")) || bytes.Contains(users, []byte("password_hash")) {
		t.Fatalf("users.jsonl: %s", users)
	}
	var list []discovery.Export
	w.admin.do("GET", "/api/v1/admin/exports", nil).json(t, &list)
	if len(list) != 2 {
		t.Fatalf("admin exports: %d", len(list))
	}
}

// manualNode runs a node that the test can stop in the middle of its work.
type manualNode struct {
	a      *app.App
	url    string
	cancel context.CancelFunc
	done   chan error
}

func startManualNode(t *testing.T, dir, databaseURL string) *manualNode {
	t.Helper()
	cfg := config.Default()
	cfg.Addr, cfg.DataDir, cfg.DatabaseURL = "127.0.0.1:0", dir, databaseURL
	cfg.ShutdownTimeout = config.Duration(5 * time.Second)
	cfg.MediaUDPAddr, cfg.MediaTCPAddr, cfg.TURNAddr, cfg.MediaLoopback = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", true
	cfg.TrustedProxies = "127.0.0.1/32"
	fake := clock.NewFake(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	a, err := app.New(t.Context(), cfg, slog.New(slog.DiscardHandler), app.Options{Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := a.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &manualNode{a: a, url: "http://" + ln.Addr().(*net.TCPAddr).String(), cancel: cancel, done: make(chan error, 1)}
	go func() { n.done <- a.Serve(ctx, ln) }()
	waitReadyURL(t, n.url)
	return n
}

// world makes a tenant on the node with its admin signed in (password and
// TOTP), for the tests that stop and start nodes by hand.
func (n *manualNode) world(t *testing.T) *world {
	t.Helper()
	w := &world{s: &apptest.Server{App: n.a, URL: n.url}}
	tenant, link, err := n.a.Identity.CreateTenant(t.Context(), principal.Job("test", ""), identity.NewTenant{Name: "Acme Corp", Domain: "acme.example", AdminEmail: "admin@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	w.tenant = tenant
	w.admin = newClient(t, n.url)
	if r := w.admin.do("POST", "/api/v1/invitations/accept", map[string]string{"token": fragmentParam(t, link, "token"), "display_name": "Ada Admin", "password": goodPassword}); r.status != 201 {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	w.s.Clock = n.a.Clock.(*clock.Fake)
	w.secret = enrolTOTP(t, w.s, w.admin, "admin@acme.example")
	return w
}

// onBothEngines runs test on SQLite (an empty database URL) and on
// PostgreSQL.
func onBothEngines(t *testing.T, test func(t *testing.T, databaseURL string)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			dbURL := ""
			if engine == "postgres" {
				dbURL = storetest.PostgresSchemaURL(t)
			}
			test(t, dbURL)
		})
	}
}

func (n *manualNode) stop(t *testing.T) {
	t.Helper()
	n.cancel()
	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the node did not stop")
	}
	n.a.Close()
}

func waitReadyURL(t *testing.T, url string) {
	t.Helper()
	for range 200 {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not become healthy", url)
}

// TestExportResumesAfterARestart stops the node in the middle of an export
// (after its first parts are written) and starts it again on the same data,
// on SQLite and on PostgreSQL: the job resumes from its checkpoint and the
// package still verifies.
func TestExportResumesAfterARestart(t *testing.T) {
	onBothEngines(t, exportResumesAfterARestart)
}

func exportResumesAfterARestart(t *testing.T, dbURL string) {
	dir := t.TempDir()
	n := startManualNode(t, dir, dbURL)
	w := n.world(t)
	officer, _ := discoveryOfficer(t, w, "cora@acme.example")
	var team chat.Team
	w.admin.do("POST", "/api/v1/teams", map[string]string{"name": "Falcon"}).json(t, &team)
	var chans []chat.Channel
	w.admin.do("GET", "/api/v1/channels", nil).json(t, &chans)
	ch := chans[0].ID
	for i := range 5 {
		if r := upload(t, w.admin, ch, "plan-"+string(rune('a'+i))+".txt", []byte(strings.Repeat("plan line\n", i+1))); r.status != 201 {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
	}
	for i := range 450 {
		send(t, w.admin, ch, "status report "+strings.Repeat("z", i%7), "")
	}

	var c discovery.Case
	officer.do("POST", "/api/v1/ediscovery/cases", map[string]string{"name": "Restart"}).json(t, &c)
	var sr discovery.Search
	officer.do("POST", "/api/v1/ediscovery/cases/"+c.ID+"/searches", map[string]any{"locations": []string{team.ID}}).json(t, &sr)
	json.Unmarshal(waitJob(t, officer, "/api/v1/ediscovery/searches/"+sr.ID), &sr)
	if sr.Hits != 455 {
		t.Fatalf("search: %d hits", sr.Hits)
	}

	// Stop the node once the export has written two steps.
	stopped := make(chan struct{})
	n.a.Discovery.SetAfterStep(func(ctx context.Context, export string, step int) {
		if step == 2 {
			close(stopped)
			<-ctx.Done() // the node is going down
		}
	})
	var e discovery.Export
	officer.do("POST", "/api/v1/ediscovery/cases/"+c.ID+"/exports", map[string]string{"source": "search", "search": sr.ID}).json(t, &e)
	select {
	case <-stopped:
	case <-time.After(60 * time.Second):
		t.Fatal("the export did not reach its second step")
	}
	go n.cancel()
	n.stop(t)

	logs := &lockedBuffer{}
	s := apptest.Start(t, apptest.Options{DataDir: dir, Log: slog.New(slog.NewJSONHandler(logs, nil)),
		Config: func(c *config.Config) { c.TrustedProxies, c.DatabaseURL = "127.0.0.1/32", dbURL }})
	officer.base = s.URL
	json.Unmarshal(waitJob(t, officer, "/api/v1/exports/"+e.ID), &e)
	if e.Progress == nil || e.Progress.Attempts < 2 {
		t.Fatalf("the export did not resume: %+v", e.Progress)
	}
	// The new node took the job up from its checkpoint, not from the start.
	resumed := false
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec struct {
			Msg       string `json:"msg"`
			Job       string `json:"job"`
			CursorSet bool   `json:"cursor_set"`
			Done      int64  `json:"done"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "job started" && rec.Job == e.Job && rec.CursorSet && rec.Done > 0 {
			resumed = true
		}
	}
	if !resumed {
		t.Fatalf("the restarted node did not resume the export from its checkpoint:\n%s", logs.String())
	}
	if e.Messages != 455 || e.Files != 5 {
		t.Fatalf("export after restart: %d messages, %d files", e.Messages, e.Files)
	}
	out, pkg, _ := verifyPackage(t, officer, e.ID)
	if recs := readRecords(t, out); len(recs) != 455 {
		t.Fatalf("messages.jsonl has %d records", len(recs))
	}
	// One archive: each file once.
	seen := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(pkg))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if seen[h.Name] {
			t.Fatalf("%s twice in the package", h.Name)
		}
		seen[h.Name] = true
	}
}
