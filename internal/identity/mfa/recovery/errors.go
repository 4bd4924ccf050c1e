package recovery

import "github.com/kaigi/kaigi/internal/errs"

// Errors that can reach a request carry an errs code and a message safe to
// show. Test for them with errors.Is. None contains the code.
var (
	// ErrMalformedCode reports input that is not ten characters of the
	// recovery-code alphabet once spaces and dashes are removed.
	ErrMalformedCode = errs.E(errs.Invalid, "A recovery code has 10 letters and digits, like ABCDE-12345. Check what you typed.")

	// ErrIncorrectCode reports a well-formed code that is not one of the
	// user's recovery codes.
	ErrIncorrectCode = errs.E(errs.Unauthenticated, "That recovery code is not correct.")

	// ErrCodeUsed reports a recovery code that was used before. Each code
	// works once.
	ErrCodeUsed = errs.E(errs.Unauthenticated, "That recovery code has already been used. Each code works only once; use another one.")
)
