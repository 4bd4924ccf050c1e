// Package discovery is eDiscovery and the data exports of the compliance
// center.
//
// A Case is an investigation run by compliance officers: only its members
// see it or anything in it — other compliance officers and tenant admins
// get the same "no such case" as for a case that does not exist. Members
// search the tenant's messages (by keywords, sender, participants, dates and
// locations, over current bodies, earlier versions, attachment names and
// meeting chats), collect results in the case's review set and export them.
// Searches run as jobs with progress; the query is content and is stored
// sealed; every search is audited with what it returned (a count and a hash
// of the item ids, never text).
//
// An export package is the same open format whoever asks for it — a case's
// review set or search results, a person's own data, a person's data for an
// admin, or the whole tenant: a tar archive holding JSON Lines, the files,
// manifest.sha256 (in sha256sum's format, covering every other file),
// manifest.sha256.sig (the raw Ed25519 signature of the manifest by the
// service's signing key) and signing-key.pem. docs/export-format.md
// describes it. The same machinery builds the package of a legal
// disclosure (ExportDisclosure): exactly the categories a legal review
// approved — non-content metadata, content, or both, kept apart — for
// exactly the accounts the disclosure names, started only by the provider's
// law-enforcement request ledger and downloaded only by an operator through
// it (DownloadDisclosure). A package is built by a resumable job as a sequence of part
// blobs, each a run of tar entries, sealed in the blob store; the last part
// ends the archive. A download streams the parts in order and is audited
// with the package's SHA-256.
package discovery

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/jobs"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/moderation"
)

// Case states.
const (
	Open   = "open"
	Closed = "closed"
)

// Export kinds: what the package holds.
const (
	KindCase   = "case"   // a case's review set or a search's results
	KindSelf   = "self"   // a person's own data, asked for by them
	KindUser   = "user"   // a person's data, asked for by a tenant admin
	KindTenant = "tenant" // the whole tenant, asked for by a tenant admin
	// KindDisclosure is a legal disclosure: named accounts of one tenant,
	// only the categories a legal review approved, started by the provider's
	// request ledger (never by the tenant) and downloaded by an operator.
	KindDisclosure = "disclosure"
)

// Categories of a legal disclosure (as the provider's ledger names them).
const (
	NonContent = "non_content" // who the accounts are and the metadata of what they did
	Content    = "content"     // what they wrote and shared
)

// DisclosureJob names the principal (principal.Job(DisclosureJob, tenant))
// that alone may start a disclosure: the ledger's, acting for an operator
// whose disclose step passed the ledger's checks.
const DisclosureJob = "legal-disclosure"

// MaxDisclosureAccounts is how many accounts one disclosure may name (as
// many as a legal request may name).
const MaxDisclosureAccounts = 1000

// Job kinds.
const (
	JobSearch = "ediscovery.search"
	JobExport = "export.package"
)

// Case is an eDiscovery case.
type Case struct {
	ID        string       `json:"id"`
	Tenant    ids.TenantID `json:"-"`
	Name      string       `json:"name"`
	State     string       `json:"state" doc:"open or closed."`
	CreatedBy ids.UserID   `json:"created_by"`
	Created   time.Time    `json:"created"`
	Updated   time.Time    `json:"updated"`
	Members   []Member     `json:"members,omitempty"`
	Sealed    []byte       `json:"-"` // the name as stored
}

// Member is a compliance officer in a case.
type Member struct {
	Account ids.UserID `json:"account"`
	Name    string     `json:"name,omitempty"`
	AddedBy ids.UserID `json:"added_by"`
	Added   time.Time  `json:"added"`
}

// Query is what a search looks for. Every condition given must hold.
type Query struct {
	Keywords     string       `json:"keywords,omitempty" doc:"Words that must all appear (case- and width-insensitive) in the body, an earlier version or an attachment's name."`
	Senders      []ids.UserID `json:"senders,omitempty" doc:"Authors: any of them."`
	Participants []ids.UserID `json:"participants,omitempty" doc:"People who must all be members of the conversation."`
	From         time.Time    `json:"from,omitzero" doc:"Sent at or after."`
	To           time.Time    `json:"to,omitzero" doc:"Sent before."`
	Locations    []string     `json:"locations,omitempty" doc:"Teams, channels, chats or meeting chats; empty: everywhere in the organisation."`
}

