package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/app"
	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/mail/mailtest"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/provider"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// keptAfterDeletion are the tables that still name a deleted tenant: its
// deletion (with the certificate), the shredded-keys tombstone, and the
// provider's own sealed ledger of government requests about it.
var keptAfterDeletion = []string{"tenant_deletions", "shredded_tenants", "legal_requests"}

// tenantRowsLeft walks the live schema: every table with a tenant_id
// column, and how many rows of tenant each still holds.
func tenantRowsLeft(t *testing.T, s *apptest.Server, tenant ids.TenantID) map[string]int {
	t.Helper()
	ctx := t.Context()
	q := `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND p.name = 'tenant_id'`
	if s.DB.Dialect() == store.Postgres {
		q = `SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'tenant_id'`
	}
	rows, err := s.DB.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < 30 {
		t.Fatalf("only %d tables with a tenant_id: %v", len(tables), tables)
	}
	out := map[string]int{}
	for _, table := range tables {
		var n int
		if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM `+table+` WHERE tenant_id = ?`, string(tenant)).Scan(&n); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if n > 0 {
			out[table] = n
		}
	}
	return out
}

// deletionWorld is a tenant full of content, a second tenant beside it,
// an operator, and a mail server.
type deletionWorld struct {
	*chatWorld
	smtp     *mailtest.Server
	op       *client
	canary   string // in content: sealed, never readable
	teamMark string // in a team's name: readable until the deletion
	traces   *sealedTraces
	globex   *client
	globexT  ids.TenantID
}

func startDeletionWorld(t *testing.T, dir string, postgres bool) *deletionWorld {
	t.Helper()
	var pgURL string
	if postgres {
		pgURL = storetest.PostgresSchemaURL(t)
	}
	smtp := mailtest.Start(t, mailtest.Options{Plain: true})
	base := startWorldWith(t, func(c *config.Config) {
		if dir != "" {
			c.DataDir = dir
		}
		if pgURL != "" {
			c.DatabaseURL = pgURL
		}
		c.SMTPAddr, c.SMTPFrom, c.SMTPTLS = smtp.Addr, "kaigi@ops.example", "none"
	})
	w := &deletionWorld{chatWorld: chatWorldOn(t, base), smtp: smtp, canary: "CANARY-" + ids.New(), teamMark: "TEAMMARK-" + ids.New()}
	w.op = setUpOperator(t, w.s)
	var admin principal.Principal
	w.globex, admin = secondTenant(t, w.world, "Globex", "globex.example", "grace@globex.example")
	w.globexT = admin.Tenant
	return w
}

// fill writes content carrying the canary everywhere a tenant keeps
// something, and captures the ciphertexts as stored.
func (w *deletionWorld) fill(t *testing.T) {
	t.Helper()
	s, ch, c := w.s, w.general.ID, w.canary
	w.traces = &sealedTraces{t: t, s: s, tenant: w.tenant.ID, pieces: map[string][]byte{}}
	var msgs []chat.View
	msgs = append(msgs, send(t, w.member, ch, "The merger code name is "+c, ""))
	msgs = append(msgs, send(t, w.admin, ch, "Reply about "+c, msgs[0].ID))
	msgs = append(msgs, send(t, w.guest, ch, "Guest notes on "+c, ""))
	if r := w.member.do("PATCH", "/api/v1/messages/"+msgs[0].ID, map[string]string{"body": "The merger code name is " + c + " (edited)"}); r.status != 200 {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	if r := w.admin.do("PUT", "/api/v1/messages/"+msgs[2].ID+"/reactions/"+url.PathEscape("👍"), nil); r.status != 200 {
		t.Fatalf("react: %d %s", r.status, r.body)
	}
	msgs = append(msgs, uploadView(t, w.member, ch, "plan-"+c+".txt", []byte(strings.Repeat("the plan: "+c+"\n", 300))))
	rec := putRecording(t, s, w.tenant.ID, w.memberID, ch, bytes.Repeat([]byte("webm "+c), 300))
	// Team names are directory metadata, stored as they are: a trace the
	// deletion must remove too.
	if r := w.admin.do("POST", "/api/v1/teams", map[string]string{"name": "Team " + w.teamMark}); r.status != 201 {
		t.Fatalf("team: %d %s", r.status, r.body)
	}
	for _, m := range msgs {
		w.traces.message(m)
	}
	w.traces.blob(rec.BlobKey)
	// The bystander tenant has content of its own.
	if r := w.globex.do("GET", "/api/v1/channels", nil); r.status != 200 {
		t.Fatalf("globex channels: %d %s", r.status, r.body)
	}
}

// scanFor reports the files under dir holding any of needles.
func scanFor(t *testing.T, dir string, needles ...string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) || strings.Contains(path, n) {
				rel, _ := filepath.Rel(dir, path)
				found = append(found, n+" in "+rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// waitDeletion waits for the background job to finish a tenant's deletion.
func waitDeletion(t *testing.T, s *apptest.Server, tenant ids.TenantID) provider.Deletion {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		d, found, err := s.Deletions.Of(t.Context(), tenant)
		if err != nil {
			t.Fatal(err)
		}
		if found && d.State == provider.DeletionDone {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deletion did not finish: %+v (found %v)", d, found)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fetchCertificate downloads the public certificate and its signature and
// checks them with the published key, in Go and (when it is there) with
// openssl.
func fetchCertificate(t *testing.T, s *apptest.Server, tenant ids.TenantID) provider.Certificate {
	t.Helper()
	anon := newClient(t, s.URL)
	r := anon.do("GET", "/api/v1/trust/deletions/"+string(tenant), nil)
	if r.status != 200 {
		t.Fatalf("certificate: %d %s", r.status, r.body)
	}
	sigr := anon.do("GET", "/api/v1/trust/deletions/"+string(tenant)+"/signature", nil)
	if sigr.status != 200 || len(sigr.body) != 64 {
		t.Fatalf("signature: %d, %d bytes", sigr.status, len(sigr.body))
	}
	if h := r.header.Get(httpapi.HeaderCertificateSignature); h != base64.StdEncoding.EncodeToString(sigr.body) {
		t.Fatalf("the signature header %q differs from the signature", h)
	}
	var svc httpapi.ServiceInfo
	anon.do("GET", "/api/v1/service", nil).json(t, &svc)
	cert, err := provider.VerifyCertificate(r.body, sigr.body, []byte(svc.PublicKeyPEM))
	if err != nil {
		t.Fatalf("the certificate does not verify with the published key: %v", err)
	}
	// Tampering is caught.
	forged := bytes.Replace(r.body, []byte(`"rows_deleted": `), []byte(`"rows_deleted": 1`), 1)
	if _, err := provider.VerifyCertificate(forged, sigr.body, []byte(svc.PublicKeyPEM)); err == nil {
		t.Fatal("a changed certificate verifies")
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		dir := t.TempDir()
		for name, b := range map[string][]byte{"cert.json": r.body, "cert.sig": sigr.body, "key.pem": []byte(svc.PublicKeyPEM)} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin", "-in", "cert.json", "-sigfile", "cert.sig")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl: %v: %s", err, out)
		}
	}
	return cert
}

// TestTenantLifecycleEndsInProvenDeletion is the contract lifecycle from
// start to end, driven by the clock: active; ended (admins only,
// read-only, export); disabled after 90 days (nobody); on day 179 the
// deletion starts, shreds the keys and purges the rows and blobs; by day
// 180 a signed certificate is published. Then the raw database file, its
// WAL and the blob directory hold no trace of the tenant: not its canary
// content, not any 32-byte window of its ciphertexts, not its people's
// addresses; the schema has no row of it left; the other tenant is
// untouched; and the certificate verifies with the published key.
func TestTenantLifecycleEndsInProvenDeletion(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { lifecycleAcceptance(t, false) })
	t.Run("postgres", func(t *testing.T) { lifecycleAcceptance(t, true) })
}

func lifecycleAcceptance(t *testing.T, postgres bool) {
	dir := t.TempDir()
	w := startDeletionWorld(t, dir, postgres)
	w.fill(t)
	ctx := t.Context()
	s, tenant := w.s, w.tenant.ID
	people := []string{"admin@acme.example", "max@acme.example", "gwen@partner.example", "Acme Corp", w.teamMark}
	if !postgres {
		// The scan sees what is there: the people's addresses and the
		// team names are stored as such, the content only sealed.
		for _, p := range []string{"max@acme.example", w.teamMark} {
			if found := scanFor(t, dir, p); len(found) == 0 {
				t.Fatalf("the scan does not find %s even before the deletion: it proves nothing", p)
			}
		}
		if found := scanFor(t, dir, w.canary); len(found) > 0 {
			t.Fatalf("the canary is readable before any deletion: %v", found)
		}
	}
	globexBefore := tenantRowsLeft(t, s, w.globexT)

	// Active → ended.
	end := s.Clock.Now().Add(time.Hour)
	if r := w.op.do("PUT", "/api/v1/operator/tenants/"+string(tenant)+"/contract", map[string]any{"end": end}); r.status != 200 {
		t.Fatalf("set the end: %d %s", r.status, r.body)
	}
	s.Clock.Advance(2 * time.Hour)
	var c provider.Contract
	w.admin.do("GET", "/api/v1/admin/contract", nil).json(t, &c)
	if c.State != provider.ContractEnded || !c.DeleteAt.Equal(end.Add(provider.DeleteAfter)) || !c.DeleteBy.Equal(end.Add(provider.DeleteBy)) {
		t.Fatalf("the admin's countdown: %+v", c)
	}
	if r := w.member.do("GET", "/api/v1/channels", nil); r.status != 403 {
		t.Fatalf("a member after the end: %d %s", r.status, r.body)
	}
	if r := w.admin.do("GET", "/api/v1/channels/"+w.general.ID+"/messages", nil); r.status != 200 {
		t.Fatalf("the admin reads after the end: %d %s", r.status, r.body)
	}
	if r := w.admin.do("POST", "/api/v1/channels/"+w.general.ID+"/messages", map[string]string{"body": "late"}); r.status != 403 {
		t.Fatalf("the admin writes after the end: %d %s", r.status, r.body)
	}
	var list []provider.Contract
	w.op.do("GET", "/api/v1/operator/contracts", nil).json(t, &list)
	if len(list) != 1 || list[0].State != provider.ContractEnded || list[0].DeleteAt.IsZero() {
		t.Fatalf("the operator's countdown: %+v", list)
	}

	// Ended → disabled: nobody gets in; nothing is deleted yet.
	s.Clock.Advance(provider.ExportWindow)
	if r := w.admin.do("GET", "/api/v1/admin/contract", nil); r.status != 403 && r.status != 401 {
		t.Fatalf("the admin after the export window: %d %s", r.status, r.body)
	}
	if n, err := s.Deletions.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("a sweep before day 179 started %d deletions (%v)", n, err)
	}
	before := tenantRowsLeft(t, s, tenant)
	for _, table := range []string{"messages", "accounts", "attachments", "meeting_recordings", "audit_log", "teams", "channels"} {
		if before[table] == 0 {
			t.Fatalf("the tenant has no %s to delete: %v", table, before)
		}
	}

	// Day 179: the deletion starts, and by day 180 it is done.
	s.Clock.Set(end.Add(provider.DeleteAfter + time.Minute))
	if n, err := s.Deletions.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("the day-179 sweep started %d deletions (%v)", n, err)
	}
	if n, err := s.Deletions.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("a second sweep started %d more (%v)", n, err)
	}
	d := waitDeletion(t, s, tenant)
	if d.Reason != provider.ReasonContractEnd || len(d.Keys) == 0 {
		t.Fatalf("deletion: %+v", d)
	}
	if !s.Clock.Now().Before(end.Add(provider.DeleteBy)) {
		t.Fatal("the deletion finished after day 180")
	}

	// The certificate.
	cert := fetchCertificate(t, s, tenant)
	if cert.Tenant != tenant || cert.Reason != provider.ReasonContractEnd || !cert.ContractEnd.Equal(end.UTC()) || !cert.BlobsDeleted || len(cert.KeysDestroyed) == 0 {
		t.Fatalf("certificate: %+v", cert)
	}
	for table, n := range before {
		if slices.Contains(keptAfterDeletion, table) || table == "data_keys" { // data keys: in keys_destroyed
			continue
		}
		// The audit log gained the deletion's own start record.
		if got := cert.Counts[table]; got != int64(n) && (table != "audit_log" || got != int64(n)+1) {
			t.Errorf("certificate counts %d %s, there were %d", got, table, n)
		}
	}

	// Nothing of the tenant is left.
	for table, n := range tenantRowsLeft(t, s, tenant) {
		if !slices.Contains(keptAfterDeletion, table) {
			t.Errorf("%s still has %d rows of the tenant", table, n)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Config.Path(app.BlobDir), string(tenant))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the tenant's blob directory is still there (%v)", err)
	}
	for _, f := range w.traces.files {
		if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("blob file %s is still there", f)
		}
	}
	scanned := dir
	if postgres {
		scanned = s.Config.Path(app.BlobDir) // the database's files are PostgreSQL's
	}
	if found := w.traces.findAnywhere(scanned); len(found) > 0 {
		t.Errorf("ciphertext of the tenant remains on disk: %v", found)
	}
	needles := []string{w.canary}
	if !postgres {
		needles = append(needles, people...)
	}
	if found := scanFor(t, dir, needles...); len(found) > 0 {
		t.Errorf("traces of the tenant remain on disk: %v", found)
	}

	// The other tenant is untouched, and works.
	if after := tenantRowsLeft(t, s, w.globexT); after["accounts"] != globexBefore["accounts"] || after["audit_log"] < globexBefore["audit_log"] {
		t.Errorf("the other tenant changed: %v → %v", globexBefore, after)
	}

	// The end is final, and every step is in the operator's own log.
	opP := principal.Principal{Kind: principal.Operator, User: "o1"}
	if _, err := s.Contracts.SetEnd(ctx, opP, tenant, s.Clock.Now().Add(time.Hour)); err == nil {
		t.Fatal("a deleted tenant was reactivated")
	}
	if c, err := s.Contracts.Of(ctx, tenant); err != nil || c.State != provider.ContractDeleted {
		t.Fatalf("contract after deletion: %+v %v", c, err)
	}
	ops := auditActions(t, s, ids.ServiceTenant)
	for _, a := range []string{"tenant.deletion.start", "tenant.deletion.done", "contract.set_end"} {
		if !hasAudit(ops, a, "") {
			t.Errorf("%s is not in the operator's audit log", a)
		}
	}
	all, err := s.Deletions.All(ctx, opP)
	if err != nil || len(all) != 1 || all[0].State != provider.DeletionDone {
		t.Fatalf("the operator's list of deletions: %+v %v", all, err)
	}
	if b, _ := json.Marshal(all); bytes.Contains(b, []byte(w.canary)) {
		t.Fatal("the operator's view of the deletion carries content")
	}
}

// deletionCode waits for the newest confirmation code emailed to to.
func (w *deletionWorld) deletionCode(t *testing.T, to string, nth int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		var codes []string
		for _, m := range w.smtp.Inbox() {
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
		if _, err := w.smtp.Wait(ctx, len(w.smtp.Inbox())+1); err != nil {
			t.Fatalf("no confirmation code %d for %s", nth, to)
		}
	}
}

// TestAcceleratedDeletionNeedsACodeAndThreeDays: after the contract's
// end, an admin asks for the early deletion; a code goes to that admin by
// email; wrong and expired codes are refused (five wrong ones end the
// request); the right one schedules the deletion three days later; an
// admin may cancel it until then, and the operator's reactivation cancels
// it too. Three days after a confirmation it runs, and its certificate
// says it was the customer's request.
func TestAcceleratedDeletionNeedsACodeAndThreeDays(t *testing.T) {
	w := startDeletionWorld(t, "", false)
	s, tenant, ctx := w.s, w.tenant.ID, t.Context()
	send(t, w.member, w.general.ID, "something to delete "+w.canary, "")
	nth := 0
	request := func() string {
		t.Helper()
		r := w.admin.do("POST", "/api/v1/admin/deletion", nil)
		if r.status != 202 {
			t.Fatalf("ask for the deletion: %d %s", r.status, r.body)
		}
		if strings.Contains(string(r.body), "code") && !strings.Contains(string(r.body), "awaiting_code") {
			t.Fatalf("the response carries the code: %s", r.body)
		}
		nth++
		return w.deletionCode(t, "admin@acme.example", nth)
	}
	confirm := func(code string) response {
		t.Helper()
		return w.admin.do("POST", "/api/v1/admin/deletion/confirm", map[string]string{"code": code})
	}

	// Not while the contract runs, and never by a member.
	if r := w.admin.do("POST", "/api/v1/admin/deletion", nil); r.status != 409 {
		t.Fatalf("an early deletion while the contract runs: %d %s", r.status, r.body)
	}
	if r := w.member.do("POST", "/api/v1/admin/deletion", nil); r.status != 403 {
		t.Fatalf("a member asks for the deletion: %d %s", r.status, r.body)
	}
	endContract := func() {
		t.Helper()
		if r := w.op.do("PUT", "/api/v1/operator/tenants/"+string(tenant)+"/contract", map[string]any{"end": s.Clock.Now().Add(time.Hour)}); r.status != 200 {
			t.Fatalf("set the end: %d %s", r.status, r.body)
		}
		s.Clock.Advance(2 * time.Hour)
	}
	endContract()
	if r := confirm("ABCDEFGHJK"); r.status != 409 {
		t.Fatalf("a code with nothing asked: %d %s", r.status, r.body)
	}

	// Wrong codes, then too many.
	code := request()
	for i := range provider.MaxCodeAttempts {
		want := 400
		if i == provider.MaxCodeAttempts-1 {
			want = 409 // the request is over
		}
		r := confirm("WRONG" + code[5:])
		if r.status != want {
			t.Fatalf("wrong code %d: %d %s", i, r.status, r.body)
		}
	}
	if r := confirm(code); r.status != 409 {
		t.Fatalf("the right code after five wrong ones: %d %s", r.status, r.body)
	}
	// An expired code.
	code = request()
	s.Clock.Advance(provider.CodeTTL + time.Minute)
	if r := confirm(code); r.status != 409 || !strings.Contains(string(r.body), "expired") {
		t.Fatalf("an expired code: %d %s", r.status, r.body)
	}
	// The right code, then the admin cancels.
	code = request()
	var d provider.Deletion
	if r := confirm(strings.ToLower(code)); r.status != 200 {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	} else {
		r.json(t, &d)
	}
	if d.State != provider.DeletionScheduled || !d.ExecuteAt.Equal(s.Clock.Now().Add(provider.AcceleratedDelay)) {
		t.Fatalf("scheduled: %+v", d)
	}
	var c provider.Contract
	w.admin.do("GET", "/api/v1/admin/contract", nil).json(t, &c)
	if c.Deletion != provider.DeletionScheduled || !c.DeleteAt.Equal(d.ExecuteAt) {
		t.Fatalf("the countdown does not show the early deletion: %+v", c)
	}
	if r := w.admin.do("DELETE", "/api/v1/admin/deletion", nil); r.status != 204 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	c = provider.Contract{}
	w.admin.do("GET", "/api/v1/admin/contract", nil).json(t, &c)
	if c.Deletion != "" || !c.DeleteAt.Equal(c.End.Add(provider.DeleteAfter)) {
		t.Fatalf("after cancelling: %+v", c)
	}

	// Confirmed again, then the operator reactivates the tenant: the
	// deletion is off and everyone is back.
	if r := confirm(request()); r.status != 200 {
		t.Fatalf("confirm again: %d %s", r.status, r.body)
	}
	if r := w.op.do("PUT", "/api/v1/operator/tenants/"+string(tenant)+"/contract", map[string]any{"end": s.Clock.Now().Add(30 * 24 * time.Hour)}); r.status != 200 {
		t.Fatalf("reactivate: %d %s", r.status, r.body)
	}
	if _, found, _ := s.Deletions.Of(ctx, tenant); found {
		t.Fatal("the reactivation left the deletion scheduled")
	}
	if r := w.member.do("GET", "/api/v1/channels", nil); r.status != 200 {
		t.Fatalf("a member after reactivation: %d %s", r.status, r.body)
	}

	// Ended again; confirmed; three days later it runs.
	if r := w.op.do("PUT", "/api/v1/operator/tenants/"+string(tenant)+"/contract", map[string]any{"end": s.Clock.Now().Add(time.Hour)}); r.status != 200 {
		t.Fatalf("end again: %d %s", r.status, r.body)
	}
	s.Clock.Advance(2 * time.Hour)
	if r := confirm(request()); r.status != 200 {
		t.Fatalf("confirm once more: %d %s", r.status, r.body)
	}
	s.Clock.Advance(provider.AcceleratedDelay - time.Minute)
	if n, err := s.Deletions.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("a sweep before the three days started %d (%v)", n, err)
	}
	s.Clock.Advance(2 * time.Minute)
	if n, err := s.Deletions.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("the sweep after three days started %d (%v)", n, err)
	}
	waitDeletion(t, s, tenant)
	cert := fetchCertificate(t, s, tenant)
	if cert.Reason != provider.ReasonCustomerRequest || cert.Counts["messages"] < 1 {
		t.Fatalf("certificate: %+v", cert)
	}
	// The admins were told, and every step is in the operator's log.
	told := false
	for _, m := range w.smtp.Inbox() {
		if strings.Contains(string(m.Body), "/api/v1/trust/deletions/"+string(tenant)) {
			told = true
		}
	}
	if !told {
		t.Error("the admins were not told where the certificate will be")
	}
	ops := auditActions(t, s, ids.ServiceTenant)
	for _, a := range []string{"tenant.deletion.confirm", "tenant.deletion.cancel", "tenant.deletion.start", "tenant.deletion.done"} {
		if !hasAudit(ops, a, "") {
			t.Errorf("%s is not in the operator's audit log", a)
		}
	}
	// Nobody has a certificate for a tenant that was not deleted.
	if r := newClient(t, s.URL).do("GET", "/api/v1/trust/deletions/"+string(w.globexT), nil); r.status != 404 {
		t.Fatalf("a certificate for a live tenant: %d %s", r.status, r.body)
	}
}

// TestTenantDeletionResumesAfterARestart stops the node in the middle of
// a deletion's purge; the next node takes the job up from where it was,
// finishes it, and the certificate's counts are exact.
func TestTenantDeletionResumesAfterARestart(t *testing.T) {
	onBothEngines(t, deletionResumes)
}

func deletionResumes(t *testing.T, dbURL string) {
	dir := t.TempDir()
	n := startManualNode(t, dir, dbURL)
	w := n.world(t)
	tenant := w.tenant
	w.admin.do("POST", "/api/v1/teams", map[string]string{"name": "Falcon"})
	var chans []chat.Channel
	w.admin.do("GET", "/api/v1/channels", nil).json(t, &chans)
	for i := range 600 {
		send(t, w.admin, chans[0].ID, "status report "+strings.Repeat("z", i%7), "")
	}
	opP := principal.Principal{Kind: principal.Operator, User: "o1"}
	end := w.s.Clock.Now().Add(time.Hour)
	if _, err := n.a.Contracts.SetEnd(t.Context(), opP, tenant.ID, end); err != nil {
		t.Fatal(err)
	}
	w.s.Clock.Set(end.Add(provider.DeleteAfter + time.Minute))
	before := tenantRowsLeft(t, w.s, tenant.ID)

	// Stop the node after two purge batches.
	stopped := make(chan struct{})
	var mid provider.Deletion
	var midErr error
	n.a.Deletions.SetAfterBatch(func(ctx context.Context, _ ids.TenantID, batch int) {
		if batch == 2 {
			mid, _, midErr = store.Deletions(n.a.DB).Deletion(context.WithoutCancel(ctx), tenant.ID)
			close(stopped)
			<-ctx.Done() // the node is going down
		}
	})
	if started, err := n.a.Deletions.Sweep(t.Context()); err != nil || started != 1 {
		t.Fatalf("sweep: %d %v", started, err)
	}
	select {
	case <-stopped:
	case <-time.After(60 * time.Second):
		t.Fatal("the deletion did not reach its second batch")
	}
	go n.cancel()
	n.stop(t)

	// Half-way: some rows are gone, the rest are not.
	if midErr != nil || mid.State != provider.DeletionRunning || len(mid.Counts) == 0 {
		t.Fatalf("mid-way: %+v %v", mid, midErr)
	}

	s := apptest.Start(t, apptest.Options{DataDir: dir, Config: func(c *config.Config) { c.TrustedProxies, c.DatabaseURL = "127.0.0.1/32", dbURL }})
	s.Clock.Set(end.Add(provider.DeleteAfter + 10*time.Minute)) // past the dead node's lease
	if _, err := s.Deletions.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.Jobs.Wake()
	waitDeletion(t, s, tenant.ID)
	cert := fetchCertificate(t, s, tenant.ID)
	for table, n := range before {
		if slices.Contains(keptAfterDeletion, table) || table == "data_keys" { // data keys: in keys_destroyed
			continue
		}
		if got := cert.Counts[table]; got != int64(n) && (table != "audit_log" || got != int64(n)+1) {
			t.Errorf("certificate counts %d %s, there were %d", got, table, n)
		}
	}
	for table, n := range tenantRowsLeft(t, s, tenant.ID) {
		if !slices.Contains(keptAfterDeletion, table) {
			t.Errorf("%s still has %d rows of the tenant", table, n)
		}
	}
}

// staleContracts answers Contracts with a list taken earlier, as a sweep on
// another node may still hold it.
type staleContracts struct {
	provider.ContractStore
	list []provider.Contract
}

func (s staleContracts) Contracts(context.Context) ([]provider.Contract, error) { return s.list, nil }

// staleDeletions answers Deletions with a list taken earlier.
type staleDeletions struct {
	provider.DeletionStore
	list []provider.Deletion
}

func (s staleDeletions) Deletions(context.Context) ([]provider.Deletion, error) { return s.list, nil }

// TestADeletionDoesNotStartOnAStaleList: a sweep works from lists it read
// a moment earlier. When, in that moment, the operator reactivated the
// tenant or an admin cancelled the early deletion, the deletion's start
// checks again in its own transaction and nothing is deleted.
func TestADeletionDoesNotStartOnAStaleList(t *testing.T) {
	w := startDeletionWorld(t, "", false)
	s, tenant, ctx := w.s, w.tenant.ID, t.Context()
	opP := principal.Principal{Kind: principal.Operator, User: "o1"}
	sweeper := func(cs provider.ContractStore, ds provider.DeletionStore) *provider.Deletions {
		contracts := provider.NewContracts(cs, ds, s.Audit, s.Clock)
		return provider.NewDeletions(provider.DeletionOptions{Store: ds, Contracts: contracts, Keys: s.Keys, Blobs: s.Blobs, Signer: s.Signing,
			Audit: s.Audit, Clock: s.Clock, JobStore: store.Jobs(s.DB), BaseURL: s.URL})
	}

	// Day 179 comes; the sweep has read the contracts; the operator
	// reactivates the tenant; the sweep goes on.
	end := s.Clock.Now().Add(time.Hour)
	if _, err := s.Contracts.SetEnd(ctx, opP, tenant, end); err != nil {
		t.Fatal(err)
	}
	s.Clock.Set(end.Add(provider.DeleteAfter + time.Minute))
	due, err := store.Contracts(s.DB).Contracts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Contracts.SetEnd(ctx, opP, tenant, s.Clock.Now().Add(30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := sweeper(staleContracts{store.Contracts(s.DB), due}, store.Deletions(s.DB)).Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("a reactivated tenant's deletion started on a stale list: %d (%v)", n, err)
	}
	if d, found, _ := s.Deletions.Of(ctx, tenant); found {
		t.Fatalf("a reactivated tenant has a deletion: %+v", d)
	}

	// The contract ends; an early deletion is confirmed and due; the
	// sweep has read it; an admin cancels; the sweep goes on.
	if _, err := s.Contracts.SetEnd(ctx, opP, tenant, s.Clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(2 * time.Hour)
	w.admin = reSignIn(t, w.world)
	if r := w.admin.do("POST", "/api/v1/admin/deletion", nil); r.status != 202 {
		t.Fatalf("ask: %d %s", r.status, r.body)
	}
	if r := w.admin.do("POST", "/api/v1/admin/deletion/confirm", map[string]string{"code": w.deletionCode(t, "admin@acme.example", 1)}); r.status != 200 {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	s.Clock.Advance(provider.AcceleratedDelay + time.Minute)
	scheduled, err := store.Deletions(s.DB).Deletions(ctx)
	if err != nil || len(scheduled) != 1 || scheduled[0].State != provider.DeletionScheduled {
		t.Fatalf("scheduled: %+v %v", scheduled, err)
	}
	w.admin = reSignIn(t, w.world)
	if r := w.admin.do("DELETE", "/api/v1/admin/deletion", nil); r.status != 204 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	if n, err := sweeper(store.Contracts(s.DB), staleDeletions{store.Deletions(s.DB), scheduled}).Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("a cancelled early deletion started on a stale list: %d (%v)", n, err)
	}
	if d, found, _ := s.Deletions.Of(ctx, tenant); found {
		t.Fatalf("a cancelled deletion is there: %+v", d)
	}
	if r := w.admin.do("GET", "/api/v1/admin/contract", nil); r.status != 200 {
		t.Fatalf("the admin after the cancelled deletion: %d %s", r.status, r.body)
	}
}
