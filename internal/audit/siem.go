package audit

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/webhook"
)

// Sink kinds.
const (
	SinkWebhook = "webhook" // HTTPS POST of signed JSON batches
	SinkSyslog  = "syslog"  // RFC 5424 messages over TLS (RFC 5425)
)

// Webhook headers.
const (
	HeaderTimestamp = webhook.HeaderTimestamp // unix seconds
	HeaderSignature = webhook.HeaderSignature // "v1=" hex(HMAC-SHA256(secret, timestamp + "." + body))
)

// Limits of sinks.
const (
	MaxSinksPerTenant = 10
	sinkBatch         = 100
	maxSinkBackoff    = 5 * time.Minute
	maxCAPEM          = 64 << 10
)

// Sink is a SIEM that a tenant's records are streamed to.
type Sink struct {
	ID       string       `json:"id"`
	Tenant   ids.TenantID `json:"-"`
	Kind     string       `json:"kind" doc:"webhook or syslog."`
	Name     string       `json:"name"`
	Endpoint string       `json:"endpoint" doc:"webhook: an https:// URL; syslog: host:port of a TLS syslog receiver."`
	CAPEM    string       `json:"ca_pem,omitempty" doc:"Optional PEM certificates to trust for the endpoint instead of the system's."`
	Secret   []byte       `json:"-"` // sealed HMAC secret (webhooks)
	// Cursor is the last record delivered.
	Cursor      int64     `json:"cursor"`
	CreatedBy   string    `json:"created_by"`
	Created     time.Time `json:"created"`
	Delivered   time.Time `json:"delivered,omitzero" doc:"When a batch last arrived."`
	Failures    int       `json:"failures" doc:"Failed attempts since the last success."`
	LastError   string    `json:"last_error,omitempty"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

// NewSink is a request to add a sink.
type NewSink struct {
	Kind     string `json:"kind" doc:"webhook or syslog."`
	Name     string `json:"name" doc:"1 to 100 characters."`
	Endpoint string `json:"endpoint" doc:"webhook: an https:// URL; syslog: host:port of a TLS syslog receiver (RFC 5425)."`
	CAPEM    string `json:"ca_pem,omitempty" doc:"Optional PEM certificates to trust for the endpoint."`
}

// CreatedSink is a new sink with its webhook secret, shown only this once.
type CreatedSink struct {
	Sink
	Secret string `json:"secret,omitempty" doc:"The webhook's signing secret; shown only now."`
}

// SinkStore keeps sinks and their delivery state.
type SinkStore interface {
	AuditSinks(ctx context.Context, tenant ids.TenantID) ([]Sink, error)
	// DueAuditSinks returns sinks whose next attempt is due at now.
	DueAuditSinks(ctx context.Context, now time.Time, limit int) ([]Sink, error)
	// ClaimAuditSink takes the sink's lease for owner until until, if it is
	// free (or owner's) at now, and returns the sink as it then is.
	ClaimAuditSink(ctx context.Context, id, owner string, now, until time.Time) (Sink, bool, error)
	// AdvanceAuditSink moves the cursor from from to to, if owner still holds
	// the lease and the cursor is still from, clears failures and frees the lease.
	AdvanceAuditSink(ctx context.Context, id, owner string, from, to int64, at time.Time) (bool, error)
	// FailAuditSink records a failed attempt and frees the lease.
	FailAuditSink(ctx context.Context, id, owner string, failures int, lastErr string, next time.Time) error
}

func sinkAAD(id string) keys.AAD { return keys.AAD{Kind: "audit-sink-secret", ID: id} }

func canManageSinks(p principal.Principal) error {
	if p.Tenant == "" || !(p.Has(principal.TenantAdmin) || p.Has(principal.ComplianceOfficer)) {
		return errs.E(errs.Forbidden, "Only tenant admins and compliance officers may manage where the audit log is streamed.")
	}
	return nil
}

// Sinks lists p's tenant's sinks with their delivery status.
func (s *Service) Sinks(ctx context.Context, p principal.Principal) ([]Sink, error) {
	if err := canManageSinks(p); err != nil {
		return nil, err
	}
	out, err := s.store.AuditSinks(ctx, p.Tenant)
	if out == nil {
		out = []Sink{}
	}
	return out, err
}

// CreateSink adds a sink for p's tenant that streams records appended from
// now on. A webhook gets a signing secret, returned only here and stored
// sealed. Audited.
func (s *Service) CreateSink(ctx context.Context, p principal.Principal, n NewSink) (CreatedSink, error) {
	if err := canManageSinks(p); err != nil {
		return CreatedSink{}, err
	}
	n.Name = strings.TrimSpace(n.Name)
	if n.Name == "" || utf8.RuneCountInString(n.Name) > 100 || strings.ContainsFunc(n.Name, unicode.IsControl) {
		return CreatedSink{}, errs.E(errs.Invalid, "Give the sink a name of 1 to 100 characters.")
	}
	if err := s.checkSinkEndpoint(n.Kind, n.Endpoint); err != nil {
		return CreatedSink{}, err
	}
	if len(n.CAPEM) > maxCAPEM {
		return CreatedSink{}, errs.E(errs.Invalid, "The CA certificates may be at most 64 KiB.")
	}
	if n.CAPEM != "" {
		if _, err := certPool(n.CAPEM); err != nil {
			return CreatedSink{}, err
		}
	}
	existing, err := s.store.AuditSinks(ctx, p.Tenant)
	if err != nil {
		return CreatedSink{}, err
	}
	if len(existing) >= MaxSinksPerTenant {
		return CreatedSink{}, errs.E(errs.Conflict, "An organisation may have at most %d audit sinks; remove one first.", MaxSinksPerTenant)
	}
	now := s.clock.Now().UTC()
	sk := Sink{ID: ids.New(), Tenant: p.Tenant, Kind: n.Kind, Name: n.Name, Endpoint: n.Endpoint, CAPEM: n.CAPEM, CreatedBy: string(p.User), Created: now, NextAttempt: now}
	var out CreatedSink
	if n.Kind == SinkWebhook {
		secret := base64.RawURLEncoding.EncodeToString(ids.Token(32))
		if sk.Secret, err = s.keys.Seal(ctx, p.Tenant, sinkAAD(sk.ID), []byte(secret)); err != nil {
			return CreatedSink{}, err
		}
		out.Secret = secret
	}
	err = s.store.UpdateAudit(ctx, func(tx Tx) error {
		// The audit record of the creation is the last the sink does not carry.
		r, err := s.log.Append(ctx, tx, Entry{Actor: p, Action: "audit.sink.create", Target: "audit_sink:" + sk.ID,
			Details: map[string]string{"kind": sk.Kind}})
		if err != nil {
			return err
		}
		sk.Cursor = r.Seq
		return tx.InsertAuditSink(ctx, sk)
	})
	out.Sink = sk
	return out, err
}

// RemoveSink stops streaming to a sink of p's tenant and forgets it. Audited.
func (s *Service) RemoveSink(ctx context.Context, p principal.Principal, id string) error {
	if err := canManageSinks(p); err != nil {
		return err
	}
	return s.store.UpdateAudit(ctx, func(tx Tx) error {
		ok, err := tx.DeleteAuditSink(ctx, p.Tenant, id)
		if err != nil {
			return err
		}
		if !ok {
			return errs.E(errs.NotFound, "There is no such audit sink.")
		}
		_, err = s.log.Append(ctx, tx, Entry{Actor: p, Action: "audit.sink.remove", Target: "audit_sink:" + id})
		return err
	})
}

// checkSinkEndpoint accepts an https URL (webhooks, as webhook.Guard.CheckURL
// does, but never plain http, not even to loopback in tests: the records go
// over TLS) or a host:port (syslog over TLS), never a loopback, link-local or
// unspecified address unless loopback endpoints are allowed (tests).
func (s *Service) checkSinkEndpoint(kind, endpoint string) error {
	switch kind {
	case SinkWebhook:
		if err := s.guard.CheckURL(endpoint); err != nil {
			return err
		}
		if u, _ := url.Parse(endpoint); u.Scheme != "https" {
			return errs.E(errs.Invalid, "A webhook's endpoint must be an https:// URL without user name or fragment.")
		}
		return nil
	case SinkSyslog:
		if len(endpoint) > 900 {
			return errs.E(errs.Invalid, "The endpoint is too long.")
		}
		h, port, err := net.SplitHostPort(endpoint)
		if n, perr := strconv.Atoi(port); err != nil || h == "" || perr != nil || n < 1 || n > 65535 {
			return errs.E(errs.Invalid, "A syslog endpoint is host:port of a receiver that speaks TLS (usually port 6514).")
		}
		return s.guard.CheckHost(h)
	}
	return errs.E(errs.Invalid, "kind must be webhook or syslog.")
}

func certPool(pemText string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(pemText)) {
		return nil, errs.E(errs.Invalid, "The CA certificates are not PEM certificates.")
	}
	return pool, nil
}

func (s *Service) tlsConfig(sk Sink, serverName string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if sk.CAPEM != "" {
		pool, err := certPool(sk.CAPEM)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// DeliverAll delivers to every due sink: one batch each.
func (s *Service) DeliverAll(ctx context.Context) {
	due, err := s.store.DueAuditSinks(ctx, s.clock.Now().UTC(), 100)
	if err != nil {
		s.logger.WarnContext(ctx, "audit sinks: list", "err", err)
		return
	}
	for _, sk := range due {
		if ctx.Err() != nil {
			return
		}
		if _, err := s.Deliver(ctx, sk); err != nil {
			s.logger.WarnContext(ctx, "audit sink delivery failed", "tenant", string(sk.Tenant), "sink", sk.ID, "kind", sk.Kind, "err", err)
		}
	}
}

// Deliver sends sk the next batch of records after its cursor and advances
// the cursor when the batch arrived. It holds the sink's lease meanwhile, so
// no two nodes send the same batch. On failure the next attempt waits, doubling
// from one second up to five minutes. It returns how many records went.
func (s *Service) Deliver(ctx context.Context, due Sink) (int, error) {
	// One delivery per sink on this node, whatever the clock says of leases.
	if _, busy := s.inflight.LoadOrStore(due.ID, struct{}{}); busy {
		return 0, nil
	}
	defer s.inflight.Delete(due.ID)
	now := s.clock.Now().UTC()
	sk, ok, err := s.store.ClaimAuditSink(ctx, due.ID, s.node, now, now.Add(2*s.timeout))
	if err != nil || !ok {
		return 0, err
	}
	recs, err := s.store.AuditRecords(ctx, sk.Tenant, sk.Cursor, sinkBatch)
	if err == nil && len(recs) == 0 {
		_, err = s.store.AdvanceAuditSink(ctx, sk.ID, s.node, sk.Cursor, sk.Cursor, sk.Delivered)
		return 0, err
	}
	if err == nil {
		dctx, cancel := context.WithTimeout(ctx, s.timeout)
		switch sk.Kind {
		case SinkWebhook:
			err = s.sendWebhook(dctx, sk, recs)
		case SinkSyslog:
			err = s.sendSyslog(dctx, sk, recs)
		default:
			err = fmt.Errorf("unknown sink kind %q", sk.Kind)
		}
		cancel()
	}
	if err != nil {
		failures := sk.Failures + 1
		wait := min(time.Second<<min(failures-1, 20), maxSinkBackoff)
		msg := err.Error()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		if ferr := s.store.FailAuditSink(context.WithoutCancel(ctx), sk.ID, s.node, failures, msg, s.clock.Now().UTC().Add(wait)); ferr != nil {
			return 0, ferr
		}
		return 0, err
	}
	last := recs[len(recs)-1].Seq
	if _, err := s.store.AdvanceAuditSink(context.WithoutCancel(ctx), sk.ID, s.node, sk.Cursor, last, s.clock.Now().UTC()); err != nil {
		return 0, err
	}
	return len(recs), nil
}

// WebhookBatch is the body of a webhook delivery.
type WebhookBatch struct {
	Tenant  ids.TenantID `json:"tenant"`
	Sink    string       `json:"sink"`
	Records []Record     `json:"records"`
}

func (s *Service) sendWebhook(ctx context.Context, sk Sink, recs []Record) error {
	secret, err := s.keys.Open(ctx, sk.Tenant, sinkAAD(sk.ID), sk.Secret)
	if err != nil {
		return fmt.Errorf("open the sink's secret: %w", err)
	}
	body, err := json.Marshal(WebhookBatch{Tenant: sk.Tenant, Sink: sk.ID, Records: recs})
	if err != nil {
		return err
	}
	u, err := url.Parse(sk.Endpoint)
	if err != nil {
		return err
	}
	cfg, err := s.tlsConfig(sk, u.Hostname())
	if err != nil {
		return err
	}
	client := s.guard.Client(s.timeout, cfg)
	defer client.CloseIdleConnections()
	return webhook.Post(ctx, client, sk.Endpoint, "Kaigi-Audit/1", secret, s.clock.Now(), body)
}

func (s *Service) sendSyslog(ctx context.Context, sk Sink, recs []Record) error {
	host, _, err := net.SplitHostPort(sk.Endpoint)
	if err != nil {
		return err
	}
	cfg, err := s.tlsConfig(sk, host)
	if err != nil {
		return err
	}
	d := tls.Dialer{NetDialer: s.guard.Dialer(s.timeout), Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", sk.Endpoint)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var buf bytes.Buffer
	for _, r := range recs {
		msg := SyslogMessage(r)
		buf.WriteString(strconv.Itoa(len(msg)))
		buf.WriteByte(' ')
		buf.Write(msg)
	}
	if _, err := conn.Write(buf.Bytes()); err != nil {
		return err
	}
	// A clean close tells the receiver everything arrived.
	return conn.(*tls.Conn).CloseWrite()
}

// SyslogEnterprise is the SD-ID's private enterprise number part.
const SyslogEnterprise = "32473" // the documentation PEN (RFC 5612)

// SyslogMessage formats r as an RFC 5424 message: facility "log audit"
// (13), severity informational for successes and warning otherwise, the
// action as MSGID, the record's fields as structured data and the record as
// JSON for the message.
func SyslogMessage(r Record) []byte {
	sev := 6
	if r.Result != Success {
		sev = 4
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<%d>1 %s kaigi kaigi - %s [kaigi@%s", 13*8+sev, r.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), syslogName(r.Action, 32), SyslogEnterprise)
	for _, kv := range [][2]string{{"tenant", string(r.Tenant)}, {"seq", strconv.FormatInt(r.Seq, 10)}, {"actor_id", r.ActorID}, {"actor_kind", r.ActorKind},
		{"source", r.Source}, {"target", r.Target}, {"result", string(r.Result)}, {"hash", hex.EncodeToString(r.Hash)}} {
		fmt.Fprintf(&b, " %s=\"%s\"", kv[0], sdEscape(kv[1]))
	}
	b.WriteString("] \xef\xbb\xbf")
	js, _ := json.Marshal(r)
	b.Write(js)
	return b.Bytes()
}

// syslogName makes s a PRINTUSASCII header field of at most n characters.
func syslogName(s string, n int) string {
	out := strings.Map(func(r rune) rune {
		if r < 33 || r > 126 {
			return '_'
		}
		return r
	}, s)
	if len(out) > n {
		out = out[:n]
	}
	if out == "" {
		return "-"
	}
	return out
}

func sdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(s)
}
