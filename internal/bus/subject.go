package bus

import (
	"fmt"
	"strings"
)

// MaxSubjectLen is the longest subject or pattern, in bytes.
const MaxSubjectLen = 256

// ValidateSubject checks that s is a subject one may publish on: tokens of
// ASCII letters, digits, '-' and '_' joined by '.', at most MaxSubjectLen
// bytes, no wildcards. The error wraps ErrInvalidSubject and says what is
// wrong.
func ValidateSubject(s string) error {
	return validate(s, false)
}

// ValidatePattern checks that p is a pattern one may subscribe to: a
// subject in which any token may be "*" (exactly one token) and the last
// token may be ">" (one or more tokens). The error wraps ErrInvalidSubject
// and says what is wrong.
func ValidatePattern(p string) error {
	return validate(p, true)
}

func validate(s string, pattern bool) error {
	kind := "subject"
	if pattern {
		kind = "pattern"
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s %q: %s: %w", kind, s, fmt.Sprintf(format, args...), ErrInvalidSubject)
	}
	if s == "" {
		return fmt.Errorf("%s is empty: %w", kind, ErrInvalidSubject)
	}
	if len(s) > MaxSubjectLen {
		// Do not quote a subject that long in full.
		return fmt.Errorf("%s %.32q…: %d bytes, more than the limit of %d: %w", kind, s, len(s), MaxSubjectLen, ErrInvalidSubject)
	}
	rest := s
	for n := 1; ; n++ {
		tok, after, more := strings.Cut(rest, ".")
		switch {
		case tok == "":
			return bad("token %d is empty", n)
		case tok == "*" || tok == ">":
			if !pattern {
				return bad("wildcard %q in token %d: wildcards are for Subscribe, not Publish", tok, n)
			}
			if tok == ">" && more {
				return bad("%q must be the last token (token %d)", tok, n)
			}
		default:
			for i := 0; i < len(tok); i++ {
				if !tokenByte(tok[i]) {
					return bad("token %d has %q: tokens use only ASCII letters, digits, '-' and '_'", n, tok[i:i+1])
				}
			}
		}
		if !more {
			return nil
		}
		rest = after
	}
}

func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// Match reports whether subject matches pattern. It does not validate
// either; give it a pattern that passed ValidatePattern and a subject that
// passed ValidateSubject.
func Match(pattern, subject string) bool {
	for {
		ptok, prest, pmore := strings.Cut(pattern, ".")
		if ptok == ">" && !pmore {
			return subject != "" // one or more tokens remain
		}
		stok, srest, smore := strings.Cut(subject, ".")
		if ptok != "*" && ptok != stok {
			return false
		}
		if !pmore || !smore {
			return pmore == smore
		}
		pattern, subject = prest, srest
	}
}
