// The composer: where a message (or a reply in a thread) is written.
//
// Enter sends and Shift+Enter starts a new line (while an input method is
// composing, Enter belongs to it). Typing "@" offers the channel's people;
// choosing one inserts a mention, <@account-id>. Files are attached with
// the button, by dropping them on the conversation or by pasting; they go
// when the message is sent, the text as their caption, each with a progress
// bar. The draft is kept per channel and thread while the person moves
// around. The API's refusals are shown as the API words them.
//
// The organisation's moderation policy may refuse a message: a warning
// (moderation_warning) shows under the text with "Edit" and "Send anyway",
// which sends it again confirmed; a hold (moderation_held) says the message
// was not sent and is held for review, and keeps the text in the composer,
// marked as held, so nothing is lost. Changing the text ends either state.

import { h, icon, setMessage } from "./dom.js";
import { t } from "./i18n.js";
import { upload } from "./api.js";
import * as store from "./chatstore.js";
import { describeError, uid } from "./ui.js";
import { sessionEnded } from "./session.js";
import { displayName, formatBytes } from "./chatview.js";

/** Typing notices go at most this often. */
const TYPING_EVERY = 3000;

/** At most this many people are offered for a mention. */
const MAX_SUGGESTIONS = 8;

/**
 * composer builds the composer of a channel or of a thread.
 * @param {object} o
 * @param {string} o.channel
 * @param {string} [o.thread] the thread's first message, to reply in it
 * @param {() => boolean} [o.onEditLast] ArrowUp in an empty composer: edit the last message
 */
