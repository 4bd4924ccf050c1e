// Package natsbus is the bus.Bus over core NATS, for deployments of more
// than one node.
//
// Every node connects to the same NATS system with Connect. A message one
// node publishes reaches the matching subscriptions of every node,
// including its own. Subjects are the bus grammar unchanged, behind an
// optional prefix (Options.SubjectPrefix) so that several Kaigi deployments
// can share one NATS system without seeing each other's events.
//
// # Delivery
//
// The guarantees are those of package bus. In NATS terms: core NATS is at
// most once; one connection's messages keep their order; the client
// reconnects for ever (unless Options.NATSOptions says otherwise) and
// re-sends its subscriptions, but messages published while a node is cut off
// are lost to it. While disconnected, Publish buffers up to the client's
// reconnect buffer (8 MiB by default) and then fails with
// bus.ErrUnavailable.
//
// # Slow subscribers
//
// Each subscription is a NATS async subscription whose handler only puts
// the message in the subscription's bounded buffer, without blocking. When
// that buffer is full the subscription is ended with bus.ErrSlowConsumer
// and unsubscribed from the server. Between the socket and that handler the
// client keeps its own per-subscription queue, bounded here to
// PendingMsgsLimit messages and PendingBytesLimit bytes; if a starved
// process lets that queue overflow, the client reports a slow consumer and
// the subscription is ended the same way. Neither ever slows the reader of
// the connection, so other subscriptions and publishers are not held up.
//
// # JetStream
//
// JetStream is not used. When durable, replayable streams are needed, they
// will come as a separate implementation (or an option here) built on the
// same connection setup, with per-tenant streams under the same prefix.
package natsbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/kaigi/kaigi/internal/bus"
	"github.com/kaigi/kaigi/internal/bus/internal/mailbox"
	"github.com/kaigi/kaigi/internal/errs"
)

// Defaults of Options.
const (
	// DefaultName is the default Options.Name.
	DefaultName = "kaigi"
	// DefaultConnectTimeout is the default Options.ConnectTimeout.
	DefaultConnectTimeout = 5 * time.Second
	// DefaultRoundTripTimeout is the default Options.RoundTripTimeout.
	DefaultRoundTripTimeout = 5 * time.Second
	// DefaultDrainTimeout is the default Options.DrainTimeout.
	DefaultDrainTimeout = 10 * time.Second
)

// Bounds of the client's own queue per subscription, in front of the
// subscription's buffer (see the package documentation).
const (
	// PendingMsgsLimit is the most messages the client queues for one
	// subscription's handler.
	PendingMsgsLimit = 65536
	// PendingBytesLimit is the most payload bytes the client queues for
	// one subscription's handler.
	PendingBytesLimit = 64 << 20
)

// Options configure Connect. The zero value is the default.
type Options struct {
	// Name is the connection name that NATS monitoring shows, for example
	// the node's host name. Default DefaultName ("kaigi").
	Name string

	// SubjectPrefix, if set, is put before every subject (prefix + "." +
	// subject) so that deployments sharing one NATS system stay apart. It
	// must be a valid bus subject, e.g. "kaigi-prod". Delivered messages
	// carry the subject without it. Default: none.
	SubjectPrefix string

	// ConnectTimeout bounds each attempt to dial a server and complete the
	// NATS handshake, in Connect and on reconnects. Connect's ctx may cut
	// Connect shorter. Default DefaultConnectTimeout (5s).
	ConnectTimeout time.Duration

	// RoundTripTimeout bounds the round trip to the server that Subscribe
	// and Ping make when their ctx has no deadline. Default
	// DefaultRoundTripTimeout (5s).
	RoundTripTimeout time.Duration

	// DrainTimeout bounds how long Close waits for in-flight messages to be
	// delivered to buffers, before it flushes publishes and closes the
	// connection. Default DefaultDrainTimeout (10s).
	DrainTimeout time.Duration

	// Logger receives connection events (disconnected, reconnected,
	// dropped slow subscriptions, asynchronous errors). URLs are logged
	// without credentials; payloads never. Nil discards.
	Logger *slog.Logger

	// NATSOptions are further nats.go options, typically credentials and
	// TLS (nats.UserCredentials, nats.RootCAs, nats.ClientCert). They are
	// applied after Kaigi's defaults (so they may change MaxReconnects or
	// ReconnectWait) but before the settings this package relies on, which
	// always win: Timeout, DrainTimeout, RetryOnFailedConnect(false), echo
	// on (a node receives its own events, as with the in-process bus) and
	// the error, disconnect and reconnect handlers.
	NATSOptions []nats.Option
}

