package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/app"
	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/compliance/retention"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/jobs"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// retentionWorld is a chat world with a compliance officer whose TOTP
// secret the test keeps, to sign in again after the clock jumps.
type retentionWorld struct {
	*chatWorld
	officer       *client
	officerID     ids.UserID
	officerSecret string
}

func startRetentionWorld(t *testing.T) *retentionWorld {
	t.Helper()
	return startRetentionWorldIn(t, "")
}

// startRetentionWorldIn is startRetentionWorld with the data in dir (empty: a temporary one).
func startRetentionWorldIn(t *testing.T, dir string) *retentionWorld {
	t.Helper()
	return startRetentionWorldOn(t, dir, false)
}

// startRetentionWorldOn is startRetentionWorldIn, on PostgreSQL when postgres.
func startRetentionWorldOn(t *testing.T, dir string, postgres bool) *retentionWorld {
	t.Helper()
	var pgURL string
	if postgres {
		pgURL = storetest.PostgresSchemaURL(t)
	}
	base := startWorldWith(t, func(c *config.Config) {
		if dir != "" {
			c.DataDir = dir
		}
		if pgURL != "" {
			c.DatabaseURL = pgURL
		}
	})
	w := &retentionWorld{chatWorld: chatWorldOn(t, base)}
	inviteAndSignIn(t, w.world, "cora@acme.example")
	w.officerID = mustAccount(t, w.world, "cora@acme.example")
	if r := w.admin.do("PUT", "/api/v1/admin/accounts/"+string(w.officerID)+"/roles", map[string]any{"roles": []string{"compliance_officer"}}); r.status != 204 {
		t.Fatalf("make cora a compliance officer: %d %s", r.status, r.body)
	}
	w.officer = newClient(t, w.s.URL)
	w.officerSecret = enrolTOTP(t, w.s, w.officer, "cora@acme.example")
	return w
}

// chatWorldOn is startChatWorld on an existing world.
func chatWorldOn(t *testing.T, base *world) *chatWorld {
	t.Helper()
	w := &chatWorld{world: base}
	w.member = inviteAndSignIn(t, w.world, "max@acme.example")
	w.memberID = mustAccount(t, w.world, "max@acme.example")
	w.guest, w.guestID = inviteGuest(t, w.world, "gwen@partner.example")
	var team chat.Team
	r := w.admin.do("POST", "/api/v1/teams", map[string]string{"name": "Project Falcon"})
	if r.status != 201 {
		t.Fatalf("create team: %d %s", r.status, r.body)
	}
	r.json(t, &team)
	w.team = team
	var chans []chat.Channel
	w.admin.do("GET", "/api/v1/channels", nil).json(t, &chans)
	for _, c := range chans {
		if c.Team == team.ID {
			w.general = c
		}
	}
	for _, id := range []ids.UserID{w.memberID, w.guestID} {
		if r := w.admin.do("PUT", "/api/v1/teams/"+team.ID+"/members/"+string(id), map[string]string{"role": "member"}); r.status != 204 {
			t.Fatalf("add to team: %d %s", r.status, r.body)
		}
	}
	return w
}

func keysAADForBody(message string, version int) keys.AAD {
	return keys.AAD{Kind: "chat-message", ID: message + "/" + strconv.Itoa(version)}
}

// signInAgain signs the admin, the officer and the member in again (after
// the clock jumped past their sessions).
func (w *retentionWorld) signInAgain(t *testing.T) {
	t.Helper()
	w.admin = reSignIn(t, w.world)
	c := newClient(t, w.s.URL)
	if sb, r := c.signIn("cora@acme.example", goodPassword); sb.State != identity.SessionPendingMFA {
		t.Fatalf("officer sign-in: %d %s", r.status, r.body)
	}
	if r := c.do("POST", "/api/v1/auth/second-factor", map[string]string{"kind": "totp", "code": oathtool(t, w.officerSecret, w.s.Clock.Now())}); r.status != 200 {
		t.Fatalf("officer second factor: %d %s", r.status, r.body)
	}
	w.officer = c
	m := newClient(t, w.s.URL)
	if sb, r := m.signIn("max@acme.example", goodPassword); sb.State != identity.SessionActive {
		t.Fatalf("member sign-in: %d %s", r.status, r.body)
	}
	w.member = m
}

// runRetention starts the deletion job through the API and waits for it to finish.
func runRetention(t *testing.T, c *client) jobs.Job {
	t.Helper()
	var j jobs.Job
	r := c.do("POST", "/api/v1/compliance/retention/runs", nil)
	if r.status != 202 {
		t.Fatalf("run now: %d %s", r.status, r.body)
	}
	r.json(t, &j)
	return waitRetentionJob(t, c, j.ID)
}

