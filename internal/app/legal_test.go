package app_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/mail/mailtest"
	"github.com/kaigi/kaigi/internal/provider"
)

// legalCase is a request the test enters and drives to an outcome.
type legalCase struct {
	country, instrument, customer string
	compulsory                    bool
	accounts                      int
	asked                         []string
	outcome                       string // rejected, no_data, non_content, content, withdrawn, or "" (still open)
}

// TestTransparencyReportFiguresMatchTheLedger enters a set of requests,
// drives each to its outcome through the operator's API, and checks every
// figure of the published report — JSON, CSV and HTML — against the set,
// overall, for enterprise customers, and per country; the report names the
// ledger state it came from, which verifies.
func TestTransparencyReportFiguresMatchTheLedger(t *testing.T) {
	onEachEngine(t, testTransparencyReportFiguresMatchTheLedger)
}

func testTransparencyReportFiguresMatchTheLedger(t *testing.T, pg bool) {
	w := startPasskeyWorldOn(t, pg)
	op := setUpOperator(t, w.s)
	cases := []legalCase{
		{"JP", "warrant", "enterprise", true, 2, []string{"content", "non_content"}, "content"},
		{"JP", "subpoena", "enterprise", true, 1, []string{"non_content"}, "non_content"},
		{"JP", "subpoena", "other", false, 3, []string{"non_content"}, "rejected"},
		{"JP", "court_order", "other", true, 1, []string{"content"}, "no_data"},
		{"DE", "court_order", "enterprise", true, 5, []string{"content", "non_content"}, "non_content"},
		{"DE", "other", "enterprise", false, 1, []string{"non_content"}, "withdrawn"},
		{"DE", "emergency", "other", true, 1, []string{"content"}, ""},
		{"US", "subpoena", "enterprise", true, 4, []string{"non_content"}, "rejected"},
		{"US", "warrant", "other", true, 2, []string{"content"}, "content"},
		{"US", "national_security", "enterprise", true, 7, []string{"non_content"}, "no_data"},
	}
	now := w.s.Clock.Now()
	period := provider.PeriodOf(now)
	from, _, _ := provider.ParsePeriod(period)
	step := func(id string, body map[string]any) {
		t.Helper()
		if r := op.do("POST", "/api/v1/operator/legal-requests/"+id+"/steps", body); r.status != 200 {
			t.Fatalf("step %v: %d %s", body, r.status, r.body)
		}
	}
	for i, c := range cases {
		accounts := make([]string, c.accounts)
		for j := range accounts {
			accounts[j] = fmt.Sprintf("person%d.%d@acme.example", i, j)
		}
		var lr provider.LegalRequest
		r := op.do("POST", "/api/v1/operator/legal-requests", map[string]any{"received": from.Add(time.Duration(i+1) * time.Hour), "country": c.country,
			"instrument": c.instrument, "compulsory": c.compulsory, "customer_type": c.customer, "asked": c.asked,
			"details": map[string]any{"agency": "Agency " + c.country, "accounts": accounts}})
		if r.status != 201 {
			t.Fatalf("enter %+v: %d %s", c, r.status, r.body)
		}
		r.json(t, &lr)
		switch c.outcome {
		case "rejected":
			step(lr.ID, map[string]any{"kind": "redirect"})
			step(lr.ID, map[string]any{"kind": "review", "decision": "reject", "reason": "overbroad"})
		case "withdrawn":
			step(lr.ID, map[string]any{"kind": "redirect"})
			step(lr.ID, map[string]any{"kind": "close"})
		case "no_data", "non_content", "content":
			scope := c.asked
			if c.outcome == "non_content" {
				scope = []string{"non_content"}
			}
			step(lr.ID, map[string]any{"kind": "review", "decision": "narrow", "scope": scope})
			disclosed := []string{}
			if c.outcome != "no_data" {
				disclosed = []string{c.outcome}
			}
			step(lr.ID, map[string]any{"kind": "disclose", "scope": disclosed})
			step(lr.ID, map[string]any{"kind": "close"})
		}
	}
	// An earlier half-year's request does not count in this period.
	if r := op.do("POST", "/api/v1/operator/legal-requests", map[string]any{"received": from.Add(-time.Hour), "country": "JP", "instrument": "subpoena",
		"customer_type": "other", "asked": []string{"non_content"}, "details": map[string]any{"agency": "Earlier", "accounts": []string{"x@y.example"}}}); r.status != 201 {
		t.Fatalf("an earlier request: %d %s", r.status, r.body)
	}

	// The expected figures, counted from the cases.
	expect := func(keep func(legalCase) bool) provider.Figures {
		var f provider.Figures
		for _, c := range cases {
			if !keep(c) {
				continue
			}
			f.Requests++
			f.Accounts += c.accounts
			switch c.outcome {
			case "rejected":
				f.Rejected++
			case "no_data":
				f.NoData++
			case "non_content":
				f.NonContent++
			case "content":
				f.Content++
			case "withdrawn":
				f.Withdrawn++
			default:
				f.Pending++
			}
		}
		return f
	}
	same := func(where string, got, want provider.Figures) {
		t.Helper()
		share := func(n int) float64 { return float64(n) / float64(want.Requests) }
		near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
		if got.Requests != want.Requests || got.Accounts != want.Accounts || got.Rejected != want.Rejected || got.NoData != want.NoData ||
			got.NonContent != want.NonContent || got.Content != want.Content || got.Pending != want.Pending || got.Withdrawn != want.Withdrawn ||
			!near(got.ShareRejected, share(want.Rejected)) || !near(got.ShareNoData, share(want.NoData)) ||
			!near(got.ShareNonContent, share(want.NonContent)) || !near(got.ShareContent, share(want.Content)) {
			t.Fatalf("%s: got %+v, want %+v", where, got, want)
		}
	}
	var rep provider.Report
	if r := w.admin.do("GET", "/api/v1/trust/transparency-report?period="+period, nil); r.status != 200 {
		t.Fatalf("report: %d %s", r.status, r.body)
	} else {
		r.json(t, &rep)
	}
	same("all", rep.All, expect(func(legalCase) bool { return true }))
	same("enterprise", rep.Enterprise, expect(func(c legalCase) bool { return c.customer == "enterprise" }))
	if len(rep.Countries) != 3 {
		t.Fatalf("countries: %+v", rep.Countries)
	}
	for _, cf := range rep.Countries {
		same(cf.Country, cf.All, expect(func(c legalCase) bool { return c.country == cf.Country }))
		same(cf.Country+" enterprise", cf.Enterprise, expect(func(c legalCase) bool { return c.country == cf.Country && c.customer == "enterprise" }))
	}

	// The ledger state it names is the ledger's, and the chain verifies.
	var check struct {
		Entries int64 `json:"entries"`
		OK      bool  `json:"ok"`
	}
	op.do("GET", "/api/v1/operator/legal-ledger/verification", nil).json(t, &check)
	_, head, _ := w.s.Ledger.Head(t.Context())
	if !check.OK || check.Entries != rep.LedgerSize || rep.LedgerHash != hex.EncodeToString(head) {
		t.Fatalf("ledger %+v, report at %d %s", check, rep.LedgerSize, rep.LedgerHash)
	}

	// CSV: the same figures, and the ledger state on every row.
	r := w.admin.do("GET", "/api/v1/trust/transparency-report?period="+period+"&format=csv", nil)
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 1+2*3+2 {
		t.Fatalf("csv: %v, %d rows", err, len(rows))
	}
	for _, row := range rows[1:] {
		if row[10] != strconv.FormatInt(rep.LedgerSize, 10) || row[11] != rep.LedgerHash {
			t.Fatalf("csv row without the ledger state: %v", row)
		}
		if row[1] == "ALL" && row[2] == "all" && (row[3] != strconv.Itoa(rep.All.Requests) || row[4] != strconv.Itoa(rep.All.Accounts) ||
			row[5] != strconv.FormatFloat(rep.All.ShareRejected*100, 'f', 1, 64)) {
			t.Fatalf("csv totals: %v", row)
		}
	}
	html := string(w.admin.do("GET", "/api/v1/trust/transparency-report?period="+period+"&format=html", nil).body)
	if !strings.Contains(html, rep.LedgerHash) || !strings.Contains(html, "<td>"+strconv.Itoa(rep.All.Requests)+"</td>") {
		t.Fatal("the HTML report lacks the ledger hash or the total")
	}
	for _, bad := range []string{"?period=2026-H3", "?period=1999-H1&format=json", "?period=" + period + "&format=xml", "?period=2999-H1"} {
		if r := w.admin.do("GET", "/api/v1/trust/transparency-report"+bad, nil); r.status != 400 {
			t.Errorf("%s: %d", bad, r.status)
		}
	}
}

