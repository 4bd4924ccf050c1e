package provider

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
)

// Legal instruments.
var Instruments = []string{"subpoena", "court_order", "warrant", "emergency", "national_security", "other"}

// Data categories a request asks for, or a disclosure gives.
const (
	Content    = "content"
	NonContent = "non_content"
)

// Statuses of a legal request. Closed requests carry an Outcome.
const (
	StatusReceived   = "received"   // entered, not yet answered
	StatusRedirected = "redirected" // the requester was told to ask the customer
	StatusReview     = "in_review"  // legal review under way (after a redirect was not possible or was refused)
	StatusApproved   = "approved"   // review done: proceed, perhaps narrowed
	StatusDisclosed  = "disclosed"  // data (or a "none found") given
	StatusClosed     = "closed"
)

// Outcomes, as the transparency report counts them.
const (
	OutcomeRejected   = "rejected"    // the review refused it
	OutcomeNoData     = "no_data"     // nothing was found
	OutcomeNonContent = "non_content" // non-content was disclosed
	OutcomeContent    = "content"     // content was disclosed
	OutcomeWithdrawn  = "withdrawn"   // the requester went to the customer or gave up
)

// Customer types, for the report's separate enterprise breakdown.
const (
	CustomerEnterprise = "enterprise"
	CustomerOther      = "other"
)

// LegalRequest is an entry of the ledger as listed: metadata only. What
// identifies people (the accounts named, the agency's contact, the
// document) is in the sealed Details.
type LegalRequest struct {
	ID           string       `json:"id"`
	Received     time.Time    `json:"received"`
	Country      string       `json:"country" doc:"ISO 3166-1 alpha-2 code of the requesting authority."`
	Instrument   string       `json:"instrument"`
	Compulsory   bool         `json:"compulsory" doc:"Whether it carries compulsory legal force."`
	Customer     string       `json:"customer_type" doc:"enterprise or other."`
	Tenant       ids.TenantID `json:"tenant,omitempty"`
	Accounts     int          `json:"accounts" doc:"How many accounts the request names."`
	Asked        []string     `json:"asked" doc:"Data categories asked for: content, non_content."`
	Approved     []string     `json:"approved,omitempty" doc:"Categories the legal review allowed (perhaps narrowed)."`
	Disclosed    []string     `json:"disclosed,omitempty"`
	Status       string       `json:"status"`
	Outcome      string       `json:"outcome,omitempty"`
	GagUntil     time.Time    `json:"gag_until,omitzero" doc:"End of a non-disclosure order; the customer is told automatically then."`
	Notified     time.Time    `json:"notified,omitzero" doc:"When the customer was told."`
	NotifyDue    bool         `json:"notify_due,omitempty"`
	Updated      time.Time    `json:"updated"`
	Disclosure   string       `json:"disclosure,omitempty" doc:"The package the disclosure was built as (an export of kind disclosure): download it from /api/v1/operator/legal-requests/{id}/disclosure."`
	SealedDetail []byte       `json:"-"`
}

// Details are the sensitive fields of a request, sealed at rest.
type Details struct {
	Agency   string   `json:"agency"`
	Contact  string   `json:"contact,omitempty"`
	Accounts []string `json:"accounts"` // emails or account ids named
	Summary  string   `json:"summary,omitempty"`
}

// Intake is what an operator enters when a request arrives.
type Intake struct {
	Received   time.Time    `json:"received,omitzero" doc:"When it arrived; default now; never in the future."`
	Country    string       `json:"country"`
	Instrument string       `json:"instrument"`
	Compulsory bool         `json:"compulsory"`
	Customer   string       `json:"customer_type"`
	Tenant     ids.TenantID `json:"tenant,omitempty" doc:"The customer concerned, when known."`
	Asked      []string     `json:"asked"`
	Details    Details      `json:"details"`
}

