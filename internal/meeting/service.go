package meeting

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
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

// Sealer seals and opens content with a tenant's keys.
type Sealer interface {
	Seal(ctx context.Context, tenant ids.TenantID, aad keys.AAD, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, tenant ids.TenantID, aad keys.AAD, ciphertext []byte) ([]byte, error)
}

// Chats gives meetings their chat: a channel whose members are the people
// admitted, stored, sealed, audited and retained like any chat.
type Chats interface {
	OpenMeetingChat(ctx context.Context, p principal.Principal, title string) (string, error)
	JoinMeetingChat(ctx context.Context, tenant ids.TenantID, chat string, account ids.UserID) error
	CanSee(ctx context.Context, p principal.Principal, channel string) error
}

// Config configures a Service.
type Config struct {
	Store    Store
	Keys     Sealer
	Accounts Accounts
	Chats    Chats
	Audit    *audit.Log
	Clock    clock.Clock
	Log      *slog.Logger
	// PublicURL is the deployment's address; join links start with it.
	PublicURL string
	// Media, when set, carries the audio and video of admitted participants.
	Media Media
	// Grace is how long a participant whose connection dropped may come
	// back without a new admission. Default 2 minutes.
	Grace time.Duration
	// Blobs opens recordings for playback.
	Blobs Blobs
}

// Service is the meeting service. It is safe for concurrent use.
type Service struct {
	store    Store
	keys     Sealer
	accounts Accounts
	chats    Chats
	audit    *audit.Log
	clock    clock.Clock
	log      *slog.Logger
	url      string
	media    Media
	grace    time.Duration
	blobs    Blobs

	mu    sync.Mutex
	rooms map[string]*room
}

// New returns a Service.
func New(o Config) *Service {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Grace == 0 {
		o.Grace = 2 * time.Minute
	}
	return &Service{store: o.Store, keys: o.Keys, accounts: o.Accounts, chats: o.Chats, audit: o.Audit, clock: o.Clock, log: o.Log,
		url: strings.TrimRight(o.PublicURL, "/"), media: o.Media, grace: o.Grace, blobs: o.Blobs, rooms: map[string]*room{}}
}

// Errors with messages for people. The refusal is the same whether the
// meeting exists or not.
var (
	ErrNoMeeting = errs.E(errs.Forbidden, "You do not have access to this meeting (or it does not exist).")
	errNotForYou = errs.E(errs.Forbidden, "You cannot join this meeting.")
	errOrganizer = errs.E(errs.Forbidden, "Only the organiser and co-organisers can change this meeting.")
)

