package password_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/password"
)

// janeContext is what an attacker knows about Jane: her email address, her
// name and her organisation's name.
var janeContext = []string{"jane.doe@example.com", "Jane Doe", "Globex Corporation"}

// checkReason runs p.Check and asserts the outcome: nil for want == "", or
// an *errs.Error with code Invalid, a message, and the Reason want.
func checkReason(t *testing.T, p password.Policy, pw string, context []string, want password.Reason) {
	t.Helper()
	err := p.Check(pw, context)
	if want == "" {
		if err != nil {
			t.Errorf("Check(%q) = %v, want nil", pw, err)
		}
		return
	}
	if err == nil {
		t.Fatalf("Check(%q) = nil, want reason %q", pw, want)
	}
	if got := password.ReasonOf(err); got != want {
		t.Errorf("Check(%q) reason = %q (%v), want %q", pw, got, err, want)
	}
	if !errors.Is(err, want) {
		t.Errorf("errors.Is(err, %q) = false", want)
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Invalid {
		t.Fatalf("Check(%q) = %#v, want an *errs.Error with code invalid", pw, err)
	}
	if e.Message == "" || !strings.HasSuffix(e.Message, ".") {
		t.Errorf("message %q is not a sentence", e.Message)
	}
	if len(pw) >= 4 && strings.Contains(strings.ToLower(e.Message), strings.ToLower(pw)) {
		t.Errorf("message %q repeats the password", e.Message)
	}
}

// TestCheckCommonPasswords: passwords on the shipped list are refused,
// whatever their case or width. With the default minimum of 12 most of the
// list is already too short, so the shorter ones are tried with MinLength 8.
func TestCheckCommonPasswords(t *testing.T) {
	min8 := password.Policy{MinLength: 8}
	tests := []struct {
		name   string
		policy password.Policy
		pw     string
	}{
		{"password123", min8, "password123"},
		{"qwertyuiop", min8, "qwertyuiop"},
		{"iloveyou2", min8, "iloveyou2"},
		{"upper case", min8, "PASSWORD123"},
		{"mixed case", min8, "QwertyUiop"},
		{"spaces inside", min8, "pass word 123"},
		{"surrounding spaces", min8, "  iloveyou2  "},
		{"full-width, from a Japanese input method", min8, "ｐａｓｓｗｏｒｄ１２３"},
		{"keyboard diagonal, common in Asia", min8, "1qaz2wsx"},
		{"keyboard diagonal reversed", min8, "zaq12wsx"},
		{"default policy: qwerty123456", password.Policy{}, "qwerty123456"},
		{"default policy: 1qaz2wsx3edc", password.Policy{}, "1qaz2wsx3edc"},
		{"default policy: leavemealone", password.Policy{}, "leavemealone"},
		{"default policy: qazwsxedcrfv", password.Policy{}, "qazwsxedcrfv"},
		{"default policy: full-width 123456789qwe", password.Policy{}, "１２３４５６７８９ｑｗｅ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkReason(t, tt.policy, tt.pw, nil, password.ReasonCommon)
		})
	}
}

// TestCheckCommonMessage: the message says why and what to do.
func TestCheckCommonMessage(t *testing.T) {
	err := password.Policy{MinLength: 8}.Check("password123", nil)
	if msg := errs.MessageOf(err); !strings.Contains(msg, "commonly used passwords") || !strings.Contains(msg, "Choose") {
		t.Errorf("message = %q", msg)
	}
}

func TestCheckAcceptsStrongPasswords(t *testing.T) {
	tests := []struct {
		name, pw string
	}{
		{"passphrase", "purple monkey dishwasher lamp"},
		{"hyphenated words", "Velvet-Otter-Quietly-Hums-42"},
		{"Japanese sentence", "猫と犬が公園で遊んでいる"},
		{"hiragana", "ねこといぬがこうえんであそぶ"},
		{"full-width passphrase", "ｐｕｒｐｌｅ ｍｏｎｋｅｙ ｄｉｓｈｗａｓｈｅｒ ｌａｍｐ"},
		{"exactly 12 random", "t7#Vq9!mZr2w"},
		{"at the byte limit", strings.Repeat("purple monkey dishwasher lamp ", 40)[:password.MaxBytes]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkReason(t, password.Policy{}, tt.pw, janeContext, "")
		})
	}
}

// TestCheckContextWords: a password made of what an attacker knows about
// the user (email, name, organisation) is refused.
func TestCheckContextWords(t *testing.T) {
	tests := []struct {
		name, pw string
	}{
		{"email address", "jane.doe@example.com"},
		{"email, other case", "Jane.Doe@Example.com"},
		{"email local part", "jane.doe"},
		{"first name inside", "Jane loves long walks 2024"},
		{"organisation inside", "welcome to globex, friends!"},
		{"organisation, spaces removed", "GlobexCorporation rocks!!"},
		{"name, punctuation removed", "janedoe was here in spring"},
		{"name, full-width", "ＪＡＮＥ ｌｏｖｅｓ ｌｏｎｇ ｗａｌｋｓ"},
		{"organisation name equal", "Globex Corporation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkReason(t, password.Policy{MinLength: 8}, tt.pw, janeContext, password.ReasonContext)
		})
	}
}

// TestCheckContextShortWords: words under 4 characters ("Doe", "Li") are
// only refused as the whole password, not inside a passphrase, which would
// refuse too many good ones ("doesn't").
func TestCheckContextShortWords(t *testing.T) {
	checkReason(t, password.Policy{}, "this doesn't open my violet drawer", []string{"Doe", "Li"}, "")
	checkReason(t, password.Policy{}, "the doe and the stag drink slowly", []string{"Jane Doe"}, "")
}

