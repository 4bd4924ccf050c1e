// The message list of a channel or of a thread: newest at the bottom, older
// pages loaded as the person scrolls up, a heading per day, messages of one
// author in a row grouped, reactions, files, threads, editing and deleting,
// and reporting another person's message to the compliance reviewers.
//
// Keyboard: the list is one stop of the Tab key; the arrow keys (and Page
// Up, Page Down, Home, End) move between messages, and Tab from a message
// reaches its buttons. Each message is an <article> named by its author and
// time. New messages from others are announced in a polite live region by
// the page, not by the list, so that loading older pages is not read out.
//
// Message bodies are rendered by markdown.js into text nodes and a few safe
// elements, inside an element with dir="auto" and bidi isolation, so that a
// right-to-left message cannot reorder what surrounds it.

import { h, icon, setMessage } from "./dom.js";
import { t, locale, language, formatDateTime } from "./i18n.js";
import { isEmojiOnly, renderMarkdown } from "./markdown.js";
import * as store from "./chatstore.js";
import { confirmDialog, describeError } from "./ui.js";
import { showLoadError } from "./session.js";
import { reportDialog } from "./moderation.js";

/** The reactions the picker offers. */
export const REACTIONS = ["👍", "❤️", "😄", "🎉", "👀", "🙏", "✅", "😮"];

/** Messages of one author within this long of each other are grouped. */
const GROUP_WITHIN = 5 * 60 * 1000;

/** How near the bottom counts as "at the bottom", in pixels. */
const NEAR_BOTTOM = 48;

/** How near the top starts loading older messages, in pixels. */
const NEAR_TOP = 400;

/**
 * displayName returns the name to show for an account: the display name
 * when the person can know it, else "Person" and the end of the id.
 * @param {string} id
 */
export function displayName(id) {
  const p = store.person(id);
  return p.name || t("chat.person.unknown", { id: String(id).slice(-6) });
}

/** initials returns up to two letters for an avatar. */
export function initials(name) {
  const parts = String(name).trim().split(/[\s@._-]+/).filter(Boolean);
  if (parts.length > 1) {
    return (Array.from(parts[0])[0] + Array.from(parts[1])[0]).toUpperCase();
  }
  return Array.from(String(name)).slice(0, 2).join("").toUpperCase();
}

/**
 * avatarText is what a person's avatar shows: the initials of their name,
 * or, when the name is unknown, the end of their id (as their label shows).
 * @param {string} id
 */
export function avatarText(id) {
  const p = store.person(id);
  return p.name ? initials(p.name) : String(id).slice(-2).toUpperCase();
}

/** avatarTone picks one of a few colours for a person, always the same. */
export function avatarTone(id) {
  let n = 0;
  for (const ch of String(id)) {
    n = (n * 31 + ch.charCodeAt(0)) >>> 0;
  }
  return `tone-${n % 6}`;
}

// ---- presence

/**
 * The words for each presence, written out in full for the catalogue test;
 * an unknown status reads as offline.
 */
const PRESENCE = {
  online: { labelKey: "chat.presence.online" },
  away: { labelKey: "chat.presence.away" },
  busy: { labelKey: "chat.presence.busy" },
  dnd: { labelKey: "chat.presence.dnd" },
  offline: { labelKey: "chat.presence.offline" },
};

/** presenceKey returns the message key that names a presence. */
export function presenceKey(status) {
  return (PRESENCE[status] || PRESENCE.offline).labelKey;
}

/**
 * presenceDot returns the dot that shows a person's presence: its colour
 * and shape say it to the eye, its accessible name ("Online", role img) and
 * tooltip to everyone else. It keeps up with changes (see updatePresence).
 * A decorative dot, beside the presence in words, has no name of its own;
 * a dot given a status shows that status and does not follow anyone.
 * @param {string} id the person ("" with status)
 * @param {{decorative?: boolean, status?: string}} [o]
 */
export function presenceDot(id, { decorative = false, status } = {}) {
  const el = h("span", {
    class: decorative ? "presence presence-decorative" : "presence",
    role: decorative ? null : "img",
    "aria-hidden": decorative ? "true" : null,
    "data-presence-for": status ? null : id,
  });
  setPresence(el, status || store.presenceOf(id));
  return el;
}

/**
 * presenceText returns a person's presence in words, kept up to date like
 * the dot.
 * @param {string} id
 */
