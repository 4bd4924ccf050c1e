package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/signing"
)

// Checkpoint is a signed statement of a chain's head at a moment.
type Checkpoint struct {
	Tenant ids.TenantID
	Seq    int64
	Hash   []byte
	Time   time.Time
	Note   string // the signed note
}

// CheckpointStore reads chain heads and keeps checkpoints.
type CheckpointStore interface {
	AuditHead(ctx context.Context, tenant ids.TenantID) (seq int64, hash []byte, err error)
	// InsertAuditCheckpoint stores c and reports whether it was new (a
	// checkpoint of the same head may exist already).
	InsertAuditCheckpoint(ctx context.Context, c Checkpoint) (bool, error)
}

// Reader reads a chain for verification.
type Reader interface {
	// AuditRecords returns up to limit records with Seq > after, in order.
	AuditRecords(ctx context.Context, tenant ids.TenantID, after int64, limit int) ([]Record, error)
	AuditHead(ctx context.Context, tenant ids.TenantID) (seq int64, hash []byte, err error)
	AuditCheckpoints(ctx context.Context, tenant ids.TenantID) ([]Checkpoint, error)
	// AuditAnchor returns tenant's prune anchor; ok=false when nothing was pruned.
	AuditAnchor(ctx context.Context, tenant ids.TenantID) (a Anchor, ok bool, err error)
}

// The first words of the signed texts that pin a chain at a record: a
// checkpoint (the head at a moment) and a prune anchor (the last record
// removed by retention). They differ, so that no checkpoint can ever be
// passed off as permission to remove records.
const (
	checkpointPrefix = "kaigi audit log "
	anchorPrefix     = "kaigi audit prune anchor "
)

// headText is the text signed for a checkpoint or prune anchor (by prefix).
func headText(prefix string, tenant ids.TenantID, seq int64, hash []byte, at time.Time) string {
	return fmt.Sprintf("%s%s\n%d\n%s\n%d\n", prefix, tenant, seq, base64.StdEncoding.EncodeToString(hash), at.Unix())
}

// parseHeadText reads a text made by headText with prefix.
func parseHeadText(prefix, text string) (tenant ids.TenantID, seq int64, hash []byte, at time.Time, err error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], prefix) {
		return "", 0, nil, time.Time{}, fmt.Errorf("not a %q note", strings.TrimSpace(prefix))
	}
	tenant = ids.TenantID(strings.TrimPrefix(lines[0], prefix))
	if seq, err = strconv.ParseInt(lines[1], 10, 64); err != nil {
		return "", 0, nil, time.Time{}, fmt.Errorf("record number: %w", err)
	}
	if hash, err = base64.StdEncoding.DecodeString(lines[2]); err != nil {
		return "", 0, nil, time.Time{}, fmt.Errorf("hash: %w", err)
	}
	sec, err := strconv.ParseInt(lines[3], 10, 64)
	if err != nil {
		return "", 0, nil, time.Time{}, fmt.Errorf("time: %w", err)
	}
	return tenant, seq, hash, time.Unix(sec, 0).UTC(), nil
}

// Checkpoint signs tenant's current head and stores the checkpoint. It
// returns ok=false when there was nothing new to sign: an empty chain, or a
// head that already has its checkpoint.
func (l *Log) Checkpoint(ctx context.Context, st CheckpointStore, key *signing.Key, tenant ids.TenantID) (c Checkpoint, ok bool, err error) {
	seq, hash, err := st.AuditHead(ctx, tenant)
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("audit head: %w", err)
	}
	if seq == 0 {
		return Checkpoint{}, false, nil
	}
	at := l.Clock.Now().UTC().Truncate(time.Second)
	signed, err := key.SignNote(headText(checkpointPrefix, tenant, seq, hash, at))
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("sign checkpoint: %w", err)
	}
	c = Checkpoint{Tenant: tenant, Seq: seq, Hash: hash, Time: at, Note: signed}
	added, err := st.InsertAuditCheckpoint(ctx, c)
	if err != nil {
		return Checkpoint{}, false, err
	}
	return c, added, nil
}

// Problem is the first break found in a chain.
type Problem struct {
	Seq    int64  // the record at which the chain breaks (0: the chain as a whole)
	Reason string // what is wrong, for a person
}

// Report is the outcome of Verify.
type Report struct {
	Tenant      ids.TenantID
	Records     int64 // records read
	Checkpoints int   // checkpoints checked
	// PrunedThrough is the signed prune anchor verification started from:
	// records up to it were removed by retention (0: none).
	PrunedThrough int64
	Problem       *Problem
}

// OK reports whether the chain verified.
func (r Report) OK() bool { return r.Problem == nil }

func (r Report) String() string {
	if r.OK() && r.PrunedThrough > 0 {
		return fmt.Sprintf("tenant %s: OK, %d records after the signed prune anchor at record %d, %d signed checkpoints verified", r.Tenant, r.Records, r.PrunedThrough, r.Checkpoints)
	}
	if r.OK() {
		return fmt.Sprintf("tenant %s: OK, %d records, %d signed checkpoints verified", r.Tenant, r.Records, r.Checkpoints)
	}
	if r.Problem.Seq > 0 {
		return fmt.Sprintf("tenant %s: BROKEN at record %d: %s", r.Tenant, r.Problem.Seq, r.Problem.Reason)
	}
	return fmt.Sprintf("tenant %s: BROKEN: %s", r.Tenant, r.Problem.Reason)
}

