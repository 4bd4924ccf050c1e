package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/jobs"
	"github.com/kaigi/kaigi/internal/mail"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/webhook"
)

// This file tells tenants of announced changes: by email to their tenant
// admins and by a signed webhook. Like the audit log's SIEM sinks (whose
// signature scheme it reuses: webhook.Sign, the headers
// X-Kaigi-Timestamp and X-Kaigi-Signature), it speaks HTTP itself; the rest
// of the package does not.

// SubprocessorEvent is the body of a webhook delivery.
type SubprocessorEvent struct {
	Type   string       `json:"type"` // "subprocessor.change"
	Tenant ids.TenantID `json:"tenant"`
	Change Change       `json:"change"`
	Link   string       `json:"link"`
}

type notifyParams struct {
	Change string `json:"change"`
}

// runNotify tells every tenant, in order of id, of one change; the cursor
// is the last tenant told, so a resumed job tells nobody twice (but the
// one it was telling when interrupted).
func (s *Subprocessors) runNotify(ctx context.Context, run *jobs.Run) error {
	var pr notifyParams
	if err := json.Unmarshal(run.Job().Params, &pr); err != nil {
		return err
	}
	all, err := s.store.SubprocessorChanges(ctx)
	if err != nil {
		return jobs.Retry(err)
	}
	i := slices.IndexFunc(all, func(c Change) bool { return c.ID == pr.Change })
	if i < 0 {
		return errs.E(errs.NotFound, "The change to announce is gone.")
	}
	c := all[i]
	tenants, err := s.customers.CustomerTenants(ctx)
	if err != nil {
		return jobs.Retry(err)
	}
	cursor := run.Job().Cursor
	done := int64(0)
	for _, t := range tenants {
		if cursor != "" && string(t) <= cursor {
			done++
			continue
		}
		s.notifyTenant(ctx, t, c)
		done++
		if err := run.Checkpoint(ctx, string(t), done, int64(len(tenants))); err != nil {
			return err
		}
	}
	run.SetResult(fmt.Sprintf("%d tenants told", len(tenants)))
	return nil
}

func (s *Subprocessors) notifyTenant(ctx context.Context, tenant ids.TenantID, c Change) {
	actor := principal.Job("subprocessors", tenant)
	details := map[string]string{"change": c.ID}
	result := audit.Success
	var problems []string

	to, err := s.customers.AdminEmails(ctx, tenant)
	switch {
	case err != nil:
		problems = append(problems, "the tenant's admins could not be listed")
		s.log.ErrorContext(ctx, "subprocessors: list admins", "tenant", string(tenant), "err", err)
	case len(to) == 0:
		problems = append(problems, "the tenant has no active admin to email")
	case s.mailer != nil:
		if err := s.mailer.Send(ctx, mail.Message{To: to, Subject: subject(c), Text: s.emailText(c)}); err != nil {
			problems = append(problems, "the email could not be sent")
			s.log.ErrorContext(ctx, "subprocessors: email", "tenant", string(tenant), "change", c.ID, "err", err)
		}
	}
	details["emailed"] = fmt.Sprint(len(to))

	w, found, err := s.store.SubprocessorWebhook(ctx, tenant)
	if err != nil {
		problems = append(problems, "the webhook setting could not be read")
	} else if found {
		details["webhook"] = "sent"
		if err := s.sendWebhook(ctx, w, c); err != nil {
			details["webhook"] = "failed"
			problems = append(problems, "the webhook delivery failed")
			s.log.WarnContext(ctx, "subprocessors: webhook", "tenant", string(tenant), "change", c.ID, "err", err)
		}
	}
	if len(problems) > 0 {
		result, details["problem"] = audit.Failure, strings.Join(problems, "; ")
	}
	err = s.store.UpdateSubprocessors(ctx, func(tx SubprocessorTx) error {
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: actor, Tenant: tenant, Action: "subprocessor.notify", Target: "subprocessor-change:" + c.ID,
			Result: result, Details: details})
		return err
	})
	if err != nil {
		s.log.ErrorContext(ctx, "subprocessors: audit the notification", "tenant", string(tenant), "err", err)
	}
}

func subject(c Change) string {
	switch c.Kind {
	case ChangeAdd:
		return "New subprocessor announced: " + c.Name
	case ChangeRemove:
		return "Subprocessor to be removed: " + c.Name
	default:
		return "Subprocessor change announced: " + c.Name
	}
}

func (s *Subprocessors) emailText(c Change) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The provider of your Kaigi service announces a change to the subprocessors it uses.\n\n")
	fmt.Fprintf(&b, "Change: %s\nSubprocessor: %s\n", c.Kind, c.Name)
	if c.Kind != ChangeRemove {
		fmt.Fprintf(&b, "Purpose: %s\nLocation: %s\nData categories: %s\nProcesses customer data: %v\n", c.Purpose, c.Location, strings.Join(c.Categories, ", "), c.CustomerData)
	}
	fmt.Fprintf(&b, "Announced: %s\nTakes effect: %s\n\n", c.Announced.Format(time.RFC1123), c.Effective.Format(time.RFC1123))
	if c.Kind != ChangeRemove {
		fmt.Fprintf(&b, "A tenant admin may record an objection before it takes effect, on the subprocessors page of the Trust Center while signed in.\n")
	}
	fmt.Fprintf(&b, "The list and its announced changes: %s/trust/subprocessors\nReference: %s\n", s.baseURL, c.ID)
	return b.String()
}

func (s *Subprocessors) sendWebhook(ctx context.Context, w Webhook, c Change) error {
	secret, err := s.keys.Open(ctx, w.Tenant, webhookAAD(w.Tenant), w.Secret)
	if err != nil {
		return fmt.Errorf("open the webhook's secret: %w", err)
	}
	body, err := json.Marshal(SubprocessorEvent{Type: "subprocessor.change", Tenant: w.Tenant, Change: c, Link: s.baseURL + "/trust/subprocessors"})
	if err != nil {
		return err
	}
	client := s.guard.Client(s.timeout, nil)
	defer client.CloseIdleConnections()
	return webhook.Post(ctx, client, w.URL, "Kaigi-Subprocessors/1", secret, s.clock.Now(), body)
}

// checkEndpoint accepts an https URL that names no loopback, link-local or
// unspecified address (plain http to loopback only when allowed, in tests).
func (s *Subprocessors) checkEndpoint(endpoint string) error { return s.guard.CheckURL(endpoint) }
