package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/identity/mfa/passkey/passkeytest"
	"github.com/kaigi/kaigi/internal/lockbox"
	"github.com/kaigi/kaigi/internal/mail/mailtest"
	"github.com/kaigi/kaigi/internal/transparency"
)

// setUpOperator makes the node's first operator through a setup link and
// returns the operator's signed-in client.
func setUpOperator(t *testing.T, s *apptest.Server) *client {
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
	return op
}

// TestLockboxOverHTTP: an operator files a request for one channel; the
// tenant's approver approves with a real passkey assertion (a replayed one
// is refused); the operator reads exactly that channel and nothing else;
// every access is in the tenant's audit log and in its transparency log,
// which verifies with the published key; at the grant's end the operator is
// refused.
func TestLockboxOverHTTP(t *testing.T) {
	smtp := mailtest.Start(t, mailtest.Options{Plain: true})
	w, passkey := passkeyAdmin(t, func(c *config.Config) {
		c.SMTPAddr, c.SMTPFrom, c.SMTPTLS = smtp.Addr, "kaigi@ops.example", "none"
	})
	adminID := mustAccount(t, w, "admin@acme.example")
	if r := w.admin.do("PUT", "/api/v1/admin/accounts/"+string(adminID)+"/roles", map[string]any{"roles": []string{"tenant_admin", "lockbox_approver"}}); r.status != 204 {
		t.Fatalf("make the admin an approver: %d %s", r.status, r.body)
	}
	// A change of roles ends the person's sessions: sign in again.
	w.admin = newClient(t, w.s.URL)
	if _, r := w.admin.signIn("admin@acme.example", goodPassword); r.status != 200 {
		t.Fatalf("sign in again: %d %s", r.status, r.body)
	}
	if _, r := w.admin.passkeySignIn(passkey, passkeytest.Knobs{}); r.status != 200 {
		t.Fatalf("sign in again with the passkey: %d %s", r.status, r.body)
	}
	mkChannel := func(name string) chat.Channel {
		var team chat.Team
		w.admin.do("POST", "/api/v1/teams", map[string]string{"name": name}).json(t, &team)
		var chans []chat.Channel
		w.admin.do("GET", "/api/v1/channels", nil).json(t, &chans)
		for _, c := range chans {
			if c.Team == team.ID {
				return c
			}
		}
		t.Fatalf("no channel in team %s", name)
		return chat.Channel{}
	}
	support, board := mkChannel("Support"), mkChannel("Board")
	for i, c := range []chat.Channel{support, support, board} {
		if r := w.admin.do("POST", "/api/v1/channels/"+c.ID+"/messages", map[string]string{"body": fmt.Sprintf("message %d in %s", i, c.ID)}); r.status != 201 {
			t.Fatalf("post: %d %s", r.status, r.body)
		}
	}
	op := setUpOperator(t, w.s)

	// Bad requests.
	for _, bad := range []map[string]any{
		{"tenant": w.tenant.ID, "resources": []string{"channel:" + support.ID}, "justification": "customer_initiated_support", "reason": "x", "ticket": "T-1", "duration": "9h"},
		{"tenant": w.tenant.ID, "resources": []string{"channel:nope"}, "justification": "customer_initiated_support", "reason": "x", "ticket": "T-1"},
		{"tenant": w.tenant.ID, "resources": []string{"channel:" + support.ID}, "justification": "because", "reason": "x", "ticket": "T-1"},
		{"tenant": w.tenant.ID, "resources": []string{"channel:" + support.ID}, "justification": "customer_initiated_support", "reason": "x", "ticket": "T-1", "duration": "soon"},
	} {
		if r := op.do("POST", "/api/v1/operator/lockbox", bad); r.status != 400 {
			t.Errorf("bad request %v: %d %s", bad, r.status, r.body)
		}
	}
	var req lockbox.Request
	r := op.do("POST", "/api/v1/operator/lockbox", map[string]any{"tenant": w.tenant.ID, "resources": []string{"channel:" + support.ID},
		"justification": "customer_initiated_support", "reason": "Messages in Support do not display.", "ticket": "SUP-42", "duration": "1h"})
	if r.status != 201 {
		t.Fatalf("file: %d %s", r.status, r.body)
	}
	r.json(t, &req)
	// The approver is told by email: what is asked and where to decide, no content.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	mails, err := smtp.Wait(ctx, 1)
	cancel()
	if err != nil || len(mails) != 1 {
		t.Fatalf("emails to the approver: %v, %d", err, len(mails))
	}
	text, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(mails[0].Body)))
	if mails[0].To[0] != "admin@acme.example" || !strings.Contains(string(text), "SUP-42") || !strings.Contains(string(text), "/compliance/lockbox") ||
		strings.Contains(string(text), "message 0") {
		t.Fatalf("the approver's email to %v:\n%s", mails[0].To, text)
	}
	read := func(channel string) response {
		return op.do("GET", "/api/v1/operator/lockbox/"+req.ID+"/channels/"+channel+"/messages", nil)
	}
	if r := read(support.ID); r.status != 403 {
		t.Fatalf("a read before approval: %d %s", r.status, r.body)
	}

	// The approver sees it and approves with a passkey.
	var list []lockbox.Request
	w.admin.do("GET", "/api/v1/lockbox/requests", nil).json(t, &list)
	if len(list) != 1 || list[0].ID != req.ID || list[0].State != lockbox.Pending || list[0].Ticket != "SUP-42" {
		t.Fatalf("the approver's list: %+v", list)
	}
	if r := w.admin.do("POST", "/api/v1/lockbox/requests/"+req.ID+"/approve", map[string]any{}); r.status != 403 {
		t.Fatalf("an approval without a passkey: %d %s", r.status, r.body)
	}
	proof := w.admin.passkeyProof(passkey)
	if r := w.admin.do("POST", "/api/v1/lockbox/requests/"+req.ID+"/approve", map[string]any{"proof": proof}); r.status != 200 {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	if r := w.admin.do("POST", "/api/v1/lockbox/requests/"+req.ID+"/approve", map[string]any{"proof": proof}); r.status < 400 {
		t.Fatalf("a replayed approval: %d %s", r.status, r.body)
	}

	// Exactly the approved channel.
	if r := op.do("POST", "/api/v1/operator/lockbox/"+req.ID+"/activate", nil); r.status != 200 {
		t.Fatalf("activate: %d %s", r.status, r.body)
	}
	r = read(support.ID)
	if r.status != 200 {
		t.Fatalf("a read under the grant: %d %s", r.status, r.body)
	}
	var got struct {
		Messages []chat.View `json:"messages"`
	}
	r.json(t, &got)
	if len(got.Messages) != 2 || !strings.Contains(got.Messages[0].Body, support.ID) {
		t.Fatalf("read %d messages: %+v", len(got.Messages), got.Messages)
	}
	if r := read(board.ID); r.status != 403 || strings.Contains(string(r.body), "message 2") {
		t.Fatalf("a read of a channel outside the grant: %d %s", r.status, r.body)
	}
	if r := read("not-an-id"); r.status != 403 {
		t.Fatalf("a read of nothing: %d %s", r.status, r.body)
	}
	// A member of the tenant cannot use the operator's routes, nor approve.
	if r := w.admin.do("GET", "/api/v1/operator/lockbox/"+req.ID+"/channels/"+support.ID+"/messages", nil); r.status != 403 {
		t.Fatalf("a tenant admin on the operator's route: %d", r.status)
	}

	// The tenant sees the access, in its audit log and its transparency log.
	recs := auditActions(t, w.s, w.tenant.ID)
	if !hasAudit(recs, "lockbox.read", audit.Success) || !hasAudit(recs, "lockbox.read", audit.Denied) || !hasAudit(recs, "lockbox.approve", audit.Success) {
		t.Fatal("the tenant's audit log lacks the lockbox reads or the approval")
	}
	var svc struct {
		VerifierKey string `json:"verifier_key"`
	}
	w.admin.do("GET", "/api/v1/service", nil).json(t, &svc)
	var b transparency.Bundle
	w.admin.do("GET", "/api/v1/transparency/bundle", nil).json(t, &b)
	_, rep, err := transparency.VerifyBundle(nil, b, svc.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	accesses := 0
	for _, e := range rep.New {
		if e.Kind == "access" {
			accesses++
			if !strings.Contains(string(e.Body), "channel:"+support.ID) || !strings.Contains(string(e.Body), `"messages":"2"`) {
				t.Fatalf("access entry: %s", e.Body)
			}
		}
	}
	if accesses != 1 {
		t.Fatalf("%d access entries, want 1", accesses)
	}

	// At the grant's end, the operator is refused mid-session.
	w.s.Clock.Advance(time.Hour)
	if r := read(support.ID); r.status != 403 {
		t.Fatalf("a read after the grant ended: %d %s", r.status, r.body)
	}

	// A second request: a person's messages and the tenant's configuration.
	var second lockbox.Request
	r = op.do("POST", "/api/v1/operator/lockbox", map[string]any{"tenant": w.tenant.ID, "resources": []string{"user_messages:" + string(adminID), "tenant_config"},
		"justification": "data_recovery", "reason": "Restore the admin's lost messages.", "ticket": "SUP-43", "duration": "30m"})
	if r.status != 201 {
		t.Fatalf("file the second request: %d %s", r.status, r.body)
	}
	r.json(t, &second)
	under := func(path string) response {
		return op.do("GET", "/api/v1/operator/lockbox/"+second.ID+path, nil)
	}
	if r := under("/tenant-config"); r.status != 403 {
		t.Fatalf("the tenant's configuration before approval: %d %s", r.status, r.body)
	}
	if r := w.admin.do("POST", "/api/v1/lockbox/requests/"+second.ID+"/approve", map[string]any{"proof": w.admin.passkeyProof(passkey)}); r.status != 200 {
		t.Fatalf("approve the second: %d %s", r.status, r.body)
	}
	var mine struct {
		Messages []chat.View `json:"messages"`
	}
	if r := under("/users/" + string(adminID) + "/messages"); r.status != 200 {
		t.Fatalf("the admin's messages under the grant: %d %s", r.status, r.body)
	} else {
		r.json(t, &mine)
	}
	if len(mine.Messages) != 3 {
		t.Fatalf("read %d of the admin's messages, want 3", len(mine.Messages))
	}
	var cfg struct {
		Name    string   `json:"name"`
		Domains []string `json:"domains"`
	}
	if r := under("/tenant-config"); r.status != 200 {
		t.Fatalf("the tenant's configuration under the grant: %d %s", r.status, r.body)
	} else {
		r.json(t, &cfg)
	}
	if cfg.Name != "Acme Corp" || len(cfg.Domains) == 0 {
		t.Fatalf("tenant configuration: %+v", cfg)
	}
	for _, path := range []string{"/channels/" + support.ID + "/messages", "/recordings/" + support.ID, "/users/not-an-id/messages"} {
		if r := under(path); r.status != 403 {
			t.Fatalf("%s outside the second grant: %d %s", path, r.status, r.body)
		}
	}
	// The first grant does not open the second's resources either.
	if r := op.do("GET", "/api/v1/operator/lockbox/"+req.ID+"/tenant-config", nil); r.status != 403 {
		t.Fatalf("the tenant configuration under the first, ended grant: %d", r.status)
	}
}
