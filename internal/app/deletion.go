package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/mail"
	"github.com/kaigi/kaigi/internal/principal"
)

// sendDeletionCode emails an accelerated deletion's confirmation code to
// the admin who asked for it, and to nobody else.
func (a *App) sendDeletionCode(ctx context.Context, p principal.Principal, code string, expires time.Time) error {
	acct, err := a.DB.AccountByID(ctx, p.User)
	if err != nil {
		return err
	}
	if acct.Tenant != p.Tenant || acct.Email == "" {
		return errs.E(errs.Forbidden, "Your account cannot receive the code.")
	}
	text := fmt.Sprintf("You asked for the early deletion of all your organisation's data in Kaigi.\n\n"+
		"Your confirmation code: %s\n\n"+
		"Enter it in the admin center before %s (UTC). Once confirmed, the deletion runs three days later;\n"+
		"until then any admin of your organisation can cancel it. If you did not ask for this, ignore this email\n"+
		"and tell your other admins.\n", code, expires.UTC().Format("2006-01-02 15:04"))
	return a.Mailer.Send(ctx, mail.Message{To: []string{acct.Email}, Subject: "Confirm the deletion of your organisation's data", Text: text})
}

// tenantAdminEmails returns the addresses of a tenant's active admins.
func (a *App) tenantAdminEmails(ctx context.Context, tenant ids.TenantID) ([]string, error) {
	accounts, err := a.DB.Accounts(ctx, identity.TenantRealm, tenant)
	if err != nil {
		return nil, err
	}
	var to []string
	for _, acct := range accounts {
		if acct.State == identity.AccountActive && acct.Kind == principal.Member && slices.Contains(acct.Roles, principal.TenantAdmin) {
			to = append(to, acct.Email)
		}
	}
	return to, nil
}

// notifyTenantAdmins emails every active admin of a tenant.
func (a *App) notifyTenantAdmins(ctx context.Context, tenant ids.TenantID, subject, text string) error {
	to, err := a.tenantAdminEmails(ctx, tenant)
	if err != nil {
		return err
	}
	if len(to) == 0 {
		return nil
	}
	return a.Mailer.Send(ctx, mail.Message{To: to, Subject: subject, Text: text})
}

// sweepEvery calls sweep every interval until ctx ends, logging failures
// under what: the clock-driven duties (deletions, legal notices).
func (a *App) sweepEvery(ctx context.Context, every time.Duration, what string, sweep func(context.Context) (int, error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := sweep(ctx); err != nil && ctx.Err() == nil {
				a.Log.Error(what, "err", err)
			}
		}
	}
}
