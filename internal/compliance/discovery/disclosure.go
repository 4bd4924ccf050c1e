package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
)

// A legal disclosure is the package the provider hands an authority under a
// compulsory instrument that passed legal review: the minimum, built by the
// same machinery as every other export, in the same verifiable format.
//
//   - Only the ledger starts one (as principal.Job(DisclosureJob, tenant)),
//     after its own checks: the request's state, the approved categories,
//     the accounts being the customer's and named by the request.
//   - It holds exactly the categories given and exactly the accounts named:
//     non_content is each account's profile and the metadata of its
//     activity (sign-ins, meetings without titles, message counts per
//     channel and day) under accounts/<id>/; content is the messages those
//     accounts wrote and their attachments (messages.jsonl, attachments/).
//     A package without content has no messages.jsonl at all.
//   - Nobody of the tenant can see or download it, and its audit records go
//     to the operator's own log, never the tenant's: a non-disclosure order
//     may forbid telling the customer, who learns of the disclosure from
//     the ledger's notice when it may be sent.

// scopeAAD binds a disclosure's sealed scope to its export.
func scopeAAD(export string) keys.AAD { return keys.AAD{Kind: "export-disclosure-scope", ID: export} }

// ExportDisclosure starts the package of a legal disclosure: the categories
// (content, non_content) for the accounts of tenant, answering the ledger's
// request. Only the ledger's principal for that tenant may start it.
func (s *Service) ExportDisclosure(ctx context.Context, p principal.Principal, tenant ids.TenantID, request string, accounts []ids.UserID, categories []string) (Export, error) {
	if p.Kind != principal.System || p.User != DisclosureJob || tenant == "" || p.Tenant != tenant {
		return Export{}, errs.E(errs.Forbidden, "Only the provider's legal-request ledger discloses an organisation's data, for the organisation the request concerns.")
	}
	if s.o.Disclosures == nil {
		return Export{}, errs.E(errs.Unavailable, "Disclosure packages cannot be built by this service.")
	}
	if !ids.Valid(request) {
		return Export{}, errs.E(errs.Invalid, "The legal request's id is not valid.")
	}
	if len(categories) == 0 {
		return Export{}, errs.E(errs.Invalid, "Name the categories disclosed: content, non_content or both (nothing found builds no package).")
	}
	seen := map[string]bool{}
	for _, c := range categories {
		if (c != Content && c != NonContent) || seen[c] {
			return Export{}, errs.E(errs.Invalid, "The categories disclosed are content and/or non_content, each once.")
		}
		seen[c] = true
	}
	if len(accounts) == 0 || len(accounts) > MaxDisclosureAccounts {
		return Export{}, errs.E(errs.Invalid, "A disclosure names 1 to %d accounts.", MaxDisclosureAccounts)
	}
	named := map[ids.UserID]bool{}
	for _, u := range accounts {
		if named[u] {
			return Export{}, errs.E(errs.Invalid, "Name each account disclosed once.")
		}
		named[u] = true
		notOurs := errs.E(errs.Invalid, "%q is not an account of the organisation the request concerns; a disclosure covers only its accounts.", clip(string(u)))
		if !ids.Valid(string(u)) {
			return Export{}, notOurs
		}
		if a, err := s.o.Accounts.AccountByID(ctx, u); err != nil || a.Tenant != tenant || a.Realm != identity.TenantRealm {
			return Export{}, notOurs
		}
	}
	// Stored in a fixed order, so that the package says the same whatever
	// order the operator gave.
	cats := []string{}
	for _, c := range []string{NonContent, Content} {
		if seen[c] {
			cats = append(cats, c)
		}
	}
	sc := Disclosure{Request: request, Categories: cats, Accounts: slices.Clone(accounts)}
	return s.startExport(ctx, p, KindDisclosure, request, strings.Join(cats, ","), &sc)
}

// putScope keeps a disclosure's scope, sealed, as a part of kind "scope"
// of its export.
func (s *Service) putScope(ctx context.Context, tx Tx, e Export, sc Disclosure) error {
	raw, err := json.Marshal(sc)
	if err != nil {
		return err
	}
	sealed, err := s.o.Keys.Seal(ctx, e.Tenant, scopeAAD(e.ID), raw)
	if err != nil {
		return err
	}
	return tx.PutPart(ctx, e.ID, Part{Kind: "scope", N: 1, Manifest: sealed})
}

// scope reads a disclosure's scope back.
func (s *Service) scope(ctx context.Context, e Export) (Disclosure, error) {
	parts, err := s.o.Store.Parts(ctx, e.ID, "scope")
	if err != nil {
		return Disclosure{}, err
	}
	if len(parts) != 1 {
		return Disclosure{}, errors.New("export: the disclosure's scope is missing")
	}
	raw, err := s.o.Keys.Open(ctx, e.Tenant, scopeAAD(e.ID), parts[0].Manifest)
	if err != nil {
		return Disclosure{}, err
	}
	var sc Disclosure
	if err := json.Unmarshal(raw, &sc); err != nil {
		return Disclosure{}, err
	}
	if sc.Request != e.Subject || len(sc.Accounts) == 0 {
		return Disclosure{}, errors.New("export: the disclosure's scope does not match its export")
	}
	return sc, nil
}