export function presenceText(id) {
  const el = h("span", { class: "presence-text", "data-presence-for": id });
  setPresence(el, store.presenceOf(id));
  return el;
}

/**
 * avatarWithPresence returns a person's avatar with their presence dot on
 * its corner. The avatar itself is decoration; the dot has a name.
 * @param {string} id
 * @param {string} [className] more classes of the avatar
 */
export function avatarWithPresence(id, className = "", { decorative = false } = {}) {
  return h(
    "span",
    { class: "avatar-wrap" },
    h("span", { class: `avatar ${className} ${avatarTone(id)}`.replace(/\s+/g, " "), "aria-hidden": "true" }, avatarText(id)),
    presenceDot(id, { decorative }),
  );
}

/**
 * setPresence shows a status on a dot or text made here.
 * @param {HTMLElement} el
 * @param {string} status
 */
export function setPresence(el, status) {
  const s = status in PRESENCE ? status : "offline";
  const key = presenceKey(s);
  el.dataset.presence = s;
  if (el.classList.contains("presence-text")) {
    el.dataset.i18n = key;
    el.textContent = t(key);
  } else if (el.classList.contains("presence-decorative")) {
    return;
  } else {
    el.dataset.i18nAriaLabel = key;
    el.setAttribute("aria-label", t(key));
    el.dataset.i18nTitle = key;
    el.setAttribute("title", t(key));
  }
}

/**
 * updatePresence brings every dot and text of the given people within root
 * up to date, in place: the message list's cached messages need no
 * rebuilding for it.
 * @param {string[]} users
 * @param {ParentNode} [root]
 */
export function updatePresence(users, root = document) {
  const changed = new Set(users);
  for (const el of root.querySelectorAll("[data-presence-for]")) {
    if (el instanceof HTMLElement && changed.has(el.dataset.presenceFor)) {
      const s = store.presenceOf(el.dataset.presenceFor);
      if (el.dataset.presence !== s) {
        setPresence(el, s);
      }
    }
  }
}

/**
 * formatBytes says how big a file is, in the language's own way.
 * @param {number} n
 */
export function formatBytes(n) {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"];
  let v = Math.max(0, Number(n) || 0);
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return new Intl.NumberFormat(locale(), {
    style: "unit",
    unit: units[u],
    unitDisplay: u === 0 ? "long" : "short",
    maximumFractionDigits: u === 0 ? 0 : 1,
  }).format(v);
}

/** shortTime formats the time of day ("9:41 AM", "9:41"). */
function shortTime(date) {
  return new Intl.DateTimeFormat(locale(), { hour: "numeric", minute: "2-digit" }).format(date);
}

/** dayKey is the local day of a moment, for day separators. */
function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

/** dayLabel names a day: "Today", "Yesterday", or the date in full. */
function dayLabel(date) {
  const now = new Date();
  const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
  if (dayKey(date) === dayKey(now)) {
    return t("chat.day.today");
  }
  if (dayKey(date) === dayKey(yesterday)) {
    return t("chat.day.yesterday");
  }
  return new Intl.DateTimeFormat(locale(), { weekday: "long", year: "numeric", month: "long", day: "numeric" }).format(date);
}

/**
 * plainText turns a body into one line of text for announcements and
 * previews: mentions as names, Markdown marks as they are.
 */
