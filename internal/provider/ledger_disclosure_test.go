package provider_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/provider"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// plainSealer stands in for the key service: the ledger's sealing is not
// what this test is about.
type plainSealer struct{}

func (plainSealer) Seal(_ context.Context, _ ids.TenantID, _ keys.AAD, p []byte) ([]byte, error) {
	return append([]byte("sealed:"), p...), nil
}

func (plainSealer) Open(_ context.Context, _ ids.TenantID, _ keys.AAD, c []byte) ([]byte, error) {
	return []byte(strings.TrimPrefix(string(c), "sealed:")), nil
}

// TestLegalDisclosureIsBuiltOnlyAfterTheLedgersChecks: a disclose step that
// names accounts has its package built — with exactly those accounts and
// the categories given — only once the step passes every check (state,
// approved scope, a customer, accounts of that customer that the request
// names); the export's id is recorded on the request and in the step's
// audit record. A refused step builds nothing, and a package that cannot
// be started leaves the request as it was.
func TestLegalDisclosureIsBuiltOnlyAfterTheLedgersChecks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		tenant := ids.NewTenant()
		max, nora, ada, elsewhere := ids.UserID(ids.New()), ids.UserID(ids.New()), ids.UserID(ids.New()), ids.UserID(ids.New())
		emails := map[ids.UserID]string{max: "max@acme.example", nora: "nora@acme.example", ada: "ada@acme.example"}
		type build struct {
			accounts []ids.UserID
			scope    []string
		}
		var builds []build
		failBuild := false
		l := provider.NewLedger(provider.LedgerOptions{Store: store.Ledger(db), Keys: plainSealer{}, Audit: audit.New(clock.Real{}), Clock: clock.Real{},
			Disclose: func(_ context.Context, r provider.LegalRequest, accounts []ids.UserID, scope []string) (string, error) {
				if failBuild {
					return "", errs.E(errs.Unavailable, "The package cannot be started now.")
				}
				builds = append(builds, build{accounts, scope})
				return "export-" + r.ID, nil
			},
			Accounts: func(_ context.Context, t ids.TenantID, accounts []ids.UserID) ([]string, error) {
				var out []string
				for _, a := range accounts {
					e, ok := emails[a]
					if !ok || t != tenant {
						return nil, errs.E(errs.Invalid, "Account %s is not an account of the organisation the request concerns.", a)
					}
					out = append(out, e)
				}
				return out, nil
			}})
		op := principal.Principal{Kind: principal.Operator, User: "olga"}
		enter := func(tn ids.TenantID, named ...string) provider.LegalRequest {
			t.Helper()
			r, err := l.Enter(ctx, op, provider.Intake{Country: "JP", Instrument: "warrant", Compulsory: true, Customer: provider.CustomerEnterprise,
				Tenant: tn, Asked: []string{provider.Content, provider.NonContent}, Details: provider.Details{Agency: "A", Accounts: named}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Advance(ctx, op, r.ID, provider.Step{Kind: "review", Decision: "narrow", Scope: []string{provider.NonContent}}); err != nil {
				t.Fatal(err)
			}
			return r
		}
		r := enter(tenant, "MAX@acme.example", string(nora))
		for _, tc := range []struct {
			name string
			st   provider.Step
			code errs.Code
		}{
			{"wider than approved", provider.Step{Kind: "disclose", Scope: []string{provider.Content}, Accounts: []ids.UserID{max}}, errs.Invalid},
			{"another tenant's account", provider.Step{Kind: "disclose", Scope: []string{provider.NonContent}, Accounts: []ids.UserID{elsewhere}}, errs.Invalid},
			{"the customer's, not named", provider.Step{Kind: "disclose", Scope: []string{provider.NonContent}, Accounts: []ids.UserID{max, ada}}, errs.Invalid},
			{"not an id", provider.Step{Kind: "disclose", Scope: []string{provider.NonContent}, Accounts: []ids.UserID{"max@acme.example"}}, errs.Invalid},
			{"nothing disclosed", provider.Step{Kind: "disclose", Accounts: []ids.UserID{max}}, errs.Invalid},
			{"accounts on a gag", provider.Step{Kind: "gag", Until: time.Now().Add(time.Hour), Accounts: []ids.UserID{max}}, errs.Invalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := l.Advance(ctx, op, r.ID, tc.st); errs.CodeOf(err) != tc.code {
					t.Fatalf("%v, want %s", err, tc.code)
				}
			})
		}
		failBuild = true
		if _, err := l.Advance(ctx, op, r.ID, provider.Step{Kind: "disclose", Scope: []string{provider.NonContent}, Accounts: []ids.UserID{max}}); errs.CodeOf(err) != errs.Unavailable {
			t.Fatalf("a package that cannot be started: %v", err)
		}
		failBuild = false
		if len(builds) != 0 {
			t.Fatalf("refused steps built packages: %+v", builds)
		}
		if got, _ := l.Request(ctx, op, r.ID); got.Status != provider.StatusApproved || got.Disclosure != "" {
			t.Fatalf("refused steps changed the request: %+v", got)
		}

		// Named by email (any case) and by id: both disclosed.
		got, err := l.Advance(ctx, op, r.ID, provider.Step{Kind: "disclose", Scope: []string{provider.NonContent}, Accounts: []ids.UserID{max, nora}})
		if err != nil || got.Disclosure != "export-"+r.ID || got.Status != provider.StatusDisclosed {
			t.Fatalf("disclose: %+v %v", got, err)
		}
		if len(builds) != 1 || !slices.Equal(builds[0].accounts, []ids.UserID{max, nora}) || !slices.Equal(builds[0].scope, []string{provider.NonContent}) {
			t.Fatalf("built: %+v", builds)
		}
		if again, _ := l.Request(ctx, op, r.ID); again.Disclosure != got.Disclosure {
			t.Fatalf("the export is not kept: %+v", again)
		}
		recs, err := db.AuditRecords(ctx, ids.ServiceTenant, 0, 1000)
		if err != nil || !slices.ContainsFunc(recs, func(rec audit.Record) bool {
			return rec.Action == "legal.disclose" && rec.DetailMap()["export"] == got.Disclosure
		}) {
			t.Fatalf("the disclose step's audit record lacks the export: %v", err)
		}
		if n, err := l.VerifyChain(ctx); err != nil || n == 0 {
			t.Fatalf("chain: %d %v", n, err)
		}

		// A request without a customer has no accounts to disclose; without
		// accounts a disclosure is recorded, and nothing is built.
		anon := enter("", "someone@example.org")
		if _, err := l.Advance(ctx, op, anon.ID, provider.Step{Kind: "disclose", Scope: []string{provider.NonContent}, Accounts: []ids.UserID{max}}); errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("accounts of no customer: %v", err)
		}
		if got, err := l.Advance(ctx, op, anon.ID, provider.Step{Kind: "disclose", Scope: []string{provider.NonContent}}); err != nil || got.Disclosure != "" {
			t.Fatalf("a disclosure without accounts: %+v %v", got, err)
		}
		if len(builds) != 1 {
			t.Fatalf("built: %+v", builds)
		}
		if _, err := l.Request(ctx, principal.Principal{Kind: principal.Member, Tenant: tenant, User: "a1"}, r.ID); errs.CodeOf(err) != errs.Forbidden {
			t.Fatalf("a tenant user reads the ledger: %v", err)
		}
	})
}

