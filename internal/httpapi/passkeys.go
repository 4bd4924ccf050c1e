package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// WebAuthnJSON is a WebAuthn JSON object passed through untouched: the
// options for navigator.credentials.create or .get (under "publicKey",
// binary fields base64url-encoded), or the browser's PublicKeyCredential
// (as its toJSON() gives it).
type WebAuthnJSON struct{ raw json.RawMessage }

// MarshalJSON implements json.Marshaler.
func (j WebAuthnJSON) MarshalJSON() ([]byte, error) {
	if len(j.raw) == 0 {
		return []byte("null"), nil
	}
	return j.raw, nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (j *WebAuthnJSON) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		j.raw = nil
		return nil
	}
	j.raw = append(j.raw[:0], b...)
	return nil
}

// IsZero reports an absent value.
func (j WebAuthnJSON) IsZero() bool { return len(j.raw) == 0 }

// Bytes returns the JSON.
func (j WebAuthnJSON) Bytes() []byte { return j.raw }

// Bodies of the passkey and operator routes.
type (
	PasskeyCeremonyBody struct {
		Ceremony string       `json:"ceremony" doc:"Send it back with the browser's response; it works once, for a few minutes."`
		Options  WebAuthnJSON `json:"options" doc:"For navigator.credentials.create or .get: the options under publicKey, binary fields base64url-encoded."`
		Expires  time.Time    `json:"expires"`
	}
	PasskeyEnrolBody struct {
		Ceremony   string       `json:"ceremony"`
		Name       string       `json:"name,omitempty" doc:"Your name for the passkey, such as \"Laptop\"."`
		Credential WebAuthnJSON `json:"credential" doc:"The PublicKeyCredential from navigator.credentials.create, as JSON."`
		Proof      *ProofBody   `json:"proof,omitempty" doc:"Proof of an existing second factor, when there is one: a code, or a passkey assertion."`
	}
	PasskeySignInBody struct {
		Ceremony   string       `json:"ceremony"`
		Credential WebAuthnJSON `json:"credential" doc:"The PublicKeyCredential from navigator.credentials.get, as JSON."`
	}
	OperatorSetupBody struct {
		Token       string `json:"token" doc:"The token in the setup link printed at start."`
		Email       string `json:"email"`
		DisplayName string `json:"display_name"`
	}
	OperatorSetupFinishBody struct {
		Token      string       `json:"token"`
		Ceremony   string       `json:"ceremony"`
		Credential WebAuthnJSON `json:"credential" doc:"The PublicKeyCredential from navigator.credentials.create, as JSON."`
	}
	TenantCreateBody struct {
		Name       string `json:"name"`
		Slug       string `json:"slug,omitempty" doc:"Short name for sign-in links; derived from the name when empty."`
		Domain     string `json:"domain" doc:"The organisation's email domain."`
		AdminEmail string `json:"admin_email" doc:"Receives the first admin's invitation."`
	}
	TenantCreated struct {
		Tenant identity.Tenant `json:"tenant"`
		Link   string          `json:"link" doc:"Shown once: the first admin's single-use invitation link."`
	}
)

func ceremonyBody(c identity.Ceremony) PasskeyCeremonyBody {
	return PasskeyCeremonyBody{Ceremony: c.ID, Options: WebAuthnJSON{raw: c.Options}, Expires: c.Expires}
}

// signedIn is the body answering a sign-in that started or completed a session.
func signedIn(res identity.SignInResult) SessionBody {
	body := SessionBody{State: res.State, Factors: res.Factors, Notice: res.Notice, CSRF: identity.CSRFToken(res.Token), User: string(res.Session.Account), Kind: "pending"}
	if res.State == identity.SessionActive {
		body.Kind, body.Tenant = "signed_in", string(res.Session.Tenant)
	}
	return body
}

