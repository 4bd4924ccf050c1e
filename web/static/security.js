// Security settings (/settings/security): second factors, recovery codes,
// password, sessions and personal access tokens. For a session that may
// only enrol a second factor (the organisation requires one and the person
// has none yet), the same path shows just the enrolment.

import { h, icon, setMessage, time } from "./dom.js";
import { t } from "./i18n.js";
import { api } from "./api.js";
import { navigate } from "./router.js";
import { session, refreshSession, signOut, showLoadError } from "./session.js";
import {
  alertRegion,
  badge,
  busy,
  button,
  checkGroup,
  checkbox,
  confirmDialog,
  copyText,
  describeAgent,
  downloadText,
  field,
  isBusy,
  loading,
  pageHeader,
  panel,
  proofDialog,
  safeNext,
  secretBox,
  setFlash,
  statusRegion,
} from "./ui.js";
import { addPasskey, describePasskeyError } from "./passkey.js";
import { myDataPanel } from "./ediscovery.js";

/**
 * The names the API gives factors that were not named, which the page
 * shows in the person's language instead.
 */
const DEFAULT_NAMES = ["Authenticator app", "Passkey", "Recovery codes"];

/** The security settings page, or the enrolment of a first second factor. */
export function securityPage() {
  if (session().state === "enrol_mfa") {
    return enrolPage();
  }
  return settingsPage();
}

/**
 * totpEnroller walks through adding an authenticator app: the QR code and
 * the key to type, then the first code. onDone gets the new factor.
 * @param {{named?: boolean, needsProof?: () => boolean, onDone: (factor: any) => void, onCancel?: () => void}} o
 */
function totpEnroller({ named = false, needsProof = () => false, onDone, onCancel }) {
  const el = h("div", { class: "enrol", id: "totp-enrol" }, loading());
  const alert = alertRegion();

  async function start() {
    el.replaceChildren(loading());
    let e;
    try {
      e = await api.post("/api/v1/me/factors/totp");
    } catch (err) {
      el.replaceChildren(alert.el);
      showLoadError(err, alert);
      return;
    }
    show(e);
  }

  function show(e) {
    const code = field({
      id: "totp-code",
      labelKey: "totp.code",
      hintKey: "totp.code.hint",
      attrs: { name: "code", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]*", maxlength: "6", spellcheck: "false", class: "input-code" },
    });
    const name = named
      ? field({ id: "totp-name", labelKey: "totp.name", hintKey: "totp.name.hint", optional: true, attrs: { name: "factor-name", maxlength: "100", autocomplete: "off" } })
      : null;
    const submit = button({ labelKey: "totp.submit", kind: "primary", type: "submit" });
    const actions = [submit];
    if (onCancel) {
      actions.push(button({ labelKey: "common.cancel", kind: "quiet", onClick: onCancel }));
    }
    const form = h(
      "form",
      { class: "form form-tight", method: "post", novalidate: true },
      code.el,
      ...(name ? [name.el] : []),
      alert.el,
      h("div", { class: "form-actions" }, ...actions),
    );

    async function confirm(proof) {
      return api.post("/api/v1/me/factors/totp/confirm", {
        pending: e.pending,
        code: code.input.value.replace(/\s+/g, ""),
        name: name && name.input.value.trim() ? name.input.value.trim() : undefined,
        proof: proof || undefined,
      });
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (isBusy(submit)) {
        return;
      }
      alert.clear();
      const value = code.input.value.replace(/\s+/g, "");
      if (!/^\d{6}$/.test(value)) {
        code.setError({ messageKey: "mfa.code.invalid" });
        code.input.focus();
        return;
      }
      code.setError(null);
      let factor = null;
      if (needsProof()) {
        factor = await proofDialog({
          titleKey: "proof.title",
          leadKey: "proof.leadNewApp",
          confirmKey: "proof.confirm",
          busyKey: "common.checking",
          action: confirm,
        });
        if (!factor) {
          return;
        }
      } else {
        const done = busy(submit, { messageKey: "common.checking" });
        try {
          factor = await confirm(null);
        } catch (err) {
          done();
          // 400: the enrolment expired or is not valid any more; a wrong
          // code is a 401. Offer to start again with a new key.
          alert.show(err, { actions: err.status === 400 ? [button({ labelKey: "totp.restart", small: true, onClick: start })] : [] });
          code.input.focus();
          code.input.select();
          return;
        }
        done();
      }
      onDone(factor);
    });

    const qr = h("img", {
      class: "qr",
      src: `data:image/png;base64,${e.qr_code_png}`,
      width: "200",
      height: "200",
      alt: t("totp.qrAlt"),
      "data-i18n-alt": "totp.qrAlt",
    });
    el.replaceChildren(
      h(
        "ol",
        { class: "steps" },
        h(
          "li",
          { class: "step" },
          h("h3", { class: "step-title", i18n: "totp.step1" }),
          h("p", { class: "step-text", i18n: "totp.step1.text" }),
          h(
            "div",
            { class: "qr-row" },
            h("div", { class: "qr-frame" }, qr),
            h(
              "div",
              { class: "manual-key" },
              h("p", { class: "step-text", i18n: "totp.manual" }),
              secretBox(e.manual_key, { labelKey: "totp.manualKey", id: "totp-manual-key" }),
              h("p", { class: "field-hint" }, h("span", { i18n: "totp.expires" }), " ", time(e.expires)),
            ),
          ),
        ),
        h("li", { class: "step" }, h("h3", { class: "step-title", i18n: "totp.step2" }), h("p", { class: "step-text", i18n: "totp.step2.text" }), form),
      ),
    );
  }

  return { el, start };
}

