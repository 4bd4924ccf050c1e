package password

import "github.com/kaigi/kaigi/internal/errs"

// Errors about a stored hash. They are Internal: a stored hash that cannot be
// read is something the operator must see in the logs, not a mistake of the
// person signing in. Test for them with errors.Is; the returned errors wrap
// them with details for the logs (never the hash or the password).
var (
	// ErrMalformedHash reports a stored hash that is not a well-formed
	// argon2id PHC string: wrong number of fields, bad numbers, bad base64,
	// or too long.
	ErrMalformedHash = errs.E(errs.Internal, "A stored password could not be read.")

	// ErrUnsupportedHash reports a stored hash of another algorithm or
	// argon2 version than argon2id v=19.
	ErrUnsupportedHash = errs.E(errs.Internal, "A stored password uses a format this version of Kaigi does not support.")

	// ErrUnsafeParams reports parameters outside the accepted bounds, in a
	// stored hash (refused before any work, so a tampered row cannot make a
	// sign-in exhaust memory or CPU) or passed to Params.Hash.
	ErrUnsafeParams = errs.E(errs.Internal, "A stored password has unacceptable hashing parameters.")
)
