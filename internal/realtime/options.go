package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kaigi/kaigi/internal/bus"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Chat is what the gateway needs of the chat service; *chat.Service is one.
type Chat interface {
	// Channels lists every channel the actor can see, with its last
	// sequence number.
	Channels(ctx context.Context, p principal.Principal) ([]chat.Channel, error)
	// CanSee reports (nil) whether the actor may follow a channel.
	CanSee(ctx context.Context, p principal.Principal, channel string) error
	// Events returns up to limit opened events of a channel the actor can
	// see, with seq > after, in order.
	Events(ctx context.Context, p principal.Principal, channel string, after int64, limit int) ([]json.RawMessage, error)
	// OpenEvent opens the sealed payload of an event received on the bus.
	OpenEvent(ctx context.Context, tenant ids.TenantID, channel string, seq int64, sealed []byte) ([]byte, error)
}

// Sessions lists a person's open sessions; *identity.Service is one. The
// gateway uses it to re-check, without extending it, the session a socket
// was opened with.
type Sessions interface {
	Sessions(ctx context.Context, actor principal.Principal) ([]identity.Session, error)
}

// The services the gateway is wired to satisfy its interfaces.
var (
	_ Chat     = (*chat.Service)(nil)
	_ Sessions = (*identity.Service)(nil)
)

// Defaults of Options.
const (
	DefaultReadLimit          = 32 << 10
	DefaultMaxBadFrames       = 5
	DefaultFrameRate          = 10
	DefaultFrameBurst         = 30
	DefaultMaxConnsPerAccount = 20
	DefaultHelloTimeout       = 10 * time.Second
	DefaultHeartbeatInterval  = 25 * time.Second
	DefaultPongTimeout        = 15 * time.Second
	DefaultMaxMissedPongs     = 2
	DefaultWriteTimeout       = 10 * time.Second
	DefaultRevalidateInterval = 30 * time.Second
	DefaultSendQueue          = 512
	DefaultSendQueueBytes     = 1 << 20
	DefaultMaxBatchBytes      = 64 << 10
	DefaultBusBuffer          = 4096
	DefaultTypingInterval     = 2 * time.Second
	DefaultFlushWindow        = 0
	DefaultMaxFlushWindow     = 20 * time.Millisecond
	DefaultSlowConsumerAge    = 10 * time.Second
	DefaultPresenceInterval   = 30 * time.Second
)

