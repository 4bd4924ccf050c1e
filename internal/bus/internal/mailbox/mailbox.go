// Package mailbox is the bounded, drop-when-full buffer behind every
// bus.Subscription, shared by the bus implementations so that slow
// consumers are handled the same way everywhere.
//
// A Box has one channel of fixed capacity. Deliver never blocks: if the
// channel is full, the Box ends with bus.ErrSlowConsumer and closes the
// channel, so the reader gets what was buffered and then sees the end. The
// implementation that owns the Box detaches it from its source (a map
// entry, a NATS subscription) when Deliver reports Dropped.
package mailbox

import (
	"fmt"
	"sync"

	"github.com/kaigi/kaigi/internal/bus"
	"github.com/kaigi/kaigi/internal/errs"
)

// Box is a subscription's buffer and its end state. It implements every
// method of bus.Subscription except Unsubscribe, which each implementation
// adds. It is safe for concurrent use.
type Box struct {
	pattern string
	ch      chan bus.Message

	mu    sync.Mutex
	ended bool
	err   error
}

// New returns a live Box for pattern with the buffer opts asks for. It
// returns an errs.Invalid error if the buffer is out of range.
func New(pattern string, opts bus.SubscribeOptions) (*Box, error) {
	n := opts.Buffer
	if n == 0 {
		n = bus.DefaultBuffer
	}
	if n < 0 || n > bus.MaxBuffer {
		return nil, errs.E(errs.Invalid, "subscription buffer %d is out of range: use 1 to %d, or 0 for the default (%d)",
			opts.Buffer, bus.MaxBuffer, bus.DefaultBuffer)
	}
	return &Box{pattern: pattern, ch: make(chan bus.Message, n)}, nil
}

// Result says what Deliver did.
type Result int

// The results of Deliver.
const (
	// Delivered: the message is in the buffer.
	Delivered Result = iota
	// Dropped: the buffer was full, so this call ended the Box with
	// bus.ErrSlowConsumer. The owner must detach the Box from its source.
	Dropped
	// Ended: the Box had already ended; the message was discarded.
	Ended
)

// String returns the result's name, for test failures and logs.
func (r Result) String() string {
	switch r {
	case Delivered:
		return "delivered"
	case Dropped:
		return "dropped"
	case Ended:
		return "ended"
	}
	return fmt.Sprintf("Result(%d)", int(r))
}

// Deliver puts m in the buffer without blocking.
func (b *Box) Deliver(m bus.Message) Result {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended {
		return Ended
	}
	select {
	case b.ch <- m:
		return Delivered
	default:
		b.endLocked(bus.ErrSlowConsumer)
		return Dropped
	}
}

// End ends the Box with reason (nil for Unsubscribe) and closes its
// channel. It reports whether this call ended it; later calls change
// nothing.
func (b *Box) End(reason error) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended {
		return false
	}
	b.endLocked(reason)
	return true
}

func (b *Box) endLocked(reason error) {
	b.ended = true
	b.err = reason
	close(b.ch)
}

// Pattern returns the pattern the Box was made for.
func (b *Box) Pattern() string { return b.pattern }

// C returns the channel the subscriber reads.
func (b *Box) C() <-chan bus.Message { return b.ch }

// Err returns why the Box ended, or nil while it is live or after End(nil).
func (b *Box) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// Cap returns the buffer's capacity.
func (b *Box) Cap() int { return cap(b.ch) }
