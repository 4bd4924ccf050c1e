package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters of a password hash.
//
// The defaults (DefaultParams) follow the OWASP Password Storage Cheat Sheet
// (https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html,
// section "Argon2id"): "Use Argon2id with a minimum configuration of 19 MiB
// of memory, an iteration count of 2, and 1 degree of parallelism." The sheet
// lists m=46 MiB,t=1 as an equivalent choice; Kaigi takes m=19 MiB,t=2
// because the two cost an attacker the same while 19 MiB is less than half the
// memory per concurrent sign-in, which matters on the small machines Kaigi is
// self-hosted on (memory, not CPU, is what a flood of sign-ins exhausts).
// Parallelism 1 keeps one sign-in on one core, so throughput scales with
// cores. The salt is 16 random bytes and the derived key 32 bytes.
type Params struct {
	Memory      uint32 // memory in KiB; default 19456 (19 MiB)
	Iterations  uint32 // passes over the memory; default 2
	Parallelism uint8  // lanes (threads); default 1
	SaltLength  uint32 // bytes of random salt; default 16
	KeyLength   uint32 // bytes of derived key; default 32
}

// DefaultParams returns the parameters new hashes are made with.
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

// Bounds on parameters, for new hashes and for hashes read from storage.
// Every stored hash is checked against them before any work is done, so a
// tampered or corrupt row cannot make a sign-in allocate gigabytes or spin
// for minutes (a denial of service).
const (
	minMemory      = 8          // KiB; argon2 also needs at least 8 KiB per lane
	maxMemory      = 256 * 1024 // KiB (256 MiB)
	maxIterations  = 16
	maxParallelism = 16
	// maxCost bounds memory × iterations (KiB passes): 27 times the default.
	maxCost      = 1 << 20
	minSaltLen   = 16
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 64
	maxEncodeLen = 256 // longer stored strings are refused unread
)

// validate reports whether p lies within the bounds above.
func (p Params) validate() error {
	switch {
	case p.Parallelism < 1 || p.Parallelism > maxParallelism:
		return fmt.Errorf("parallelism %d outside 1..%d", p.Parallelism, maxParallelism)
	case p.Memory < minMemory || p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxMemory:
		return fmt.Errorf("memory %d KiB outside %d..%d", p.Memory, max(minMemory, 8*uint32(p.Parallelism)), maxMemory)
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("iterations %d outside 1..%d", p.Iterations, maxIterations)
	case uint64(p.Memory)*uint64(p.Iterations) > maxCost:
		return fmt.Errorf("memory × iterations %d exceeds %d", uint64(p.Memory)*uint64(p.Iterations), maxCost)
	case p.SaltLength < minSaltLen || p.SaltLength > maxSaltLen:
		return fmt.Errorf("salt length %d outside %d..%d", p.SaltLength, minSaltLen, maxSaltLen)
	case p.KeyLength < minKeyLen || p.KeyLength > maxKeyLen:
		return fmt.Errorf("key length %d outside %d..%d", p.KeyLength, minKeyLen, maxKeyLen)
	}
	return nil
}

// slots bounds how many argon2 computations run at once. Each holds
// Params.Memory for its duration; running more than there are cores gains no
// throughput and only multiplies the memory a flood of sign-ins can pin.
// Callers beyond the limit wait their turn.
var slots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

// derive computes the argon2id key of the normalised password under p and
// salt, waiting for a free slot first.
func derive(normalised string, salt []byte, p Params) []byte {
	slots <- struct{}{}
	defer func() { <-slots }()
	pw := []byte(normalised)
	defer clear(pw)
	return argon2.IDKey(pw, salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
}

// Hash returns the PHC-format argon2id hash of pw under DefaultParams, for
// storing. See Params.Hash.
func Hash(pw string) (string, error) { return DefaultParams().Hash(pw) }

// Verify checks pw against a hash made by Hash, wanting DefaultParams. See
// Params.Verify.
func Verify(encoded, pw string) (ok, needsRehash bool, err error) {
	return DefaultParams().Verify(encoded, pw)
}

// DummyVerify spends the time of Verify against a hash with DefaultParams
// and always fails. See Params.DummyVerify.
func DummyVerify(pw string) { DefaultParams().DummyVerify(pw) }

// Hash returns the argon2id hash of pw under p with a fresh random salt, in
// the PHC string format
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in unpadded standard base64. pw is normalised to NFKC
// first. Hash does not judge strength: call Check before accepting a new
// password. It fails with a ReasonTooLong error for a password over
// MaxBytes, a ReasonInvalid error for one that is not UTF-8, and an Internal
// error if p is out of bounds.
func (p Params) Hash(pw string) (string, error) {
	if err := p.validate(); err != nil {
		return "", fmt.Errorf("password: %w: %v", ErrUnsafeParams, err)
	}
	n, err := normalize(pw)
	if err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: random source failed: %w", err)
	}
	key := derive(n, salt, p)
	return encode(p, salt, key), nil
}