// Step is one recorded step of the workflow.
type Step struct {
	Kind     string    `json:"kind" doc:"redirect, review, disclose, notify, gag, close."`
	Decision string    `json:"decision,omitempty" doc:"review: reject, narrow or proceed."`
	Reason   string    `json:"reason,omitempty" doc:"review: invalid, not_compulsory, overbroad, … (reject); free text otherwise."`
	Scope    []string  `json:"scope,omitempty" doc:"review narrow/proceed: the categories allowed; disclose: the categories given (empty: nothing found)."`
	Until    time.Time `json:"until,omitzero" doc:"gag: the end of the non-disclosure order."`
	Note     string    `json:"note,omitempty" doc:"A note for the ledger (sealed)."`
	// Accounts are what a disclosure is built from: the package holds the
	// categories of Scope for exactly these accounts (sealed in the chain).
	Accounts []ids.UserID `json:"accounts,omitempty" doc:"disclose: the account ids whose data is disclosed — accounts of the request's customer that the request names; a package of exactly the categories given for exactly these accounts is built."`
}

// LedgerEntry is one link of the ledger's hash chain: a step of a request,
// its sealed payload, and the chain hashes.
type LedgerEntry struct {
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	Request  string    `json:"request"`
	Kind     string    `json:"kind"`
	Sealed   []byte    `json:"sealed"`
	PrevHash []byte    `json:"prev_hash"`
	Hash     []byte    `json:"hash"`
}

// EntryHash commits to every field of e and to the previous hash.
func EntryHash(e LedgerEntry) []byte {
	h := sha256.New()
	h.Write([]byte("kaigi-ledger-v1\x00"))
	h.Write(e.PrevHash)
	var n [8]byte
	str := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.At.UnixNano()))
	h.Write(n[:])
	str([]byte(e.Request))
	str([]byte(e.Kind))
	str(e.Sealed)
	return h.Sum(nil)
}

// LedgerTx is what the ledger changes in one transaction.
type LedgerTx interface {
	audit.Appender
	// LockLedgerHead locks the chain's head and returns its seq and hash
	// (0 and nil for an empty ledger).
	LockLedgerHead(ctx context.Context) (int64, []byte, error)
	InsertLedgerEntry(ctx context.Context, e LedgerEntry) error
	PutLegalRequest(ctx context.Context, r LegalRequest) error
	LegalRequestForUpdate(ctx context.Context, id string) (LegalRequest, error)
}

// LedgerStore keeps the ledger.
type LedgerStore interface {
	UpdateLedger(ctx context.Context, fn func(tx LedgerTx) error) error
	LegalRequest(ctx context.Context, id string) (LegalRequest, error)
	LegalRequests(ctx context.Context, from, to time.Time) ([]LegalRequest, error)
	LedgerEntries(ctx context.Context, request string) ([]LedgerEntry, error)
	// LedgerHead returns the chain's head (0 and nil when empty).
	LedgerHead(ctx context.Context) (int64, []byte, error)
	// AllLedgerEntries returns the whole chain in order, for verification.
	AllLedgerEntries(ctx context.Context) ([]LedgerEntry, error)
	// GagsEnded lists requests whose non-disclosure order ended before now
	// and whose customer has not been told.
	GagsEnded(ctx context.Context, now time.Time) ([]string, error)
}

// Sealer seals with the service's own keys.
type Sealer interface {
	Seal(ctx context.Context, tenant ids.TenantID, aad keys.AAD, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, tenant ids.TenantID, aad keys.AAD, ciphertext []byte) ([]byte, error)
}

// CustomerNotifier tells a customer of a request about it, with a copy.
type CustomerNotifier func(ctx context.Context, r LegalRequest, d Details) error

// Discloser builds a disclosure: a package of the categories of scope for
// accounts of r's tenant. It returns the package's id (an export).
type Discloser func(ctx context.Context, r LegalRequest, accounts []ids.UserID, scope []string) (exportID string, err error)

// AccountChecker confirms that accounts are accounts of tenant — refusing
// any other with an errs.Invalid error that says which — and returns each
// one's email address, in order.
type AccountChecker func(ctx context.Context, tenant ids.TenantID, accounts []ids.UserID) (emails []string, err error)

// Ledger runs the law-enforcement request workflow.
type Ledger struct {
	// disclosing lets one disclose step at a time build its package and be
	// recorded: two operators disclosing the same request at once would
	// otherwise each build one, and the second, its step refused, would
	// leave a package nothing points to.
	disclosing sync.Mutex
	store      LedgerStore
	keys       Sealer
	audit      *audit.Log
	clock      clock.Clock
	notify     CustomerNotifier
	build      Discloser
	check      AccountChecker
	log        *slog.Logger
}

