package app_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/kaigi/kaigi/internal/browsertest"
	"github.com/kaigi/kaigi/internal/identity"
)

// passkeyPageJS drives Kaigi's passkey API from inside a page, as a web app
// would: fetch for the API (with the session's anti-forgery token), and
// navigator.credentials.create and .get for the ceremonies, converting the
// base64url fields of the server's options to ArrayBuffers and the
// browser's ArrayBuffers back to base64url. It is kept here, not in web/,
// so that this test does not depend on the product UI.
const passkeyPageJS = `
window.kaigiPasskeys = (() => {
  const b64u = {
    decode(s) {
      s = s.replace(/-/g, "+").replace(/_/g, "/");
      while (s.length % 4) s += "=";
      const bin = atob(s), out = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
      return out.buffer;
    },
    encode(buf) {
      let bin = "";
      for (const b of new Uint8Array(buf)) bin += String.fromCharCode(b);
      return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    },
  };
  let csrf = "";
  async function api(method, path, body) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (csrf) headers["X-CSRF-Token"] = csrf;
    const r = await fetch(path, {method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body)});
    const data = r.status === 204 ? {} : await r.json();
    if (data.csrf) csrf = data.csrf;
    if (!r.ok) throw new Error(method + " " + path + ": " + r.status + " " + JSON.stringify(data));
    return data;
  }
  function creationOptions(o) {
    const pk = structuredClone(o.publicKey);
    pk.challenge = b64u.decode(pk.challenge);
    pk.user.id = b64u.decode(pk.user.id);
    for (const c of pk.excludeCredentials || []) c.id = b64u.decode(c.id);
    return {publicKey: pk};
  }
  function requestOptions(o) {
    const pk = structuredClone(o.publicKey);
    pk.challenge = b64u.decode(pk.challenge);
    for (const c of pk.allowCredentials || []) c.id = b64u.decode(c.id);
    return {publicKey: pk};
  }
  function common(cred) {
    return {id: cred.id, rawId: b64u.encode(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment, clientExtensionResults: cred.getClientExtensionResults()};
  }
  function attestationJSON(cred) {
    const r = cred.response;
    return {...common(cred), response: {clientDataJSON: b64u.encode(r.clientDataJSON),
      attestationObject: b64u.encode(r.attestationObject), transports: r.getTransports()}};
  }
  function assertionJSON(cred) {
    const r = cred.response;
    return {...common(cred), response: {clientDataJSON: b64u.encode(r.clientDataJSON),
      authenticatorData: b64u.encode(r.authenticatorData), signature: b64u.encode(r.signature),
      userHandle: r.userHandle ? b64u.encode(r.userHandle) : null}};
  }
  return {
    signInWithPassword: (email, password) => api("POST", "/api/v1/auth/signin", {email, password}),
    async register(name) {
      const begin = await api("POST", "/api/v1/me/passkeys/begin");
      const cred = await navigator.credentials.create(creationOptions(begin.options));
      const factor = await api("POST", "/api/v1/me/passkeys/finish", {ceremony: begin.ceremony, name, credential: attestationJSON(cred)});
      await api("GET", "/api/v1/session"); // the session's token changed: fetch its anti-forgery token
      return factor;
    },
    async signOut() {
      await api("POST", "/api/v1/auth/signout");
      csrf = "";
    },
    async signIn() {
      const begin = await api("POST", "/api/v1/auth/passkey/begin");
      const cred = await navigator.credentials.get(requestOptions(begin.options));
      return api("POST", "/api/v1/auth/passkey/finish", {ceremony: begin.ceremony, credential: assertionJSON(cred)});
    },
    session: () => api("GET", "/api/v1/session"),
  };
})();
true
`

