package discovery

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
)

// Service is eDiscovery and the exports. It is safe for concurrent use.
type Service struct {
	o     Options
	after atomic.Pointer[func(ctx context.Context, export string, step int)]
}

// SetAfterStep sets a function called after each checkpoint of an export
// job; tests interrupt jobs with it. nil removes it.
func (s *Service) SetAfterStep(f func(ctx context.Context, export string, step int)) {
	if f == nil {
		s.after.Store(nil)
		return
	}
	s.after.Store(&f)
}

// New returns a Service and registers its job kinds with o.Jobs.
func New(o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.BatchSize = cmp.Or(o.BatchSize, 200)
	s := &Service{o: o}
	if o.Jobs != nil {
		o.Jobs.Register(JobSearch, s.runSearch)
		o.Jobs.Register(JobExport, s.runExport)
	}
	return s
}

func caseNameAAD(id string) keys.AAD { return keys.AAD{Kind: "discovery-case-name", ID: id} }

// officer refuses anyone but a compliance officer of a tenant.
func officer(p principal.Principal) error {
	if p.Tenant == "" || !p.Has(principal.ComplianceOfficer) {
		return errs.E(errs.Forbidden, "Only compliance officers work on eDiscovery cases.")
	}
	return nil
}

// caseFor returns a case the actor is a member of, name opened, or ErrNoCase.
func (s *Service) caseFor(ctx context.Context, p principal.Principal, id string) (Case, error) {
	if err := officer(p); err != nil {
		return Case{}, err
	}
	if !ids.Valid(id) {
		return Case{}, ErrNoCase
	}
	c, err := s.o.Store.Case(ctx, id)
	if err != nil || c.Tenant != p.Tenant {
		return Case{}, ErrNoCase
	}
	ms, err := s.o.Store.CaseMembers(ctx, id)
	if err != nil {
		return Case{}, err
	}
	if !slices.ContainsFunc(ms, func(m Member) bool { return m.Account == p.User }) {
		return Case{}, ErrNoCase
	}
	c.Members = ms
	for i := range c.Members {
		if a, err := s.o.Accounts.AccountByID(ctx, c.Members[i].Account); err == nil {
			c.Members[i].Name = a.DisplayName
		}
	}
	name, err := s.o.Keys.Open(ctx, c.Tenant, caseNameAAD(c.ID), c.Sealed)
	if err != nil {
		return Case{}, err
	}
	c.Name = string(name)
	return c, nil
}

func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxNameRunes || !utf8.ValidString(name) || strings.ContainsFunc(name, chat.UnsafeInLine) {
		return "", errs.E(errs.Invalid, "Give the case a name of 1 to %d characters on one line.", MaxNameRunes)
	}
	return name, nil
}

// CreateCase opens a case with the actor as its first member.
func (s *Service) CreateCase(ctx context.Context, p principal.Principal, name string) (Case, error) {
	if err := officer(p); err != nil {
		return Case{}, err
	}
	name, err := checkName(name)
	if err != nil {
		return Case{}, err
	}
	now := s.o.Clock.Now()
	c := Case{ID: ids.New(), Tenant: p.Tenant, Name: name, State: Open, CreatedBy: p.User, Created: now, Updated: now}
	if c.Sealed, err = s.o.Keys.Seal(ctx, p.Tenant, caseNameAAD(c.ID), []byte(name)); err != nil {
		return Case{}, err
	}
	m := Member{Account: p.User, AddedBy: p.User, Added: now}
	err = s.o.Store.UpdateDiscovery(ctx, func(tx Tx) error {
		if err := tx.InsertCase(ctx, c); err != nil {
			return err
		}
		if err := tx.PutCaseMember(ctx, c.ID, m); err != nil {
			return err
		}
		_, err := s.o.Audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "ediscovery.case.create", Target: "case:" + c.ID})
		return err
	})
	if err != nil {
		return Case{}, err
	}
	return s.caseFor(ctx, p, c.ID)
}