// LedgerOptions configure a Ledger.
type LedgerOptions struct {
	Store  LedgerStore
	Keys   Sealer
	Audit  *audit.Log
	Clock  clock.Clock
	Notify CustomerNotifier // nil: customers are told by other means, recorded by hand
	// Disclose builds a disclosure that names accounts; Accounts checks
	// those accounts first. Both nil: no disclosure is built, and a
	// disclose step naming accounts is refused.
	Disclose Discloser
	Accounts AccountChecker
	Log      *slog.Logger
}

// NewLedger returns a Ledger.
func NewLedger(o LedgerOptions) *Ledger {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Ledger{store: o.Store, keys: o.Keys, audit: o.Audit, clock: o.Clock, notify: o.Notify, build: o.Disclose, check: o.Accounts, log: o.Log}
}

var countryRE = regexp.MustCompile(`^[A-Z]{2}$`)

func operatorOnly(p principal.Principal) error {
	if p.Kind != principal.Operator {
		return errs.E(errs.Forbidden, "Only operators of the service keep the legal-request ledger.")
	}
	return nil
}

func validCategories(cs []string, what string, allowEmpty bool) error {
	if len(cs) == 0 && !allowEmpty {
		return errs.E(errs.Invalid, "Name the %s: content, non_content or both.", what)
	}
	seen := map[string]bool{}
	for _, c := range cs {
		if (c != Content && c != NonContent) || seen[c] {
			return errs.E(errs.Invalid, "The %s are content and/or non_content, each once.", what)
		}
		seen[c] = true
	}
	return nil
}

func oneLine(s string, max int, what string) error {
	if utf8.RuneCountInString(s) > max || strings.ContainsAny(s, "\r\n") || !utf8.ValidString(s) {
		return errs.E(errs.Invalid, "The %s is one line of at most %d characters.", what, max)
	}
	return nil
}

// Enter records a new request.
func (l *Ledger) Enter(ctx context.Context, p principal.Principal, in Intake) (LegalRequest, error) {
	if err := operatorOnly(p); err != nil {
		return LegalRequest{}, err
	}
	now := l.clock.Now()
	in.Country = strings.ToUpper(strings.TrimSpace(in.Country))
	switch {
	case !countryRE.MatchString(in.Country):
		return LegalRequest{}, errs.E(errs.Invalid, "The country is a two-letter ISO 3166-1 code, such as JP or DE.")
	case !slices.Contains(Instruments, in.Instrument):
		return LegalRequest{}, errs.E(errs.Invalid, "The instrument is one of %s.", strings.Join(Instruments, ", "))
	case in.Customer != CustomerEnterprise && in.Customer != CustomerOther:
		return LegalRequest{}, errs.E(errs.Invalid, "The customer type is enterprise or other.")
	case in.Tenant != "" && !ids.Valid(string(in.Tenant)):
		return LegalRequest{}, errs.E(errs.Invalid, "The tenant id is not valid.")
	case strings.TrimSpace(in.Details.Agency) == "":
		return LegalRequest{}, errs.E(errs.Invalid, "Name the requesting agency.")
	case len(in.Details.Accounts) == 0 || len(in.Details.Accounts) > 1000:
		return LegalRequest{}, errs.E(errs.Invalid, "List the 1 to 1000 accounts the request names.")
	case utf8.RuneCountInString(in.Details.Summary) > 5000:
		return LegalRequest{}, errs.E(errs.Invalid, "The summary is at most 5000 characters.")
	}
	if err := validCategories(in.Asked, "categories asked for", false); err != nil {
		return LegalRequest{}, err
	}
	if err := oneLine(in.Details.Agency, 200, "agency"); err != nil {
		return LegalRequest{}, err
	}
	if err := oneLine(in.Details.Contact, 200, "contact"); err != nil {
		return LegalRequest{}, err
	}
	for _, a := range in.Details.Accounts {
		if err := oneLine(a, 320, "account"); err != nil || strings.TrimSpace(a) == "" {
			return LegalRequest{}, errs.E(errs.Invalid, "Each account named is one line: an email address or an account id.")
		}
	}
	if in.Received.IsZero() {
		in.Received = now
	}
	if in.Received.After(now) {
		return LegalRequest{}, errs.E(errs.Invalid, "A request cannot be received in the future.")
	}
	r := LegalRequest{ID: ids.New(), Received: in.Received.UTC(), Country: in.Country, Instrument: in.Instrument, Compulsory: in.Compulsory,
		Customer: in.Customer, Tenant: in.Tenant, Accounts: len(in.Details.Accounts), Asked: in.Asked, Status: StatusReceived, Updated: now}
	d, _ := json.Marshal(in.Details)
	sealed, err := l.keys.Seal(ctx, ids.ServiceTenant, keys.AAD{Kind: "legal-request", ID: r.ID}, d)
	if err != nil {
		return LegalRequest{}, err
	}
	r.SealedDetail = sealed
	err = l.store.UpdateLedger(ctx, func(tx LedgerTx) error {
		if err := tx.PutLegalRequest(ctx, r); err != nil {
			return err
		}
		return l.chain(ctx, tx, p, r, "intake", map[string]any{"intake": in})
	})
	return r, err
}