func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.RoundTripTimeout <= 0 {
		o.RoundTripTimeout = DefaultRoundTripTimeout
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// Bus is a bus.Bus over one NATS connection. Create it with Connect; it is
// safe for concurrent use.
type Bus struct {
	nc     *nats.Conn
	url    string // without credentials, for errors and logs
	prefix string // "" or SubjectPrefix + "."
	opts   Options
	log    *slog.Logger

	closing  atomic.Bool   // set by Close, or when the connection closed by itself
	closeMu  sync.Mutex    // serialises Close
	closedCh chan struct{} // closed once the connection is closed and every subscription ended

	mu   sync.Mutex
	subs map[*nats.Subscription]*subscription
}

var _ bus.Bus = (*Bus)(nil)

// Connect connects to the NATS server(s) at url (one URL, or several
// separated by commas, as nats.go accepts; e.g. nats://127.0.0.1:4222) and
// returns an open Bus.
//
// It gives up after Options.ConnectTimeout or when ctx ends, whichever comes
// first. When no server answers, the error names the URL without
// credentials, says what to check, and wraps bus.ErrUnavailable. A bad
// SubjectPrefix or an empty url is an errs.Invalid error.
func Connect(ctx context.Context, url string, opts Options) (*Bus, error) {
	opts = opts.withDefaults()
	safeURL := redactURL(url)
	if strings.TrimSpace(url) == "" {
		return nil, errs.E(errs.Invalid, "the NATS URL is empty: give one such as nats://127.0.0.1:4222, or run a single node with the in-process bus")
	}
	prefix := ""
	if opts.SubjectPrefix != "" {
		if err := bus.ValidateSubject(opts.SubjectPrefix); err != nil {
			return nil, fmt.Errorf("natsbus: subject prefix: %w", err)
		}
		prefix = opts.SubjectPrefix + "."
	}
	if err := ctx.Err(); err != nil {
		return nil, connectErr(safeURL, err)
	}

	b := &Bus{
		url:      safeURL,
		prefix:   prefix,
		opts:     opts,
		log:      opts.Logger.With("bus", "nats"),
		closedCh: make(chan struct{}),
		subs:     make(map[*nats.Subscription]*subscription),
	}
	nopts := []nats.Option{
		nats.Name(opts.Name),
		nats.MaxReconnects(-1),
	}
	nopts = append(nopts, opts.NATSOptions...)
	nopts = append(nopts,
		nats.Timeout(opts.ConnectTimeout), // for each dial and handshake, reconnects too
		nats.DrainTimeout(opts.DrainTimeout),
		nats.RetryOnFailedConnect(false),
		func(o *nats.Options) error { o.NoEcho = false; return nil }, // a node sees its own events too
		nats.ErrorHandler(b.onAsyncError),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if !b.closing.Load() {
				b.log.Warn("bus: disconnected from NATS; reconnecting", "url", b.url, "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.log.Info("bus: reconnected to NATS", "url", nc.ConnectedUrlRedacted())
		}),
	)

	// nats.Connect takes no context: run it aside so that ctx can cut the
	// wait short. It ends by itself within ConnectTimeout per server.
	type result struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(url, nopts...)
		done <- result{nc, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		go func() {
			if r := <-done; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, connectErr(safeURL, ctx.Err())
	}
	if r.err != nil {
		return nil, connectErr(safeURL, explainConnectErr(r.err, opts.ConnectTimeout))
	}
	b.nc = r.nc

	// Learn when the connection closes, whether by Close or by itself.
	closed := b.nc.StatusChanged(nats.CLOSED)
	go b.watch(closed)
	if b.nc.IsClosed() {
		// Closed before the listener was registered: the event is lost.
		b.nc.RemoveStatusListener(closed)
	}
	return b, nil
}

// connectErr explains a failed Connect: where, why, and what to check. A
// cancelled ctx is reported as such; anything else wraps
// bus.ErrUnavailable.
func connectErr(safeURL string, cause error) error {
	if errors.Is(cause, context.Canceled) {
		return fmt.Errorf("natsbus: connect to NATS at %s: %w", safeURL, cause)
	}
	return fmt.Errorf("natsbus: cannot connect to NATS at %s (%w). "+
		"Check that nats-server is running there and reachable from this node "+
		"(host, port, firewall, TLS, credentials), "+
		"or run a single node with the in-process bus: %w",
		safeURL, cause, bus.ErrUnavailable)
}

// explainConnectErr puts nats.go's terse connect errors in words.
func explainConnectErr(err error, timeout time.Duration) error {
	var ne net.Error
	switch {
	case errors.Is(err, nats.ErrNoServers):
		return fmt.Errorf("connection refused, or no answer within %s: %w", timeout, err)
	case errors.Is(err, nats.ErrTimeout), errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("no answer within %s: %w", timeout, err)
	default:
		return err
	}
}

// watch waits for the connection to close, then ends every subscription.
func (b *Bus) watch(closed chan nats.Status) {
	<-closed // a CLOSED event, or closed by RemoveStatusListener
	b.nc.RemoveStatusListener(closed)
	if !b.closing.Swap(true) {
		b.log.Error("bus: NATS connection closed unexpectedly; the bus is closed", "url", b.url)
	}
	b.endAll(bus.ErrClosed)
	close(b.closedCh)
}

// Publish implements bus.Bus. The message is handed to the client's buffer
// and flushed to the server shortly after; Publish does not wait for it.
func (b *Bus) Publish(ctx context.Context, subject string, payload []byte) error {
	if err := bus.ValidateSubject(subject); err != nil {
		return fmt.Errorf("natsbus: publish: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("natsbus: publish on %q: %w", subject, err)
	}
	if b.closing.Load() {
		return fmt.Errorf("natsbus: publish on %q: %w", subject, bus.ErrClosed)
	}
	if err := b.nc.Publish(b.prefix+subject, payload); err != nil {
		return fmt.Errorf("natsbus: publish on %q: %w", subject, b.mapErr(err))
	}
	return nil
}

// Subscribe implements bus.Bus. It makes a round trip to the server so that
// the subscription is in effect when it returns.
func (b *Bus) Subscribe(ctx context.Context, pattern string, opts bus.SubscribeOptions) (bus.Subscription, error) {
	if err := bus.ValidatePattern(pattern); err != nil {
		return nil, fmt.Errorf("natsbus: subscribe: %w", err)
	}
	box, err := mailbox.New(pattern, opts)
	if err != nil {
		return nil, fmt.Errorf("natsbus: subscribe to %q: %w", pattern, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("natsbus: subscribe to %q: %w", pattern, err)
	}
	s := &subscription{Box: box, bus: b}

	b.mu.Lock()
	if b.closing.Load() {
		b.mu.Unlock()
		return nil, fmt.Errorf("natsbus: subscribe to %q: %w", pattern, bus.ErrClosed)
	}
	nsub, err := b.nc.Subscribe(b.prefix+pattern, s.handle)
	if err != nil {
		b.mu.Unlock()
		return nil, fmt.Errorf("natsbus: subscribe to %q: %w", pattern, b.mapErr(err))
	}
	if err := nsub.SetPendingLimits(PendingMsgsLimit, PendingBytesLimit); err != nil {
		b.mu.Unlock()
		_ = nsub.Unsubscribe()
		return nil, fmt.Errorf("natsbus: subscribe to %q: %w", pattern, b.mapErr(err))
	}
	s.nsub = nsub // under b.mu: detach reads it under b.mu
	b.subs[nsub] = s
	b.mu.Unlock()

	if err := b.roundTrip(ctx); err != nil {
		_ = s.Unsubscribe()
		return nil, fmt.Errorf("natsbus: subscribe to %q: %w", pattern, err)
	}
	return s, nil
}

// Ping implements bus.Bus: it checks that the connection is up and that the
// server answers a round trip in time.
func (b *Bus) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("natsbus: ping: %w", err)
	}
	if b.closing.Load() {
		return fmt.Errorf("natsbus: ping: %w", bus.ErrClosed)
	}
	if st := b.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("natsbus: ping: not connected to NATS at %s (connection is %s): %w", b.url, st, bus.ErrUnavailable)
	}
	if err := b.roundTrip(ctx); err != nil {
		return fmt.Errorf("natsbus: ping: %w", err)
	}
	return nil
}

// roundTrip sends a PING and waits for the PONG, so everything sent before
// has been processed by the server.
func (b *Bus) roundTrip(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.opts.RoundTripTimeout)
		defer cancel()
	}
	err := b.nc.FlushWithContext(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return fmt.Errorf("no answer from NATS at %s in time: %w: %w", b.url, bus.ErrUnavailable, err)
	default:
		return fmt.Errorf("round trip to NATS at %s: %w", b.url, b.mapErr(err))
	}
}

