package chat

import (
	"cmp"
	"context"
	"encoding/json"

	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
)

// MaxMessageBytes bounds a message body.
const MaxMessageBytes = 32 << 10

// DefaultMaxFileBytes bounds an attachment unless configured otherwise.
const DefaultMaxFileBytes = 100 << 20

// Sealer seals and opens content with a tenant's keys.
type Sealer interface {
	Seal(ctx context.Context, tenant ids.TenantID, aad keys.AAD, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, tenant ids.TenantID, aad keys.AAD, ciphertext []byte) ([]byte, error)
}

// Publisher hands events to the bus.
type Publisher interface {
	Publish(ctx context.Context, subject string, payload []byte) error
}

// Accounts looks people and their tenant's policy up; for external chats,
// also tenants by domain and people by exact email.
type Accounts interface {
	AccountByID(ctx context.Context, id ids.UserID) (identity.Account, error)
	TenantByID(ctx context.Context, id ids.TenantID) (identity.Tenant, error)
	TenantByDomain(ctx context.Context, domain string) (identity.Tenant, error)
	AccountByEmail(ctx context.Context, realm identity.Realm, tenant ids.TenantID, email string) (identity.Account, error)
}

// Service is the chat service. It is safe for concurrent use.
type Service struct {
	store    Store
	keys     Sealer
	bus      Publisher
	accounts Accounts
	audit    *audit.Log
	clock    clock.Clock
	log      *slog.Logger
	changed  func(ctx context.Context, tenant ids.TenantID, account ids.UserID, reason string)
	blobs    Blobs
	maxFile  int64
	// moderator screens sends when set (SetModerator).
	moderator Moderator
}

// Options configure a Service.
type Options struct {
	Store    Store
	Keys     Sealer
	Bus      Publisher
	Accounts Accounts
	Audit    *audit.Log
	Clock    clock.Clock
	Log      *slog.Logger
	// AccessChanged, if set, is called after a change to which teams an
	// account belongs to has committed (added, removed), so that live
	// connections re-check what the account may see (the realtime gateway
	// is told over the bus). Default: nothing.
	AccessChanged func(ctx context.Context, tenant ids.TenantID, account ids.UserID, reason string)
	// Blobs keeps attachments, sealed with the tenant's keys.
	Blobs Blobs
	// MaxFileBytes bounds one attachment. Default DefaultMaxFileBytes.
	MaxFileBytes int64
}

// New returns a Service.
func New(o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: o.Store, keys: o.Keys, bus: o.Bus, accounts: o.Accounts, audit: o.Audit, clock: o.Clock, log: o.Log, changed: o.AccessChanged,
		blobs: o.Blobs, maxFile: cmp.Or(o.MaxFileBytes, DefaultMaxFileBytes)}
}

// Errors with messages for people.
var (
	// The refusals are the same whether the thing exists or not, so that
	// they reveal nothing about what the caller cannot see.
	ErrNoChannel = errs.E(errs.Forbidden, "You do not have access to this channel (or it does not exist).")
	ErrNoTeam    = errs.E(errs.Forbidden, "You are not in this team (or it does not exist).")
	ErrNoMessage = errs.E(errs.Forbidden, "You do not have access to this message (or it does not exist).")
	ErrArchived  = errs.E(errs.Conflict, "This channel is archived: it can be read but not changed. Restore it first.")
)

// Subject is the bus subject of a channel's events.
func Subject(tenant ids.TenantID, channel string) string {
	return "chat." + string(tenant) + "." + channel
}

// Envelope is what goes on the bus: the event with its payload still sealed.
type Envelope struct {
	Tenant  ids.TenantID `json:"tenant"`
	Channel string       `json:"channel"`
	Seq     int64        `json:"seq"`
	Kind    string       `json:"kind"`
	Payload []byte       `json:"payload"`
}