/** enrolPage is the whole page for a session that must enrol a second factor. */
function enrolPage() {
  const next = safeNext(new URLSearchParams(location.search).get("next"));
  const alert = alertRegion();

  async function finished() {
    await refreshSession();
    setFlash({ messageKey: "enrol.done", tone: "success", link: { href: next || "/chat", labelKey: "enrol.continue" } });
    navigate("/settings/security", { replace: true });
  }

  const enroller = totpEnroller({ onDone: finished });
  enroller.start();

  const passkeyButton = button({ labelKey: "enrol.passkey",
    iconName: "key",
    onClick: async () => {
      alert.clear();
      const done = busy(passkeyButton, { messageKey: "passkey.waiting" });
      try {
        await addPasskey();
        done();
        await finished();
      } catch (err) {
        done();
        alert.show(describePasskeyError(err));
      }
    },
  });
  const out = h("button", { type: "button", class: "link-button", i18n: "account.signOut" });
  out.addEventListener("click", async () => {
    try {
      await signOut();
    } catch {
      // Already ended: signed out either way.
    }
    navigate("/signin", { replace: true });
  });

  return h(
    "section",
    { class: "auth auth-wide", "aria-labelledby": "enrol-heading" },
    h(
      "div",
      { class: "card auth-card" },
      h("div", { class: "auth-mark" }, icon("shield")),
      h("h1", { id: "enrol-heading", i18n: "enrol.heading" }),
      h("p", { class: "lead", i18n: "enrol.lead" }),
      enroller.el,
      h("div", { class: "divider" }, h("span", { i18n: "signin.or" })),
      h("div", { class: "enrol-alt" }, h("p", { class: "field-hint", i18n: "enrol.passkeyHint" }), passkeyButton),
      alert.el,
      h("p", { class: "auth-help" }, out),
    ),
  );
}

/** factorKind names a kind of factor, for badge. */
function factorKind(kind) {
  switch (kind) {
    case "totp":
      return { labelKey: "factor.totp" };
    case "passkey":
      return { labelKey: "factor.passkey" };
  }
  return { labelKey: "factor.recovery" };
}

