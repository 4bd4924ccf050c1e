package sfu

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// RoomID names a room; the meeting layer uses its meeting id.
type RoomID string

// ParticipantID names a participant within a room.
type ParticipantID string

// TrackID names a published track within a room. It is the msid track id
// subscribers see.
type TrackID string

// SFU is the media plane of one node: rooms of participants whose tracks are
// forwarded to each other. It is safe for concurrent use.
type SFU struct {
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	pionLog logging.LoggerFactory
	api     *webrtc.API

	udpMux  ice.UDPMux
	tcpMux  ice.TCPMux
	udpConn net.PacketConn
	tcpLis  net.Listener
	turn    *turnServer
	ownIPs  map[string]bool

	mu     sync.Mutex
	rooms  map[RoomID]*Room
	closed bool
}

// New starts an SFU: it opens the media ports and, if configured, the TURN server.
// Close releases them.
func New(cfg Config) (_ *SFU, err error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &SFU{cfg: cfg, log: cfg.Logger.With("component", "sfu"), metrics: cfg.Metrics, rooms: map[RoomID]*Room{}}
	if s.metrics == nil {
		s.metrics, _ = NewMetrics(nil)
	}
	s.pionLog = &pionLoggerFactory{log: s.log}
	defer func() {
		if err != nil {
			s.closeTransports()
		}
	}()
	if err := s.openTransports(); err != nil {
		return nil, err
	}
	s.collectOwnIPs()
	if err := s.buildAPI(); err != nil {
		return nil, err
	}
	if cfg.TURN != nil {
		if s.turn, err = startTURN(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *SFU) openTransports() error {
	if s.cfg.UDPAddr != "" {
		host, port, err := net.SplitHostPort(s.cfg.UDPAddr)
		if err != nil {
			return fmt.Errorf("%w: UDPAddr: %v", ErrInvalidConfig, err)
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			// All interfaces: one socket per local address, all on one port.
			p, err := net.LookupPort("udp", port)
			if err != nil {
				return fmt.Errorf("%w: UDPAddr port: %v", ErrInvalidConfig, err)
			}
			opts := []ice.UDPMuxFromPortOption{
				ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4),
				ice.UDPMuxFromPortWithLogger(s.pionLog.NewLogger("udpmux")),
			}
			if s.cfg.IncludeLoopback {
				opts = append(opts, ice.UDPMuxFromPortWithLoopback())
			}
			m, err := ice.NewMultiUDPMuxFromPort(p, opts...)
			if err != nil {
				return fmt.Errorf("sfu: listen udp %s: %w", s.cfg.UDPAddr, err)
			}
			s.udpMux = m
		} else {
			c, err := net.ListenPacket("udp4", s.cfg.UDPAddr)
			if err != nil {
				return fmt.Errorf("sfu: listen udp %s: %w", s.cfg.UDPAddr, err)
			}
			s.udpConn = c
			s.udpMux = webrtc.NewICEUDPMux(s.pionLog.NewLogger("udpmux"), c)
		}
	}
	if !s.cfg.DisableTCP {
		l, err := net.Listen("tcp4", s.cfg.TCPAddr)
		if err != nil {
			return fmt.Errorf("sfu: listen tcp %s: %w", s.cfg.TCPAddr, err)
		}
		s.tcpLis = l
		s.tcpMux = webrtc.NewICETCPMux(s.pionLog.NewLogger("tcpmux"), l, 8)
	}
	return nil
}

func (s *SFU) closeTransports() {
	if s.turn != nil {
		_ = s.turn.close()
	}
	if s.udpMux != nil {
		_ = s.udpMux.Close()
	}
	if s.udpConn != nil {
		_ = s.udpConn.Close()
	}
	if s.tcpMux != nil {
		_ = s.tcpMux.Close()
	}
	if s.tcpLis != nil {
		_ = s.tcpLis.Close()
	}
}

// collectOwnIPs records the addresses media reaches this server at; TURN relays
// only to these.
func (s *SFU) collectOwnIPs() {
	s.ownIPs = map[string]bool{}
	for _, ip := range s.cfg.PublicIPs {
		s.ownIPs[net.ParseIP(ip).String()] = true
	}
	if s.udpMux != nil {
		for _, a := range s.udpMux.GetListenAddresses() {
			if ua, ok := a.(*net.UDPAddr); ok && !ua.IP.IsUnspecified() {
				s.ownIPs[ua.IP.String()] = true
			}
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil && s.udpConn == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				s.ownIPs[n.IP.String()] = true
			}
		}
	}
	if s.tcpLis != nil {
		if ta, ok := s.tcpLis.Addr().(*net.TCPAddr); ok && !ta.IP.IsUnspecified() {
			s.ownIPs[ta.IP.String()] = true
		}
	}
}

