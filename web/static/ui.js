// Pieces the pages share: fields with their labels, hints and errors; an
// alert region for refusals; buttons that show progress; dialogs; copying
// and downloading secrets that are shown once; badges; and a message that
// waits for the next page ("flash").
//
// Everything is built with dom.js: no HTML strings. Messages of the
// catalogues go in with setMessage (translated again on a change of
// language); messages the server wrote for people go in as plain text.

import { h, icon, setMessage } from "./dom.js";
import { formatWait } from "./i18n.js";
import { ApiError } from "./api.js";

let serial = 0;

/** uid returns an id unique in the page, for labels and descriptions. */
export function uid(prefix) {
  serial += 1;
  return `${prefix}-${serial}`;
}

/**
 * A message for the person: a message key of the catalogues with its
 * params, or text that is not in the catalogues (the API's words).
 * @typedef {{messageKey?: string, params?: Record<string, string|number>, text?: string}} Message
 */

/** isMessage reports whether v is a Message rather than an error. */
function isMessage(v) {
  return !!v && typeof v === "object" && !(v instanceof Error) && ("messageKey" in v || "text" in v);
}

/**
 * describeError turns an error into what to tell the person. A throttled
 * request says in words how long to wait.
 * @param {unknown} err
 * @returns {Message}
 */
export function describeError(err) {
  if (err instanceof ApiError) {
    if (err.offline) {
      return { messageKey: "error.offline" };
    }
    if (err.status === 429) {
      if (err.retryAfter > 0) {
        return { messageKey: "error.tooMany", params: { when: formatWait(err.retryAfter) } };
      }
      return { messageKey: "error.tooManySoon" };
    }
    if (err.apiMessage) {
      return { text: err.apiMessage };
    }
    return { messageKey: "error.status", params: { status: err.status } };
  }
  if (err && err.name === "NotAllowedError") {
    return { messageKey: "passkey.cancelled" };
  }
  return { messageKey: "error.unexpected" };
}

/**
 * alertRegion is where a form says what went wrong: role="alert", so a
 * screen reader announces it at once. It stays in the page while empty, so
 * the announcement is never lost to an element that only just appeared.
 */
export function alertRegion() {
  const text = h("span", { class: "alert-text" });
  const detail = h("span", { class: "alert-detail" });
  const actions = h("span", { class: "alert-actions" });
  const el = h("div", { class: "alert", role: "alert" });

  return {
    el,
    /**
     * show says what went wrong. actions are buttons offered with it (such
     * as "Save anyway").
     * @param {unknown} what an error, or a Message
     * @param {{actions?: HTMLElement[]}} [options]
     */
    show(what, { actions: buttons = [] } = {}) {
      setMessage(text, isMessage(what) ? what : describeError(what));
      if (what instanceof ApiError && what.requestId && what.status >= 500) {
        setMessage(detail, { messageKey: "error.requestId", params: { id: what.requestId } });
      } else {
        setMessage(detail, null);
      }
      actions.replaceChildren(...buttons);
      el.replaceChildren(icon("info", "icon alert-icon"), h("span", { class: "alert-body" }, text, detail, actions));
    },
    clear() {
      el.replaceChildren();
    },
  };
}

/**
 * statusRegion is a polite live region for good news ("Saved.").
 * @param {string} [className]
 */
export function statusRegion(className = "status-message") {
  const el = h("p", { class: className, role: "status" });
  let timer = 0;
  return {
    el,
    /**
     * show announces a Message; after the next frame, so the same message
     * twice is announced twice.
     */
    show(msg) {
      clearTimeout(timer);
      setMessage(el, null);
      requestAnimationFrame(() => setMessage(el, msg));
    },
    clear() {
      clearTimeout(timer);
      setMessage(el, null);
    },
    /** flash shows a message for a few seconds. */
    flash(msg) {
      this.show(msg);
      timer = setTimeout(() => setMessage(el, null), 4000);
    },
  };
}