// TestLegalRequestWorkflowRefusalsAndNotice: malformed intake, a disclosure
// wider than the approved scope, content under a subpoena, a gag order
// without an end date and steps out of order are refused; a customer under
// a gag order is told automatically when it ends, with a copy of the
// request; the identifying details are sealed at rest; a changed ledger
// entry is detected.
func TestLegalRequestWorkflowRefusalsAndNotice(t *testing.T) {
	smtp := mailtest.Start(t, mailtest.Options{Plain: true})
	w := startPasskeyWorldOn(t, false, func(c *config.Config) {
		c.SMTPAddr, c.SMTPFrom, c.SMTPTLS = smtp.Addr, "kaigi@ops.example", "none"
	})
	op := setUpOperator(t, w.s)
	for _, bad := range []map[string]any{
		{"country": "Japan", "instrument": "warrant", "customer_type": "other", "asked": []string{"content"}, "details": map[string]any{"agency": "A", "accounts": []string{"a@b"}}},
		{"country": "JP", "instrument": "letter", "customer_type": "other", "asked": []string{"content"}, "details": map[string]any{"agency": "A", "accounts": []string{"a@b"}}},
		{"country": "JP", "instrument": "warrant", "customer_type": "other", "asked": []string{"everything"}, "details": map[string]any{"agency": "A", "accounts": []string{"a@b"}}},
		{"country": "JP", "instrument": "warrant", "customer_type": "other", "asked": []string{"content"}, "details": map[string]any{"agency": "A", "accounts": []string{}}},
		{"country": "JP", "instrument": "warrant", "customer_type": "other", "asked": []string{"content"}, "details": map[string]any{"agency": "", "accounts": []string{"a@b"}}},
		{"country": "JP", "instrument": "warrant", "customer_type": "other", "asked": []string{"content"}, "received": time.Now().Add(48 * time.Hour), "details": map[string]any{"agency": "A", "accounts": []string{"a@b"}}},
	} {
		if r := op.do("POST", "/api/v1/operator/legal-requests", bad); r.status != 400 {
			t.Errorf("malformed intake %v: %d %s", bad, r.status, r.body)
		}
	}
	if r := w.admin.do("POST", "/api/v1/operator/legal-requests", map[string]any{}); r.status != 403 && r.status != 401 {
		t.Fatalf("a tenant admin entered a legal request: %d", r.status)
	}
	enter := func(instrument string, compulsory bool, asked ...string) provider.LegalRequest {
		var lr provider.LegalRequest
		r := op.do("POST", "/api/v1/operator/legal-requests", map[string]any{"country": "JP", "instrument": instrument, "compulsory": compulsory,
			"customer_type": "enterprise", "tenant": w.tenant.ID, "asked": asked,
			"details": map[string]any{"agency": "Tokyo District Public Prosecutors Office", "accounts": []string{"whistle.blower@acme.example", "admin@acme.example"}}})
		if r.status != 201 {
			t.Fatalf("enter: %d %s", r.status, r.body)
		}
		r.json(t, &lr)
		return lr
	}
	try := func(id string, body map[string]any, want int) {
		t.Helper()
		if r := op.do("POST", "/api/v1/operator/legal-requests/"+id+"/steps", body); r.status != want {
			t.Fatalf("step %v: %d %s, want %d", body, r.status, r.body, want)
		}
	}
	sub := enter("subpoena", true, "content", "non_content")
	try(sub.ID, map[string]any{"kind": "disclose", "scope": []string{"non_content"}}, 409) // before review
	try(sub.ID, map[string]any{"kind": "review", "decision": "proceed", "scope": []string{"content"}}, 400)
	try(sub.ID, map[string]any{"kind": "review", "decision": "narrow", "scope": []string{"non_content", "content", "content"}}, 400)
	try(sub.ID, map[string]any{"kind": "gag"}, 400)
	try(sub.ID, map[string]any{"kind": "gag", "until": w.s.Clock.Now().Add(-time.Hour)}, 400)
	try(sub.ID, map[string]any{"kind": "gag", "until": w.s.Clock.Now().Add(30 * 24 * time.Hour)}, 200)
	try(sub.ID, map[string]any{"kind": "review", "decision": "narrow", "scope": []string{"non_content"}}, 200)
	try(sub.ID, map[string]any{"kind": "disclose", "scope": []string{"content"}}, 400)     // wider than approved
	try(sub.ID, map[string]any{"kind": "disclose", "scope": []string{"non_content"}}, 400) // no accounts named: nothing to build it from
	try(sub.ID, map[string]any{"kind": "disclose", "scope": []string{"non_content"}, "accounts": []ids.UserID{mustAccount(t, w, "admin@acme.example")}}, 200)
	try(sub.ID, map[string]any{"kind": "notify"}, 409) // the gag forbids it
	try(sub.ID, map[string]any{"kind": "close"}, 200)
	try(sub.ID, map[string]any{"kind": "close"}, 409)
	if len(smtp.Inbox()) != 0 {
		t.Fatal("the customer was told during a gag order")
	}

	// The gag ends: the customer is told, with a copy.
	w.s.Clock.Advance(31 * 24 * time.Hour)
	if n, err := w.s.Ledger.Sweep(t.Context()); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	mails, err := smtp.Wait(ctx, 1)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(mails[0].Body)))
	if mails[0].To[0] != "admin@acme.example" || !strings.Contains(string(text), "Tokyo District Public Prosecutors Office") ||
		!strings.Contains(string(text), "whistle.blower@acme.example") || !strings.Contains(string(text), "Data disclosed: non_content") {
		t.Fatalf("notice to %v:\n%s", mails[0].To, text)
	}
	if n, _ := w.s.Ledger.Sweep(t.Context()); n != 0 {
		t.Fatal("the customer was told twice")
	}
	if !hasAudit(auditActions(t, w.s, w.tenant.ID), "legal.customer_notified", "") {
		t.Fatal("the notice is not in the customer's audit log")
	}

	// Sealed at rest: the agency and the accounts named are not in the database file.
	w.s.DB.Exec(t.Context(), "PRAGMA wal_checkpoint(TRUNCATE)")
	for _, f := range []string{"kaigi.db", "kaigi.db-wal"} {
		raw, err := os.ReadFile(filepath.Join(w.s.Config.DataDir, f))
		if err != nil {
			continue
		}
		if bytes.Contains(raw, []byte("Tokyo District Public Prosecutors")) || bytes.Contains(raw, []byte("whistle.blower@acme.example")) {
			t.Fatalf("%s holds a legal request's details in plain text", f)
		}
	}

	// A changed ledger entry is detected.
	if _, err := w.s.DB.Exec(t.Context(), `UPDATE legal_ledger SET kind = 'close' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	// (The operator's session ended with the month that passed; the check
	// is the same one the verification route runs.)
	if n, err := w.s.Ledger.VerifyChain(t.Context()); err == nil || !strings.Contains(err.Error(), "entry 2") {
		t.Fatalf("a changed ledger entry went unnoticed: %d %v", n, err)
	}
}
