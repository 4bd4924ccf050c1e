// The route table, the pages of the shell (first-operator setup, one
// placeholder per area still to come, "not found"), and the pages built in
// their own modules: sign-in, invitations and password reset, security
// settings, the admin center, the compliance center, the operator console
// and chat.

import { h, icon } from "./dom.js";
import { t, onChange, formatDateTime } from "./i18n.js";
import { signInPage } from "./signin.js";
import { invitePage, resetPage } from "./invite.js";
import { securityPage } from "./security.js";
import { adminPage } from "./admin.js";
import { compliancePage } from "./compliance.js";
import { chatPage } from "./chat.js";
import { meetingsPage } from "./meetings.js";
import { meetPage } from "./meet.js";
import { operatorPage } from "./operator.js";
import { trustPage } from "./trust.js";

/**
 * setupPage checks the one-time link that `kaigi serve` prints for setting up
 * the first operator. The token travels in the URL's fragment, which browsers
 * never send to a server, and is posted to the API only to be checked.
 */
function setupPage() {
  const status = h("p", { class: "notice form-status", role: "status", id: "setup-status" });
  let state = { messageKey: "setup.checking" };

  function show() {
    status.textContent = t(state.messageKey, state.params);
    status.classList.toggle("notice-error", state.error === true);
  }
  onChange(show);

  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (!token) {
    state = { messageKey: "setup.missing", error: true };
  } else {
    fetch("/api/v1/setup/verify", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token }),
      credentials: "same-origin",
    })
      .then(async (resp) => {
        const body = await resp.json().catch(() => ({}));
        if (resp.ok && body.valid) {
          state = { messageKey: "setup.valid", params: { time: formatDateTime(new Date(body.expires)) } };
        } else {
          state = { messageKey: "setup.invalid", error: true };
        }
      })
      .catch(() => {
        state = { messageKey: "setup.offline", error: true };
      })
      .finally(show);
  }
  show();

  return h(
    "section",
    { class: "auth", "aria-labelledby": "setup-heading" },
    h(
      "div",
      { class: "card auth-card" },
      h("div", { class: "auth-mark" }, icon("shield")),
      h("h1", { id: "setup-heading", i18n: "setup.heading" }),
      h("p", { class: "lead", i18n: "setup.lead" }),
      status,
    ),
  );
}

/**
 * areaPage is the placeholder of an area that is still to come.
 * @param {{iconName: string, titleKey: string, descriptionKey: string}} area
 */
function areaPage({ iconName, titleKey, descriptionKey }) {
  return () =>
    h(
      "section",
      { class: "area" },
      h(
        "header",
        { class: "area-header" },
        h("span", { class: "area-icon" }, icon(iconName)),
        h("div", {}, h("h1", { i18n: titleKey }), h("p", { class: "lead", i18n: descriptionKey })),
      ),
      h(
        "div",
        { class: "empty-state" },
        h("span", { class: "empty-state-icon" }, icon("clock")),
        h("h2", { i18n: "area.soon.title" }),
        h("p", { i18n: "area.soon.body" }),
      ),
    );
}

/**
 * The routes of the app. Keep the paths in step with Routes in web.go.
 * signedIn pages send a person who is not signed in to sign in first (see
 * the guard in app.js); enrolment pages also serve a session that may only
 * enrol a second factor.
 */
export const routes = [
  { path: "/", redirect: "/signin" },
  { path: "/signin", titleKey: "signin.title", render: signInPage },
  { path: "/invite", titleKey: "invite.title", render: invitePage },
  { path: "/reset", titleKey: "reset.title", render: resetPage },
  { path: "/setup", titleKey: "setup.title", render: setupPage },
  { path: "/chat", titleKey: "nav.chat", render: chatPage, signedIn: true },
  { path: "/meetings", titleKey: "nav.meetings", render: meetingsPage, signedIn: true },
  { path: "/meet", titleKey: "meet.title", render: meetPage },
  { path: "/settings", titleKey: "security.title", render: securityPage, signedIn: true, enrolment: true },
  { path: "/admin", titleKey: "nav.admin", render: adminPage, signedIn: true },
  { path: "/compliance", titleKey: "nav.compliance", render: compliancePage, signedIn: true },
  { path: "/operator", titleKey: "nav.operator", render: operatorPage },
  { path: "/trust", titleKey: "nav.trust", render: trustPage },
];

/** The page for a path that no route matches. */
export const notFound = {
  path: "",
  titleKey: "notfound.title",
  render: () =>
    h(
      "section",
      { class: "area not-found" },
      h("span", { class: "area-icon" }, icon("compass")),
      h("h1", { i18n: "notfound.title" }),
      h("p", { class: "lead", i18n: "notfound.body" }),
      h("p", {}, h("a", { class: "button button-primary", href: "/signin", i18n: "notfound.home" })),
    ),
};