func (s *SFU) isOwnIP(ip net.IP) bool {
	if ip.IsLoopback() && !s.cfg.IncludeLoopback {
		return false
	}
	return s.ownIPs[ip.String()]
}

// audioLevelURI is the RFC 6464 client-to-mixer audio level header extension.
const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// headerExtensions are the RTP header extensions the server negotiates, in
// the order that gives each the id Chromium gives it by default: pion
// numbers extensions from 1 in the order they are registered, and those
// registered for no kind (kinds nil) hold their id without ever being
// offered.
//
// The ids must agree because Chromium, offering its own microphone and
// camera after answering the server's offer (its first offer rolled back
// when the two crossed), numbers its new m-sections with its defaults
// whatever the bundle already uses, and then refuses its own offer ("a
// BUNDLE group contains a codec collision for header extension id=2"): the
// browser sent no media at all.
var headerExtensions = []struct {
	uri   string
	kinds []webrtc.RTPCodecType
}{
	{audioLevelURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio}}, // 1
	{sdp.ABSSendTimeURI, nil}, // 2, not used
	{sdp.TransportCCURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}}, // 3, see ConfigureTWCCSender
	{sdp.SDESMidURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}},     // 4
	{"http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", nil},                             // 5, not used
	{"http://www.webrtc.org/experiments/rtp-hdrext/video-content-type", nil},                        // 6, not used
	{"http://www.webrtc.org/experiments/rtp-hdrext/video-timing", nil},                              // 7, not used
	{"http://www.webrtc.org/experiments/rtp-hdrext/color-space", nil},                               // 8, not used
	{"http://www.webrtc.org/experiments/rtp-hdrext/video-layers-allocation00", nil},                 // 9, not used
	{sdp.SDESRTPStreamIDURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}},                       // 10, simulcast
	{sdp.SDESRepairRTPStreamIDURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}},                 // 11, simulcast
}

// buildAPI sets up codecs, header extensions, interceptors and ICE transport
// shared by every peer connection.
func (s *SFU) buildAPI() error {
	m := &webrtc.MediaEngine{}
	videoFB := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	codecs := []struct {
		p webrtc.RTPCodecParameters
		t webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFB}, PayloadType: 96}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", RTCPFeedback: videoFB}, PayloadType: 102}, webrtc.RTPCodecTypeVideo},
	}
	for _, c := range codecs {
		if err := m.RegisterCodec(c.p, c.t); err != nil {
			return fmt.Errorf("sfu: register codec: %w", err)
		}
	}
	for _, e := range headerExtensions {
		kinds := e.kinds
		if kinds == nil {
			kinds = []webrtc.RTPCodecType{webrtc.RTPCodecTypeUnknown} // the id is held
		}
		for _, kind := range kinds {
			if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: e.uri}, kind); err != nil {
				return fmt.Errorf("sfu: register header extension %s: %w", e.uri, err)
			}
		}
	}

	reg := &interceptor.Registry{}
	gen, err := nack.NewGeneratorInterceptor(nack.WithGeneratorLoggerFactory(s.pionLog))
	if err != nil {
		return fmt.Errorf("sfu: nack generator: %w", err)
	}
	resp, err := nack.NewResponderInterceptor(nack.ResponderSize(s.cfg.NACKBufferPackets), nack.WithResponderLoggerFactory(s.pionLog))
	if err != nil {
		return fmt.Errorf("sfu: nack responder: %w", err)
	}
	reg.Add(resp)
	reg.Add(gen)
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return fmt.Errorf("sfu: rtcp reports: %w", err)
	}
	// TWCC feedback for what publishers send, so browsers can estimate their uplink.
	if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
		return fmt.Errorf("sfu: twcc: %w", err)
	}

	se := webrtc.SettingEngine{LoggerFactory: s.pionLog}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(s.cfg.IncludeLoopback)
	nets := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if s.tcpMux != nil {
		nets = append(nets, webrtc.NetworkTypeTCP4)
		se.SetICETCPMux(s.tcpMux)
	}
	se.SetNetworkTypes(nets)
	if s.udpMux != nil {
		se.SetICEUDPMux(s.udpMux)
	} else if err := se.SetEphemeralUDPPortRange(s.cfg.UDPPortMin, s.cfg.UDPPortMax); err != nil {
		return fmt.Errorf("%w: UDP port range: %v", ErrInvalidConfig, err)
	}
	if len(s.cfg.PublicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        s.cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
		}); err != nil {
			return fmt.Errorf("%w: PublicIPs: %v", ErrInvalidConfig, err)
		}
	}
	s.api = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	return nil
}