// chain appends a step to the ledger's hash chain (its payload sealed) and
// audits it in the service's log.
func (l *Ledger) chain(ctx context.Context, tx LedgerTx, p principal.Principal, r LegalRequest, kind string, payload any) error {
	seq, prev, err := tx.LockLedgerHead(ctx)
	if err != nil {
		return err
	}
	if seq == 0 {
		prev = audit.ZeroHash
	}
	raw, err := json.Marshal(map[string]any{"request": r, "step": payload, "by": p.User})
	if err != nil {
		return err
	}
	e := LedgerEntry{Seq: seq + 1, At: l.clock.Now().UTC(), Request: r.ID, Kind: kind, PrevHash: prev}
	if e.Sealed, err = l.keys.Seal(ctx, ids.ServiceTenant, keys.AAD{Kind: "legal-ledger", ID: fmt.Sprint(e.Seq)}, raw); err != nil {
		return err
	}
	e.Hash = EntryHash(e)
	if err := tx.InsertLedgerEntry(ctx, e); err != nil {
		return err
	}
	details := map[string]string{"status": r.Status, "outcome": r.Outcome, "ledger_seq": fmt.Sprint(e.Seq)}
	if kind == "disclose" && r.Disclosure != "" {
		details["export"] = r.Disclosure
	}
	_, err = l.audit.Append(ctx, tx, audit.Entry{Actor: p, Tenant: ids.ServiceTenant, Action: "legal." + kind, Target: "legal-request:" + r.ID, Details: details})
	return err
}

// Advance records a step of a request's workflow.
func (l *Ledger) Advance(ctx context.Context, p principal.Principal, id string, st Step) (LegalRequest, error) {
	if err := operatorOnly(p); err != nil {
		return LegalRequest{}, err
	}
	if err := oneLine(st.Reason, 500, "reason"); err != nil {
		return LegalRequest{}, err
	}
	if utf8.RuneCountInString(st.Note) > 5000 {
		return LegalRequest{}, errs.E(errs.Invalid, "The note is at most 5000 characters.")
	}
	if err := validAccounts(st); err != nil {
		return LegalRequest{}, err
	}
	var disclosure string
	unlock := func() {}
	if st.Kind == "disclose" && len(st.Accounts) > 0 {
		// Held until the step is recorded, not while the customer is told.
		l.disclosing.Lock()
		unlock = l.disclosing.Unlock
		var err error
		if disclosure, err = l.disclose(ctx, id, st); err != nil {
			unlock()
			return LegalRequest{}, err
		}
	}
	var out LegalRequest
	var tell *LegalRequest
	err := l.store.UpdateLedger(ctx, func(tx LedgerTx) error {
		r, err := tx.LegalRequestForUpdate(ctx, id)
		if err != nil {
			return errs.E(errs.NotFound, "There is no such legal request.")
		}
		now := l.clock.Now()
		if err := l.apply(&r, st, now); err != nil {
			return err
		}
		if disclosure != "" {
			r.Disclosure = disclosure
		}
		r.Updated = now
		if r.NotifyDue {
			copy := r
			tell = &copy
		}
		if err := tx.PutLegalRequest(ctx, r); err != nil {
			return err
		}
		out = r
		return l.chain(ctx, tx, p, r, st.Kind, st)
	})
	unlock()
	if err != nil {
		return LegalRequest{}, err
	}
	if tell != nil {
		if out, err = l.tellCustomer(ctx, p, *tell); err != nil {
			return out, err
		}
	}
	return out, nil
}

