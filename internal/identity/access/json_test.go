package access_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/access"
)

// TestPolicyJSON pins the stored form of policies (field names and
// encodings) in testdata/policies.json and checks that every policy survives
// a round trip through DecodePolicy.
func TestPolicyJSON(t *testing.T) {
	ps := tenantPolicies()[:7]
	b, err := json.MarshalIndent(ps, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "policies.json", append(b, '\n'))
	for _, p := range ps {
		t.Run(p.ID, func(t *testing.T) {
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := access.DecodePolicy(b)
			if err != nil {
				t.Fatalf("DecodePolicy(%s): %v", b, err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, p)
			}
		})
	}
}

func TestNamedLocationJSON(t *testing.T) {
	b, err := json.MarshalIndent(locations, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "locations.json", append(b, '\n'))
	for _, l := range locations {
		t.Run(l.Name, func(t *testing.T) {
			b, err := json.Marshal(l)
			if err != nil {
				t.Fatal(err)
			}
			got, err := access.DecodeNamedLocation(b)
			if err != nil {
				t.Fatalf("DecodeNamedLocation(%s): %v", b, err)
			}
			if !reflect.DeepEqual(got, l) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, l)
			}
		})
	}
}

func TestDecodePolicyAcceptsShortDurations(t *testing.T) {
	p, err := access.DecodePolicy([]byte(`{"id":"p1","name":"Short","state":"enabled","conditions":{},"controls":{"session_lifetime":"90m"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Controls.SessionLifetime != access.Duration(90*60e9) {
		t.Fatalf("lifetime %s", p.Controls.SessionLifetime)
	}
}

func TestDecodePolicyRefuses(t *testing.T) {
	const ok = `{"id":"p1","name":"MFA","state":"enabled","conditions":{"users":{"include_roles":["all"]}},"controls":{"require_mfa":true}}`
	if _, err := access.DecodePolicy([]byte(ok)); err != nil {
		t.Fatalf("the base case must decode: %v", err)
	}
	tests := []struct {
		name string
		json string
		want string
	}{
		{"unknown top-level field", strings.Replace(ok, `"state"`, `"priority":1,"state"`, 1), `unknown field "priority"`},
		{"unknown condition", strings.Replace(ok, `"users"`, `"devices":{},"users"`, 1), `unknown field "devices"`},
		{"unknown users field", strings.Replace(ok, `"include_roles"`, `"include_groups":[],"include_roles"`, 1), `unknown field "include_groups"`},
		{"unknown control", strings.Replace(ok, `"require_mfa"`, `"require_compliant_device":true,"require_mfa"`, 1), `unknown field "require_compliant_device"`},
		{"misspelt field", strings.Replace(ok, `"require_mfa"`, `"requireMFA"`, 1), `unknown field "requireMFA"`},
		{"trailing data", ok + `{}`, "unexpected data after"},
		{"two objects", ok + "\n" + ok, "unexpected data after"},
		{"malformed", ok[:len(ok)-1], "cut short"},
		{"syntax error", `{"id":}`, "malformed JSON"},
		{"not an object", `[]`, "expected a JSON object"},
		{"empty", ``, "empty or cut short"},
		{"wrong type", strings.Replace(ok, `"require_mfa":true`, `"require_mfa":"yes"`, 1), `field "controls.require_mfa" has the wrong type`},
		{"duration as a number", strings.Replace(ok, `"require_mfa":true`, `"session_lifetime":3600`, 1), `a duration is a string`},
		{"duration in days", strings.Replace(ok, `"require_mfa":true`, `"session_lifetime":"7d"`, 1), `"7d" is not a duration`},
		{"decodes but is invalid", strings.Replace(ok, `["all"]`, `["root"]`, 1), `unknown role "root"`},
		{"null", `null`, "policy id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := access.DecodePolicy([]byte(tt.json))
			wantInvalid(t, err, tt.want)
		})
	}
	t.Run("too large", func(t *testing.T) {
		big := strings.Replace(ok, `"MFA"`, `"`+strings.Repeat("a", access.MaxJSONBytes)+`"`, 1)
		_, err := access.DecodePolicy([]byte(big))
		if !errors.Is(err, access.ErrTooLarge) || errs.CodeOf(err) != errs.TooLarge {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
}

func TestDecodeNamedLocationRefuses(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string
	}{
		{"unknown field", `{"name":"HQ","ranges":["192.0.2.0/24"],"country":"JP"}`, `unknown field "country"`},
		{"bad CIDR", `{"name":"HQ","ranges":["192.0.2.0/33"]}`, `"192.0.2.0/33" is not an IP range in CIDR notation`},
		{"bare address", `{"name":"HQ","ranges":["192.0.2.1"]}`, `203.0.113.9/32 for one address`},
		{"not an address", `{"name":"HQ","ranges":["tokyo"]}`, `"tokyo" is not an IP range`},
		{"zone", `{"name":"HQ","ranges":["fe80::%eth0/64"]}`, `is not an IP range`},
		{"host bits", `{"name":"HQ","ranges":["192.0.2.1/24"]}`, "did you mean 192.0.2.0/24"},
		{"no ranges", `{"name":"HQ","ranges":[]}`, "at least one IP range"},
		{"no name", `{"ranges":["192.0.2.0/24"]}`, "needs a name"},
		{"trailing data", `{"name":"HQ","ranges":["192.0.2.0/24"]} x`, "unexpected data after"},
		{"ranges not a list", `{"name":"HQ","ranges":"192.0.2.0/24"}`, `field "ranges" has the wrong type`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := access.DecodeNamedLocation([]byte(tt.json))
			wantInvalid(t, err, tt.want)
		})
	}
}
