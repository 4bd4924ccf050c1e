package httpapi

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/identity/access"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// SessionCookie is the session cookie's name; with TLS it carries the
// __Host- prefix, which pins it to this host, path / and Secure.
func SessionCookie(tls bool) string {
	if tls {
		return "__Host-kaigi_session"
	}
	return "kaigi_session"
}

// IdentityAuth authenticates requests with the identity service: the session
// cookie, or an Authorization: Bearer personal access token. Cookie requests
// that change state must carry X-CSRF-Token; token requests that change
// state need a token with the write scope.
type IdentityAuth struct {
	Identity       *identity.Service
	TLS            bool
	TrustedProxies []*net.IPNet
}

// Authenticate implements Authenticator.
func (a IdentityAuth) Authenticate(r *http.Request) (principal.Principal, error) {
	unsafe := r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
	c := identity.Credentials{Unsafe: unsafe, CSRF: r.Header.Get("X-CSRF-Token"), Source: ClientAddr(r, a.TrustedProxies)}
	if h := r.Header.Get("Authorization"); h != "" {
		// Only Kaigi's own tokens authenticate a principal; other bearer
		// tokens (the metrics token) are for the route to check.
		if tok, ok := strings.CutPrefix(h, "Bearer "); ok && strings.HasPrefix(strings.TrimSpace(tok), identity.TokenPrefix) {
			c.BearerToken = strings.TrimSpace(tok)
		}
	}
	if c.BearerToken == "" {
		if ck, err := r.Cookie(SessionCookie(a.TLS)); err == nil {
			c.SessionToken = ck.Value
		}
	}
	p, err := a.Identity.Authenticate(r.Context(), c)
	if err != nil {
		return p, err
	}
	if p.Client == "api_token" && unsafe && !hasScope(p.Scopes, identity.ScopeWrite) {
		return principal.Principal{}, errs.E(errs.Forbidden, "This access token may only read; create one with the write scope.")
	}
	return p, nil
}

func hasScope(scopes []string, s string) bool {
	for _, x := range scopes {
		if x == s {
			return true
		}
	}
	return false
}

// setSessionCookie sets the session cookie. It is a browser-session cookie
// (no expiry of its own): the server ends sessions by the tenant's idle and
// absolute limits, whatever the browser keeps.
func setSessionCookie(w http.ResponseWriter, tls bool, token string) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie(tls), Value: token, Path: "/",
		HttpOnly: true, Secure: tls, SameSite: http.SameSiteLaxMode})
}

func clearSessionCookie(w http.ResponseWriter, tls bool) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie(tls), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: tls, SameSite: http.SameSiteLaxMode})
}

// Bodies of the identity routes.
type (
	SignInBody struct {
		Organisation string `json:"organisation,omitempty" doc:"The organisation's short name; found from the email's domain when empty."`
		Email        string `json:"email"`
		Password     string `json:"password"`
	}
	SessionBody struct {
		State       string   `json:"state" doc:"anonymous, active, pending_mfa or enrol_mfa."`
		Factors     []string `json:"factors,omitempty" doc:"pending_mfa: the second factors that will do."`
		Notice      string   `json:"notice,omitempty"`
		CSRF        string   `json:"csrf,omitempty" doc:"Send as X-CSRF-Token with every request that changes state."`
		User        string   `json:"user,omitempty"`
		Tenant      string   `json:"tenant,omitempty"`
		Kind        string   `json:"kind"`
		Roles       []string `json:"roles,omitempty"`
		Email       string   `json:"email,omitempty"`
		DisplayName string   `json:"display_name,omitempty"`
	}
	ProofBody struct {
		Kind       string       `json:"kind" doc:"totp, recovery or passkey."`
		Code       string       `json:"code,omitempty" doc:"totp and recovery: the code."`
		Ceremony   string       `json:"ceremony,omitempty" doc:"passkey: a ceremony from POST /api/v1/auth/passkey/begin."`
		Credential WebAuthnJSON `json:"credential,omitzero" doc:"passkey: the browser's response to that ceremony (navigator.credentials.get)."`
	}
	AcceptBody struct {
		Token       string `json:"token"`
		DisplayName string `json:"display_name"`
		Password    string `json:"password"`
	}
	ResetRequestBody struct {
		Organisation string `json:"organisation,omitempty"`
		Email        string `json:"email"`
	}
	ResetBody struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	PasswordChangeBody struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	TOTPConfirmBody struct {
		Pending string     `json:"pending"`
		Name    string     `json:"name,omitempty"`
		Code    string     `json:"code"`
		Proof   *ProofBody `json:"proof,omitempty" doc:"A code of an existing factor, when there is one."`
	}
	ProofOnlyBody struct {
		Proof *ProofBody `json:"proof,omitempty"`
	}
	TokenCreateBody struct {
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
		Days   int      `json:"days"`
	}
	TokenCreated struct {
		Token  identity.Token `json:"token"`
		Secret string         `json:"secret" doc:"Shown once; keep it safe."`
	}
	InviteBody struct {
		Email string   `json:"email"`
		Kind  string   `json:"kind" doc:"member or guest."`
		Roles []string `json:"roles,omitempty"`
	}
	InviteCreated struct {
		Invitation identity.Invitation `json:"invitation"`
		Link       string              `json:"link" doc:"Shown once: the single-use link to send to the person."`
	}
	PolicyBody struct {
		Policy  identity.Policy `json:"policy"`
		Confirm bool            `json:"confirm,omitempty" doc:"Save even though the policy would block your own sign-in."`
	}
	RolesBody struct {
		Roles []string `json:"roles" doc:"tenant_admin, compliance_officer, lockbox_approver."`
	}
	LinkBody struct {
		Link string `json:"link" doc:"Shown once."`
	}
	RecoveryCodes struct {
		Codes []string `json:"codes" doc:"Shown once."`
	}
	Ended struct {
		Ended int64 `json:"ended"`
	}
)

