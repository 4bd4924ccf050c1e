// Package chat is teams, channels, chats and messages.
//
// A team has owners and members. Its standard channels are open to every
// member of the team; private channels and chats (one-to-one and group,
// outside teams) only to their members. Guests see only the teams and
// channels they were added to.
//
// Every change to a channel — a message sent, edited or deleted, a reaction —
// is one event with the channel's next sequence number, written in one
// transaction with the change itself and its audit record. After the commit
// the event is published on the bus, sealed; clients follow channels live and
// a client that reconnects replays the channel's events after the last
// sequence number it saw, so nothing is lost and nothing repeated.
//
// Message bodies are Markdown text, sealed with the tenant's keys before they
// are stored; earlier versions of edited messages are kept, sealed, for
// compliance. The server never renders Markdown to HTML: clients render a
// safe subset into text nodes, so a message can never run as script.
package chat

import (
	"context"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/ids"
)

// Channel kinds.
const (
	Standard = "standard" // open to every member of the team
	Private  = "private"  // only its members
	Chat     = "chat"     // a one-to-one or group chat outside teams
)

// Team roles.
const (
	Owner  = "owner"
	Member = "member"
)

// Event kinds.
const (
	EventMessage  = "message"         // a message was sent
	EventEdit     = "message.edit"    // a message's body changed
	EventDelete   = "message.delete"  // a message was deleted
	EventReaction = "message.react"   // reactions of a message changed
	EventChannel  = "channel.update"  // the channel was renamed, archived or restored
	EventMembers  = "channel.members" // membership changed
)

// Team is a group of people with channels.
type Team struct {
	ID          string       `json:"id"`
	Tenant      ids.TenantID `json:"-"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	CreatedBy   ids.UserID   `json:"created_by"`
	Created     time.Time    `json:"created"`
	Archived    time.Time    `json:"archived,omitzero"`
	Role        string       `json:"role,omitempty"` // the caller's role in it
}

// TeamMember is a person in a team.
type TeamMember struct {
	Account ids.UserID `json:"account"`
	Role    string     `json:"role"`
	Added   time.Time  `json:"added"`
}

// Channel is a team's channel or a chat.
type Channel struct {
	ID        string       `json:"id"`
	Tenant    ids.TenantID `json:"-"`
	Team      string       `json:"team,omitempty"`
	Kind      string       `json:"kind"`
	Name      string       `json:"name"`
	CreatedBy ids.UserID   `json:"created_by"`
	Created   time.Time    `json:"created"`
	Archived  time.Time    `json:"archived,omitzero"`
	LastSeq   int64        `json:"last_seq"`
	ReadSeq   int64        `json:"read_seq"` // the caller's read position
	ChatKey   string       `json:"-"`        // one-to-one chats: the pair, so there is one per pair
}

// Peer returns the other person of a one-to-one chat, whose key names the
// pair; ok is false for any other channel.
func (c Channel) Peer(of ids.UserID) (ids.UserID, bool) {
	a, b, found := strings.Cut(c.ChatKey, "+")
	switch {
	case c.Kind != Chat || !found:
		return "", false
	case ids.UserID(a) == of:
		return ids.UserID(b), true
	case ids.UserID(b) == of:
		return ids.UserID(a), true
	}
	return "", false
}

// Message is a message as stored; Body is sealed.
type Message struct {
	ID      string       `json:"id"`
	Tenant  ids.TenantID `json:"-"`
	Channel string       `json:"channel"`
	Seq     int64        `json:"seq"`
	Thread  string       `json:"thread,omitempty"` // the thread's first message; empty for top-level messages
	Author  ids.UserID   `json:"author"`
	Created time.Time    `json:"created"`
	Edited  time.Time    `json:"edited,omitzero"`
	Deleted time.Time    `json:"deleted,omitzero"`
	Version int          `json:"version"`
	Body    []byte       `json:"-"`
}

// Event is one entry of a channel's log; Payload is sealed JSON.
type Event struct {
	Channel string       `json:"channel"`
	Seq     int64        `json:"seq"`
	Tenant  ids.TenantID `json:"-"`
	Kind    string       `json:"kind"`
	At      time.Time    `json:"at"`
	Payload []byte       `json:"-"`
	// Message is the id of the message the event carries, if any (stored in
	// the clear, so that retention can delete every event of a message).
	Message string `json:"-"`
}

// Tx is what the chat service changes in one transaction.
type Tx interface {
	audit.Appender
	InsertTeam(ctx context.Context, t Team) error
	PutTeamMember(ctx context.Context, team string, m TeamMember) error
	DeleteTeamMember(ctx context.Context, team string, account ids.UserID) (bool, error)
	InsertChannel(ctx context.Context, c Channel) error
	UpdateChannel(ctx context.Context, c Channel) error
	PutChannelMember(ctx context.Context, channel string, account ids.UserID, member bool, at time.Time) error
	// NextSeq locks the channel and returns its next sequence number.
	NextSeq(ctx context.Context, channel string) (int64, error)
	InsertMessage(ctx context.Context, m Message) error
	UpdateMessage(ctx context.Context, m Message, previous []byte, replaced time.Time) error
	SetReaction(ctx context.Context, message string, account ids.UserID, emoji string, on bool, at time.Time) error
	// Reactions reads reactions as the transaction sees them.
	Reactions(ctx context.Context, messages []string) (map[string]map[string][]ids.UserID, error)
	InsertEvent(ctx context.Context, e Event) error
	InsertFile(ctx context.Context, f File) error
	InsertNotification(ctx context.Context, n Notification) error
	MarkNotificationsRead(ctx context.Context, account ids.UserID, upTo, at time.Time) (int64, error)
	SetReadSeq(ctx context.Context, channel string, account ids.UserID, seq int64) error
}

// Reader reads chat records outside a transaction.
type Reader interface {
	Team(ctx context.Context, id string) (Team, error)
	TeamsOf(ctx context.Context, account ids.UserID) ([]Team, error)
	TeamMember(ctx context.Context, team string, account ids.UserID) (TeamMember, error)
	TeamMembers(ctx context.Context, team string) ([]TeamMember, error)
	Channel(ctx context.Context, id string) (Channel, error)
	ChatByKey(ctx context.Context, tenant ids.TenantID, key string) (Channel, error)
	// ChannelsOf returns the channels the account can see: the standard
	// channels of its teams, and the private channels and chats it is a
	// member of, each with the account's read position.
	ChannelsOf(ctx context.Context, account ids.UserID) ([]Channel, error)
	IsChannelMember(ctx context.Context, channel string, account ids.UserID) (bool, error)
	ChannelMembers(ctx context.Context, channel string) ([]ids.UserID, error)
	Message(ctx context.Context, id string) (Message, error)
	// Messages returns up to limit messages of channel with seq < before,
	// newest first.
	Messages(ctx context.Context, channel string, before int64, limit int) ([]Message, error)
	Reactions(ctx context.Context, messages []string) (map[string]map[string][]ids.UserID, error)
	// Files returns the attachments of messages, by message.
	Files(ctx context.Context, messages []string) (map[string][]File, error)
	File(ctx context.Context, id string) (File, error)
	// Notifications returns an account's newest notifications.
	Notifications(ctx context.Context, account ids.UserID, limit int) ([]Notification, error)
	// Events returns up to limit events of channel with seq > after, in order.
	Events(ctx context.Context, channel string, after int64, limit int) ([]Event, error)
}

// Store is the chat service's persistence.
type Store interface {
	Reader
	UpdateChat(ctx context.Context, fn func(tx Tx) error) error
}
