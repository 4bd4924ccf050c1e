package recovery

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kaigi/kaigi/internal/ids"
)

const (
	// Count is the number of codes Generate returns.
	Count = 10

	// Alphabet is the set of characters of a code: Crockford's base32,
	// which leaves out I, L, O and U so that no two characters look alike.
	Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

	// codeLen is the number of characters of a code: 10 × 5 bits = 50 bits.
	codeLen = 10

	// saltSize is the size in bytes of the per-user HMAC key.
	saltSize = 32

	// maxInput bounds the input Verify reads, in bytes.
	maxInput = 128
)

// hashDomain separates these hashes from any other use of the same salt.
const hashDomain = "kaigi recovery code v1\x00"

// Set is a user's recovery codes as they are stored: no code, only a salt
// and a keyed hash of each. It is plain data for the caller to serialise
// (encoding/json works) and seal.
type Set struct {
	// ID names this generation of codes (a new one each Generate), so
	// that a code of a replaced Set can never mark a code of the new one
	// used. It is not secret.
	ID string `json:"id"`
	// Salt is the random per-user key of the hashes.
	Salt []byte `json:"salt"`
	// Entries holds one entry per code, in the order Generate returned
	// the codes.
	Entries []Entry `json:"entries"`
}

// Entry is one stored recovery code.
type Entry struct {
	// Hash is HMAC-SHA-256 of the normalised code, keyed with Set.Salt.
	Hash []byte `json:"hash"`
	// UsedAt is when the code was redeemed; zero while it is unused.
	UsedAt time.Time `json:"usedAt,omitzero"`
}

// Generate returns Count new codes, formatted XXXXX-XXXXX, and the Set to
// store in place of any earlier one. The codes are secret: show them to the
// user once and do not log or store them.
func Generate() ([]string, Set, error) {
	salt := make([]byte, saltSize)
	if _, err := io.ReadFull(rand.Reader, salt); err != nil {
		return nil, Set{}, fmt.Errorf("recovery: random source failed: %w", err)
	}
	codes := make([]string, 0, Count)
	set := Set{ID: ids.New(), Salt: salt, Entries: make([]Entry, 0, Count)}
	seen := make(map[[codeLen]byte]bool, Count)
	for len(codes) < Count {
		var raw [codeLen]byte
		if _, err := io.ReadFull(rand.Reader, raw[:]); err != nil {
			return nil, Set{}, fmt.Errorf("recovery: random source failed: %w", err)
		}
		var c [codeLen]byte
		for i, b := range raw {
			c[i] = Alphabet[b&0x1f] // 32 symbols: the low 5 bits are uniform
		}
		if seen[c] { // 1 in 2^50; keeps each code's index unambiguous
			continue
		}
		seen[c] = true
		codes = append(codes, string(c[:5])+"-"+string(c[5:]))
		set.Entries = append(set.Entries, Entry{Hash: hashCode(salt, c)})
	}
	return codes, set, nil
}

// Verify checks input against the unused codes of s and returns the index
// of the code it matches, for the caller to mark used (see Consume). It
// refuses malformed input with ErrMalformedCode, a used code with
// ErrCodeUsed and anything else with ErrIncorrectCode. The input is hashed
// once and compared with every entry in constant time.
func Verify(s Set, input string) (int, error) {
	c, err := normalise(input)
	if err != nil {
		return -1, err
	}
	if len(s.Salt) != saltSize {
		return -1, errors.New("recovery: stored set has no valid salt")
	}
	h := hashCode(s.Salt, c)
	found, used := -1, false
	for i, e := range s.Entries {
		if subtle.ConstantTimeCompare(e.Hash, h) == 1 {
			found, used = i, !e.UsedAt.IsZero()
		}
	}
	switch {
	case found < 0:
		return -1, ErrIncorrectCode
	case used:
		return -1, ErrCodeUsed
	default:
		return found, nil
	}
}

// Consume verifies input as Verify does and marks the matching code used at
// now, in s. It suits a caller that stores the whole Set as one sealed value
// and writes it back with a compare-and-set on its version.
func (s *Set) Consume(input string, now time.Time) (int, error) {
	i, err := Verify(*s, input)
	if err != nil {
		return -1, err
	}
	s.Entries[i].UsedAt = now
	return i, nil
}

// Remaining returns the number of unused codes, so the caller can urge the
// user to generate new ones when few are left.
func (s Set) Remaining() int {
	n := 0
	for _, e := range s.Entries {
		if e.UsedAt.IsZero() {
			n++
		}
	}
	return n
}

// hashCode returns HMAC-SHA-256 of the normalised code keyed with the
// user's salt.
//
// Why a fast keyed hash and not a password hash: a code has 50 bits from
// crypto/rand, not a human choice, so there is no dictionary to try and the
// only attack on a stolen Set is exhaustive search. The salt is per user, so
// that search is per user: 2^50 HMACs (≈ 2^46.5 expected to hit one of ten
// codes) is days of a large GPU's time for one account. It needs the Set in
// clear, which the caller stores sealed with the tenant's data key, so the
// attacker must hold the key hierarchy too; and a recovery code stands in
// for the second factor only, while the password stays behind argon2. A
// slow hash would add little to that and cost every redemption tens of
// milliseconds of CPU and memory that an attacker could make us spend. If
// recovery codes are ever allowed to replace the password as well, revisit
// this and move to argon2id.
func hashCode(salt []byte, code [codeLen]byte) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(hashDomain))
	m.Write(code[:])
	return m.Sum(nil)
}

// normalise reads input as a code: ASCII letters in either case, spaces,
// tabs and dashes ignored, full-width forms (U+FF01 to U+FF5E, and the
// ideographic space) read as ASCII, O read as 0 and I and L as 1.
func normalise(input string) ([codeLen]byte, error) {
	var out [codeLen]byte
	if len(input) > maxInput {
		return out, ErrMalformedCode
	}
	n := 0
	for _, r := range input {
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII
			r -= 0xFEE0
		}
		switch {
		case r == ' ' || r == '\t' || r == '-' || r == '\u3000':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		switch r {
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 0x7f || !isAlphabet(byte(r)) || n == codeLen {
			return out, ErrMalformedCode
		}
		out[n] = byte(r)
		n++
	}
	if n != codeLen {
		return out, ErrMalformedCode
	}
	return out, nil
}

func isAlphabet(c byte) bool {
	for i := 0; i < len(Alphabet); i++ {
		if Alphabet[i] == c {
			return true
		}
	}
	return false
}
