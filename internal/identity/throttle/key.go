package throttle

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/kaigi/kaigi/internal/ids"
)

// Class says which Rule applies to a Key.
type Class uint8

// The classes of key.
const (
	// ClassAccount keys count failures against one account, whether or not
	// it exists. A success resets them.
	ClassAccount Class = iota + 1
	// ClassSource keys count failures from one network source across all
	// accounts, against password spraying. A success does not reset them.
	ClassSource
	// ClassSecret keys count failures of a second secret of one account,
	// such as a TOTP or recovery code. A success resets them.
	ClassSecret
)

func (c Class) String() string {
	switch c {
	case ClassAccount:
		return "account"
	case ClassSource:
		return "source"
	case ClassSecret:
		return "secret"
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// Key names what failures are counted against. Make one with Account,
// Source or Secret; the zero Key is invalid and always denied.
//
// A Key holds a 128-bit SHA-256 digest of what it names, not the identifier
// or address itself: every Key has the same small size however long the
// input, so memory per tracked key is bounded, and a dump of the Limiter
// holds no email addresses. (The digest is not keyed, so it hides an
// identifier only from someone who cannot guess it.) Keys are comparable
// with == and usable as map keys.
type Key struct {
	class  Class
	digest [16]byte
}

// Class returns the class of k.
func (k Key) Class() Class { return k.class }

// IsZero reports whether k is the zero Key.
func (k Key) IsZero() bool { return k == Key{} }

// String returns the class and the digest in hex, a stable form for logs and
// for a Store's own keys. It never contains the identifier or address.
func (k Key) String() string { return k.class.String() + ":" + hex.EncodeToString(k.digest[:]) }

// newKey digests the parts under the class with unambiguous framing: each
// part is preceded by its length.
func newKey(c Class, parts ...string) Key {
	h := sha256.New()
	var n [8]byte
	h.Write([]byte{byte(c)})
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	k := Key{class: c}
	copy(k.digest[:], h.Sum(nil))
	return k
}

// Account returns the key for sign-in attempts on identifier (an email
// address or user name) in tenant. The identifier is normalised — NFKC,
// lower case, surrounding space removed — so "Jane@Example.com" and
// "jane@example.com " share one counter. Call it the same way whether or
// not the account exists, so an attacker cannot tell the difference.
func Account(tenant ids.TenantID, identifier string) Key {
	return newKey(ClassAccount, string(tenant), normalizeIdentifier(identifier))
}

// Secret returns the key for attempts at a second secret of subject (a user
// id, say) in tenant; purpose names the secret ("totp", "recovery-code") so
// that each has its own counter.
func Secret(purpose string, tenant ids.TenantID, subject string) Key {
	return newKey(ClassSecret, purpose, string(tenant), normalizeIdentifier(subject))
}

// Source returns the key for attempts from addr: the address itself for
// IPv4 (a /32), and its /64 network for IPv6, since one IPv6 subscriber
// commonly holds a whole /64 and could otherwise rotate through 2^64
// addresses. IPv4-mapped IPv6 addresses count as IPv4, and zones are
// ignored. An invalid addr yields one shared key, which is safe but strict.
func Source(addr netip.Addr) Key {
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, err := addr.Prefix(64)
		if err == nil {
			return newKey(ClassSource, p.String())
		}
	}
	return newKey(ClassSource, addr.String())
}

// ParseSource returns the Source key for a remote address as found in
// http.Request.RemoteAddr ("192.0.2.1:1234", "[2001:db8::1]:443") or a bare
// address. Take the address from a trusted proxy header only if the proxy is
// trusted: an attacker chooses X-Forwarded-For freely.
func ParseSource(remoteAddr string) (Key, error) {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return Source(ap.Addr()), nil
	}
	addr, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(remoteAddr, "["), "]"))
	if err != nil {
		return Key{}, fmt.Errorf("throttle: source address %q: %w", remoteAddr, err)
	}
	return Source(addr), nil
}

func normalizeIdentifier(s string) string {
	return strings.ToLower(strings.TrimSpace(norm.NFKC.String(s)))
}