// Search is a search of a case and what it found.
type Search struct {
	ID        string       `json:"id"`
	Tenant    ids.TenantID `json:"-"`
	Case      string       `json:"case"`
	Query     Query        `json:"query"`
	Job       string       `json:"job"`
	CreatedBy ids.UserID   `json:"created_by"`
	Created   time.Time    `json:"created"`
	State     string       `json:"state" doc:"running, done or failed."`
	Scanned   int64        `json:"scanned" doc:"Messages looked at."`
	Hits      int64        `json:"hits" doc:"Messages found."`
	HitsHash  string       `json:"hits_sha256,omitempty" doc:"SHA-256 of the found ids, one per line, sorted (as audited)."`
	Truncated bool         `json:"truncated,omitempty" doc:"The search stopped at MaxHits."`
	Progress  *jobs.Job    `json:"progress,omitempty"`
	Sealed    []byte       `json:"-"` // the query as stored
}

// Search states.
const (
	Running = "running"
	Done    = "done"
	Failed  = "failed"
)

// Item is a found message as a case member sees it (the read is audited).
type Item struct {
	ID          string     `json:"id"`
	Channel     string     `json:"channel"`
	ChannelName string     `json:"channel_name"`
	ChannelKind string     `json:"channel_kind"`
	Team        string     `json:"team,omitempty"`
	Author      ids.UserID `json:"author"`
	AuthorName  string     `json:"author_name"`
	Created     time.Time  `json:"created"`
	Edited      time.Time  `json:"edited,omitzero"`
	Deleted     bool       `json:"deleted,omitempty"`
	Body        string     `json:"body"`
	Files       []string   `json:"files,omitempty"`
	InReview    bool       `json:"in_review,omitempty"`
}

// Hit is a found item as stored: ids only.
type Hit struct {
	Item    string
	Channel string
}

// Export is an export package and how far it is.
type Export struct {
	ID        string       `json:"id"`
	Tenant    ids.TenantID `json:"-"`
	Kind      string       `json:"kind" doc:"case, self, user, tenant or disclosure."`
	Subject   string       `json:"subject" doc:"The case, the person, the tenant, or the legal request (disclosures)."`
	Source    string       `json:"source,omitempty" doc:"For cases: review (the review set) or search:<id>; for disclosures: the categories disclosed, comma-separated."`
	Job       string       `json:"job"`
	CreatedBy ids.UserID   `json:"created_by"`
	Created   time.Time    `json:"created"`
	State     string       `json:"state" doc:"running, done or failed."`
	Parts     int          `json:"parts"`
	Bytes     int64        `json:"bytes"`
	SHA256    string       `json:"sha256,omitempty" doc:"SHA-256 of the whole package (the .tar file)."`
	Messages  int64        `json:"messages"`
	Files     int64        `json:"files"`
	Progress  *jobs.Job    `json:"progress,omitempty"`
}

// Part is a stored piece of a package being built.
type Part struct {
	Kind      string // "part", or a staged file's kind ("messages", "audit")
	N         int
	Bytes     int64
	Manifest  []byte // sealed manifest lines
	HashState []byte // the package's running SHA-256 after this part
}

// Selection says which messages an export holds.
type Selection struct {
	Tenant ids.TenantID
	Search string     // the hits of a search
	Case   string     // the review set of a case
	Author ids.UserID // messages written by
	All    bool       // every message of the tenant
}

// Disclosure is what a legal disclosure package holds: the request it
// answers, the categories and the accounts. It is kept sealed with the
// export (the accounts are people named in a legal request) and written to
// the package's export.json.
type Disclosure struct {
	Request    string       `json:"request"`
	Categories []string     `json:"categories"`
	Accounts   []ids.UserID `json:"accounts"`
}

// SignIn is a sign-in of a disclosed account (non-content): when, from
// which address, with which kind of client, and whether it succeeded.
type SignIn struct {
	At      time.Time `json:"at"`
	Address string    `json:"address"`
	Client  string    `json:"client_kind"`
	Result  string    `json:"result"`
}

// MeetingMeta is a meeting a disclosed account organised or was invited to,
// as non-content: its id, the account's role and the times — never its
// title, its chat or the other people in it.
type MeetingMeta struct {
	ID      string    `json:"id"`
	Role    string    `json:"role" doc:"organizer, or the role the account was invited with."`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Created time.Time `json:"created"`
	Ended   time.Time `json:"ended,omitzero"`
}

