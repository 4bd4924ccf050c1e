package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/identity/mfa/passkey/passkeytest"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/mail/mailtest"
	"github.com/kaigi/kaigi/internal/provider"
	"github.com/kaigi/kaigi/internal/webhook"
)

// subprocessor is an operator's request body for one.
func subprocessor(name string, customerData bool, effective time.Time) map[string]any {
	b := map[string]any{"name": name, "purpose": "Runs part of the service for " + name, "location": "EU (Germany)",
		"data_categories": []string{"service metrics"}, "customer_data": customerData}
	if customerData {
		b["data_categories"] = []string{"account email addresses", "message content (sealed)"}
	}
	if !effective.IsZero() {
		b["effective"] = effective
	}
	return b
}

// operatorWithPasskey sets up the node's first operator as setUpOperator
// does and also returns the operator's passkey, to sign in again after the
// clock has moved past the session's lifetime.
func operatorWithPasskey(t *testing.T, s *apptest.Server) (*client, func() *client) {
	t.Helper()
	link, _, err := s.NewSetupLink(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	token := fragmentParam(t, link, "token")
	op, a := newClient(t, s.URL), newAuthenticator(t, s)
	pc := op.beginPasskey("/api/v1/setup/operator/begin", map[string]string{"token": token, "email": "olga@ops.example", "display_name": "Olga Operator"})
	if r := op.do("POST", "/api/v1/setup/operator/finish", map[string]any{"token": token, "ceremony": pc.Ceremony,
		"credential": json.RawMessage(a.Create(t, pc.Options, passkeytest.Knobs{}))}); r.status != 201 {
		t.Fatalf("operator setup: %d %s", r.status, r.body)
	}
	return op, func() *client {
		t.Helper()
		c := newClient(t, s.URL)
		if _, r := c.passkeySignIn(a, passkeytest.Knobs{}); r.status != 200 {
			t.Fatalf("operator sign-in: %d %s", r.status, r.body)
		}
		return c
	}
}

func registry(t *testing.T, s *apptest.Server) provider.Registry {
	t.Helper()
	var reg provider.Registry
	r := newClient(t, s.URL).do("GET", "/api/v1/trust/subprocessors", nil)
	if r.status != 200 {
		t.Fatalf("public list: %d %s", r.status, r.body)
	}
	r.json(t, &reg)
	return reg
}

// TestSubprocessorNoticePeriodsAndRefusals: an addition that touches
// customer data takes effect six months after its announcement at the
// earliest, any other thirty days; a backdated or too-early effective date,
// malformed input, a second change while one is pending and changes of
// unknown subprocessors are refused with a clear 4xx; the public list moves
// with the clock; removals are announced too and never backdated.
func TestSubprocessorNoticePeriodsAndRefusals(t *testing.T) {
	onEachEngine(t, testSubprocessorNoticePeriodsAndRefusals)
}

func testSubprocessorNoticePeriodsAndRefusals(t *testing.T, pg bool) {
	w := startPasskeyWorldOn(t, pg)
	op, signIn := operatorWithPasskey(t, w.s)
	now := w.s.Clock.Now()
	refused := func(method, path string, body any, status int, says string) {
		t.Helper()
		r := op.do(method, path, body)
		if r.status != status || !strings.Contains(string(r.body), says) {
			t.Fatalf("%s %s %v: %d %s, want %d saying %q", method, path, body, r.status, r.body, status, says)
		}
	}
	for name, body := range map[string]map[string]any{
		"no name":           {"purpose": "x", "location": "JP", "data_categories": []string{"a"}},
		"no categories":     {"name": "X", "purpose": "x", "location": "JP"},
		"repeated category": {"name": "X", "purpose": "x", "location": "JP", "data_categories": []string{"a", "a"}},
		"two-line name":     {"name": "X\nY", "purpose": "x", "location": "JP", "data_categories": []string{"a"}},
	} {
		t.Run(name, func(t *testing.T) {
			if r := op.do("POST", "/api/v1/operator/subprocessors", body); r.status != 400 {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
	refused("POST", "/api/v1/operator/subprocessors", subprocessor("Backdated GmbH", false, now.Add(-time.Hour)), 400, "cannot be backdated")
	refused("POST", "/api/v1/operator/subprocessors", subprocessor("Hasty KK", true, now.AddDate(0, 5, 29)), 400, "6 months")
	refused("POST", "/api/v1/operator/subprocessors", subprocessor("Hasty Metrics", false, now.AddDate(0, 0, 29)), 400, "30 days")
	if reg := registry(t, w.s); len(reg.Changes) != 0 {
		t.Fatalf("refused changes were stored: %+v", reg.Changes)
	}

	var mailer, metrics provider.Change
	r := op.do("POST", "/api/v1/operator/subprocessors", subprocessor("Mailer KK", true, time.Time{}))
	if r.status != 201 {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	r.json(t, &mailer)
	if !mailer.Effective.Equal(now.AddDate(0, 6, 0)) || !mailer.Announced.Equal(now) {
		t.Fatalf("default effective date of a customer-data addition: %v (announced %v)", mailer.Effective, mailer.Announced)
	}
	r = op.do("POST", "/api/v1/operator/subprocessors", subprocessor("Metrics GmbH", false, now.AddDate(0, 0, 30)))
	if r.status != 201 {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	r.json(t, &metrics)
	reg := registry(t, w.s)
	if len(reg.Subprocessors) != 0 || len(reg.Upcoming) != 2 || len(reg.Changes) != 2 {
		t.Fatalf("before any notice ended: %+v", reg)
	}
	refused("PUT", "/api/v1/operator/subprocessors/"+metrics.Subprocessor, subprocessor("Metrics GmbH", false, time.Time{}), 409, "already announced")
	refused("PUT", "/api/v1/operator/subprocessors/"+ids.New(), subprocessor("Nobody", false, time.Time{}), 404, "no such subprocessor")
	refused("POST", "/api/v1/operator/subprocessors/not-an-id/removal", map[string]any{}, 404, "no such subprocessor")

	w.s.Clock.Advance(30 * 24 * time.Hour)
	op = signIn()
	reg = registry(t, w.s)
	if len(reg.Subprocessors) != 1 || reg.Subprocessors[0].Name != "Metrics GmbH" || reg.CustomerData != 0 || len(reg.Upcoming) != 1 {
		t.Fatalf("after thirty days: %+v", reg)
	}
	// Giving Metrics GmbH access to customer data is a change that needs
	// six months of notice.
	now = w.s.Clock.Now()
	refused("PUT", "/api/v1/operator/subprocessors/"+metrics.Subprocessor, subprocessor("Metrics GmbH", true, now.AddDate(0, 0, 30)), 400, "6 months")
	var widen provider.Change
	r = op.do("PUT", "/api/v1/operator/subprocessors/"+metrics.Subprocessor, subprocessor("Metrics GmbH", true, now.AddDate(0, 6, 0)))
	if r.status != 200 {
		t.Fatalf("change: %d %s", r.status, r.body)
	}
	r.json(t, &widen)
	if reg := registry(t, w.s); len(reg.Subprocessors) != 1 || reg.Subprocessors[0].CustomerData || len(reg.Upcoming) != 2 {
		t.Fatalf("the announced change must not apply yet: %+v", reg)
	}
	w.s.Clock.Set(mailer.Effective) // Mailer KK's six months have passed, not yet the change's
	op = signIn()
	reg = registry(t, w.s)
	if len(reg.Subprocessors) != 2 || reg.CustomerData != 1 || len(reg.Upcoming) != 1 || reg.Upcoming[0].ID != widen.ID {
		t.Fatalf("after six months: %+v", reg)
	}
	// Removals: announced, effective at once or later, never backdated.
	refused("POST", "/api/v1/operator/subprocessors/"+mailer.Subprocessor+"/removal", map[string]any{"effective": w.s.Clock.Now().Add(-time.Minute)}, 400, "backdated")
	var rm provider.Change
	r = op.do("POST", "/api/v1/operator/subprocessors/"+mailer.Subprocessor+"/removal", map[string]any{})
	if r.status != 200 {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	r.json(t, &rm)
	if rm.Kind != provider.ChangeRemove || rm.Name != "Mailer KK" || !rm.Effective.Equal(w.s.Clock.Now()) {
		t.Fatalf("removal: %+v", rm)
	}
	reg = registry(t, w.s)
	if len(reg.Subprocessors) != 1 || reg.Subprocessors[0].Name != "Metrics GmbH" || len(reg.Changes) != 4 {
		t.Fatalf("after the removal: %+v", reg)
	}
	refused("PUT", "/api/v1/operator/subprocessors/"+mailer.Subprocessor, subprocessor("Mailer KK", false, time.Time{}), 409, "removed")
	w.s.Clock.Advance(31 * 24 * time.Hour)
	if reg := registry(t, w.s); reg.CustomerData != 1 || !reg.Subprocessors[0].CustomerData || len(reg.Upcoming) != 0 {
		t.Fatalf("after the change's notice: %+v", reg)
	}
	// Every change is in the service's audit log.
	var n int
	if err := w.s.DB.QueryRow(t.Context(), `SELECT COUNT(*) FROM audit_log WHERE tenant_id = ? AND action LIKE 'subprocessor.%'`, string(ids.ServiceTenant)).Scan(&n); err != nil || n != 4 {
		t.Fatalf("audited changes: %d %v", n, err)
	}
}

// hookDelivery is one webhook request as the receiver got it.
type hookDelivery struct {
	ts, sig string
	body    []byte
}

// TestSubprocessorNotificationsReachEveryChannel: an announced change
// reaches the tenant's admins by email (at a real SMTP server), the
// tenant's webhook signed with the secret Kaigi generated (checked as the
// SIEM webhooks are), and the in-app notices; the tenant admin records an
// objection that the operator sees; bad webhook URLs and objections are
// refused; each step is in the tenant's audit log.
func TestSubprocessorNotificationsReachEveryChannel(t *testing.T) {
	smtp := mailtest.Start(t, mailtest.Options{Plain: true})
	w, _ := passkeyAdmin(t, func(c *config.Config) {
		c.SMTPAddr, c.SMTPFrom, c.SMTPTLS = smtp.Addr, "kaigi@ops.example", "none"
	})
	deliveries := make(chan hookDelivery, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		deliveries <- hookDelivery{r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), b}
	}))
	t.Cleanup(hook.Close)

	// Webhooks must be https and not aim at the node itself (loopback is
	// allowed below for this test's receiver only).
	for _, bad := range []string{"ftp://hooks.acme.example/x", "http://hooks.acme.example/x", "https://127.0.0.1/x", "https://169.254.169.254/latest", "https://user@hooks.acme.example/"} {
		if r := w.admin.do("PUT", "/api/v1/admin/subprocessor-webhook", map[string]string{"url": bad}); r.status != 400 {
			t.Errorf("webhook %s: %d %s", bad, r.status, r.body)
		}
	}
	w.s.Subprocessors.AllowLoopbackEndpoints(true)
	var set provider.WebhookSetting
	r := w.admin.do("PUT", "/api/v1/admin/subprocessor-webhook", map[string]string{"url": hook.URL + "/kaigi"})
	if r.status != 200 {
		t.Fatalf("set webhook: %d %s", r.status, r.body)
	}
	r.json(t, &set)
	if len(set.Secret) < 40 {
		t.Fatalf("the webhook's secret: %+v", set)
	}
	var got provider.WebhookSetting
	w.admin.do("GET", "/api/v1/admin/subprocessor-webhook", nil).json(t, &got)
	if !got.Configured || got.URL != hook.URL+"/kaigi" || got.Secret != "" {
		t.Fatalf("the webhook shown later: %+v", got)
	}

	op := setUpOperator(t, w.s)
	var c provider.Change
	r = op.do("POST", "/api/v1/operator/subprocessors", subprocessor("Support Desk Inc", true, time.Time{}))
	if r.status != 201 {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	r.json(t, &c)

	// Email to the tenant's admin.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	mails, err := smtp.Wait(ctx, 1)
	cancel()
	if err != nil || len(mails) != 1 {
		t.Fatalf("emails: %v, %d", err, len(mails))
	}
	text, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(mails[0].Body)))
	if mails[0].To[0] != "admin@acme.example" || !strings.Contains(mails[0].Message.Header.Get("Subject"), "Support Desk Inc") ||
		!strings.Contains(string(text), c.Effective.Format(time.RFC1123)) || !strings.Contains(string(text), "/trust/subprocessors") {
		t.Fatalf("the email to %v:\n%s", mails[0].To, text)
	}

	// The signed webhook.
	var d hookDelivery
	select {
	case d = <-deliveries:
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook delivery")
	}
	if err := webhook.Verify([]byte(set.Secret), d.ts, d.sig, d.body, w.s.Clock.Now(), 5*time.Minute); err != nil {
		t.Fatalf("webhook signature: %v (%s %s)", err, d.ts, d.sig)
	}
	if err := webhook.Verify([]byte("another secret"), d.ts, d.sig, d.body, w.s.Clock.Now(), 5*time.Minute); err == nil {
		t.Fatal("a signature verified with the wrong secret")
	}
	var ev provider.SubprocessorEvent
	if err := json.Unmarshal(d.body, &ev); err != nil || ev.Change.ID != c.ID || ev.Tenant != w.tenant.ID || ev.Type != "subprocessor.change" {
		t.Fatalf("webhook body: %s %v", d.body, err)
	}

	// In-app notices and an objection.
	var notices []provider.Notice
	w.admin.do("GET", "/api/v1/admin/subprocessor-notices", nil).json(t, &notices)
	if len(notices) != 1 || notices[0].ID != c.ID || notices[0].InEffect || notices[0].Objection != nil {
		t.Fatalf("notices: %+v", notices)
	}
	if r := w.admin.do("POST", "/api/v1/admin/subprocessor-notices/"+c.ID+"/objection", map[string]string{"reason": "  "}); r.status != 400 {
		t.Fatalf("an objection without a reason: %d %s", r.status, r.body)
	}
	if r := w.admin.do("POST", "/api/v1/admin/subprocessor-notices/"+ids.New()+"/objection", map[string]string{"reason": "no"}); r.status != 404 {
		t.Fatalf("an objection to no change: %d %s", r.status, r.body)
	}
	reason := "Our contracts forbid support staff outside the EU from seeing our data."
	if r := w.admin.do("POST", "/api/v1/admin/subprocessor-notices/"+c.ID+"/objection", map[string]string{"reason": reason}); r.status != 201 {
		t.Fatalf("object: %d %s", r.status, r.body)
	}
	w.admin.do("GET", "/api/v1/admin/subprocessor-notices", nil).json(t, &notices)
	if notices[0].Objection == nil || notices[0].Objection.Reason != reason {
		t.Fatalf("the notice after the objection: %+v", notices[0])
	}
	var view provider.OperatorView
	op.do("GET", "/api/v1/operator/subprocessors", nil).json(t, &view)
	if len(view.Objections) != 1 || view.Objections[0].Tenant != w.tenant.ID || view.Objections[0].Reason != reason || view.Objections[0].Change != c.ID {
		t.Fatalf("the operator's view of objections: %+v", view.Objections)
	}

	// The tenant's audit log has the webhook setting, the notification
	// (successful on both channels) and the objection — not its text.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var actions []string
		rows, err := w.s.DB.Query(t.Context(), `SELECT action, result, details FROM audit_log WHERE tenant_id = ? AND action LIKE 'subprocessor.%' ORDER BY seq`, string(w.tenant.ID))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a, res, det string
			rows.Scan(&a, &res, &det)
			if strings.Contains(det, "contracts forbid") {
				t.Fatalf("the objection's text is in the audit log: %s", det)
			}
			actions = append(actions, a+":"+res)
		}
		rows.Close()
		// The notification runs as a job, so it may come before or after the objection.
		want := []string{"subprocessor.notify:success", "subprocessor.object:success", "subprocessor.webhook.set:success"}
		slices.Sort(actions)
		if slices.Equal(actions, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tenant's audit log: %v, want %v", actions, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := w.admin.do("DELETE", "/api/v1/admin/subprocessor-webhook", nil); r.status != 204 {
		t.Fatalf("remove webhook: %d %s", r.status, r.body)
	}
	if r := w.admin.do("DELETE", "/api/v1/admin/subprocessor-webhook", nil); r.status != 404 {
		t.Fatalf("remove it again: %d %s", r.status, r.body)
	}
}

// TestSubprocessorFeedsAreSignedAndValid: the JSON feed's detached
// signature verifies with openssl and the published key (and fails for a
// changed byte); the Atom feed is Atom 1.0 with its required elements.
func TestSubprocessorFeedsAreSignedAndValid(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is needed to check the signed feed independently of Kaigi (apt-get install openssl)")
	}
	w := startPasskeyWorldOn(t, false)
	op := setUpOperator(t, w.s)
	for _, b := range []map[string]any{subprocessor("Mailer KK", true, time.Time{}), subprocessor("Metrics GmbH", false, time.Time{})} {
		if r := op.do("POST", "/api/v1/operator/subprocessors", b); r.status != 201 {
			t.Fatalf("add: %d %s", r.status, r.body)
		}
	}
	w.s.Clock.Advance(31 * 24 * time.Hour)
	anon := newClient(t, w.s.URL)
	feed := anon.do("GET", "/api/v1/trust/subprocessors/feed.json", nil)
	sig := anon.do("GET", "/api/v1/trust/subprocessors/feed.json.sig", nil)
	if feed.status != 200 || sig.status != 200 || len(sig.body) != 64 {
		t.Fatalf("feed %d, signature %d (%d bytes)", feed.status, sig.status, len(sig.body))
	}
	if h, _ := base64.StdEncoding.DecodeString(feed.header.Get(httpapi.HeaderFeedSignature)); !bytes.Equal(h, sig.body) {
		t.Fatal("the signature header and the .sig differ")
	}
	var f provider.Feed
	if err := json.Unmarshal(feed.body, &f); err != nil || len(f.Subprocessors) != 1 || f.Subprocessors[0].Name != "Metrics GmbH" || len(f.Upcoming) != 1 || len(f.Changes) != 2 {
		t.Fatalf("feed: %s %v", feed.body, err)
	}
	var svc httpapi.ServiceInfo
	anon.do("GET", "/api/v1/service", nil).json(t, &svc)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key, in, sigPath := write("key.pem", []byte(svc.PublicKeyPEM)), write("feed.json", feed.body), write("feed.json.sig", sig.body)
	verify := func(in string) (string, error) {
		out, err := exec.CommandContext(t.Context(), openssl, "pkeyutl", "-verify", "-pubin", "-inkey", key, "-rawin", "-in", in, "-sigfile", sigPath).CombinedOutput()
		return string(out), err
	}
	if out, err := verify(in); err != nil || !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("openssl: %v %s", err, out)
	}
	changed := bytes.Replace(feed.body, []byte("Metrics GmbH"), []byte("Metrics GmbI"), 1)
	if out, err := verify(write("changed.json", changed)); err == nil {
		t.Fatalf("openssl verified a changed feed: %s", out)
	}

	// Atom 1.0 (RFC 4287): feed with id, title, updated, author (here at
	// the feed level), a self link; entries with id, title, updated.
	atom := anon.do("GET", "/api/v1/trust/subprocessors/feed.atom", nil)
	if atom.status != 200 || !strings.HasPrefix(atom.header.Get("Content-Type"), "application/atom+xml") {
		t.Fatalf("atom: %d %s", atom.status, atom.header.Get("Content-Type"))
	}
	var doc struct {
		XMLName xml.Name
		ID      string `xml:"http://www.w3.org/2005/Atom id"`
		Title   string `xml:"http://www.w3.org/2005/Atom title"`
		Updated string `xml:"http://www.w3.org/2005/Atom updated"`
		Author  struct {
			Name string `xml:"http://www.w3.org/2005/Atom name"`
		} `xml:"http://www.w3.org/2005/Atom author"`
		Links []struct {
			Rel  string `xml:"rel,attr"`
			Href string `xml:"href,attr"`
		} `xml:"http://www.w3.org/2005/Atom link"`
		Entries []struct {
			ID      string `xml:"http://www.w3.org/2005/Atom id"`
			Title   string `xml:"http://www.w3.org/2005/Atom title"`
			Updated string `xml:"http://www.w3.org/2005/Atom updated"`
			Summary string `xml:"http://www.w3.org/2005/Atom summary"`
		} `xml:"http://www.w3.org/2005/Atom entry"`
	}
	if err := xml.Unmarshal(atom.body, &doc); err != nil {
		t.Fatalf("atom does not parse: %v\n%s", err, atom.body)
	}
	if doc.XMLName.Space != "http://www.w3.org/2005/Atom" || doc.XMLName.Local != "feed" || doc.ID == "" || doc.Title == "" || doc.Author.Name == "" {
		t.Fatalf("atom feed elements: %+v", doc)
	}
	if _, err := time.Parse(time.RFC3339, doc.Updated); err != nil {
		t.Fatalf("atom updated %q: %v", doc.Updated, err)
	}
	if !slices.ContainsFunc(doc.Links, func(l struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	}) bool {
		return l.Rel == "self" && strings.HasSuffix(l.Href, "/api/v1/trust/subprocessors/feed.atom")
	}) {
		t.Fatalf("atom self link: %+v", doc.Links)
	}
	if len(doc.Entries) != 2 {
		t.Fatalf("atom entries: %+v", doc.Entries)
	}
	seen := map[string]bool{}
	for _, e := range doc.Entries {
		if _, err := time.Parse(time.RFC3339, e.Updated); err != nil || e.ID == "" || e.Title == "" || seen[e.ID] {
			t.Fatalf("atom entry: %+v", e)
		}
		seen[e.ID] = true
	}
}