/** settingsPage is the page for a person fully signed in. */
function settingsPage() {
  const factors = factorsPanel();
  const recovery = recoveryPanel();
  // Recovery codes depend on the factors: both load from one list.
  async function loadFactors() {
    try {
      const list = await api.get("/api/v1/me/factors");
      factors.show(list);
      recovery.show(list);
    } catch (err) {
      factors.failed(err);
    }
  }
  factors.onChange = loadFactors;
  recovery.onChange = loadFactors;
  loadFactors();

  return h(
    "section",
    { class: "area settings" },
    pageHeader({ iconName: "shield", titleKey: "security.title", leadKey: "security.lead" }),
    h("div", { class: "panels" }, factors.el, recovery.el, passwordPanel(), sessionsPanel(), tokensPanel(), myDataPanel()),
  );
}

/** meta is a line of small facts about an item, such as its dates. */
function meta(...parts) {
  const line = h("p", { class: "item-meta" });
  parts.filter(Boolean).forEach((p, i) => {
    if (i > 0) {
      line.append(h("span", { class: "item-sep", "aria-hidden": "true" }, "·"));
    }
    line.append(p);
  });
  return line;
}

/** labelled is a fact with its label: "Added 27 Nov 2026". */
function labelled({ labelKey }, node) {
  return h("span", {}, h("span", { i18n: labelKey }), " ", node);
}

/** factorsPanel lists the second factors and adds new ones. */
function factorsPanel() {
  const alert = alertRegion();
  const status = statusRegion();
  const list = h("ul", { class: "item-list", id: "factor-list" });
  const summary = h("p", { class: "panel-status" });
  const enrolArea = h("div", { class: "enrol-area" });
  let current = [];

  const addApp = button({ labelKey: "factors.addApp",
    iconName: "phone",
    small: true,
    onClick: () => {
      const enroller = totpEnroller({
        named: true,
        needsProof: () => current.some((f) => f.kind === "totp" || f.kind === "recovery"),
        onCancel: () => {
          enrolArea.replaceChildren();
          addApp.focus();
        },
        onDone: async () => {
          // A new factor gives the session a new token, and a new
          // anti-forgery token with it.
          await refreshSession();
          enrolArea.replaceChildren();
          status.show({ messageKey: "factors.added" });
          self.onChange();
          addApp.focus();
        },
      });
      enrolArea.replaceChildren(h("h3", { class: "subheading", i18n: "factors.addApp" }), enroller.el);
      enroller.start();
      enrolArea.querySelector("h3").setAttribute("tabindex", "-1");
      enrolArea.querySelector("h3").focus();
    },
  });
  const addKey = button({ labelKey: "factors.addPasskey",
    iconName: "key",
    small: true,
    onClick: async () => {
      alert.clear();
      const done = busy(addKey, { messageKey: "passkey.waiting" });
      const needsProof = current.some((f) => f.kind === "totp" || f.kind === "recovery");
      try {
        const factor = await addPasskey({
          confirm: needsProof
            ? (finish) =>
                proofDialog({
                  titleKey: "proof.title",
                  leadKey: "proof.leadPasskey",
                  confirmKey: "proof.confirm",
                  busyKey: "common.checking",
                  action: finish,
                })
            : undefined,
        });
        if (factor) {
          await refreshSession(); // a new session token, as for an app
          status.show({ messageKey: "factors.added" });
          self.onChange();
        }
      } catch (err) {
        alert.show(describePasskeyError(err));
      } finally {
        done();
      }
    },
  });

  function row(f) {
    // A factor with its default name is called by its kind; one the person
    // named shows the name and the kind.
    const named = f.name && !DEFAULT_NAMES.includes(f.name);
    const title = named ? [h("span", {}, f.name), " ", badge(factorKind(f.kind))] : [h("span", { i18n: factorKind(f.kind).labelKey })];
    const remove = button({ labelKey: "common.remove",
      small: true,
      kind: "quiet",
      onClick: async () => {
        const removed = await proofDialog({
          titleKey: "factors.removeTitle",
          leadKey: "factors.removeLead",
          confirmKey: "common.remove",
          busyKey: "common.removing",
          danger: true,
          action: (proof) => api.post(`/api/v1/me/factors/${encodeURIComponent(f.id)}/remove`, { proof }).then(() => true),
        });
        if (removed) {
          status.show({ messageKey: "factors.removed" });
          self.onChange();
        }
      },
    });
    remove.setAttribute("aria-describedby", `factor-${f.id}`);
    return h(
      "li",
      { class: "item" },
      h("span", { class: "item-icon" }, icon(f.kind === "passkey" ? "key" : "phone")),
      h(
        "div",
        { class: "item-main" },
        h("p", { class: "item-title", id: `factor-${f.id}` }, ...title),
        meta(labelled({ labelKey: "common.added" }, time(f.created, "date")), f.last_used ? labelled({ labelKey: "common.lastUsed" }, time(f.last_used)) : null),
      ),
      h("div", { class: "item-actions" }, remove),
    );
  }

  const self = {
    el: panel(
      { titleKey: "factors.title", leadKey: "factors.lead", id: "factors", actions: [addApp, addKey] },
      summary,
      list,
      enrolArea,
      alert.el,
      status.el,
    ),
    onChange: () => {},
    show(all) {
      current = all;
      const shown = all.filter((f) => f.kind !== "recovery");
      list.replaceChildren(...shown.map(row));
      if (shown.length) {
        summary.replaceChildren(badge({ labelKey: "factors.on", tone: "success" }), " ", h("span", { i18n: "factors.onText" }));
      } else {
        summary.replaceChildren(badge({ labelKey: "factors.off", tone: "warning" }), " ", h("span", { i18n: "factors.offText" }));
      }
    },
    failed(err) {
      summary.replaceChildren();
      showLoadError(err, alert);
    },
  };
  summary.append(loading());
  return self;
}

