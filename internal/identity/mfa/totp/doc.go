// Package totp enrols and verifies time-based one-time passwords (RFC 6238)
// from authenticator apps.
//
// # Parameters
//
// Every secret is 20 random bytes (160 bits, as RFC 4226 recommends) and
// every code has 6 digits from HMAC-SHA-1 over 30-second steps: the only
// parameters that every authenticator app supports. The otpauth:// URL says
// so explicitly, so apps that honour the parameters and apps that ignore
// them compute the same codes.
//
// # Enrolment
//
// Enrol draws a fresh Secret and returns an Enrolment holding the otpauth://
// URL (issuer "Kaigi", the caller's account label), the key for manual entry
// and a QR code PNG. Show them to the user once; store the secret sealed as a
// pending factor (ExportSecret gives its bytes); and activate the factor only
// when the user types a code that Verifier.Verify accepts. Store the step
// Verify returns as the last accepted step, so that the confirming code
// cannot be used again to sign in.
//
// # Verification
//
// Verifier.Verify accepts the code of the current step and of one step on
// either side (clock skew of up to 30 seconds), compares codes in constant
// time, and refuses any code whose step is not later than the last step
// accepted for that secret: a code is accepted at most once, and once a code
// has been accepted no earlier code in the window is. It returns the new last
// step. The caller must store it with a compare-and-set (update only if the
// stored step is still the one passed in), or two concurrent requests
// carrying the same code could both succeed; the identity service does this
// with a conditional update of the factor's counter.
//
// Input is normalised before it is checked: spaces (including the
// ideographic space) and dashes are ignored and full-width digits ０–９ are
// read as 0–9, as Japanese input methods produce them. Anything else that is
// not exactly six digits is refused with ErrMalformedCode (errs.Invalid).
//
// # Secrets
//
// A Secret never prints (every fmt verb and log/slog show a placeholder),
// refuses to marshal, and compares in constant time. ExportSecret and
// ImportSecret are the explicit way in and out of storage; the caller seals
// the exported bytes with the tenant's data key. An Enrolment, whose URL and
// manual key contain the secret, is redacted in the same way.
//
// # Rate limiting
//
// Three codes are valid at any moment, so each guess succeeds with
// probability 3/10⁶. The caller must limit verification attempts per account.
package totp