/**
 * button makes a button whose label is a message key. A click while the
 * button is busy (see busy) does nothing.
 * @param {{labelKey: string, kind?: "primary"|"secondary"|"danger"|"quiet", type?: string, iconName?: string, small?: boolean, block?: boolean, onClick?: (e: Event) => void, attrs?: Record<string, any>}} o
 */
export function button({ labelKey, kind = "secondary", type = "button", iconName, small = false, block = false, onClick, attrs = {} }) {
  const classes = ["button", `button-${kind}`];
  if (small) {
    classes.push("button-small");
  }
  if (block) {
    classes.push("button-block");
  }
  const label = h("span", { class: "button-label", i18n: labelKey });
  const b = h("button", { type, class: classes.join(" "), ...attrs }, ...(iconName ? [icon(iconName)] : []), label);
  if (onClick) {
    b.addEventListener("click", (event) => {
      if (!isBusy(b)) {
        onClick(event);
      }
    });
  }
  return b;
}

/** isBusy reports whether a button's request is still running. */
export function isBusy(b) {
  return b.dataset.busy === "true";
}

/**
 * busy shows that a button's request runs: the button is disabled for
 * assistive technology and the pointer (aria-disabled, so that it keeps the
 * focus), shows a spinner and says what is happening ("Signing in…"). It
 * returns the function that ends it.
 * @param {HTMLButtonElement} b
 * @param {Message} msg
 */
export function busy(b, msg) {
  const label = b.querySelector(".button-label");
  const before = label ? label.dataset.i18n : null;
  const spinner = h("span", { class: "spinner", "aria-hidden": "true" });
  b.dataset.busy = "true";
  b.setAttribute("aria-disabled", "true");
  b.prepend(spinner);
  if (label) {
    setMessage(label, msg);
  }
  return () => {
    delete b.dataset.busy;
    b.removeAttribute("aria-disabled");
    spinner.remove();
    if (label && before) {
      setMessage(label, { messageKey: before });
    }
  };
}

/**
 * field builds a labelled input with an optional hint and an error message
 * wired up with aria-describedby and aria-invalid.
 * @param {object} o
 * @param {string} o.labelKey
 * @param {string} [o.id]
 * @param {string} [o.type]
 * @param {string} [o.hintKey]
 * @param {Record<string, string|number>} [o.hintParams]
 * @param {boolean} [o.optional] marks the label "(optional)"
 * @param {"input"|"select"|"textarea"} [o.tag]
 * @param {Record<string, any>} [o.attrs] more attributes of the input
 * @param {HTMLElement[]} [o.options] the options of a select
 */
export function field({ labelKey, id = uid("f"), type = "text", hintKey, hintParams, optional = false, tag = "input", attrs = {}, options = [] }) {
  const input = tag === "input" ? h("input", { id, type, ...attrs }) : h(tag, { id, ...attrs }, ...options);
  const label = h("label", { for: id }, h("span", { i18n: labelKey }));
  if (optional) {
    label.append(" ", h("span", { class: "label-optional", i18n: "form.optional" }));
  }
  const hint = hintKey ? h("p", { class: "field-hint", id: `${id}-hint`, i18n: hintKey, i18nParams: hintParams }) : null;
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  const describe = () => {
    const ids = [];
    if (hint) {
      ids.push(hint.id);
    }
    if (!error.hidden) {
      ids.push(error.id);
    }
    if (ids.length) {
      input.setAttribute("aria-describedby", ids.join(" "));
    } else {
      input.removeAttribute("aria-describedby");
    }
  };
  describe();
  const el = h("div", { class: "field" }, label, ...(hint ? [hint] : []), input, error);
  return {
    el,
    input,
    hint,
    /**
     * setError marks the field invalid with a Message, or valid with null.
     * @param {Message|null} msg
     */
    setError(msg) {
      setMessage(error, msg);
      error.hidden = !msg;
      if (msg) {
        input.setAttribute("aria-invalid", "true");
      } else {
        input.removeAttribute("aria-invalid");
      }
      describe();
    },
  };
}