/** recoveryPanel makes new recovery codes and shows them once. */
function recoveryPanel() {
  const body = h("div", { class: "recovery" });
  const status = statusRegion();
  let factors = [];

  const create = button({ labelKey: "recovery.create",
    small: true,
    onClick: async () => {
      const res = await proofDialog({
        titleKey: "proof.title",
        leadKey: "proof.leadRecovery",
        confirmKey: "proof.confirm",
        busyKey: "common.checking",
        action: (proof) => api.post("/api/v1/me/recovery-codes", { proof }),
      });
      if (res) {
        showCodes(res.codes);
      }
    },
  });

  function summary() {
    const set = factors.find((f) => f.kind === "recovery");
    const usable = factors.some((f) => f.kind !== "recovery");
    setMessage(create.querySelector(".button-label"), set ? { messageKey: "recovery.replace" } : { messageKey: "recovery.create" });
    create.hidden = !usable;
    if (!usable) {
      body.replaceChildren(h("p", { class: "panel-status", i18n: "recovery.needFactor" }));
    } else if (set) {
      body.replaceChildren(
        h("p", { class: "panel-status" }, badge({ labelKey: "recovery.ready", tone: "success" }), h("span", {}, h("span", { i18n: "recovery.readyText" }), " ", time(set.created, "date"))),
      );
    } else {
      body.replaceChildren(h("p", { class: "panel-status" }, badge({ labelKey: "recovery.none", tone: "warning" }), " ", h("span", { i18n: "recovery.noneText" })));
    }
  }

  function showCodes(codes) {
    create.hidden = true;
    const text = codes.join("\n") + "\n";
    const saved = checkbox({ labelKey: "recovery.saved", id: "recovery-saved" });
    const done = button({ labelKey: "common.done", kind: "primary", attrs: { "aria-disabled": "true" } });
    saved.input.addEventListener("change", () => {
      if (saved.input.checked) {
        done.removeAttribute("aria-disabled");
      } else {
        done.setAttribute("aria-disabled", "true");
      }
    });
    done.addEventListener("click", () => {
      if (!saved.input.checked) {
        saved.input.focus();
        return;
      }
      body.replaceChildren(loading());
      self.onChange();
      status.show({ messageKey: "recovery.stored" });
      create.focus();
    });
    const copyStatus = statusRegion("visually-hidden");
    const heading = h("h3", { class: "subheading", tabindex: "-1", i18n: "recovery.newTitle" });
    body.replaceChildren(
      h(
        "div",
        { class: "codes-box" },
        heading,
        h("p", { class: "field-hint", i18n: "recovery.once" }),
        h("ol", { class: "codes", id: "recovery-codes" }, ...codes.map((c) => h("li", {}, h("code", {}, c)))),
        h(
          "div",
          { class: "form-actions" },
          button({ labelKey: "recovery.copy",
            small: true,
            iconName: "copy",
            onClick: async () => copyStatus.flash((await copyText(text)) ? { messageKey: "common.copiedAnnouncement" } : { messageKey: "common.copyFailed" }),
          }),
          button({ labelKey: "recovery.download", small: true, iconName: "download", onClick: () => downloadText("kaigi-recovery-codes.txt", text) }),
          copyStatus.el,
        ),
        saved.el,
        h("div", { class: "form-actions" }, done),
      ),
    );
    heading.focus();
  }

  const self = {
    el: panel({ titleKey: "recovery.title", leadKey: "recovery.lead", id: "recovery", actions: [create] }, body, status.el),
    onChange: () => {},
    show(all) {
      factors = all;
      if (!body.querySelector(".codes-box")) {
        summary();
      }
    },
  };
  create.hidden = true;
  return self;
}