// Close implements bus.Bus. It drains the connection: the server stops
// sending, messages already received go to the subscriptions' buffers,
// publishes are flushed, then the connection closes and every subscription
// ends with bus.ErrClosed. It waits at most DrainTimeout plus a few seconds
// for the flush, then closes the connection regardless and says so.
func (b *Bus) Close() error {
	b.closeMu.Lock()
	defer b.closeMu.Unlock()
	if b.closing.Swap(true) {
		<-b.closedCh
		return nil
	}
	if err := b.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) &&
		!errors.Is(err, nats.ErrConnectionReconnecting) {
		b.log.Warn("bus: drain failed; closing", "url", b.url, "err", err)
		b.nc.Close()
	}
	// nats.go's drain gives the subscriptions DrainTimeout, then flushes
	// publishes for up to 5s.
	t := time.NewTimer(b.opts.DrainTimeout + 6*time.Second)
	defer t.Stop()
	select {
	case <-b.closedCh:
		return nil
	case <-t.C:
		b.nc.Close()
		<-b.closedCh
		return fmt.Errorf("natsbus: close: drain did not finish in time; closed the connection to NATS at %s anyway, in-flight messages may be lost: %w",
			b.url, bus.ErrUnavailable)
	}
}

// onAsyncError handles errors the client reports asynchronously.
func (b *Bus) onAsyncError(_ *nats.Conn, nsub *nats.Subscription, err error) {
	if nsub != nil && errors.Is(err, nats.ErrSlowConsumer) {
		b.mu.Lock()
		s := b.subs[nsub]
		b.mu.Unlock()
		if s != nil && s.End(bus.ErrSlowConsumer) {
			b.log.Warn("bus: dropped slow subscription (client queue full)", "pattern", s.Pattern(),
				"pending_msgs_limit", PendingMsgsLimit)
			s.detach()
		}
		return
	}
	if b.closing.Load() && (errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionDraining)) {
		return
	}
	b.log.Warn("bus: NATS reported an error", "url", b.url, "err", err)
}