func waitRetentionJob(t *testing.T, c *client, id string) jobs.Job {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var j jobs.Job
		r := c.do("GET", "/api/v1/compliance/retention/jobs/"+id, nil)
		if r.status != 200 {
			t.Fatalf("job: %d %s", r.status, r.body)
		}
		r.json(t, &j)
		if jobs.Finished(j.State) {
			if j.State != jobs.Done {
				t.Fatalf("job %s ended %s: %s", id, j.State, j.Error)
			}
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s (%d of %d)", id, j.State, j.Done, j.Total)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// blobName is the file name the directory blob store gives a blob.
func blobName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// blobFile is where the directory blob store keeps a blob.
func blobFile(s *apptest.Server, tenant ids.TenantID, key string) string {
	name := blobName(key)
	return filepath.Join(s.Config.Path(app.BlobDir), string(tenant), name[:2], name)
}

// sealedTraces collects, for items about to be deleted, every stored
// ciphertext of them: bodies and earlier bodies, channel event payloads,
// sealed attachment names as stored, and the raw blob files.
type sealedTraces struct {
	t      *testing.T
	s      *apptest.Server
	tenant ids.TenantID
	pieces map[string][]byte // what → bytes
	files  []string          // blob files that must be gone
}

func (tr *sealedTraces) add(what string, b []byte) {
	if len(b) < 32 {
		return // a sealed empty body: nothing to find
	}
	tr.pieces[what] = bytes.Clone(b)
}

func (tr *sealedTraces) rows(what, q string, args ...any) {
	tr.t.Helper()
	rows, err := tr.s.DB.Query(tr.t.Context(), q, args...)
	if err != nil {
		tr.t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			tr.t.Fatal(err)
		}
		tr.add(what+"#"+string(rune('0'+n)), b)
		n++
	}
	if n == 0 {
		tr.t.Fatalf("%s: no rows to capture", what)
	}
}

func (tr *sealedTraces) message(m chat.View) {
	tr.t.Helper()
	tr.rows("body of "+m.ID, `SELECT body FROM messages WHERE id = ?`, m.ID)
	tr.rows("events of "+m.ID, `SELECT payload FROM channel_events WHERE message_id = ?`, m.ID)
	var versions int
	tr.s.DB.QueryRow(tr.t.Context(), `SELECT COUNT(*) FROM message_versions WHERE message_id = ?`, m.ID).Scan(&versions)
	if versions > 0 {
		tr.rows("versions of "+m.ID, `SELECT body FROM message_versions WHERE message_id = ?`, m.ID)
	}
	for _, f := range m.Files {
		tr.rows("name of "+f.ID, `SELECT name FROM attachments WHERE id = ?`, f.ID)
		tr.blob("files/" + f.ID)
	}
}

func (tr *sealedTraces) blob(key string) {
	tr.t.Helper()
	path := blobFile(tr.s, tr.tenant, key)
	b, err := os.ReadFile(path)
	if err != nil {
		tr.t.Fatalf("blob %s: %v", key, err)
	}
	tr.add("blob "+key, b)
	tr.files = append(tr.files, path)
}

// findAnywhere looks for any 32-byte window of every captured piece in
// every file under dir, and returns what it found where.
func (tr *sealedTraces) findAnywhere(dir string) []string {
	tr.t.Helper()
	windows := map[[32]byte]string{}
	for what, b := range tr.pieces {
		for i := 0; i+32 <= len(b); i++ {
			windows[[32]byte(b[i:i+32])] = what
		}
	}
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i := 0; i+32 <= len(b); i++ {
			if what, ok := windows[[32]byte(b[i:i+32])]; ok {
				found = append(found, what+" in "+path)
				return nil
			}
		}
		return nil
	})
	if err != nil {
		tr.t.Fatal(err)
	}
	return found
}