/** passwordPanel changes the password. */
function passwordPanel() {
  const alert = alertRegion();
  const status = statusRegion();
  const current = field({
    id: "password-current",
    labelKey: "password.current",
    type: "password",
    attrs: { name: "current-password", autocomplete: "current-password", required: true },
  });
  const next = field({
    id: "password-new",
    labelKey: "password.new",
    type: "password",
    hintKey: "password.rules",
    attrs: { name: "new-password", autocomplete: "new-password", required: true, maxlength: "1024" },
  });
  const show = checkbox({ labelKey: "password.show", id: "password-show" });
  show.input.addEventListener("change", () => {
    current.input.type = next.input.type = show.input.checked ? "text" : "password";
  });
  const submit = button({ labelKey: "password.submit", kind: "primary", type: "submit" });
  const form = h("form", { class: "form form-narrow", method: "post", novalidate: true }, current.el, next.el, show.el, alert.el, h("div", { class: "form-actions" }, submit), status.el);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(submit)) {
      return;
    }
    alert.clear();
    status.clear();
    current.setError(current.input.value === "" ? { messageKey: "password.error.current" } : null);
    next.setError(next.input.value === "" ? { messageKey: "password.error.empty" } : null);
    if (current.input.value === "" || next.input.value === "") {
      (current.input.value === "" ? current.input : next.input).focus();
      return;
    }
    const done = busy(submit, { messageKey: "common.saving" });
    try {
      await api.post("/api/v1/me/password", { current: current.input.value, new: next.input.value });
      current.input.value = "";
      next.input.value = "";
      status.show({ messageKey: "password.changed" });
    } catch (err) {
      showLoadError(err, alert);
    } finally {
      done();
    }
  });
  return panel({ titleKey: "password.title", leadKey: "password.lead", id: "password" }, form);
}

