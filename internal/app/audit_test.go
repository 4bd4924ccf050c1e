package app_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/webhook"
)

type auditWorld struct {
	*chatWorld
	officer   *client
	officerID ids.UserID
}

func startAuditWorld(t *testing.T) *auditWorld {
	t.Helper()
	w := &auditWorld{chatWorld: startChatWorld(t)}
	const email = "cora@acme.example"
	inviteAndSignIn(t, w.world, email)
	w.officerID = mustAccount(t, w.world, email)
	if r := w.admin.do("PUT", "/api/v1/admin/accounts/"+string(w.officerID)+"/roles", map[string]any{"roles": []string{"compliance_officer"}}); r.status != 204 {
		t.Fatalf("make a compliance officer: %d %s", r.status, r.body)
	}
	w.officer = newClient(t, w.s.URL)
	enrolTOTP(t, w.s, w.officer, email)
	return w
}

// record appends an entry to the tenant's log as the system would.
func (w *auditWorld) record(t *testing.T, e audit.Entry) {
	t.Helper()
	if e.Actor.Kind == "" {
		e.Actor = principal.Job("test", w.tenant.ID)
	}
	e.Tenant = w.tenant.ID
	if err := w.s.Record(t.Context(), e); err != nil {
		t.Fatal(err)
	}
}

func (w *auditWorld) search(t *testing.T, c *client, query string) (audit.Page, response) {
	t.Helper()
	r := c.do("GET", "/api/v1/audit/records?"+query, nil)
	var p audit.Page
	if r.status == 200 {
		r.json(t, &p)
	}
	return p, r
}

func (w *auditWorld) lastRecord(t *testing.T) audit.Record {
	t.Helper()
	recs, err := w.s.DB.SearchAudit(t.Context(), w.tenant.ID, audit.Filter{Limit: 1})
	if err != nil || len(recs) != 1 {
		t.Fatalf("last record: %v %v", recs, err)
	}
	return recs[0]
}

// TestAuditSearchByOfficersAndAdmins: compliance officers and tenant admins
// search their own tenant's log by every filter, page through it, get clear
// refusals for bad filters, and every search is itself audited without the
// filter's values.
func TestAuditSearchByOfficersAndAdmins(t *testing.T) {
	w := startAuditWorld(t)
	for i := range 7 {
		w.record(t, audit.Entry{Action: "test.thing.poke", Target: fmt.Sprintf("thing:%d", i), Details: map[string]string{"i": strconv.Itoa(i)}})
	}
	w.record(t, audit.Entry{Action: "test.thing.poke", Target: "thing:secret-target", Result: audit.Denied})

	page, r := w.search(t, w.officer, "action=test.thing.&limit=5")
	if r.status != 200 || len(page.Records) != 5 || page.Next == "" {
		t.Fatalf("first page: %d %s", r.status, r.body)
	}
	if page.Records[0].Target != "thing:secret-target" || page.Records[0].Seq <= page.Records[4].Seq {
		t.Fatalf("not newest first: %+v", page.Records)
	}
	page2, r := w.search(t, w.officer, "action=test.thing.&limit=5&before="+page.Next)
	if r.status != 200 || len(page2.Records) != 3 || page2.Next != "" || page2.Records[0].Seq >= page.Records[4].Seq {
		t.Fatalf("second page: %d %s", r.status, r.body)
	}
	last := w.lastRecord(t)
	if last.Action != "audit.search" || last.ActorID != string(w.officerID) || last.DetailMap()["count"] != "3" ||
		last.DetailMap()["filters"] != "action" || strings.Contains(last.Details, "test.thing") {
		t.Fatalf("the search was not audited as it should be: %+v", last)
	}

	if page, r := w.search(t, w.admin, "result=denied&target="+url.QueryEscape("thing:secret-target")); r.status != 200 || len(page.Records) != 1 {
		t.Fatalf("admin search: %d %s", r.status, r.body)
	}
	if last := w.lastRecord(t); strings.Contains(last.Details, "secret-target") || last.DetailMap()["filters"] != "target,result" {
		t.Fatalf("the audit record of a search holds the filter's value: %s", last.Details)
	}
	from := url.QueryEscape(w.s.Clock.Now().Add(-time.Minute).Format(time.RFC3339))
	if page, r := w.search(t, w.officer, "from="+from+"&actor_kind=system&action=test.*"); r.status != 200 || len(page.Records) != 8 {
		t.Fatalf("time and actor kind: %d %s", r.status, r.body)
	}
	if page, r := w.search(t, w.officer, "actor_id="+string(w.officerID)+"&action=audit.search"); r.status != 200 || len(page.Records) < 2 {
		t.Fatalf("by actor: %d %s", r.status, r.body)
	}
	// Only the caller's tenant: the service's own chain is not visible.
	if page, _ := w.search(t, w.officer, "action=service."); len(page.Records) != 0 {
		t.Fatalf("another chain's records: %+v", page.Records)
	}

	bad := []struct{ name, query string }{
		{"bad time", "from=yesterday"},
		{"reversed range", "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z"},
		{"huge range", "from=2001-01-01T00:00:00Z&to=2026-01-01T00:00:00Z"},
		{"overlong target", "target=" + strings.Repeat("x", 5000)},
		{"unknown kind", "actor_kind=root"},
		{"unknown result", "result=ok"},
		{"wildcard inside", "action=" + url.QueryEscape("chat.%")},
		{"limit", "limit=100000"},
		{"negative cursor", "before=-5"},
		{"repeated", "action=a&action=b"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, r := w.search(t, w.officer, tc.query); r.status != 400 {
				t.Fatalf("%s: %d %s", tc.query, r.status, r.body)
			}
		})
	}
	for _, c := range []*client{w.member, w.guest} {
		if _, r := w.search(t, c, ""); r.status != 403 {
			t.Fatalf("a member searched the audit log: %d", r.status)
		}
	}
}

