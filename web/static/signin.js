// The sign-in page: email and password (or a passkey), then, when the
// organisation asks for it, the second factor. Enrolling a first second
// factor happens on the security settings page (see security.js).

import { h, icon } from "./dom.js";
import { api } from "./api.js";
import { navigate } from "./router.js";
import { session, setSession, refreshSession, signOut } from "./session.js";
import { alertRegion, busy, button, codeField, field, isBusy, safeNext, setFlash } from "./ui.js";
import { describePasskeyError, signInWithPasskey } from "./passkey.js";

/** What the next sign-in form starts with, after accepting an invitation. */
let prefill = { email: "", organisation: "" };

/**
 * prefillSignIn fills in the next sign-in form, so that a person who has
 * just made their account need not type their email again.
 * @param {{email?: string, organisation?: string}} p
 */
export function prefillSignIn(p) {
  prefill = { email: p.email || "", organisation: p.organisation || "" };
}

/** nextPath is where to go after signing in: ?next= if it is safe, else chat. */
function nextPath() {
  return safeNext(new URLSearchParams(location.search).get("next")) || "/chat";
}

/**
 * afterSignIn goes on from an answer of the sign-in API: to the page the
 * person wanted, to the second factor, or to enrolling one.
 * @param {Record<string, any>} body
 * @param {(factors: string[]|null) => void} showSecondFactor
 */
async function afterSignIn(body, showSecondFactor) {
  if (body.notice) {
    setFlash({ text: body.notice, tone: "warning", link: { href: "/settings/security", labelKey: "signin.notice.setUp" } });
  }
  switch (body.state) {
    case "active":
      await refreshSession();
      navigate(nextPath(), { replace: true });
      return;
    case "pending_mfa":
      setSession(body);
      showSecondFactor(Array.isArray(body.factors) ? body.factors : null);
      return;
    case "enrol_mfa": {
      setSession(body);
      const next = safeNext(new URLSearchParams(location.search).get("next"));
      navigate("/settings/security" + (next ? `?next=${encodeURIComponent(next)}` : ""), { replace: true });
      return;
    }
  }
  await refreshSession();
}

/** The sign-in page. */
export function signInPage() {
  const card = h("div", { class: "card auth-card" });
  const page = h(
    "section",
    { class: "auth", "aria-labelledby": "signin-heading" },
    card,
    h("p", { class: "auth-privacy" }, icon("shield", "icon icon-small"), h("span", { i18n: "signin.privacy" })),
  );

  function focusHeading() {
    const heading = card.querySelector("h1");
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }

  function showSecondFactor(factors) {
    // A message from before ("You have signed out.") is stale now.
    for (const banner of page.querySelectorAll(".banner")) {
      banner.remove();
    }
    card.replaceChildren(...secondFactorStep(factors, { afterSignIn: (b) => afterSignIn(b, showSecondFactor), startOver }));
    focusHeading();
  }

  async function startOver() {
    try {
      await signOut();
    } catch {
      // The half-finished session may have ended already: start over anyway.
    }
    card.replaceChildren(...passwordStep({ afterSignIn: (b) => afterSignIn(b, showSecondFactor) }));
    focusHeading();
  }

  if (session().state === "pending_mfa") {
    // A reload in the middle: the session does not say which factors will
    // do, so all are offered.
    card.replaceChildren(...secondFactorStep(null, { afterSignIn: (b) => afterSignIn(b, showSecondFactor), startOver }));
  } else {
    card.replaceChildren(...passwordStep({ afterSignIn: (b) => afterSignIn(b, showSecondFactor) }));
  }
  return page;
}

