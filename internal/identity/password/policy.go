package password

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"golang.org/x/text/unicode/norm"

	"github.com/kaigi/kaigi/internal/errs"
)

// MaxBytes is the longest password accepted, in bytes of UTF-8, before and
// after normalisation. It is checked before any other work, so a huge
// password cannot make normalising, strength estimation or hashing costly.
// 1024 bytes is about 1000 Latin letters or 340 Japanese characters.
const MaxBytes = 1024

// NIST SP 800-63B (section 3.1.1.2) requires at least 8 characters for a
// password chosen by its owner; Kaigi asks for 12 by default.
const (
	minLengthFloor   = 8
	defaultMinLength = 12
	defaultMinScore  = 3
	// zxcvbnMaxRunes caps the part of a password given to zxcvbn, whose
	// matching grows faster than linearly with length. Judging a prefix is
	// conservative: a longer password is at least as hard to guess.
	zxcvbnMaxRunes = 100
	// minContextWord is the shortest context word (in runes) looked for
	// inside a password; shorter ones ("Li", "Doe") would refuse too many
	// good passphrases by accident.
	minContextWord = 4
)

// Reason says, in a form programs can test, why a password was refused. It
// is the cause wrapped by the *errs.Error that Check, Hash and Verify return,
// so errors.Is(err, ReasonCommon) and ReasonOf(err) both work.
type Reason string

// The reasons a password is refused.
const (
	ReasonTooShort Reason = "too_short" // fewer characters than the policy's minimum
	ReasonTooLong  Reason = "too_long"  // more than MaxBytes bytes
	ReasonInvalid  Reason = "invalid"   // not UTF-8, or contains control characters
	ReasonCommon   Reason = "common"    // on the shipped list of common passwords
	ReasonContext  Reason = "context"   // contains the user's name, email or organisation
	ReasonWeak     Reason = "weak"      // zxcvbn estimates it too easy to guess
)

// Error makes a Reason usable as an error cause.
func (r Reason) Error() string { return "password: " + string(r) }

// ReasonOf returns the Reason in err's chain, or "" if there is none.
func ReasonOf(err error) Reason {
	var r Reason
	if errors.As(err, &r) {
		return r
	}
	return ""
}

// refuse returns the *errs.Error (code Invalid) for reason with a message a
// person can act on. Messages never quote the password or any part of it.
func refuse(r Reason, format string, args ...any) error {
	return errs.Wrap(errs.Invalid, r, format, args...)
}

// normalize returns pw in Unicode normalisation form NFKC, so that the same
// password typed on different keyboards or input methods (full-width and
// ASCII letters, composed and decomposed accents, ligatures) is the same
// password. It refuses input over MaxBytes before doing any work, and input
// that is not UTF-8.
func normalize(pw string) (string, error) {
	if len(pw) > MaxBytes {
		return "", errTooLong()
	}
	if !utf8.ValidString(pw) {
		return "", refuse(ReasonInvalid, "This password contains bytes that are not text. Type it again using letters, digits, spaces and punctuation.")
	}
	n := norm.NFKC.String(pw)
	if len(n) > MaxBytes {
		return "", errTooLong()
	}
	return n, nil
}

func errTooLong() error {
	return refuse(ReasonTooLong, "This password is too long: the limit is %d bytes, about 1000 Latin letters or 340 Japanese characters. Choose a shorter one.", MaxBytes)
}

// Policy is the rule a new password must satisfy. The zero value is Kaigi's
// default policy. Following NIST SP 800-63B there are no composition rules
// (no "one digit, one symbol"): length, a list of known passwords, the
// user's own details and an estimate of guessability decide.
type Policy struct {
	// MinLength is the fewest characters (Unicode code points, after NFKC)
	// a password may have. Default 12; values below 8, the NIST SP 800-63B
	// minimum, are raised to 8.
	MinLength int

	// MinScore is the zxcvbn score (0 to 4) a password must reach; 3 means
	// "safely unguessable: moderate protection from offline slow-hash
	// scenario" (at least 10^8 guesses). Default 3; values above 4 are
	// lowered to 4.
	MinScore int
}

func (p Policy) minLength() int {
	switch {
	case p.MinLength == 0:
		return defaultMinLength
	case p.MinLength < minLengthFloor:
		return minLengthFloor
	}
	return p.MinLength
}

func (p Policy) minScore() int {
	switch {
	case p.MinScore <= 0:
		return defaultMinScore
	case p.MinScore > 4:
		return 4
	}
	return p.MinScore
}

// Check reports whether pw may be chosen as a new password under the default
// Policy. See Policy.Check.
func Check(pw string, context []string) error { return Policy{}.Check(pw, context) }