// endAll ends every subscription with reason.
func (b *Bus) endAll(reason error) {
	b.mu.Lock()
	subs := b.subs
	b.subs = make(map[*nats.Subscription]*subscription)
	b.mu.Unlock()
	for _, s := range subs {
		s.End(reason)
	}
}

// mapErr translates a nats.go error into the bus's vocabulary, keeping the
// original in the chain.
func (b *Bus) mapErr(err error) error {
	switch {
	case b.closing.Load() && (errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionDraining)):
		return fmt.Errorf("%w: %w", bus.ErrClosed, err)
	case errors.Is(err, nats.ErrConnectionClosed):
		// Not closed by us: nats.go also fails waiting calls this way when
		// the connection drops and it starts to reconnect.
		return fmt.Errorf("connection to NATS at %s lost: %w: %w", b.url, bus.ErrUnavailable, err)
	case errors.Is(err, nats.ErrMaxPayload):
		return fmt.Errorf("the NATS server at %s limits payloads to %d bytes: %w: %w", b.url, b.nc.MaxPayload(), bus.ErrTooLarge, err)
	case errors.Is(err, nats.ErrReconnectBufExceeded):
		return fmt.Errorf("NATS at %s is unreachable and the reconnect buffer is full: %w: %w", b.url, bus.ErrUnavailable, err)
	default:
		return fmt.Errorf("NATS at %s: %w: %w", b.url, bus.ErrUnavailable, err)
	}
}

// subscription is a mailbox fed by one NATS async subscription.
type subscription struct {
	*mailbox.Box
	bus  *Bus
	nsub *nats.Subscription // set under bus.mu before any message can be handled
}

var _ bus.Subscription = (*subscription)(nil)

// handle runs on the client's delivery goroutine for this subscription;
// it never blocks.
func (s *subscription) handle(m *nats.Msg) {
	msg := bus.Message{Subject: strings.TrimPrefix(m.Subject, s.bus.prefix), Payload: m.Data}
	if s.Deliver(msg) == mailbox.Dropped {
		s.bus.log.Warn("bus: dropped slow subscription", "pattern", s.Pattern(), "buffer", s.Cap())
		s.detach()
	}
}

// Unsubscribe implements bus.Subscription.
func (s *subscription) Unsubscribe() error {
	if s.End(nil) {
		return s.detach()
	}
	return nil
}

// detach forgets the subscription and unsubscribes it from the server.
func (s *subscription) detach() error {
	b := s.bus
	b.mu.Lock()
	nsub := s.nsub
	if nsub != nil {
		delete(b.subs, nsub)
	}
	b.mu.Unlock()
	if nsub == nil {
		return nil
	}
	err := nsub.Unsubscribe()
	switch {
	case err == nil,
		errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrConnectionDraining),
		errors.Is(err, nats.ErrBadSubscription): // already gone with the connection
		return nil
	default:
		return fmt.Errorf("natsbus: unsubscribe from %q: %w", s.Pattern(), b.mapErr(err))
	}
}

// redactURL returns the NATS URL list u without any credentials
// (user:password@ or token@), for errors and logs.
func redactURL(u string) string {
	parts := strings.Split(u, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		scheme, rest, ok := strings.Cut(p, "://")
		if !ok {
			scheme, rest = "", p
		}
		// Whatever stands before the last '@' is credentials; NATS URLs
		// have no '@' elsewhere. Cutting at the last one also covers a
		// password with an unescaped '/' or '@'.
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			rest = rest[at+1:]
		}
		p = rest
		if ok {
			p = scheme + "://" + rest
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}