// validAccounts checks the form of a step's accounts: only a disclosure
// names them, each a valid account id, once, at most as many as a request
// may name.
func validAccounts(st Step) error {
	if len(st.Accounts) == 0 {
		return nil
	}
	if st.Kind != "disclose" {
		return errs.E(errs.Invalid, "Only a disclose step names accounts.")
	}
	if len(st.Accounts) > 1000 {
		return errs.E(errs.Invalid, "A disclosure names at most 1000 accounts.")
	}
	seen := map[ids.UserID]bool{}
	for _, a := range st.Accounts {
		if !ids.Valid(string(a)) {
			return errs.E(errs.Invalid, "The accounts disclosed are account ids (not email addresses).")
		}
		if seen[a] {
			return errs.E(errs.Invalid, "Name each account disclosed once.")
		}
		seen[a] = true
	}
	return nil
}

// disclose checks a disclosure that names accounts and has its package
// built, before the step is recorded: the step must be one the request
// allows now (its state, never wider than approved), the request must name
// a customer, and each account must be an account of that customer (the
// checker's answer) that the request names, by id or by email address.
//
// The package is started first so that a recorded disclosure always has
// one. Disclose steps take turns on this node (Ledger.disclosing), so a
// second one finds the request disclosed and builds nothing; only a step on
// another node at the same moment can still leave a package without a
// request pointing to it (nobody can download it, and its creation is in
// the operator's audit log).
func (l *Ledger) disclose(ctx context.Context, id string, st Step) (string, error) {
	r, err := l.store.LegalRequest(ctx, id)
	if err != nil {
		return "", errs.E(errs.NotFound, "There is no such legal request.")
	}
	trial := r
	if err := l.apply(&trial, st, l.clock.Now()); err != nil {
		return "", err
	}
	switch {
	case len(st.Scope) == 0:
		return "", errs.E(errs.Invalid, "Nothing is disclosed (an empty scope): name no accounts.")
	case r.Tenant == "":
		return "", errs.E(errs.Invalid, "The request names no customer, so there are no accounts of it to disclose.")
	case l.build == nil || l.check == nil:
		return "", errs.E(errs.Unavailable, "This service does not build disclosures.")
	}
	emails, err := l.check(ctx, r.Tenant, st.Accounts)
	if err != nil {
		return "", err
	}
	d, err := l.details(ctx, r)
	if err != nil {
		return "", err
	}
	named := map[string]bool{}
	for _, a := range d.Accounts {
		named[strings.ToLower(strings.TrimSpace(a))] = true
	}
	for i, a := range st.Accounts {
		if !named[strings.ToLower(string(a))] && (i >= len(emails) || !named[strings.ToLower(strings.TrimSpace(emails[i]))]) {
			return "", errs.E(errs.Invalid, "Account %s is not among the accounts the request names (by id or email address); a disclosure covers only those.", a)
		}
	}
	return l.build(ctx, r, st.Accounts, st.Scope)
}

// details opens a request's sealed details.
func (l *Ledger) details(ctx context.Context, r LegalRequest) (Details, error) {
	raw, err := l.keys.Open(ctx, ids.ServiceTenant, keys.AAD{Kind: "legal-request", ID: r.ID}, r.SealedDetail)
	if err != nil {
		return Details{}, err
	}
	var d Details
	return d, json.Unmarshal(raw, &d)
}