// putRecording stores a meeting recording as the recorder does: a sealed
// blob and its row, started by by.
func putRecording(t *testing.T, s *apptest.Server, tenant ids.TenantID, by ids.UserID, channel string, content []byte) meeting.Recording {
	t.Helper()
	ctx := t.Context()
	now := s.Clock.Now()
	m := meeting.Meeting{ID: ids.New(), Tenant: tenant, Title: "Standup", Organizer: by, Start: now, End: now.Add(time.Hour), Channel: channel, Created: now,
		CodeHash: []byte(ids.New()), CodeSealed: []byte("code")}
	rec := meeting.Recording{ID: ids.New(), Tenant: tenant, Meeting: m.ID, Name: "Someone", Kind: "camera+microphone", Bytes: int64(len(content)),
		Started: now, Created: now, BlobKey: "recordings/" + m.ID + "/" + ids.New() + ".webm", StartedBy: by}
	if _, err := s.Blobs.Put(ctx, tenant, rec.BlobKey, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	err := store.Meetings(s.DB).UpdateMeetings(ctx, func(tx meeting.Tx) error {
		if err := tx.InsertMeeting(ctx, m); err != nil {
			return err
		}
		return tx.(meeting.RecordingStore).InsertRecording(ctx, rec)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func (w *retentionWorld) whyKept(t *testing.T, c *client, id string) retention.Fate {
	t.Helper()
	var f retention.Fate
	r := c.do("GET", "/api/v1/compliance/retention/items/"+id, nil)
	if r.status != 200 {
		t.Fatalf("why kept %s: %d %s", id, r.status, r.body)
	}
	r.json(t, &f)
	return f
}

func uploadView(t *testing.T, c *client, channel, name string, content []byte) chat.View {
	t.Helper()
	r := upload(t, c, channel, name, content)
	if r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var v chat.View
	r.json(t, &v)
	return v
}

// TestRetentionDeletesEveryTraceAndKeepsWhatIsHeld is the acceptance test
// of retention: a tenant full of messages, edits, reactions, mentions,
// attachments and recordings; legal holds on some; a retain-then-delete
// policy; the clock moved past it; the deletion job run to completion. Then
// the raw database file, its WAL and the blob directory are scanned: no
// 32-byte window of any ciphertext of a deleted item is left anywhere, the
// blob files are gone, and the held items are intact and readable through
// the API. Releasing a hold returns its items to the policy.
func TestRetentionDeletesEveryTraceAndKeepsWhatIsHeld(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { retentionAcceptance(t, false) })
	t.Run("postgres", func(t *testing.T) { retentionAcceptance(t, true) })
}

// retentionAcceptance is the acceptance test on one engine. On PostgreSQL
// the database's files are not ours to scan: the rows are checked with SQL,
// and the blob directory is scanned as on SQLite.
func retentionAcceptance(t *testing.T, postgres bool) {
	w := startRetentionWorldOn(t, "", postgres)
	ctx := t.Context()
	s, ch := w.s, w.general.ID
	tr := &sealedTraces{t: t, s: s, tenant: w.tenant.ID, pieces: map[string][]byte{}}

	// What will be deleted: the member's messages, an edited one, one with
	// reactions and a mention, a thread reply, a deleted one, a file, a recording.
	var doomed []chat.View
	for i := range 4 {
		doomed = append(doomed, send(t, w.member, ch, "Quarterly figures, part "+string(rune('A'+i))+": revenue is up "+ids.New(), ""))
	}
	if r := w.member.do("PATCH", "/api/v1/messages/"+doomed[0].ID, map[string]string{"body": "Quarterly figures (corrected) " + ids.New()}); r.status != 200 {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	if r := w.member.do("PATCH", "/api/v1/messages/"+doomed[0].ID, map[string]string{"body": "Quarterly figures (final) " + ids.New()}); r.status != 200 {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	if r := w.admin.do("PUT", "/api/v1/messages/"+doomed[1].ID+"/reactions/"+url.PathEscape("👍"), nil); r.status != 200 {
		t.Fatalf("react: %d %s", r.status, r.body)
	}
	doomed = append(doomed, send(t, w.member, ch, "Please check this <@"+string(mustAccount(t, w.world, "admin@acme.example"))+"> before Friday "+ids.New(), ""))
	doomed = append(doomed, send(t, w.member, ch, "A reply in the thread "+ids.New(), doomed[1].ID))
	if r := w.member.do("DELETE", "/api/v1/messages/"+doomed[2].ID, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	secretFile := []byte(strings.Repeat("layoff list, do not share "+ids.New()+"\n", 400))
	doomed = append(doomed, uploadView(t, w.member, ch, "layoffs-2027.txt", secretFile))
	doomedRec := putRecording(t, s, w.tenant.ID, w.memberID, ch, bytes.Repeat([]byte("webm-frames "+ids.New()), 300))

	// What will be held: everything the guest wrote (a custodian hold), and
	// the member's messages that mention "zebra" (a keyword hold), with
	// their earlier versions.
	heldGuest := send(t, w.guest, ch, "Guest notes for the audit "+ids.New(), "")
	heldFile := uploadView(t, w.guest, ch, "evidence.txt", []byte(strings.Repeat("evidence "+ids.New()+"\n", 200)))
	heldKeyword := send(t, w.member, ch, "Project ZEBRA draft "+ids.New(), "")
	if r := w.member.do("PATCH", "/api/v1/messages/"+heldKeyword.ID, map[string]string{"body": "Project draft, renamed " + ids.New()}); r.status != 200 {
		t.Fatalf("edit held: %d %s", r.status, r.body)
	}
	heldByName := uploadView(t, w.member, ch, "zebra-plan.txt", []byte(strings.Repeat("plan "+ids.New()+"\n", 100)))
	heldRec := putRecording(t, s, w.tenant.ID, w.guestID, ch, bytes.Repeat([]byte("held-frames "+ids.New()), 300))

	// Capture every ciphertext of the doomed items, as stored, now.
	for _, m := range doomed {
		tr.message(m)
	}
	tr.blob(doomedRec.BlobKey)
	// Two messages' events as written before events named their message:
	// the job must find them by opening them.
	if _, err := s.DB.Exec(ctx, `UPDATE channel_events SET message_id = '' WHERE message_id IN (?, ?)`, doomed[0].ID, doomed[1].ID); err != nil {
		t.Fatal(err)
	}
	if n := len(tr.files); n != 2 || len(tr.pieces) < 2*len(doomed) {
		t.Fatalf("captured %d blob files (want 2) and %d ciphertexts", n, len(tr.pieces))
	}

	var custodian, keyword retention.Hold
	r := w.officer.do("POST", "/api/v1/compliance/holds", map[string]any{"name": "Audit 2026", "custodians": []ids.UserID{w.guestID}})
	if r.status != 201 {
		t.Fatalf("custodian hold: %d %s", r.status, r.body)
	}
	r.json(t, &custodian)
	r = w.officer.do("POST", "/api/v1/compliance/holds", map[string]any{"name": "Zebra matter", "query": map[string]any{"keywords": []string{"zebra"}}})
	if r.status != 201 {
		t.Fatalf("keyword hold: %d %s", r.status, r.body)
	}
	r.json(t, &keyword)
	if strings.Contains(string(r.body), "zebra") {
		t.Fatal("the created hold echoes its keywords in a listing")
	}
	r = w.admin.do("POST", "/api/v1/compliance/retention/policies", map[string]any{"name": "Chats: one month", "kind": "retain_then_delete", "days": 30, "scope": map[string]any{"all": true}})
	if r.status != 201 {
		t.Fatalf("policy: %d %s", r.status, r.body)
	}

	// Why is this kept? Before the month is over.
	created := doomed[0].Created
	if f := w.whyKept(t, w.admin, doomed[0].ID); f.Outcome != retention.OutcomeDeleteOn || !f.DeleteOn.Equal(created.Add(30*24*time.Hour)) || len(f.Policies) != 1 {
		t.Fatalf("why kept (doomed): %+v", f)
	}
	if f := w.whyKept(t, w.officer, heldKeyword.ID); f.Outcome != retention.OutcomeHeld || len(f.Holds) != 1 || f.Holds[0].Name != "Zebra matter" {
		t.Fatalf("why kept (keyword): %+v", f)
	}
	if f := w.whyKept(t, w.officer, heldRec.ID); f.Outcome != retention.OutcomeHeld || f.Holds[0].ID != custodian.ID {
		t.Fatalf("why kept (recording): %+v", f)
	}
	if f := w.whyKept(t, w.officer, doomed[2].ID); f.Outcome != retention.OutcomeKeptUntil {
		t.Fatalf("why kept (deleted by its author, retained): %+v", f)
	}

	// Nothing is due yet: a run deletes nothing.
	if j := runRetention(t, w.admin); !strings.Contains(j.Result, `"messages":0`) {
		t.Fatalf("an early run deleted something: %s", j.Result)
	}

	s.Clock.Advance(31 * 24 * time.Hour)
	w.signInAgain(t)
	j := runRetention(t, w.admin)
	var counts retention.Counts
	if err := json.Unmarshal([]byte(j.Result), &counts); err != nil {
		t.Fatalf("result %q: %v", j.Result, err)
	}
	if counts.Messages != int64(len(doomed)) || counts.Recordings != 1 || counts.Attachments != 1 || counts.Blobs != 2 ||
		counts.Versions < 3 || counts.Reactions != 1 || counts.Notifications != 1 {
		t.Fatalf("counts %+v", counts)
	}
	if j.Done != j.Total || j.Total == 0 {
		t.Fatalf("progress %d of %d", j.Done, j.Total)
	}

	// The raw files: nothing of the deleted items, no blob files.
	for _, f := range tr.files {
		if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("blob file %s is still there (%v)", f, err)
		}
	}
	if wal, err := os.Stat(filepath.Join(s.Config.DataDir, store.SQLiteFile+"-wal")); err == nil && wal.Size() > 1<<20 {
		t.Logf("WAL is %d bytes after the run", wal.Size())
	}
	if found := tr.findAnywhere(s.Config.DataDir); len(found) > 0 {
		t.Fatalf("deleted ciphertext remains on disk: %v", found)
	}
	for _, m := range doomed {
		if f := w.admin.do("GET", "/api/v1/compliance/retention/items/"+m.ID, nil); f.status != 404 {
			t.Fatalf("deleted message %s is still known: %d", m.ID, f.status)
		}
		var n int
		if err := s.DB.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM messages WHERE id = ?) + (SELECT COUNT(*) FROM message_versions WHERE message_id = ?)
			+ (SELECT COUNT(*) FROM reactions WHERE message_id = ?) + (SELECT COUNT(*) FROM attachments WHERE message_id = ?)
			+ (SELECT COUNT(*) FROM channel_events WHERE message_id = ?) + (SELECT COUNT(*) FROM notifications WHERE message_id = ?)`,
			m.ID, m.ID, m.ID, m.ID, m.ID, m.ID).Scan(&n); err != nil || n != 0 {
			t.Fatalf("deleted message %s: %d rows left (%v)", m.ID, n, err)
		}
	}
	for what, b := range tr.pieces {
		var n int
		if strings.HasPrefix(what, "blob ") || strings.HasPrefix(what, "name of ") {
			continue
		}
		if err := s.DB.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM messages WHERE body = ?) + (SELECT COUNT(*) FROM message_versions WHERE body = ?)
			+ (SELECT COUNT(*) FROM channel_events WHERE payload = ?)`, b, b, b).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s is still stored (%d, %v)", what, n, err)
		}
	}

	// The held items are intact and readable.
	var page []chat.View
	if r := w.member.do("GET", "/api/v1/channels/"+ch+"/messages", nil); r.status != 200 {
		t.Fatalf("messages: %d %s", r.status, r.body)
	} else {
		r.json(t, &page)
	}
	bodies := map[string]string{}
	for _, v := range page {
		bodies[v.ID] = v.Body
	}
	if bodies[heldGuest.ID] != heldGuest.Body || !strings.HasPrefix(bodies[heldKeyword.ID], "Project draft, renamed") {
		t.Fatalf("held messages after the run: %v", bodies)
	}
	for _, m := range doomed {
		if _, ok := bodies[m.ID]; ok {
			t.Fatalf("deleted message %s is still listed", m.ID)
		}
	}
	if r := w.member.do("GET", "/api/v1/files/"+heldFile.Files[0].ID, nil); r.status != 200 || !strings.HasPrefix(string(r.body), "evidence ") {
		t.Fatalf("held file: %d", r.status)
	}
	if r := w.member.do("GET", "/api/v1/files/"+heldByName.Files[0].ID, nil); r.status != 200 || !strings.HasPrefix(string(r.body), "plan ") {
		t.Fatalf("file held by a keyword in its name: %d", r.status)
	}
	old, err := s.DB.MessageVersion(ctx, heldKeyword.ID, 1)
	if err != nil {
		t.Fatalf("the held message's first version: %v", err)
	}
	if pt, err := s.Keys.Open(ctx, w.tenant.ID, keysAADForBody(heldKeyword.ID, 1), old); err != nil || !strings.HasPrefix(string(pt), "Project ZEBRA draft") {
		t.Fatalf("the held message's first version opens to %q, %v", pt, err)
	}
	rc, err := s.Blobs.Get(ctx, w.tenant.ID, heldRec.BlobKey)
	if err != nil {
		t.Fatalf("held recording: %v", err)
	}
	if b, err := io.ReadAll(rc); err != nil || !bytes.HasPrefix(b, []byte("held-frames ")) {
		t.Fatalf("held recording reads %d bytes, %v", len(b), err)
	}
	rc.Close()

	// One audit record per batch, counts only.
	recs, err := s.DB.AuditRecords(ctx, w.tenant.ID, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	batches := 0
	for _, rec := range recs {
		if rec.Action == "retention.delete.batch" {
			batches++
			if strings.Contains(rec.Details, "Quarterly") || strings.Contains(rec.Details, "zebra") {
				t.Fatalf("audit details carry content: %s", rec.Details)
			}
		}
	}
	if batches == 0 {
		t.Fatal("no audit record of the deletion batches")
	}

	// Releasing the keyword hold returns its message to the policy.
	if r := w.officer.do("POST", "/api/v1/compliance/holds/"+keyword.ID+"/release", nil); r.status != 204 {
		t.Fatalf("release: %d %s", r.status, r.body)
	}
	if f := w.whyKept(t, w.officer, heldKeyword.ID); f.Outcome != retention.OutcomeDueNow {
		t.Fatalf("released item: %+v", f)
	}
	runRetention(t, w.officer)
	for _, m := range []chat.View{heldKeyword, heldByName} {
		if r := w.admin.do("GET", "/api/v1/compliance/retention/items/"+m.ID, nil); r.status != 404 {
			t.Fatalf("the released message %s was not deleted: %d", m.ID, r.status)
		}
	}
	if f := w.whyKept(t, w.officer, heldGuest.ID); f.Outcome != retention.OutcomeHeld {
		t.Fatalf("the custodian's message: %+v", f)
	}
}

// TestRetentionJobResumesAfterRestart stops the node right after a
// deletion batch committed and before its blobs were deleted, starts it
// again on the same data, and finds the job resumed: the pending blobs
// deleted first, the rest deleted, nothing half-deleted and nothing held
// touched. The items are messages their author deleted, which with no
// policy at all go at the next run.
func TestRetentionJobResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	var tenant ids.TenantID
	var memberID, guestID ids.UserID
	var doomed, held []chat.View
	var jobID, general string
	ran := false
	t.Run("first node", func(t *testing.T) {
		w := startRetentionWorldIn(t, dir)
		ran = true
		tenant, memberID, guestID, general = w.tenant.ID, w.memberID, w.guestID, w.general.ID
		for i := range 7 {
			v := uploadView(t, w.member, w.general.ID, "notes.txt", []byte(strings.Repeat("draft "+ids.New()+"\n", 50)))
			if r := w.member.do("DELETE", "/api/v1/messages/"+v.ID, nil); r.status != 204 {
				t.Fatalf("delete %d: %d %s", i, r.status, r.body)
			}
			doomed = append(doomed, v)
		}
		for range 3 {
			v := send(t, w.guest, w.general.ID, "held "+ids.New(), "")
			if r := w.guest.do("DELETE", "/api/v1/messages/"+v.ID, nil); r.status != 204 {
				t.Fatalf("guest delete: %d %s", r.status, r.body)
			}
			held = append(held, v)
		}
		if r := w.officer.do("POST", "/api/v1/compliance/holds", map[string]any{"name": "Guest", "custodians": []ids.UserID{w.guestID}}); r.status != 201 {
			t.Fatalf("hold: %d %s", r.status, r.body)
		}
		crashed := make(chan struct{})
		w.s.Retention.Tune(3, func(ctx context.Context, batch int) error {
			if batch == 2 {
				close(crashed)
				<-ctx.Done() // the node stops here: batch 2 committed, its blobs not yet deleted
				return ctx.Err()
			}
			return nil
		})
		var j jobs.Job
		r := w.admin.do("POST", "/api/v1/compliance/retention/runs", nil)
		if r.status != 202 {
			t.Fatalf("run: %d %s", r.status, r.body)
		}
		r.json(t, &j)
		jobID = j.ID
		select {
		case <-crashed:
		case <-time.After(60 * time.Second):
			t.Fatal("the job never reached its second batch")
		}
	}) // the node shuts down here
	if !ran {
		t.Skip("the first node did not start (see its message)")
	}

	// The state the crash left: batches 1 and 2 committed, batch 2's blobs
	// pending deletion and still on disk, the rest untouched.
	func() {
		db, err := store.Open(t.Context(), store.Config{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var pending, left int
		if err := db.QueryRow(t.Context(), `SELECT COUNT(*) FROM retention_pending_blobs`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		db.QueryRow(t.Context(), `SELECT COUNT(*) FROM messages`).Scan(&left)
		if pending != 3 || left != len(doomed)+len(held)-6 {
			t.Fatalf("after the crash: %d blobs pending (want 3), %d messages left (want %d)", pending, left, len(doomed)+len(held)-6)
		}
		keys, _ := store.Retention(db).PendingBlobs(t.Context(), tenant, 10)
		for _, k := range keys {
			if _, err := os.Stat(filepath.Join(dir, app.BlobDir, string(tenant), blobName(k)[:2], blobName(k))); err != nil {
				t.Fatalf("a pending blob is already gone: %v", err)
			}
		}
	}()
	s := apptest.Start(t, apptest.Options{DataDir: dir})
	deadline := time.Now().Add(60 * time.Second)
	var j jobs.Job
	for {
		var err error
		if j, err = store.Jobs(s.DB).Job(t.Context(), jobID); err != nil {
			t.Fatal(err)
		}
		if jobs.Finished(j.State) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job did not resume: %s, %d of %d", j.State, j.Done, j.Total)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if j.State != jobs.Done || j.Attempts != 2 {
		t.Fatalf("job %s after %d attempts: %s", j.State, j.Attempts, j.Error)
	}
	ctx := t.Context()
	for _, v := range doomed {
		var n int
		s.DB.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM messages WHERE id = ?) + (SELECT COUNT(*) FROM attachments WHERE message_id = ?) + (SELECT COUNT(*) FROM channel_events WHERE message_id = ?) + (SELECT COUNT(*) FROM message_versions WHERE message_id = ?)`,
			v.ID, v.ID, v.ID, v.ID).Scan(&n)
		if n != 0 {
			t.Errorf("message %s: %d rows left", v.ID, n)
		}
		if _, err := os.Stat(blobFile(s, tenant, "files/"+v.Files[0].ID)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("blob of %s left behind: %v", v.ID, err)
		}
	}
	var pending int
	s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM retention_pending_blobs`).Scan(&pending)
	if pending != 0 {
		t.Fatalf("%d blob deletions still pending", pending)
	}
	guest := principal.Principal{Kind: principal.Guest, Tenant: tenant, User: guestID}
	_ = memberID
	for _, v := range held {
		m, err := s.DB.Message(ctx, v.ID)
		if err != nil || m.Deleted.IsZero() {
			t.Fatalf("held message %s: %+v %v", v.ID, m, err)
		}
		b, err := s.DB.MessageVersion(ctx, v.ID, 1)
		if err != nil {
			t.Fatalf("held message %s lost its body: %v", v.ID, err)
		}
		if pt, err := s.Keys.Open(ctx, tenant, keysAADForBody(v.ID, 1), b); err != nil || string(pt) != v.Body {
			t.Fatalf("held message %s opens to %q, %v", v.ID, pt, err)
		}
	}
	// The conversation still works for the people in it.
	if _, err := s.Chat.Messages(ctx, guest, general, 0, 50); err != nil {
		t.Fatalf("the channel after the run: %v", err)
	}
}

// TestRetentionRefusesBadInputClearly sends policies and holds that break
// the rules or name what is not the tenant's, and gets a 4xx with a
// message for a person each time, never a 500.
func TestRetentionRefusesBadInputClearly(t *testing.T) {
	w := startRetentionWorld(t)
	_, otherAdmin := secondTenant(t, w.world, "Globex", "globex.example", "grace@globex.example")
	foreignUser := string(otherAdmin.User)
	ctx := t.Context()
	foreignTeam, err := w.s.Chat.CreateTeam(ctx, otherAdmin, "Globex team", "")
	if err != nil {
		t.Fatal(err)
	}
	policy := func(mut func(m map[string]any)) map[string]any {
		m := map[string]any{"name": "P", "kind": "delete", "days": 30, "scope": map[string]any{"all": true}}
		mut(m)
		return m
	}
	tests := []struct {
		name   string
		path   string
		body   any
		status int
	}{
		{"zero days", "/api/v1/compliance/retention/policies", policy(func(m map[string]any) { m["days"] = 0 }), 400},
		{"negative days", "/api/v1/compliance/retention/policies", policy(func(m map[string]any) { m["days"] = -1 }), 400},
		{"days beyond a century", "/api/v1/compliance/retention/policies", policy(func(m map[string]any) { m["days"] = 1 << 40 }), 400},
		{"days not a number", "/api/v1/compliance/retention/policies", policy(func(m map[string]any) { m["days"] = "ten" }), 400},
		{"overlong name", "/api/v1/compliance/retention/policies", policy(func(m map[string]any) { m["name"] = strings.Repeat("n", 500) }), 400},
		{"unknown kind", "/api/v1/compliance/retention/policies", policy(func(m map[string]any) { m["kind"] = "forever" }), 400},
		{"no scope", "/api/v1/compliance/retention/policies", policy(func(m map[string]any) { m["scope"] = map[string]any{} }), 400},
		{"unknown team", "/api/v1/compliance/retention/policies", policy(func(m map[string]any) { m["scope"] = map[string]any{"teams": []string{ids.New()}} }), 400},
		{"another tenant's team", "/api/v1/compliance/retention/policies", policy(func(m map[string]any) { m["scope"] = map[string]any{"teams": []string{foreignTeam.ID}} }), 400},
		{"a team channel as a chat", "/api/v1/compliance/retention/policies", policy(func(m map[string]any) { m["scope"] = map[string]any{"chats": []string{w.general.ID}} }), 400},
		{"another tenant's user", "/api/v1/compliance/retention/policies", policy(func(m map[string]any) { m["scope"] = map[string]any{"users": []string{foreignUser}} }), 400},
		{"a hold on another tenant's user", "/api/v1/compliance/holds", map[string]any{"name": "H", "custodians": []string{foreignUser}}, 400},
		{"a hold on another tenant's team", "/api/v1/compliance/holds", map[string]any{"name": "H", "locations": []string{foreignTeam.ID}}, 400},
		{"a hold with an overlong name", "/api/v1/compliance/holds", map[string]any{"name": strings.Repeat("h", 500)}, 400},
		{"a hold with too many keywords", "/api/v1/compliance/holds", map[string]any{"name": "H", "query": map[string]any{"keywords": slicesRepeat("k", 51)}}, 400},
		{"a hold with backwards dates", "/api/v1/compliance/holds", map[string]any{"name": "H", "query": map[string]any{"from": "2026-05-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.officer.do("POST", tt.path, tt.body)
			var eb httpapi.ErrorBody
			json.Unmarshal(r.body, &eb)
			if r.status != tt.status || eb.Error.Message == "" {
				t.Fatalf("status %d (%s), want %d with a message", r.status, r.body, tt.status)
			}
		})
	}
	for _, tt := range []struct{ name, method, path string }{
		{"why-kept of an unknown id", "GET", "/api/v1/compliance/retention/items/" + ids.New()},
		{"why-kept of a malformed id", "GET", "/api/v1/compliance/retention/items/..%2F..%2Fetc"},
		{"release an unknown hold", "POST", "/api/v1/compliance/holds/" + ids.New() + "/release"},
		{"delete an unknown policy", "DELETE", "/api/v1/compliance/retention/policies/" + ids.New()},
		{"another tenant's job", "GET", "/api/v1/compliance/retention/jobs/" + ids.New()},
		{"erase another tenant's user", "POST", "/api/v1/admin/accounts/" + foreignUser + "/erase"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := w.officer
			if strings.HasSuffix(tt.path, "/erase") {
				c = w.admin
			}
			if r := c.do(tt.method, tt.path, nil); r.status != 404 && r.status != 400 {
				t.Fatalf("status %d (%s), want 404", r.status, r.body)
			}
		})
	}
	// A message of another tenant is unknown here.
	chans, err := w.s.Chat.Channels(ctx, otherAdmin)
	if err != nil || len(chans) == 0 {
		t.Fatalf("the other tenant's channels: %v %v", chans, err)
	}
	v, err := w.s.Chat.Send(ctx, otherAdmin, chans[0].ID, "globex secret", "")
	if err != nil {
		t.Fatal(err)
	}
	if r := w.admin.do("GET", "/api/v1/compliance/retention/items/"+v.ID, nil); r.status != 404 {
		t.Fatalf("another tenant's message: %d %s", r.status, r.body)
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s + strconv.Itoa(i)
	}
	return out
}

// TestEraseAPersonPseudonymisesAndDeletesExceptWhatIsHeld erases the member:
// they can no longer sign in, they are shown under a pseudonym, their
// messages and files are gone except the one a hold keeps, which shows
// the pseudonym as its author.
func TestEraseAPersonPseudonymisesAndDeletesExceptWhatIsHeld(t *testing.T) {
	w := startRetentionWorld(t)
	ctx := t.Context()
	ch := w.general.ID
	gone := send(t, w.member, ch, "My private thoughts "+ids.New(), "")
	goneFile := uploadView(t, w.member, ch, "cv.txt", []byte(strings.Repeat("curriculum "+ids.New()+"\n", 100)))
	kept := send(t, w.member, ch, "The merger timeline "+ids.New(), "")
	other := send(t, w.guest, ch, "Not the member's "+ids.New(), "")
	if r := w.officer.do("POST", "/api/v1/compliance/holds", map[string]any{"name": "Merger", "query": map[string]any{"keywords": []string{"merger"}}}); r.status != 201 {
		t.Fatalf("hold: %d %s", r.status, r.body)
	}
	// Refusals first: only an admin, not oneself, not an admin.
	if r := w.officer.do("POST", "/api/v1/admin/accounts/"+string(w.memberID)+"/erase", nil); r.status != 403 {
		t.Fatalf("an officer erases: %d", r.status)
	}
	adminID := mustAccount(t, w.world, "admin@acme.example")
	if r := w.admin.do("POST", "/api/v1/admin/accounts/"+string(adminID)+"/erase", nil); r.status != 400 {
		t.Fatalf("the admin erases themself: %d %s", r.status, r.body)
	}
	var j jobs.Job
	r := w.admin.do("POST", "/api/v1/admin/accounts/"+string(w.memberID)+"/erase", nil)
	if r.status != 202 {
		t.Fatalf("erase: %d %s", r.status, r.body)
	}
	r.json(t, &j)
	j = waitRetentionJob(t, w.admin, j.ID)
	if j.Kind != retention.JobErase || !strings.Contains(j.Result, `"messages":2`) {
		t.Fatalf("erasure job: %+v", j)
	}

	a, err := w.s.DB.AccountByID(ctx, w.memberID)
	if err != nil {
		t.Fatal(err)
	}
	pseudonym := retention.Pseudonym(w.tenant.ID, w.memberID)
	if a.DisplayName != pseudonym || !strings.HasPrefix(pseudonym, "Former user ") || a.State != identity.AccountDeactivated || strings.Contains(a.Email, "max") {
		t.Fatalf("erased account: %+v", a)
	}
	if r := w.member.do("GET", "/api/v1/channels", nil); r.status != 401 {
		t.Fatalf("the erased person's session still works: %d", r.status)
	}
	var n int
	w.s.DB.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM accounts WHERE email = 'max@acme.example') + (SELECT COUNT(*) FROM signin_log WHERE identifier = 'max@acme.example')`).Scan(&n)
	if n != 0 {
		t.Fatalf("the old email address is still stored %d times", n)
	}
	if _, r := newClient(t, w.s.URL).signIn("max@acme.example", goodPassword); r.status == 200 {
		t.Fatal("the erased person signs in")
	}
	var page []chat.View
	w.guest.do("GET", "/api/v1/channels/"+ch+"/messages", nil).json(t, &page)
	seen := map[string]chat.View{}
	for _, v := range page {
		seen[v.ID] = v
	}
	if _, ok := seen[gone.ID]; ok {
		t.Fatal("the erased person's message is still there")
	}
	if _, ok := seen[goneFile.ID]; ok {
		t.Fatal("the erased person's file is still there")
	}
	if v, ok := seen[kept.ID]; !ok || v.Body != kept.Body || v.Author != w.memberID {
		t.Fatalf("the held message: %+v", v)
	}
	if _, ok := seen[other.ID]; !ok {
		t.Fatal("someone else's message was deleted")
	}
	if _, err := os.Stat(blobFile(w.s, w.tenant.ID, "files/"+goneFile.Files[0].ID)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the erased person's file blob remains: %v", err)
	}
}
