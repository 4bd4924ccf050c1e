// Package mail sends Kaigi's few emails — lockbox requests to a tenant's
// approvers, and the like — through the deployment's SMTP server.
//
// Emails carry metadata and links, never tenant content. Sending is over
// TLS (STARTTLS or implicit TLS) with the server's certificate verified;
// plain SMTP is allowed only to a loopback address (a local relay).
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one plain-text email.
type Message struct {
	To      []string
	Subject string
	Text    string
}

// Mailer sends email.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// Discard is the Mailer of a deployment without SMTP: it logs that an email
// was not sent (without its text) and succeeds.
type Discard struct{ Log *slog.Logger }

// Send logs and drops m.
func (d Discard) Send(ctx context.Context, m Message) error {
	if d.Log != nil {
		d.Log.InfoContext(ctx, "email not sent: smtp_addr is not configured", "recipients", len(m.To))
	}
	return nil
}

// TLS modes of an SMTP server.
const (
	StartTLS = "starttls" // connect in plain text, then STARTTLS (port 587); the default
	Implicit = "tls"      // TLS from the first byte (port 465)
	Plain    = "none"     // no TLS: only to a loopback address
)

// SMTP sends through an SMTP server.
type SMTP struct {
	Addr     string // host:port
	From     string // the envelope and header sender
	Username string // optional; authentication needs TLS
	Password string
	TLS      string // StartTLS (default), Implicit or Plain
	// TLSConfig overrides the TLS settings (tests trust their own CA);
	// ServerName is filled in from Addr.
	TLSConfig *tls.Config
	Timeout   time.Duration // for one email; default 30s
	// LocalName is the name given in EHLO; default "localhost".
	LocalName string
}

// Check validates the settings, so that a bad configuration fails at start.
func (s *SMTP) Check() error {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("smtp_addr %q is not host:port", s.Addr)
	}
	if _, err := mail.ParseAddress(s.From); err != nil || strings.ContainsAny(s.From, "\r\n") {
		return fmt.Errorf("smtp_from %q is not an email address", s.From)
	}
	switch s.TLS {
	case "", StartTLS, Implicit:
	case Plain:
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("smtp_tls none sends email in plain text: it is allowed only to a loopback address, not %s", host)
		}
		if s.Username != "" {
			return errors.New("smtp_username needs TLS: a password is never sent in plain text")
		}
	default:
		return fmt.Errorf("smtp_tls is starttls, tls or none, not %q", s.TLS)
	}
	return nil
}

// Send delivers m to every recipient, or fails.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := s.Check(); err != nil {
		return err
	}
	msg, err := s.compose(m)
	if err != nil {
		return err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, _ := net.SplitHostPort(s.Addr)
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.TLSConfig != nil {
		cfg = s.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("smtp: connect to %s: %w", s.Addr, err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	var c *smtp.Client
	switch s.TLS {
	case Implicit:
		c = smtp.NewClient(tls.Client(conn, cfg))
	case Plain:
		c = smtp.NewClient(conn)
	default:
		if c, err = smtp.NewClientStartTLS(conn, cfg); err != nil {
			conn.Close()
			return fmt.Errorf("smtp: STARTTLS with %s: %w", s.Addr, err)
		}
	}
	defer c.Close()
	local := s.LocalName
	if local == "" {
		local = "localhost"
	}
	if err := c.Hello(local); err != nil {
		return fmt.Errorf("smtp: EHLO: %w", err)
	}
	if s.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.Username, s.Password)); err != nil {
			return fmt.Errorf("smtp: authentication as %s: %w", s.Username, err)
		}
	}
	if err := c.Mail(s.From, nil); err != nil {
		return fmt.Errorf("smtp: MAIL FROM: %w", err)
	}
	for _, to := range m.To {
		if err := c.Rcpt(to, nil); err != nil {
			return fmt.Errorf("smtp: RCPT TO: %w", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	return c.Quit()
}

// compose builds the message: headers that cannot be injected into, and
// the text as quoted-printable UTF-8.
func (s *SMTP) compose(m Message) ([]byte, error) {
	if len(m.To) == 0 {
		return nil, errors.New("mail: no recipients")
	}
	for _, to := range m.To {
		if a, err := mail.ParseAddress(to); err != nil || a.Address != to || strings.ContainsAny(to, "\r\n") {
			return nil, fmt.Errorf("mail: %q is not an email address", to)
		}
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, errors.New("mail: the subject is one line")
	}
	id := make([]byte, 16)
	rand.Read(id)
	_, domain, _ := strings.Cut(s.From, "@")
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", s.From)
	header("To", strings.Join(m.To, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Date", time.Now().UTC().Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id)+"@"+strings.TrimSuffix(domain, ">")+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(m.Text, "\n", "\r\n")))
	qp.Close()
	return b.Bytes(), nil
}