// Verify checks tenant's chain from its first record (or from its signed
// prune anchor, when retention removed older records): sequence numbers without
// gaps, every record's link to its predecessor, every record's own hash, the
// head, and every checkpoint's signature (against verifier key vkey) and
// agreement with the chain. It reports the first break. An error means the
// chain could not be read, not that it is broken.
func Verify(ctx context.Context, rd Reader, tenant ids.TenantID, vkey string) (Report, error) {
	rep := Report{Tenant: tenant}
	cps, err := rd.AuditCheckpoints(ctx, tenant)
	if err != nil {
		return rep, fmt.Errorf("read checkpoints: %w", err)
	}
	// Check the checkpoints' signatures first, so their hashes can be trusted.
	want := map[int64][]byte{}
	var maxCP int64
	for _, c := range cps {
		text, err := signing.OpenNote(c.Note, vkey)
		if err != nil {
			rep.Problem = &Problem{Reason: fmt.Sprintf("checkpoint at record %d has no valid signature: %v", c.Seq, err)}
			return rep, nil
		}
		t, seq, hash, _, err := parseHeadText(checkpointPrefix, text)
		if err != nil || t != tenant || seq != c.Seq {
			rep.Problem = &Problem{Reason: fmt.Sprintf("checkpoint at record %d does not match what was signed", c.Seq)}
			return rep, nil
		}
		want[seq] = hash
		maxCP = max(maxCP, seq)
		rep.Checkpoints++
	}
	prev := ZeroHash
	var last int64
	anchor, pruned, err := rd.AuditAnchor(ctx, tenant)
	if err != nil {
		return rep, fmt.Errorf("read prune anchor: %w", err)
	}
	if pruned {
		text, err := signing.OpenNote(anchor.Note, vkey)
		if err != nil {
			rep.Problem = &Problem{Reason: fmt.Sprintf("the prune anchor at record %d has no valid signature: %v", anchor.Seq, err)}
			return rep, nil
		}
		t, seq, hash, _, err := parseHeadText(anchorPrefix, text)
		if err != nil || t != tenant || seq != anchor.Seq || !bytes.Equal(hash, anchor.Hash) {
			rep.Problem = &Problem{Reason: fmt.Sprintf("the prune anchor at record %d does not match what was signed", anchor.Seq)}
			return rep, nil
		}
		if h, ok := want[seq]; ok && !bytes.Equal(h, hash) {
			rep.Problem = &Problem{Seq: seq, Reason: "the prune anchor differs from the signed checkpoint at this record (the chain was rewritten)"}
			return rep, nil
		}
		prev, last, rep.PrunedThrough = hash, seq, seq
	}
	const batch = 1000
	for {
		recs, err := rd.AuditRecords(ctx, tenant, last, batch)
		if err != nil {
			return rep, fmt.Errorf("read records after %d: %w", last, err)
		}
		for _, r := range recs {
			rep.Records++
			switch {
			case r.Seq != last+1:
				rep.Problem = &Problem{Seq: last + 1, Reason: fmt.Sprintf("record %d is missing (the next one is %d)", last+1, r.Seq)}
			case r.Tenant != tenant:
				rep.Problem = &Problem{Seq: r.Seq, Reason: "the record belongs to another tenant"}
			case !bytes.Equal(r.PrevHash, prev):
				rep.Problem = &Problem{Seq: r.Seq, Reason: "its link to the previous record is broken (a record was removed, inserted or changed before it)"}
			case !bytes.Equal(ComputeHash(r), r.Hash):
				rep.Problem = &Problem{Seq: r.Seq, Reason: "its contents do not match its hash (the record was changed after it was written)"}
			case want[r.Seq] != nil && !bytes.Equal(want[r.Seq], r.Hash):
				rep.Problem = &Problem{Seq: r.Seq, Reason: "it differs from the signed checkpoint at this record (the chain was rewritten)"}
			}
			if rep.Problem != nil {
				return rep, nil
			}
			prev, last = r.Hash, r.Seq
		}
		if len(recs) < batch {
			break
		}
	}
	if maxCP > last {
		rep.Problem = &Problem{Seq: last + 1, Reason: fmt.Sprintf("the chain ends at record %d but a signed checkpoint covers %d records (records were removed from the end)", last, maxCP)}
		return rep, nil
	}
	headSeq, headHash, err := rd.AuditHead(ctx, tenant)
	if err != nil {
		return rep, fmt.Errorf("read head: %w", err)
	}
	if headSeq != last || (last > 0 && !bytes.Equal(headHash, prev)) {
		rep.Problem = &Problem{Seq: last + 1, Reason: fmt.Sprintf("the chain ends at record %d but its head says %d (records were removed from the end)", last, headSeq)}
	}
	return rep, nil
}
