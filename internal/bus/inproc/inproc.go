// Package inproc is the in-process bus.Bus: fan-out to the subscriptions of
// one process, for a single-node deployment and for tests.
//
// Publish matches the subject against every live subscription and puts the
// message in each matching subscription's buffer without blocking; a
// subscription whose buffer is full is dropped with bus.ErrSlowConsumer (see
// package bus). Delivery happens inside Publish, so when Publish returns the
// message is in every matching buffer. Inproc starts no goroutines.
//
// Publish costs one pattern match per live subscription, which suits the
// few node-level subscriptions (for example one per tenant with live
// clients) that the realtime gateway keeps; per-client fan-out belongs in
// the gateway, not in thousands of bus subscriptions.
package inproc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/kaigi/kaigi/internal/bus"
	"github.com/kaigi/kaigi/internal/bus/internal/mailbox"
)

// DefaultMaxPayload is the default Options.MaxPayload: 1 MiB, the default
// max_payload of a NATS server, so that events that fit on one node also fit
// when the deployment grows to NATS.
const DefaultMaxPayload = 1 << 20

// Options configure a Bus. The zero value is the default.
type Options struct {
	// MaxPayload is the largest payload Publish accepts, in bytes.
	// Zero or negative means DefaultMaxPayload (1 MiB).
	MaxPayload int

	// Logger receives a warning for each subscription dropped as slow
	// (pattern and buffer size, never payloads). Nil discards.
	Logger *slog.Logger
}

// Bus is the in-process bus. Create it with New; it is safe for concurrent
// use.
type Bus struct {
	maxPayload int
	log        *slog.Logger

	mu     sync.RWMutex
	closed bool
	subs   map[*subscription]struct{}
}

var _ bus.Bus = (*Bus)(nil)

// New returns an open in-process bus.
func New(opts Options) *Bus {
	b := &Bus{
		maxPayload: opts.MaxPayload,
		log:        opts.Logger,
		subs:       make(map[*subscription]struct{}),
	}
	if b.maxPayload <= 0 {
		b.maxPayload = DefaultMaxPayload
	}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return b
}

// Publish implements bus.Bus. It delivers to every matching subscription
// before it returns, without ever waiting for one.
func (b *Bus) Publish(ctx context.Context, subject string, payload []byte) error {
	if err := bus.ValidateSubject(subject); err != nil {
		return fmt.Errorf("inproc: publish: %w", err)
	}
	if len(payload) > b.maxPayload {
		return fmt.Errorf("inproc: publish on %q: payload of %d bytes exceeds the limit of %d: %w",
			subject, len(payload), b.maxPayload, bus.ErrTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inproc: publish on %q: %w", subject, err)
	}

	var (
		msg     bus.Message
		copied  bool
		dropped []*subscription
	)
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return fmt.Errorf("inproc: publish on %q: %w", subject, bus.ErrClosed)
	}
	for s := range b.subs {
		if !bus.Match(s.Pattern(), subject) {
			continue
		}
		if !copied {
			// One copy, shared read-only by every subscription.
			msg = bus.Message{Subject: subject, Payload: bytes.Clone(payload)}
			copied = true
		}
		if s.Deliver(msg) == mailbox.Dropped {
			dropped = append(dropped, s)
		}
	}
	b.mu.RUnlock()

	for _, s := range dropped {
		b.remove(s)
		b.log.Warn("bus: dropped slow subscription", "bus", "inproc", "pattern", s.Pattern(), "buffer", s.Cap())
	}
	return nil
}

// Subscribe implements bus.Bus. The subscription is in effect when it
// returns.
func (b *Bus) Subscribe(ctx context.Context, pattern string, opts bus.SubscribeOptions) (bus.Subscription, error) {
	if err := bus.ValidatePattern(pattern); err != nil {
		return nil, fmt.Errorf("inproc: subscribe: %w", err)
	}
	box, err := mailbox.New(pattern, opts)
	if err != nil {
		return nil, fmt.Errorf("inproc: subscribe to %q: %w", pattern, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inproc: subscribe to %q: %w", pattern, err)
	}
	s := &subscription{Box: box, bus: b}

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("inproc: subscribe to %q: %w", pattern, bus.ErrClosed)
	}
	b.subs[s] = struct{}{}
	return s, nil
}

// Ping implements bus.Bus: nil unless the bus is closed or ctx is done.
func (b *Bus) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inproc: ping: %w", err)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return fmt.Errorf("inproc: ping: %w", bus.ErrClosed)
	}
	return nil
}

// Close implements bus.Bus. It ends every subscription with bus.ErrClosed;
// it never fails.
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	for s := range b.subs {
		s.End(bus.ErrClosed)
	}
	b.subs = nil
	return nil
}

func (b *Bus) remove(s *subscription) {
	b.mu.Lock()
	delete(b.subs, s) // a no-op on the nil map after Close
	b.mu.Unlock()
}

// subscription is a mailbox attached to a Bus.
type subscription struct {
	*mailbox.Box
	bus *Bus
}

var _ bus.Subscription = (*subscription)(nil)

// Unsubscribe implements bus.Subscription.
func (s *subscription) Unsubscribe() error {
	if s.End(nil) {
		s.bus.remove(s)
	}
	return nil
}