// TestTwoOperatorsDisclosingAtOnceBuildOnePackage: two disclose steps for
// the same request at the same moment: one is recorded with its package,
// the other is refused (the request is disclosed by then) and builds none
// — no package is left that nothing points to.
func TestTwoOperatorsDisclosingAtOnceBuildOnePackage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		tenant := ids.NewTenant()
		max := ids.UserID(ids.New())
		var builds atomic.Int64
		second := make(chan struct{})
		l := provider.NewLedger(provider.LedgerOptions{Store: store.Ledger(db), Keys: plainSealer{}, Audit: audit.New(clock.Real{}), Clock: clock.Real{},
			Disclose: func(_ context.Context, r provider.LegalRequest, _ []ids.UserID, _ []string) (string, error) {
				// Give the other step every chance to start a build of its own.
				if builds.Add(1) == 2 {
					close(second)
				}
				select {
				case <-second:
				case <-time.After(300 * time.Millisecond):
				}
				return "export-" + r.ID + "-" + strconv.FormatInt(builds.Load(), 10), nil
			},
			Accounts: func(_ context.Context, _ ids.TenantID, accounts []ids.UserID) ([]string, error) {
				return []string{"max@acme.example"}, nil
			}})
		op := principal.Principal{Kind: principal.Operator, User: "olga"}
		r, err := l.Enter(ctx, op, provider.Intake{Country: "JP", Instrument: "warrant", Compulsory: true, Customer: provider.CustomerEnterprise,
			Tenant: tenant, Asked: []string{provider.NonContent}, Details: provider.Details{Agency: "A", Accounts: []string{string(max)}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Advance(ctx, op, r.ID, provider.Step{Kind: "review", Decision: "proceed", Scope: []string{provider.NonContent}}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		results := make([]error, 2)
		for i := range results {
			wg.Go(func() {
				_, results[i] = l.Advance(ctx, principal.Principal{Kind: principal.Operator, User: ids.UserID("op" + strconv.Itoa(i))}, r.ID,
					provider.Step{Kind: "disclose", Scope: []string{provider.NonContent}, Accounts: []ids.UserID{max}})
			})
		}
		wg.Wait()
		ok, conflict := 0, 0
		for _, err := range results {
			switch errs.CodeOf(err) {
			case "":
				ok++
			case errs.Conflict:
				conflict++
			default:
				t.Fatalf("disclose: %v", err)
			}
		}
		if ok != 1 || conflict != 1 {
			t.Fatalf("two disclosures at once: %v, want one recorded and one refused as a conflict", results)
		}
		if n := builds.Load(); n != 1 {
			t.Fatalf("%d packages built, want 1: the refused step left one that nothing points to", n)
		}
		got, err := l.Request(ctx, op, r.ID)
		if err != nil || got.Status != provider.StatusDisclosed || got.Disclosure != "export-"+r.ID+"-1" {
			t.Fatalf("the request: %+v %v", got, err)
		}
	})
}
