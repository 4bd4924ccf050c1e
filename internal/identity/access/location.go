package access

import (
	"net/netip"
	"slices"
	"strings"
)

// NamedLocation is a tenant-defined, named set of IP ranges, such as an
// office's egress addresses. Policies refer to it by name. A location marked
// Trusted is also matched by the pseudo-location AllTrusted.
//
// Names are the key: renaming a location is removing it and adding another,
// and ValidateSet reports policies left referring to a name that no longer
// exists.
type NamedLocation struct {
	Name    string         `json:"name"`
	Trusted bool           `json:"trusted,omitempty"`
	Ranges  []netip.Prefix `json:"ranges"` // CIDR, IPv4 and IPv6, e.g. "192.0.2.0/24", "2001:db8::/48"
}

// Contains reports whether addr is in one of the location's ranges. An
// IPv4-mapped IPv6 address (::ffff:192.0.2.1) is treated as the IPv4
// address; a zone is ignored.
func (l NamedLocation) Contains(addr netip.Addr) bool {
	return l.contains(canonical(addr))
}

func (l NamedLocation) contains(addr netip.Addr) bool {
	for _, r := range l.Ranges {
		if r.Contains(addr) {
			return true
		}
	}
	return false
}

// canonical returns addr unmapped and without zone, the form ranges are
// matched against.
func canonical(addr netip.Addr) netip.Addr { return addr.Unmap().WithZone("") }

// Validate checks the location: its name (not empty, not a pseudo-location),
// between 1 and MaxRanges ranges, each a valid prefix without bits set
// after its length, IPv4 written as IPv4, none covering a whole address
// family, and for trusted locations none shorter than MinIPv4TrustedLen or
// MinIPv6TrustedLen bits. It returns an error wrapping ErrInvalid.
func (l NamedLocation) Validate() error {
	if err := checkName("named location", l.Name); err != nil {
		return err
	}
	if strings.EqualFold(l.Name, AnyLocation) || strings.EqualFold(l.Name, AllTrusted) {
		return invalid("%q is reserved and cannot name a location.", l.Name)
	}
	if len(l.Ranges) == 0 {
		return invalid("Named location %q needs at least one IP range.", l.Name)
	}
	if len(l.Ranges) > MaxRanges {
		return invalid("Named location %q may hold at most %d IP ranges, not %d.", l.Name, MaxRanges, len(l.Ranges))
	}
	for _, r := range l.Ranges {
		if err := checkRange(l.Name, l.Trusted, r); err != nil {
			return err
		}
	}
	return nil
}

func checkRange(name string, trusted bool, r netip.Prefix) error {
	switch {
	case !r.IsValid():
		return invalid("Named location %q holds an invalid IP range.", name)
	case r.Addr().Is4In6():
		return invalid("Named location %q: write the range %s as an IPv4 range (for example 192.0.2.0/24).", name, r)
	case r != r.Masked():
		return invalid("Named location %q: the range %s has bits set after its prefix length; did you mean %s?", name, r, r.Masked())
	case r.Bits() == 0:
		return invalid("Named location %q: the range %s covers every address; use the location %q instead.", name, r, AnyLocation)
	case trusted && r.Addr().Is4() && r.Bits() < MinIPv4TrustedLen,
		trusted && r.Addr().Is6() && r.Bits() < MinIPv6TrustedLen:
		return invalid("Named location %q: the range %s is too broad to be trusted; trusted ranges must be at least /%d for IPv4 and /%d for IPv6.",
			name, r, MinIPv4TrustedLen, MinIPv6TrustedLen)
	}
	return nil
}

// ValidateSet checks a tenant's policies and named locations together: each
// one's Validate, the limits MaxPolicies, MaxLocations and MaxTotalRanges,
// unique policy ids, location names unique regardless of case, and that
// every location a policy names exists. The service calls it before saving
// any change. It returns an error wrapping ErrInvalid.
func ValidateSet(policies []Policy, locations []NamedLocation) error {
	if len(policies) > MaxPolicies {
		return invalid("An organisation may have at most %d conditional access policies.", MaxPolicies)
	}
	if len(locations) > MaxLocations {
		return invalid("An organisation may have at most %d named locations.", MaxLocations)
	}
	names := make(map[string]bool, len(locations))
	folded := make(map[string]string, len(locations))
	total := 0
	for i := range locations {
		l := &locations[i]
		if err := l.Validate(); err != nil {
			return err
		}
		if other, ok := folded[strings.ToLower(l.Name)]; ok {
			return invalid("Named locations %q and %q differ only in case; rename one.", other, l.Name)
		}
		folded[strings.ToLower(l.Name)] = l.Name
		names[l.Name] = true
		total += len(l.Ranges)
	}
	if total > MaxTotalRanges {
		return invalid("The named locations hold %d IP ranges in all; at most %d are allowed.", total, MaxTotalRanges)
	}
	seen := make(map[string]string, len(policies))
	for i := range policies {
		p := &policies[i]
		if err := p.Validate(); err != nil {
			return err
		}
		if other, ok := seen[p.ID]; ok {
			return invalid("Policies %q and %q have the same id %q.", other, p.Name, p.ID)
		}
		seen[p.ID] = p.Name
		if c := p.Conditions.Locations; c != nil {
			for _, n := range slices.Concat(c.Include, c.Exclude) {
				if n != AnyLocation && n != AllTrusted && !names[n] {
					return invalid("Policy %q refers to the named location %q, which does not exist.", p.Name, n)
				}
			}
		}
	}
	return nil
}
