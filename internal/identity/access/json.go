package access

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
)

// MarshalJSON writes the duration as a string such as "8h0m0s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON reads a string such as "8h" or "30m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return invalid("A duration is a string such as \"8h\" or \"30m\".")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return invalid("%q is not a duration; write it as \"8h\", \"30m\" or \"720h\" (days are not a unit).", s)
	}
	*d = Duration(v)
	return nil
}

// DecodePolicy reads a policy from JSON and validates it. Unknown fields,
// trailing data and more than MaxJSONBytes are refused. Its errors wrap
// ErrInvalid or ErrTooLarge and say what is wrong.
func DecodePolicy(b []byte) (Policy, error) {
	var p Policy
	if err := decode(b, "policy", &p); err != nil {
		return Policy{}, err
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// wireLocation is NamedLocation with ranges as strings, so that a bad range
// is reported in words rather than as netip's parse error.
type wireLocation struct {
	Name    string   `json:"name"`
	Trusted bool     `json:"trusted,omitempty"`
	Ranges  []string `json:"ranges"`
}

// DecodeNamedLocation reads a named location from JSON and validates it, as
// DecodePolicy does.
func DecodeNamedLocation(b []byte) (NamedLocation, error) {
	var w wireLocation
	if err := decode(b, "named location", &w); err != nil {
		return NamedLocation{}, err
	}
	l := NamedLocation{Name: w.Name, Trusted: w.Trusted}
	if len(w.Ranges) > MaxRanges {
		return NamedLocation{}, invalid("Named location %q may hold at most %d IP ranges, not %d.", w.Name, MaxRanges, len(w.Ranges))
	}
	if w.Ranges != nil {
		l.Ranges = make([]netip.Prefix, len(w.Ranges))
	}
	for i, s := range w.Ranges {
		r, err := netip.ParsePrefix(s)
		if err != nil {
			return NamedLocation{}, invalid("Named location %q: %q is not an IP range in CIDR notation "+
				"(for example 192.0.2.0/24, 2001:db8::/48, or 203.0.113.9/32 for one address).", w.Name, s)
		}
		l.Ranges[i] = r
	}
	if err := l.Validate(); err != nil {
		return NamedLocation{}, err
	}
	return l, nil
}

// decode reads exactly one JSON value into v, refusing unknown fields.
func decode(b []byte, what string, v any) error {
	if len(b) > MaxJSONBytes {
		return errs.Wrap(errs.TooLarge, ErrTooLarge, "A %s may be at most %d KiB of JSON.", what, MaxJSONBytes>>10)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("The %s is not valid: %s.", what, jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("The %s is not valid: unexpected data after its JSON object.", what)
	}
	return nil
}

// jsonProblem describes a decoding error in words safe to show to the admin
// who wrote the JSON.
func jsonProblem(err error) string {
	var (
		e      *errs.Error
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &e):
		m := strings.TrimSuffix(errs.MessageOf(e), ".")
		if len(m) > 1 && m[0] >= 'A' && m[0] <= 'Z' && (m[1] == ' ' || m[1] >= 'a' && m[1] <= 'z') {
			m = strings.ToLower(m[:1]) + m[1:]
		}
		return m
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("expected a JSON object, not %s", typ.Value)
		}
		return fmt.Sprintf("field %q has the wrong type (%s)", typ.Field, typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON is empty or cut short"
	}
	// Unknown fields ("json: unknown field \"x\"") and text that netip
	// cannot parse.
	return strings.TrimPrefix(err.Error(), "json: ")
}
