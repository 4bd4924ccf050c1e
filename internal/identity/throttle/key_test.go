package throttle_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/identity/throttle"
	"github.com/kaigi/kaigi/internal/ids"
)

func TestKeysEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b throttle.Key
		same bool
	}{
		{"identifier case", throttle.Account(tenant, "Jane@Example.COM"), throttle.Account(tenant, "jane@example.com"), true},
		{"identifier spaces", throttle.Account(tenant, "  jane@example.com\t"), throttle.Account(tenant, "jane@example.com"), true},
		{"identifier full-width", throttle.Account(tenant, "ｊａｎｅ@ｅｘａｍｐｌｅ.ｃｏｍ"), throttle.Account(tenant, "jane@example.com"), true},
		{"other identifier", throttle.Account(tenant, "jane@example.org"), throttle.Account(tenant, "jane@example.com"), false},
		{"other tenant", throttle.Account("tenant-b", "jane@example.com"), throttle.Account(tenant, "jane@example.com"), false},
		{"framing", throttle.Account("ab", "c"), throttle.Account("a", "bc"), false},
		{"account vs secret", throttle.Account(tenant, "u1"), throttle.Secret("", tenant, "u1"), false},
		{"secret purposes", throttle.Secret("totp", tenant, "u1"), throttle.Secret("recovery", tenant, "u1"), false},
		{"IPv4 /32", src("192.0.2.1"), src("192.0.2.2"), false},
		{"IPv4-mapped IPv6 is IPv4", src("::ffff:192.0.2.1"), src("192.0.2.1"), true},
		{"IPv6 same /64", src("2001:db8:a:b::1"), src("2001:db8:a:b:1:2:3:4"), true},
		{"IPv6 next /64", src("2001:db8:a:b::1"), src("2001:db8:a:c::1"), false},
		{"IPv6 zone ignored", src("fe80::1%eth0"), src("fe80::2%eth1"), true},
		{"source vs account", throttle.Source(netip.MustParseAddr("192.0.2.1")), throttle.Account("", "192.0.2.1"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a == tt.b; got != tt.same {
				t.Errorf("%v == %v is %v, want %v", tt.a, tt.b, got, tt.same)
			}
		})
	}
}

// TestKeyHidesIdentifier: a Key's printed form and size do not depend on
// the identifier, which it does not contain.
func TestKeyHidesIdentifier(t *testing.T) {
	short := throttle.Account(tenant, "jane@example.com")
	long := throttle.Account(ids.TenantID(strings.Repeat("t", 1000)), strings.Repeat("jane", 10000))
	for _, k := range []throttle.Key{short, long} {
		s := k.String()
		if strings.Contains(s, "jane") || !strings.HasPrefix(s, "account:") || len(s) != len("account:")+32 {
			t.Errorf("String = %q", s)
		}
	}
	if short.Class() != throttle.ClassAccount || src("192.0.2.1").Class() != throttle.ClassSource ||
		throttle.Secret("totp", tenant, "u").Class() != throttle.ClassSecret {
		t.Error("wrong classes")
	}
	for c, want := range map[throttle.Class]string{throttle.ClassAccount: "account", throttle.ClassSource: "source", throttle.ClassSecret: "secret", 9: "class(9)"} {
		if c.String() != want {
			t.Errorf("Class(%d).String() = %q, want %q", c, c.String(), want)
		}
	}
	if !(throttle.Key{}).IsZero() || short.IsZero() {
		t.Error("IsZero wrong")
	}
}

func TestParseSource(t *testing.T) {
	tests := []struct {
		name, in string
		want     throttle.Key
		wantErr  bool
	}{
		{"IPv4 with port", "192.0.2.1:1234", src("192.0.2.1"), false},
		{"IPv4 bare", "192.0.2.1", src("192.0.2.1"), false},
		{"IPv6 with port", "[2001:db8::1]:443", src("2001:db8::1"), false},
		{"IPv6 bare", "2001:db8::1", src("2001:db8::1"), false},
		{"IPv6 in brackets", "[2001:db8::1]", src("2001:db8::1"), false},
		{"IPv6 other host, same /64", "[2001:db8::ffff]:80", src("2001:db8::1"), false},
		{"empty", "", throttle.Key{}, true},
		{"host name", "example.com:80", throttle.Key{}, true},
		{"garbage", "not an address", throttle.Key{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := throttle.ParseSource(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseSource(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseSource(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
