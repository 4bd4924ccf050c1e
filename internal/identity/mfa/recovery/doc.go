// Package recovery generates and redeems single-use recovery codes, the way
// back in for a user who has lost their authenticator app or passkeys.
//
// # Codes
//
// Generate returns Count (10) codes, each 10 characters drawn uniformly from
// a 32-character alphabet without I, L, O and U (Crockford's base32), 50
// random bits per code, shown as XXXXX-XXXXX. Show them to the user once;
// only the Set, which holds a random per-user salt and one keyed hash per
// code, is stored. Generating codes again replaces the whole Set, which
// invalidates every earlier code.
//
// # Redeeming
//
// Verify reads a code typed by the user: case does not matter, spaces and
// dashes are ignored, full-width characters are read as their ASCII
// equivalents, and O, I and L are read as 0, 1 and 1 (they are not in the
// alphabet, so this only forgives a misreading). It hashes the input once
// and compares it with every stored hash in constant time, and returns the
// index of the matching code so the caller can mark it used. A used code is
// refused with ErrCodeUsed; one that matches nothing with ErrIncorrectCode.
//
// Marking must be a compare-and-set (mark index i of Set.ID used only if
// that Set is still the user's and the code is still unused), or two
// concurrent requests with the same code could both succeed. The identity
// service keeps the Set sealed as one value and writes it back with a
// compare-and-set on the factor's version (Consume). The Set is plain data.
//
// # Hashing
//
// Codes are hashed with HMAC-SHA-256 keyed with the per-user salt; see
// hashCode for why a fast hash is enough here.
package recovery