// Cases returns the cases the actor is a member of.
func (s *Service) Cases(ctx context.Context, p principal.Principal) ([]Case, error) {
	if err := officer(p); err != nil {
		return nil, err
	}
	cs, err := s.o.Store.CasesOf(ctx, p.Tenant, p.User)
	if err != nil {
		return nil, err
	}
	for i := range cs {
		name, err := s.o.Keys.Open(ctx, cs[i].Tenant, caseNameAAD(cs[i].ID), cs[i].Sealed)
		if err != nil {
			return nil, err
		}
		cs[i].Name = string(name)
	}
	return cs, nil
}

// Case returns a case the actor is a member of.
func (s *Service) Case(ctx context.Context, p principal.Principal, id string) (Case, error) {
	return s.caseFor(ctx, p, id)
}

// SetState closes or reopens a case.
func (s *Service) SetState(ctx context.Context, p principal.Principal, id, state string) (Case, error) {
	c, err := s.caseFor(ctx, p, id)
	if err != nil {
		return Case{}, err
	}
	if state != Open && state != Closed {
		return Case{}, errs.E(errs.Invalid, "A case is open or closed.")
	}
	if c.State == state {
		return c, nil
	}
	action := map[string]string{Open: "ediscovery.case.reopen", Closed: "ediscovery.case.close"}[state]
	err = s.o.Store.UpdateDiscovery(ctx, func(tx Tx) error {
		if err := tx.UpdateCaseState(ctx, c.ID, state, s.o.Clock.Now()); err != nil {
			return err
		}
		_, err := s.o.Audit.Append(ctx, tx, audit.Entry{Actor: p, Action: action, Target: "case:" + c.ID})
		return err
	})
	if err != nil {
		return Case{}, err
	}
	return s.caseFor(ctx, p, id)
}

// AddMember adds a compliance officer of the tenant to a case.
func (s *Service) AddMember(ctx context.Context, p principal.Principal, id string, account ids.UserID) (Case, error) {
	c, err := s.caseFor(ctx, p, id)
	if err != nil {
		return Case{}, err
	}
	if c.State == Closed {
		return Case{}, ErrClosed
	}
	a, err := s.o.Accounts.AccountByID(ctx, account)
	if err != nil || a.Tenant != p.Tenant || a.Realm != identity.TenantRealm || a.State != identity.AccountActive || !slices.Contains(a.Roles, principal.ComplianceOfficer) {
		return Case{}, errs.E(errs.Invalid, "Only active compliance officers of your organisation can be members of a case.")
	}
	err = s.o.Store.UpdateDiscovery(ctx, func(tx Tx) error {
		if err := tx.PutCaseMember(ctx, c.ID, Member{Account: a.ID, AddedBy: p.User, Added: s.o.Clock.Now()}); err != nil {
			return err
		}
		_, err := s.o.Audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "ediscovery.case.member_add", Target: "case:" + c.ID,
			Details: map[string]string{"account": string(a.ID)}})
		return err
	})
	if err != nil {
		return Case{}, err
	}
	return s.caseFor(ctx, p, id)
}

// RemoveMember removes a member from a case; the last member stays.
func (s *Service) RemoveMember(ctx context.Context, p principal.Principal, id string, account ids.UserID) error {
	c, err := s.caseFor(ctx, p, id)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(c.Members, func(m Member) bool { return m.Account == account }) {
		return errs.E(errs.NotFound, "That person is not a member of this case.")
	}
	if len(c.Members) == 1 {
		return errs.E(errs.Conflict, "A case keeps at least one member: add another before leaving.")
	}
	return s.o.Store.UpdateDiscovery(ctx, func(tx Tx) error {
		if _, err := tx.DeleteCaseMember(ctx, c.ID, account); err != nil {
			return err
		}
		_, err := s.o.Audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "ediscovery.case.member_remove", Target: "case:" + c.ID,
			Details: map[string]string{"account": string(account)}})
		return err
	})
}
