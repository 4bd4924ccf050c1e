package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// api talks to a node's HTTP API the way the web app does: a session
// cookie, and the session's anti-forgery token on every request that
// changes state.
type api struct {
	base string
	hc   *http.Client
}

func newAPI(base string, conns int) *api {
	tr := &http.Transport{
		MaxIdleConns:        conns + 16,
		MaxIdleConnsPerHost: conns + 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &api{base: strings.TrimRight(base, "/"), hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// session is a signed-in browser session: its cookie ("name=value") and
// anti-forgery token.
type session struct {
	cookie string
	csrf   string
}

// apiError is an unexpected answer.
type apiError struct {
	method, path string
	status       int
	body         string
}

func (e *apiError) Error() string {
	b := e.body
	if len(b) > 300 {
		b = b[:300] + "…"
	}
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, b)
}

// call sends one request with s's cookie (s may be nil), expects status
// want, decodes the answer into out (when not nil) and keeps a new session
// cookie if the server sets one.
func (a *api) call(ctx context.Context, s *session, method, path string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s != nil {
		if s.cookie != "" {
			req.Header.Set("Cookie", s.cookie)
		}
		if s.csrf != "" && method != http.MethodGet {
			req.Header.Set("X-CSRF-Token", s.csrf)
		}
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if s != nil {
		for _, c := range resp.Cookies() {
			if strings.HasSuffix(c.Name, "kaigi_session") { // httpapi.SessionCookie
				if c.MaxAge < 0 || c.Value == "" {
					s.cookie = ""
				} else {
					s.cookie = c.Name + "=" + c.Value
				}
			}
		}
	}
	if resp.StatusCode != want {
		return &apiError{method: method, path: path, status: resp.StatusCode, body: string(b)}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// sessionBody is the part of httpapi.SessionBody the tool reads.
type sessionBody struct {
	State string `json:"state"`
	CSRF  string `json:"csrf"`
	User  string `json:"user"`
}

// signIn signs in with email and password and returns the session's state
// (active, pending_mfa, enrol_mfa).
func (a *api) signIn(ctx context.Context, s *session, email, password string) (string, error) {
	var sb sessionBody
	if err := a.call(ctx, s, http.MethodPost, "/api/v1/auth/signin", map[string]string{"email": email, "password": password}, http.StatusOK, &sb); err != nil {
		return "", err
	}
	s.csrf = sb.CSRF
	return sb.State, nil
}

// refresh reads the session's current anti-forgery token.
func (a *api) refresh(ctx context.Context, s *session) (sessionBody, error) {
	var sb sessionBody
	if err := a.call(ctx, s, http.MethodGet, "/api/v1/session", nil, http.StatusOK, &sb); err != nil {
		return sb, err
	}
	if sb.CSRF != "" {
		s.csrf = sb.CSRF
	}
	return sb, nil
}

var seqKey = []byte(`"seq":`)

// send posts a message through the real send path and returns its
// sequence number. It is the hot path of the send scenarios, so it builds
// and reads JSON by hand.
func (a *api) send(ctx context.Context, s *session, channel string, body []byte) (int64, error) {
	buf := make([]byte, 0, len(body)+16)
	buf = append(buf, `{"body":"`...)
	buf = append(buf, body...) // printable ASCII without quotes or backslashes
	buf = append(buf, `"}`...)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/api/v1/channels/"+channel+"/messages", bytes.NewReader(buf))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", s.cookie)
	req.Header.Set("X-CSRF-Token", s.csrf)
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusCreated {
		return 0, &apiError{method: "POST", path: "/api/v1/channels/{id}/messages", status: resp.StatusCode, body: string(b)}
	}
	i := bytes.Index(b, seqKey)
	if i < 0 {
		return 0, fmt.Errorf("send: no seq in the answer")
	}
	seq, _ := parseInt(b[i+len(seqKey):])
	return seq, nil
}

// ---- setup

// env is a tenant ready for load: its admin signed in with a full session,
// MFA off, and a password for the accounts it creates.
type env struct {
	api      *api
	log      *slog.Logger
	admin    *session
	domain   string
	password string
	run      string // distinguishes this run's accounts and teams
	teams    atomic.Int64
	accounts atomic.Int64
}

// account is a member with a signed-in session.
type account struct {
	id    string
	email string
	s     *session
}

// group is a team's General channel and the accounts in the team.
type group struct {
	team     string
	channel  string
	accounts []*account
}

// bootstrap accepts the first admin's invitation, signs the admin in
// (enrolling an authenticator app, whose codes it computes from the
// enrolment's key at now()), and turns MFA off for the tenant.
func bootstrap(ctx context.Context, a *api, log *slog.Logger, invitation string, now func() time.Time) (*env, error) {
	token, err := fragmentParam(invitation, "token")
	if err != nil {
		return nil, err
	}
	e := &env{api: a, log: log, admin: &session{}, password: "q7!" + randomWord(20) + "-Zz", run: strings.ToLower(randomWord(6))}
	var acct struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}
	if err := a.call(ctx, nil, http.MethodPost, "/api/v1/invitations/accept",
		map[string]string{"token": token, "display_name": "Load Admin", "password": e.password}, http.StatusCreated, &acct); err != nil {
		return nil, fmt.Errorf("accept the admin invitation (each link works once: create a new tenant for each run): %w", err)
	}
	at := strings.LastIndexByte(acct.Email, '@')
	if at < 0 {
		return nil, fmt.Errorf("the admin's email %q has no domain", acct.Email)
	}
	e.domain = acct.Email[at+1:]
	state, err := a.signIn(ctx, e.admin, acct.Email, e.password)
	if err != nil {
		return nil, fmt.Errorf("admin sign-in: %w", err)
	}
	switch state {
	case "active":
	case "enrol_mfa":
		if err := enrolTOTP(ctx, a, e.admin, now); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("admin sign-in: state %q, want active or enrol_mfa", state)
	}
	var pol map[string]any
	if err := a.call(ctx, e.admin, http.MethodGet, "/api/v1/admin/policy", nil, http.StatusOK, &pol); err != nil {
		return nil, err
	}
	pol["mfa"] = "off"
	if err := a.call(ctx, e.admin, http.MethodPut, "/api/v1/admin/policy", map[string]any{"policy": pol}, http.StatusNoContent, nil); err != nil {
		return nil, fmt.Errorf("turn MFA off: %w", err)
	}
	return e, nil
}

// enrolTOTP enrols an authenticator app for a session limited to
// enrolment, which completes the sign-in.
func enrolTOTP(ctx context.Context, a *api, s *session, now func() time.Time) error {
	var en struct {
		URL     string `json:"otpauth_url"`
		Pending string `json:"pending"`
	}
	if err := a.call(ctx, s, http.MethodPost, "/api/v1/me/factors/totp", nil, http.StatusOK, &en); err != nil {
		return fmt.Errorf("begin TOTP enrolment: %w", err)
	}
	key, err := otp.NewKeyFromURL(en.URL)
	if err != nil {
		return fmt.Errorf("TOTP enrolment: %w", err)
	}
	code, err := totp.GenerateCodeCustom(key.Secret(), now(), totp.ValidateOpts{
		Period: uint(key.Period()), Digits: key.Digits(), Algorithm: key.Algorithm()})
	if err != nil {
		return fmt.Errorf("TOTP code: %w", err)
	}
	if err := a.call(ctx, s, http.MethodPost, "/api/v1/me/factors/totp/confirm",
		map[string]string{"pending": en.Pending, "code": code, "name": "kaigi-load"}, http.StatusCreated, nil); err != nil {
		return fmt.Errorf("confirm TOTP enrolment: %w", err)
	}
	sb, err := a.refresh(ctx, s)
	if err != nil {
		return err
	}
	if sb.State != "active" {
		return fmt.Errorf("after enrolment the admin's session is %q, not active", sb.State)
	}
	return nil
}

// newAccounts invites n members, who accept and sign in once each (about
// 60 ms of the server's CPU apiece: two argon2id runs), workers at a time.
func (e *env) newAccounts(ctx context.Context, n, workers int) ([]*account, error) {
	out := make([]*account, n)
	var done atomic.Int64
	start := time.Now()
	err := parallel(ctx, n, workers, func(ctx context.Context, i int) error {
		k := e.accounts.Add(1)
		email := fmt.Sprintf("load-%s-%d@%s", e.run, k, e.domain)
		var inv struct {
			Link string `json:"link"`
		}
		if err := e.api.call(ctx, e.admin, http.MethodPost, "/api/v1/admin/invitations", map[string]string{"email": email, "kind": "member"}, http.StatusCreated, &inv); err != nil {
			return err
		}
		token, err := fragmentParam(inv.Link, "token")
		if err != nil {
			return err
		}
		var acct struct {
			ID string `json:"id"`
		}
		if err := e.api.call(ctx, nil, http.MethodPost, "/api/v1/invitations/accept",
			map[string]string{"token": token, "display_name": "Load " + strconv.FormatInt(k, 10), "password": e.password}, http.StatusCreated, &acct); err != nil {
			return err
		}
		s := &session{}
		state, err := e.api.signIn(ctx, s, email, e.password)
		if err != nil {
			return err
		}
		if state != "active" {
			return fmt.Errorf("member sign-in: state %q", state)
		}
		out[i] = &account{id: acct.ID, email: email, s: s}
		if d := done.Add(1); d%100 == 0 {
			e.log.Info("setup: accounts", "done", d, "of", n, "elapsed", time.Since(start).Round(time.Second).String())
		}
		return nil
	})
	return out, err
}

// newGroup creates a team (with its General channel) holding accts.
func (e *env) newGroup(ctx context.Context, accts []*account, workers int) (*group, error) {
	var team struct {
		ID string `json:"id"`
	}
	name := fmt.Sprintf("Load %s %d", e.run, e.teams.Add(1))
	if err := e.api.call(ctx, e.admin, http.MethodPost, "/api/v1/teams", map[string]string{"name": name}, http.StatusCreated, &team); err != nil {
		return nil, err
	}
	var chans []struct {
		ID   string `json:"id"`
		Team string `json:"team"`
		Kind string `json:"kind"`
	}
	if err := e.api.call(ctx, e.admin, http.MethodGet, "/api/v1/channels", nil, http.StatusOK, &chans); err != nil {
		return nil, err
	}
	g := &group{team: team.ID, accounts: accts}
	for _, c := range chans {
		if c.Team == team.ID && c.Kind == "standard" {
			g.channel = c.ID
		}
	}
	if g.channel == "" {
		return nil, fmt.Errorf("team %s has no General channel", team.ID)
	}
	err := parallel(ctx, len(accts), workers, func(ctx context.Context, i int) error {
		return e.api.call(ctx, e.admin, http.MethodPut, "/api/v1/teams/"+team.ID+"/members/"+accts[i].id, map[string]string{"role": "member"}, http.StatusNoContent, nil)
	})
	return g, err
}

// groups creates one team per entry of sizes, each with sizes[k] new
// accounts.
func (e *env) groups(ctx context.Context, sizes []int, workers int) ([]*group, error) {
	total := 0
	for _, n := range sizes {
		total += n
	}
	e.log.Info("setup: creating accounts and teams", "accounts", total, "teams", len(sizes))
	accts, err := e.newAccounts(ctx, total, workers)
	if err != nil {
		return nil, fmt.Errorf("create accounts: %w", err)
	}
	var out []*group
	for _, n := range sizes {
		g, err := e.newGroup(ctx, accts[:n], workers)
		if err != nil {
			return nil, fmt.Errorf("create team: %w", err)
		}
		out = append(out, g)
		accts = accts[n:]
	}
	return out, nil
}

// ---- helpers

// parallel runs fn(i) for i in [0, n), workers at a time, and returns the
// first error (after which the others are cancelled).
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(workers, n)) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

func fragmentParam(link, name string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil {
		return "", fmt.Errorf("invitation link: %w", err)
	}
	q, err := url.ParseQuery(u.Fragment)
	if err != nil || q.Get(name) == "" {
		return "", fmt.Errorf("invitation link %q has no #%s=…", link, name)
	}
	return q.Get(name), nil
}

func randomWord(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)[:n]
}

// parseInt reads the decimal number at the start of b.
func parseInt(b []byte) (int64, int) {
	var v int64
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	return v, i
}