/**
 * checkbox builds a labelled checkbox with an optional hint.
 * @param {{labelKey: string, hintKey?: string, id?: string, checked?: boolean, value?: string, name?: string}} o
 */
export function checkbox({ labelKey, hintKey, id = uid("c"), checked = false, value, name }) {
  const input = h("input", { type: "checkbox", id, checked, value, name });
  if (hintKey) {
    input.setAttribute("aria-describedby", `${id}-hint`);
  }
  const el = h(
    "div",
    { class: "check" },
    input,
    h(
      "label",
      { for: id },
      h("span", { class: "check-label", i18n: labelKey }),
      ...(hintKey ? [h("span", { class: "check-hint", id: `${id}-hint`, i18n: hintKey })] : []),
    ),
  );
  return { el, input };
}

/**
 * checkGroup is a fieldset of checkboxes (or radio buttons) with a legend.
 * An item's label is a message key (labelKey) or plain text (label), such
 * as a person's name.
 * @param {{legendKey: string, hintKey?: string, type?: "checkbox"|"radio", name?: string, items: {value: string, labelKey?: string, label?: string, hintKey?: string, hint?: string, checked?: boolean}[]}} o
 */
export function checkGroup({ legendKey, hintKey, type = "checkbox", name = uid("g"), items }) {
  const inputs = [];
  const rows = items.map((item) => {
    const id = uid("o");
    const input = h("input", { type, id, name, value: item.value, checked: !!item.checked });
    if (item.hintKey || item.hint) {
      input.setAttribute("aria-describedby", `${id}-hint`);
    }
    inputs.push(input);
    const label = item.labelKey ? h("span", { class: "check-label", i18n: item.labelKey }) : h("span", { class: "check-label" }, item.label || "");
    let hint = [];
    if (item.hintKey) {
      hint = [h("span", { class: "check-hint", id: `${id}-hint`, i18n: item.hintKey })];
    } else if (item.hint) {
      hint = [h("span", { class: "check-hint", id: `${id}-hint` }, item.hint)];
    }
    return h("div", { class: "check" }, input, h("label", { for: id }, label, ...hint));
  });
  const legend = h("legend", { i18n: legendKey });
  const hint = hintKey ? h("p", { class: "field-hint", i18n: hintKey }) : null;
  const el = h("fieldset", { class: "fieldset" }, legend, ...(hint ? [hint] : []), h("div", { class: "check-list" }, ...rows));
  return {
    el,
    inputs,
    /** values returns the values checked. */
    values: () => inputs.filter((i) => i.checked).map((i) => i.value),
    /** value returns the one value checked (radio buttons), or "". */
    value: () => (inputs.find((i) => i.checked) || { value: "" }).value,
    /** set checks exactly the given values. */
    set(values) {
      for (const i of inputs) {
        i.checked = values.includes(i.value);
      }
    },
  };
}

/**
 * option makes an <option> with a translated label.
 * @param {{value: string, labelKey: string}} o
 */
export function option({ value, labelKey }) {
  return h("option", { value, i18n: labelKey });
}

/**
 * badge is a short coloured label.
 * @param {{labelKey: string, tone?: "neutral"|"accent"|"success"|"warning"|"danger"}} o
 */
export function badge({ labelKey, tone = "neutral" }) {
  return h("span", { class: `badge badge-${tone}`, i18n: labelKey });
}

/**
 * pageHeader is the heading of a page of the app, with its icon and lead.
 * @param {{iconName: string, titleKey: string, leadKey?: string}} o
 */
export function pageHeader({ iconName, titleKey, leadKey }) {
  return h(
    "header",
    { class: "area-header" },
    h("span", { class: "area-icon" }, icon(iconName)),
    h("div", {}, h("h1", { i18n: titleKey }), ...(leadKey ? [h("p", { class: "lead", i18n: leadKey })] : [])),
  );
}