// apply checks a step against the request's state and applies it.
func (l *Ledger) apply(r *LegalRequest, st Step, now time.Time) error {
	closed := r.Status == StatusClosed
	order := func(allowed ...string) error {
		if !slices.Contains(allowed, r.Status) {
			return errs.E(errs.Conflict, "The request is %s; a %s step comes only after %s.", r.Status, st.Kind, strings.Join(allowed, " or "))
		}
		return nil
	}
	switch st.Kind {
	case "redirect":
		if err := order(StatusReceived); err != nil {
			return err
		}
		r.Status = StatusRedirected
	case "review":
		if err := order(StatusReceived, StatusRedirected, StatusReview); err != nil {
			return err
		}
		switch st.Decision {
		case "reject":
			if st.Reason == "" {
				return errs.E(errs.Invalid, "Say why the request is rejected (invalid, not_compulsory, overbroad, …).")
			}
			r.Status, r.Outcome = StatusClosed, OutcomeRejected
		case "narrow", "proceed":
			if err := validCategories(st.Scope, "categories allowed", false); err != nil {
				return err
			}
			for _, c := range st.Scope {
				if !slices.Contains(r.Asked, c) {
					return errs.E(errs.Invalid, "The review may only narrow what was asked (%s), not widen it.", strings.Join(r.Asked, ", "))
				}
			}
			if slices.Contains(st.Scope, Content) && (!r.Compulsory || (r.Instrument != "warrant" && r.Instrument != "court_order" && r.Instrument != "emergency" && r.Instrument != "national_security")) {
				return errs.E(errs.Invalid, "Content is disclosed only under a compulsory warrant, court order, emergency or national-security instrument; narrow the scope to non_content or reject.")
			}
			r.Status, r.Approved = StatusApproved, st.Scope
		default:
			return errs.E(errs.Invalid, "A review decides reject, narrow or proceed.")
		}
	case "disclose":
		if err := order(StatusApproved); err != nil {
			return err
		}
		if err := validCategories(st.Scope, "categories disclosed", true); err != nil {
			return err
		}
		for _, c := range st.Scope {
			if !slices.Contains(r.Approved, c) {
				return errs.E(errs.Invalid, "The disclosure is wider than the approved scope (%s): %s may not be disclosed.", strings.Join(r.Approved, ", "), c)
			}
		}
		if len(st.Scope) > 0 && r.Tenant != "" && len(st.Accounts) == 0 {
			return errs.E(errs.Invalid, "Name the accounts whose data is disclosed: the package is built for exactly them, and nothing else is given.")
		}
		r.Status, r.Disclosed = StatusDisclosed, st.Scope
		switch {
		case slices.Contains(st.Scope, Content):
			r.Outcome = OutcomeContent
		case slices.Contains(st.Scope, NonContent):
			r.Outcome = OutcomeNonContent
		default:
			r.Outcome = OutcomeNoData
		}
		if r.Tenant != "" && r.GagUntil.IsZero() && r.Notified.IsZero() {
			r.NotifyDue = true
		}
	case "gag":
		if closed {
			return errs.E(errs.Conflict, "The request is closed.")
		}
		if st.Until.IsZero() {
			return errs.E(errs.Invalid, "A non-disclosure order needs its end date (or the date it must be reviewed again): the customer is told automatically then.")
		}
		if !st.Until.After(now) {
			return errs.E(errs.Invalid, "The non-disclosure order's end date must be in the future.")
		}
		if !r.Notified.IsZero() {
			return errs.E(errs.Conflict, "The customer was already told on %s.", r.Notified.Format(time.DateOnly))
		}
		r.GagUntil, r.NotifyDue = st.Until.UTC(), false
	case "notify":
		if r.Tenant == "" {
			return errs.E(errs.Invalid, "The request names no customer to tell.")
		}
		if !r.GagUntil.IsZero() && now.Before(r.GagUntil) {
			return errs.E(errs.Conflict, "A non-disclosure order forbids telling the customer until %s.", r.GagUntil.Format(time.DateOnly))
		}
		if !r.Notified.IsZero() {
			return errs.E(errs.Conflict, "The customer was already told.")
		}
		r.NotifyDue = true
	case "close":
		if closed {
			return errs.E(errs.Conflict, "The request is closed already.")
		}
		if r.Outcome == "" {
			r.Outcome = OutcomeWithdrawn
		}
		r.Status = StatusClosed
	default:
		return errs.E(errs.Invalid, "A step is redirect, review, disclose, gag, notify or close.")
	}
	return nil
}

// tellCustomer notifies the request's customer with a copy and records it.
func (l *Ledger) tellCustomer(ctx context.Context, p principal.Principal, r LegalRequest) (LegalRequest, error) {
	if l.notify == nil {
		return r, nil
	}
	d, err := l.details(ctx, r)
	if err != nil {
		return r, err
	}
	if err := l.notify(ctx, r, d); err != nil {
		l.log.Error("legal request: tell the customer", "request", r.ID, "err", err)
		return r, errs.Wrap(errs.Unavailable, err, "The customer could not be told now; the ledger keeps the notice due and retries.")
	}
	var out LegalRequest
	err = l.store.UpdateLedger(ctx, func(tx LedgerTx) error {
		cur, err := tx.LegalRequestForUpdate(ctx, r.ID)
		if err != nil {
			return err
		}
		cur.Notified, cur.NotifyDue, cur.Updated = l.clock.Now(), false, l.clock.Now()
		if err := tx.PutLegalRequest(ctx, cur); err != nil {
			return err
		}
		out = cur
		if _, err := l.audit.Append(ctx, tx, audit.Entry{Actor: p, Tenant: cur.Tenant, Action: "legal.customer_notified", Target: "legal-request:" + cur.ID,
			Details: map[string]string{"instrument": cur.Instrument, "country": cur.Country}}); err != nil {
			return err
		}
		return l.chain(ctx, tx, p, cur, "notified", map[string]any{"at": cur.Notified})
	})
	return out, err
}