export function plainText(body, max = 140) {
  const s = String(body)
    .replace(/<@([A-Za-z0-9_-]{1,64})>/g, (m, id) => "@" + displayName(id))
    .replace(/\s+/g, " ")
    .trim();
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

/**
 * mentionNode renders a mention of an account as a chip with its name; a
 * mention of the person is highlighted.
 * @param {string} id
 */
export function mentionNode(id) {
  const me = id === store.state.me;
  return h("span", { class: me ? "mention mention-me" : "mention", "data-account": id }, "@", h("bdi", {}, displayName(id)));
}

/**
 * messageList builds the list of a channel (top-level messages) or of a
 * thread (its first message and the replies).
 * @param {object} o
 * @param {string} o.channel
 * @param {string} [o.thread] the thread's first message: a thread's list
 * @param {(id: string) => void} [o.onOpenThread]
 */
export function messageList({ channel, thread = "", onOpenThread = () => {} }) {
  const labelId = `list-${thread || channel}`;
  const list = h("ol", { class: "msg-list", "aria-labelledby": labelId, "aria-busy": "true" });
  const top = h("div", { class: "msg-top" });
  const jump = h(
    "button",
    { type: "button", class: "jump-newest", hidden: true, on: { click: () => scrollToBottom(true) } },
    h("span", { i18n: "chat.jump" }),
    icon("chevron", "icon icon-small"),
  );
  const label = thread
    ? h("h3", { class: "visually-hidden", id: labelId, i18n: "chat.thread.list" })
    : h("h3", { class: "visually-hidden", id: labelId, i18n: "chat.list" });
  const scroller = h("div", { class: "msg-scroll", tabindex: "-1" }, label, top, list);
  const el = h("div", { class: "msg-pane" }, scroller, jump);

  const ch = store.state.channels.get(channel);
  /** The read position when the list opened: the "New" marker goes after it. */
  const readAtOpen = ch ? ch.read_seq || 0 : 0;
  const unreadAtOpen = ch ? (ch.last_seq || 0) > (ch.read_seq || 0) : false;

  /** @type {Map<string, {key: string, el: HTMLElement}>} */
  const cache = new Map();
  const days = new Map();
  let activeId = "";
  let editing = "";
  let pickerFor = "";
  let stuck = true; // follow the newest messages
  let unseen = 0; // new messages of others below the view
  let lastId = ""; // the newest message shown, to tell a new one
  let rendered = false;
  let positioned = false; // placed at the first unread message once
  let lastCount = 0;
  let destroyed = false;

  /** items returns what the list shows, oldest first, and the replies of each. */
  function items() {
    const c = store.state.convs.get(channel);
    const all = c ? [...c.messages.values()] : [];
    all.sort((a, b) => a.seq - b.seq || String(a.created).localeCompare(String(b.created)));
    const replies = new Map();
    for (const v of all) {
      if (v.thread && !v.pending) {
        const r = replies.get(v.thread) || { count: 0, last: "", people: [] };
        r.count++;
        r.last = v.created;
        if (!r.people.includes(v.author)) {
          r.people.push(v.author);
        }
        replies.set(v.thread, r);
      }
    }
    const shown = thread ? all.filter((v) => v.id === thread || v.thread === thread) : all.filter((v) => !v.thread);
    return { shown, replies };
  }

  /** render brings the list in step with the store, keeping the view still. */
  function render() {
    if (destroyed) {
      return;
    }
    const c = store.state.convs.get(channel);
    const { shown, replies } = items();
    const wasAtBottom = !rendered || atBottom();
    const anchor = wasAtBottom ? null : anchorOf();

    const nodes = [];
    let prev = null;
    let newMarker = false;
    for (const v of shown) {
      const date = new Date(v.created);
      const dk = dayKey(date);
      if (!prev || dayKey(new Date(prev.created)) !== dk) {
        nodes.push(daySeparator(dk, date));
        prev = null;
      }
      if (!thread && !newMarker && unreadAtOpen && v.seq > readAtOpen && !v.pending && v.author !== store.state.me) {
        nodes.push(newSeparator());
        newMarker = true;
        prev = null;
      }
      const compact =
        !!prev && !thread && prev.author === v.author && !prev.deleted && date - new Date(prev.created) < GROUP_WITHIN && !(replies.get(prev.id) || null);
      const info = thread && v.id === thread ? { root: true, count: (replies.get(v.id) || { count: 0 }).count } : null;
      nodes.push(messageNode(v, { compact, replies: thread ? null : replies.get(v.id) || null, rootInfo: info }));
      prev = v;
    }
    reconcile(list, nodes);

    // The top of the list: loading, or the beginning of the channel.
    const complete = !!c && c.complete;
    const loading = !!c && !!c.loading;
    list.setAttribute("aria-busy", String(loading || !(c && c.loaded)));
    if (thread) {
      top.replaceChildren();
    } else if (loading || !c || !c.loaded) {
      top.replaceChildren(h("p", { class: "loading msg-loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), h("span", { i18n: "chat.loadingOlder" })));
    } else if (complete) {
      top.replaceChildren(beginning());
    } else {
      top.replaceChildren();
    }

    // Where to be: at the bottom if we were there or the person just sent
    // a message, else where we were.
    const count = shown.length;
    const newest = shown[shown.length - 1];
    if (rendered && newest && newest.id !== lastId && newest.author === store.state.me && newest.pending) {
      stuck = true;
    }
    if ((wasAtBottom || newest?.pending) && stuck) {
      scroller.scrollTop = scroller.scrollHeight;
      unseen = 0;
    } else if (anchor) {
      const again = list.querySelector(`article.msg[data-id="${CSS.escape(anchor.id)}"]`);
      if (again) {
        scroller.scrollTop += again.getBoundingClientRect().top - anchor.top;
      }
      if (count > lastCount && rendered) {
        const last = shown[shown.length - 1];
        if (last && last.author !== store.state.me && !last.pending && lastId !== last.id) {
          unseen++;
        }
      }
    }
    // Opening a channel with more unread messages than fit: start at the
    // first of them, not at the newest.
    if (!positioned && c && c.loaded) {
      positioned = true;
      if (newNode && newNode.isConnected) {
        const above = newNode.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
        if (above < 0) {
          scroller.scrollTop += above - 8;
          stuck = false;
          unseen = 1;
        }
      }
    }
    lastId = shown.length ? shown[shown.length - 1].id : "";
    lastCount = count;
    jump.hidden = unseen === 0 || atBottom();
    setActive(activeId && cache.has(activeId) ? activeId : lastMessageId());
    rendered = true;
    maybeLoadMore();
    maybeRead();
  }

  function lastMessageId() {
    const arts = list.querySelectorAll("article.msg");
    return arts.length ? arts[arts.length - 1].dataset.id : "";
  }

  /** anchorOf returns the first message in view and where it is. */
  function anchorOf() {
    const box = scroller.getBoundingClientRect();
    for (const art of list.querySelectorAll("article.msg")) {
      const r = art.getBoundingClientRect();
      if (r.bottom > box.top) {
        return { id: art.dataset.id, top: r.top };
      }
    }
    return null;
  }

  function atBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight <= NEAR_BOTTOM;
  }

  function scrollToBottom(smooth = false) {
    stuck = true;
    unseen = 0;
    jump.hidden = true;
    scroller.scrollTo({ top: scroller.scrollHeight, behavior: smooth && !reducedMotion() ? "smooth" : "auto" });
    maybeRead();
  }

  function maybeLoadMore() {
    const c = store.state.convs.get(channel);
    if (thread || !c || c.complete || c.loading || !c.loaded) {
      return;
    }
    const { shown } = items();
    if (scroller.scrollTop < NEAR_TOP || scroller.scrollHeight <= scroller.clientHeight || shown.length < 15) {
      store.loadOlder(channel).catch((err) => onError(err));
    }
  }

  let readTimer = 0;
  function maybeRead() {
    if (thread || !rendered || document.visibilityState !== "visible" || !atBottom() || !el.isConnected || !isShown(el)) {
      return;
    }
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      if (!destroyed && atBottom()) {
        store.markRead(channel);
      }
    }, 250);
  }

  // When the list changes size (a pane opens beside it, the window or the
  // composer grows), a list that followed the newest messages still does.
  let lastHeight = 0;
  const resized = new ResizeObserver(() => {
    if (destroyed || !rendered) {
      return;
    }
    if (stuck) {
      scroller.scrollTop = scroller.scrollHeight;
    }
    if (scroller.clientHeight !== lastHeight) {
      lastHeight = scroller.clientHeight;
      maybeLoadMore();
    }
  });
  resized.observe(scroller);
  resized.observe(list);

  scroller.addEventListener("scroll", () => {
    stuck = atBottom();
    if (stuck) {
      unseen = 0;
      jump.hidden = true;
      maybeRead();
    }
    maybeLoadMore();
  });
  document.addEventListener("visibilitychange", maybeRead);

  // ---- one message

  function daySeparator(key, date) {
    const k = `day-${key}-${language()}`;
    let node = days.get(k);
    if (!node) {
      node = h("li", { class: "day-sep" }, h("h4", { class: "day-sep-label" }, dayLabel(date)));
      days.set(k, node);
    }
    return node;
  }

  let newNode = null;
  function newSeparator() {
    if (!newNode || newNode.dataset.lang !== language()) {
      newNode = h("li", { class: "new-sep", "data-lang": language() }, h("span", { i18n: "chat.newMessages" }));
    }
    return newNode;
  }

  function beginning() {
    const c = store.state.channels.get(channel);
    const name = c ? c.name : "";
    return h(
      "div",
      { class: "msg-beginning" },
      h("span", { class: "msg-beginning-icon" }, icon(c && c.kind === "private" ? "lock" : c && c.kind === "chat" ? "chat" : "hash")),
      h("p", { class: "msg-beginning-title" }, t("chat.beginning", { name })),
    );
  }

  function messageNode(v, opts) {
    const people = store.state.peopleVersion;
    const key = JSON.stringify([
      v.body,
      v.edited,
      v.deleted,
      v.reactions,
      (v.files || []).map((f) => f.id),
      v.pending,
      opts.compact,
      opts.replies,
      opts.rootInfo,
      editing === v.id,
      pickerFor === v.id,
      people,
      language(),
    ]);
    const had = cache.get(v.id);
    if (had && had.key === key) {
      return had.el;
    }
    const li = buildMessage(v, opts);
    if (had) {
      swapFocus(had.el, li);
    }
    cache.set(v.id, { key, el: li });
    return li;
  }

  function buildMessage(v, { compact, replies, rootInfo }) {
    const me = store.state.me;
    const mine = v.author === me;
    const base = `m-${v.id}`;
    const date = new Date(v.created);
    const who = store.person(v.author);
    const name = displayName(v.author);

    const head = h(
      "p",
      { class: compact ? "msg-head visually-hidden" : "msg-head", id: `${base}-head` },
      h("span", { class: "msg-author" }, h("bdi", {}, name)),
      ...(who.kind === "guest" ? [" ", h("span", { class: "badge badge-warning msg-guest", i18n: "chat.guest" })] : []),
      " ",
      h("time", { class: "msg-time", datetime: date.toISOString(), title: formatDateTime(date) }, shortTime(date)),
      ...(v.edited && !v.deleted ? [" ", h("span", { class: "msg-edited", i18n: "chat.message.edited" })] : []),
    );

    const gutter = compact
      ? h("span", { class: "msg-gutter", "aria-hidden": "true" }, h("span", { class: "msg-gutter-time" }, shortTime(date)))
      : h("span", { class: "msg-gutter-avatar" }, avatarWithPresence(v.author, "msg-avatar"));

    const content = [];
    if (v.deleted) {
      content.push(h("p", { class: "msg-deleted", i18n: "chat.message.deleted" }));
    } else if (editing === v.id) {
      content.push(editor(v));
    } else if (String(v.body || "").trim() !== "") {
      const body = h("div", { class: "msg-body md", dir: "auto" });
      body.append(renderMarkdown(v.body, { mention: mentionNode }));
      if (isEmojiOnly(v.body)) {
        body.classList.add("msg-jumbo");
      }
      content.push(body);
    }
    if (v.pending) {
      content.push(h("p", { class: "msg-sending", i18n: "chat.message.sending" }));
    }
    if (!v.deleted && v.files && v.files.length) {
      content.push(h("ul", { class: "file-list" }, ...v.files.map((f) => h("li", {}, fileCard(f)))));
    }
    // The most used first; the API gives no time to order them by.
    const reactions = Object.entries(v.reactions || {})
      .filter(([, who]) => who && who.length)
      .sort((a, b) => b[1].length - a[1].length);
    if (!v.deleted && !v.pending && (reactions.length || pickerFor === v.id)) {
      content.push(reactionRow(v, reactions));
    }
    if (pickerFor === v.id) {
      content.push(picker(v));
    }
    if (replies && replies.count > 0) {
      content.push(threadSummary(v, replies));
    }

    const actions = [];
    if (!v.pending && !v.deleted && editing !== v.id) {
      actions.push(toolButton({ iconName: "smile", labelKey: "chat.action.react", action: "picker" }));
      if (!thread && !rootInfo) {
        actions.push(toolButton({ iconName: "reply", labelKey: "chat.action.reply", action: "reply" }));
      }
      if (mine) {
        actions.push(toolButton({ iconName: "edit", labelKey: "chat.action.edit", action: "edit" }));
        actions.push(toolButton({ iconName: "trash", labelKey: "chat.action.delete", action: "delete" }));
      } else {
        actions.push(toolButton({ iconName: "flag", labelKey: "chat.action.report", action: "report" }));
      }
    }

    const classes = ["msg"];
    if (compact) {
      classes.push("msg-compact");
    }
    if (v.pending) {
      classes.push("msg-pending");
    }
    if (!v.deleted && (v.mentions || []).includes(me) && !mine) {
      classes.push("msg-mentions-me");
    }
    const article = h(
      "article",
      { class: classes.join(" "), "data-id": v.id, tabindex: "-1", "aria-labelledby": `${base}-head`, "data-focus": "article" },
      gutter,
      h("div", { class: "msg-main" }, head, ...content),
      ...(actions.length ? [h("div", { class: "msg-actions", role: "toolbar", "aria-label": t("chat.action.label") }, ...actions)] : []),
    );
    const li = h("li", { class: rootInfo ? "msg-row msg-root" : "msg-row", "data-id": v.id }, article);
    if (rootInfo) {
      li.append(
        h("p", { class: "thread-count" }, rootInfo.count === 1 ? t("chat.replies.one") : t("chat.replies.other", { count: rootInfo.count })),
      );
    }
    return li;
  }

  function toolButton({ iconName, labelKey, action }) {
    return h(
      "button",
      { type: "button", class: "icon-button", "data-action": action, "data-focus": `act:${action}`, title: t(labelKey), "data-i18n-title": labelKey, i18nAriaLabel: labelKey },
      icon(iconName),
    );
  }

  function fileCard(f) {
    const meta = `${formatBytes(f.size)} · ${f.content_type || t("chat.file.unknownType")}`;
    return h(
      "a",
      {
        class: "file-card",
        href: `/api/v1/files/${encodeURIComponent(f.id)}`,
        download: f.name,
        title: f.name,
        "data-focus": `file:${f.id}`,
        "aria-label": t("chat.file.download", { name: f.name, size: meta }),
      },
      h("span", { class: "file-icon", "aria-hidden": "true" }, icon("file")),
      h("span", { class: "file-info" }, h("bdi", { class: "file-name" }, f.name), h("span", { class: "file-meta" }, meta)),
      h("span", { class: "file-download", "aria-hidden": "true" }, icon("download")),
    );
  }

  function reactionRow(v, reactions) {
    const me = store.state.me;
    const chips = reactions.map(([emoji, who]) => {
      const mine = who.includes(me);
      const names = who.map((id) => (id === me ? t("chat.you") : displayName(id)));
      return h(
        "button",
        {
          type: "button",
          class: mine ? "reaction reaction-mine" : "reaction",
          "aria-pressed": String(mine),
          "data-action": "react",
          "data-emoji": emoji,
          "data-focus": `react:${emoji}`,
          title: names.join(", "),
          "aria-label": t("chat.reaction.label", { emoji, count: who.length, names: names.join(", ") }),
        },
        h("span", { class: "reaction-emoji", "aria-hidden": "true" }, emoji),
        h("span", { class: "reaction-count", "aria-hidden": "true" }, String(who.length)),
      );
    });
    chips.push(
      h(
        "button",
        {
          type: "button",
          class: "reaction reaction-add",
          "data-action": "picker",
          "data-focus": "act:picker-row",
          "aria-expanded": String(pickerFor === v.id),
          title: t("chat.action.react"),
          i18nAriaLabel: "chat.action.react",
        },
        icon("smile", "icon icon-small"),
        icon("plus", "icon reaction-plus"),
      ),
    );
    return h("div", { class: "reactions", role: "group", "aria-label": t("chat.reactions") }, ...chips);
  }

  function picker(v) {
    const mine = new Set(Object.entries(v.reactions || {}).filter(([, who]) => (who || []).includes(store.state.me)).map(([e]) => e));
    return h(
      "div",
      { class: "reaction-picker", role: "group", "aria-label": t("chat.picker.label") },
      ...REACTIONS.map((emoji) =>
        h(
          "button",
          { type: "button", class: "picker-emoji", "data-action": "pick", "data-emoji": emoji, "data-focus": `pick:${emoji}`, "aria-pressed": String(mine.has(emoji)) },
          emoji,
        ),
      ),
      h("button", { type: "button", class: "icon-button", "data-action": "picker-close", "data-focus": "pick:close", title: t("common.close"), i18nAriaLabel: "common.close" }, icon("close")),
    );
  }

  function threadSummary(v, r) {
    const names = r.people.slice(0, 3).map((id) => h("span", { class: `avatar avatar-tiny ${avatarTone(id)}`, "aria-hidden": "true" }, avatarText(id)));
    return h(
      "button",
      { type: "button", class: "thread-summary", "data-action": "thread", "data-focus": "thread" },
      h("span", { class: "thread-avatars" }, ...names),
      h("span", { class: "thread-count-label" }, r.count === 1 ? t("chat.replies.one") : t("chat.replies.other", { count: r.count })),
      h("span", { class: "thread-last" }, t("chat.replies.last", { time: shortTime(new Date(r.last)) })),
    );
  }

  function editor(v) {
    const id = `edit-${v.id}`;
    const area = h("textarea", { id, class: "msg-edit-input", dir: "auto", rows: String(Math.min(10, String(v.body).split("\n").length + 1)), "aria-describedby": `${id}-hint` });
    area.value = v.body;
    const alert = h("p", { class: "msg-edit-error", role: "alert" });
    const save = async () => {
      const body = area.value;
      if (body.trim() === "" || body === v.body) {
        stopEditing(v.id);
        return;
      }
      try {
        await store.edit(channel, v.id, body);
        stopEditing(v.id);
      } catch (err) {
        if (err && err.status === 401) {
          showLoadError(err, { show() {} });
          return;
        }
        setMessage(alert, describeError(err));
        area.focus();
      }
    };
    area.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        stopEditing(v.id);
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        save();
      }
    });
    return h(
      "form",
      {
        class: "msg-edit",
        on: {
          submit: (event) => {
            event.preventDefault();
            save();
          },
        },
      },
      h("label", { class: "visually-hidden", for: id, i18n: "chat.edit.label" }),
      area,
      h("p", { class: "msg-edit-hint", id: `${id}-hint`, i18n: "chat.edit.hint" }),
      alert,
      h(
        "div",
        { class: "msg-edit-actions" },
        h("button", { type: "button", class: "button button-secondary button-small", on: { click: () => stopEditing(v.id) } }, h("span", { i18n: "common.cancel" })),
        h("button", { type: "submit", class: "button button-primary button-small" }, h("span", { i18n: "common.save" })),
      ),
    );
  }

  function startEditing(id) {
    editing = id;
    pickerFor = "";
    render();
    const area = list.querySelector(`article[data-id="${CSS.escape(id)}"] .msg-edit-input`);
    if (area) {
      area.focus();
      area.setSelectionRange(area.value.length, area.value.length);
    }
  }

  function stopEditing(id) {
    if (editing !== id) {
      return;
    }
    editing = "";
    render();
    focusMessage(id);
  }

  // ---- actions

  list.addEventListener("click", async (event) => {
    const target = event.target instanceof Element ? event.target.closest("[data-action]") : null;
    const art = target ? target.closest("article.msg") : null;
    if (!target || !art) {
      return;
    }
    const id = art.dataset.id;
    const c = store.state.convs.get(channel);
    const v = c && c.messages.get(id);
    if (!v) {
      return;
    }
    switch (target.dataset.action) {
      case "react":
      case "pick": {
        const emoji = target.dataset.emoji;
        const on = !((v.reactions || {})[emoji] || []).includes(store.state.me);
        if (target.dataset.action === "pick") {
          pickerFor = "";
        }
        try {
          await store.react(channel, id, emoji, on);
        } catch (err) {
          onError(err);
        }
        render();
        if (target.dataset.action === "pick") {
          focusIn(id, `react:${emoji}`);
        }
        break;
      }
      case "picker":
        pickerFor = pickerFor === id ? "" : id;
        render();
        if (pickerFor) {
          focusIn(id, `pick:${REACTIONS[0]}`);
        }
        break;
      case "picker-close":
        pickerFor = "";
        render();
        focusMessage(id);
        break;
      case "reply":
      case "thread":
        onOpenThread(id);
        break;
      case "edit":
        startEditing(id);
        break;
      case "report":
        await reportDialog(id);
        focusIn(id, "act:report");
        break;
      case "delete": {
        const ok = await confirmDialog({ titleKey: "chat.delete.title", bodyKey: "chat.delete.body", confirmKey: "common.delete", danger: true });
        if (!ok) {
          return;
        }
        try {
          await store.remove(channel, id);
          focusMessage(id);
        } catch (err) {
          onError(err);
        }
        break;
      }
    }
  });

  // ---- keyboard

  list.addEventListener("keydown", (event) => {
    const art = event.target instanceof Element ? event.target.closest("article.msg") : null;
    if (!art) {
      return;
    }
    if (event.key === "Escape" && pickerFor) {
      event.preventDefault();
      const id = pickerFor;
      pickerFor = "";
      render();
      focusMessage(id);
      return;
    }
    if (event.target !== art) {
      return; // keys in buttons and fields are theirs
    }
    const arts = [...list.querySelectorAll("article.msg")];
    const i = arts.indexOf(art);
    let to = -1;
    switch (event.key) {
      case "ArrowUp":
        to = i - 1;
        break;
      case "ArrowDown":
        to = i + 1;
        break;
      case "PageUp":
        to = Math.max(0, i - 5);
        break;
      case "PageDown":
        to = Math.min(arts.length - 1, i + 5);
        break;
      case "Home":
        to = 0;
        break;
      case "End":
        to = arts.length - 1;
        break;
      case "Enter": {
        const first = art.querySelector("button, a[href]");
        if (first) {
          event.preventDefault();
          first.focus();
        }
        return;
      }
      default:
        return;
    }
    event.preventDefault();
    if (to < 0) {
      const c = store.state.convs.get(channel);
      if (c && !c.complete) {
        store.loadOlder(channel).catch(onError);
      }
      return;
    }
    if (to < arts.length) {
      arts[to].focus();
      arts[to].scrollIntoView({ block: "nearest" });
    }
  });

  list.addEventListener("focusin", (event) => {
    const art = event.target instanceof Element ? event.target.closest("article.msg") : null;
    if (art) {
      setActive(art.dataset.id);
    }
  });

  /** setActive makes one message the list's stop of the Tab key. */
  function setActive(id) {
    if (id === activeId && list.querySelector(`article.msg[tabindex="0"]`)) {
      return;
    }
    for (const art of list.querySelectorAll(`article.msg[tabindex="0"]`)) {
      art.setAttribute("tabindex", "-1");
    }
    activeId = id;
    const art = id ? list.querySelector(`article.msg[data-id="${CSS.escape(id)}"]`) : null;
    if (art) {
      art.setAttribute("tabindex", "0");
    }
  }

  function focusMessage(id) {
    const art = list.querySelector(`article.msg[data-id="${CSS.escape(id)}"]`);
    if (art) {
      art.focus({ preventScroll: false });
    }
  }

  function focusIn(id, key) {
    const art = list.querySelector(`article.msg[data-id="${CSS.escape(id)}"]`);
    const target = art && art.querySelector(`[data-focus="${CSS.escape(key)}"]`);
    (target || art)?.focus();
  }

  let errorHandler = null;
  function onError(err) {
    if (errorHandler) {
      errorHandler(err);
    }
  }

  return {
    el,
    scroller,
    render,
    scrollToBottom,
    atBottom,
    focusMessage,
    /** focusList puts the focus on the list's current message. */
    focusList() {
      const art = list.querySelector(`article.msg[tabindex="0"]`) || list.querySelector("article.msg:last-of-type");
      if (art) {
        art.focus();
      } else {
        scroller.focus();
      }
    },
    /** editLast starts editing the person's newest message, if any. */
    editLast() {
      const { shown } = items();
      for (let i = shown.length - 1; i >= 0; i--) {
        const v = shown[i];
        if (v.author === store.state.me && !v.deleted && !v.pending) {
          startEditing(v.id);
          return true;
        }
      }
      return false;
    },
    /** onError sets what to do with a refusal of an action. */
    setErrorHandler(fn) {
      errorHandler = fn;
    },
    /** relocalize rebuilds what holds words not in the catalogues. */
    relocalize() {
      cache.clear();
      days.clear();
      render();
    },
    maybeRead,
    destroy() {
      destroyed = true;
      resized.disconnect();
      clearTimeout(readTimer);
      document.removeEventListener("visibilitychange", maybeRead);
    },
  };
}

/**
 * reconcile makes parent's children exactly nodes, in order, moving as
 * little as it can, so that elements that stay keep their focus.
 */
function reconcile(parent, nodes) {
  let cur = parent.firstChild;
  for (const n of nodes) {
    if (n === cur) {
      cur = cur.nextSibling;
      continue;
    }
    parent.insertBefore(n, cur);
  }
  while (cur) {
    const next = cur.nextSibling;
    cur.remove();
    cur = next;
  }
}

/** swapFocus moves the focus from an element being replaced to its successor. */
function swapFocus(oldEl, newEl) {
  const active = document.activeElement;
  if (!active || !oldEl.contains(active)) {
    return;
  }
  const key = active instanceof HTMLElement ? active.dataset.focus : "";
  queueMicrotask(() => {
    const target = (key && newEl.querySelector(`[data-focus="${CSS.escape(key)}"]`)) || newEl.querySelector("article");
    if (target instanceof HTMLElement && newEl.isConnected) {
      target.focus({ preventScroll: true });
    }
  });
}

function isShown(el) {
  return el.getClientRects().length > 0;
}

function reducedMotion() {
  return window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}
