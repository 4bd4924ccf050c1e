// Passkeys (WebAuthn): signing in with one, and adding one to an account.
//
// The API speaks JSON, with binary fields in base64url; the browser's
// navigator.credentials wants and gives ArrayBuffers. This module converts
// both ways, field by field, for the options the server sends and the
// credential the browser returns.
//
// Ceremonies: POST …/begin answers {ceremony, options: {publicKey}}; the
// browser asks the person's device; POST …/finish with {ceremony,
// credential} completes it.

import { api, ApiError } from "./api.js";
import { describeError } from "./ui.js";

/** base64urlToBuffer decodes base64url (with or without padding). */
export function base64urlToBuffer(s) {
  const b64 = String(s).replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) {
    out[i] = bin.charCodeAt(i);
  }
  return out.buffer;
}

/** bufferToBase64url encodes bytes as base64url without padding. */
export function bufferToBase64url(buf) {
  const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  let bin = "";
  for (const b of bytes) {
    bin += String.fromCharCode(b);
  }
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeCredentialList(list) {
  return Array.isArray(list) ? list.map((c) => ({ ...c, id: base64urlToBuffer(c.id) })) : undefined;
}

/** decodeRequestOptions turns the server's login options into what navigator.credentials.get takes. */
export function decodeRequestOptions(o) {
  const out = { ...o, challenge: base64urlToBuffer(o.challenge) };
  const allow = decodeCredentialList(o.allowCredentials);
  if (allow) {
    out.allowCredentials = allow;
  } else {
    delete out.allowCredentials;
  }
  return out;
}

/** decodeCreationOptions turns the server's registration options into what navigator.credentials.create takes. */
export function decodeCreationOptions(o) {
  const out = { ...o, challenge: base64urlToBuffer(o.challenge), user: { ...o.user, id: base64urlToBuffer(o.user.id) } };
  const exclude = decodeCredentialList(o.excludeCredentials);
  if (exclude) {
    out.excludeCredentials = exclude;
  } else {
    delete out.excludeCredentials;
  }
  return out;
}

function encodeCommon(cred) {
  return {
    id: cred.id,
    rawId: bufferToBase64url(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment || undefined,
    clientExtensionResults: typeof cred.getClientExtensionResults === "function" ? cred.getClientExtensionResults() : {},
  };
}

/** encodeAssertion turns the browser's login credential into JSON for the server. */
export function encodeAssertion(cred) {
  const r = cred.response;
  return {
    ...encodeCommon(cred),
    response: {
      clientDataJSON: bufferToBase64url(r.clientDataJSON),
      authenticatorData: bufferToBase64url(r.authenticatorData),
      signature: bufferToBase64url(r.signature),
      userHandle: r.userHandle ? bufferToBase64url(r.userHandle) : undefined,
    },
  };
}

/** encodeAttestation turns the browser's new credential into JSON for the server. */
export function encodeAttestation(cred) {
  const r = cred.response;
  return {
    ...encodeCommon(cred),
    response: {
      clientDataJSON: bufferToBase64url(r.clientDataJSON),
      attestationObject: bufferToBase64url(r.attestationObject),
      transports: typeof r.getTransports === "function" ? r.getTransports() : undefined,
    },
  };
}

/** PasskeysUnsupported is thrown when the browser cannot use passkeys. */
export class PasskeysUnsupported extends Error {
  constructor() {
    super("passkeys unsupported");
    this.name = "PasskeysUnsupported";
  }
}

function checkSupport() {
  if (typeof window.PublicKeyCredential !== "function" || !navigator.credentials) {
    throw new PasskeysUnsupported();
  }
}

/**
 * signInWithPasskey runs a login ceremony: with no account known (the
 * first step of sign-in, a discoverable passkey) or for the sign-in that
 * waits for a second factor (the server knows it from the session). It
 * resolves to the same body as a password sign-in.
 */
export async function signInWithPasskey() {
  checkSupport();
  const begin = await api.post("/api/v1/auth/passkey/begin", {});
  const cred = await navigator.credentials.get({ publicKey: decodeRequestOptions(begin.options.publicKey) });
  return api.post("/api/v1/auth/passkey/finish", { ceremony: begin.ceremony, credential: encodeAssertion(cred) });
}

/**
 * addPasskey runs a registration ceremony for the person signed in and
 * resolves to the new factor. When the account already has second factors
 * the API wants proof of one: confirm then gets a function that finishes
 * the ceremony with a proof, and resolves to its result (null when the
 * person gives up).
 * @param {{confirm?: (finish: (proof: object) => Promise<any>) => Promise<any>}} [options]
 */
export async function addPasskey({ confirm } = {}) {
  checkSupport();
  const begin = await api.post("/api/v1/me/passkeys/begin", {});
  const cred = await navigator.credentials.create({ publicKey: decodeCreationOptions(begin.options.publicKey) });
  const body = { ceremony: begin.ceremony, credential: encodeAttestation(cred) };
  if (confirm) {
    return confirm((proof) => api.post("/api/v1/me/passkeys/finish", { ...body, proof }));
  }
  return api.post("/api/v1/me/passkeys/finish", body);
}

/**
 * describePasskeyError says what went wrong with a passkey in words: the
 * server without passkeys (404), a browser without them, a cancelled
 * request, a passkey already added; else as describeError does.
 * @param {unknown} err
 */
export function describePasskeyError(err) {
  if (err instanceof ApiError && err.status === 404) {
    return { messageKey: "passkey.unavailable" };
  }
  if (err instanceof PasskeysUnsupported) {
    return { messageKey: "passkey.unsupported" };
  }
  if (err && err.name === "InvalidStateError") {
    return { messageKey: "passkey.already" };
  }
  if (err && (err.name === "NotAllowedError" || err.name === "AbortError")) {
    return { messageKey: "passkey.cancelled" };
  }
  return describeError(err);
}
