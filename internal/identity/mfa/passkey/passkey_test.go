package passkey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity/mfa/passkey"
	"github.com/kaigi/kaigi/internal/ids"
)

const (
	testRPID   = "kaigi.example"
	testOrigin = "https://kaigi.example"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func newRP(t *testing.T) (*passkey.RelyingParty, *clock.Fake) {
	t.Helper()
	c := clock.NewFake(t0)
	rp, err := passkey.New(passkey.Config{RPID: testRPID, Origins: []string{testOrigin}, Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	return rp, c
}

func newUser() *passkey.User {
	return &passkey.User{
		Handle:      passkey.NewUserHandle(),
		Tenant:      ids.NewTenant(),
		ID:          ids.NewUser(),
		Name:        "alice@kaigi.example",
		DisplayName: "Alice",
	}
}

// directory is the caller's user table, for FinishLogin.
type directory struct {
	mu    sync.Mutex
	users map[string]*passkey.User
}

func newDirectory(users ...*passkey.User) *directory {
	d := &directory{users: map[string]*passkey.User{}}
	for _, u := range users {
		d.users[string(u.Handle)] = u
	}
	return d
}

func (d *directory) PasskeyUser(_ context.Context, handle []byte) (*passkey.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[string(handle)]
	if !ok {
		return nil, errs.E(errs.NotFound, "No such user.")
	}
	return u, nil
}

// register runs a full registration of a's credential for user and adds
// the credential to user.
func register(t *testing.T, rp *passkey.RelyingParty, user *passkey.User, a *softAuthenticator) passkey.Credential {
	t.Helper()
	options, state, err := rp.BeginRegistration(user)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := rp.FinishRegistration(user, state, a.Create(t, options, knobs{}))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	cred.Name = "Test authenticator"
	user.Credentials = append(user.Credentials, cred)
	return cred
}

// wantRefusal checks that err is want, with want's code, and that its safe
// message is want's.
func wantRefusal(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	if errs.CodeOf(err) != errs.CodeOf(want) || errs.MessageOf(err) != errs.MessageOf(want) {
		t.Fatalf("code %s / message %q, want %s / %q", errs.CodeOf(err), errs.MessageOf(err), errs.CodeOf(want), errs.MessageOf(want))
	}
}

func TestRegistrationOptions(t *testing.T) {
	rp, _ := newRP(t)
	user := newUser()
	register(t, rp, user, newSoftAuthenticator(t))
	options, _, err := rp.BeginRegistration(user)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		PublicKey struct {
			RP struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"rp"`
			User struct {
				ID          string `json:"id"`
				Name        string `json:"name"`
				DisplayName string `json:"displayName"`
			} `json:"user"`
			Challenge string `json:"challenge"`
			Params    []struct {
				Type string `json:"type"`
				Alg  int    `json:"alg"`
			} `json:"pubKeyCredParams"`
			Timeout   int `json:"timeout"`
			Selection struct {
				Attachment       *string `json:"authenticatorAttachment"`
				ResidentKey      string  `json:"residentKey"`
				UserVerification string  `json:"userVerification"`
			} `json:"authenticatorSelection"`
			Attestation string `json:"attestation"`
			Exclude     []struct {
				ID string `json:"id"`
			} `json:"excludeCredentials"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	p := o.PublicKey
	var algs []int
	for _, prm := range p.Params {
		if prm.Type != "public-key" {
			t.Errorf("credential parameter type %q", prm.Type)
		}
		algs = append(algs, prm.Alg)
	}
	challenge, _ := b64.DecodeString(p.Challenge)
	checks := []struct {
		name      string
		got, want any
	}{
		{"rp.id", p.RP.ID, testRPID},
		{"rp.name", p.RP.Name, "Kaigi"},
		{"user.id is the handle", p.User.ID, b64.EncodeToString(user.Handle)},
		{"user.name", p.User.Name, user.Name},
		{"user.displayName", p.User.DisplayName, user.DisplayName},
		{"challenge of at least 16 bytes", len(challenge) >= 16, true},
		{"algorithms ES256, EdDSA, RS256", slices.Equal(algs, []int{-7, -8, -257}), true},
		{"timeout", p.Timeout, int((5 * time.Minute).Milliseconds())},
		{"any attachment", p.Selection.Attachment == nil, true},
		{"resident key preferred", p.Selection.ResidentKey, "preferred"},
		{"user verification required", p.Selection.UserVerification, "required"},
		{"no attestation", p.Attestation, "none"},
		{"existing passkey excluded", len(p.Exclude) == 1 && p.Exclude[0].ID == b64.EncodeToString(user.Credentials[0].ID), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestRegistrationSucceeds(t *testing.T) {
	rp, _ := newRP(t)
	user := newUser()
	a := newSoftAuthenticator(t)
	a.Flags = flagBE | flagBS // a synced passkey
	a.Counter = 7
	cred := register(t, rp, user, a)
	pub := a.COSEKey(t)
	checks := []struct {
		name      string
		got, want any
	}{
		{"id", string(cred.ID), string(a.CredID)},
		{"public key", string(cred.PublicKey), string(pub)},
		{"algorithm", cred.Algorithm, int64(-7)},
		{"attestation format", cred.AttestationFormat, "none"},
		{"aaguid", string(cred.AAGUID), string(a.AAGUID[:])},
		{"sign count", cred.SignCount, uint32(7)},
		{"transports", strings.Join(cred.Transports, ","), "internal,hybrid"},
		{"attachment", cred.Attachment, "platform"},
		{"user verified", cred.UserVerified, true},
		{"backup eligible", cred.BackupEligible, true},
		{"backup state", cred.BackupState, true},
		{"created", cred.CreatedAt, t0},
		{"never used", cred.LastUsedAt.IsZero(), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
	// The record survives storage as JSON.
	b, err := json.Marshal(cred)
	if err != nil {
		t.Fatal(err)
	}
	var back passkey.Credential
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	user.Credentials = []passkey.Credential{back}
	login(t, rp, newDirectory(user), user, a)
}

// login runs a full login of a's credential (for user, or discoverable if
// user is nil) and returns its outcome.
func login(t *testing.T, rp *passkey.RelyingParty, users passkey.Users, user *passkey.User, a *softAuthenticator) passkey.Login {
	t.Helper()
	options, state, err := rp.BeginLogin(user)
	if err != nil {
		t.Fatal(err)
	}
	l, err := rp.FinishLogin(t.Context(), users, state, a.Get(t, options, knobs{}))
	if err != nil {
		t.Fatalf("FinishLogin: %v", err)
	}
	return l
}

func TestLoginSucceeds(t *testing.T) {
	rp, c := newRP(t)
	user := newUser()
	a := newSoftAuthenticator(t)
	a.Counter = 3
	register(t, rp, user, a)
	other := newUser()
	register(t, rp, other, newSoftAuthenticator(t))
	users := newDirectory(user, other)
	c.Advance(time.Hour)

	tests := []struct {
		name  string
		begin *passkey.User
	}{
		{name: "user known", begin: user},
		{name: "discoverable resolves the user by handle", begin: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := user.Credentials[0].SignCount
			l := login(t, rp, users, tt.begin, a)
			if l.User != user {
				t.Fatalf("signed in as %v, want %v", l.User.ID, user.ID)
			}
			if !bytes.Equal(l.Credential.ID, a.CredID) {
				t.Fatal("wrong credential reported")
			}
			if l.Credential.SignCount != before+1 || l.Credential.SignCount != a.Counter {
				t.Fatalf("sign count %d, want %d", l.Credential.SignCount, a.Counter)
			}
			if !l.Credential.LastUsedAt.Equal(c.Now()) {
				t.Fatalf("last used %v, want %v", l.Credential.LastUsedAt, c.Now())
			}
			if l.Credential.Name != "Test authenticator" {
				t.Fatal("stored fields were not carried over")
			}
			user.Credentials[0] = l.Credential // the caller stores it back
		})
	}
}

func TestLoginOptions(t *testing.T) {
	rp, _ := newRP(t)
	user := newUser()
	register(t, rp, user, newSoftAuthenticator(t))
	tests := []struct {
		name      string
		user      *passkey.User
		wantAllow int
	}{
		{name: "user known lists the user's passkeys", user: user, wantAllow: 1},
		{name: "discoverable lists none", user: nil, wantAllow: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			options, _, err := rp.BeginLogin(tt.user)
			if err != nil {
				t.Fatal(err)
			}
			var o struct {
				PublicKey struct {
					RPID             string            `json:"rpId"`
					UserVerification string            `json:"userVerification"`
					Allow            []json.RawMessage `json:"allowCredentials"`
				} `json:"publicKey"`
			}
			if err := json.Unmarshal(options, &o); err != nil {
				t.Fatal(err)
			}
			if o.PublicKey.RPID != testRPID || o.PublicKey.UserVerification != "required" || len(o.PublicKey.Allow) != tt.wantAllow {
				t.Fatalf("options %s", options)
			}
		})
	}
	if _, _, err := rp.BeginLogin(newUser()); !errors.Is(err, passkey.ErrNoPasskeys) {
		t.Fatalf("user without passkeys: %v, want ErrNoPasskeys", err)
	}
}

func TestRegistrationRefusals(t *testing.T) {
	tests := []struct {
		name string
		k    knobs
		want error
	}{
		{name: "wrong origin", k: knobs{Origin: "https://kaigi.example.evil"}, want: passkey.ErrWrongOrigin},
		{name: "origin on another port", k: knobs{Origin: "https://kaigi.example:8443"}, want: passkey.ErrWrongOrigin},
		{name: "origin over http", k: knobs{Origin: "http://kaigi.example"}, want: passkey.ErrWrongOrigin},
		{name: "wrong RP ID", k: knobs{RPID: "evil.example"}, want: passkey.ErrWrongRPID},
		{name: "user not verified", k: knobs{NoUV: true}, want: passkey.ErrUserNotVerified},
		{name: "user not present", k: knobs{DropFlags: flagUP}, want: passkey.ErrVerification},
		{name: "another challenge", k: knobs{Challenge: b64.EncodeToString(make([]byte, 32))}, want: passkey.ErrChallengeMismatch},
		{name: "login response type", k: knobs{Type: "webauthn.get"}, want: passkey.ErrVerification},
		{name: "backup state without eligibility", k: knobs{ExtraFlags: flagBS}, want: passkey.ErrVerification},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rp, _ := newRP(t)
			user := newUser()
			options, state, err := rp.BeginRegistration(user)
			if err != nil {
				t.Fatal(err)
			}
			_, err = rp.FinishRegistration(user, state, newSoftAuthenticator(t).Create(t, options, tt.k))
			wantRefusal(t, err, tt.want)
		})
	}
}

func TestRegistrationSessionRefusals(t *testing.T) {
	rp, c := newRP(t)
	user := newUser()
	a := newSoftAuthenticator(t)
	begin := func() ([]byte, []byte) {
		options, state, err := rp.BeginRegistration(user)
		if err != nil {
			t.Fatal(err)
		}
		return options, state
	}
	t.Run("expired session", func(t *testing.T) {
		options, state := begin()
		c.Advance(5*time.Minute + time.Second)
		_, err := rp.FinishRegistration(user, state, a.Create(t, options, knobs{}))
		wantRefusal(t, err, passkey.ErrSessionExpired)
	})
	t.Run("session of another user", func(t *testing.T) {
		options, state := begin()
		_, err := rp.FinishRegistration(newUser(), state, a.Create(t, options, knobs{}))
		wantRefusal(t, err, passkey.ErrSessionMismatch)
	})
	t.Run("login session", func(t *testing.T) {
		options, _ := begin()
		_, state, err := rp.BeginLogin(nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = rp.FinishRegistration(user, state, a.Create(t, options, knobs{}))
		wantRefusal(t, err, passkey.ErrSessionInvalid)
	})
	t.Run("garbage session", func(t *testing.T) {
		options, _ := begin()
		_, err := rp.FinishRegistration(user, []byte("{not json"), a.Create(t, options, knobs{}))
		wantRefusal(t, err, passkey.ErrSessionInvalid)
	})
	t.Run("session of another relying party", func(t *testing.T) {
		other, err := passkey.New(passkey.Config{RPID: "other.example", Origins: []string{"https://other.example"}, Clock: c})
		if err != nil {
			t.Fatal(err)
		}
		options, state, err := other.BeginRegistration(user)
		if err != nil {
			t.Fatal(err)
		}
		_, err = rp.FinishRegistration(user, state, a.Create(t, options, knobs{}))
		wantRefusal(t, err, passkey.ErrSessionInvalid)
	})
	t.Run("malformed response", func(t *testing.T) {
		_, state := begin()
		for _, body := range [][]byte{nil, []byte("{}"), []byte(`{"id":"x","type":"public-key"}`), bytes.Repeat([]byte(" "), 1<<20)} {
			_, err := rp.FinishRegistration(user, state, body)
			wantRefusal(t, err, passkey.ErrMalformedResponse)
		}
	})
	t.Run("passkey already registered", func(t *testing.T) {
		register(t, rp, user, a)
		options, state := begin()
		_, err := rp.FinishRegistration(user, state, a.Create(t, options, knobs{}))
		wantRefusal(t, err, passkey.ErrAlreadyRegistered)
	})
}

func TestLoginRefusals(t *testing.T) {
	zero := uint32(0)
	tests := []struct {
		name         string
		discoverable bool
		k            knobs
		want         error
	}{
		{name: "wrong origin", k: knobs{Origin: "https://evil.example"}, want: passkey.ErrWrongOrigin},
		{name: "wrong RP ID", k: knobs{RPID: "evil.example"}, want: passkey.ErrWrongRPID},
		{name: "user not verified", k: knobs{NoUV: true}, want: passkey.ErrUserNotVerified},
		{name: "user not verified, discoverable", discoverable: true, k: knobs{NoUV: true}, want: passkey.ErrUserNotVerified},
		{name: "tampered signature", k: knobs{TamperSig: true}, want: passkey.ErrBadSignature},
		{name: "tampered signature, discoverable", discoverable: true, k: knobs{TamperSig: true}, want: passkey.ErrBadSignature},
		{name: "authenticator data changed after signing", k: knobs{TamperData: true}, want: passkey.ErrBadSignature},
		{name: "another challenge", k: knobs{Challenge: b64.EncodeToString(make([]byte, 32))}, want: passkey.ErrChallengeMismatch},
		{name: "registration response type", k: knobs{Type: "webauthn.create"}, want: passkey.ErrVerification},
		{name: "sign count not increased", k: knobs{KeepCounter: true}, want: passkey.ErrPossibleClone},
		{name: "sign count back to zero", k: knobs{Counter: &zero}, want: passkey.ErrPossibleClone},
		{name: "backup eligibility changed", k: knobs{ExtraFlags: flagBE}, want: passkey.ErrVerification},
		{name: "unknown credential", k: knobs{CredID: []byte("not-registered")}, want: passkey.ErrUnknownCredential},
		{name: "unknown credential, discoverable", discoverable: true, k: knobs{CredID: []byte("not-registered")}, want: passkey.ErrUnknownCredential},
		{name: "unknown user handle, discoverable", discoverable: true, k: knobs{UserHandle: passkey.NewUserHandle()}, want: passkey.ErrUnknownCredential},
		{name: "no user handle, discoverable", discoverable: true, k: knobs{NoHandle: true}, want: passkey.ErrUnknownCredential},
		{name: "another user's handle", k: knobs{UserHandle: passkey.NewUserHandle()}, want: passkey.ErrVerification},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rp, _ := newRP(t)
			user := newUser()
			a := newSoftAuthenticator(t)
			a.Counter = 5
			register(t, rp, user, a)
			users := newDirectory(user)
			begin := user
			if tt.discoverable {
				begin = nil
			}
			options, state, err := rp.BeginLogin(begin)
			if err != nil {
				t.Fatal(err)
			}
			l, err := rp.FinishLogin(t.Context(), users, state, a.Get(t, options, tt.k))
			wantRefusal(t, err, tt.want)
			if errors.Is(err, passkey.ErrPossibleClone) {
				if l.User != user || l.Credential.SignCount != 5 {
					t.Fatalf("clone warning reported user %v, sign count %d; want the user and the stored count", l.User, l.Credential.SignCount)
				}
			}
		})
	}
}

func TestLoginSessionRefusals(t *testing.T) {
	rp, c := newRP(t)
	user := newUser()
	a := newSoftAuthenticator(t)
	register(t, rp, user, a)
	users := newDirectory(user)
	begin := func() ([]byte, []byte) {
		options, state, err := rp.BeginLogin(user)
		if err != nil {
			t.Fatal(err)
		}
		return options, state
	}

	t.Run("expired session", func(t *testing.T) {
		options, state := begin()
		c.Advance(5 * time.Minute)
		_, err := rp.FinishLogin(t.Context(), users, state, a.Get(t, options, knobs{}))
		wantRefusal(t, err, passkey.ErrSessionExpired)
	})
	t.Run("session just in time", func(t *testing.T) {
		options, state := begin()
		c.Advance(5*time.Minute - time.Second)
		if _, err := rp.FinishLogin(t.Context(), users, state, a.Get(t, options, knobs{})); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("registration session", func(t *testing.T) {
		options, _ := begin()
		_, state, err := rp.BeginRegistration(user)
		if err != nil {
			t.Fatal(err)
		}
		_, err = rp.FinishLogin(t.Context(), users, state, a.Get(t, options, knobs{}))
		wantRefusal(t, err, passkey.ErrSessionInvalid)
	})
	t.Run("response replayed against a new ceremony", func(t *testing.T) {
		options, state := begin()
		old := a.Get(t, options, knobs{})
		if _, err := rp.FinishLogin(t.Context(), users, state, old); err != nil {
			t.Fatal(err)
		}
		_, state = begin()
		_, err := rp.FinishLogin(t.Context(), users, state, old)
		wantRefusal(t, err, passkey.ErrChallengeMismatch)
	})
	t.Run("malformed response", func(t *testing.T) {
		_, state := begin()
		_, err := rp.FinishLogin(t.Context(), users, state, []byte(`{"id":1}`))
		wantRefusal(t, err, passkey.ErrMalformedResponse)
	})
	t.Run("directory failure is not a refusal", func(t *testing.T) {
		options, state := begin()
		down := passkey.UsersFunc(func(context.Context, []byte) (*passkey.User, error) {
			return nil, errs.E(errs.Unavailable, "The database is unavailable.")
		})
		_, err := rp.FinishLogin(t.Context(), down, state, a.Get(t, options, knobs{}))
		if !errs.Is(err, errs.Unavailable) {
			t.Fatalf("error %v, want Unavailable", err)
		}
	})
}

func TestSessionStoreMakesCeremoniesSingleUse(t *testing.T) {
	rp, c := newRP(t)
	user := newUser()
	a := newSoftAuthenticator(t)
	register(t, rp, user, a)
	users := newDirectory(user)
	store := passkey.NewMemorySessionStore(c)
	ctx := t.Context()

	options, state, err := rp.BeginLogin(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutPasskeySession(ctx, "browser-session-1", state, c.Now().Add(rp.SessionTTL())); err != nil {
		t.Fatal(err)
	}
	// A synced passkey keeps no counter, so nothing in the response itself
	// gives a replay away: the single take must.
	a.Counter = 0
	response := a.Get(t, options, knobs{KeepCounter: true})

	const n = 8
	var wg sync.WaitGroup
	results := make(chan error, n)
	for range n {
		wg.Go(func() {
			st, err := store.TakePasskeySession(ctx, "browser-session-1")
			if err != nil {
				results <- err
				return
			}
			_, err = rp.FinishLogin(ctx, users, st, response)
			results <- err
		})
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		default:
			wantRefusal(t, err, passkey.ErrSessionNotFound)
		}
	}
	if ok != 1 {
		t.Fatalf("%d finishes of one ceremony succeeded, want exactly 1", ok)
	}

	// Expired state is not handed out.
	if err := store.PutPasskeySession(ctx, "browser-session-2", state, c.Now().Add(rp.SessionTTL())); err != nil {
		t.Fatal(err)
	}
	c.Advance(rp.SessionTTL())
	if _, err := store.TakePasskeySession(ctx, "browser-session-2"); !errors.Is(err, passkey.ErrSessionNotFound) {
		t.Fatalf("expired session: %v, want ErrSessionNotFound", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  passkey.Config
	}{
		{name: "no RP ID", cfg: passkey.Config{Origins: []string{testOrigin}}},
		{name: "RP ID with scheme", cfg: passkey.Config{RPID: "https://kaigi.example", Origins: []string{testOrigin}}},
		{name: "RP ID in upper case", cfg: passkey.Config{RPID: "Kaigi.example", Origins: []string{testOrigin}}},
		{name: "RP ID is an IP address", cfg: passkey.Config{RPID: "192.0.2.1", Origins: []string{"https://192.0.2.1"}}},
		{name: "no origins", cfg: passkey.Config{RPID: testRPID}},
		{name: "http origin", cfg: passkey.Config{RPID: testRPID, Origins: []string{"http://kaigi.example"}}},
		{name: "origin with a path", cfg: passkey.Config{RPID: testRPID, Origins: []string{"https://kaigi.example/app"}}},
		{name: "origin on another domain", cfg: passkey.Config{RPID: testRPID, Origins: []string{"https://kaigi.example.evil"}}},
		{name: "origin on a parent domain", cfg: passkey.Config{RPID: "app.kaigi.example", Origins: []string{testOrigin}}},
		{name: "negative TTL", cfg: passkey.Config{RPID: testRPID, Origins: []string{testOrigin}, SessionTTL: -time.Second}},
		{name: "TTL of a day", cfg: passkey.Config{RPID: testRPID, Origins: []string{testOrigin}, SessionTTL: 24 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := passkey.New(tt.cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	good := []passkey.Config{
		{RPID: testRPID, Origins: []string{testOrigin, "https://app.kaigi.example:8443"}},
		{RPID: "localhost", Origins: []string{"http://localhost:8080"}},
	}
	for _, cfg := range good {
		if _, err := passkey.New(cfg); err != nil {
			t.Errorf("New(%+v): %v", cfg, err)
		}
	}
}

func TestUserAdapter(t *testing.T) {
	u := &passkey.User{Handle: []byte{1, 2, 3}, Name: "bob@kaigi.example"}
	if u.WebAuthnDisplayName() != u.Name {
		t.Fatal("display name does not default to the name")
	}
	if !bytes.Equal(u.WebAuthnID(), u.Handle) || u.WebAuthnName() != u.Name {
		t.Fatal("adapter does not return the user's fields")
	}
	if h1, h2 := passkey.NewUserHandle(), passkey.NewUserHandle(); len(h1) != passkey.UserHandleSize || bytes.Equal(h1, h2) {
		t.Fatal("user handles are not fresh random values of UserHandleSize bytes")
	}
	rp, _ := newRP(t)
	bad := []*passkey.User{
		nil,
		{Name: "no handle"},
		{Handle: make([]byte, 65), Name: "handle too long"},
		{Handle: []byte{1}},
	}
	for _, u := range bad {
		if _, _, err := rp.BeginRegistration(u); err == nil {
			t.Errorf("BeginRegistration(%+v) accepted", u)
		}
	}
}