// UDPAddr is the address of the ICE UDP mux, or nil when a port range is used.
func (s *SFU) UDPAddr() net.Addr {
	if s.udpConn != nil {
		return s.udpConn.LocalAddr()
	}
	if s.udpMux != nil {
		if a := s.udpMux.GetListenAddresses(); len(a) > 0 {
			return a[0]
		}
	}
	return nil
}

// TCPAddr is the address of the ICE-TCP port, or nil when it is disabled.
func (s *SFU) TCPAddr() net.Addr {
	if s.tcpLis == nil {
		return nil
	}
	return s.tcpLis.Addr()
}

// TURNAddrs are the TURN server's UDP and TCP addresses (nil when off).
func (s *SFU) TURNAddrs() (udp, tcp net.Addr) {
	if s.turn == nil {
		return nil, nil
	}
	return s.turn.udpAddr, s.turn.tcpAddr
}

// Metrics returns the SFU's counters.
func (s *SFU) Metrics() *Metrics { return s.metrics }

// Room returns the room with that id, opening it if needed.
func (s *SFU) Room(id RoomID) (*Room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if r, ok := s.rooms[id]; ok {
		return r, nil
	}
	if len(s.rooms) >= s.cfg.Limits.Rooms {
		return nil, ErrTooManyRooms
	}
	r := newRoom(s, id)
	s.rooms[id] = r
	s.metrics.Rooms.Inc()
	return r, nil
}

// LookupRoom returns an open room without opening one.
func (s *SFU) LookupRoom(id RoomID) (*Room, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rooms[id]
	return r, ok
}

func (s *SFU) forgetRoom(r *Room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms[r.id] == r {
		delete(s.rooms, r.id)
		s.metrics.Rooms.Dec()
	}
}

// Close closes every room, the media ports and the TURN server. It waits for
// the goroutines of rooms and participants to end.
func (s *SFU) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	for _, r := range rooms {
		r.Close()
	}
	s.closeTransports()
	return nil
}

// pionLoggerFactory routes pion's logs to slog: pion's errors become warnings,
// its warnings info, the rest debug. It checks the level before formatting.
type pionLoggerFactory struct{ log *slog.Logger }

func (f *pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return &pionLogger{log: f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l *pionLogger) logf(level slog.Level, format string, args ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
}

func (l *pionLogger) Trace(msg string)                  { l.logf(slog.LevelDebug-4, "%s", msg) }
func (l *pionLogger) Tracef(format string, args ...any) { l.logf(slog.LevelDebug-4, format, args...) }
func (l *pionLogger) Debug(msg string)                  { l.logf(slog.LevelDebug, "%s", msg) }
func (l *pionLogger) Debugf(format string, args ...any) { l.logf(slog.LevelDebug, format, args...) }
func (l *pionLogger) Info(msg string)                   { l.logf(slog.LevelDebug, "%s", msg) }
func (l *pionLogger) Infof(format string, args ...any)  { l.logf(slog.LevelDebug, format, args...) }
func (l *pionLogger) Warn(msg string)                   { l.logf(slog.LevelInfo, "%s", msg) }
func (l *pionLogger) Warnf(format string, args ...any)  { l.logf(slog.LevelInfo, format, args...) }
func (l *pionLogger) Error(msg string)                  { l.logf(slog.LevelWarn, "%s", msg) }
func (l *pionLogger) Errorf(format string, args ...any) { l.logf(slog.LevelWarn, format, args...) }