// TestBrowserRegistersAndSignsInWithAPasskey registers a passkey in
// Chromium's virtual authenticator from a page of a real node, signs out,
// and signs back in with the passkey alone.
//
// The node's public URL is http://localhost:<port>: WebAuthn needs a secure
// context, which http://127.0.0.1 is, but Chromium refuses an IP address as
// the RP ID ("This is an invalid domain"), so the page is opened at
// localhost.
func TestBrowserRegistersAndSignsInWithAPasskey(t *testing.T) {
	w := startPasskeyWorld(t)
	b := browsertest.New(t)
	page := b.NewPage(t)

	ctx, cancel := page.TimeoutContext()
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("enable WebAuthn: %v", err)
	}
	added, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol:                    webauthn.AuthenticatorProtocolCtap2,
		Transport:                   webauthn.AuthenticatorTransportInternal,
		HasResidentKey:              true,
		HasUserVerification:         true,
		IsUserVerified:              true,
		AutomaticPresenceSimulation: true,
	}})
	if err != nil {
		t.Fatalf("add a virtual authenticator: %v", err)
	}

	// A page of the node's origin that runs no script of its own.
	page.Navigate(t, w.s.Config.URL()+"/healthz")
	browsertest.Eval[bool](t, page, passkeyPageJS)

	sb := browsertest.Eval[map[string]any](t, page, `kaigiPasskeys.signInWithPassword("admin@acme.example", "`+goodPassword+`")`)
	if sb["state"] != identity.SessionEnrolMFA {
		t.Fatalf("password sign-in: %v, want enrol_mfa", sb)
	}
	f := browsertest.Eval[map[string]any](t, page, `kaigiPasskeys.register("Virtual authenticator")`)
	if f["kind"] != identity.FactorPasskey || f["name"] != "Virtual authenticator" {
		t.Fatalf("registered factor: %v", f)
	}
	if s := browsertest.Eval[map[string]any](t, page, `kaigiPasskeys.session()`); s["state"] != identity.SessionActive {
		t.Fatalf("session after enrolment: %v", s)
	}

	// The authenticator holds one discoverable credential for localhost,
	// under the account's user handle; the server holds the same credential.
	creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams(added))
	if err != nil {
		t.Fatal(err)
	}
	acct := mustAccount(t, w, "admin@acme.example")
	handle, err := w.s.DB.PasskeyHandle(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	factors, err := w.s.DB.Factors(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	if len(creds.Credentials) != 1 || len(factors) != 1 {
		t.Fatalf("%d credentials in the authenticator, %d factors on the server; want 1 and 1", len(creds.Credentials), len(factors))
	}
	c := creds.Credentials[0]
	if !c.IsResidentCredential || c.RpID != "localhost" || !bytes.Equal(c.UserHandle, handle) || !bytes.Equal(c.CredentialID, factors[0].CredentialID) {
		t.Fatalf("credential: resident %v, RP ID %q, handle matches %v, id matches %v",
			c.IsResidentCredential, c.RpID, bytes.Equal(c.UserHandle, handle), bytes.Equal(c.CredentialID, factors[0].CredentialID))
	}

	browsertest.Eval[bool](t, page, `kaigiPasskeys.signOut().then(() => true)`)
	if s := browsertest.Eval[map[string]any](t, page, `kaigiPasskeys.session()`); s["state"] != "anonymous" {
		t.Fatalf("session after sign-out: %v", s)
	}
	sb = browsertest.Eval[map[string]any](t, page, `kaigiPasskeys.signIn()`)
	if sb["state"] != identity.SessionActive || sb["tenant"] != string(w.tenant.ID) || sb["user"] != string(acct) {
		t.Fatalf("passkey sign-in: %v", sb)
	}
	s := browsertest.Eval[map[string]any](t, page, `kaigiPasskeys.session()`)
	if s["state"] != identity.SessionActive || s["email"] != "admin@acme.example" {
		t.Fatalf("session after passkey sign-in: %v", s)
	}
	after, err := w.s.DB.Factors(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	if after[0].LastUsed.IsZero() {
		t.Fatal("the passkey's use was not recorded")
	}
	for _, m := range page.ConsoleErrors() {
		if !strings.HasSuffix(m.URL, "/favicon.ico") { // the JSON page has no icon; Chromium asks anyway
			t.Errorf("console error: %s", m)
		}
	}
}