// MessageCount is how many messages an account wrote in a channel on a day
// (UTC): the metadata of its messages, without them.
type MessageCount struct {
	Channel  string `json:"channel"`
	Date     string `json:"date" doc:"YYYY-MM-DD, UTC."`
	Messages int64  `json:"messages"`
}

// Version is an earlier body of a message, sealed.
type Version struct {
	Version  int
	Body     []byte
	Replaced time.Time
}

// Tx is what the service changes in one transaction.
type Tx interface {
	audit.Appender
	InsertCase(ctx context.Context, c Case) error
	UpdateCaseState(ctx context.Context, id, state string, at time.Time) error
	PutCaseMember(ctx context.Context, caseID string, m Member) error
	DeleteCaseMember(ctx context.Context, caseID string, account ids.UserID) (bool, error)
	InsertSearch(ctx context.Context, s Search) error
	FinishSearch(ctx context.Context, s Search) error
	InsertHits(ctx context.Context, search string, hits []Hit) error
	AddReview(ctx context.Context, caseID string, hits []Hit, by ids.UserID, at time.Time) (int64, error)
	RemoveReview(ctx context.Context, caseID, item string) (bool, error)
	InsertExport(ctx context.Context, e Export) error
	FinishExport(ctx context.Context, e Export) error
	PutPart(ctx context.Context, export string, p Part) error
}

// Store keeps cases, searches and exports, and reads what exports hold.
type Store interface {
	UpdateDiscovery(ctx context.Context, fn func(tx Tx) error) error
	Case(ctx context.Context, id string) (Case, error)
	// CasesOf returns the cases an account is a member of, newest first.
	CasesOf(ctx context.Context, tenant ids.TenantID, account ids.UserID) ([]Case, error)
	CaseMembers(ctx context.Context, caseID string) ([]Member, error)
	Search(ctx context.Context, id string) (Search, error)
	Searches(ctx context.Context, caseID string) ([]Search, error)
	// Hits returns a search's hits with item ids after after, in id order.
	Hits(ctx context.Context, search, after string, limit int) ([]Hit, error)
	// Review returns a case's review set after after, in id order.
	Review(ctx context.Context, caseID, after string, limit int) ([]Hit, error)
	// InReview reports which of items are in a case's review set.
	InReview(ctx context.Context, caseID string, items []string) (map[string]bool, error)
	// HitsHash returns the number of a search's hits and the SHA-256 of
	// their ids, one per line, sorted.
	HitsHash(ctx context.Context, search string) (int64, string, error)
	Export(ctx context.Context, id string) (Export, error)
	// Exports returns a tenant's exports of a kind and subject (any subject
	// when empty), newest first.
	Exports(ctx context.Context, tenant ids.TenantID, kind, subject string, limit int) ([]Export, error)
	Parts(ctx context.Context, export, kind string) ([]Part, error)

	// Reading the tenant's data.
	TenantChannels(ctx context.Context, tenant ids.TenantID) ([]chat.Channel, error)
	TenantTeams(ctx context.Context, tenant ids.TenantID) ([]chat.Team, error)
	TenantMeetings(ctx context.Context, tenant ids.TenantID, organizer ids.UserID) ([]meeting.Meeting, error)
	TenantRecordings(ctx context.Context, tenant ids.TenantID, after string, limit int) ([]meeting.Recording, error)
	// ChannelMessages returns up to limit messages of channel with seq > after, in order.
	ChannelMessages(ctx context.Context, channel string, after int64, limit int) ([]chat.Message, error)
	CountChannelMessages(ctx context.Context, channels []string) (int64, error)
	// SelectedMessages returns up to limit messages of sel with id > after, in id order.
	SelectedMessages(ctx context.Context, sel Selection, after string, limit int) ([]chat.Message, error)
	CountSelected(ctx context.Context, sel Selection) (int64, error)
	// Versions returns the earlier versions of messages, by message.
	Versions(ctx context.Context, messages []string) (map[string][]Version, error)
}

// Chat reads chat records (chat.Store implements it).
type Chat interface {
	Channel(ctx context.Context, id string) (chat.Channel, error)
	Team(ctx context.Context, id string) (chat.Team, error)
	TeamMembers(ctx context.Context, team string) ([]chat.TeamMember, error)
	ChannelMembers(ctx context.Context, channel string) ([]ids.UserID, error)
	Files(ctx context.Context, messages []string) (map[string][]chat.File, error)
	Message(ctx context.Context, id string) (chat.Message, error)
}

