package sfu

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // HMAC-SHA1 is what the TURN REST API scheme specifies.
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/turn/v4"
)

// TURNSecret is the shared secret TURN credentials are derived from. It cannot
// be compared with == and never prints its value.
type TURNSecret struct {
	_ [0]func() // not comparable
	b []byte
}

// NewTURNSecret returns a secret holding a copy of b.
func NewTURNSecret(b []byte) TURNSecret { return TURNSecret{b: append([]byte(nil), b...)} }

// String redacts the secret.
func (TURNSecret) String() string { return "TURNSecret(redacted)" }

// LogValue redacts the secret in slog output.
func (TURNSecret) LogValue() slog.Value { return slog.StringValue("redacted") }

// ICEServer is a STUN/TURN server entry to hand to a client, shaped like the
// browser's RTCIceServer.
type ICEServer struct {
	URLs       []string  `json:"urls"`
	Username   string    `json:"username,omitempty"`
	Credential string    `json:"credential,omitempty"`
	Expires    time.Time `json:"-"`
}

// turnPassword derives the REST-API password of a username.
func turnPassword(secret TURNSecret, username string) string {
	mac := hmac.New(sha1.New, secret.b)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// turnServer is the embedded TURN server and what its handlers need.
type turnServer struct {
	cfg     *TURNConfig
	sfu     *SFU
	srv     *turn.Server
	udpAddr net.Addr
	tcpAddr net.Addr
	host    string

	mu    sync.Mutex
	alloc map[string]int // username -> live allocations
}

func startTURN(s *SFU) (*turnServer, error) {
	cfg := s.cfg.TURN
	ts := &turnServer{cfg: cfg, sfu: s, alloc: map[string]int{}}

	relayIP := cfg.RelayIP
	if relayIP == "" && len(s.cfg.PublicIPs) > 0 {
		relayIP = s.cfg.PublicIPs[0]
	}
	var pcs []turn.PacketConnConfig
	var lcs []turn.ListenerConfig
	closeAll := func() {
		for _, p := range pcs {
			p.PacketConn.Close()
		}
		for _, l := range lcs {
			l.Listener.Close()
		}
	}
	gen := func(listenHost string) (turn.RelayAddressGenerator, error) {
		ipStr := relayIP
		if ipStr == "" {
			ipStr = listenHost
		}
		ip := net.ParseIP(ipStr)
		if ip == nil || ip.IsUnspecified() {
			return nil, fmt.Errorf("%w: TURN.RelayIP is needed when TURN listens on all interfaces", ErrInvalidConfig)
		}
		bind := listenHost
		if bind == "" {
			bind = "0.0.0.0"
		}
		if ts.host == "" {
			ts.host = ip.String()
		}
		if cfg.RelayPortMin != 0 && cfg.RelayPortMax != 0 {
			return &turn.RelayAddressGeneratorPortRange{RelayAddress: ip, Address: bind,
				MinPort: cfg.RelayPortMin, MaxPort: cfg.RelayPortMax}, nil
		}
		return &turn.RelayAddressGeneratorStatic{RelayAddress: ip, Address: bind}, nil
	}
	if cfg.UDPAddr != "" {
		pc, err := net.ListenPacket("udp4", cfg.UDPAddr)
		if err != nil {
			return nil, fmt.Errorf("turn: listen udp %s: %w", cfg.UDPAddr, err)
		}
		pcs = append(pcs, turn.PacketConnConfig{PacketConn: pc, PermissionHandler: ts.permit})
		host, _, _ := net.SplitHostPort(pc.LocalAddr().String())
		g, err := gen(host)
		if err != nil {
			closeAll()
			return nil, err
		}
		pcs[len(pcs)-1].RelayAddressGenerator = g
		ts.udpAddr = pc.LocalAddr()
	}
	if cfg.TCPAddr != "" {
		l, err := net.Listen("tcp4", cfg.TCPAddr)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("turn: listen tcp %s: %w", cfg.TCPAddr, err)
		}
		lcs = append(lcs, turn.ListenerConfig{Listener: l, PermissionHandler: ts.permit})
		host, _, _ := net.SplitHostPort(l.Addr().String())
		g, err := gen(host)
		if err != nil {
			closeAll()
			return nil, err
		}
		lcs[len(lcs)-1].RelayAddressGenerator = g
		ts.tcpAddr = l.Addr()
	}
	srv, err := turn.NewServer(turn.ServerConfig{
		PacketConnConfigs: pcs,
		ListenerConfigs:   lcs,
		Realm:             cfg.Realm,
		AuthHandler:       ts.auth,
		QuotaHandler:      ts.quota,
		EventHandler: turn.EventHandler{
			OnAllocationCreated: func(_, _ net.Addr, _, username, _ string, _ net.Addr, _ int) {
				ts.mu.Lock()
				ts.alloc[username]++
				ts.mu.Unlock()
			},
			OnAllocationDeleted: func(_, _ net.Addr, _, username, _ string) {
				ts.mu.Lock()
				if ts.alloc[username]--; ts.alloc[username] <= 0 {
					delete(ts.alloc, username)
				}
				ts.mu.Unlock()
			},
		},
		LoggerFactory: s.pionLog,
	})
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("turn: start: %w", err)
	}
	ts.srv = srv
	return ts, nil
}

// auth implements the TURN REST API scheme: the username is
// "expiry-unix-seconds:participant", the password base64(HMAC-SHA1(secret,
// username)). pion checks MESSAGE-INTEGRITY with the key returned here, so a
// client that does not know the password derived from the secret is refused.
func (ts *turnServer) auth(username, realm string, _ net.Addr) ([]byte, bool) {
	exp, _, ok := strings.Cut(username, ":")
	if !ok {
		return nil, false
	}
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || ts.sfu.cfg.Clock.Now().Unix() > sec {
		return nil, false
	}
	return turn.GenerateAuthKey(username, realm, turnPassword(ts.cfg.Secret, username)), true
}

func (ts *turnServer) quota(username, _ string, _ net.Addr) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.alloc[username] < ts.cfg.AllocationsPerUser
}

// permit lets a relay send only to this server's own media addresses: TURN here
// exists to reach the SFU, not to open a path into the operator's network.
func (ts *turnServer) permit(_ net.Addr, peer net.IP) bool {
	return ts.sfu.isOwnIP(peer)
}

func (ts *turnServer) close() error { return ts.srv.Close() }

// TURNCredentials returns TURN credentials for one participant, valid for
// TURNConfig.CredentialTTL. Hand them only to admitted participants.
func (s *SFU) TURNCredentials(participant ParticipantID) (ICEServer, error) {
	ts := s.turn
	if ts == nil {
		return ICEServer{}, ErrTURNDisabled
	}
	exp := s.cfg.Clock.Now().Add(ts.cfg.CredentialTTL)
	username := strconv.FormatInt(exp.Unix(), 10) + ":" + string(participant)
	srv := ICEServer{Username: username, Credential: turnPassword(ts.cfg.Secret, username), Expires: exp}
	if a, ok := ts.udpAddr.(*net.UDPAddr); ok {
		srv.URLs = append(srv.URLs, fmt.Sprintf("turn:%s?transport=udp", net.JoinHostPort(ts.host, strconv.Itoa(a.Port))))
	}
	if a, ok := ts.tcpAddr.(*net.TCPAddr); ok {
		srv.URLs = append(srv.URLs, fmt.Sprintf("turn:%s?transport=tcp", net.JoinHostPort(ts.host, strconv.Itoa(a.Port))))
	}
	return srv, nil
}
