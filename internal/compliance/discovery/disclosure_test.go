package discovery

import (
	"context"
	"errors"
	"testing"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// TestDisclosureExportsAreTheLedgersAlone: a disclosure is started only by
// the ledger's job principal for the request's own tenant — never by a
// tenant's admin or compliance officer, an operator, another job, or the
// ledger's principal of another tenant — and its package goes only to
// operators.
func TestDisclosureExportsAreTheLedgersAlone(t *testing.T) {
	s := New(Options{})
	tenant := ids.NewTenant()
	accounts := []ids.UserID{ids.UserID(ids.New())}
	for _, tc := range []struct {
		name string
		p    principal.Principal
	}{
		{"a tenant admin", principal.Principal{Kind: principal.Member, Tenant: tenant, User: "a1", Roles: []principal.Role{principal.TenantAdmin}}},
		{"a compliance officer", principal.Principal{Kind: principal.Member, Tenant: tenant, User: "c1", Roles: []principal.Role{principal.ComplianceOfficer}}},
		{"an operator", principal.Principal{Kind: principal.Operator, User: "o1"}},
		{"an operator with a grant", principal.Principal{Kind: principal.Operator, User: "o1", Grant: &principal.Grant{ID: "g", Tenant: tenant}}},
		{"another job", principal.Job(JobExport, tenant)},
		{"the ledger's job for another tenant", principal.Job(DisclosureJob, ids.NewTenant())},
		{"the ledger's job for no tenant", principal.Job(DisclosureJob, "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.ExportDisclosure(t.Context(), tc.p, tenant, ids.New(), accounts, []string{NonContent})
			if errs.CodeOf(err) != errs.Forbidden {
				t.Fatalf("started a disclosure: %v", err)
			}
		})
	}
	// The ledger's own principal gets past that (and this service, with no
	// metadata reader, cannot build one).
	if _, err := s.ExportDisclosure(t.Context(), principal.Job(DisclosureJob, tenant), tenant, ids.New(), accounts, []string{NonContent}); errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("the ledger's principal: %v", err)
	}
	for _, p := range []principal.Principal{
		{Kind: principal.Member, Tenant: tenant, User: "a1", Roles: []principal.Role{principal.TenantAdmin}},
		principal.Job(DisclosureJob, tenant),
	} {
		if err := s.DownloadDisclosure(t.Context(), p, ids.New(), tenant, ids.New(), func(Export) {}, nil); errs.CodeOf(err) != errs.Forbidden {
			t.Fatalf("%v downloads a disclosure: %v", p.Kind, err)
		}
	}
}

// stubAccounts knows a few accounts; stubDisclosures is never reached.
type stubAccounts map[ids.UserID]identity.Account

func (s stubAccounts) AccountByID(_ context.Context, id ids.UserID) (identity.Account, error) {
	if a, ok := s[id]; ok {
		return a, nil
	}
	return identity.Account{}, errs.E(errs.NotFound, "no such account")
}
func (stubAccounts) TenantByID(context.Context, ids.TenantID) (identity.Tenant, error) {
	return identity.Tenant{}, errs.E(errs.NotFound, "no")
}
func (stubAccounts) Accounts(context.Context, identity.Realm, ids.TenantID) ([]identity.Account, error) {
	return nil, nil
}

type stubDisclosures struct{ Disclosures }

// TestDisclosureScopeIsChecked: a disclosure names the categories (content,
// non_content, each once) and 1 to MaxDisclosureAccounts accounts, each
// once, each an account of the request's tenant; anything else is refused
// with a clear 400 before anything is stored.
func TestDisclosureScopeIsChecked(t *testing.T) {
	tenant := ids.NewTenant()
	mine, theirs, operator := ids.UserID(ids.New()), ids.UserID(ids.New()), ids.UserID(ids.New())
	s := New(Options{Disclosures: stubDisclosures{}, Accounts: stubAccounts{
		mine:     {ID: mine, Tenant: tenant, Realm: identity.TenantRealm},
		theirs:   {ID: theirs, Tenant: ids.NewTenant(), Realm: identity.TenantRealm},
		operator: {ID: operator, Realm: identity.OperatorRealm},
	}})
	many := make([]ids.UserID, MaxDisclosureAccounts+1)
	for i := range many {
		many[i] = ids.UserID(ids.New())
	}
	for _, tc := range []struct {
		name       string
		request    string
		accounts   []ids.UserID
		categories []string
	}{
		{"no categories", ids.New(), []ids.UserID{mine}, nil},
		{"an unknown category", ids.New(), []ids.UserID{mine}, []string{"everything"}},
		{"a category twice", ids.New(), []ids.UserID{mine}, []string{Content, Content}},
		{"no accounts", ids.New(), nil, []string{NonContent}},
		{"too many accounts", ids.New(), many, []string{NonContent}},
		{"an account twice", ids.New(), []ids.UserID{mine, mine}, []string{NonContent}},
		{"not an account id", ids.New(), []ids.UserID{"max@acme.example"}, []string{NonContent}},
		{"no such account", ids.New(), []ids.UserID{ids.UserID(ids.New())}, []string{NonContent}},
		{"another tenant's account", ids.New(), []ids.UserID{mine, theirs}, []string{NonContent}},
		{"an operator's account", ids.New(), []ids.UserID{operator}, []string{Content}},
		{"a bad request id", "../x", []ids.UserID{mine}, []string{Content}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.ExportDisclosure(t.Context(), principal.Job(DisclosureJob, tenant), tenant, tc.request, tc.accounts, tc.categories)
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != errs.Invalid || e.Message == "" {
				t.Fatalf("%v, want a 400 with a message", err)
			}
		})
	}
}
