// Package bus carries events between Kaigi's nodes.
//
// After a transaction commits, the node that wrote it publishes a sealed
// event (already encrypted by the caller: the bus never sees plaintext
// content) on a subject such as "tenant.<id>.channel.<id>". Every node with
// a matching subscription receives it and hands it to the realtime gateway,
// which fans it out to WebSocket clients.
//
// # Implementations
//
// [Bus] is the interface; each technology lives in its own package:
//
//   - [github.com/kaigi/kaigi/internal/bus/inproc]: in-process fan-out, the
//     default for a single node (`kaigi serve` with no NATS URL).
//   - [github.com/kaigi/kaigi/internal/bus/natsbus]: core NATS, for several
//     nodes. An optional subject prefix lets several deployments share one
//     NATS system.
//
// Both pass the same conformance suite,
// [github.com/kaigi/kaigi/internal/bus/bustest], so code written against
// one behaves the same on the other.
//
// # Subjects
//
// A subject is one or more tokens joined by '.'. A token is 1 or more of
// the ASCII letters, digits, '-' and '_' (the alphabet of Kaigi's ids, see
// package ids); a subject is at most [MaxSubjectLen] bytes. Publish takes a
// subject; Subscribe takes a pattern, which may also use two wildcards:
//
//   - "*" as a whole token matches exactly one token:
//     "tenant.*.audit" matches "tenant.t1.audit", not "tenant.t1.x.audit".
//   - ">" as the last token matches one or more tokens:
//     "tenant.t1.>" matches "tenant.t1.channel.c1", not "tenant.t1".
//
// This is the NATS grammar narrowed so that every valid subject means the
// same in every implementation. [ValidateSubject] and [ValidatePattern]
// check it and [Match] applies it; anything else is rejected with an error
// for which errors.Is(err, [ErrInvalidSubject]) holds.
//
// # Delivery guarantees
//
// These hold for every implementation; callers may rely on nothing more.
//
//   - At most once. A message reaches each matching subscription once or
//     not at all. Nothing is stored or retried: a message is lost if no
//     subscription exists yet, if the subscriber is dropped as slow, if a
//     node or the NATS connection is down, or if the process stops. Callers
//     that need completeness (the realtime gateway) detect gaps with their
//     own sequence numbers and re-read from the store.
//   - Order per subject and publisher. Messages that one publisher publishes
//     one after another (Publish calls that do not overlap) on one subject
//     reach each subscription in that order. There is no order between
//     publishers, nor between subjects.
//   - Subscribe is in effect when it returns: a message published after
//     Subscribe returned, on this node or, with NATS, on any node connected
//     to the same server, is delivered. (In a NATS cluster, interest spreads
//     to the other servers a moment later.)
//   - Publish never waits for subscribers. It copies the payload, hands the
//     message on and returns; a nil error means the message was accepted,
//     not that anyone received it.
//
// # Slow subscribers
//
// Every subscription has a bounded buffer ([SubscribeOptions.Buffer]). When a
// message arrives and the buffer is full, the subscription is ended on the
// spot: it receives nothing more, its channel is closed once the messages
// already buffered have been read, and [Subscription.Err] returns
// [ErrSlowConsumer]. The publisher and the other subscriptions are never
// held up. A subscriber that is dropped knows exactly where its gap begins
// (after the last message it read) and subscribes again after catching up
// from the store.
//
// # Lifecycle
//
// Close ends every subscription with [ErrClosed] and, for NATS, drains the
// connection: messages already published are flushed to the server and
// messages already received are delivered to the buffers before the
// connection closes. After Close, Publish, Subscribe and Ping return an error
// for which errors.Is(err, [ErrClosed]) holds; Close again returns nil.
//
// # Errors
//
// The sentinel errors are [*errs.Error] values, so errs.CodeOf maps them
// (invalid subject → Invalid, closed or unreachable → Unavailable, too large
// → TooLarge) and errors.Is finds them through any wrapping.
//
// # Durable streams (not yet)
//
// Core NATS and the in-process bus keep nothing. When Kaigi needs replay
// (e.g. a node catching up after a restart without re-reading the store),
// NATS JetStream will fit as a third implementation (or an option of
// natsbus) behind the same interface, with per-tenant streams; its stronger
// guarantees (at least once, replay from a sequence) will be documented on
// that implementation, and callers that need them will ask for them
// explicitly rather than rely on them through Bus.
package bus