// View is a message as people see it.
type View struct {
	ID        string                  `json:"id"`
	Channel   string                  `json:"channel"`
	Seq       int64                   `json:"seq"`
	Thread    string                  `json:"thread,omitempty"`
	Author    ids.UserID              `json:"author"`
	Created   time.Time               `json:"created"`
	Edited    time.Time               `json:"edited,omitzero"`
	Deleted   bool                    `json:"deleted,omitempty"`
	Body      string                  `json:"body"`
	Mentions  []ids.UserID            `json:"mentions,omitempty"`
	Reactions map[string][]ids.UserID `json:"reactions,omitempty"`
	Files     []File                  `json:"files,omitempty"`
}

// Payload is an event as clients receive it.
type Payload struct {
	Kind    string       `json:"kind"`
	Channel string       `json:"channel"`
	Seq     int64        `json:"seq"`
	At      time.Time    `json:"at"`
	Actor   ids.UserID   `json:"actor"`
	Message *View        `json:"message,omitempty"`
	Info    *Channel     `json:"channel_info,omitempty"`
	Members []ids.UserID `json:"members,omitempty"`
}

func (s *Service) now() time.Time { return s.clock.Now() }

// ---- validation

var mentionRE = regexp.MustCompile(`<@([A-Za-z0-9_-]{1,64})>`)

// bidi are the invisible characters that reorder text (Trojan Source).
func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069
}

// UnsafeInLine reports characters a one-line name or title may not hold:
// controls, and the invisible ones that reorder text.
func UnsafeInLine(r rune) bool { return unicode.IsControl(r) || isBidiControl(r) }

// checkBody validates a message body and returns the mentioned accounts.
func checkBody(body string) ([]ids.UserID, error) {
	if len(body) > MaxMessageBytes {
		return nil, errs.E(errs.TooLarge, "The message is too long: at most %d KiB.", MaxMessageBytes>>10)
	}
	if !utf8.ValidString(body) {
		return nil, errs.E(errs.Invalid, "The message is not valid text (UTF-8).")
	}
	if strings.TrimSpace(body) == "" {
		return nil, errs.E(errs.Invalid, "The message is empty.")
	}
	for _, r := range body {
		switch {
		case isBidiControl(r):
			return nil, errs.E(errs.Invalid, "The message contains invisible characters that change the direction of text (U+%04X); remove them.", r)
		case r != '\n' && r != '\t' && unicode.IsControl(r):
			return nil, errs.E(errs.Invalid, "The message contains a control character (U+%04X); remove it.", r)
		}
	}
	var mentions []ids.UserID
	for _, m := range mentionRE.FindAllStringSubmatch(body, 20) {
		if id := ids.UserID(m[1]); !slices.Contains(mentions, id) {
			mentions = append(mentions, id)
		}
	}
	return mentions, nil
}

func checkName(name string, max int) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > max || strings.ContainsFunc(name, UnsafeInLine) {
		return "", errs.E(errs.Invalid, "Give a name of 1 to %d characters on one line.", max)
	}
	return name, nil
}

// ---- authorization

func tenantUser(p principal.Principal) error {
	if !p.IsTenantUser() {
		return errs.E(errs.Forbidden, "Only people in an organisation can chat.")
	}
	return nil
}

// team returns a team the actor belongs to, and the actor's role in it.
func (s *Service) team(ctx context.Context, p principal.Principal, id string) (Team, string, error) {
	if err := tenantUser(p); err != nil {
		return Team{}, "", err
	}
	t, err := s.store.Team(ctx, id)
	if err != nil || t.Tenant != p.Tenant {
		return Team{}, "", ErrNoTeam
	}
	m, err := s.store.TeamMember(ctx, id, p.User)
	if err != nil {
		return Team{}, "", ErrNoTeam
	}
	t.Role = m.Role
	return t, m.Role, nil
}

// channel returns a channel the actor can see.
func (s *Service) channel(ctx context.Context, p principal.Principal, id string) (Channel, error) {
	if err := tenantUser(p); err != nil {
		return Channel{}, err
	}
	c, err := s.store.Channel(ctx, id)
	if err != nil || c.Tenant != p.Tenant {
		return Channel{}, ErrNoChannel
	}
	switch c.Kind {
	case Standard:
		if _, err := s.store.TeamMember(ctx, c.Team, p.User); err != nil {
			return Channel{}, ErrNoChannel
		}
	default:
		if ok, err := s.store.IsChannelMember(ctx, c.ID, p.User); err != nil || !ok {
			return Channel{}, ErrNoChannel
		}
	}
	return c, nil
}

