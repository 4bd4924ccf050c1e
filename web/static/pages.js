// The pages of the shell: sign-in, one placeholder per area, and "not found".

import { h, icon } from "./dom.js";
import { t, onChange, formatDateTime } from "./i18n.js";

/**
 * The signed-out sign-in page. The form checks its fields, and on a valid
 * submit says politely that signing in is not there yet. It sends nothing.
 */
function signInPage() {
  const status = h("p", { class: "notice form-status", role: "status" });

  const emailError = h("p", { class: "field-error", id: "signin-email-error", hidden: true });
  const email = h("input", {
    id: "signin-email",
    name: "email",
    type: "email",
    autocomplete: "username",
    autocapitalize: "off",
    spellcheck: "false",
    required: true,
  });
  const passwordError = h("p", { class: "field-error", id: "signin-password-error", hidden: true });
  const password = h("input", {
    id: "signin-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });

  const checks = [
    {
      input: email,
      error: emailError,
      messageKey: "signin.error.email",
      invalid: () => !email.value.trim() || !email.validity.valid,
    },
    { input: password, error: passwordError, messageKey: "signin.error.password", invalid: () => password.value === "" },
  ];

  /** showError marks the field of a check as invalid, or as valid. */
  function showError({ input, error, messageKey }, invalid) {
    if (invalid) {
      error.dataset.i18n = messageKey;
      error.textContent = t(messageKey);
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", error.id);
    } else {
      delete error.dataset.i18n;
      error.textContent = "";
      error.hidden = true;
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }
  }

  function onSubmit(event) {
    event.preventDefault();
    delete status.dataset.i18n;
    status.textContent = "";
    let firstInvalid = null;
    for (const check of checks) {
      const invalid = check.invalid();
      showError(check, invalid);
      if (invalid && !firstInvalid) {
        firstInvalid = check.input;
      }
    }
    if (firstInvalid) {
      firstInvalid.focus();
      return;
    }
    // Nothing is sent and nothing is kept: forget the password at once.
    password.value = "";
    // Set the message in the next frame so that a screen reader announces it
    // again after a second submit.
    requestAnimationFrame(() => {
      status.dataset.i18n = "signin.soon";
      status.textContent = t("signin.soon");
    });
  }

  // method="post" in case the submit listener ever fails: a native submit
  // must not put the password in a URL. The server refuses the POST.
  const form = h(
    "form",
    { class: "form", method: "post", novalidate: true, on: { submit: onSubmit } },
    h("div", { class: "field" }, h("label", { for: "signin-email", i18n: "signin.email" }), email, emailError),
    h("div", { class: "field" }, h("label", { for: "signin-password", i18n: "signin.password" }), password, passwordError),
    h("button", { type: "submit", class: "button button-primary button-block", i18n: "signin.submit" }),
    status,
  );

  return h(
    "section",
    { class: "auth", "aria-labelledby": "signin-heading" },
    h(
      "div",
      { class: "card auth-card" },
      h("div", { class: "auth-mark" }, icon("lock")),
      h("h1", { id: "signin-heading", i18n: "signin.heading" }),
      h("p", { class: "lead", i18n: "signin.lead" }),
      form,
    ),
    h("p", { class: "auth-privacy" }, icon("shield", "icon icon-small"), h("span", { i18n: "signin.privacy" })),
  );
}

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

/** The routes of the app. Keep the paths in step with Routes in web.go. */
export const routes = [
  { path: "/", redirect: "/signin" },
  { path: "/signin", titleKey: "signin.title", render: signInPage },
  { path: "/setup", titleKey: "setup.title", render: setupPage },
  {
    path: "/chat",
    titleKey: "nav.chat",
    render: areaPage({ iconName: "chat", titleKey: "nav.chat", descriptionKey: "area.chat.description" }),
  },
  {
    path: "/meetings",
    titleKey: "nav.meetings",
    render: areaPage({ iconName: "meetings", titleKey: "nav.meetings", descriptionKey: "area.meetings.description" }),
  },
  {
    path: "/admin",
    titleKey: "nav.admin",
    render: areaPage({ iconName: "admin", titleKey: "nav.admin", descriptionKey: "area.admin.description" }),
  },
  {
    path: "/compliance",
    titleKey: "nav.compliance",
    render: areaPage({ iconName: "compliance", titleKey: "nav.compliance", descriptionKey: "area.compliance.description" }),
  },
  {
    path: "/operator",
    titleKey: "nav.operator",
    render: areaPage({ iconName: "operator", titleKey: "nav.operator", descriptionKey: "area.operator.description" }),
  },
  {
    path: "/trust",
    titleKey: "nav.trust",
    render: areaPage({ iconName: "trust", titleKey: "nav.trust", descriptionKey: "area.trust.description" }),
  },
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