// RegisterPasskeys registers passkey enrolment and sign-in, the first
// operator's setup, and the operator's tenant routes.
func RegisterPasskeys(s *Server, id *identity.Service, tls bool) {
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/me/passkeys/begin", Policy: principal.SelfService,
		Doc: Doc{Summary: "Start registering a passkey for your account.", Tag: "self", Response: PasskeyCeremonyBody{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			c, err := id.BeginPasskeyEnrolment(r.Context(), p)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, ceremonyBody(c))
			return nil
		}})
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/me/passkeys/finish", Policy: principal.SelfService,
		Doc: Doc{Summary: "Finish registering a passkey with the browser's response; it becomes one of your second factors.", Tag: "self",
			Request: PasskeyEnrolBody{}, Response: identity.Factor{}, Status: http.StatusCreated},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b PasskeyEnrolBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			f, token, err := id.FinishPasskeyEnrolment(r.Context(), p, b.Ceremony, b.Name, b.Credential.Bytes(), b.Proof.proof())
			if err != nil {
				return err
			}
			if token != "" {
				setSessionCookie(w, tls, token)
			}
			WriteJSON(w, http.StatusCreated, f)
			return nil
		}})

	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/auth/passkey/begin", Policy: principal.Public,
		Doc: Doc{Summary: "Start a passkey sign-in (any of your passkeys; no email needed). Also starts a passkey proof.", Tag: "identity", Response: PasskeyCeremonyBody{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			c, err := id.BeginPasskeySignIn(r.Context())
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, ceremonyBody(c))
			return nil
		}})
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/auth/passkey/finish", Policy: principal.Public,
		Doc: Doc{Summary: "Sign in with a passkey, or complete a sign-in waiting for a second factor.", Tag: "identity", Request: PasskeySignInBody{}, Response: SessionBody{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b PasskeySignInBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			res, err := id.FinishPasskeySignIn(r.Context(), p, b.Ceremony, b.Credential.Bytes(), r.UserAgent())
			if err != nil {
				return err
			}
			setSessionCookie(w, tls, res.Token)
			WriteJSON(w, http.StatusOK, signedIn(res))
			return nil
		}})

	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/setup/operator/begin", Policy: principal.Public,
		Doc: Doc{Summary: "Start setting up the first operator with the setup link's token: register their passkey.", Tag: "setup",
			Request: OperatorSetupBody{}, Response: PasskeyCeremonyBody{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b OperatorSetupBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			c, err := id.BeginOperatorSetup(r.Context(), b.Token, b.Email, b.DisplayName)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, ceremonyBody(c))
			return nil
		}})
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/setup/operator/finish", Policy: principal.Public,
		Doc: Doc{Summary: "Create the first operator with their passkey and sign them in; the setup link stops working.", Tag: "setup",
			Request: OperatorSetupFinishBody{}, Response: SessionBody{}, Status: http.StatusCreated},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b OperatorSetupFinishBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			res, err := id.FinishOperatorSetup(r.Context(), b.Token, b.Ceremony, b.Credential.Bytes(), p.Source, r.UserAgent())
			if err != nil {
				return err
			}
			setSessionCookie(w, tls, res.Token)
			WriteJSON(w, http.StatusCreated, signedIn(res))
			return nil
		}})

	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/operator/tenants", Policy: principal.OperatorOnly,
		Doc: Doc{Summary: "Every tenant of this deployment.", Tag: "operator", Response: []identity.Tenant{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			list, err := id.Tenants(r.Context(), p)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, list)
			return nil
		}})
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/operator/tenants", Policy: principal.OperatorOnly,
		Doc: Doc{Summary: "Create a tenant with its email domain and invite its first admin.", Tag: "operator",
			Request: TenantCreateBody{}, Response: TenantCreated{}, Status: http.StatusCreated},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b TenantCreateBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			t, link, err := id.CreateTenant(r.Context(), p, identity.NewTenant{Name: b.Name, Slug: b.Slug, Domain: b.Domain, AdminEmail: b.AdminEmail})
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusCreated, TenantCreated{Tenant: t, Link: link})
			return nil
		}})
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/operator/tenants/{id}/domains", Policy: principal.OperatorOnly,
		Doc: Doc{Summary: "Add a verified email domain to a tenant.", Tag: "operator", Request: DomainBody{}, Response: identity.Tenant{}},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var b DomainBody
			if err := DecodeJSON(r, &b); err != nil {
				return err
			}
			t, err := id.AddDomain(r.Context(), p, ids.TenantID(r.PathValue("id")), b.Domain)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, t)
			return nil
		}})
}

// DomainBody names an email domain.
type DomainBody struct {
	Domain string `json:"domain"`
}
