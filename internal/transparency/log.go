// Package transparency is the access-transparency log: one append-only Merkle
// tree per tenant (RFC 6962 hashing) recording every operator access to the
// tenant's content under a lockbox grant and every change of a lockbox
// request's state.
//
// The tenant does not have to trust the server about it. After every append
// the service signs the tree head as a checkpoint (the common log checkpoint
// format of transparency-dev, in a signed note made with the service's
// Ed25519 key). Anyone holding the public key and a checkpoint seen earlier
// can ask for a consistency proof to a later one and check that the later
// log extends the earlier — no entry changed, dropped or reordered, no fork —
// and can recompute the root from the entries to see that every entry is in
// it. Verify* in verify.go do that without any part of the server.
//
// Entries are metadata only: who, when, which resource, under which request,
// and what was returned as counts and hashes — never content.
package transparency

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
)

// Hasher is the log's hasher: RFC 6962 (SHA-256, 0x00 leaf and 0x01 node prefixes).
var Hasher = rfc6962.DefaultHasher

var factory = &compact.RangeFactory{Hash: Hasher.HashChildren}

// Entry is one record of a tenant's log, as appended.
type Entry struct {
	Index uint64          `json:"index"`
	Time  time.Time       `json:"time"`
	Kind  string          `json:"kind"` // e.g. "lockbox.requested", "lockbox.approved", "access"
	Body  json.RawMessage `json:"body"` // the event's metadata
}

// Leaf is an entry as stored: its exact bytes (what the leaf hash commits
// to) and the hash.
type Leaf struct {
	Index uint64 `json:"index"`
	Data  []byte `json:"data" doc:"The entry's bytes (a JSON object), base64; the leaf hash is SHA-256(0x00 || data)."`
	Hash  []byte `json:"hash" doc:"The RFC 6962 leaf hash, base64."`
}

// Entry decodes the leaf's data.
func (l Leaf) Entry() (Entry, error) {
	var e Entry
	err := json.Unmarshal(l.Data, &e)
	return e, err
}

// Node is a stored hash of a perfect subtree.
type Node struct {
	ID   compact.NodeID
	Hash []byte
}

// Head is a tenant's current tree head with its signed checkpoint.
type Head struct {
	Size       uint64 `json:"size"`
	Root       []byte `json:"root"`
	Checkpoint string `json:"checkpoint" doc:"The signed checkpoint (a signed note: origin, size, base64 root hash, then signatures)."`
}

// Tx is what an append needs of the store transaction it runs in: the same
// transaction as the state change it records.
type Tx interface {
	// LockLogHead locks the tenant's head until the transaction ends and
	// returns its size (0 for a new log).
	LockLogHead(ctx context.Context, tenant ids.TenantID) (size uint64, err error)
	LogNodes(ctx context.Context, tenant ids.TenantID, nodes []compact.NodeID) ([][]byte, error)
	InsertLogLeaf(ctx context.Context, tenant ids.TenantID, l Leaf, at time.Time, kind string) error
	PutLogNodes(ctx context.Context, tenant ids.TenantID, nodes []Node) error
	PutLogHead(ctx context.Context, tenant ids.TenantID, h Head, at time.Time) error
}

// Store reads logs.
type Store interface {
	// LogHead returns the tenant's head; an empty log has size 0.
	LogHead(ctx context.Context, tenant ids.TenantID) (Head, error)
	// LogCheckpoint returns the checkpoint signed when the log had size entries.
	LogCheckpoint(ctx context.Context, tenant ids.TenantID, size uint64) (string, error)
	// LogLeaves returns leaves [from, to) in order.
	LogLeaves(ctx context.Context, tenant ids.TenantID, from, to uint64) ([]Leaf, error)
	LogNodes(ctx context.Context, tenant ids.TenantID, nodes []compact.NodeID) ([][]byte, error)
}

// Signer signs checkpoints as signed notes (signing.Key does).
type Signer interface {
	SignNote(text string) (string, error)
}

// Log appends to and proves tenants' logs. It is safe for concurrent use.
type Log struct {
	store  Store
	signer Signer
	clock  clock.Clock
	origin string
}