// NewMeeting is what an organiser asks for.
type NewMeeting struct {
	Title    string    `json:"title"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Invitees []Invitee `json:"invitees"`
	// Options, when nil, are the tenant's defaults.
	Options *Options `json:"options"`
}

// Created is a new meeting and its join link, shown once to the organiser
// (and again by Get to those allowed).
type Created struct {
	Meeting
	Link string `json:"link"`
}

// Create schedules a meeting organised by the actor.
func (s *Service) Create(ctx context.Context, p principal.Principal, n NewMeeting) (Created, error) {
	t, err := s.organizerTenant(ctx, p)
	if err != nil {
		return Created{}, err
	}
	title, err := checkTitle(n.Title)
	if err != nil {
		return Created{}, err
	}
	switch {
	case n.Start.IsZero() || n.End.IsZero():
		return Created{}, errs.E(errs.Invalid, "Give the meeting a start and an end time.")
	case !n.End.After(n.Start):
		return Created{}, errs.E(errs.Invalid, "The meeting must end after it starts.")
	case n.End.Sub(n.Start) > 24*time.Hour:
		return Created{}, errs.E(errs.Invalid, "A meeting lasts at most 24 hours.")
	}
	invitees, err := s.checkInvitees(ctx, p, n.Invitees)
	if err != nil {
		return Created{}, err
	}
	opts, err := s.checkOptions(t.Policy.Meetings.Normalized(), n.Options)
	if err != nil {
		return Created{}, err
	}
	m := Meeting{ID: ids.New(), Tenant: p.Tenant, Title: title, Organizer: p.User, Start: n.Start.UTC(), End: n.End.UTC(),
		Invitees: invitees, Options: opts, Created: s.clock.Now()}
	return s.insert(ctx, p, m)
}

// Instant starts a meeting now from a channel or chat the actor can see;
// its members join like people of the organisation.
func (s *Service) Instant(ctx context.Context, p principal.Principal, channel, title string) (Created, error) {
	t, err := s.organizerTenant(ctx, p)
	if err != nil {
		return Created{}, err
	}
	if channel != "" {
		if err := s.chats.CanSee(ctx, p, channel); err != nil {
			return Created{}, err
		}
	}
	if title == "" {
		title = "Meeting"
	}
	title, err = checkTitle(title)
	if err != nil {
		return Created{}, err
	}
	now := s.clock.Now()
	opts, _ := s.checkOptions(t.Policy.Meetings.Normalized(), nil)
	m := Meeting{ID: ids.New(), Tenant: p.Tenant, Title: title, Organizer: p.User, Start: now.UTC(), End: now.Add(time.Hour).UTC(),
		Channel: channel, Invitees: []Invitee{}, Options: opts, Created: now}
	return s.insert(ctx, p, m)
}

func (s *Service) insert(ctx context.Context, p principal.Principal, m Meeting) (Created, error) {
	code, hash := newCode()
	sealed, err := s.keys.Seal(ctx, m.Tenant, keys.AAD{Kind: "meeting.code", ID: m.ID}, []byte(code))
	if err != nil {
		return Created{}, err
	}
	m.CodeHash, m.CodeSealed = hash, sealed
	if s.chats != nil {
		if m.Chat, err = s.chats.OpenMeetingChat(ctx, p, m.Title); err != nil {
			return Created{}, err
		}
	}
	err = s.store.UpdateMeetings(ctx, func(tx Tx) error {
		if err := tx.InsertMeeting(ctx, m); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "meeting.create", Target: "meeting:" + m.ID,
			Details: map[string]string{"invitees": strconv.Itoa(len(m.Invitees)), "lobby_bypass": m.Options.LobbyBypass,
				"admitters": m.Options.Admitters, "anonymous": strconv.FormatBool(m.Options.AllowAnonymous), "channel": m.Channel}})
		return err
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Meeting: m, Link: s.link(code)}, nil
}

// organizerTenant checks that the actor may organise meetings.
func (s *Service) organizerTenant(ctx context.Context, p principal.Principal) (identity.Tenant, error) {
	if !p.IsTenantUser() {
		return identity.Tenant{}, errs.E(errs.Forbidden, "Only people in an organisation can organise meetings.")
	}
	t, err := s.accounts.TenantByID(ctx, p.Tenant)
	if err != nil {
		return t, err
	}
	if p.Kind == principal.Guest && !t.Policy.Guests.StartMeetings {
		return t, errs.E(errs.Forbidden, "Your organisation does not let guests start meetings.")
	}
	return t, nil
}

func checkTitle(title string) (string, error) {
	title = strings.TrimSpace(title)
	if title == "" || utf8.RuneCountInString(title) > 200 || !utf8.ValidString(title) || strings.ContainsFunc(title, chat.UnsafeInLine) {
		return "", errs.E(errs.Invalid, "Give the meeting a title of 1 to 200 characters on one line.")
	}
	return title, nil
}

var inviteeRoles = []string{CoOrganizer, Presenter, Attendee}

func (s *Service) checkInvitees(ctx context.Context, p principal.Principal, in []Invitee) ([]Invitee, error) {
	if len(in) > 500 {
		return nil, errs.E(errs.Invalid, "A meeting has at most 500 invitees.")
	}
	out := make([]Invitee, 0, len(in))
	seen := map[string]bool{}
	for _, v := range in {
		if v.Role == "" {
			v.Role = Attendee
		}
		if !slices.Contains(inviteeRoles, v.Role) {
			return nil, errs.E(errs.Invalid, "An invitee's role is coorganizer, presenter or attendee, not %q.", v.Role)
		}
		switch {
		case v.Account != "" && v.Email == "":
			a, err := s.accounts.AccountByID(ctx, v.Account)
			if err != nil || a.Tenant != p.Tenant || a.Realm != identity.TenantRealm || a.State != identity.AccountActive {
				return nil, errs.E(errs.NotFound, "There is no such active account in your organisation.")
			}
			if a.Kind == principal.Guest && v.Role == CoOrganizer {
				return nil, errs.E(errs.Invalid, "A guest cannot be a co-organiser.")
			}
		case v.Email != "" && v.Account == "":
			addr, err := mail.ParseAddress(v.Email)
			if err != nil || addr.Name != "" || addr.Address != v.Email || len(v.Email) > 254 {
				return nil, errs.E(errs.Invalid, "%q is not an email address such as ana@example.com.", v.Email)
			}
			v.Email = strings.ToLower(v.Email)
		default:
			return nil, errs.E(errs.Invalid, "Invite each person by account or by email address, not both.")
		}
		key := string(v.Account) + "|" + v.Email
		if seen[key] || v.Account == p.User {
			continue
		}
		seen[key] = true
		out = append(out, v)
	}
	return out, nil
}

// checkOptions fills and checks a meeting's options against the tenant's policy.
func (s *Service) checkOptions(pol identity.MeetingPolicy, o *Options) (Options, error) {
	if o == nil {
		return Options{LobbyBypass: pol.LobbyBypass, Admitters: pol.Admitters, AllowAnonymous: pol.AllowAnonymous}, nil
	}
	v := *o
	if v.LobbyBypass == "" {
		v.LobbyBypass = pol.LobbyBypass
	}
	if v.Admitters == "" {
		v.Admitters = pol.Admitters
	}
	switch {
	case !slices.Contains(identity.BypassScopes, v.LobbyBypass):
		return v, errs.E(errs.Invalid, "lobby_bypass must be one of %s.", strings.Join(identity.BypassScopes, ", "))
	case v.Admitters != identity.AdmitOrganizers && v.Admitters != identity.AdmitOrganizersAndPresenters:
		return v, errs.E(errs.Invalid, "admitters must be organizers or organizersAndPresenters.")
	case v.AllowAnonymous && !pol.AllowAnonymous:
		return v, errs.E(errs.Forbidden, "Your organisation does not let people join meetings without signing in.")
	}
	return v, nil
}

// newCode returns a join code (128 random bits) and its hash.
func newCode() (string, []byte) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	code := base64.RawURLEncoding.EncodeToString(b[:])
	return code, hashCode(code)
}

func hashCode(code string) []byte {
	h := sha256.Sum256([]byte(code))
	return h[:]
}

func (s *Service) link(code string) string { return s.url + "/meet#" + code }

// ---- reading

// visible returns a meeting the actor may see in full: the organiser, its
// invitees, and people of its tenant who can see the channel it was
// started from.
func (s *Service) visible(ctx context.Context, p principal.Principal, id string) (Meeting, error) {
	if !p.IsTenantUser() || !ids.Valid(id) {
		return Meeting{}, ErrNoMeeting
	}
	m, err := s.store.Meeting(ctx, id)
	if err != nil || m.Tenant != p.Tenant {
		return Meeting{}, ErrNoMeeting
	}
	if m.roleOf(p.User) != "" {
		return m, nil
	}
	if m.Channel != "" && s.chats.CanSee(ctx, p, m.Channel) == nil {
		return m, nil
	}
	a, err := s.accounts.AccountByID(ctx, p.User)
	if err == nil {
		if _, ok := m.invitedEmail(a.Email); ok {
			return m, nil
		}
	}
	return Meeting{}, ErrNoMeeting
}

// Get returns a meeting with its join link.
func (s *Service) Get(ctx context.Context, p principal.Principal, id string) (Created, error) {
	m, err := s.visible(ctx, p, id)
	if err != nil {
		return Created{}, err
	}
	code, err := s.keys.Open(ctx, m.Tenant, keys.AAD{Kind: "meeting.code", ID: m.ID}, m.CodeSealed)
	if err != nil {
		return Created{}, err
	}
	return Created{Meeting: m, Link: s.link(string(code))}, nil
}

// List returns the meetings the actor organises or is invited to that end
// after since.
func (s *Service) List(ctx context.Context, p principal.Principal, since time.Time, limit int) ([]Meeting, error) {
	if !p.IsTenantUser() {
		return nil, errs.E(errs.Forbidden, "Only people in an organisation have meetings.")
	}
	if limit <= 0 || limit > 200 {
		limit = 200
	}
	return s.store.MeetingsOf(ctx, p.Tenant, p.User, since, limit)
}

// SetOptions changes a meeting's lobby options (organiser and co-organisers).
// The change applies at once to the live meeting: people waiting whom the
// new scope lets bypass are admitted.
func (s *Service) SetOptions(ctx context.Context, p principal.Principal, id string, o Options) (Meeting, error) {
	m, err := s.visible(ctx, p, id)
	if err != nil {
		return Meeting{}, err
	}
	if r := m.roleOf(p.User); r != Organizer && r != CoOrganizer {
		return Meeting{}, errOrganizer
	}
	t, err := s.accounts.TenantByID(ctx, m.Tenant)
	if err != nil {
		return Meeting{}, err
	}
	opts, err := s.checkOptions(t.Policy.Meetings.Normalized(), &o)
	if err != nil {
		return Meeting{}, err
	}
	m.Options = opts
	err = s.store.UpdateMeetings(ctx, func(tx Tx) error {
		if err := tx.UpdateMeeting(ctx, m); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "meeting.options", Target: "meeting:" + m.ID,
			Details: map[string]string{"lobby_bypass": opts.LobbyBypass, "admitters": opts.Admitters, "anonymous": strconv.FormatBool(opts.AllowAnonymous)}})
		return err
	})
	if err != nil {
		return Meeting{}, err
	}
	s.optionsChanged(ctx, p, m)
	return m, nil
}

// Lookup finds the meeting a join code opens, for the pre-join screen: its
// title and whether the asker can join. It reveals nothing else.
func (s *Service) Lookup(ctx context.Context, code string) (Meeting, error) {
	if len(code) != 22 {
		return Meeting{}, ErrNoMeeting
	}
	m, err := s.store.MeetingByCode(ctx, hashCode(code))
	if err != nil {
		return Meeting{}, ErrNoMeeting
	}
	return m, nil
}

// AnonymousAllowed reports whether people who are not signed in may ask to
// join m, by the meeting's option and its tenant's policy.
func (s *Service) AnonymousAllowed(ctx context.Context, m Meeting) bool {
	t, err := s.accounts.TenantByID(ctx, m.Tenant)
	return err == nil && m.Options.AllowAnonymous && t.Policy.Meetings.AllowAnonymous
}