// TestAuditExportStreamsJSONLAndSafeCSV exports as JSON Lines and CSV; the
// CSV defuses cells that spreadsheets would run as formulas, and each export
// is audited with its count.
func TestAuditExportStreamsJSONLAndSafeCSV(t *testing.T) {
	w := startAuditWorld(t)
	evil := []string{"=HYPERLINK(\"http://evil.example\")", "+1+1", "-2+3", "@SUM(A1)"}
	for _, target := range evil {
		w.record(t, audit.Entry{Action: "test.export.row", Target: target})
	}
	w.record(t, audit.Entry{Action: "test.export.row", Target: "plain"})

	r := w.officer.do("GET", "/api/v1/audit/export?format=jsonl&action=test.export.", nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/x-ndjson") || !strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("jsonl: %d %v %s", r.status, r.header, r.body)
	}
	var got []audit.Record
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		var rec audit.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, rec)
	}
	if len(got) != 5 || got[0].Target != evil[0] || got[4].Target != "plain" || got[0].Seq >= got[4].Seq {
		t.Fatalf("jsonl records (oldest first, unchanged): %+v", got)
	}
	for _, rec := range got {
		if !bytes.Equal(audit.ComputeHash(rec), rec.Hash) {
			t.Fatalf("record %d does not hash to its hash: the export changed it", rec.Seq)
		}
	}
	if last := w.lastRecord(t); last.Action != "audit.export" || last.DetailMap()["count"] != "5" || last.DetailMap()["format"] != "jsonl" {
		t.Fatalf("export not audited: %+v", last)
	}

	r = w.admin.do("GET", "/api/v1/audit/export?format=csv&action=test.export.", nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", r.status, r.body)
	}
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || strings.Join(rows[0], ",") != strings.Join(audit.CSVHeader, ",") {
		t.Fatalf("csv rows: %v", rows)
	}
	for i, target := range evil {
		if cell := rows[i+1][6]; cell != "'"+target {
			t.Fatalf("cell %q is not defused", cell)
		}
	}
	if rows[5][6] != "plain" {
		t.Fatalf("a plain cell was changed: %q", rows[5][6])
	}
	if last := w.lastRecord(t); last.Action != "audit.export" || last.DetailMap()["format"] != "csv" {
		t.Fatalf("csv export not audited: %+v", last)
	}
	if r := w.officer.do("GET", "/api/v1/audit/export?format=xlsx", nil); r.status != 400 {
		t.Fatalf("unknown format: %d", r.status)
	}
	if r := w.member.do("GET", "/api/v1/audit/export", nil); r.status != 403 {
		t.Fatalf("member export: %d", r.status)
	}
}

