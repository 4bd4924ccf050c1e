// Package password stores passwords safely and decides which new passwords
// are acceptable.
//
// # Storing
//
// Hash derives an argon2id key from the password with a fresh 16-byte random
// salt and returns it in the PHC string format,
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// (salt and key in unpadded standard base64), so each stored hash carries the
// parameters it was made with. The defaults (DefaultParams) are the OWASP
// Password Storage Cheat Sheet's: 19 MiB of memory, 2 iterations, 1 lane.
//
// Verify recomputes the key with the stored parameters and compares it in
// constant time. It also reports needsRehash when the stored parameters are
// not the current ones, so that hashes are upgraded as people sign in. A
// stored string that is malformed, of another algorithm, or whose parameters
// are absurd (a tampered row asking for gigabytes of memory) is refused with
// an error before any work is done; no input makes Verify panic.
//
// DummyVerify spends the time of a Verify and always fails. Sign-in calls it
// for accounts that do not exist, so that timing does not reveal which
// accounts do (combine it with the throttle package, which treats unknown
// accounts exactly like known ones).
//
// At most GOMAXPROCS hashes are computed at once; further calls wait. Each
// computation holds Params.Memory, so this bounds the memory a flood of
// sign-ins can pin to GOMAXPROCS × 19 MiB.
//
// # Normalisation and limits
//
// Every password is normalised to Unicode NFKC before it is checked or
// hashed, so a password typed with full-width letters on a Japanese input
// method, or with a decomposed accent, is the same password as its ordinary
// form. Passwords longer than MaxBytes (1024 bytes) are refused before any
// other work. Nothing else is changed: spaces and every printable character
// count, and a password is never truncated.
//
// # Choosing a password
//
// Check applies a Policy, following NIST SP 800-63B: at least MinLength
// characters (default 12, never fewer than 8), not on the shipped list of the
// 10,000 most common passwords (ignoring case), not containing the user's own
// name, email address or organisation name, and a zxcvbn score of at least 3.
// There are no composition rules. A refusal is an *errs.Error with code
// errs.Invalid, a message in English that tells the person what to do, and a
// Reason (ReasonTooShort, ReasonCommon, ReasonWeak…) that programs and tests
// can match with errors.Is or ReasonOf.
//
// The common password list is the SecLists "10-million-password-list-top-10000"
// (MIT licence), embedded from data/; data/NOTICE names its origin.
//
// # Secrets
//
// No error or message produced here contains a password, a part of one, or a
// stored hash.
package password