/**
 * panel is a titled section of a page; its heading labels it.
 * @param {{titleKey: string, leadKey?: string, id?: string, actions?: HTMLElement[]}} o
 * @param {...(Node|string)} children
 */
export function panel({ titleKey, leadKey, id = uid("panel"), actions = [] }, ...children) {
  const headingId = `${id}-heading`;
  return h(
    "section",
    { class: "panel card", id, "aria-labelledby": headingId },
    h(
      "div",
      { class: "panel-header" },
      h("div", {}, h("h2", { id: headingId, i18n: titleKey }), ...(leadKey ? [h("p", { class: "panel-lead", i18n: leadKey })] : [])),
      ...(actions.length ? [h("div", { class: "panel-actions" }, ...actions)] : []),
    ),
    ...children,
  );
}

/** loading says that something is on its way. */
export function loading() {
  return h("p", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), h("span", { i18n: "common.loading" }));
}

/**
 * copyText puts text on the clipboard and reports whether it could.
 * @param {string} text
 */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

const COPY = { labelKey: "common.copy" };

/**
 * copyButton copies the text it is given when pressed, and says so; when the
 * browser refuses, it selects the text (if it can) and says to copy by hand.
 * @param {() => string} getText
 * @param {{labelKey?: string, select?: () => void}} [options]
 */
export function copyButton(getText, { labelKey = COPY.labelKey, select } = {}) {
  const status = statusRegion("visually-hidden");
  const b = button({
    labelKey,
    small: true,
    iconName: "copy",
    onClick: async () => {
      const ok = await copyText(getText());
      const label = b.querySelector(".button-label");
      if (ok) {
        setMessage(label, { messageKey: "common.copied" });
        status.flash({ messageKey: "common.copiedAnnouncement" });
        setTimeout(() => setMessage(label, { messageKey: labelKey }), 2000);
      } else {
        if (select) {
          select();
        }
        status.flash({ messageKey: "common.copyFailed" });
      }
    },
  });
  return h("span", { class: "copy" }, b, status.el);
}

/**
 * secretBox shows a secret that is shown once (a link, a token, a key),
 * selectable, with a copy button.
 * @param {string} value
 * @param {{labelKey: string, id?: string, groups?: boolean}} o
 */
export function secretBox(value, { labelKey, id = uid("secret") }) {
  const code = h("code", { class: "secret-value", id, tabindex: "0", "aria-labelledby": `${id}-label ${id}` }, value);
  const select = () => {
    const range = document.createRange();
    range.selectNodeContents(code);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  };
  return h(
    "div",
    { class: "secret" },
    h("p", { class: "secret-label", id: `${id}-label`, i18n: labelKey }),
    h("div", { class: "secret-row" }, code, copyButton(() => value, { select })),
  );
}

/**
 * downloadText offers text as a file to save.
 * @param {string} filename
 * @param {string} text
 */
