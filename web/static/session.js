// Who is signed in: the answer of GET /api/v1/session, kept for the pages,
// the header and the router, with listeners told of every change.

import { api, beginRequests, endRequests, setCSRF } from "./api.js";
import { navigate } from "./router.js";
import { setFlash } from "./ui.js";

const ANONYMOUS = Object.freeze({ state: "anonymous", kind: "anonymous" });

/** @type {Record<string, any>} */
let current = ANONYMOUS;
const listeners = new Set();

/** session returns the session as the API last described it. */
export function session() {
  return current;
}

/** isActive reports whether someone is fully signed in. */
export function isActive() {
  return current.state === "active";
}

/** isTenantAdmin reports whether the person signed in holds tenant_admin. */
export function isTenantAdmin() {
  return isActive() && Array.isArray(current.roles) && current.roles.includes("tenant_admin");
}

/** isComplianceOfficer reports whether the person signed in holds compliance_officer. */
export function isComplianceOfficer() {
  return isActive() && Array.isArray(current.roles) && current.roles.includes("compliance_officer");
}

/**
 * setSession records a session body (of GET /api/v1/session, or of a
 * sign-in answer) and tells the listeners.
 * @param {Record<string, any>|null} body
 */
export function setSession(body) {
  current = body && typeof body.state === "string" ? Object.freeze({ ...body }) : ANONYMOUS;
  if (current === ANONYMOUS) {
    setCSRF("");
  }
  for (const fn of listeners) {
    fn(current);
  }
}

/**
 * refreshSession asks the API who is signed in. When it cannot tell (the
 * server is unreachable), the person is treated as signed out.
 */
export async function refreshSession() {
  try {
    setSession(await api.get("/api/v1/session"));
  } catch {
    setSession(null);
  }
  return current;
}

/** signOut ends the session on the server and here. */
export async function signOut() {
  // Nothing more of this session goes to the server: what is in flight is
  // cancelled, and what the pages would still send waits for the next one.
  endRequests();
  try {
    await api.post("/api/v1/auth/signout", undefined, { detached: true });
  } finally {
    setSession(null); // the pages stop what they were doing
    beginRequests();
  }
}

/**
 * onSessionChange calls fn with the session after every change.
 * @param {(s: Record<string, any>) => void} fn
 */
export function onSessionChange(fn) {
  listeners.add(fn);
}

/**
 * sessionEnded handles a session that ended while a page was open (expired,
 * ended from another device, or the account deactivated): the person is
 * signed out here too and sent to sign in, back to this page afterwards.
 */
export function sessionEnded() {
  endRequests();
  setSession(null);
  beginRequests();
  setFlash({ messageKey: "session.ended", tone: "warning" });
  navigate("/signin?next=" + encodeURIComponent(location.pathname + location.search), { replace: true });
}

/**
 * showLoadError shows why something could not be loaded in alert; a request
 * refused for want of a session (401) means the session ended.
 * @param {unknown} err
 * @param {{show: (err: unknown) => void}} alert
 */
export function showLoadError(err, alert) {
  if (err && err.status === 401) {
    sessionEnded();
    return;
  }
  alert.show(err);
}
