package totp

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/kaigi/kaigi/internal/clock"
)

// The code parameters every authenticator app supports.
const (
	// Digits is the number of digits of a code.
	Digits = 6
	// Period is the length of a time step.
	Period = 30 * time.Second
	// Skew is the number of steps accepted on either side of the current
	// one, to allow for clocks that differ by up to Period.
	Skew = 1
)

// maxInput bounds the input Verify reads, in bytes: six full-width digits
// with separators fit easily.
const maxInput = 64

var hotpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Verifier checks codes against the time of its clock. It is safe for
// concurrent use.
type Verifier struct {
	clock clock.Clock
}

// NewVerifier returns a Verifier reading the time from c (clock.Real if c is
// nil).
func NewVerifier(c clock.Clock) *Verifier {
	if c == nil {
		c = clock.Real{}
	}
	return &Verifier{clock: c}
}

// Verify checks code against secret and returns the time step it belongs
// to, which becomes the new last accepted step. lastStep is the last step
// accepted for this secret so far (0 if none, as for a new enrolment).
//
// A code is accepted if it is the code of the current step or of one step
// before or after it, and that step is later than lastStep. A code that
// matches but whose step is not later than lastStep is refused with
// ErrCodeUsed; one that matches no step in the window with
// ErrIncorrectCode; input that is not six digits with ErrMalformedCode.
//
// The caller must store the returned step only if the stored last step is
// still lastStep (compare-and-set); see Check.
func (v *Verifier) Verify(secret Secret, code string, lastStep uint64) (uint64, error) {
	if secret.IsZero() {
		return 0, errors.New("totp: verify with an empty secret")
	}
	digits, err := normalise(code)
	if err != nil {
		return 0, err
	}
	now := v.clock.Now()
	if now.Unix() < int64(Period.Seconds())*(Skew+1) {
		return 0, fmt.Errorf("totp: clock reads %v, before any usable time step", now)
	}
	current := uint64(now.Unix()) / uint64(Period.Seconds())

	// Every step of the window is computed and compared, whatever matches,
	// so that the time taken says nothing about which step (if any) did.
	var matched, accepted uint64
	sb := secret.base32()
	for step := current - Skew; step <= current+Skew; step++ {
		want, err := hotp.GenerateCodeCustom(sb, step, hotpOpts)
		if err != nil {
			return 0, fmt.Errorf("totp: compute code: %w", err)
		}
		ok := subtle.ConstantTimeCompare([]byte(want), digits[:]) == 1
		if ok {
			matched = step
			if step > lastStep {
				accepted = step
			}
		}
	}
	switch {
	case accepted != 0:
		return accepted, nil
	case matched != 0:
		return 0, ErrCodeUsed
	default:
		return 0, ErrIncorrectCode
	}
}

// normalise reads code as Digits ASCII digits. It ignores ASCII and
// ideographic spaces, tabs and dashes, and reads full-width digits (U+FF10 to
// U+FF19, as Japanese input methods type them) as ASCII. Any other character,
// or a number of digits other than Digits, is ErrMalformedCode.
func normalise(code string) ([Digits]byte, error) {
	var out [Digits]byte
	if len(code) > maxInput {
		return out, ErrMalformedCode
	}
	n := 0
	for _, r := range code {
		var d byte
		switch {
		case r >= '0' && r <= '9':
			d = byte(r)
		case r >= '０' && r <= '９':
			d = byte('0' + (r - '０'))
		case r == ' ' || r == '\t' || r == '-' || r == '\u3000':
			continue
		default:
			return out, ErrMalformedCode
		}
		if n == Digits {
			return out, ErrMalformedCode
		}
		out[n] = d
		n++
	}
	if n != Digits {
		return out, ErrMalformedCode
	}
	return out, nil
}