export function composer({ channel, thread = "", onEditLast = () => false }) {
  const id = uid("composer");
  const draftKey = thread ? `thread:${thread}` : channel;
  const ch = store.state.channels.get(channel);
  const name = ch ? ch.name : "";

  const area = h("textarea", {
    id,
    class: "composer-input",
    rows: "1",
    dir: "auto",
    enterkeyhint: "send",
    autocomplete: "off",
    "aria-describedby": `${id}-hint`,
    "aria-autocomplete": "list",
    "aria-controls": `${id}-people`,
    placeholder: thread ? t("chat.composer.replyPlaceholder") : t("chat.composer.placeholder", { name }),
  });
  area.value = store.state.drafts.get(draftKey) || "";

  const label = thread
    ? h("label", { class: "visually-hidden", for: id, i18n: "chat.composer.replyLabel" })
    : h("label", { class: "visually-hidden", for: id, i18n: "chat.composer.label", i18nParams: { name } });

  const fileInput = h("input", { type: "file", multiple: true, hidden: true, tabindex: "-1" });
  const attach = h(
    "button",
    { type: "button", class: "icon-button composer-attach", title: t("chat.composer.attach"), i18nAriaLabel: "chat.composer.attach", on: { click: () => fileInput.click() } },
    icon("attach"),
  );
  const sendButton = h("button", { type: "submit", class: "composer-send", title: t("chat.composer.send"), i18nAriaLabel: "chat.composer.send" }, icon("send"));
  const people = h("ul", { class: "mention-list", id: `${id}-people`, role: "listbox", hidden: true, i18nAriaLabel: "chat.mention.label" });
  const files = h("ul", { class: "staged-files", hidden: true, i18nAriaLabel: "chat.composer.files" });
  const alert = h("div", { class: "composer-alert", role: "alert" });
  const moderation = h("div", { class: "composer-moderation", role: "alert" });
  const heldMark = h("p", { class: "composer-held-mark", hidden: true }, icon("lock", "icon icon-small"), h("span", { i18n: "chat.moderation.heldMark" }));
  const status = h("p", { class: "visually-hidden", role: "status" });
  const hint = h(
    "p",
    { class: "composer-hint", id: `${id}-hint` },
    h("span", { i18n: "chat.composer.hintKeys" }),
    h("span", { class: "composer-hint-md", "aria-hidden": "true" }, " · ", h("b", {}, "**", h("span", { i18n: "chat.composer.hintBold" }), "**"), " ", h("i", {}, "*", h("span", { i18n: "chat.composer.hintItalic" }), "*"), " ", h("code", {}, "`code`"), " ", h("span", {}, "> "), h("span", { i18n: "chat.composer.hintQuote" }), " · @", h("span", { i18n: "chat.composer.hintMention" })),
  );

  const box = h("div", { class: "composer-box" }, label, heldMark, files, area, h("div", { class: "composer-tools" }, ...(thread ? [] : [attach, fileInput]), sendButton));
  const form = h("form", { class: "composer", novalidate: true }, people, box, moderation, alert, hint, status);

  /** @type {{file: File, el: HTMLElement, bar: HTMLProgressElement}[]} */
  let staged = [];
  let sending = false;
  let lastTyping = 0;

  function saveDraft() {
    if (area.value) {
      store.state.drafts.set(draftKey, area.value);
    } else {
      store.state.drafts.delete(draftKey);
    }
    area.rows = Math.min(8, Math.max(1, area.value.split("\n").length));
  }
  saveDraft();

  function showError(err) {
    if (err && err.status === 401) {
      sessionEnded();
      return;
    }
    let msg = describeError(err);
    if (err && !err.apiMessage && err.status === 413) {
      msg = { messageKey: "chat.error.tooLarge" };
    } else if (err && !err.apiMessage && err.status === 415) {
      msg = { messageKey: "chat.error.type" };
    }
    const text = h("span", {});
    setMessage(text, msg);
    alert.replaceChildren(icon("info", "icon alert-icon"), text);
  }

  function clearError() {
    alert.replaceChildren();
  }

  // ---- moderation: a warning before sending, a hold

  /** The text the policy refused, and how: {kind: "warning"|"held", text}. */
  let refused = null;

  function clearModeration() {
    refused = null;
    moderation.replaceChildren();
    moderation.className = "composer-moderation";
    box.classList.remove("is-held");
    heldMark.hidden = true;
  }

  /**
   * showModeration shows the policy's refusal of text: the kind in the
   * person's language, the API's words, and what they can do.
   */
  function showModeration(kind, text, err) {
    refused = { kind, text };
    const detail = h("span", { class: "composer-moderation-detail" });
    setMessage(detail, err && err.apiMessage ? { text: err.apiMessage } : null);
    const edit = h("button", { type: "button", class: "button button-secondary button-small", "data-moderation": "edit" }, h("span", { i18n: "common.edit" }));
    edit.addEventListener("click", () => {
      if (refused && refused.kind === "warning") {
        clearModeration();
      }
      focusEnd();
    });
    const actions = [edit];
    let title;
    if (kind === "warning") {
      title = h("strong", { i18n: "chat.moderation.warningTitle" });
      const anyway = h("button", { type: "button", class: "button button-primary button-small", "data-moderation": "send-anyway" }, h("span", { i18n: "chat.moderation.sendAnyway" }));
      anyway.addEventListener("click", () => sendAnyway());
      actions.push(anyway);
    } else {
      title = h("strong", { i18n: "chat.moderation.heldTitle" });
      const discard = h("button", { type: "button", class: "button button-quiet button-small", "data-moderation": "discard" }, h("span", { i18n: "chat.moderation.discard" }));
      discard.addEventListener("click", () => {
        area.value = "";
        saveDraft();
        clearModeration();
        area.focus();
      });
      actions.push(discard);
      box.classList.add("is-held");
      heldMark.hidden = false;
    }
    moderation.className = `composer-moderation is-${kind}`;
    moderation.replaceChildren(
      icon(kind === "warning" ? "info" : "lock", "icon alert-icon"),
      h(
        "div",
        { class: "composer-moderation-body" },
        h("p", {}, title, " ", detail),
        ...(kind === "held" ? [h("p", { class: "composer-moderation-kept", i18n: "chat.moderation.heldKept" })] : [h("p", { class: "composer-moderation-kept", i18n: "chat.moderation.warningRecorded" })]),
        h("div", { class: "composer-moderation-actions" }, ...actions),
      ),
    );
  }

  /** sendAnyway sends the text the policy warned about, confirmed. */
  async function sendAnyway() {
    if (sending || !refused || refused.kind !== "warning") {
      return;
    }
    const text = refused.text;
    clearModeration();
    clearError();
    area.value = "";
    saveDraft();
    sending = true;
    try {
      await store.send(channel, text, thread, { confirm: true });
      status.textContent = t("chat.moderation.sentAnyway");
    } catch (err) {
      if (area.value === "") {
        area.value = text;
        saveDraft();
      }
      failed(err, text);
    } finally {
      sending = false;
      area.focus();
    }
  }

  /** failed shows why a send of text was refused. */
  function failed(err, text) {
    if (err && err.code === "moderation_warning") {
      showModeration("warning", text, err);
    } else if (err && err.code === "moderation_held") {
      showModeration("held", text, err);
    } else {
      showError(err);
    }
  }

  function focusEnd() {
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  }

  // ---- files

  function addFiles(list) {
    if (thread) {
      return;
    }
    for (const file of list) {
      const bar = /** @type {HTMLProgressElement} */ (h("progress", { class: "staged-progress", max: "1", value: "0", hidden: true, "aria-label": t("chat.upload.progress", { name: file.name }) }));
      const remove = h(
        "button",
        { type: "button", class: "icon-button", title: t("chat.composer.removeFile", { name: file.name }), "aria-label": t("chat.composer.removeFile", { name: file.name }) },
        icon("close"),
      );
      const el = h(
        "li",
        { class: "staged" },
        h("span", { class: "file-icon", "aria-hidden": "true" }, icon("file")),
        h("span", { class: "staged-info" }, h("bdi", { class: "file-name" }, file.name), h("span", { class: "file-meta" }, formatBytes(file.size)), bar),
        remove,
      );
      const item = { file, el, bar };
      remove.addEventListener("click", () => {
        if (sending) {
          return;
        }
        staged = staged.filter((s) => s !== item);
        el.remove();
        files.hidden = staged.length === 0;
        area.focus();
      });
      staged.push(item);
      files.append(el);
    }
    files.hidden = staged.length === 0;
    if (list.length) {
      status.textContent = t("chat.composer.attached", { count: list.length });
    }
  }

  fileInput.addEventListener("change", () => {
    addFiles([...fileInput.files]);
    fileInput.value = "";
    area.focus();
  });

  area.addEventListener("paste", (event) => {
    const dt = event.clipboardData;
    if (!thread && dt && dt.files && dt.files.length > 0) {
      event.preventDefault();
      addFiles([...dt.files]);
    }
  });

  // ---- sending

  async function submit() {
    if (sending) {
      return;
    }
    closePeople();
    const text = area.value;
    if (text.trim() === "" && staged.length === 0) {
      return;
    }
    clearError();
    clearModeration();
    if (staged.length) {
      await sendFiles(text);
      return;
    }
    area.value = "";
    saveDraft();
    try {
      await store.send(channel, text, thread);
    } catch (err) {
      if (area.value === "") {
        area.value = text; // nothing is lost: the text comes back to fix
        saveDraft();
      }
      failed(err, text);
      area.focus();
    }
  }

  async function sendFiles(text) {
    sending = true;
    form.classList.add("is-sending");
    let caption = text.trim() ? text : "";
    try {
      while (staged.length) {
        const item = staged[0];
        item.bar.hidden = false;
        item.el.classList.add("is-uploading");
        const q = new URLSearchParams({ name: item.file.name });
        if (caption) {
          q.set("caption", caption);
        }
        try {
          const v = await upload(`/api/v1/channels/${encodeURIComponent(channel)}/files?${q}`, item.file, {
            onProgress: (f) => {
              item.bar.value = f;
            },
          });
          store.sent(channel, v);
        } catch (err) {
          item.bar.hidden = true;
          item.el.classList.remove("is-uploading");
          item.el.classList.add("is-failed");
          showError(err);
          return;
        }
        staged.shift();
        item.el.remove();
        if (caption) {
          caption = "";
          area.value = "";
          saveDraft();
        }
      }
      files.hidden = true;
    } finally {
      sending = false;
      form.classList.remove("is-sending");
      area.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });

  // ---- keys, typing notices, mentions

  area.addEventListener("keydown", (event) => {
    if (!people.hidden && handlePeopleKey(event)) {
      return;
    }
    if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey) {
      if (event.isComposing || event.keyCode === 229) {
        return; // the input method's Enter
      }
      event.preventDefault();
      submit();
      return;
    }
    if (event.key === "ArrowUp" && area.value === "" && !thread) {
      if (onEditLast()) {
        event.preventDefault();
      }
    }
  });

  area.addEventListener("input", (event) => {
    saveDraft();
    if (alert.firstChild && area.value === "") {
      clearError();
    }
    if (refused && area.value !== refused.text) {
      clearModeration();
    }
    if (!event.isComposing && area.value.trim() !== "") {
      const now = Date.now();
      if (now - lastTyping > TYPING_EVERY) {
        lastTyping = now;
        store.typing(channel);
      }
    }
    suggest();
  });
  area.addEventListener("click", suggest);
  area.addEventListener("blur", () => setTimeout(() => {
    if (document.activeElement !== area) {
      closePeople();
    }
  }, 150));

  let options = [];
  let active = 0;
  let query = null;

  /** suggest offers people when the word at the caret starts with "@". */
  function suggest() {
    const before = area.value.slice(0, area.selectionStart);
    const m = /(^|\s)@([\p{L}\p{N}._-]{0,30})$/u.exec(before);
    if (!m || area.selectionStart !== area.selectionEnd) {
      closePeople();
      return;
    }
    const q = m[2].toLowerCase();
    const found = store
      .peopleOf(channel)
      .map((pid) => ({ id: pid, name: displayName(pid) }))
      .filter((p) => p.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(q)) || p.name.toLowerCase().includes(q) || p.id.startsWith(q))
      .sort((a, b) => a.name.localeCompare(b.name))
      .slice(0, MAX_SUGGESTIONS);
    query = { start: before.length - m[2].length - 1, end: area.selectionStart };
    if (!found.length) {
      closePeople();
      query = null;
      return;
    }
    options = found;
    active = 0;
    drawPeople();
    people.hidden = false;
    status.textContent = t("chat.mention.found", { count: found.length });
  }

  function drawPeople() {
    people.replaceChildren(
      ...options.map((p, i) => {
        const kind = store.person(p.id).kind;
        return h(
          "li",
          {
            id: `${id}-person-${i}`,
            role: "option",
            class: "mention-option",
            "aria-selected": String(i === active),
            on: {
              mousedown: (event) => event.preventDefault(), // keep the focus in the field
              click: () => {
                active = i;
                choose();
              },
            },
          },
          h("bdi", {}, p.name),
          ...(kind === "guest" ? [" ", h("span", { class: "badge badge-warning", i18n: "chat.guest" })] : []),
        );
      }),
    );
    area.setAttribute("aria-activedescendant", `${id}-person-${active}`);
  }

  function handlePeopleKey(event) {
    switch (event.key) {
      case "ArrowDown":
        active = (active + 1) % options.length;
        break;
      case "ArrowUp":
        active = (active - 1 + options.length) % options.length;
        break;
      case "Enter":
      case "Tab":
        if (event.isComposing) {
          return false;
        }
        event.preventDefault();
        choose();
        return true;
      case "Escape":
        event.preventDefault();
        event.stopPropagation();
        closePeople();
        return true;
      default:
        return false;
    }
    event.preventDefault();
    drawPeople();
    return true;
  }

  function choose() {
    const p = options[active];
    if (!p || !query) {
      return;
    }
    const insert = `<@${p.id}> `;
    area.setRangeText(insert, query.start, query.end, "end");
    closePeople();
    saveDraft();
    status.textContent = t("chat.mention.inserted", { name: p.name });
    area.focus();
  }

  function closePeople() {
    if (!people.hidden) {
      people.hidden = true;
      people.replaceChildren();
    }
    area.removeAttribute("aria-activedescendant");
    options = [];
  }

  return {
    el: form,
    area,
    /** addFiles stages files (dropped on the conversation). */
    addFiles,
    /** relocalize translates the words that are not in data-i18n. */
    relocalize() {
      const c = store.state.channels.get(channel);
      area.placeholder = thread ? t("chat.composer.replyPlaceholder") : t("chat.composer.placeholder", { name: c ? c.name : name });
      attach.title = t("chat.composer.attach");
      sendButton.title = t("chat.composer.send");
      for (const item of staged) {
        item.bar.setAttribute("aria-label", t("chat.upload.progress", { name: item.file.name }));
      }
    },
    focus() {
      area.focus();
      area.setSelectionRange(area.value.length, area.value.length);
    },
    destroy() {
      saveDraft();
    },
  };
}