// Sweep tells the customers whose non-disclosure orders ended, and retries
// notices that could not be sent. It returns how many were told.
func (l *Ledger) Sweep(ctx context.Context) (int, error) {
	due, err := l.store.GagsEnded(ctx, l.clock.Now())
	if err != nil {
		return 0, err
	}
	n := 0
	job := principal.Job("legal-notices", "")
	for _, id := range due {
		r, err := l.store.LegalRequest(ctx, id)
		if err != nil {
			return n, err
		}
		if _, err := l.tellCustomer(ctx, job, r); err != nil {
			continue
		}
		n++
	}
	return n, nil
}

// Requests lists the ledger for operators, received in [from, to).
func (l *Ledger) Requests(ctx context.Context, p principal.Principal, from, to time.Time) ([]LegalRequest, error) {
	if err := operatorOnly(p); err != nil {
		return nil, err
	}
	return l.store.LegalRequests(ctx, from, to)
}

// Request returns one request of the ledger, for operators.
func (l *Ledger) Request(ctx context.Context, p principal.Principal, id string) (LegalRequest, error) {
	if err := operatorOnly(p); err != nil {
		return LegalRequest{}, err
	}
	if !ids.Valid(id) {
		return LegalRequest{}, errs.E(errs.NotFound, "There is no such legal request.")
	}
	r, err := l.store.LegalRequest(ctx, id)
	if err != nil {
		return LegalRequest{}, errs.E(errs.NotFound, "There is no such legal request.")
	}
	return r, nil
}

// LegalRequestView is one request of the ledger with its opened details,
// as an operator reads it.
type LegalRequestView struct {
	LegalRequest
	Details Details `json:"details" doc:"The sealed details, opened for this read (audited as legal.request.read in the operator's log)."`
}

// RequestWithDetails returns one request with its sealed details opened,
// for operators. Opening them is a read of sealed provider records, so it
// is audited in the operator's own log (the request's id only, never the
// details) before the details are returned: no read goes unrecorded.
func (l *Ledger) RequestWithDetails(ctx context.Context, p principal.Principal, id string) (LegalRequestView, error) {
	r, err := l.Request(ctx, p, id)
	if err != nil {
		return LegalRequestView{}, err
	}
	d, err := l.details(ctx, r)
	if err != nil {
		return LegalRequestView{}, err
	}
	err = l.store.UpdateLedger(ctx, func(tx LedgerTx) error {
		_, err := l.audit.Append(ctx, tx, audit.Entry{Actor: p, Tenant: ids.ServiceTenant, Action: "legal.request.read", Target: "legal-request:" + r.ID})
		return err
	})
	if err != nil {
		return LegalRequestView{}, err
	}
	return LegalRequestView{LegalRequest: r, Details: d}, nil
}

// VerifyChain recomputes the ledger's hash chain and reports the first
// broken link.
func (l *Ledger) VerifyChain(ctx context.Context) (int64, error) {
	entries, err := l.store.AllLedgerEntries(ctx)
	if err != nil {
		return 0, err
	}
	prev := audit.ZeroHash
	for i, e := range entries {
		if e.Seq != int64(i+1) || string(e.PrevHash) != string(prev) || string(EntryHash(e)) != string(e.Hash) {
			return int64(i), fmt.Errorf("the ledger's chain breaks at entry %d", i+1)
		}
		prev = e.Hash
	}
	return int64(len(entries)), nil
}

// Head returns the ledger chain's size and head hash.
func (l *Ledger) Head(ctx context.Context) (int64, []byte, error) {
	return l.store.LedgerHead(ctx)
}