// TestAuditExportIsStreamed exports more records than one page: the answer
// has no Content-Length (it is streamed page by page) and holds them all.
func TestAuditExportIsStreamed(t *testing.T) {
	w := startAuditWorld(t)
	for i := range 2100 {
		w.record(t, audit.Entry{Action: "test.bulk", Target: strconv.Itoa(i)})
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", w.s.URL+"/api/v1/audit/export?format=jsonl&action=test.bulk", nil)
	resp, err := w.officer.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != -1 {
		t.Fatalf("status %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	n := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		n++
	}
	if n != 2100 {
		t.Fatalf("%d lines", n)
	}
}

// TestAuditVerifyFromTheAPIAndRetention: the chain verifies through the
// API; an admin sets retention (audited, bounded); with the clock moved
// past it the periodic prune removes old records, and the chain still
// verifies from its signed anchor.
func TestAuditVerifyFromTheAPIAndRetention(t *testing.T) {
	w := startAuditWorld(t)
	ctx := t.Context()
	for range 5 {
		w.record(t, audit.Entry{Action: "test.old"})
	}
	r := w.officer.do("GET", "/api/v1/audit/verification", nil)
	var v struct {
		OK      bool  `json:"ok"`
		Records int64 `json:"records"`
	}
	r.json(t, &v)
	if r.status != 200 || !v.OK || v.Records < 5 {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	for _, years := range []int{0, 11, -1} {
		if r := w.admin.do("PUT", "/api/v1/audit/settings", map[string]int{"retention_years": years}); r.status != 400 {
			t.Fatalf("%d years: %d %s", years, r.status, r.body)
		}
	}
	if r := w.officer.do("PUT", "/api/v1/audit/settings", map[string]int{"retention_years": 3}); r.status != 403 {
		t.Fatalf("officer sets retention: %d", r.status)
	}
	if r := w.admin.do("PUT", "/api/v1/audit/settings", map[string]int{"retention_years": 2}); r.status != 200 {
		t.Fatalf("set retention: %d %s", r.status, r.body)
	}
	var st audit.Settings
	r = w.officer.do("GET", "/api/v1/audit/settings", nil)
	r.json(t, &st)
	if st.RetentionYears != 2 || st.PrunedThrough != 0 {
		t.Fatalf("settings: %s", r.body)
	}
	if last := w.lastRecord(t); last.Action != "audit.retention.update" || last.DetailMap()["retention_years"] != "2" || last.DetailMap()["previous_years"] != "1" {
		t.Fatalf("retention change not audited: %+v", last)
	}
	head, _, err := w.s.DB.AuditHead(ctx, w.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	w.s.Clock.Advance(2*366*24*time.Hour + time.Hour)
	w.record(t, audit.Entry{Action: "test.new"})
	w.s.AuditLog.PruneAll(ctx)
	st, err = w.s.AuditLog.Settings(ctx, principal.Principal{Kind: principal.Member, Tenant: w.tenant.ID, Roles: []principal.Role{principal.ComplianceOfficer}})
	if err != nil || st.PrunedThrough != head {
		t.Fatalf("pruned through %d, want %d (%v)", st.PrunedThrough, head, err)
	}
	recs, err := w.s.DB.AuditRecords(ctx, w.tenant.ID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Seq != head+1 || recs[0].Action != "test.new" {
		t.Fatalf("after pruning the chain starts at %d (%s)", recs[0].Seq, recs[0].Action)
	}
	rep, err := w.s.AuditLog.Verify(ctx, w.tenant.ID)
	if err != nil || !rep.OK() || rep.PrunedThrough != head {
		t.Fatalf("verify after pruning: %v %v", rep, err)
	}
	if _, err := w.s.DB.Exec(ctx, `DELETE FROM audit_log WHERE tenant_id = ? AND seq = ?`, string(w.tenant.ID), head+1); err == nil {
		t.Fatal("the database let a record above the anchor be deleted")
	}
}

// webhookReceiver is a SIEM's webhook over TLS that checks every
// delivery's signature and keeps the records.
type webhookReceiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	secret  []byte
	records []audit.Record
	bad     []string
	fail    int // answer 503 to this many more deliveries
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	wr := &webhookReceiver{}
	wr.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		wr.mu.Lock()
		defer wr.mu.Unlock()
		if wr.fail > 0 {
			wr.fail--
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		// Verify as a receiver outside Kaigi would: HMAC-SHA256 over
		// timestamp "." body, hex, prefixed v1=.
		if err := webhook.Verify(wr.secret, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, time.Now(), 10*365*24*time.Hour); err != nil {
			wr.bad = append(wr.bad, err.Error())
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var batch audit.WebhookBatch
		if err := json.Unmarshal(body, &batch); err != nil {
			wr.bad = append(wr.bad, err.Error())
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		wr.records = append(wr.records, batch.Records...)
	}))
	// Handshakes Kaigi refuses (an untrusted certificate) are expected.
	wr.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	wr.srv.StartTLS()
	t.Cleanup(wr.srv.Close)
	return wr
}

func certPEM(srv *httptest.Server) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
}

// deliverUntil runs deliveries until cond holds.
func deliverUntil(t *testing.T, w *auditWorld, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		w.s.Clock.Advance(10 * time.Minute) // past any backoff
		w.s.AuditLog.DeliverAll(t.Context())
	}
	t.Fatal("deliveries did not complete")
}

// TestAuditWebhookSinkDeliversEveryRecordOnceInOrder: a signed webhook to a
// local TLS server gets every record appended after it was added, exactly
// once and in order, across failures that make it retry; the secret is shown
// once and never stored or audited in clear.
func TestAuditWebhookSinkDeliversEveryRecordOnceInOrder(t *testing.T) {
	w := startAuditWorld(t)
	w.s.AuditLog.AllowLoopbackEndpoints(true)
	wr := newWebhookReceiver(t)
	if r := w.officer.do("POST", "/api/v1/audit/sinks", map[string]string{"kind": "webhook", "name": "SIEM", "endpoint": "http://" + wr.srv.Listener.Addr().String()}); r.status != 400 {
		t.Fatalf("plain http accepted: %d %s", r.status, r.body)
	}
	r := w.officer.do("POST", "/api/v1/audit/sinks", map[string]string{"kind": "webhook", "name": "SIEM", "endpoint": wr.srv.URL + "/hook", "ca_pem": certPEM(wr.srv)})
	var created audit.CreatedSink
	r.json(t, &created)
	if r.status != 201 || created.Secret == "" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	wr.mu.Lock()
	wr.secret = []byte(created.Secret)
	wr.fail = 2
	wr.mu.Unlock()
	r = w.officer.do("GET", "/api/v1/audit/sinks", nil)
	if r.status != 200 || bytes.Contains(r.body, []byte(created.Secret)) {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	var want []int64
	for i := range 250 {
		w.record(t, audit.Entry{Action: "test.siem", Target: strconv.Itoa(i)})
	}
	head, _, _ := w.s.DB.AuditHead(t.Context(), w.tenant.ID)
	for s := created.Cursor + 1; s <= head; s++ {
		want = append(want, s)
	}
	deliverUntil(t, w, func() bool {
		wr.mu.Lock()
		defer wr.mu.Unlock()
		return len(wr.records) >= len(want)
	})
	wr.mu.Lock()
	got := wr.records
	if len(wr.bad) > 0 {
		t.Fatalf("bad deliveries: %v", wr.bad)
	}
	wr.mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("%d records arrived, want %d", len(got), len(want))
	}
	for i, rec := range got {
		if rec.Seq != want[i] || rec.Tenant != w.tenant.ID || !bytes.Equal(audit.ComputeHash(rec), rec.Hash) {
			t.Fatalf("record %d: seq %d, want %d", i, rec.Seq, want[i])
		}
	}
	var list struct{ Sinks []audit.Sink }
	w.admin.do("GET", "/api/v1/audit/sinks", nil).json(t, &list)
	if len(list.Sinks) != 1 || list.Sinks[0].Cursor != head || list.Sinks[0].Failures != 0 || list.Sinks[0].Delivered.IsZero() {
		t.Fatalf("status: %+v", list.Sinks)
	}
	// Nothing more to send: nothing is sent again.
	w.s.AuditLog.DeliverAll(t.Context())
	wr.mu.Lock()
	if len(wr.records) != len(want) {
		t.Fatalf("records repeated: %d", len(wr.records))
	}
	wr.mu.Unlock()
	// The secret is nowhere in the database in clear.
	for _, table := range []string{"audit_sinks", "audit_log"} {
		var n int
		if err := w.s.DB.QueryRow(t.Context(), `SELECT COUNT(*) FROM `+table+` WHERE CAST(`+map[string]string{"audit_sinks": "secret", "audit_log": "details"}[table]+` AS TEXT) LIKE ?`, "%"+created.Secret+"%").Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s holds the secret in clear: %d %v", table, n, err)
		}
	}
	if r := w.officer.do("DELETE", "/api/v1/audit/sinks/"+created.ID, nil); r.status != 204 {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	if r := w.officer.do("DELETE", "/api/v1/audit/sinks/"+created.ID, nil); r.status != 404 {
		t.Fatalf("remove again: %d %s", r.status, r.body)
	}
}

// TestAuditSinkFailureIsVisibleAndRetried: a webhook that refuses the
// signature (a wrong secret) shows the error and the failures, and backs off.
func TestAuditSinkFailureIsVisibleAndRetried(t *testing.T) {
	w := startAuditWorld(t)
	w.s.AuditLog.AllowLoopbackEndpoints(true)
	wr := newWebhookReceiver(t)
	wr.secret = []byte("not the secret")
	r := w.admin.do("POST", "/api/v1/audit/sinks", map[string]string{"kind": "webhook", "name": "SIEM", "endpoint": wr.srv.URL, "ca_pem": certPEM(wr.srv)})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	w.record(t, audit.Entry{Action: "test.siem"})
	w.s.AuditLog.DeliverAll(t.Context())
	w.s.AuditLog.DeliverAll(t.Context()) // backing off: no second attempt yet
	var list struct{ Sinks []audit.Sink }
	w.admin.do("GET", "/api/v1/audit/sinks", nil).json(t, &list)
	if len(list.Sinks) != 1 || list.Sinks[0].Failures != 1 || !strings.Contains(list.Sinks[0].LastError, "401") || !list.Sinks[0].NextAttempt.After(w.s.Clock.Now()) {
		t.Fatalf("status: %+v", list.Sinks)
	}
	// Without a CA the test server's certificate is not trusted.
	r = w.admin.do("POST", "/api/v1/audit/sinks", map[string]string{"kind": "syslog", "name": "untrusted", "endpoint": wr.srv.Listener.Addr().String()})
	var sk audit.CreatedSink
	r.json(t, &sk)
	w.record(t, audit.Entry{Action: "test.siem"})
	if _, err := w.s.AuditLog.Deliver(t.Context(), sk.Sink); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
}

func TestAuditSinkEndpointsRefused(t *testing.T) {
	w := startAuditWorld(t)
	for _, tc := range []struct{ kind, endpoint string }{
		{"webhook", "http://siem.example/hook"},
		{"webhook", "https://127.0.0.1/hook"},
		{"webhook", "https://localhost/hook"},
		{"webhook", "https://169.254.169.254/latest"},
		{"webhook", "https://user:pw@siem.example/"},
		{"syslog", "siem.example"},
		{"syslog", "127.0.0.1:6514"},
		{"syslog", "siem.example:0"},
		{"ftp", "siem.example:21"},
	} {
		r := w.officer.do("POST", "/api/v1/audit/sinks", map[string]string{"kind": tc.kind, "name": "x", "endpoint": tc.endpoint})
		if r.status != 400 {
			t.Fatalf("%s %s: %d %s", tc.kind, tc.endpoint, r.status, r.body)
		}
	}
	if r := w.officer.do("POST", "/api/v1/audit/sinks", map[string]string{"kind": "syslog", "name": "x", "endpoint": "siem.example:6514", "ca_pem": "not pem"}); r.status != 400 {
		t.Fatalf("bad CA: %d", r.status)
	}
	if r := w.member.do("POST", "/api/v1/audit/sinks", map[string]string{"kind": "syslog", "name": "x", "endpoint": "siem.example:6514"}); r.status != 403 {
		t.Fatalf("member: %d", r.status)
	}
}

// syslogFrame matches an RFC 5424 message's header and structured data.
var syslogFrame = regexp.MustCompile(`^<(\d+)>1 (\S+) kaigi kaigi - (\S+) \[kaigi@32473 tenant="([^"]*)" seq="(\d+)" .*\] \x{FEFF}(\{.*\})$`)

// TestAuditSyslogSinkOverTLS: a local TLS syslog receiver reads RFC 5425
// octet-counted frames of RFC 5424 messages: every record once, in order.
func TestAuditSyslogSinkOverTLS(t *testing.T) {
	w := startAuditWorld(t)
	w.s.AuditLog.AllowLoopbackEndpoints(true)
	// The receiver borrows httptest's certificate (valid for 127.0.0.1).
	cert := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(cert.Close)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: cert.TLS.Certificates})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var frames []string
	var bad []string
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					lenText, err := br.ReadString(' ')
					if err != nil {
						return
					}
					n, err := strconv.Atoi(strings.TrimSuffix(lenText, " "))
					if err != nil || n <= 0 || n > 1<<20 {
						mu.Lock()
						bad = append(bad, "bad length "+lenText)
						mu.Unlock()
						return
					}
					msg := make([]byte, n)
					if _, err := io.ReadFull(br, msg); err != nil {
						return
					}
					mu.Lock()
					frames = append(frames, string(msg))
					mu.Unlock()
				}
			}(conn)
		}
	}()
	r := w.officer.do("POST", "/api/v1/audit/sinks", map[string]string{"kind": "syslog", "name": "syslog", "endpoint": ln.Addr().String(), "ca_pem": certPEM(cert)})
	var created audit.CreatedSink
	r.json(t, &created)
	if r.status != 201 || created.Secret != "" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	for i := range 120 {
		res := audit.Success
		if i%10 == 0 {
			res = audit.Denied
		}
		w.record(t, audit.Entry{Action: "test.syslog", Target: `quote"and]bracket` + strconv.Itoa(i), Result: res})
	}
	head, _, _ := w.s.DB.AuditHead(t.Context(), w.tenant.ID)
	want := int(head - created.Cursor)
	deliverUntil(t, w, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(frames) >= want
	})
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 || len(frames) != want {
		t.Fatalf("%d frames, want %d; bad: %v", len(frames), want, bad)
	}
	for i, f := range frames {
		m := syslogFrame.FindStringSubmatch(f)
		if m == nil {
			t.Fatalf("frame %d is not RFC 5424 as expected: %q", i, f)
		}
		seq, _ := strconv.ParseInt(m[5], 10, 64)
		if seq != created.Cursor+1+int64(i) || m[4] != string(w.tenant.ID) || m[3] != "test.syslog" {
			t.Fatalf("frame %d: %q", i, f)
		}
		var rec audit.Record
		if err := json.Unmarshal([]byte(m[6]), &rec); err != nil || rec.Seq != seq || !bytes.Equal(audit.ComputeHash(rec), rec.Hash) {
			t.Fatalf("frame %d's record: %v", i, err)
		}
		pri, _ := strconv.Atoi(m[1])
		wantPri := 13*8 + 6
		if rec.Result != audit.Success {
			wantPri = 13*8 + 4
		}
		if pri != wantPri {
			t.Fatalf("frame %d: priority %d, want %d", i, pri, wantPri)
		}
		if _, err := time.Parse(time.RFC3339Nano, m[2]); err != nil {
			t.Fatalf("frame %d: timestamp %q", i, m[2])
		}
	}
}

