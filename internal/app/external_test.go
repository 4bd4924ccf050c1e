package app_test

import (
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/principal"
)

// secondTenant creates another tenant on the world's node with a member who
// signs in, and returns the member's client and an admin principal for
// setting its policy.
func secondTenant(t *testing.T, w *world, name, domain, memberEmail string) (*client, principal.Principal) {
	t.Helper()
	ctx := t.Context()
	_, link, err := w.s.Identity.CreateTenant(ctx, principal.Job("test", ""), identity.NewTenant{Name: name, Domain: domain, AdminEmail: "boss@" + domain})
	if err != nil {
		t.Fatal(err)
	}
	boss, err := w.s.Identity.AcceptInvitation(ctx, fragmentParam(t, link, "token"), "Boss", goodPassword, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	admin := principal.Principal{Kind: principal.Member, Tenant: boss.Tenant, User: boss.ID, Roles: boss.Roles, Source: "127.0.0.1", Client: "browser"}
	_, mlink, err := w.s.Identity.Invite(ctx, admin, memberEmail, principal.Member, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Identity.AcceptInvitation(ctx, fragmentParam(t, mlink, "token"), "Grace Globex", goodPassword, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, w.s.URL)
	if sb, r := c.signIn(memberEmail, goodPassword); sb.State != identity.SessionActive {
		t.Fatalf("sign in %s: %d %s", memberEmail, r.status, r.body)
	}
	return c, admin
}

func setExternal(t *testing.T, w *world, admin principal.Principal, ext identity.ExternalPolicy) {
	t.Helper()
	pol := identity.DefaultPolicy()
	pol.External = ext
	if err := w.s.Identity.SetPolicy(t.Context(), admin, pol, false); err != nil {
		t.Fatal(err)
	}
}

func TestExternalChatsNeedBothTenantsAndKeepTwoCopies(t *testing.T) {
	w := startWorld(t)
	max := inviteAndSignIn(t, w, "max@acme.example")
	grace, globexAdmin := secondTenant(t, w, "Globex", "globex.example", "grace@globex.example")
	acme, err := w.s.DB.AccountByEmail(t.Context(), identity.TenantRealm, w.tenant.ID, "admin@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	acmeAdmin := principal.Principal{Kind: principal.Member, Tenant: acme.Tenant, User: acme.ID, Roles: acme.Roles, Source: "127.0.0.1", Client: "browser"}

	start := func(c *client, email string) response {
		return c.do("POST", "/api/v1/external-chats", map[string]string{"email": email})
	}
	if r := start(max, "grace@globex.example"); r.status != 403 {
		t.Fatalf("both tenants off: %d %s", r.status, r.body)
	}
	setExternal(t, w, acmeAdmin, identity.ExternalPolicy{Enabled: true})
	if r := start(max, "grace@globex.example"); r.status != 403 {
		t.Fatalf("only one tenant on: %d %s", r.status, r.body)
	}
	setExternal(t, w, globexAdmin, identity.ExternalPolicy{Enabled: true, Allow: []string{"acme.example"}})
	if r := start(max, "nobody@globex.example"); r.status != 403 || !strings.Contains(string(r.body), "not allowed") {
		t.Fatalf("an unknown address answers like a refusal: %d %s", r.status, r.body)
	}
	var mine chat.Channel
	r := start(max, "grace@globex.example")
	if r.status != 200 {
		t.Fatalf("both on: %d %s", r.status, r.body)
	}
	r.json(t, &mine)
	if mine.Kind != chat.External || !strings.Contains(mine.Name, "Globex") {
		t.Fatalf("Max's copy: %+v", mine)
	}

	sent := send(t, max, mine.ID, "Hello from Acme", "")
	var theirs []chat.Channel
	grace.do("GET", "/api/v1/channels", nil).json(t, &theirs)
	if len(theirs) != 1 || theirs[0].Kind != chat.External || theirs[0].ID == mine.ID {
		t.Fatalf("Grace's channels: %+v", theirs)
	}
	var views []chat.View
	grace.do("GET", "/api/v1/channels/"+theirs[0].ID+"/messages", nil).json(t, &views)
	if len(views) != 1 || views[0].Body != "Hello from Acme" || views[0].ID == sent.ID {
		t.Fatalf("Grace's copy: %+v", views)
	}
	send(t, grace, theirs[0].ID, "Hi Max, Globex here", "")
	max.do("GET", "/api/v1/channels/"+mine.ID+"/messages", nil).json(t, &views)
	if len(views) != 2 || views[0].Body != "Hi Max, Globex here" {
		t.Fatalf("Max's copy after the reply: %+v", views)
	}
	// Each tenant sees only its own copy.
	if r := grace.do("GET", "/api/v1/channels/"+mine.ID+"/messages", nil); r.status != 403 {
		t.Fatalf("Grace reads Acme's copy: %d", r.status)
	}
	// Each copy is audited in its own tenant's log.
	for _, tc := range []struct {
		tenant principal.Principal
		action string
	}{{acmeAdmin, "message.receive_external"}, {globexAdmin, "message.receive_external"}} {
		recs, err := w.s.DB.AuditRecords(t.Context(), tc.tenant.Tenant, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, rec := range recs {
			found = found || rec.Action == tc.action
		}
		if !found {
			t.Errorf("tenant %s has no %s record", tc.tenant.Tenant, tc.action)
		}
	}
	// Sent messages cannot be changed.
	if r := max.do("PATCH", "/api/v1/messages/"+sent.ID, map[string]string{"body": "changed"}); r.status != 409 {
		t.Fatalf("editing an external message: %d", r.status)
	}
	// When Globex blocks Acme, nothing more gets through.
	setExternal(t, w, globexAdmin, identity.ExternalPolicy{Enabled: true, Block: []string{"acme.example"}})
	if r := max.do("POST", "/api/v1/channels/"+mine.ID+"/messages", map[string]string{"body": "still there?"}); r.status != 403 {
		t.Fatalf("sending after the block: %d %s", r.status, r.body)
	}
	// Guests never chat externally.
	g, _ := inviteGuest(t, w, "gus@partner.example")
	if r := start(g, "grace@globex.example"); r.status != 403 {
		t.Fatalf("a guest starts an external chat: %d", r.status)
	}
}

// TestAFreshTenantsFirstEventsDoNotStall covers a tenant whose first sealed
// content is an event written inside a transaction (a member added to a
// private channel): its key must already exist, since creating one inside
// the transaction would wait on the transaction's own lock.
func TestAFreshTenantsFirstEventsDoNotStall(t *testing.T) {
	w := startWorld(t)
	grace, _ := secondTenant(t, w, "Initech", "initech.example", "grace@initech.example")
	var team chat.Team
	if r := grace.do("POST", "/api/v1/teams", map[string]string{"name": "Ops"}); r.status != 201 {
		t.Fatalf("team: %d %s", r.status, r.body)
	} else {
		r.json(t, &team)
	}
	var ch chat.Channel
	if r := grace.do("POST", "/api/v1/teams/"+team.ID+"/channels", map[string]string{"name": "private", "kind": "private"}); r.status != 201 {
		t.Fatalf("channel: %d %s", r.status, r.body)
	} else {
		r.json(t, &ch)
	}
	if r := grace.do("POST", "/api/v1/channels/"+ch.ID+"/archive", nil); r.status != 204 {
		t.Fatalf("archive: %d %s", r.status, r.body)
	}
}