/** passwordStep is the first step: email, password, organisation; or a passkey. */
function passwordStep({ afterSignIn }) {
  const alert = alertRegion();
  const email = field({
    id: "signin-email",
    labelKey: "signin.email",
    type: "email",
    attrs: { name: "email", autocomplete: "username", autocapitalize: "off", spellcheck: "false", required: true },
  });
  const password = field({
    id: "signin-password",
    labelKey: "signin.password",
    type: "password",
    attrs: { name: "password", autocomplete: "current-password", required: true },
  });
  const org = field({
    id: "signin-org",
    labelKey: "signin.org",
    hintKey: "signin.org.hint",
    optional: true,
    attrs: { name: "organisation", autocomplete: "organization", autocapitalize: "off", spellcheck: "false" },
  });
  const orgQuery = new URLSearchParams(location.search).get("org") || "";
  email.input.value = prefill.email;
  org.input.value = prefill.organisation || orgQuery;
  prefill = { email: "", organisation: "" };
  const orgDetails = h(
    "details",
    { class: "disclosure", open: org.input.value !== "" },
    h("summary", {}, h("span", { i18n: "signin.org.toggle" })),
    h("div", { class: "disclosure-body" }, org.el),
  );

  const submit = button({ labelKey: "signin.submit", kind: "primary", type: "submit", block: true });

  async function onSubmit(event) {
    event.preventDefault();
    if (isBusy(submit)) {
      return;
    }
    alert.clear();
    const emailBad = !email.input.value.trim() || !email.input.validity.valid;
    email.setError(emailBad ? { messageKey: "signin.error.email" } : null);
    const passwordBad = password.input.value === "";
    password.setError(passwordBad ? { messageKey: "signin.error.password" } : null);
    if (emailBad || passwordBad) {
      (emailBad ? email.input : password.input).focus();
      return;
    }
    const done = busy(submit, { messageKey: "signin.busy" });
    try {
      const body = await api.post("/api/v1/auth/signin", {
        organisation: org.input.value.trim() || undefined,
        email: email.input.value.trim(),
        password: password.input.value,
      });
      password.input.value = ""; // signed in: the password is not needed any more
      done();
      await afterSignIn(body);
    } catch (err) {
      done();
      alert.show(err);
    }
  }

  const passkeyButton = button({ labelKey: "signin.passkey",
    iconName: "key",
    block: true,
    onClick: async () => {
      alert.clear();
      const done = busy(passkeyButton, { messageKey: "passkey.waiting" });
      try {
        const body = await signInWithPasskey();
        done();
        await afterSignIn(body);
      } catch (err) {
        done();
        alert.show(describePasskeyError(err));
      }
    },
  });

  const form = h(
    "form",
    { class: "form", method: "post", novalidate: true, on: { submit: onSubmit } },
    email.el,
    password.el,
    orgDetails,
    alert.el,
    submit,
  );

  return [
    h("div", { class: "auth-mark" }, icon("lock")),
    h("h1", { id: "signin-heading", i18n: "signin.heading" }),
    h("p", { class: "lead", i18n: "signin.lead" }),
    form,
    h("div", { class: "divider" }, h("span", { i18n: "signin.or" })),
    passkeyButton,
    h("p", { class: "auth-help", i18n: "signin.forgot" }),
  ];
}

/**
 * secondFactorStep asks for the second factor: a code from the
 * authenticator app (or a recovery code), or a passkey. factors are the
 * kinds the sign-in said will do; null when unknown (all are offered).
 */
function secondFactorStep(factors, { afterSignIn, startOver }) {
  const has = (k) => factors === null || factors.includes(k);
  const alert = alertRegion();
  const parts = [
    h("div", { class: "auth-mark" }, icon("shield")),
    h("h1", { id: "signin-heading", i18n: "mfa.heading" }),
  ];
  const withCode = has("totp") || has("recovery");
  parts.push(withCode ? h("p", { class: "lead", i18n: "mfa.lead" }) : h("p", { class: "lead", i18n: "mfa.leadPasskey" }));

  if (withCode) {
    const code = codeField({ allowRecovery: has("recovery"), allowTotp: has("totp"), id: "mfa-code" });
    const submit = button({ labelKey: "mfa.submit", kind: "primary", type: "submit", block: true });
    const form = h("form", { class: "form", method: "post", novalidate: true }, code.el, alert.el, submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (isBusy(submit)) {
        return;
      }
      alert.clear();
      const proof = code.read();
      if (!proof) {
        code.input.focus();
        return;
      }
      const done = busy(submit, { messageKey: "mfa.busy" });
      try {
        const body = await api.post("/api/v1/auth/second-factor", proof);
        code.clear();
        done();
        await afterSignIn(body);
      } catch (err) {
        done();
        alert.show(err);
        code.input.focus();
        code.input.select();
      }
    });
    parts.push(form);
  } else {
    parts.push(alert.el);
  }

  if (has("passkey")) {
    const passkeyButton = button({ labelKey: "mfa.passkey",
      kind: withCode ? "secondary" : "primary",
      iconName: "key",
      block: true,
      onClick: async () => {
        alert.clear();
        const done = busy(passkeyButton, { messageKey: "passkey.waiting" });
        try {
          const body = await signInWithPasskey();
          done();
          await afterSignIn(body);
        } catch (err) {
          done();
          alert.show(describePasskeyError(err));
        }
      },
    });
    if (withCode) {
      parts.push(h("div", { class: "divider" }, h("span", { i18n: "signin.or" })));
    }
    parts.push(passkeyButton);
  }

  const over = h("button", { type: "button", class: "link-button", i18n: "mfa.startOver" });
  over.addEventListener("click", startOver);
  parts.push(h("p", { class: "auth-help" }, over));
  return parts;
}
