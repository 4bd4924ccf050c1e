package mail_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/mail"
	"github.com/kaigi/kaigi/internal/mail/mailtest"
)

func wait(t *testing.T, s *mailtest.Server, n int) []mailtest.Received {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	in, err := s.Wait(ctx, n)
	if err != nil {
		t.Fatalf("%d emails arrived, want %d", len(in), n)
	}
	return in
}

// TestSendOverSTARTTLSAndImplicitTLS sends through a real SMTP server:
// with STARTTLS, and with implicit TLS and authentication; the email
// arrives whole, encrypted in transit, with a Japanese subject and text
// intact.
func TestSendOverSTARTTLSAndImplicitTLS(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    mailtest.Options
		mode string
	}{
		{"starttls", mailtest.Options{}, mail.StartTLS},
		{"implicit tls with auth", mailtest.Options{Implicit: true, User: "kaigi", Password: "s3cret"}, mail.Implicit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := mailtest.Start(t, tc.o)
			m := &mail.SMTP{Addr: srv.Addr, From: "kaigi@ops.example", TLS: tc.mode, TLSConfig: srv.TLSConfig, Username: tc.o.User, Password: tc.o.Password}
			err := m.Send(t.Context(), mail.Message{To: []string{"ann@acme.example", "bob@acme.example"}, Subject: "ロックボックス: a request waits",
				Text: "A request waits for your decision.\nOpen https://kaigi.example/lockbox to decide.\n"})
			if err != nil {
				t.Fatal(err)
			}
			got := wait(t, srv, 1)[0]
			if !got.TLS || got.From != "kaigi@ops.example" || strings.Join(got.To, ",") != "ann@acme.example,bob@acme.example" || got.User != tc.o.User {
				t.Fatalf("received: tls %v from %s to %v user %q", got.TLS, got.From, got.To, got.User)
			}
			dec := new(mimeDecoder)
			if subj := dec.header(got.Message.Header.Get("Subject")); subj != "ロックボックス: a request waits" {
				t.Fatalf("subject %q", subj)
			}
			if body := dec.qp(got.Body); !strings.Contains(body, "Open https://kaigi.example/lockbox to decide.") {
				t.Fatalf("body %q", body)
			}
		})
	}
}

// TestSendRefusesWhatIsUnsafe: an untrusted certificate, plain text to a
// remote host, a password without TLS, header injection and bad addresses
// are refused; a wrong password is reported.
func TestSendRefusesWhatIsUnsafe(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	msg := mail.Message{To: []string{"ann@acme.example"}, Subject: "Hello", Text: "Hi"}
	untrusted := &mail.SMTP{Addr: srv.Addr, From: "kaigi@ops.example", TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
	if err := untrusted.Send(t.Context(), msg); err == nil {
		t.Fatal("sent to a server whose certificate nobody trusts")
	}
	for name, m := range map[string]*mail.SMTP{
		"plain to a remote host": {Addr: "smtp.example.com:25", From: "kaigi@ops.example", TLS: mail.Plain},
		"password in plain":      {Addr: "127.0.0.1:25", From: "kaigi@ops.example", TLS: mail.Plain, Username: "u", Password: "p"},
		"bad from":               {Addr: srv.Addr, From: "not an address"},
		"bad mode":               {Addr: srv.Addr, From: "kaigi@ops.example", TLS: "ssl3"},
		"bad addr":               {Addr: "nowhere", From: "kaigi@ops.example"},
	} {
		if err := m.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	good := &mail.SMTP{Addr: srv.Addr, From: "kaigi@ops.example", TLSConfig: srv.TLSConfig}
	for name, bad := range map[string]mail.Message{
		"injected subject": {To: []string{"ann@acme.example"}, Subject: "Hi\r\nBcc: eve@evil.example", Text: "x"},
		"injected address": {To: []string{"ann@acme.example\r\nBcc: eve@evil.example"}, Subject: "Hi", Text: "x"},
		"no recipient":     {Subject: "Hi", Text: "x"},
	} {
		if err := good.Send(t.Context(), bad); err == nil {
			t.Errorf("%s: sent", name)
		}
	}
	auth := mailtest.Start(t, mailtest.Options{Implicit: true, User: "kaigi", Password: "right"})
	wrong := &mail.SMTP{Addr: auth.Addr, From: "kaigi@ops.example", TLS: mail.Implicit, TLSConfig: auth.TLSConfig, Username: "kaigi", Password: "wrong"}
	if err := wrong.Send(t.Context(), msg); err == nil || !strings.Contains(err.Error(), "authentication") {
		t.Fatalf("a wrong password: %v", err)
	}
	if len(srv.Inbox())+len(auth.Inbox()) != 0 {
		t.Fatal("a refused email arrived")
	}
	plain := mailtest.Start(t, mailtest.Options{Plain: true})
	local := &mail.SMTP{Addr: plain.Addr, From: "kaigi@ops.example", TLS: mail.Plain}
	if err := local.Send(t.Context(), msg); err != nil {
		t.Fatalf("plain to a loopback relay: %v", err)
	}
	wait(t, plain, 1)
}