// CanSee reports whether the actor may follow channel (the realtime gateway asks).
func (s *Service) CanSee(ctx context.Context, p principal.Principal, channel string) error {
	_, err := s.channel(ctx, p, channel)
	return err
}

// ---- events

// appendEvent gives the change the channel's next sequence number, seals
// its payload and writes it to the channel's log, within tx.
func (s *Service) appendEvent(ctx context.Context, tx Tx, c Channel, pl *Payload) (Event, error) {
	seq, err := tx.NextSeq(ctx, c.ID)
	if err != nil {
		return Event{}, err
	}
	pl.Channel, pl.Seq = c.ID, seq
	if pl.Message != nil && pl.Kind == EventMessage {
		pl.Message.Seq = seq
	}
	b, err := json.Marshal(pl)
	if err != nil {
		return Event{}, err
	}
	sealed, err := s.keys.Seal(ctx, c.Tenant, EventAAD(c.ID, seq), b)
	if err != nil {
		return Event{}, err
	}
	e := Event{Channel: c.ID, Seq: seq, Tenant: c.Tenant, Kind: pl.Kind, At: pl.At, Payload: sealed}
	if pl.Message != nil {
		e.Message = pl.Message.ID
	}
	return e, tx.InsertEvent(ctx, e)
}

// EventAAD labels a channel event's sealed payload (also opened by retention).
func EventAAD(channel string, seq int64) keys.AAD {
	return keys.AAD{Kind: "chat-event", ID: channel + "/" + strconv.FormatInt(seq, 10)}
}

// OpenEvent opens an event's payload.
func (s *Service) OpenEvent(ctx context.Context, tenant ids.TenantID, channel string, seq int64, sealed []byte) ([]byte, error) {
	return s.keys.Open(ctx, tenant, EventAAD(channel, seq), sealed)
}

// publish hands committed events to the bus. A failure is logged, not
// returned: the events are stored, and clients fill gaps by sequence number.
func (s *Service) publish(ctx context.Context, events ...Event) {
	for _, e := range events {
		b, err := json.Marshal(Envelope{Tenant: e.Tenant, Channel: e.Channel, Seq: e.Seq, Kind: e.Kind, Payload: e.Payload})
		if err == nil {
			err = s.bus.Publish(context.WithoutCancel(ctx), Subject(e.Tenant, e.Channel), b)
		}
		if err != nil {
			s.log.WarnContext(ctx, "publish chat event", "channel", e.Channel, "seq", e.Seq, "err", err)
		}
	}
}

// accessChanged reports a committed change of an account's teams.
func (s *Service) accessChanged(ctx context.Context, tenant ids.TenantID, account ids.UserID, reason string) {
	if s.changed != nil {
		s.changed(context.WithoutCancel(ctx), tenant, account, reason)
	}
}

// Events returns the events of a channel the actor can see after seq, opened.
func (s *Service) Events(ctx context.Context, p principal.Principal, channel string, after int64, limit int) ([]json.RawMessage, error) {
	c, err := s.channel(ctx, p, channel)
	if err != nil {
		return nil, err
	}
	evs, err := s.store.Events(ctx, c.ID, after, min(max(limit, 1), 500))
	if err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, 0, len(evs))
	for _, e := range evs {
		b, err := s.OpenEvent(ctx, c.Tenant, c.ID, e.Seq, e.Payload)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func sortedUsers(xs []ids.UserID) []ids.UserID {
	out := slices.Clone(xs)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return slices.Compact(out)
}

// guestMay refuses a guest when the tenant's guest switch allow says no.
func (s *Service) guestMay(ctx context.Context, p principal.Principal, allow func(identity.GuestPolicy) bool, what string) error {
	if p.Kind != principal.Guest {
		return nil
	}
	t, err := s.accounts.TenantByID(ctx, p.Tenant)
	if err != nil {
		return err
	}
	if !allow(t.Policy.Guests) {
		return errs.E(errs.Forbidden, "Your organisation does not let guests %s.", what)
	}
	return nil
}
