package totp

import (
	"bytes"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pquerna/otp"

	"github.com/kaigi/kaigi/internal/errs"
)

// Issuer names Kaigi in authenticator apps: it is the issuer of every
// otpauth:// URL and the prefix of its label.
const Issuer = "Kaigi"

// maxAccountLen bounds the account label, in bytes.
const maxAccountLen = 256

// Bounds on the QR code's size in pixels.
const (
	minQRSize = 100
	maxQRSize = 2048
)

// Enrolment is a TOTP factor being set up: a fresh secret and the ways to
// hand it to an authenticator app. Show them once; the factor is active only
// after the user has typed a code that Verifier.Verify accepts.
//
// Its URL and manual key contain the secret, so an Enrolment prints as a
// redacted placeholder under every fmt verb and in log/slog.
type Enrolment struct {
	secret  Secret
	account string
	url     string
}

// Enrol draws a new secret for account, the label the authenticator app
// shows beside "Kaigi" (an email address or user name; not secret, but
// visible on the user's phone). account must be 1 to 256 bytes of UTF-8
// without control characters or colons (the otpauth label uses the colon
// to separate issuer and account). A bad label is reported with
// ErrInvalidAccount.
func Enrol(account string) (*Enrolment, error) {
	if err := checkAccount(account); err != nil {
		return nil, err
	}
	s, err := NewSecret()
	if err != nil {
		return nil, err
	}
	return &Enrolment{secret: s, account: account, url: keyURL(s, account)}, nil
}

// Secret returns the new factor's secret, for the caller to seal and store
// as a pending factor.
func (e *Enrolment) Secret() Secret { return e.secret }

// Account returns the account label the enrolment was made for.
func (e *Enrolment) Account() string { return e.account }

// URL returns the otpauth:// key URL, for example
//
//	otpauth://totp/Kaigi:alice%40example.com?secret=…&issuer=Kaigi&algorithm=SHA1&digits=6&period=30
//
// It contains the secret: render it only as a QR code or link for the user,
// and never log or store it.
func (e *Enrolment) URL() string { return e.url }

// ManualKey returns the secret in base32, in groups of four characters, for
// users who type it into their app instead of scanning the QR code.
func (e *Enrolment) ManualKey() string {
	k := e.secret.base32()
	var b strings.Builder
	for i := 0; i < len(k); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k[i:min(i+4, len(k))])
	}
	return b.String()
}

// QRCodePNG returns the key URL as a size×size-pixel QR code in PNG. size
// must be 100 to 2048. The image contains the secret: serve it with
// Cache-Control: no-store.
func (e *Enrolment) QRCodePNG(size int) ([]byte, error) {
	if size < minQRSize || size > maxQRSize {
		return nil, errs.E(errs.Invalid, "The QR code size must be between %d and %d pixels.", minQRSize, maxQRSize)
	}
	key, err := otp.NewKeyFromURL(e.url)
	if err != nil {
		return nil, fmt.Errorf("totp: parse key url: %w", err)
	}
	img, err := key.Image(size, size)
	if err != nil {
		return nil, fmt.Errorf("totp: render qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp: encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// String returns a redacted placeholder: the enrolment holds the secret.
func (e *Enrolment) String() string { return "totp.Enrolment(redacted)" }

// GoString returns a redacted placeholder.
func (e *Enrolment) GoString() string { return e.String() }

// Format prints a redacted placeholder for every verb.
func (e *Enrolment) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, e.String()) }

// LogValue returns a redacted placeholder for log/slog.
func (e *Enrolment) LogValue() slog.Value { return slog.StringValue(e.String()) }

// MarshalText fails: an enrolment is never serialised by accident.
func (e *Enrolment) MarshalText() ([]byte, error) { return nil, errMarshal }

func checkAccount(account string) error {
	if account == "" || len(account) > maxAccountLen || !utf8.ValidString(account) {
		return ErrInvalidAccount
	}
	for _, r := range account {
		if r == ':' || unicode.IsControl(r) {
			return ErrInvalidAccount
		}
	}
	return nil
}

// keyURL builds the otpauth:// URL of the Key Uri Format that authenticator
// apps read. Label and issuer are percent-encoded byte by byte, keeping only
// RFC 3986 unreserved characters and '@', so that no app's decoder (some read
// '+' as a space, some split on '/') can misread them.
func keyURL(s Secret, account string) string {
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	b.WriteString(escape(Issuer))
	b.WriteByte(':')
	b.WriteString(escape(account))
	b.WriteString("?secret=")
	b.WriteString(s.base32())
	b.WriteString("&issuer=")
	b.WriteString(escape(Issuer))
	fmt.Fprintf(&b, "&algorithm=SHA1&digits=%d&period=%d", Digits, int(Period.Seconds()))
	return b.String()
}

func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '@' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0x0f])
	}
	return b.String()
}