// Check reports whether pw may be chosen as a new password. context holds
// what an attacker knows about the user and tries first: their email
// address, name, user name and the tenant's name.
//
// It returns nil or an *errs.Error with code errs.Invalid, a message to show
// the person choosing the password, and a Reason as its cause. The checks
// run in this order and the first refusal is returned: invalid text
// (ReasonInvalid), too long (ReasonTooLong), too short (ReasonTooShort), on
// the common password list, ignoring case (ReasonCommon), containing or
// equal to a context word of at least 4 characters, ignoring case, spaces
// and punctuation (ReasonContext), and a zxcvbn score below MinScore
// (ReasonWeak). Messages never repeat the password or the matched word.
func (p Policy) Check(pw string, context []string) error {
	n, err := normalize(pw)
	if err != nil {
		return err
	}
	for _, r := range n {
		if unicode.IsControl(r) {
			return refuse(ReasonInvalid, "This password contains control characters such as tabs or line breaks. Use letters, digits, spaces and punctuation.")
		}
	}
	if min := p.minLength(); utf8.RuneCountInString(n) < min {
		return refuse(ReasonTooShort, "This password is too short. Use at least %d characters; a phrase of several words is long enough and easy to remember.", min)
	}
	lower := strings.ToLower(n)
	if isCommon(lower) {
		return refuse(ReasonCommon, "This password is on a list of commonly used passwords that attackers try first. Choose a longer phrase that is not in such lists.")
	}
	words := contextWords(context)
	if containsContext(lower, words) {
		return refuse(ReasonContext, "This password contains your name, email address or organisation name, which attackers try first. Choose a password without them.")
	}
	res := zxcvbn.PasswordStrength(prefix(n, zxcvbnMaxRunes), words)
	if res.Score < p.minScore() {
		return refuse(ReasonWeak, "This password would be too easy to guess.%s Make it longer: a phrase of four or more unrelated words is strong and easy to remember.", hints(res))
	}
	return nil
}

// isCommon reports whether the lower-cased password is on the shipped list,
// as typed or with its spaces removed ("pass word 123").
func isCommon(lower string) bool {
	set := commonSet()
	if _, ok := set[strings.TrimSpace(lower)]; ok {
		return true
	}
	_, ok := set[strings.Join(strings.Fields(lower), "")]
	return ok
}

// contextWords derives the words looked for from the caller's context:
// each value, the local part of an email address, and the words inside
// (split at anything not a letter or digit), all NFKC and lower case.
func contextWords(context []string) []string {
	var words []string
	seen := map[string]bool{}
	add := func(w string) {
		if w != "" && !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	for _, c := range context {
		if len(c) > MaxBytes || !utf8.ValidString(c) {
			continue
		}
		c = strings.ToLower(strings.TrimSpace(norm.NFKC.String(c)))
		add(c)
		if local, _, ok := strings.Cut(c, "@"); ok {
			add(local)
		}
		add(alnum(c))
		for _, w := range strings.FieldsFunc(c, notAlnum) {
			add(w)
		}
	}
	return words
}

// containsContext reports whether lower (the lower-cased password) equals
// or contains a context word, as typed or with everything but letters and
// digits removed.
func containsContext(lower string, words []string) bool {
	squeezed := alnum(lower)
	for _, w := range words {
		if w == lower || w == squeezed {
			return true
		}
		if utf8.RuneCountInString(w) >= minContextWord && strings.Contains(lower, w) {
			return true
		}
		if aw := alnum(w); utf8.RuneCountInString(aw) >= minContextWord && strings.Contains(squeezed, aw) {
			return true
		}
	}
	return false
}

func notAlnum(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// alnum returns s with everything but letters and digits removed.
func alnum(s string) string {
	return strings.Map(func(r rune) rune {
		if notAlnum(r) {
			return -1
		}
		return r
	}, s)
}

// prefix returns the first n runes of s.
func prefix(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// hints turns what zxcvbn found into advice, in English, without quoting
// the password. It returns "" or a string starting with a space.
func hints(res zxcvbn.Result) string {
	var found struct{ words, names, keyboard, repeats, sequences, dates, user bool }
	for _, m := range res.Sequence {
		switch m.Pattern {
		case "dictionary":
			switch m.DictionaryName {
			case "user_inputs":
				found.user = true
			case "male_names", "female_names", "surnames":
				found.names = true
			default:
				found.words = true
			}
		case "spatial":
			found.keyboard = true
		case "repeat":
			found.repeats = true
		case "sequence":
			found.sequences = true
		case "date", "regex":
			found.dates = true
		}
	}
	var b strings.Builder
	add := func(on bool, s string) {
		if on {
			b.WriteString(" ")
			b.WriteString(s)
		}
	}
	add(found.user, "It is close to your name, email address or organisation name.")
	add(found.words, "Common words and passwords are easy to guess, even with capitals or letters swapped for digits (like 0 for o).")
	add(found.names, "Names are easy to guess.")
	add(found.keyboard, "Rows of neighbouring keys (like qwerty) are easy to guess.")
	add(found.repeats, "Repeated characters or words (like aaa or abcabc) add little.")
	add(found.sequences, "Sequences (like abc or 6543) are easy to guess.")
	add(found.dates, "Dates and years are easy to guess.")
	return b.String()
}
