package access

import (
	"github.com/kaigi/kaigi/internal/errs"
)

// Errors of this package. The returned errors wrap them (test with
// errors.Is) and carry a message that says exactly what is wrong.
var (
	// ErrInvalid reports a policy or named location that breaks a rule: an
	// unknown role, a bad range, an empty name, controls that make no sense
	// together, too many entries. The returned error's message names the
	// policy or location and the field, and is safe to show to the admin who
	// wrote it.
	ErrInvalid = errs.E(errs.Invalid, "The conditional access policy or named location is not valid.")

	// ErrTooLarge reports JSON longer than MaxJSONBytes given to
	// DecodePolicy or DecodeNamedLocation.
	ErrTooLarge = errs.E(errs.TooLarge, "The conditional access policy or named location is too large.")

	// ErrBadInput reports an Input that cannot be evaluated (an unknown
	// principal kind or client kind, a missing address or id). It is a bug of
	// the caller, so its code is Internal and its safe message says nothing
	// more; the details are in the wrapping error, for the logs. Evaluate
	// fails closed on it: the Decision blocks.
	ErrBadInput = errs.E(errs.Internal, "Access could not be checked against the organisation's policies.")

	// ErrLockout is returned by LockoutCheck when the policies would keep
	// the given admin from signing in as they are now. Its code is Conflict;
	// the service asks the admin to confirm before saving the policies.
	ErrLockout = errs.E(errs.Conflict, "These policies would lock you out.")
)

// invalid returns an ErrInvalid with a specific message.
func invalid(format string, args ...any) error {
	return errs.Wrap(errs.Invalid, ErrInvalid, format, args...)
}
