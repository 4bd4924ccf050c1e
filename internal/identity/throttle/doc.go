// Package throttle protects sign-in, and any other secret a person types
// (TOTP codes, recovery codes), against guessing.
//
// # Keys
//
// Failures are counted against Keys of three classes, each with its own Rule:
//
//   - Account(tenant, identifier): one account. The identifier is normalised
//     (NFKC, lower case, trimmed) and the key is made the same way whether
//     or not the account exists, so the answers never tell an attacker
//     which accounts exist.
//   - Source(addr): one network source, the address for IPv4 and its /64
//     for IPv6 (one subscriber commonly holds a whole /64). Its limits are
//     higher, since an office or a carrier NAT shares one address, and it
//     slows password spraying: a few guesses at each of many accounts.
//   - Secret(purpose, tenant, subject): a second secret of one account,
//     with its own counter.
//
// # Rules
//
// After Rule.Free failures (3 for an account), each further failure imposes
// a delay that doubles: 1s, 2s, 4s… capped at Rule.MaxDelay. The
// Rule.LockAfter-th failure within Rule.Window (the 10th within 15 minutes
// for an account) locks the key for Rule.Lockout (15 minutes); when the
// lockout or the window ends, counting starts again. A success resets an
// account's or secret's count, never a source's. A Decision carries Allowed,
// RetryAfter and Locked, so the person can be told how long to wait, and
// Decision.Err turns it into an errs.RateLimited error with such a message.
//
// With the defaults an attacker gets about 10 guesses per account per 16
// minutes, and about 50 per source address per half hour across all
// accounts.
//
// # Use
//
//	keys := []throttle.Key{throttle.Account(tenant, email), src}
//	d, err := lim.Check(ctx, keys...)
//	if err != nil { … }
//	if !d.Allowed { return d.Err() }
//	ok := … verify the password (password.DummyVerify for unknown accounts) …
//	if !ok { d, err = lim.Fail(ctx, keys...); … }
//	else { err = lim.Succeed(ctx, keys...) }
//
// Check reserves the attempt: attempts in progress count as failures for
// concurrent ones, so firing many attempts at once gains an attacker
// nothing beyond the free ones.
//
// # Memory and nodes
//
// State lives in a Store. The default MemoryStore keeps at most
// Options.MaxKeys keys (100,000, about 30 MB), sweeps expired entries every
// minute and, when full, evicts the least valuable of a sample of entries
// (never a locked key while others remain, then the fewest failures), so a
// flood of new keys costs bounded memory and does not easily flush the
// count of an account under attack. Keys hold a digest,
// never the identifier or address.
//
// The MemoryStore is per node: each node of a cluster counts on its own, so
// limits multiply by the number of nodes a source can reach. A Store shared
// by all nodes can replace it without changing the Limiter.
//
// Time comes from a clock.Clock, so tests move it.
package throttle