/** sessionsPanel lists where the person is signed in, and ends sessions. */
function sessionsPanel() {
  const alert = alertRegion();
  const status = statusRegion();
  const list = h("ul", { class: "item-list", id: "session-list" }, h("li", {}, loading()));

  const others = button({ labelKey: "sessions.endOthers",
    small: true,
    iconName: "logout",
    onClick: async () => {
      const ok = await confirmDialog({
        titleKey: "sessions.endOthers.title",
        bodyKey: "sessions.endOthers.body",
        confirmKey: "sessions.endOthers",
        danger: true,
      });
      if (!ok) {
        return;
      }
      const done = busy(others, { messageKey: "common.working" });
      try {
        const res = await api.del("/api/v1/me/sessions/others");
        status.show({ messageKey: "sessions.endedOthers", params: { count: res.ended } });
        await load();
      } catch (err) {
        showLoadError(err, alert);
      } finally {
        done();
      }
    },
  });

  function row(s) {
    const device = describeAgent(s.user_agent);
    const title = h("p", { class: "item-title", id: `session-${s.id}` }, device ? h("span", {}, device) : h("span", { i18n: "sessions.unknownDevice" }));
    if (s.current) {
      title.append(" ", badge({ labelKey: "sessions.this", tone: "accent" }));
    }
    if (s.state && s.state !== "active") {
      title.append(" ", badge({ labelKey: "sessions.pending", tone: "warning" }));
    }
    const actions = h("div", { class: "item-actions" });
    if (!s.current) {
      const end = button({ labelKey: "sessions.end",
        small: true,
        kind: "quiet",
        onClick: async () => {
          const done = busy(end, { messageKey: "common.working" });
          try {
            await api.del(`/api/v1/me/sessions/${encodeURIComponent(s.id)}`);
            status.show({ messageKey: "sessions.ended" });
            await load();
          } catch (err) {
            done();
            showLoadError(err, alert);
          }
        },
      });
      end.setAttribute("aria-describedby", `session-${s.id}`);
      actions.append(end);
    }
    return h(
      "li",
      { class: "item" },
      h("span", { class: "item-icon" }, icon("device")),
      h(
        "div",
        { class: "item-main" },
        title,
        meta(labelled({ labelKey: "sessions.address" }, h("span", { class: "mono" }, s.source || "—")), labelled({ labelKey: "sessions.started" }, time(s.created)), labelled({ labelKey: "sessions.lastSeen" }, time(s.last_seen))),
        s.user_agent ? h("details", { class: "item-more disclosure" }, h("summary", { i18n: "sessions.agent" }), h("p", { class: "mono small" }, s.user_agent)) : "",
      ),
      actions,
    );
  }

  async function load() {
    try {
      const sessions = await api.get("/api/v1/me/sessions");
      sessions.sort((a, b) => (b.current === true) - (a.current === true) || String(b.last_seen).localeCompare(String(a.last_seen)));
      list.replaceChildren(...sessions.map(row));
    } catch (err) {
      list.replaceChildren();
      showLoadError(err, alert);
    }
  }
  load();
  return panel({ titleKey: "sessions.title", leadKey: "sessions.lead", id: "sessions", actions: [others] }, list, alert.el, status.el);
}

