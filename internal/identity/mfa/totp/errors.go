package totp

import "github.com/kaigi/kaigi/internal/errs"

// Errors that can reach a request carry an errs code and a message safe to
// show. Test for them with errors.Is. None contains the code or the secret.
var (
	// ErrMalformedCode reports input that is not six digits once spaces and
	// dashes are removed and full-width digits are read as ASCII.
	ErrMalformedCode = errs.E(errs.Invalid, "Enter the 6-digit code from your authenticator app, using the digits 0 to 9.")

	// ErrIncorrectCode reports a well-formed code that matches none of the
	// current, previous or next time steps.
	ErrIncorrectCode = errs.E(errs.Unauthenticated, "That code is not correct. Check that the clock of your device is right and enter the code your app shows now.")

	// ErrCodeUsed reports a code whose time step is not later than the last
	// accepted one: the code (or a later one) was accepted before. Replays
	// are refused even inside the skew window.
	ErrCodeUsed = errs.E(errs.Unauthenticated, "That code has already been used. Wait for your app to show a new code and enter that one.")

	// ErrInvalidAccount reports an account label Enrol cannot put in an
	// otpauth:// URL.
	ErrInvalidAccount = errs.E(errs.Invalid, "The account name for the authenticator app must be 1 to 256 characters, without colons or control characters.")
)