// TestAuditRetentionOnPostgresNode runs the periodic prune on a node backed
// by PostgreSQL: the chain verifies from its anchor and the database's
// trigger function refuses a deletion above it.
func TestAuditRetentionOnPostgresNode(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Postgres: true})
	ctx := t.Context()
	tenant := ids.NewTenant()
	admin := principal.Principal{Kind: principal.Member, Tenant: tenant, User: "adm", Roles: []principal.Role{principal.TenantAdmin}}
	for range 20 {
		if err := s.Record(ctx, audit.Entry{Actor: principal.Job("test", tenant), Tenant: tenant, Action: "test.old"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AuditLog.SetRetention(ctx, admin, 1); err != nil {
		t.Fatal(err)
	}
	head, _, err := s.DB.AuditHead(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(367 * 24 * time.Hour)
	if err := s.Record(ctx, audit.Entry{Actor: principal.Job("test", tenant), Tenant: tenant, Action: "test.new"}); err != nil {
		t.Fatal(err)
	}
	s.AuditLog.PruneAll(ctx)
	rep, err := s.AuditLog.Verify(ctx, tenant)
	if err != nil || !rep.OK() || rep.PrunedThrough != head || rep.Records != 2 { // test.new and audit.prune
		t.Fatalf("verify: %v %v", rep, err)
	}
	if _, err := s.DB.Exec(ctx, `DELETE FROM audit_log WHERE tenant_id = ? AND seq = ?`, string(tenant), head+1); err == nil {
		t.Fatal("PostgreSQL let a record above the anchor be deleted")
	}
}
