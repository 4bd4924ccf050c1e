package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/blob"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/lockbox"
	"github.com/kaigi/kaigi/internal/mail"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/store"
)

// lockboxResources tells the lockbox which tenant a resource belongs to.
type lockboxResources struct{ db *store.DB }

func (r lockboxResources) ResourceTenant(ctx context.Context, kind, id string) (ids.TenantID, error) {
	switch kind {
	case lockbox.ResChannel:
		c, err := r.db.Channel(ctx, id)
		if err != nil {
			return "", errs.Wrap(errs.NotFound, err, "There is no such channel.")
		}
		return c.Tenant, nil
	case lockbox.ResUserMessages:
		a, err := r.db.AccountByID(ctx, ids.UserID(id))
		if err != nil {
			return "", errs.Wrap(errs.NotFound, err, "There is no such person.")
		}
		return a.Tenant, nil
	case lockbox.ResRecording:
		rec, err := store.Recordings(r.db).Recording(ctx, id)
		if err != nil {
			return "", errs.Wrap(errs.NotFound, err, "There is no such recording.")
		}
		return rec.Tenant, nil
	}
	return "", errs.E(errs.NotFound, "There is no such resource.")
}

// UserMessages returns the newest messages a person of tenant wrote, opened.
func (o operatorReads) UserMessages(ctx context.Context, tenant ids.TenantID, user string, limit int) ([]chat.View, error) {
	acct, err := o.db.AccountByID(ctx, ids.UserID(user))
	if err != nil || acct.Tenant != tenant {
		return nil, errs.E(errs.NotFound, "There is no such person.")
	}
	msgs, err := o.db.MessagesByAuthor(ctx, tenant, acct.ID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]chat.View, 0, len(msgs))
	for _, m := range msgs {
		v, err := o.chat.Open(ctx, m)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Recording opens a recording of tenant for reading.
func (o operatorReads) Recording(ctx context.Context, tenant ids.TenantID, id string) (meeting.Recording, io.ReadCloser, error) {
	rec, err := store.Recordings(o.db).Recording(ctx, id)
	if err != nil || rec.Tenant != tenant {
		return meeting.Recording{}, nil, errs.E(errs.NotFound, "There is no such recording.")
	}
	rc, err := o.blobs.Get(ctx, tenant, rec.BlobKey)
	if err != nil {
		return meeting.Recording{}, nil, err
	}
	return rec, rc, nil
}

// TenantConfig returns a tenant's settings: its identity and access
// policy and its moderation policy.
func (o operatorReads) TenantConfig(ctx context.Context, tenant ids.TenantID) (httpapi.TenantConfig, error) {
	t, err := o.db.TenantByID(ctx, tenant)
	if err != nil {
		return httpapi.TenantConfig{}, errs.E(errs.NotFound, "There is no such tenant.")
	}
	mod, _, err := store.Moderation(o.db).Policy(ctx, tenant)
	if err != nil {
		return httpapi.TenantConfig{}, err
	}
	return httpapi.TenantConfig{Name: t.Name, Domains: t.Domains, Policy: t.Policy, Moderation: mod}, nil
}

// operatorReads reads tenant content for an operator whose lockbox grant
// the lockbox service has checked; it only makes sure the content is the
// tenant's.
type operatorReads struct {
	db    *store.DB
	chat  *chat.Service
	blobs blob.Blob
}

func (o operatorReads) ChannelMessages(ctx context.Context, tenant ids.TenantID, channel string, limit int) ([]chat.View, error) {
	c, err := o.db.Channel(ctx, channel)
	if err != nil || c.Tenant != tenant {
		return nil, errs.E(errs.NotFound, "There is no such channel.")
	}
	msgs, err := o.db.Messages(ctx, channel, c.LastSeq+1, limit)
	if err != nil {
		return nil, err
	}
	out := make([]chat.View, 0, len(msgs))
	for _, m := range msgs {
		if !m.Deleted.IsZero() {
			continue
		}
		v, err := o.chat.Open(ctx, m)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// operatorRefused audits every request of an operator that a route's
// policy refused — in the service's log and, when the operator named a
// grant, in that grant's tenant's — so that an operator trying the
// tenants' own routes leaves a trace the tenant and the provider can see.
func (a *App) operatorRefused(ctx context.Context, p principal.Principal, route string, err error) {
	if p.Kind != principal.Operator {
		return
	}
	tenants := []ids.TenantID{ids.ServiceTenant}
	if p.Grant != nil && ids.Valid(string(p.Grant.Tenant)) {
		tenants = append(tenants, p.Grant.Tenant)
	}
	for _, t := range tenants {
		if rerr := a.Record(context.WithoutCancel(ctx), audit.Entry{Actor: p, Tenant: t, Action: "operator.refused", Target: "route:" + route,
			Result: audit.Denied, Details: map[string]string{"code": string(errs.CodeOf(err))}}); rerr != nil {
			a.Log.LogAttrs(ctx, slog.LevelError, "audit an operator's refused request", slog.String("route", route), slog.String("err", rerr.Error()))
		}
	}
}

// newMailer returns the deployment's mailer: SMTP when smtp_addr is set,
// else one that sends nothing.
func newMailer(cfg config.Config, log *slog.Logger) (mail.Mailer, error) {
	if cfg.SMTPAddr == "" {
		return mail.Discard{Log: log}, nil
	}
	m := &mail.SMTP{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, TLS: cfg.SMTPTLS, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return m, nil
}

// notifyApprovers tells a tenant's lockbox approvers of a new request, by
// email, with what they need to decide — never tenant content — and a link
// to the lockbox page. Each sending is audited in the tenant's log.
func (a *App) notifyApprovers(ctx context.Context, r lockbox.Request) {
	accounts, err := a.DB.Accounts(ctx, identity.TenantRealm, r.Tenant)
	if err != nil {
		a.Log.Error("lockbox: list approvers", "tenant", string(r.Tenant), "err", err)
		return
	}
	var to []string
	for _, acct := range accounts {
		if acct.State == identity.AccountActive && acct.Kind == principal.Member && slices.Contains(acct.Roles, principal.LockboxApprover) {
			to = append(to, acct.Email)
		}
	}
	result, detail := audit.Success, ""
	if len(to) == 0 {
		result, detail = audit.Failure, "the tenant has no lockbox approver"
	} else {
		text := fmt.Sprintf("The operator of your Kaigi service asks for access to your organisation's data.\n\n"+
			"Justification: %s\nSupport ticket: %s\nResources: %s\nDuration once approved: %s\nThe request expires unanswered at %s.\n\n"+
			"Reason given by the operator:\n%s\n\nApprove (with your passkey) or deny it at %s/compliance/lockbox\n",
			r.Justification, r.Ticket, strings.Join(r.Resources, ", "), time.Duration(r.Duration), r.ExpiresAt.Format(time.RFC1123), r.Reason, a.Config.URL())
		if err := a.Mailer.Send(ctx, mail.Message{To: to, Subject: "Lockbox request " + r.Ticket + " waits for your decision", Text: text}); err != nil {
			result, detail = audit.Failure, "the email could not be sent"
			a.Log.Error("lockbox: email approvers", "tenant", string(r.Tenant), "request", r.ID, "err", err)
		}
	}
	details := map[string]string{"request": r.ID, "recipients": fmt.Sprint(len(to))}
	if detail != "" {
		details["problem"] = detail
	}
	if err := a.Record(ctx, audit.Entry{Actor: principal.Job("lockbox", r.Tenant), Tenant: r.Tenant, Action: "lockbox.notify", Target: "lockbox:" + r.ID,
		Result: result, Details: details}); err != nil {
		a.Log.Error("lockbox: audit the notification", "err", err)
	}
}

// tenantPendingFor is a tenant's own time for answering lockbox requests.
func (a *App) tenantPendingFor(ctx context.Context, tenant ids.TenantID) (time.Duration, error) {
	t, err := a.DB.TenantByID(ctx, tenant)
	if err != nil {
		return 0, err
	}
	return time.Duration(t.Policy.LockboxPendingHours) * time.Hour, nil
}