// Verify reports whether pw matches encoded, a hash made by Hash. The
// derived key is compared in constant time.
//
// When ok is true, needsRehash reports that encoded was made with
// parameters other than p (older defaults, say): the caller should store a
// fresh Hash of pw while it has it. needsRehash is false when ok is false.
//
// A wrong password is ok == false with a nil error. A stored hash that is not
// a well-formed argon2id PHC string fails with ErrMalformedHash, one of
// another algorithm or version with ErrUnsupportedHash, and one whose
// parameters are out of bounds with ErrUnsafeParams, before any hashing work.
// A password over MaxBytes or not UTF-8 fails at once with a ReasonTooLong or
// ReasonInvalid error (it could never have been stored).
func (p Params) Verify(encoded, pw string) (ok, needsRehash bool, err error) {
	stored, salt, key, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	n, err := normalize(pw)
	if err != nil {
		return false, false, err
	}
	if !compare(derive(n, salt, stored), key) {
		return false, false, nil
	}
	return true, stored != p, nil
}

// DummyVerify does the work of Verify against a hash with parameters p and
// always fails. Call it when the account being signed in to does not exist,
// so that the answer takes as long as for an account that does and the
// timing does not tell an attacker which accounts exist.
func (p Params) DummyVerify(pw string) {
	if p.validate() != nil {
		p = DefaultParams()
	}
	n, err := normalize(pw)
	if err != nil {
		return // Verify returns at once for such input too.
	}
	salt := make([]byte, p.SaltLength) // fixed (zero) salt: nothing is stored
	key := make([]byte, p.KeyLength)
	compare(derive(n, salt, p), key)
}

// compare reports whether a and b are equal in constant time (for equal
// lengths; the lengths are not secret).
func compare(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

const phcID = "argon2id"

var b64 = base64.RawStdEncoding.Strict()

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s",
		phcID, argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decode parses a PHC string written by encode. It is strict: exactly the
// fields encode writes, in its order, decimal numbers without sign or
// leading zeros, canonical unpadded base64. It never panics.
func decode(s string) (p Params, salt, key []byte, err error) {
	if len(s) > maxEncodeLen {
		return Params{}, nil, nil, fmt.Errorf("password: %w: %d bytes", ErrMalformedHash, len(s))
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return Params{}, nil, nil, fmt.Errorf("password: %w: want 5 '$'-separated fields", ErrMalformedHash)
	}
	if parts[1] != phcID {
		return Params{}, nil, nil, fmt.Errorf("password: %w: algorithm %q", ErrUnsupportedHash, parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, fmt.Errorf("password: %w: version field %q", ErrUnsupportedHash, parts[2])
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return Params{}, nil, nil, fmt.Errorf("password: %w: want m, t and p", ErrMalformedHash)
	}
	var vals [3]uint32
	for i, name := range [3]string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(fields[i], name)
		if !ok {
			return Params{}, nil, nil, fmt.Errorf("password: %w: parameter %d is not %s", ErrMalformedHash, i+1, name)
		}
		if vals[i], ok = parseDecimal(v); !ok {
			return Params{}, nil, nil, fmt.Errorf("password: %w: bad number for %s", ErrMalformedHash, name)
		}
	}
	if vals[2] > maxParallelism {
		return Params{}, nil, nil, fmt.Errorf("password: %w: parallelism %d", ErrUnsafeParams, vals[2])
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return Params{}, nil, nil, fmt.Errorf("password: %w: salt: %v", ErrMalformedHash, err)
	}
	if key, err = b64.DecodeString(parts[5]); err != nil {
		return Params{}, nil, nil, fmt.Errorf("password: %w: key: %v", ErrMalformedHash, err)
	}
	p = Params{
		Memory: vals[0], Iterations: vals[1], Parallelism: uint8(vals[2]),
		SaltLength: uint32(len(salt)), KeyLength: uint32(len(key)),
	}
	if err := p.validate(); err != nil {
		return Params{}, nil, nil, fmt.Errorf("password: %w: %v", ErrUnsafeParams, err)
	}
	return p, salt, key, nil
}

// parseDecimal parses 1 to 10 ASCII digits without leading zeros into a
// uint32.
func parseDecimal(s string) (uint32, bool) {
	if len(s) == 0 || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 32)
	return uint32(v), err == nil
}