// TestSecurityTxtFollowsRFC9116: the fields RFC 9116 asks for, Expires
// within a year of the (moving) clock, Canonical at the public URL.
func TestSecurityTxtFollowsRFC9116(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Config: func(c *config.Config) { c.PublicURL = "https://kaigi.example" }})
	for _, advance := range []time.Duration{0, 400 * 24 * time.Hour} {
		s.Clock.Advance(advance)
		r := newClient(t, s.URL).do("GET", "/.well-known/security.txt", nil)
		if r.status != 200 || r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("security.txt: %d %s", r.status, r.header.Get("Content-Type"))
		}
		fields := map[string][]string{}
		sc := bufio.NewScanner(bytes.NewReader(r.body))
		for sc.Scan() {
			line := sc.Text()
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			name, value, ok := strings.Cut(line, ": ")
			if !ok || value == "" {
				t.Fatalf("not a field: %q", line)
			}
			fields[strings.ToLower(name)] = append(fields[strings.ToLower(name)], value)
		}
		if len(fields["contact"]) == 0 || !strings.HasPrefix(fields["contact"][0], "mailto:security@kaigi.example") {
			t.Fatalf("Contact: %v", fields["contact"])
		}
		if len(fields["expires"]) != 1 {
			t.Fatalf("Expires must appear once: %v", fields["expires"])
		}
		exp, err := time.Parse(time.RFC3339, fields["expires"][0])
		now := s.Clock.Now()
		if err != nil || !exp.After(now) || !exp.Before(now.AddDate(1, 0, 0)) {
			t.Fatalf("Expires %v at %v: %v", fields["expires"], now, err)
		}
		if c := fields["canonical"]; len(c) != 1 || c[0] != "https://kaigi.example/.well-known/security.txt" {
			t.Fatalf("Canonical: %v", c)
		}
		if p := fields["policy"]; len(p) != 1 || p[0] != "https://kaigi.example/trust/security" {
			t.Fatalf("Policy: %v", p)
		}
		if l := fields["preferred-languages"]; len(l) != 1 || l[0] != "en, ja" {
			t.Fatalf("Preferred-Languages: %v", l)
		}
	}
}

