// Package meeting is online meetings: scheduling, roles, the join link, and
// the lobby — who waits, who may admit, and the live state of each meeting
// (participants, lobby, lock, hands raised) that the signalling transport
// drives. It carries no media: the SFU forwards RTP for the participants
// this package admits, and nobody else.
//
// # The lobby cannot be bypassed
//
// Whether a joiner waits is decided on the server from who they are (see
// Class) and the meeting's bypass scope (identity.BypassScopes, each scope
// letting in everyone the narrower ones do). Whoever may not bypass waits
// until an admitter — a participant, present in the meeting, who is the
// organiser, a co-organiser or (when the meeting says so) a presenter —
// admits them. Arriving before the organiser does not help: with no
// admitter present, the lobby simply waits. Nothing about the meeting but
// its title reaches a person in the lobby: no participant list, no chat,
// no media.
//
// Every decision — bypass, admit, deny, timeout, removal, lock, end — is
// appended to the tenant's audit log before it takes effect.
package meeting

import (
	"context"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
)

// Meeting roles.
const (
	Organizer   = "organizer"
	CoOrganizer = "coorganizer"
	Presenter   = "presenter"
	Attendee    = "attendee"
)

// Options are what the organiser sets for one meeting.
type Options struct {
	// LobbyBypass is one of identity.BypassScopes.
	LobbyBypass string `json:"lobby_bypass"`
	// Admitters is identity.AdmitOrganizers or identity.AdmitOrganizersAndPresenters.
	Admitters string `json:"admitters"`
	// AllowAnonymous, when the tenant allows it, lets people who are not
	// signed in join (through the lobby unless bypass is everyone).
	AllowAnonymous bool `json:"allow_anonymous"`
}

// Invitee is a person invited to a meeting: an account of the tenant, or an
// email address of someone outside it.
type Invitee struct {
	Account ids.UserID `json:"account,omitempty"`
	Email   string     `json:"email,omitempty"`
	Role    string     `json:"role"` // coorganizer, presenter or attendee
}

// Meeting is a scheduled or instant meeting.
type Meeting struct {
	ID        string       `json:"id"`
	Tenant    ids.TenantID `json:"-"`
	Title     string       `json:"title"`
	Organizer ids.UserID   `json:"organizer"`
	Start     time.Time    `json:"start"`
	End       time.Time    `json:"end"`
	// Channel is the channel or chat an instant meeting was started from.
	Channel string `json:"channel,omitempty"`
	// Chat is the meeting's own chat (a channel of kind chat.MeetingChat).
	Chat     string    `json:"chat,omitempty"`
	Invitees []Invitee `json:"invitees"`
	Options  Options   `json:"options"`
	Created  time.Time `json:"created"`
	Ended    time.Time `json:"ended,omitzero"`
	// CodeHash is the SHA-256 of the join code; CodeSealed the code, sealed,
	// so that people allowed to can see the link again.
	CodeHash   []byte `json:"-"`
	CodeSealed []byte `json:"-"`
}

// roleOf returns the role a signed-in account of the meeting's tenant has.
func (m Meeting) roleOf(account ids.UserID) string {
	if account == "" {
		return ""
	}
	if account == m.Organizer {
		return Organizer
	}
	for _, in := range m.Invitees {
		if in.Account == account {
			return in.Role
		}
	}
	return ""
}

// invitedEmail reports whether an email address was invited.
func (m Meeting) invitedEmail(email string) (string, bool) {
	if email == "" {
		return "", false
	}
	for _, in := range m.Invitees {
		if in.Email != "" && in.Email == email {
			return in.Role, true
		}
	}
	return "", false
}

// Tx is what the meeting service changes in one transaction.
type Tx interface {
	audit.Appender
	InsertMeeting(ctx context.Context, m Meeting) error
	UpdateMeeting(ctx context.Context, m Meeting) error
}

// Store keeps meetings.
type Store interface {
	UpdateMeetings(ctx context.Context, fn func(tx Tx) error) error
	Meeting(ctx context.Context, id string) (Meeting, error)
	MeetingByCode(ctx context.Context, hash []byte) (Meeting, error)
	// MeetingsOf lists the meetings an account organises or is invited
	// to, newest start first, starting no earlier than since.
	MeetingsOf(ctx context.Context, tenant ids.TenantID, account ids.UserID, since time.Time, limit int) ([]Meeting, error)
}

// Accounts looks people and tenants up.
type Accounts interface {
	AccountByID(ctx context.Context, id ids.UserID) (identity.Account, error)
	TenantByID(ctx context.Context, id ids.TenantID) (identity.Tenant, error)
}