// New returns a Log. originPrefix names the deployment (e.g. its host); a
// tenant's log is named "<originPrefix>/access-transparency/<tenant>".
func New(s Store, signer Signer, c clock.Clock, originPrefix string) *Log {
	if c == nil {
		c = clock.Real{}
	}
	return &Log{store: s, signer: signer, clock: c, origin: originPrefix}
}

// Origin returns the name of a tenant's log, the first line of its checkpoints.
func (l *Log) Origin(tenant ids.TenantID) string {
	return Origin(l.origin, tenant)
}

// Origin names a tenant's log in a deployment.
func Origin(prefix string, tenant ids.TenantID) string {
	return prefix + "/access-transparency/" + string(tenant)
}

// Append adds an entry to the tenant's log within tx and signs the new head.
func (l *Log) Append(ctx context.Context, tx Tx, tenant ids.TenantID, kind string, body any) (Entry, error) {
	if !ids.Valid(string(tenant)) || kind == "" {
		return Entry{}, fmt.Errorf("transparency: append needs a tenant and a kind")
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return Entry{}, err
	}
	size, err := tx.LockLogHead(ctx, tenant)
	if err != nil {
		return Entry{}, fmt.Errorf("transparency: lock head: %w", err)
	}
	border := compact.RangeNodes(0, size, nil)
	hashes, err := tx.LogNodes(ctx, tenant, border)
	if err != nil {
		return Entry{}, err
	}
	rng, err := factory.NewRange(0, size, hashes)
	if err != nil {
		return Entry{}, fmt.Errorf("transparency: the stored tree of %s is damaged: %w", tenant, err)
	}
	e := Entry{Index: size, Time: l.clock.Now().UTC(), Kind: kind, Body: raw}
	data, err := json.Marshal(e)
	if err != nil {
		return Entry{}, err
	}
	leaf := Leaf{Index: size, Data: data, Hash: Hasher.HashLeaf(data)}
	var nodes []Node
	if err := rng.Append(leaf.Hash, func(id compact.NodeID, h []byte) {
		nodes = append(nodes, Node{ID: id, Hash: h})
	}); err != nil {
		return Entry{}, err
	}
	root, err := rng.GetRootHash(nil)
	if err != nil {
		return Entry{}, err
	}
	cp := log.Checkpoint{Origin: l.Origin(tenant), Size: size + 1, Hash: root}
	signed, err := l.signer.SignNote(string(cp.Marshal()))
	if err != nil {
		return Entry{}, err
	}
	if err := tx.InsertLogLeaf(ctx, tenant, leaf, e.Time, kind); err != nil {
		return Entry{}, err
	}
	if err := tx.PutLogNodes(ctx, tenant, nodes); err != nil {
		return Entry{}, err
	}
	if err := tx.PutLogHead(ctx, tenant, Head{Size: size + 1, Root: root, Checkpoint: signed}, e.Time); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Head returns the tenant's current signed head. An empty log's head is
// signed on the spot: size 0, the root of the empty tree.
func (l *Log) Head(ctx context.Context, tenant ids.TenantID) (Head, error) {
	h, err := l.store.LogHead(ctx, tenant)
	if err != nil || h.Size > 0 {
		return h, err
	}
	root := Hasher.EmptyRoot()
	signed, err := l.signer.SignNote(string(log.Checkpoint{Origin: l.Origin(tenant), Size: 0, Hash: root}.Marshal()))
	return Head{Size: 0, Root: root, Checkpoint: signed}, err
}

// Checkpoint returns the checkpoint the tenant's log had at size.
func (l *Log) Checkpoint(ctx context.Context, tenant ids.TenantID, size uint64) (string, error) {
	h, err := l.store.LogHead(ctx, tenant)
	if err != nil {
		return "", err
	}
	if size == 0 || size > h.Size {
		return "", errs.E(errs.Invalid, "The log has %d entries; ask for a checkpoint of size 1 to %d.", h.Size, h.Size)
	}
	return l.store.LogCheckpoint(ctx, tenant, size)
}

// MaxLeaves bounds one page of entries.
const MaxLeaves = 1000

// Leaves returns up to limit entries from index from.
func (l *Log) Leaves(ctx context.Context, tenant ids.TenantID, from uint64, limit int) ([]Leaf, error) {
	h, err := l.store.LogHead(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if from > h.Size {
		return nil, errs.E(errs.Invalid, "The log has %d entries; start at 0 to %d.", h.Size, h.Size)
	}
	limit = min(max(limit, 1), MaxLeaves)
	to := min(h.Size, from+uint64(limit))
	if from == to {
		return []Leaf{}, nil
	}
	return l.store.LogLeaves(ctx, tenant, from, to)
}

// InclusionProof proves that entry index is in the tree of size size.
func (l *Log) InclusionProof(ctx context.Context, tenant ids.TenantID, index, size uint64) ([][]byte, error) {
	h, err := l.store.LogHead(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if size == 0 || size > h.Size || index >= size {
		return nil, errs.E(errs.Invalid, "Ask for an entry below the tree size, and a tree size of 1 to %d.", h.Size)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "That proof cannot be made.")
	}
	return l.rehash(ctx, tenant, nodes)
}

// ConsistencyProof proves that the tree of size from is a prefix of the tree
// of size to.
func (l *Log) ConsistencyProof(ctx context.Context, tenant ids.TenantID, from, to uint64) ([][]byte, error) {
	h, err := l.store.LogHead(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if from == 0 || from > to || to > h.Size {
		return nil, errs.E(errs.Invalid, "Ask for sizes with 1 ≤ from ≤ to ≤ %d.", h.Size)
	}
	nodes, err := proof.Consistency(from, to)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "That proof cannot be made.")
	}
	return l.rehash(ctx, tenant, nodes)
}

func (l *Log) rehash(ctx context.Context, tenant ids.TenantID, nodes proof.Nodes) ([][]byte, error) {
	hashes, err := l.store.LogNodes(ctx, tenant, nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(hashes, Hasher.HashChildren)
}

// Bundle is what a tenant fetches to check its log offline: the current
// checkpoint, every entry since a size it saw before, and the proof that
// the log at that size is a prefix of the current one.
type Bundle struct {
	Origin      string   `json:"origin"`
	Checkpoint  string   `json:"checkpoint" doc:"The current signed checkpoint."`
	Since       uint64   `json:"since" doc:"The size of the earlier checkpoint the consistency proof starts from (0: none)."`
	Consistency [][]byte `json:"consistency,omitempty" doc:"Hashes proving the log at since is a prefix of the current one."`
	Leaves      []Leaf   `json:"leaves" doc:"Every entry from since (or from first, when given) to the current size."`
	First       uint64   `json:"first" doc:"The index of the first leaf in leaves."`
}

// MaxBundleLeaves bounds the entries in one bundle.
const MaxBundleLeaves = 100000

// Bundle returns the checkpoint, the consistency proof from since and the
// leaves from first (default 0) to the head.
func (l *Log) Bundle(ctx context.Context, tenant ids.TenantID, since, first uint64) (Bundle, error) {
	h, err := l.Head(ctx, tenant)
	if err != nil {
		return Bundle{}, err
	}
	if since > h.Size || first > h.Size {
		return Bundle{}, errs.E(errs.Invalid, "The log has %d entries; since and first must be at most that.", h.Size)
	}
	if h.Size-first > MaxBundleLeaves {
		return Bundle{}, errs.E(errs.Invalid, "At most %d entries fit in one bundle; start at a later first.", MaxBundleLeaves)
	}
	b := Bundle{Origin: l.Origin(tenant), Checkpoint: h.Checkpoint, Since: since, First: first, Leaves: []Leaf{}}
	if since > 0 && since < h.Size {
		if b.Consistency, err = l.ConsistencyProof(ctx, tenant, since, h.Size); err != nil {
			return Bundle{}, err
		}
	}
	if first < h.Size {
		if b.Leaves, err = l.store.LogLeaves(ctx, tenant, first, h.Size); err != nil {
			return Bundle{}, err
		}
	}
	return b, nil
}