// TestSecurityTxtContactIsConfigurable: security_contact replaces the
// default Contact; a contact that is not a URI is refused at start.
func TestSecurityTxtContactIsConfigurable(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Config: func(c *config.Config) { c.SecurityContact = "https://kaigi.example/report-a-problem" }})
	r := newClient(t, s.URL).do("GET", "/.well-known/security.txt", nil)
	if r.status != 200 || !strings.Contains(string(r.body), "\nContact: https://kaigi.example/report-a-problem\n") || strings.Contains(string(r.body), "mailto:") {
		t.Fatalf("security.txt: %d\n%s", r.status, r.body)
	}
	bad := config.Default()
	bad.SecurityContact = "security team"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "security_contact") {
		t.Fatalf("a contact that is not a URI: %v", err)
	}
}

// TestTrustStatusAndControlsArePublic: anyone reads the service status
// (from the readiness checks) and the compliance mapping.
func TestTrustStatusAndControlsArePublic(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	anon := newClient(t, s.URL)
	var st httpapi.ServiceStatus
	anon.do("GET", "/api/v1/trust/status", nil).json(t, &st)
	if st.Status != "operational" || st.Components["database"] != "operational" || st.Components["bus"] != "operational" {
		t.Fatalf("status: %+v", st)
	}
	var controls []provider.Control
	anon.do("GET", "/api/v1/trust/controls", nil).json(t, &controls)
	if len(controls) != len(provider.Controls) {
		t.Fatalf("controls: %d, want %d", len(controls), len(provider.Controls))
	}
	for _, f := range provider.Frameworks {
		if !slices.ContainsFunc(controls, func(c provider.Control) bool { return c.Framework == f && len(c.Tests) > 0 && c.Feature != "" }) {
			t.Errorf("no control of %s with a feature and tests", f)
		}
	}
}