// Opener opens sealed messages (chat.Service implements it).
type Opener interface {
	Open(ctx context.Context, m chat.Message) (chat.View, error)
}

// Sealer seals and opens content with a tenant's keys.
type Sealer interface {
	Seal(ctx context.Context, tenant ids.TenantID, aad keys.AAD, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, tenant ids.TenantID, aad keys.AAD, ciphertext []byte) ([]byte, error)
}

// Blobs keeps files and packages, sealed with the tenant's keys.
type Blobs interface {
	Put(ctx context.Context, tenant ids.TenantID, key string, r io.Reader) (int64, error)
	Get(ctx context.Context, tenant ids.TenantID, key string) (io.ReadCloser, error)
	Delete(ctx context.Context, tenant ids.TenantID, key string) error
}

// Accounts looks people up.
type Accounts interface {
	AccountByID(ctx context.Context, id ids.UserID) (identity.Account, error)
	TenantByID(ctx context.Context, id ids.TenantID) (identity.Tenant, error)
	Accounts(ctx context.Context, realm identity.Realm, tenant ids.TenantID) ([]identity.Account, error)
}

// AuditReader reads a tenant's audit log, for the tenant export.
type AuditReader interface {
	AuditRecords(ctx context.Context, tenant ids.TenantID, after int64, limit int) ([]audit.Record, error)
}

// Policies reads the tenant's moderation policy, for the tenant export.
type Policies interface {
	Policy(ctx context.Context, tenant ids.TenantID) (moderation.Policy, bool, error)
}

// Disclosures reads the non-content metadata a legal disclosure holds about
// one account of a tenant. It never returns content: no message, title or
// name anyone wrote.
type Disclosures interface {
	// AccountSignIns returns the account's sign-ins, oldest first.
	AccountSignIns(ctx context.Context, tenant ids.TenantID, account ids.UserID) ([]SignIn, error)
	// AccountMeetings returns the meetings of the tenant the account
	// organised or was invited to, by start.
	AccountMeetings(ctx context.Context, tenant ids.TenantID, account ids.UserID) ([]MeetingMeta, error)
	// MessageCounts returns how many messages the account wrote in the
	// tenant per channel and UTC day, by day and channel.
	MessageCounts(ctx context.Context, tenant ids.TenantID, account ids.UserID) ([]MessageCount, error)
}

// Signer signs manifests with the service's key.
type Signer interface {
	Sign(msg []byte) []byte
	PublicPEM() []byte
}

// Jobs runs the searches and exports.
type Jobs interface {
	Register(kind string, h jobs.Handler)
	Enqueue(ctx context.Context, j jobs.Job) (jobs.Job, error)
}

// JobReader reads a job's progress.
type JobReader interface {
	Job(ctx context.Context, id string) (jobs.Job, error)
}

// Options configure a Service.
type Options struct {
	Store    Store
	Chat     Chat
	Opener   Opener
	Keys     Sealer
	Blobs    Blobs
	Accounts Accounts
	AuditLog AuditReader
	Policies Policies
	Audit    *audit.Log
	Jobs     Jobs
	JobStore JobReader
	Signer   Signer
	Clock    clock.Clock
	Log      *slog.Logger
	// BatchSize is how many messages one step of a search or an export
	// handles between checkpoints. Default 200.
	BatchSize int
	// Disclosures reads the metadata of legal disclosures; nil: none can
	// be built.
	Disclosures Disclosures
}

// Limits on input.
const (
	MaxKeywordBytes = 1000
	MaxKeywords     = 50
	MaxPeople       = 50
	MaxLocations    = 200
	MaxHits         = 100000
	MaxNameRunes    = 200
)

// Errors with messages for people.
var (
	ErrNoCase   = errs.E(errs.NotFound, "There is no such case, or you are not a member of it.")
	ErrClosed   = errs.E(errs.Conflict, "The case is closed: reopen it first.")
	ErrNoExport = errs.E(errs.NotFound, "There is no such export, or it is not yours to download.")
	ErrNoSearch = errs.E(errs.NotFound, "There is no such search in this case.")
)
