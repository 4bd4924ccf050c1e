package sfu

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
)

// Config configures an SFU. The zero value, after defaults, listens for media on
// UDP :7882 and TCP :7881 with TURN off.
type Config struct {
	// UDPAddr is the address of the one UDP port all peer connections share
	// (ICE UDP mux). Default ":7882". Ignored when UDPPortMin and UDPPortMax are
	// set and UDPAddr is empty.
	UDPAddr string
	// UDPPortMin and UDPPortMax, when both set and UDPAddr is empty, make every
	// peer connection use its own UDP port from this range instead of the mux.
	// Default 0 (use the mux).
	UDPPortMin, UDPPortMax uint16
	// TCPAddr is the address of the ICE-TCP port (passive candidates, RFC 6544),
	// the fallback for networks that block UDP. Default ":7881".
	TCPAddr string
	// DisableTCP turns the ICE-TCP port off. Default false.
	DisableTCP bool
	// PublicIPs, when set, replace the host addresses in the server's ICE
	// candidates: the addresses clients reach this server at behind a 1:1 NAT.
	// Default none (candidates carry the interface addresses).
	PublicIPs []string
	// IncludeLoopback makes the server offer loopback candidates and lets TURN
	// relay to loopback. For tests and single-machine setups. Default false.
	IncludeLoopback bool
	// TURN configures the embedded TURN server. Default nil: no TURN server.
	TURN *TURNConfig
	// Limits bound what rooms and participants may hold. Zero fields take their defaults.
	Limits Limits
	// KeyframeRequestInterval is the least time between two PLIs sent to the same
	// publisher stream. Default 500ms.
	KeyframeRequestInterval time.Duration
	// ConnectTimeout is how long a participant's peer connection may take to
	// connect after the first offer or answer is sent; one that has not
	// connected by then is removed. Default 30s.
	ConnectTimeout time.Duration
	// ActiveSpeakerInterval is how often rooms look for the active speaker. Default 500ms.
	ActiveSpeakerInterval time.Duration
	// NACKBufferPackets is how many sent packets per video stream the NACK
	// responder keeps for retransmission; a power of two. Default 256.
	NACKBufferPackets uint16
	// Logger receives the SFU's logs and pion's warnings. Default slog.Default().
	Logger *slog.Logger
	// Metrics receives counters. Default: collectors that are not registered anywhere.
	Metrics *Metrics
	// Clock is the time TURN credentials are issued and checked against. Default clock.Real.
	Clock clock.Clock
	// OnEvent receives room events (tracks published and unpublished, mutes,
	// active speaker, connection states, participants leaving). It is called from
	// one goroutine per room, in order; it should not block for long: a room
	// queues up to 1024 events and drops (and counts) events beyond that.
	// Default: events are discarded.
	OnEvent func(Event)
}

// TURNConfig configures the embedded TURN server (pion/turn).
type TURNConfig struct {
	// UDPAddr is the TURN-over-UDP listen address, e.g. ":3478". Empty disables it.
	UDPAddr string
	// TCPAddr is the TURN-over-TCP listen address, e.g. ":3478" or ":443".
	// Empty disables it.
	TCPAddr string
	// Realm is the STUN realm. Default "kaigi".
	Realm string
	// Secret is the shared secret the credentials are derived from. Required;
	// at least 32 bytes.
	Secret TURNSecret
	// CredentialTTL is how long credentials from SFU.TURNCredentials stay valid.
	// Allocations are refreshed with the same credentials, so this bounds how
	// long a relayed session lasts without fresh credentials. Default 8h.
	CredentialTTL time.Duration
	// RelayIP is the address relayed transport addresses are given out with.
	// Default: the first of Config.PublicIPs, else the TURN listen IP.
	RelayIP string
	// RelayPortMin and RelayPortMax bound the ports relays are allocated on,
	// for firewalls. Default 0: any ephemeral port.
	RelayPortMin, RelayPortMax uint16
	// AllocationsPerUser bounds concurrent allocations per TURN username.
	// Default 10.
	AllocationsPerUser int
}

// Limits bound the resources rooms and participants may use.
type Limits struct {
	// Rooms is the most open rooms. Default 1000.
	Rooms int
	// ParticipantsPerRoom is the most participants in one room. Default 100.
	ParticipantsPerRoom int
	// TracksPerParticipant is the most tracks one participant may publish
	// (microphone, camera, screen, screen audio). Default 4.
	TracksPerParticipant int
	// TracksPerRoom is the most tracks published in one room. Default 200.
	TracksPerRoom int
	// PendingSignals is how many outgoing signals may wait for delivery before
	// the participant is removed as unresponsive. Default 256.
	PendingSignals int
	// SDPBytes is the largest offer or answer accepted. Default 64 KiB.
	SDPBytes int
}

func (c *Config) setDefaults() {
	if c.UDPAddr == "" && (c.UDPPortMin == 0 || c.UDPPortMax == 0) {
		c.UDPAddr = ":7882"
	}
	if c.TCPAddr == "" && !c.DisableTCP {
		c.TCPAddr = ":7881"
	}
	l := &c.Limits
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.Rooms, 1000)
	def(&l.ParticipantsPerRoom, 100)
	def(&l.TracksPerParticipant, 4)
	def(&l.TracksPerRoom, 200)
	def(&l.PendingSignals, 256)
	def(&l.SDPBytes, 64<<10)
	if c.KeyframeRequestInterval == 0 {
		c.KeyframeRequestInterval = 500 * time.Millisecond
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 30 * time.Second
	}
	if c.ActiveSpeakerInterval == 0 {
		c.ActiveSpeakerInterval = 500 * time.Millisecond
	}
	if c.NACKBufferPackets == 0 {
		c.NACKBufferPackets = 256
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if t := c.TURN; t != nil {
		if t.Realm == "" {
			t.Realm = "kaigi"
		}
		if t.CredentialTTL == 0 {
			t.CredentialTTL = 8 * time.Hour
		}
		if t.AllocationsPerUser == 0 {
			t.AllocationsPerUser = 10
		}
	}
}

func (c *Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	if c.UDPAddr == "" && c.UDPPortMin > c.UDPPortMax {
		return bad("UDPPortMin %d > UDPPortMax %d", c.UDPPortMin, c.UDPPortMax)
	}
	for _, ip := range c.PublicIPs {
		if net.ParseIP(ip) == nil {
			return bad("PublicIPs: %q is not an IP address", ip)
		}
	}
	l := c.Limits
	if l.Rooms < 0 || l.ParticipantsPerRoom < 0 || l.TracksPerParticipant < 0 || l.TracksPerRoom < 0 ||
		l.PendingSignals < 0 || l.SDPBytes < 0 {
		return bad("Limits must not be negative")
	}
	if n := c.NACKBufferPackets; n&(n-1) != 0 {
		return bad("NACKBufferPackets %d is not a power of two", n)
	}
	if t := c.TURN; t != nil {
		if t.UDPAddr == "" && t.TCPAddr == "" {
			return bad("TURN needs UDPAddr or TCPAddr")
		}
		if len(t.Secret.b) < 32 {
			return bad("TURN.Secret must be at least 32 bytes")
		}
		if t.RelayIP != "" && net.ParseIP(t.RelayIP) == nil {
			return bad("TURN.RelayIP %q is not an IP address", t.RelayIP)
		}
		if t.RelayPortMin > t.RelayPortMax {
			return bad("TURN.RelayPortMin > RelayPortMax")
		}
	}
	return nil
}
