package transparency

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"
)

// State is what a tenant keeps between two checks of its log: the last
// checkpoint it accepted, and the compact range of the tree at that size
// (the hashes of the perfect subtrees covering it), which is enough to
// check that later entries extend it.
type State struct {
	Origin     string   `json:"origin"`
	Checkpoint string   `json:"checkpoint"`
	Size       uint64   `json:"size"`
	Root       []byte   `json:"root"`
	Range      [][]byte `json:"range"`
}

// Report is the outcome of a successful check.
type Report struct {
	Size    uint64  `json:"size"`    // the checked log's size
	New     []Entry `json:"new"`     // entries added since the previous state
	Checked uint64  `json:"checked"` // how many entries were rehashed
}

// ErrInconsistent says the log is not what an earlier checkpoint promised:
// an entry changed, an entry was dropped, or the log forked or rolled back.
var ErrInconsistent = errors.New("the log is inconsistent with what was seen before")

// OpenCheckpoint checks a signed checkpoint against the verifier key and
// the expected origin and returns it.
func OpenCheckpoint(signed, verifierKey, origin string) (log.Checkpoint, error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return log.Checkpoint{}, fmt.Errorf("verifier key: %w", err)
	}
	n, err := note.Open([]byte(signed), note.VerifierList(v))
	if err != nil {
		return log.Checkpoint{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	var cp log.Checkpoint
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
		return log.Checkpoint{}, err
	}
	if cp.Origin != origin {
		return log.Checkpoint{}, fmt.Errorf("checkpoint of log %q, expected %q", cp.Origin, origin)
	}
	return cp, nil
}

// VerifyInclusion checks that leaf is entry index of the tree under cp.
func VerifyInclusion(cp log.Checkpoint, leaf Leaf, hashes [][]byte) error {
	if !bytes.Equal(Hasher.HashLeaf(leaf.Data), leaf.Hash) {
		return fmt.Errorf("entry %d: its hash does not match its data", leaf.Index)
	}
	if err := proof.VerifyInclusion(Hasher, leaf.Index, cp.Size, leaf.Hash, hashes, cp.Hash); err != nil {
		return fmt.Errorf("%w: entry %d is not in the tree of size %d: %v", ErrInconsistent, leaf.Index, cp.Size, err)
	}
	return nil
}

// VerifyBundle checks a bundle fetched from the server against the state
// kept from the previous check (nil for the first) and the service's
// verifier key, and returns the new state. It checks that:
//   - the checkpoint is signed by the key and names the expected log;
//   - the log did not shrink, and the consistency proof shows the earlier
//     tree is a prefix of the new one (no entry changed or dropped, no fork);
//   - the leaves hash to what they claim and, appended to the earlier tree,
//     give exactly the new root: every entry is included and nothing else;
//   - when the bundle starts at entry 0, the leaves also rebuild the earlier
//     root, so an entry rewritten in place is caught even where the server
//     kept its tree nodes intact.
func VerifyBundle(prev *State, b Bundle, verifierKey string) (State, Report, error) {
	origin := b.Origin
	if prev != nil {
		origin = prev.Origin
	}
	cp, err := OpenCheckpoint(b.Checkpoint, verifierKey, origin)
	if err != nil {
		return State{}, Report{}, err
	}
	var old State
	if prev != nil {
		old = *prev
	}
	if cp.Size < old.Size {
		return State{}, Report{}, fmt.Errorf("%w: it has %d entries, %d were seen before (rolled back or entries dropped)", ErrInconsistent, cp.Size, old.Size)
	}
	if old.Size > 0 {
		if cp.Size == old.Size && !bytes.Equal(cp.Hash, old.Root) {
			return State{}, Report{}, fmt.Errorf("%w: same size %d, different root (a fork)", ErrInconsistent, cp.Size)
		}
		if cp.Size > old.Size {
			if b.Since != old.Size {
				return State{}, Report{}, fmt.Errorf("the bundle proves consistency from size %d; ask for since=%d", b.Since, old.Size)
			}
			if err := proof.VerifyConsistency(Hasher, old.Size, cp.Size, b.Consistency, old.Root, cp.Hash); err != nil {
				return State{}, Report{}, fmt.Errorf("%w: the log of size %d does not extend the one of size %d seen before (an entry changed, was dropped, or the log forked): %v",
					ErrInconsistent, cp.Size, old.Size, err)
			}
		}
	}

	var rng *compact.Range
	switch b.First {
	case 0:
		rng = factory.NewEmptyRange(0)
	case old.Size:
		if rng, err = factory.NewRange(0, old.Size, old.Range); err != nil {
			return State{}, Report{}, fmt.Errorf("the kept state is damaged: %v", err)
		}
	default:
		return State{}, Report{}, fmt.Errorf("the bundle starts at entry %d; ask for first=0 or first=%d", b.First, old.Size)
	}
	if uint64(len(b.Leaves)) != cp.Size-b.First {
		return State{}, Report{}, fmt.Errorf("%w: the bundle holds %d entries from %d, the checkpoint says the log has %d", ErrInconsistent, len(b.Leaves), b.First, cp.Size)
	}
	var rep Report
	for i, l := range b.Leaves {
		want := b.First + uint64(i)
		if l.Index != want {
			return State{}, Report{}, fmt.Errorf("%w: entry %d is missing (found %d in its place)", ErrInconsistent, want, l.Index)
		}
		if !bytes.Equal(Hasher.HashLeaf(l.Data), l.Hash) {
			return State{}, Report{}, fmt.Errorf("%w: entry %d's data does not match its hash", ErrInconsistent, want)
		}
		var e Entry
		if err := json.Unmarshal(l.Data, &e); err != nil || e.Index != want {
			return State{}, Report{}, fmt.Errorf("%w: entry %d does not decode as entry %d", ErrInconsistent, want, want)
		}
		if err := rng.Append(l.Hash, nil); err != nil {
			return State{}, Report{}, err
		}
		rep.Checked++
		if want >= old.Size {
			rep.New = append(rep.New, e)
		}
		if old.Size > 0 && rng.End() == old.Size {
			root, err := rng.GetRootHash(nil)
			if err != nil {
				return State{}, Report{}, err
			}
			if !bytes.Equal(root, old.Root) {
				return State{}, Report{}, fmt.Errorf("%w: the first %d entries no longer give the root seen before: one of them was changed", ErrInconsistent, old.Size)
			}
		}
	}
	root, err := rng.GetRootHash(nil)
	if err != nil {
		return State{}, Report{}, err
	}
	if cp.Size == 0 {
		root = Hasher.EmptyRoot()
	}
	if !bytes.Equal(root, cp.Hash) {
		return State{}, Report{}, fmt.Errorf("%w: the entries do not give the signed root of size %d (an entry was changed or left out)", ErrInconsistent, cp.Size)
	}
	rep.Size = cp.Size
	return State{Origin: origin, Checkpoint: b.Checkpoint, Size: cp.Size, Root: cp.Hash, Range: rng.Hashes()}, rep, nil
}
