// Communication compliance as the people of the chat meet it: the
// categories of harmful content, reporting a message of concern to the
// organisation's compliance reviewers, and the notices those reviewers send.
// The compliance center (compliance.js) uses the same names.

import { h, icon, setMessage, time } from "./dom.js";
import { t } from "./i18n.js";
import { api } from "./api.js";
import { alertRegion, busy, button, field, isBusy, modal, option, uid } from "./ui.js";
import { sessionEnded } from "./session.js";

/** The categories of harmful content, in the order the API lists them. */
export const CATEGORIES = [
  { value: "harassment", labelKey: "moderation.category.harassment" },
  { value: "threat", labelKey: "moderation.category.threat" },
  { value: "hate", labelKey: "moderation.category.hate" },
  { value: "sexual", labelKey: "moderation.category.sexual" },
  { value: "self_harm", labelKey: "moderation.category.selfHarm" },
  { value: "profanity", labelKey: "moderation.category.profanity" },
];

/** categoryLabel returns the message key of a category, or "" for one the app does not know. */
export function categoryLabel(value) {
  const c = CATEGORIES.find((x) => x.value === value);
  return c ? c.labelKey : "";
}

/** categoryName names a category in the language in use. */
export function categoryName(value) {
  const key = categoryLabel(value);
  return key ? t(key) : String(value);
}

/** The most a report's reason may hold, in characters (as the API). */
const MAX_REASON = 2000;

/**
 * reportDialog asks why a message is of concern (an optional category and
 * reason) and reports it. It resolves to true once the report is received,
 * false when the person cancels.
 * @param {string} messageId
 * @returns {Promise<boolean>}
 */
export function reportDialog(messageId) {
  return new Promise((resolve) => {
    const { dialog, body } = modal({ titleKey: "moderation.report.title" });
    let reported = false;
    const alert = alertRegion();
    const category = field({
      labelKey: "moderation.report.category",
      tag: "select",
      optional: true,
      attrs: { name: "category" },
      options: [option({ value: "", labelKey: "moderation.report.categoryNone" }), ...CATEGORIES.map((c) => option(c))],
    });
    const reason = field({
      labelKey: "moderation.report.reason",
      hintKey: "moderation.report.reasonHint",
      tag: "textarea",
      optional: true,
      attrs: { name: "reason", rows: "4", maxlength: String(MAX_REASON) },
    });
    const cancel = button({ labelKey: "common.cancel", onClick: () => dialog.close() });
    const submit = button({ labelKey: "moderation.report.submit", kind: "primary", type: "submit" });
    const form = h(
      "form",
      { class: "form form-tight report-form", method: "post", novalidate: true },
      h("p", { class: "muted", i18n: "moderation.report.lead" }),
      category.el,
      reason.el,
      alert.el,
      h("div", { class: "dialog-actions" }, cancel, submit),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (isBusy(submit)) {
        return;
      }
      alert.clear();
      const done = busy(submit, { messageKey: "moderation.report.sending" });
      try {
        const b = {};
        if (category.input.value) {
          b.category = category.input.value;
        }
        if (reason.input.value.trim()) {
          b.reason = reason.input.value.trim();
        }
        await api.post(`/api/v1/messages/${encodeURIComponent(messageId)}/report`, b);
        reported = true;
        done();
        body.replaceChildren(
          h(
            "div",
            { class: "report-done", role: "status" },
            icon("check", "icon report-done-icon"),
            h("p", { i18n: "moderation.report.done" }),
          ),
          h("div", { class: "dialog-actions" }, button({ labelKey: "common.close", kind: "primary", onClick: () => dialog.close() })),
        );
        body.querySelector(".dialog-actions button").focus();
      } catch (err) {
        done();
        if (err && err.status === 401) {
          dialog.close();
          sessionEnded();
          return;
        }
        alert.show(err);
      }
    });
    body.append(form);
    dialog.addEventListener("close", () => resolve(reported));
    dialog.showModal();
    category.input.focus();
  });
}

/** The notices a reviewer may send, as the API names them. */
export const TEMPLATES = [
  { value: "conduct_reminder", labelKey: "moderation.template.conductReminder", textKey: "moderation.template.conductReminder.text" },
  { value: "message_removed", labelKey: "moderation.template.messageRemoved", textKey: "moderation.template.messageRemoved.text" },
  { value: "message_held", labelKey: "moderation.template.messageHeld", textKey: "moderation.template.messageHeld.text" },
];