func TestCheckContextIgnoresEmptyAndHostileInput(t *testing.T) {
	ctx := []string{"", "   ", "\xff\xfe", strings.Repeat("x", 10*password.MaxBytes), "@", "..."}
	checkReason(t, password.Policy{}, "purple monkey dishwasher lamp", ctx, "")
}

func TestCheckLength(t *testing.T) {
	tests := []struct {
		name   string
		policy password.Policy
		pw     string
		want   password.Reason
	}{
		{"empty", password.Policy{}, "", password.ReasonTooShort},
		{"11 of 12", password.Policy{}, "t7#Vq9!mZr2", password.ReasonTooShort},
		{"12 of 12", password.Policy{}, "t7#Vq9!mZr2w", ""},
		{"counted in characters, not bytes", password.Policy{}, "猫と犬が公園", password.ReasonTooShort},
		{"counted after NFKC", password.Policy{}, "t7#Vq9!mZr\ufb01", ""}, // 11 characters, 12 after NFKC
		{"custom 16", password.Policy{MinLength: 16}, "t7#Vq9!mZr2wXk4", password.ReasonTooShort},
		{"floor of 8 applies", password.Policy{MinLength: 4}, "t7#Vq9!", password.ReasonTooShort},
		{"8 passes the floor", password.Policy{MinLength: 4}, "t7#Vq9!m", password.ReasonWeak}, // long enough, then too guessable
		{"one byte over", password.Policy{}, strings.Repeat("purple monkey dishwasher lamp ", 40)[:password.MaxBytes+1], password.ReasonTooLong},
		{"huge", password.Policy{}, strings.Repeat("x", 1<<20), password.ReasonTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkReason(t, tt.policy, tt.pw, nil, tt.want)
		})
	}
}

func TestCheckTooShortMessageNamesMinimum(t *testing.T) {
	for _, tt := range []struct {
		name   string
		policy password.Policy
		want   string
	}{
		{"default", password.Policy{}, "at least 12 characters"},
		{"floor", password.Policy{MinLength: 2}, "at least 8 characters"},
		{"custom", password.Policy{MinLength: 20}, "at least 20 characters"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if msg := errs.MessageOf(tt.policy.Check("short", nil)); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q does not say %q", msg, tt.want)
			}
		})
	}
}

func TestCheckWeak(t *testing.T) {
	tests := []struct {
		name, pw, hint string
	}{
		{"keyboard and list word", "qwertyuiopasdf", "Common words"},
		{"word and year", "mypassword2024", "Common words"},
		{"repeated character", "aaaaaaaaaaaaaaaa", "Repeated"},
		{"repeated word", "iloveyouiloveyou", "Repeated"},
		{"alphabet", "abcdefghijklmnop", "Sequences"},
		{"leet speak", "P@ssw0rd12345", "capitals or letters swapped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkReason(t, password.Policy{}, tt.pw, nil, password.ReasonWeak)
			if msg := errs.MessageOf(password.Check(tt.pw, nil)); !strings.Contains(msg, tt.hint) {
				t.Errorf("message %q lacks hint %q", msg, tt.hint)
			}
		})
	}
}

func TestCheckMinScore(t *testing.T) {
	const pw = "Summer2024Summer" // zxcvbn score 3
	checkReason(t, password.Policy{}, pw, nil, "")
	checkReason(t, password.Policy{MinScore: 4}, pw, nil, password.ReasonWeak)
	checkReason(t, password.Policy{MinScore: 9}, pw, nil, password.ReasonWeak) // capped at 4
}

func TestCheckInvalidText(t *testing.T) {
	tests := []struct {
		name, pw string
	}{
		{"not UTF-8", "purple monkey \xff dishwasher"},
		{"line break", "purple monkey\ndishwasher lamp"},
		{"tab", "purple monkey\tdishwasher lamp"},
		{"NUL", "purple monkey\x00dishwasher lamp"},
		{"DEL", "purple monkey\x7fdishwasher lamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkReason(t, password.Policy{}, tt.pw, nil, password.ReasonInvalid)
		})
	}
}

// TestReasonOf: reasons survive wrapping, and other errors have none.
func TestReasonOf(t *testing.T) {
	err := password.Check("short", nil)
	wrapped := errors.Join(errors.New("sign-up"), err)
	if got := password.ReasonOf(wrapped); got != password.ReasonTooShort {
		t.Errorf("ReasonOf(wrapped) = %q", got)
	}
	if !strings.Contains(err.Error(), "password: too_short") {
		t.Errorf("Error() = %q lacks the reason", err.Error())
	}
	if got := password.ReasonOf(errors.New("other")); got != "" {
		t.Errorf("ReasonOf(other) = %q", got)
	}
	if got := password.ReasonOf(nil); got != "" {
		t.Errorf("ReasonOf(nil) = %q", got)
	}
}

// FuzzCheck: no password or context makes Check panic, and every refusal
// is an invalid-code error with a reason.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"", "password123", "purple monkey dishwasher lamp", "\xff", "ｐａｓｓ", "jane.doe"} {
		f.Add(s, "jane.doe@example.com")
	}
	f.Fuzz(func(t *testing.T, pw, context string) {
		err := password.Check(pw, []string{context})
		if err != nil && (password.ReasonOf(err) == "" || errs.CodeOf(err) != errs.Invalid) {
			t.Fatalf("Check = %v: no reason or wrong code", err)
		}
	})
}
