// Package errs is Kaigi's one error vocabulary.
//
// Every error that may reach a person carries a Code, which says what kind of
// failure it is, and a Message that is safe to show: it names what was wrong
// with the request in words a user understands and never contains content,
// secrets or internal details. The wrapped Err holds those details for the
// server's logs only.
//
// Exactly one place (the HTTP layer's error writer) maps codes to statuses.
package errs

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an error.
type Code string

// The codes. Each maps to one HTTP status in the HTTP layer.
const (
	Invalid         Code = "invalid"            // the request is malformed or breaks a rule (400)
	Unauthenticated Code = "unauthenticated"    // no or bad credentials (401)
	Forbidden       Code = "forbidden"          // authenticated but not allowed (403)
	NotFound        Code = "not_found"          // no such thing, or not visible to the caller (404)
	Conflict        Code = "conflict"           // the state does not allow it (409)
	TooLarge        Code = "too_large"          // the request body or a field is too big (413)
	Unsupported     Code = "unsupported"        // wrong content type (415)
	NotAllowed      Code = "method_not_allowed" // the path exists, the method does not (405)
	RateLimited     Code = "rate_limited"       // too many attempts (429)
	Unavailable     Code = "unavailable"        // a dependency is down (503)
	Internal        Code = "internal"           // a bug or an unexpected failure (500)

	// ModerationWarning: the message may break the organisation's
	// communication policy; the sender may edit it or send it again
	// confirmed (422).
	ModerationWarning Code = "moderation_warning"
	// ModerationHeld: the message was not sent; it is held for review by
	// the organisation's compliance reviewers (422).
	ModerationHeld Code = "moderation_held"
)

// Error is an error with a code and a message that is safe to show.
type Error struct {
	Code    Code
	Message string // safe for users; never content, secrets or internals
	Err     error  // the cause, for logs only
	// RetryAfter, for RateLimited, is how long to wait before trying again.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// E returns an error with code and a safe message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with code and a safe message that wraps cause.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// MessageOf returns the safe message of the first *Error in err's chain, or a
// generic message for anything else, so that internals never leak.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "Something went wrong on our side. The problem has been logged; please try again."
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// RetryAfterOf returns the wait carried by the first *Error in err's chain.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