// disclosureAudit sends an export's audit entry to the operator's own log,
// naming the tenant there: a disclosure may be under a non-disclosure order,
// and the tenant's log is the tenant's to read.
func disclosureAudit(entry *audit.Entry, e Export) {
	entry.Tenant = ids.ServiceTenant
	entry.Details["tenant"] = string(e.Tenant)
}

// disclosedProfile is an account as a disclosure gives it: who it is, no
// more (no roles, never secrets).
type disclosedProfile struct {
	ID          ids.UserID     `json:"id"`
	Email       string         `json:"email"`
	DisplayName string         `json:"display_name"`
	Kind        principal.Kind `json:"kind"`
	State       string         `json:"state"`
	Created     time.Time      `json:"created"`
}

// disclosureDocs adds the non-content files of a disclosure to files: for
// each account, accounts/<id>/profile.json, signins.jsonl, meetings.jsonl
// and message_counts.jsonl. A disclosure of content alone adds nothing.
func (b *builder) disclosureDocs(ctx context.Context, files map[string][]byte) error {
	s, e := b.s, b.e
	if !slices.Contains(b.scope.Categories, NonContent) {
		return nil
	}
	for _, id := range b.scope.Accounts {
		a, err := s.o.Accounts.AccountByID(ctx, id)
		if err != nil {
			return err
		}
		if a.Tenant != e.Tenant {
			// Checked when the disclosure started; an account cannot move,
			// but nothing of another tenant goes out should it ever.
			return errs.E(errs.Conflict, "An account disclosed is no longer the organisation's.")
		}
		dir := "accounts/" + string(a.ID) + "/"
		if files[dir+"profile.json"], err = pretty(disclosedProfile{ID: a.ID, Email: a.Email, DisplayName: a.DisplayName, Kind: a.Kind, State: a.State, Created: a.Created}); err != nil {
			return err
		}
		signIns, err := s.o.Disclosures.AccountSignIns(ctx, e.Tenant, a.ID)
		if err != nil {
			return err
		}
		meetings, err := s.o.Disclosures.AccountMeetings(ctx, e.Tenant, a.ID)
		if err != nil {
			return err
		}
		counts, err := s.o.Disclosures.MessageCounts(ctx, e.Tenant, a.ID)
		if err != nil {
			return err
		}
		if files[dir+"signins.jsonl"], err = jsonl(signIns); err != nil {
			return err
		}
		if files[dir+"meetings.jsonl"], err = jsonl(meetings); err != nil {
			return err
		}
		if files[dir+"message_counts.jsonl"], err = jsonl(counts); err != nil {
			return err
		}
	}
	return nil
}

// DownloadDisclosure writes the finished package of a legal request's
// disclosure to an operator, after auditing the download in the operator's
// own log with the request, the export, the categories and the package's
// SHA-256. The caller (the ledger's route) names the request, its tenant
// and the export the ledger recorded for it; set is called with the export
// first, to set headers.
func (s *Service) DownloadDisclosure(ctx context.Context, p principal.Principal, request string, tenant ids.TenantID, export string, set func(Export), w io.Writer) error {
	if p.Kind != principal.Operator {
		return errs.E(errs.Forbidden, "Only operators of the service receive a legal disclosure.")
	}
	none := errs.E(errs.NotFound, "There is no disclosure package for this request.")
	if !ids.Valid(export) {
		return none
	}
	e, err := s.o.Store.Export(ctx, export)
	if err != nil || e.Kind != KindDisclosure || e.Subject != request || e.Tenant != tenant {
		return none
	}
	s.progress(ctx, &e)
	switch e.State {
	case Done:
	case Failed:
		why := "its job failed"
		if e.Progress != nil && e.Progress.Error != "" {
			why = e.Progress.Error
		}
		return errs.E(errs.Conflict, "The disclosure package could not be built: %s", why)
	default:
		return errs.E(errs.Conflict, "The disclosure package is still being built; try again shortly.")
	}
	parts, err := s.o.Store.Parts(ctx, e.ID, "part")
	if err != nil {
		return err
	}
	if err := s.record(ctx, audit.Entry{Actor: p, Tenant: ids.ServiceTenant, Action: "legal.disclosure.download", Target: "legal-request:" + request,
		Details: map[string]string{"export": e.ID, "tenant": string(e.Tenant), "categories": e.Source, "sha256": e.SHA256,
			"bytes": strconv.FormatInt(e.Bytes, 10), "messages": strconv.FormatInt(e.Messages, 10), "files": strconv.FormatInt(e.Files, 10)}}); err != nil {
		return err
	}
	set(e)
	return s.stream(ctx, e, parts, w)
}
