package passkey

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/kaigi/kaigi/internal/clock"
)

// Defaults of Config.
const (
	// DefaultRPDisplayName is the relying party name authenticators show.
	DefaultRPDisplayName = "Kaigi"
	// DefaultSessionTTL is how long a ceremony may take.
	DefaultSessionTTL = 5 * time.Minute
	// maxSessionTTL bounds Config.SessionTTL: a challenge should not live
	// long.
	maxSessionTTL = 30 * time.Minute
)

// algorithms lists the COSE algorithms a passkey may use, in order of
// preference: ES256 (every platform authenticator and security key), EdDSA
// (Ed25519 security keys) and RS256 (older Windows Hello).
var algorithms = []webauthncose.COSEAlgorithmIdentifier{
	webauthncose.AlgES256,
	webauthncose.AlgEdDSA,
	webauthncose.AlgRS256,
}

// Config configures a RelyingParty.
type Config struct {
	// RPID is the relying party ID, the domain passkeys are bound to, for
	// example "kaigi.example.org". Required. Every origin must be this
	// domain or a subdomain of it. Changing it later makes every
	// registered passkey unusable.
	RPID string

	// RPDisplayName is the name authenticators show for Kaigi. Default
	// "Kaigi".
	RPDisplayName string

	// Origins are the exact origins the web app is served from, such as
	// "https://kaigi.example.org". Required. Each must be https (http is
	// accepted for localhost only, for development) with no path, and its
	// host must be RPID or a subdomain of it. A response collected by any
	// other page is refused with ErrWrongOrigin.
	Origins []string

	// SessionTTL is how long a ceremony may take between Begin and
	// Finish; it is also the timeout sent to the browser. Default 5
	// minutes; at most 30 minutes.
	SessionTTL time.Duration

	// Clock tells the time of session expiry and of credential creation
	// and use. Default clock.Real.
	Clock clock.Clock
}

// RelyingParty runs registration and login ceremonies for one relying
// party ID. It is safe for concurrent use.
type RelyingParty struct {
	wa      *webauthn.WebAuthn
	rpID    string
	origins []string
	ttl     time.Duration
	clock   clock.Clock
}

// New returns a RelyingParty for cfg, or an error that names the first
// setting that is wrong.
func New(cfg Config) (*RelyingParty, error) {
	rpID := strings.ToLower(cfg.RPID)
	if err := protocol.ValidateRPID(rpID); err != nil || rpID != cfg.RPID {
		return nil, fmt.Errorf("passkey: RPID %q must be a lower-case domain name such as kaigi.example.org", cfg.RPID)
	}
	if len(cfg.Origins) == 0 {
		return nil, errors.New("passkey: at least one origin is required, such as https://" + rpID)
	}
	origins := make([]string, 0, len(cfg.Origins))
	for _, o := range cfg.Origins {
		norm, err := checkOrigin(o, rpID)
		if err != nil {
			return nil, err
		}
		origins = append(origins, norm)
	}
	name := cfg.RPDisplayName
	if name == "" {
		name = DefaultRPDisplayName
	}
	ttl := cfg.SessionTTL
	switch {
	case ttl == 0:
		ttl = DefaultSessionTTL
	case ttl < 0 || ttl > maxSessionTTL:
		return nil, fmt.Errorf("passkey: SessionTTL %v must be between 0 (default %v) and %v", ttl, DefaultSessionTTL, maxSessionTTL)
	}
	c := cfg.Clock
	if c == nil {
		c = clock.Real{}
	}
	// Expiry is enforced here with the Clock, not by the library (which
	// reads the system time), so Timeouts only sets what the browser is
	// told.
	timeout := webauthn.TimeoutConfig{Timeout: ttl, TimeoutUVD: ttl}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  rpID,
		RPDisplayName:         name,
		RPOrigins:             origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			// No AuthenticatorAttachment: platform authenticators and
			// roaming security keys are both welcome.
			RequireResidentKey: protocol.ResidentKeyNotRequired(),
			ResidentKey:        protocol.ResidentKeyRequirementPreferred,
			UserVerification:   protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &RelyingParty{wa: wa, rpID: rpID, origins: origins, ttl: ttl, clock: c}, nil
}

// RPID returns the relying party ID. Store it with each credential: a
// credential works only under the RP ID it was registered for.
func (rp *RelyingParty) RPID() string { return rp.rpID }

// SessionTTL returns how long session state stays valid after Begin, for a
// SessionStore's expiry.
func (rp *RelyingParty) SessionTTL() time.Duration { return rp.ttl }

// checkOrigin returns o as scheme://host[:port] in lower case, or an error
// if it is not an https origin (http for localhost) on rpID or below it.
func checkOrigin(o, rpID string) (string, error) {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("passkey: origin %q must be scheme://host[:port] with nothing after it", o)
	}
	host := strings.ToLower(u.Hostname())
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && !(scheme == "http" && host == "localhost") {
		return "", fmt.Errorf("passkey: origin %q must use https (http is allowed for localhost only)", o)
	}
	if host != rpID && !strings.HasSuffix(host, "."+rpID) {
		return "", fmt.Errorf("passkey: origin %q is not on the RP ID %q or a subdomain of it", o, rpID)
	}
	return scheme + "://" + strings.ToLower(u.Host), nil
}

// credentialParameters returns algorithms as WebAuthn credential parameters.
func credentialParameters() []protocol.CredentialParameter {
	out := make([]protocol.CredentialParameter, len(algorithms))
	for i, alg := range algorithms {
		out[i] = protocol.CredentialParameter{Type: protocol.PublicKeyCredentialType, Algorithm: alg}
	}
	return out
}
