// Package audit is Kaigi's tamper-evident audit log.
//
// Every state change, and every read of content by an admin, reviewer,
// operator or job, appends a Record to the log of the tenant it concerns, in
// the same transaction as the change. The log is append-only and
// hash-chained per tenant: each record's hash commits to its own fields and to
// the previous record's hash, so changing, removing or reordering one record
// breaks every later link. Signed checkpoints (signed notes made with the
// service's Ed25519 key) pin the chain's head at moments in time, so that
// even someone who rewrites the whole chain consistently is caught by the
// checkpoints issued before.
//
// Records never carry content: details are metadata (ids, counts, names of
// settings), never message bodies, file contents, secrets or tokens.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Result is the outcome of the audited action.
type Result string

// The results.
const (
	Success Result = "success"
	Failure Result = "failure" // the action was attempted and failed
	Denied  Result = "denied"  // an authorization decision refused it
)

// Entry is what a caller records; the log fills in the rest.
type Entry struct {
	Actor   principal.Principal
	Tenant  ids.TenantID // the tenant whose log it goes to; default the actor's, else the service's
	Action  string       // dotted verb, e.g. "keys.rotate", "audit.checkpoint"
	Target  string       // what was acted on, e.g. "tenant:…", "channel:…"
	Result  Result
	Details map[string]string // metadata only, never content
}

// Record is one link of a tenant's chain.
type Record struct {
	Tenant    ids.TenantID `json:"tenant"`
	Seq       int64        `json:"seq"`
	Time      time.Time    `json:"time"`
	ActorID   string       `json:"actor_id"`
	ActorKind string       `json:"actor_kind"`
	Source    string       `json:"source"`
	Action    string       `json:"action"`
	Target    string       `json:"target"`
	Result    Result       `json:"result"`
	Details   string       `json:"details"` // canonical JSON object
	PrevHash  []byte       `json:"prev_hash"`
	Hash      []byte       `json:"hash"`
}

// DetailMap decodes the record's details.
func (r Record) DetailMap() map[string]string {
	m := map[string]string{}
	_ = json.Unmarshal([]byte(r.Details), &m)
	return m
}

// ZeroHash is the previous hash of a chain's first record.
var ZeroHash = make([]byte, sha256.Size)

// ComputeHash returns the hash of r, committing to every field and r.PrevHash.
// Fields are length-prefixed so that no two records encode alike.
func ComputeHash(r Record) []byte {
	h := sha256.New()
	h.Write([]byte("kaigi-audit-v1\x00"))
	h.Write(r.PrevHash)
	var n [8]byte
	str := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	num := func(v int64) {
		binary.BigEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	str(string(r.Tenant))
	num(r.Seq)
	num(r.Time.UnixNano())
	str(r.ActorID)
	str(r.ActorKind)
	str(r.Source)
	str(r.Action)
	str(r.Target)
	str(string(r.Result))
	str(r.Details)
	return h.Sum(nil)
}

// Appender is the part of a store transaction the log writes through.
// LockHead must lock the tenant's chain head until the transaction ends, so
// that appends to one chain are serialised.
type Appender interface {
	LockAuditHead(ctx context.Context, tenant ids.TenantID) (seq int64, hash []byte, err error)
	InsertAuditRecord(ctx context.Context, r Record) error
}

// Log appends records. It is safe for concurrent use.
type Log struct {
	Clock clock.Clock
}

// New returns a log that reads time from c.
func New(c clock.Clock) *Log { return &Log{Clock: c} }

// Append adds e to its tenant's chain within tx and returns the record.
func (l *Log) Append(ctx context.Context, tx Appender, e Entry) (Record, error) {
	tenant := e.Tenant
	if tenant == "" {
		tenant = e.Actor.Tenant
	}
	if tenant == "" {
		tenant = ids.ServiceTenant
	}
	if e.Action == "" {
		return Record{}, fmt.Errorf("audit: entry without action")
	}
	if e.Result == "" {
		e.Result = Success
	}
	details, err := canonicalDetails(e.Details)
	if err != nil {
		return Record{}, err
	}
	seq, prev, err := tx.LockAuditHead(ctx, tenant)
	if err != nil {
		return Record{}, fmt.Errorf("audit: lock head: %w", err)
	}
	if seq == 0 {
		prev = ZeroHash
	}
	r := Record{
		Tenant:    tenant,
		Seq:       seq + 1,
		Time:      l.Clock.Now().UTC(),
		ActorID:   string(e.Actor.User),
		ActorKind: e.Actor.ActorKind(),
		Source:    e.Actor.Source,
		Action:    e.Action,
		Target:    e.Target,
		Result:    e.Result,
		Details:   details,
		PrevHash:  prev,
	}
	r.Hash = ComputeHash(r)
	if err := tx.InsertAuditRecord(ctx, r); err != nil {
		return Record{}, fmt.Errorf("audit: insert: %w", err)
	}
	return r, nil
}

// canonicalDetails encodes details as JSON with sorted keys (encoding/json
// sorts map keys), "{}" when empty.
func canonicalDetails(d map[string]string) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return "", fmt.Errorf("audit: details: %w", err)
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n")), nil
}