/** tokensPanel lists, creates and revokes personal access tokens. */
function tokensPanel() {
  const alert = alertRegion();
  const status = statusRegion();
  const list = h("ul", { class: "item-list", id: "token-list" }, h("li", {}, loading()));
  const created = h("div", { class: "token-created" });

  function scope(name) {
    switch (name) {
      case "read":
        return { labelKey: "tokens.scope.read" };
      case "write":
        return { labelKey: "tokens.scope.write" };
    }
    return { labelKey: "tokens.scope.admin", tone: "warning" };
  }

  function row(tok) {
    const expired = new Date(tok.expires).getTime() <= Date.now();
    const revoke = button({ labelKey: "tokens.revoke",
      small: true,
      kind: "quiet",
      onClick: async () => {
        const ok = await confirmDialog({
          titleKey: "tokens.revoke.title",
          titleParams: { name: tok.name },
          bodyKey: "tokens.revoke.body",
          confirmKey: "tokens.revoke",
          danger: true,
        });
        if (!ok) {
          return;
        }
        try {
          await api.del(`/api/v1/me/tokens/${encodeURIComponent(tok.id)}`);
          status.show({ messageKey: "tokens.revoked" });
          await load();
        } catch (err) {
          showLoadError(err, alert);
        }
      },
    });
    revoke.setAttribute("aria-describedby", `token-${tok.id}`);
    return h(
      "li",
      { class: "item" },
      h("span", { class: "item-icon" }, icon("key")),
      h(
        "div",
        { class: "item-main" },
        h("p", { class: "item-title", id: `token-${tok.id}` }, h("span", {}, tok.name), " ", ...tok.scopes.map((s) => badge(scope(s))), ...(expired ? [" ", badge({ labelKey: "tokens.expired", tone: "danger" })] : [])),
        meta(
          labelled({ labelKey: "common.created" }, time(tok.created, "date")),
          labelled(expired ? { labelKey: "tokens.expiredOn" } : { labelKey: "tokens.expires" }, time(tok.expires, "date")),
          tok.last_used ? labelled({ labelKey: "common.lastUsed" }, time(tok.last_used)) : h("span", { i18n: "tokens.neverUsed" }),
        ),
      ),
      h("div", { class: "item-actions" }, revoke),
    );
  }

  async function load() {
    try {
      const tokens = (await api.get("/api/v1/me/tokens")).filter((tok) => !tok.revoked);
      list.replaceChildren(...tokens.map(row));
      if (!tokens.length) {
        list.replaceChildren(h("li", { class: "item-empty", i18n: "tokens.none" }));
      }
    } catch (err) {
      list.replaceChildren();
      showLoadError(err, alert);
    }
  }

  const name = field({ id: "token-name", labelKey: "tokens.name", hintKey: "tokens.name.hint", attrs: { name: "token-name", maxlength: "100", autocomplete: "off", required: true } });
  const scopes = checkGroup({
    legendKey: "tokens.scopes",
    items: [
      { value: "read", labelKey: "tokens.scope.read", hintKey: "tokens.scope.read.hint", checked: true },
      { value: "write", labelKey: "tokens.scope.write", hintKey: "tokens.scope.write.hint" },
      { value: "admin", labelKey: "tokens.scope.admin", hintKey: "tokens.scope.admin.hint" },
    ],
  });
  const days = field({
    id: "token-days",
    labelKey: "tokens.days",
    hintKey: "tokens.days.hint",
    type: "number",
    attrs: { name: "days", min: "1", max: "366", step: "1", value: "30", inputmode: "numeric", class: "input-short" },
  });
  const submit = button({ labelKey: "tokens.create", kind: "primary", type: "submit" });
  const formAlert = alertRegion();
  const form = h("form", { class: "form form-narrow", method: "post", novalidate: true }, name.el, scopes.el, days.el, formAlert.el, h("div", { class: "form-actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(submit)) {
      return;
    }
    formAlert.clear();
    name.setError(name.input.value.trim() === "" ? { messageKey: "tokens.error.name" } : null);
    const n = Number(days.input.value);
    days.setError(!Number.isInteger(n) || n < 1 || n > 366 ? { messageKey: "tokens.error.days" } : null);
    if (name.input.value.trim() === "" || days.input.getAttribute("aria-invalid")) {
      (name.input.value.trim() === "" ? name.input : days.input).focus();
      return;
    }
    if (!scopes.values().length) {
      formAlert.show({ messageKey: "tokens.error.scopes" });
      scopes.inputs[0].focus();
      return;
    }
    const done = busy(submit, { messageKey: "common.creating" });
    try {
      const res = await api.post("/api/v1/me/tokens", { name: name.input.value.trim(), scopes: scopes.values(), days: n });
      name.input.value = "";
      form.closest("details").open = false;
      const heading = h("h3", { class: "subheading", tabindex: "-1", i18n: "tokens.createdTitle" });
      created.replaceChildren(
        h(
          "div",
          { class: "codes-box" },
          heading,
          h("p", { class: "field-hint", i18n: "tokens.once" }),
          secretBox(res.secret, { labelKey: "tokens.secret", id: "token-secret" }),
          h("div", { class: "form-actions" }, button({ labelKey: "common.done", onClick: () => created.replaceChildren() })),
        ),
      );
      heading.focus();
      await load();
    } catch (err) {
      showLoadError(err, formAlert);
    } finally {
      done();
    }
  });

  load();
  return panel(
    { titleKey: "tokens.title", leadKey: "tokens.lead", id: "tokens" },
    list,
    alert.el,
    status.el,
    created,
    h("details", { class: "disclosure disclosure-boxed" }, h("summary", {}, h("span", { i18n: "tokens.new" })), h("div", { class: "disclosure-body" }, form)),
  );
}