func (b *ProofBody) proof() *identity.Proof {
	if b == nil {
		return nil
	}
	return &identity.Proof{Kind: b.Kind, Code: b.Code, Ceremony: b.Ceremony, Credential: b.Credential.Bytes()}
}

// RegisterIdentity registers the sign-in, self-service and admin routes.
func RegisterIdentity(s *Server, id *identity.Service, tls bool) {
	session := func(w http.ResponseWriter, r *http.Request, p principal.Principal, token string) error {
		body := SessionBody{State: "anonymous", Kind: string(p.Kind)}
		if p.Pending != "" {
			body.State = p.Pending
			if fs, err := id.PendingFactors(r.Context(), p); err == nil {
				body.Factors = fs
			}
		} else if p.Session != "" && p.Client == "browser" {
			body.State = identity.SessionActive
		}
		if p.Session != "" && p.Client == "browser" || p.Pending != "" {
			if token == "" {
				if ck, err := r.Cookie(SessionCookie(tls)); err == nil {
					token = ck.Value
				}
			}
			body.CSRF = identity.CSRFToken(token)
			body.User = string(p.User)
		}
		if p.IsTenantUser() || p.Kind == principal.Operator {
			body.Tenant = string(p.Tenant)
			for _, r := range p.Roles {
				body.Roles = append(body.Roles, string(r))
			}
			if a, err := id.Account(r.Context(), p); err == nil {
				body.Email, body.DisplayName = a.Email, a.DisplayName
			}
		}
		WriteJSON(w, http.StatusOK, body)
		return nil
	}

	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/session", Policy: principal.Public,
		Doc:     Doc{Summary: "Who the caller is, and the anti-forgery token of their session.", Tag: "identity", Response: SessionBody{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error { return session(w, r, p, "") }})

	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/auth/signin", Policy: principal.Public,
		Doc: Doc{Summary: "Sign in with email and password; starts a session (maybe waiting for a second factor).", Tag: "identity", Request: SignInBody{}, Response: SessionBody{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b SignInBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			res, err := id.SignIn(r.Context(), identity.SignInRequest{Organisation: b.Organisation, Email: b.Email, Password: b.Password,
				Source: p.Source, UserAgent: r.UserAgent()})
			if err != nil {
				return err
			}
			setSessionCookie(w, tls, res.Token)
			body := SessionBody{State: res.State, Factors: res.Factors, Notice: res.Notice, CSRF: identity.CSRFToken(res.Token), User: string(res.Session.Account), Kind: "pending"}
			if res.State == identity.SessionActive {
				body.Kind, body.Tenant = "signed_in", string(res.Session.Tenant)
			}
			WriteJSON(w, http.StatusOK, body)
			return nil
		}})

	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/auth/second-factor", Policy: principal.PendingSecondFactor,
		Doc: Doc{Summary: "Complete a sign-in with a TOTP or recovery code.", Tag: "identity", Request: ProofBody{}, Response: SessionBody{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b ProofBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			token, err := id.VerifySecondFactor(r.Context(), p, *b.proof())
			if err != nil {
				return err
			}
			setSessionCookie(w, tls, token)
			full, err := id.Authenticate(r.Context(), identity.Credentials{SessionToken: token, Source: p.Source})
			if err != nil {
				return err
			}
			return session(w, r, full, token)
		}})

	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/auth/signout", Policy: principal.AnySession,
		Doc: Doc{Summary: "End the caller's session.", Tag: "identity", Status: http.StatusNoContent},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			if err := id.SignOut(r.Context(), p); err != nil {
				return err
			}
			clearSessionCookie(w, tls)
			w.WriteHeader(http.StatusNoContent)
			return nil
		}})

	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/invitations/accept", Policy: principal.Public,
		Doc: Doc{Summary: "Accept an invitation: create the account with a password.", Tag: "identity", Request: AcceptBody{}, Response: identity.Account{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b AcceptBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			a, err := id.AcceptInvitation(r.Context(), b.Token, b.DisplayName, b.Password, p.Source)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusCreated, a)
			return nil
		}})

	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/password/reset", Policy: principal.Public,
		Doc: Doc{Summary: "Set a new password with a reset link's token; ends every session.", Tag: "identity", Request: ResetBody{}, Status: http.StatusNoContent},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b ResetBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			if err := id.ResetPassword(r.Context(), b.Token, b.Password, p.Source); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}})

	// Self-service.
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/me/password", Policy: principal.TenantBrowser,
		Doc: Doc{Summary: "Change your password; ends your other sessions.", Tag: "self", Request: PasswordChangeBody{}, Status: http.StatusNoContent},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b PasswordChangeBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			if err := id.ChangePassword(r.Context(), p, b.Current, b.New); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}})
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/me/sessions", Policy: principal.SelfService,
		Doc: Doc{Summary: "Your open sessions.", Tag: "self", Response: []identity.Session{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			list, err := id.Sessions(r.Context(), p)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, list)
			return nil
		}})
	s.Handle(Route{Method: http.MethodDelete, Pattern: "/api/v1/me/sessions/{id}", Policy: principal.SelfService,
		Doc: Doc{Summary: "End one of your sessions, or all (id \"all\") or all but this one (\"others\").", Tag: "self", Response: Ended{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			n, err := id.EndSession(r.Context(), p, r.PathValue("id"))
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, Ended{Ended: n})
			return nil
		}})
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/me/factors", Policy: principal.SelfService,
		Doc: Doc{Summary: "Your second factors.", Tag: "self", Response: []identity.Factor{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			list, err := id.Factors(r.Context(), p)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, list)
			return nil
		}})
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/me/factors/totp", Policy: principal.SelfService,
		Doc: Doc{Summary: "Start enrolling an authenticator app.", Tag: "self", Response: identity.TOTPEnrolment{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			e, err := id.BeginTOTP(r.Context(), p)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, e)
			return nil
		}})
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/me/factors/totp/confirm", Policy: principal.SelfService,
		Doc: Doc{Summary: "Finish enrolling an authenticator app with its first code.", Tag: "self", Request: TOTPConfirmBody{}, Response: identity.Factor{}, Status: http.StatusCreated},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b TOTPConfirmBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			f, token, err := id.ConfirmTOTP(r.Context(), p, b.Pending, b.Name, b.Code, b.Proof.proof())
			if err != nil {
				return err
			}
			if token != "" {
				setSessionCookie(w, tls, token)
			}
			WriteJSON(w, http.StatusCreated, f)
			return nil
		}})
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/me/recovery-codes", Policy: principal.SelfService,
		Doc: Doc{Summary: "Replace your recovery codes; the new ones are shown once.", Tag: "self", Request: ProofOnlyBody{}, Response: RecoveryCodes{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b ProofOnlyBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			codes, err := id.NewRecoveryCodes(r.Context(), p, b.Proof.proof())
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, RecoveryCodes{Codes: codes})
			return nil
		}})
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/me/factors/{id}/remove", Policy: principal.SelfService,
		Doc: Doc{Summary: "Remove one of your second factors, confirmed with a code.", Tag: "self", Request: ProofOnlyBody{}, Status: http.StatusNoContent},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b ProofOnlyBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			if err := id.RemoveFactor(r.Context(), p, r.PathValue("id"), b.Proof.proof()); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}})
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/me/tokens", Policy: principal.TenantUser,
		Doc: Doc{Summary: "Your personal access tokens.", Tag: "self", Response: []identity.Token{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			list, err := id.Tokens(r.Context(), p)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, list)
			return nil
		}})
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/me/tokens", Policy: principal.TenantBrowser,
		Doc: Doc{Summary: "Create a personal access token; its secret is shown once.", Tag: "self", Request: TokenCreateBody{}, Response: TokenCreated{}, Status: http.StatusCreated},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b TokenCreateBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			t, secret, err := id.CreateToken(r.Context(), p, b.Name, b.Scopes, time.Duration(b.Days)*24*time.Hour)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusCreated, TokenCreated{Token: t, Secret: secret})
			return nil
		}})
	s.Handle(Route{Method: http.MethodDelete, Pattern: "/api/v1/me/tokens/{id}", Policy: principal.TenantUser,
		Doc: Doc{Summary: "Revoke one of your access tokens.", Tag: "self", Status: http.StatusNoContent},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			if err := id.RevokeToken(r.Context(), p, r.PathValue("id")); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}})

	// Tenant administration.
	admin := principal.HasRole(principal.TenantAdmin)
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/admin/accounts", Policy: admin,
		Doc: Doc{Summary: "The accounts of your organisation.", Tag: "admin", Response: []identity.Account{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			list, err := id.Accounts(r.Context(), p)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, list)
			return nil
		}})
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/admin/accounts/{id}/deactivate", Policy: admin,
		Doc: Doc{Summary: "Deactivate an account; its sessions and tokens stop at once.", Tag: "admin", Status: http.StatusNoContent},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			if err := id.Deactivate(r.Context(), p, identityUser(r.PathValue("id"))); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}})
	s.Handle(Route{Method: http.MethodPut, Pattern: "/api/v1/admin/accounts/{id}/roles", Policy: admin,
		Doc: Doc{Summary: "Set a member's roles; their sessions end, so the change takes a new sign-in.", Tag: "admin", Request: RolesBody{}, Status: http.StatusNoContent},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b RolesBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			roles := make([]principal.Role, len(b.Roles))
			for i, x := range b.Roles {
				roles[i] = principal.Role(x)
			}
			if err := id.SetRoles(r.Context(), p, identityUser(r.PathValue("id")), roles); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}})
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/admin/accounts/{id}/reset-link", Policy: admin,
		Doc: Doc{Summary: "Make a single-use, one-hour password reset link for an account, to hand over.", Tag: "admin", Response: LinkBody{}, Status: http.StatusCreated},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			link, err := id.ResetLink(r.Context(), p, identityUser(r.PathValue("id")))
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusCreated, LinkBody{Link: link})
			return nil
		}})
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/admin/invitations", Policy: admin,
		Doc: Doc{Summary: "Invite someone by email as a member or guest.", Tag: "admin", Request: InviteBody{}, Response: InviteCreated{}, Status: http.StatusCreated},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b InviteBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			roles := make([]principal.Role, len(b.Roles))
			for i, x := range b.Roles {
				roles[i] = principal.Role(x)
			}
			inv, link, err := id.Invite(r.Context(), p, b.Email, principal.Kind(b.Kind), roles)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusCreated, InviteCreated{Invitation: inv, Link: link})
			return nil
		}})
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/accounts/{id}/renew", Policy: principal.TenantMember,
		Doc: Doc{Summary: "Renew a guest's access for the tenant's guest period (the guest's sponsor or a tenant admin).", Tag: "admin", Response: identity.Account{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			a, err := id.RenewGuest(r.Context(), p, identityUser(r.PathValue("id")))
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, a)
			return nil
		}})
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/admin/invitations", Policy: admin,
		Doc: Doc{Summary: "Your organisation's invitations, pending and used.", Tag: "admin", Response: []identity.Invitation{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			list, err := id.Invitations(r.Context(), p)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, list)
			return nil
		}})
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/admin/signins", Policy: admin,
		Doc: Doc{Summary: "Your organisation's sign-in log, newest first, with the policies that applied.", Tag: "admin", Response: []identity.SignInEvent{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			list, err := id.SignIns(r.Context(), p, 200)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, list)
			return nil
		}})
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/admin/policy", Policy: admin,
		Doc: Doc{Summary: "Your organisation's sign-in policy: MFA, sessions, passwords, conditional access, named locations.", Tag: "admin", Response: identity.Policy{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			pol, err := id.Policy(r.Context(), p)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, pol)
			return nil
		}})
	s.Handle(Route{Method: http.MethodPut, Pattern: "/api/v1/admin/policy", Policy: admin,
		Doc: Doc{Summary: "Replace the sign-in policy; refused if it would lock you out, unless confirmed.", Tag: "admin", Request: PolicyBody{}, Status: http.StatusNoContent},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b PolicyBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			if err := id.SetPolicy(r.Context(), p, b.Policy, b.Confirm); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}})
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/admin/policy/what-if", Policy: admin,
		Doc: Doc{Summary: "Evaluate a sign-in against the current or a proposed policy, with every policy as if enabled.", Tag: "admin", Request: identity.WhatIfRequest{}, Response: access.Decision{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b identity.WhatIfRequest
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			d, err := id.WhatIf(r.Context(), p, b)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, d)
			return nil
		}})
}

func identityUser(s string) ids.UserID { return ids.UserID(s) }