export function downloadText(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
  const a = h("a", { href: url, download: filename, class: "visually-hidden" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/**
 * modal opens a modal <dialog> with a heading; the browser keeps the focus
 * inside and Escape closes it. It returns the dialog and its body, and
 * removes the dialog from the page once closed, giving the focus back to
 * where it was.
 * @param {{titleKey: string, titleParams?: Record<string, string|number>}} o
 */
export function modal({ titleKey, titleParams }) {
  const headingId = uid("dialog");
  const body = h("div", { class: "dialog-body" });
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": headingId }, h("h2", { id: headingId, i18n: titleKey, i18nParams: titleParams }), body);
  const back = document.activeElement;
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (back && back instanceof HTMLElement && back.isConnected) {
      back.focus();
    }
  });
  document.body.append(dialog);
  return { dialog, body };
}

/**
 * confirmDialog asks the person to confirm an action and resolves to their
 * answer. The safe choice (Cancel) has the focus first.
 * @param {{titleKey: string, titleParams?: Record<string, string|number>, bodyKey: string, bodyParams?: Record<string, string|number>, confirmKey: string, danger?: boolean}} o
 * @returns {Promise<boolean>}
 */
export function confirmDialog({ titleKey, titleParams, bodyKey, bodyParams, confirmKey, danger = false }) {
  return new Promise((resolve) => {
    const { dialog, body } = modal({ titleKey, titleParams });
    let answer = false;
    const cancel = button({ labelKey: "common.cancel", onClick: () => dialog.close() });
    const ok = button({
      labelKey: confirmKey,
      kind: danger ? "danger" : "primary",
      onClick: () => {
        answer = true;
        dialog.close();
      },
    });
    body.append(h("p", { i18n: bodyKey, i18nParams: bodyParams }), h("div", { class: "dialog-actions" }, cancel, ok));
    dialog.addEventListener("close", () => resolve(answer));
    dialog.showModal();
    cancel.focus();
  });
}

/**
 * proofDialog asks for a current code of the person's authenticator app (or
 * a recovery code) to confirm a sensitive change, and runs action with the
 * proof. A refusal is shown in the dialog, which keeps what was typed; the
 * dialog closes when action succeeds, and the promise resolves to its
 * result, or to null when the person cancels.
 * @template T
 * @param {{titleKey: string, leadKey: string, confirmKey: string, busyKey: string, danger?: boolean, action: (proof: {kind: string, code: string}) => Promise<T>}} o
 * @returns {Promise<T|null>}
 */
export function proofDialog({ titleKey, leadKey, confirmKey, busyKey, danger = false, action }) {
  return new Promise((resolve) => {
    const { dialog, body } = modal({ titleKey });
    let result = null;
    const alert = alertRegion();
    const code = codeField();
    const submit = button({ labelKey: confirmKey, kind: danger ? "danger" : "primary", type: "submit" });
    const cancel = button({ labelKey: "common.cancel", onClick: () => dialog.close() });
    const form = h(
      "form",
      { class: "form form-tight", method: "post", novalidate: true },
      h("p", { i18n: leadKey }),
      code.el,
      alert.el,
      h("div", { class: "dialog-actions" }, cancel, submit),
    );
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
      const done = busy(submit, { messageKey: busyKey });
      try {
        result = await action(proof);
        dialog.close();
      } catch (err) {
        alert.show(err);
        code.input.focus();
        code.input.select();
      } finally {
        done();
      }
    });
    body.append(form);
    dialog.addEventListener("close", () => resolve(result));
    dialog.showModal();
    code.input.focus();
  });
}

/**
 * codeField is the field for a second-factor code: six digits from an
 * authenticator app, or, after the switch, a recovery code.
 * @param {{allowRecovery?: boolean, allowTotp?: boolean, id?: string}} [options]
 */