const DISMISSED = "kaigi.notices.dismissed";

function dismissed() {
  try {
    const v = JSON.parse(localStorage.getItem(DISMISSED) || "[]");
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

function dismiss(id) {
  try {
    localStorage.setItem(DISMISSED, JSON.stringify([id, ...dismissed()].slice(0, 200)));
  } catch {
    // Storage blocked: the notice comes back on the next visit.
  }
}

/**
 * noticeBanner shows the notices compliance reviewers sent the person and
 * that they have not dismissed yet (GET /api/v1/me/moderation-notices),
 * newest first, in their language when the app knows the template. It
 * loads once; a failure to load shows nothing (the notices wait for the
 * next visit).
 */
export function noticeBanner() {
  const el = h("div", { class: "notices", role: "region", i18nAriaLabel: "moderation.notices.label", hidden: true });
  let notices = [];

  function draw() {
    const gone = new Set(dismissed());
    const shown = notices.filter((n) => !gone.has(n.id));
    el.hidden = shown.length === 0;
    el.replaceChildren(
      ...shown.slice(0, 3).map((n) => {
        const tpl = TEMPLATES.find((x) => x.value === n.template);
        const text = h("span", {});
        setMessage(text, tpl ? { messageKey: tpl.textKey } : { text: n.text });
        const close = h(
          "button",
          { type: "button", class: "icon-button notice-dismiss", title: t("moderation.notices.dismiss"), "data-i18n-title": "moderation.notices.dismiss", i18nAriaLabel: "moderation.notices.dismiss" },
          icon("close"),
        );
        close.addEventListener("click", () => {
          dismiss(n.id);
          draw();
        });
        return h(
          "div",
          { class: "banner banner-warning notice-banner", "data-notice": n.id },
          icon("compliance", "icon banner-icon"),
          h("p", { class: "banner-text" }, h("strong", { i18n: "moderation.notices.from" }), " ", text, " ", h("span", { class: "notice-time" }, time(n.created))),
          close,
        );
      }),
    );
  }

  api
    .get("/api/v1/me/moderation-notices")
    .then((list) => {
      notices = Array.isArray(list) ? list : [];
      draw();
    })
    .catch(() => {});
  return { el, redraw: draw };
}

/** The external moderation services a policy may use, as the API names them. */
const EXTERNAL_BACKENDS = [
  { value: "local", labelKey: "moderation.external.backend.local" },
  { value: "openai", labelKey: "moderation.external.backend.openai" },
  { value: "azure", labelKey: "moderation.external.backend.azure" },
];

const EXTERNAL_MODES = [
  { value: "second_opinion", labelKey: "moderation.external.mode.secondOpinion" },
  { value: "only", labelKey: "moderation.external.mode.only" },
];

/**
 * externalEditor edits the policy's optional external moderation service:
 * which one (none by default: nothing leaves the deployment), when it is
 * asked, its endpoint, and its API key. The key is write-only: the API never
 * returns it, only whether one is set; leaving the field empty keeps it.
 * @param {{backend?: string, mode?: string, endpoint?: string, key_set?: boolean}|undefined} ext
 */
export function externalEditor(ext) {
  const cur = ext || {};
  const id = uid("external");
  const backend = field({
    id: `${id}-backend`,
    labelKey: "moderation.external.backend",
    hintKey: "moderation.external.backendHint",
    tag: "select",
    attrs: { name: "external-backend" },
    options: EXTERNAL_BACKENDS.map((b) => option(b)),
  });
  backend.input.value = cur.backend || "local";
  const mode = field({ id: `${id}-mode`, labelKey: "moderation.external.mode", tag: "select", attrs: { name: "external-mode" }, options: EXTERNAL_MODES.map((m) => option(m)) });
  mode.input.value = cur.mode || "second_opinion";
  const endpoint = field({
    id: `${id}-endpoint`,
    labelKey: "moderation.external.endpoint",
    hintKey: "moderation.external.endpointHint",
    optional: true,
    type: "url",
    attrs: { name: "external-endpoint", autocomplete: "off", spellcheck: "false", class: "mono-input" },
  });
  endpoint.input.value = cur.endpoint || "";
  const keyHints = { setKey: "moderation.external.keySet", unsetKey: "moderation.external.keyHint" };
  const key = field({
    id: `${id}-key`,
    labelKey: "moderation.external.key",
    hintKey: cur.key_set ? keyHints.setKey : keyHints.unsetKey,
    type: "password",
    attrs: { name: "external-key", autocomplete: "new-password", spellcheck: "false" },
  });
  const details = h("div", { class: "form form-tight" }, mode.el, endpoint.el, key.el);
  const sync = () => {
    details.hidden = backend.input.value === "local";
  };
  backend.input.addEventListener("change", sync);
  sync();
  const el = h(
    "fieldset",
    { class: "fieldset", id: "policy-external" },
    h("legend", { i18n: "moderation.external.title" }),
    h("p", { class: "field-hint", i18n: "moderation.external.lead" }),
    backend.el,
    details,
  );
  return {
    el,
    /** read returns the external section as the API takes it; an empty key keeps the stored one. */
    read() {
      if (backend.input.value === "local") {
        return { backend: "local" };
      }
      const out = { backend: backend.input.value, mode: mode.input.value };
      if (endpoint.input.value.trim()) {
        out.endpoint = endpoint.input.value.trim();
      }
      if (key.input.value) {
        out.key = key.input.value;
      }
      return out;
    },
    /** saved forgets the typed key once the server has it. */
    saved() {
      if (key.input.value) {
        key.input.value = "";
        const hint = key.el.querySelector(".field-hint");
        if (hint) {
          setMessage(hint, { messageKey: keyHints.setKey });
        }
      }
    },
  };
}

/**
 * ediscoveryAction is the review queue's "open an eDiscovery case" action
 * for an alert d (as GET /api/v1/moderation/alerts/{id} returns it): the
 * cases the alert's messages are in already, as links, and a form that puts
 * them into a new case named after the alert or one of the reviewer's open
 * cases. act(button, review, doneMessage) posts the action (the caller's).
 * @param {{kind: string, cases?: string[]}} d
 * @param {(b: HTMLButtonElement, review: object, done: object) => void} act
 */
export function ediscoveryAction(d, act) {
  const names = new Map();
  const links = h("ul", { class: "case-links", id: "alert-cases" });
  const drawLinks = () => {
    links.replaceChildren(
      ...(d.cases || []).map((id) =>
        h("li", {}, h("a", { href: `/compliance/ediscovery/${encodeURIComponent(id)}`, "data-case": id }, icon("archive", "icon icon-small"), " ", h("bdi", {}, names.get(id) || id))),
      ),
    );
  };
  drawLinks();
  const parts = [h("h3", { class: "subheading", i18n: "compliance.ediscovery.title" })];
  if ((d.cases || []).length) {
    parts.push(h("p", { class: "field-hint", i18n: "compliance.ediscovery.cases" }), links);
  }
  if (d.kind === "block") {
    parts.push(h("p", { class: "field-hint", id: "ediscovery-held", i18n: "compliance.ediscovery.held" }));
    return h("div", { class: "action-group" }, ...parts);
  }
  const pick = field({
    id: "ediscovery-case",
    labelKey: "compliance.ediscovery.case",
    tag: "select",
    attrs: { name: "case" },
    options: [option({ value: "", labelKey: "compliance.ediscovery.new" })],
  });
  api
    .get("/api/v1/ediscovery/cases")
    .then((list) => {
      for (const c of Array.isArray(list) ? list : []) {
        names.set(c.id, c.name);
        if (c.state === "open") {
          pick.input.append(h("option", { value: c.id }, c.name));
        }
      }
      drawLinks();
    })
    .catch(() => {}); // a new case still works
  const send = button({ labelKey: "compliance.ediscovery.submit", type: "submit", iconName: "archive", attrs: { id: "action-ediscovery" } });
  const form = h("form", { class: "action-group form form-tight", novalidate: true }, ...parts, h("p", { class: "field-hint", i18n: "compliance.ediscovery.hint" }), pick.el, h("div", { class: "form-actions" }, send));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const review = { action: "ediscovery" };
    if (pick.input.value) {
      review.case = pick.input.value;
    }
    act(send, review, { messageKey: "compliance.ediscovery.done" });
  });
  return form;
}
