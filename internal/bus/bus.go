package bus

import (
	"context"

	"github.com/kaigi/kaigi/internal/errs"
)

// Bus publishes opaque events on subjects and delivers them to matching
// subscriptions, on this node and, depending on the implementation, on the
// other nodes of the deployment. The package documentation states the
// delivery guarantees; every implementation keeps them.
//
// A Bus is safe for concurrent use by multiple goroutines.
type Bus interface {
	// Publish sends payload to every subscription whose pattern matches
	// subject. subject must be valid for [ValidateSubject] (no wildcards).
	//
	// Publish never blocks on subscribers. It copies payload before it
	// returns, so the caller may reuse the slice. A nil error means the
	// message was accepted for delivery, not that it was delivered.
	//
	// If ctx is already done, Publish returns ctx.Err() (wrapped) and
	// publishes nothing. Other errors: [ErrInvalidSubject], [ErrTooLarge] if
	// the payload exceeds the implementation's limit (1 MiB by default, as
	// NATS), [ErrClosed] once Close has begun, [ErrUnavailable] if the
	// message cannot be handed on (NATS down for longer than its reconnect
	// buffer lasts).
	Publish(ctx context.Context, subject string, payload []byte) error

	// Subscribe starts a subscription to every subject that pattern matches
	// (see [ValidatePattern] and [Match]). When it returns nil, the
	// subscription is in effect: every matching message published from then
	// on is delivered to it, until it ends.
	//
	// Errors: [ErrInvalidSubject]; an errs.Invalid error for options out of
	// range; [ErrClosed]; [ErrUnavailable] if the server cannot confirm the
	// subscription; ctx.Err() (wrapped).
	Subscribe(ctx context.Context, pattern string, opts SubscribeOptions) (Subscription, error)

	// Ping reports whether the bus can carry events now: nil if it can, an
	// error for which errors.Is(err, [ErrUnavailable]) holds if it cannot
	// (for NATS: not connected, or no answer to a round trip in time), or
	// [ErrClosed]. It returns ctx.Err() (wrapped) if ctx ends first. The
	// /readyz handler calls it.
	Ping(ctx context.Context) error

	// Close ends every subscription with [ErrClosed] and releases the bus's
	// resources (for NATS: drains, then closes the connection). Close is
	// idempotent: later calls wait for the first to finish and return nil.
	Close() error
}

// Subscription receives the messages of one Subscribe call.
//
// Its methods are safe for concurrent use.
type Subscription interface {
	// Pattern returns the pattern given to Subscribe.
	Pattern() string

	// C returns the channel on which messages arrive, in the order the
	// package documentation guarantees. The channel is closed when the
	// subscription ends (Unsubscribe, slow consumer, Close); messages that
	// were buffered before it ended can still be read, then the receive
	// reports the channel closed and Err tells why.
	C() <-chan Message

	// Err returns nil while the subscription is live and after Unsubscribe;
	// [ErrSlowConsumer] if it was dropped because its buffer was full;
	// [ErrClosed] if the bus was closed. It is set before C is closed.
	Err() error

	// Unsubscribe ends the subscription: no message is delivered after it
	// returns, and C is closed. It is idempotent and returns nil on a
	// subscription that has already ended.
	Unsubscribe() error
}

// Message is one delivered event.
type Message struct {
	// Subject is the subject the message was published on (without any
	// deployment prefix the implementation adds).
	Subject string
	// Payload is the sealed event, exactly as published. Implementations
	// may share one Payload among several subscriptions on a node, so a
	// receiver must treat it as read-only.
	Payload []byte
}

// SubscribeOptions tune one subscription. The zero value is the default.
type SubscribeOptions struct {
	// Buffer is how many messages may wait for the subscriber before it
	// counts as slow and is dropped with [ErrSlowConsumer]. Zero means
	// [DefaultBuffer]; the maximum is [MaxBuffer]; negative is invalid.
	// Memory grows with it: each waiting slot holds a Message header.
	Buffer int
}

// Limits of SubscribeOptions.Buffer.
const (
	// DefaultBuffer is the buffer used when SubscribeOptions.Buffer is zero.
	DefaultBuffer = 256
	// MaxBuffer is the largest buffer a subscription may ask for.
	MaxBuffer = 1 << 16
)

// The bus's errors. They are *errs.Error values carrying a code and a
// message safe to show; implementations wrap them with details, so test
// for them with errors.Is.
var (
	// ErrInvalidSubject means a subject or pattern breaks the grammar in the
	// package documentation.
	ErrInvalidSubject = &errs.Error{Code: errs.Invalid, Message: "invalid event subject"}

	// ErrTooLarge means a payload exceeds the bus's size limit.
	ErrTooLarge = &errs.Error{Code: errs.TooLarge, Message: "the event is too large"}

	// ErrClosed means the bus has been closed.
	ErrClosed = &errs.Error{Code: errs.Unavailable, Message: "the event bus is closed"}

	// ErrSlowConsumer is what Subscription.Err returns after a subscription
	// was dropped because its buffer was full.
	ErrSlowConsumer = &errs.Error{Code: errs.Unavailable, Message: "the event subscriber fell behind and was dropped"}

	// ErrUnavailable means the bus cannot carry events now (for NATS: the
	// server cannot be reached).
	ErrUnavailable = &errs.Error{Code: errs.Unavailable, Message: "the event bus is unavailable"}
)