// Options configure a Gateway. Chat, Sessions, Bus and Origins are
// required; every limit has a safe default used when the field is zero.
type Options struct {
	Chat     Chat
	Sessions Sessions
	// Meetings, when set, carries meeting signalling on the same sockets
	// (meeting.* frames; see Meetings).
	Meetings Meetings
	Bus      bus.Bus
	// Origins are the Origin header values a handshake may carry, scheme
	// and host exactly as a browser sends them, e.g.
	// "https://kaigi.example.com" (the deployment's public URL). A
	// handshake without an Origin, or with another one, is refused with
	// 403: browsers always send it, and this is what stops another site's
	// page from opening a socket with the person's cookie.
	Origins []string
	// Logger receives connection-level warnings (never content). Default:
	// discard.
	Logger *slog.Logger
	// Registerer receives the gateway's metrics. Default: a private
	// registry.
	Registerer prometheus.Registerer

	// ReadLimit is the largest client message, in bytes; a larger one
	// closes the connection with 1009. Default 32 KiB (a hello with the
	// cursors of about 700 channels).
	ReadLimit int64
	// MaxBadFrames is how many malformed or refused frames a connection may
	// send (each answered with an error frame) before it is closed with
	// 1008. Default 5.
	MaxBadFrames int
	// FrameRate and FrameBurst bound how fast a client may send frames
	// (a token bucket); beyond it the connection is closed with 1008.
	// Default 10 per second, bursts of 30.
	FrameRate  float64
	FrameBurst int
	// MaxConnsPerAccount is how many sockets one account may hold on one
	// node; the next handshake is refused with 429 before upgrading.
	// Default 20.
	MaxConnsPerAccount int
	// HelloTimeout is how long a new connection has to send hello before
	// it is closed with 1008. Default 10s.
	HelloTimeout time.Duration
	// HeartbeatInterval is how often the server pings; a ping unanswered
	// within PongTimeout is missed, and MaxMissedPongs missed in a row
	// (with nothing else received meanwhile) close the connection.
	// Defaults 25s, 15s and 2.
	HeartbeatInterval time.Duration
	PongTimeout       time.Duration
	MaxMissedPongs    int
	// WriteTimeout bounds one write to a client; a write that takes longer
	// closes the connection (counted as too slow, "write_timeout"). It is
	// enforced by the node's watchdog, which looks at every connection a
	// few times per min(WriteTimeout, SlowConsumerAge), not by a timer per
	// write. Default 10s.
	WriteTimeout time.Duration
	// FlushWindow is how long a frame queued to an idle connection waits
	// for others before it is written while the node's fan-out is light, so
	// that deliveries arriving close together share one WebSocket message
	// (and one write(2)). A batch of MaxBatchBytes is written at once. One
	// timer per node serves every connection. Default 0: a quiet node
	// writes at once (a frame queued while a write runs still shares the
	// next one), and pays no latency for batching it does not need.
	FlushWindow time.Duration
	// MaxFlushWindow is how long the flush window grows under heavy fan-out
	// (see flusher): from FlushWindow while fewer than 30,000 frames a
	// second reach idle connections to MaxFlushWindow at 55,000. Default
	// 20ms; negative turns the growth off.
	MaxFlushWindow time.Duration
	// SlowConsumerAge bounds how long a frame may wait for a connection
	// that is behind: when the oldest frame queued for it is older than
	// this while its writes are blocked (the client does not read fast
	// enough: at least half of the time since the watchdog's last look was
	// spent in writes to it), the connection is closed with 1008 "too
	// slow" and counted ("lagging"). A server that is merely busy does not
	// block in writes, so it does not drop healthy readers. Default 10s.
	SlowConsumerAge time.Duration
	// PresenceInterval is how often a node re-announces on the bus the
	// accounts connected to it; other nodes forget a node's accounts after
	// three intervals without news (a node that died). Default 30s.
	PresenceInterval time.Duration
	// RevalidateInterval is how often the node re-checks an account's
	// sessions and the channels it may see (plus jitter of up to a tenth),
	// once for all that account's connections on the node, besides the
	// immediate re-check a control message triggers. Default 30s.
	RevalidateInterval time.Duration
	// SendQueue and SendQueueBytes bound the live frames waiting for one
	// connection, a hard bound on its memory whatever SlowConsumerAge says;
	// when either is exceeded the connection is closed with 1008 "too slow"
	// and counted ("queue_full"), so that it never holds up the publisher
	// or other connections. Defaults 512 frames and 1 MiB.
	SendQueue      int
	SendQueueBytes int
	// MaxBatchBytes is the most bytes of frames coalesced into one
	// WebSocket message (a single frame may exceed it). Default 64 KiB.
	MaxBatchBytes int
	// BusBuffer is the buffer of each per-tenant bus subscription (see
	// bus.SubscribeOptions); a node that falls that far behind
	// resubscribes and fills the gap from the store. Default 4096.
	BusBuffer int
	// TypingInterval is the least time between two typing notices a
	// connection publishes for one channel; more are ignored. Default 2s.
	TypingInterval time.Duration
}

func (o Options) withDefaults() (Options, error) {
	if o.Chat == nil || o.Sessions == nil || o.Bus == nil {
		return o, errors.New("realtime: Chat, Sessions and Bus are required")
	}
	if len(o.Origins) == 0 {
		return o, errors.New("realtime: Origins is empty: give the public URL people open, e.g. https://kaigi.example.com")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	dur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = DefaultReadLimit
	}
	if o.FrameRate <= 0 {
		o.FrameRate = DefaultFrameRate
	}
	def(&o.MaxBadFrames, DefaultMaxBadFrames)
	def(&o.FrameBurst, DefaultFrameBurst)
	def(&o.MaxConnsPerAccount, DefaultMaxConnsPerAccount)
	def(&o.MaxMissedPongs, DefaultMaxMissedPongs)
	def(&o.SendQueue, DefaultSendQueue)
	def(&o.SendQueueBytes, DefaultSendQueueBytes)
	def(&o.MaxBatchBytes, DefaultMaxBatchBytes)
	def(&o.BusBuffer, DefaultBusBuffer)
	o.BusBuffer = min(o.BusBuffer, bus.MaxBuffer)
	dur(&o.HelloTimeout, DefaultHelloTimeout)
	dur(&o.HeartbeatInterval, DefaultHeartbeatInterval)
	dur(&o.PongTimeout, DefaultPongTimeout)
	dur(&o.WriteTimeout, DefaultWriteTimeout)
	dur(&o.RevalidateInterval, DefaultRevalidateInterval)
	dur(&o.TypingInterval, DefaultTypingInterval)
	dur(&o.SlowConsumerAge, DefaultSlowConsumerAge)
	dur(&o.PresenceInterval, DefaultPresenceInterval)
	if o.FlushWindow <= 0 {
		o.FlushWindow = DefaultFlushWindow
	}
	switch {
	case o.MaxFlushWindow == 0:
		o.MaxFlushWindow = DefaultMaxFlushWindow
	case o.MaxFlushWindow < 0:
		o.MaxFlushWindow = o.FlushWindow
	}
	o.MaxFlushWindow = max(o.MaxFlushWindow, o.FlushWindow)
	return o, nil
}
