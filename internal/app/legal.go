package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/compliance/discovery"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/mail"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/provider"
	"github.com/kaigi/kaigi/internal/realtime"
	"github.com/kaigi/kaigi/internal/store"
)

// tellCustomer sends a customer's tenant admins a copy of a legal request
// about them, by email, and records the notice in the tenant's audit log.
func (a *App) tellCustomer(ctx context.Context, r provider.LegalRequest, d provider.Details) error {
	to, err := a.tenantAdminEmails(ctx, r.Tenant)
	if err != nil {
		return err
	}
	if len(to) == 0 {
		return errs.E(errs.Unavailable, "The customer has no active tenant admin to tell.")
	}
	text := fmt.Sprintf("The provider of your Kaigi service received a request from a government authority concerning your organisation.\n"+
		"As promised in our principles for government requests, here is a copy of what it asks.\n\n"+
		"Received: %s\nAuthority: %s (%s)\nLegal instrument: %s (compulsory: %v)\nData asked for: %s\nData disclosed: %s\nAccounts named (%d):\n  %s\n\n"+
		"Reference: %s\n",
		r.Received.Format(time.DateOnly), d.Agency, r.Country, r.Instrument, r.Compulsory, strings.Join(r.Asked, ", "), orNone(r.Disclosed), len(d.Accounts),
		strings.Join(d.Accounts, "\n  "), r.ID)
	if err := a.Mailer.Send(ctx, mail.Message{To: to, Subject: "A government request concerning your organisation", Text: text}); err != nil {
		return err
	}
	return a.Record(ctx, audit.Entry{Actor: principal.Job("legal-notices", r.Tenant), Tenant: r.Tenant, Action: "legal.notice_sent", Target: "legal-request:" + r.ID,
		Details: map[string]string{"recipients": fmt.Sprint(len(to))}})
}

// discloseLegal builds a legal request's disclosure with the eDiscovery
// machinery, as the ledger's job principal for the request's tenant (the
// only principal discovery lets start one).
func (a *App) discloseLegal(ctx context.Context, r provider.LegalRequest, accounts []ids.UserID, scope []string) (string, error) {
	e, err := a.Discovery.ExportDisclosure(ctx, principal.Job(discovery.DisclosureJob, r.Tenant), r.Tenant, r.ID, accounts, scope)
	return e.ID, err
}

// legalAccounts confirms, for the ledger, that the accounts a disclosure
// names are accounts of the request's tenant, and returns their email
// addresses (the request may have named them so).
func (a *App) legalAccounts(ctx context.Context, tenant ids.TenantID, accounts []ids.UserID) ([]string, error) {
	out := make([]string, len(accounts))
	for i, id := range accounts {
		acct, err := a.DB.AccountByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (acct.Tenant != tenant || acct.Realm != identity.TenantRealm)) {
			return nil, errs.E(errs.Invalid, "Account %s is not an account of the organisation the request concerns: a disclosure covers only that organisation's accounts.", id)
		}
		if err != nil {
			return nil, err
		}
		out[i] = acct.Email
	}
	return out, nil
}

func orNone(v []string) string {
	if len(v) == 0 {
		return "none (yet)"
	}
	return strings.Join(v, ", ")
}

// lifecycleAuth authenticates with the inner authenticator, then applies
// the tenant's contract state: after the contract's end only its admins
// get through, reading and exporting; once the export window has closed
// nobody does.
type lifecycleAuth struct {
	inner     httpapi.Authenticator
	contracts *provider.Contracts
}

// exportPaths are the writes allowed during the export window: exports,
// signing in and out, and the customer's accelerated deletion.
var exportPaths = []string{"/api/v1/admin/exports", "/api/v1/me/exports", "/api/v1/auth/", "/api/v1/admin/deletion"}

func (l lifecycleAuth) Authenticate(r *http.Request) (principal.Principal, error) {
	p, err := l.inner.Authenticate(r)
	if err != nil || !p.IsTenantUser() {
		return p, err
	}
	safe := r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions
	export := slices.ContainsFunc(exportPaths, func(prefix string) bool { return strings.HasPrefix(r.URL.Path, prefix) })
	if strings.HasPrefix(r.URL.Path, "/api/v1/admin/accounts/") && strings.HasSuffix(r.URL.Path, "/exports") {
		export = true
	}
	if err := l.contracts.Allow(r.Context(), p, safe, export); err != nil {
		return principal.Principal{}, err
	}
	return p, nil
}

// lifecycleSessions lists a person's sessions for the realtime gateway's
// re-checks, as none when the tenant's contract no longer admits them, so
// that their open sockets close as the contract ends.
type lifecycleSessions struct {
	inner     realtime.Sessions
	contracts *provider.Contracts
}

func (l lifecycleSessions) Sessions(ctx context.Context, p principal.Principal) ([]identity.Session, error) {
	if err := l.contracts.Allow(ctx, p, true, false); err != nil {
		if errs.CodeOf(err) == errs.Forbidden {
			return nil, nil
		}
		return nil, err
	}
	return l.inner.Sessions(ctx, p)
}