export function codeField({ allowRecovery = true, allowTotp = true, id = uid("code") } = {}) {
  const totp = field({
    id,
    labelKey: "mfa.code.label",
    hintKey: "mfa.code.hint",
    attrs: {
      name: "code",
      inputmode: "numeric",
      autocomplete: "one-time-code",
      pattern: "[0-9]*",
      maxlength: "6",
      spellcheck: "false",
      class: "input-code",
    },
  });
  const recovery = field({
    labelKey: "mfa.recovery.label",
    hintKey: "mfa.recovery.hint",
    attrs: { name: "recovery", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", class: "input-code" },
  });
  let kind = allowTotp ? "totp" : "recovery";
  totp.el.hidden = kind !== "totp";
  recovery.el.hidden = kind !== "recovery";
  const toggle = h("button", { type: "button", class: "link-button", i18n: "mfa.useRecovery" });
  toggle.addEventListener("click", () => {
    kind = kind === "totp" ? "recovery" : "totp";
    totp.el.hidden = kind !== "totp";
    recovery.el.hidden = kind !== "recovery";
    setMessage(toggle, kind === "totp" ? { messageKey: "mfa.useRecovery" } : { messageKey: "mfa.useApp" });
    result.input = kind === "totp" ? totp.input : recovery.input;
    result.input.focus();
  });
  const el = h("div", { class: "code-field" }, totp.el, recovery.el, ...(allowRecovery && allowTotp ? [toggle] : []));
  const result = {
    el,
    input: kind === "totp" ? totp.input : recovery.input,
    /** read returns the proof typed, or null (and marks the field) when empty or malformed. */
    read() {
      totp.setError(null);
      recovery.setError(null);
      if (kind === "totp") {
        const code = totp.input.value.replace(/\s+/g, "");
        if (!/^\d{6}$/.test(code)) {
          totp.setError({ messageKey: "mfa.code.invalid" });
          return null;
        }
        return { kind: "totp", code };
      }
      const code = recovery.input.value.trim();
      if (code === "") {
        recovery.setError({ messageKey: "mfa.recovery.empty" });
        return null;
      }
      return { kind: "recovery", code };
    },
    /** clear empties both fields. */
    clear() {
      totp.input.value = "";
      recovery.input.value = "";
    },
  };
  return result;
}

let pendingFlash = null;

/**
 * setFlash keeps a message for the next page shown (after a redirect),
 * with a tone and an optional link.
 * @param {Message & {tone?: "info"|"success"|"warning", link?: {href: string, labelKey: string}}} f
 */
export function setFlash(f) {
  pendingFlash = f;
}

/**
 * takeFlash returns the banner of the waiting message, once, or null. The
 * banner is a live region that gets its words a moment after it is in the
 * page, so that screen readers announce them.
 */
export function takeFlash() {
  const f = pendingFlash;
  pendingFlash = null;
  if (!f) {
    return null;
  }
  const text = h("span", {});
  const body = h("p", { class: "banner-text" });
  requestAnimationFrame(() => {
    setMessage(text, f);
    body.append(text, ...(f.link ? [" ", h("a", { href: f.link.href, i18n: f.link.labelKey })] : []));
  });
  return h("div", { class: `banner banner-${f.tone || "info"}`, role: "status" }, icon(f.tone === "success" ? "check" : "info", "icon banner-icon"), body);
}

/**
 * safeNext returns path if it is a path of this app to go back to after
 * signing in, else "". It refuses other origins ("//evil", "https:…")
 * and the sign-in page itself.
 * @param {string|null} path
 */
export function safeNext(path) {
  if (!path || !path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\")) {
    return "";
  }
  const url = new URL(path, location.origin);
  if (url.origin !== location.origin || url.pathname === "/signin" || url.pathname.startsWith("/api/")) {
    return "";
  }
  return url.pathname + url.search;
}

/**
 * describeAgent names the browser and system of a user agent string, such
 * as "Chrome · Linux"; "" when it recognises neither.
 * @param {string} ua
 */
export function describeAgent(ua) {
  if (!ua) {
    return "";
  }
  const browsers = [
    [/Edg\//, "Edge"],
    [/OPR\//, "Opera"],
    [/Firefox\//, "Firefox"],
    [/(?:Headless)?Chrom(?:e|ium)\//, "Chrome"],
    [/Version\/[\d.]+.*Safari\//, "Safari"],
  ];
  const systems = [
    [/Windows/, "Windows"],
    [/iPhone|iPad|iPod/, "iOS"],
    [/Mac OS X|Macintosh/, "macOS"],
    [/Android/, "Android"],
    [/CrOS/, "ChromeOS"],
    [/Linux/, "Linux"],
  ];
  const b = browsers.find(([re]) => re.test(ua));
  const s = systems.find(([re]) => re.test(ua));
  return [b && b[1], s && s[1]].filter(Boolean).join(" · ");
}
