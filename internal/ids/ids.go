// Package ids holds Kaigi's typed identifiers.
//
// Identifiers are strings on the wire and in the database, but each kind has
// its own type so that a user id cannot be passed where a tenant id belongs.
// New identifiers are UUIDv7: unique, unguessable in their random part, and
// ordered by creation time, which keeps database indexes compact.
package ids

import (
	"crypto/rand"
	"fmt"

	"github.com/google/uuid"
)

// TenantID names a tenant (an organisation).
type TenantID string

// UserID names an account within a tenant, or an operator account.
type UserID string

// ServiceTenant is the pseudo-tenant that holds the service's own records
// (the operator realm's audit log, for example). No customer tenant has it.
const ServiceTenant TenantID = "_service"

// New returns a new time-ordered random identifier.
func New() string {
	u, err := uuid.NewV7()
	if err != nil {
		// uuid.NewV7 fails only if the system's random source fails.
		panic(fmt.Sprintf("ids: random source failed: %v", err))
	}
	return u.String()
}

// NewTenant returns a new tenant id.
func NewTenant() TenantID { return TenantID(New()) }

// NewUser returns a new user id.
func NewUser() UserID { return UserID(New()) }

// Valid reports whether s is a plausible identifier: 1 to 64 characters of
// letters, digits, '-' and '_'. Anything taken from a request is checked with it.
func Valid(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Token returns n random bytes, for secrets such as setup links.
func Token(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("ids: random source failed: %v", err))
	}
	return b
}
