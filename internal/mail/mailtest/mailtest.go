// Package mailtest runs a real SMTP server (emersion/go-smtp) on a loopback
// port for tests, with STARTTLS or implicit TLS under a certificate of its
// own, optional PLAIN authentication, and a mailbox to read what arrived.
package mailtest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/mail"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Received is one email as the server got it.
type Received struct {
	From    string
	To      []string
	Raw     []byte
	Message *mail.Message // parsed headers; read the body from Body
	Body    []byte
	TLS     bool
	User    string // who authenticated, if anyone
}

// Server is a running SMTP server.
type Server struct {
	Addr string         // 127.0.0.1:port
	CA   *x509.CertPool // trusts the server's certificate
	// TLSConfig is a client configuration that trusts the server.
	TLSConfig *tls.Config

	mu     sync.Mutex
	inbox  []Received
	notify chan struct{}
}

// Options configure Start.
type Options struct {
	Implicit bool   // TLS from the first byte instead of STARTTLS
	Plain    bool   // no TLS at all
	User     string // when set, PLAIN authentication with Password is required
	Password string
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	cert, pool := selfSigned(t)
	s := &Server{CA: pool, TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, notify: make(chan struct{}, 1)}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, o: o, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = discardLog{}
	if !o.Plain {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	srv.AllowInsecureAuth = false
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.Implicit {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	s.Addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

type discardLog struct{}

func (discardLog) Printf(string, ...any) {}
func (discardLog) Println(...any)        {}

// Inbox returns what arrived so far.
func (s *Server) Inbox() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.inbox...)
}

// Wait waits until n emails arrived or ctx ends.
func (s *Server) Wait(ctx context.Context, n int) ([]Received, error) {
	for {
		if in := s.Inbox(); len(in) >= n {
			return in, nil
		}
		select {
		case <-ctx.Done():
			return s.Inbox(), ctx.Err()
		case <-s.notify:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

type session struct {
	s    *Server
	o    Options
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.o.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != ss.o.User || pass != ss.o.Password {
			return errors.New("invalid credentials")
		}
		ss.user = user
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.o.User != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	rec := Received{From: ss.from, To: ss.to, Raw: raw, TLS: isTLS, User: ss.user}
	if m, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		rec.Message = m
		rec.Body, _ = io.ReadAll(m.Body)
	}
	ss.s.mu.Lock()
	ss.s.inbox = append(ss.s.inbox, rec)
	ss.s.mu.Unlock()
	select {
	case ss.s.notify <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kaigi test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
