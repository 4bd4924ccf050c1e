// Pages reached from a link sent to the person: accepting an invitation
// (/invite#org=…&token=…) and choosing a new password (/reset#token=…).
//
// The token travels in the URL's fragment, which browsers never send to a
// server. The page reads it once, keeps it in memory and takes it out of the
// address bar and the history entry, so it is not on screen while the
// person types (or shares their screen).

import { h, icon } from "./dom.js";
import { api } from "./api.js";
import { navigate } from "./router.js";
import { alertRegion, busy, button, checkbox, field, isBusy, setFlash } from "./ui.js";
import { prefillSignIn } from "./signin.js";

/** Tokens read from the fragment, by page path. */
const tokens = new Map();

/**
 * readFragment returns the fragment's parameters for a page, once taken out
 * of the address bar, and the same again on the next render of the page.
 * @param {string} path
 */
function readFragment(path) {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("token")) {
    tokens.set(path, { token: params.get("token"), org: params.get("org") || "" });
    history.replaceState(history.state, "", location.pathname + location.search);
  }
  return tokens.get(path) || { token: "", org: "" };
}

/** passwordField is a new-password field with the rules, and a "show" switch. */
function newPasswordField(id) {
  const pw = field({
    id,
    labelKey: "password.new",
    type: "password",
    hintKey: "password.rules",
    attrs: { name: "new-password", autocomplete: "new-password", required: true, maxlength: "1024" },
  });
  const show = checkbox({ labelKey: "password.show", id: `${id}-show` });
  show.input.addEventListener("change", () => {
    pw.input.type = show.input.checked ? "text" : "password";
  });
  return { ...pw, el: h("div", { class: "field-group" }, pw.el, show.el) };
}

/** linkProblem is the card for a link without its token. */
function linkProblem({ headingKey, bodyKey }) {
  return h(
    "section",
    { class: "auth", "aria-labelledby": "link-heading" },
    h(
      "div",
      { class: "card auth-card" },
      h("div", { class: "auth-mark auth-mark-warning" }, icon("info")),
      h("h1", { id: "link-heading", i18n: headingKey }),
      h("p", { class: "lead", i18n: bodyKey }),
      h("p", { class: "auth-actions" }, h("a", { class: "button button-secondary", href: "/signin", i18n: "notfound.home" })),
    ),
  );
}

/** The invitation page: display name and a new password make the account. */
export function invitePage() {
  const { token, org } = readFragment("/invite");
  if (!token) {
    return linkProblem({ headingKey: "invite.heading", bodyKey: "invite.missing" });
  }
  const alert = alertRegion();
  const name = field({
    id: "invite-name",
    labelKey: "invite.name",
    hintKey: "invite.name.hint",
    attrs: { name: "name", autocomplete: "name", required: true, maxlength: "100" },
  });
  const pw = newPasswordField("invite-password");
  const submit = button({ labelKey: "invite.submit", kind: "primary", type: "submit", block: true });

  async function onSubmit(event) {
    event.preventDefault();
    if (isBusy(submit)) {
      return;
    }
    alert.clear();
    const nameBad = name.input.value.trim() === "";
    name.setError(nameBad ? { messageKey: "invite.error.name" } : null);
    const pwBad = pw.input.value === "";
    pw.setError(pwBad ? { messageKey: "password.error.empty" } : null);
    if (nameBad || pwBad) {
      (nameBad ? name.input : pw.input).focus();
      return;
    }
    const done = busy(submit, { messageKey: "invite.busy" });
    try {
      const account = await api.post("/api/v1/invitations/accept", {
        token,
        display_name: name.input.value.trim(),
        password: pw.input.value,
      });
      done();
      tokens.delete("/invite");
      prefillSignIn({ email: account.email, organisation: org });
      setFlash({ messageKey: "invite.done", tone: "success" });
      navigate("/signin", { replace: true });
    } catch (err) {
      done();
      alert.show(err);
    }
  }

  return h(
    "section",
    { class: "auth", "aria-labelledby": "invite-heading" },
    h(
      "div",
      { class: "card auth-card" },
      h("div", { class: "auth-mark" }, icon("mail")),
      org
        ? h("h1", { id: "invite-heading", i18n: "invite.headingOrg", i18nParams: { org } })
        : h("h1", { id: "invite-heading", i18n: "invite.heading" }),
      h("p", { class: "lead", i18n: "invite.lead" }),
      h(
        "form",
        { class: "form", method: "post", novalidate: true, on: { submit: onSubmit } },
        name.el,
        pw.el,
        alert.el,
        submit,
      ),
    ),
    h("p", { class: "auth-privacy" }, icon("shield", "icon icon-small"), h("span", { i18n: "invite.privacy" })),
  );
}

/** The password reset page: a new password, with the link's token. */
export function resetPage() {
  const { token } = readFragment("/reset");
  if (!token) {
    return linkProblem({ headingKey: "reset.heading", bodyKey: "reset.missing" });
  }
  const alert = alertRegion();
  const pw = newPasswordField("reset-password");
  const submit = button({ labelKey: "reset.submit", kind: "primary", type: "submit", block: true });

  async function onSubmit(event) {
    event.preventDefault();
    if (isBusy(submit)) {
      return;
    }
    alert.clear();
    if (pw.input.value === "") {
      pw.setError({ messageKey: "password.error.empty" });
      pw.input.focus();
      return;
    }
    pw.setError(null);
    const done = busy(submit, { messageKey: "common.saving" });
    try {
      await api.post("/api/v1/password/reset", { token, password: pw.input.value });
      done();
      tokens.delete("/reset");
      setFlash({ messageKey: "reset.done", tone: "success" });
      navigate("/signin", { replace: true });
    } catch (err) {
      done();
      alert.show(err);
    }
  }

  return h(
    "section",
    { class: "auth", "aria-labelledby": "reset-heading" },
    h(
      "div",
      { class: "card auth-card" },
      h("div", { class: "auth-mark" }, icon("lock")),
      h("h1", { id: "reset-heading", i18n: "reset.heading" }),
      h("p", { class: "lead", i18n: "reset.lead" }),
      h("form", { class: "form", method: "post", novalidate: true, on: { submit: onSubmit } }, pw.el, alert.el, submit),
    ),
  );
}
