// The chat page (/chat and /chat/<channel>): a sidebar with the person's
// teams and their channels and the chats, with unread counts; the open
// channel with its messages, who is typing and the composer; and a thread
// pane for replies. Team owners add people to teams and archive channels.
// Notices from the organisation's compliance reviewers show as banners over
// the open channel until the person dismisses them (moderation.js).
//
// Moving between channels does not rebuild the page: the sidebar's links
// are real links (they open in a new tab, and the address is the
// channel's), but a plain click switches the channel in place and adds the
// address to the history. The store (chatstore.js) keeps what is loaded and
// the drafts across switches.
//
// On a phone one pane shows at a time: the list at /chat, the channel at
// /chat/<channel>, the thread over it.

import { h, icon } from "./dom.js";
import { t, onChange } from "./i18n.js";
import { api } from "./api.js";
import * as store from "./chatstore.js";
import {
  avatarText,
  avatarTone,
  avatarWithPresence,
  displayName,
  initials,
  messageList,
  plainText,
  presenceDot,
  presenceText,
  setPresence,
  updatePresence,
} from "./chatview.js";
import { composer } from "./composer.js";
import { noticeBanner } from "./moderation.js";
import { alertRegion, badge, busy, button, checkGroup, confirmDialog, field, isBusy, loading, modal, option, statusRegion } from "./ui.js";
import { isTenantAdmin, showLoadError } from "./session.js";

/** Below this width one pane shows at a time (see app.css). */
const NARROW = "(max-width: 48rem)";

/** The page shown, if any: there is one at a time. */
let page = null;

onChange(() => {
  if (page) {
    page.relocalize();
  }
});

/** chatPage builds the chat page for the current address. */
export function chatPage() {
  if (page) {
    page.destroy();
  }
  page = createPage();
  return page.el;
}

/** channelFromPath reads the channel of /chat/<channel>. */
function channelFromPath() {
  const m = /^\/chat\/([A-Za-z0-9_-]{1,64})\/?$/.exec(location.pathname);
  return m ? m[1] : "";
}

/** kindIcon is the icon of a channel's kind. */
function kindIcon(c) {
  if (c.kind === "private") {
    return "lock";
  }
  return c.kind === "chat" ? "chat" : "hash";
}

/** channelName names a channel; a chat without a name, by its people when known. */
export function channelName(c) {
  if (c.kind === "chat" && (!c.name || c.name === "Chat") && c.members && c.members.length) {
    const others = c.members.filter((id) => id !== store.state.me);
    if (others.length) {
      return others.map(displayName).join(", ");
    }
  }
  return c.name || "";
}

/**
 * The statuses a person may choose, in the order offered; "online" is
 * offered as "Available".
 */
const STATUS_CHOICES = [
  { value: "online", labelKey: "chat.status.available" },
  { value: "busy", labelKey: "chat.presence.busy" },
  { value: "dnd", labelKey: "chat.presence.dnd" },
  { value: "away", labelKey: "chat.presence.away" },
];

/** statusChoice returns the choice of a status, Available for an unknown one. */
function statusChoice(value) {
  return STATUS_CHOICES.find((c) => c.value === value) || STATUS_CHOICES[0];
}

/** The order people are listed in by presence: those who can answer first. */
const PRESENCE_ORDER = ["online", "busy", "dnd", "away", "offline"];

/** chatPartner returns the other person of a chat between two, or "". */
function chatPartner(c) {
  if (c.kind !== "chat" || !c.members) {
    return "";
  }
  const others = c.members.filter((id) => id !== store.state.me);
  return others.length === 1 ? others[0] : "";
}

const byName = (a, b) => String(a.name).localeCompare(String(b.name), undefined, { sensitivity: "base" });

function channelOrder(a, b) {
  if (!!a.archived !== !!b.archived) {
    return a.archived ? 1 : -1;
  }
  if ((a.name === "General") !== (b.name === "General")) {
    return a.name === "General" ? -1 : 1;
  }
  return byName(a, b);
}

/**
 * iconButton is a button that shows only an icon; its label is its
 * accessible name and its tooltip.
 * @param {{iconName: string, labelKey: string, onClick: () => void, attrs?: Record<string, any>}} o
 */
function iconButton({ iconName, labelKey, onClick, attrs = {} }) {
  return h(
    "button",
    { type: "button", class: "icon-button", title: t(labelKey), "data-i18n-title": labelKey, i18nAriaLabel: labelKey, on: { click: onClick }, ...attrs },
    icon(iconName),
  );
}

/**
 * keepFocus runs fn, which rebuilds part of container, and gives the focus
 * back to the element with the same data-focus key if it was inside.
 */
function keepFocus(container, fn) {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && container.contains(active) ? active.dataset.focus : "";
  fn();
  if (key) {
    const again = container.querySelector(`[data-focus="${CSS.escape(key)}"]`);
    if (again instanceof HTMLElement) {
      again.focus({ preventScroll: true });
    }
  }
}

/**
 * statusChooser is the person's own line at the top of the sidebar: their
 * name and the status they chose, a button that opens the choices — a
 * disclosure like the account menu, with radio buttons: the arrow keys
 * choose, Enter or Escape closes, as do a click elsewhere or the focus
 * leaving. A choice takes effect at once.
 */
function statusChooser() {
  const menuId = "status-menu";
  const dot = presenceDot("", { decorative: true, status: store.myStatus() });
  const avatar = h("span", { class: "avatar avatar-small", "aria-hidden": "true" });
  const name = h("bdi", { class: "chat-me-name" });
  const current = h("span", { class: "chat-me-status-text" });
  const button = h(
    "button",
    { type: "button", class: "chat-me-button", "aria-expanded": "false", "aria-controls": menuId, "data-focus": "status" },
    h("span", { class: "avatar-wrap" }, avatar, dot),
    h(
      "span",
      { class: "chat-me-text" },
      name,
      h("span", { class: "chat-me-status" }, h("span", { class: "visually-hidden", i18n: "chat.status.yours" }), " ", current),
    ),
    icon("chevron", "icon icon-small chat-me-chevron"),
  );
  const radios = STATUS_CHOICES.map(({ value, labelKey }) => {
    const id = `status-${value}`;
    const input = h("input", { type: "radio", name: "kaigi-status", id, value, class: "chat-status-radio" });
    return {
      input,
      el: h("li", {}, h("label", { for: id, class: "chat-status-choice" }, input, presenceDot("", { decorative: true, status: value }), h("span", { i18n: labelKey }))),
    };
  });
  const menu = h(
    "div",
    { class: "chat-status-menu", id: menuId, hidden: true },
    h("fieldset", { class: "chat-status-choices" }, h("legend", { class: "chat-status-legend", i18n: "chat.status.legend" }), h("ul", {}, ...radios.map((r) => r.el))),
    h("p", { class: "chat-status-hint", i18n: "chat.status.hint" }),
  );
  const box = h("div", { class: "chat-me" }, button, menu);

  const isOpen = () => button.getAttribute("aria-expanded") === "true";
  function set(open, { focus = false } = {}) {
    button.setAttribute("aria-expanded", String(open));
    menu.hidden = !open;
    if (open) {
      const checked = radios.find((r) => r.input.checked) || radios[0];
      checked.input.focus();
    } else if (focus) {
      button.focus();
    }
  }

  function refresh() {
    const me = store.state.me;
    const status = store.myStatus();
    avatar.className = `avatar avatar-small ${avatarTone(me)}`;
    avatar.textContent = me ? avatarText(me) : "";
    name.textContent = me ? displayName(me) : "";
    setPresence(dot, status);
    dot.dataset.presence = status;
    const choice = statusChoice(status);
    current.dataset.i18n = choice.labelKey;
    current.textContent = t(choice.labelKey);
    for (const r of radios) {
      r.input.checked = r.input.value === status;
    }
  }

  button.addEventListener("click", () => set(!isOpen()));
  menu.addEventListener("change", (event) => {
    if (event.target instanceof HTMLInputElement && event.target.checked) {
      store.setStatus(event.target.value);
      refresh();
    }
  });
  menu.addEventListener("click", (event) => {
    // A pointer's choice closes the menu; the keyboard's (arrow keys, which
    // also click) leaves it open until Enter or Escape.
    if (event.detail > 0 && event.target instanceof Element && event.target.closest(".chat-status-choice")) {
      setTimeout(() => set(false, { focus: true }));
    }
  });
  box.addEventListener("keydown", (event) => {
    if (!isOpen()) {
      return;
    }
    if (event.key === "Escape" || (event.key === "Enter" && event.target instanceof HTMLInputElement)) {
      event.preventDefault();
      event.stopPropagation();
      set(false, { focus: true });
    }
  });
  box.addEventListener("focusout", (event) => {
    // The focus going to an element around the box is a click on something
    // that cannot take the focus (a label of the choices): a click outside
    // closes the menu below.
    const to = event.relatedTarget;
    if (isOpen() && to instanceof Node && !box.contains(to) && !to.contains(box)) {
      set(false);
    }
  });
  const outside = (event) => {
    if (isOpen() && event.target instanceof Node && !box.contains(event.target)) {
      set(false);
    }
  };
  document.addEventListener("click", outside);
  refresh();
  return {
    el: box,
    refresh,
    destroy: () => document.removeEventListener("click", outside),
  };
}

function createPage() {
  const narrow = window.matchMedia(NARROW);
  const live = h("div", { class: "visually-hidden", "aria-live": "polite" });
  const conn = h("p", { class: "chat-conn", role: "status" });
  const groups = h("div", { class: "chat-groups" });
  const sideActions = h("div", { class: "chat-side-actions" });
  const me = statusChooser();
  const notices = noticeBanner();
  const sidebar = h(
    "nav",
    { class: "chat-sidebar", "aria-labelledby": "chat-heading" },
    h("div", { class: "chat-sidebar-head" }, h("h1", { id: "chat-heading", class: "chat-title", i18n: "nav.chat" }), sideActions),
    me.el,
    groups,
  );
  const main = h("section", { class: "chat-main", "aria-labelledby": "channel-title" }, loading());
  const threadPane = h("aside", { class: "chat-thread", "aria-labelledby": "thread-title", hidden: true });
  const root = h("div", { class: "chat", "data-pane": channelFromPath() ? "channel" : "list" }, sidebar, main, threadPane, conn, live);

  let current = "";
  let sidebarKey = "";
  /** The open channel's parts. */
  let view = null;
  /** The open thread's parts. */
  let thread = null;
  let destroyed = false;
  const subs = [];

  function sub(kind, fn) {
    subs.push(
      store.on(kind, (detail) => {
        if (!root.isConnected) {
          destroy();
          return;
        }
        fn(detail);
      }),
    );
  }

  // ---- the sidebar

  function renderSidebar(force = false) {
    const s = store.state;
    const teams = [...s.teams.values()].sort(byName);
    const chans = [...s.channels.values()];
    const key = JSON.stringify([
      current,
      teams.map((tm) => [tm.id, tm.name, tm.role, tm.archived]),
      chans.map((c) => [c.id, c.name, c.kind, c.team, c.archived, store.unread(c), s.mentioned.has(c.id), c.members]),
      s.peopleVersion,
      store.isGuest(),
    ]);
    if (key === sidebarKey && !force) {
      return;
    }
    sidebarKey = key;
    keepFocus(sidebar, () => {
      sideActions.replaceChildren(
        ...(store.isGuest()
          ? []
          : [button({ labelKey: "chat.team.new", kind: "quiet", small: true, iconName: "plus", onClick: () => newTeamDialog(), attrs: { "data-focus": "new-team", class: "button button-quiet button-small chat-new-team" } })]),
      );
      const sections = teams.map((team) => {
        const headId = `team-${team.id}`;
        const actions = [];
        if (!store.isGuest() && !team.archived) {
          actions.push(iconButton({ iconName: "plus", labelKey: "chat.channel.new", onClick: () => newChannelDialog(team.id), attrs: { "data-focus": `new-channel:${team.id}` } }));
        }
        if (store.canManage(team.id)) {
          actions.push(iconButton({ iconName: "users", labelKey: "chat.team.people", onClick: () => peopleDialog(team.id), attrs: { "data-focus": `people:${team.id}` } }));
        }
        const list = chans.filter((c) => c.team === team.id).sort(channelOrder);
        return h(
          "section",
          { class: "chat-group", "aria-labelledby": headId },
          h(
            "div",
            { class: "chat-group-head" },
            h("h2", { class: "chat-group-title", id: headId }, h("bdi", {}, team.name)),
            h("div", { class: "chat-group-actions" }, ...actions),
          ),
          h("ul", { class: "chat-channels" }, ...list.map(channelLink)),
        );
      });
      const chats = chans.filter((c) => c.kind === "chat").sort((a, b) => String(b.created).localeCompare(String(a.created)));
      sections.push(
        h(
          "section",
          { class: "chat-group", "aria-labelledby": "chats-heading" },
          h(
            "div",
            { class: "chat-group-head" },
            h("h2", { class: "chat-group-title", id: "chats-heading", i18n: "chat.chats" }),
            h("div", { class: "chat-group-actions" }, iconButton({ iconName: "plus", labelKey: "chat.chat.new", onClick: () => newChatDialog(), attrs: { "data-focus": "new-chat" } })),
          ),
          chats.length ? h("ul", { class: "chat-channels" }, ...chats.map(channelLink)) : h("p", { class: "chat-group-empty", i18n: "chat.chats.none" }),
        ),
      );
      groups.replaceChildren(...sections);
    });
  }

  function channelLink(c) {
    const n = store.unread(c);
    const here = c.id === current;
    const mention = store.state.mentioned.has(c.id);
    const classes = ["chat-channel"];
    if (n > 0 && !here) {
      classes.push("is-unread");
    }
    if (c.archived) {
      classes.push("is-archived");
    }
    const name = channelName(c);
    const partner = chatPartner(c);
    const lead = partner
      ? avatarWithPresence(partner, "avatar-small")
      : c.kind === "chat"
        ? h("span", { class: `avatar avatar-small ${avatarTone(c.id)}`, "aria-hidden": "true" }, initials(name))
        : icon(kindIcon(c), "icon chat-channel-icon");
    return h(
      "li",
      {},
      h(
        "a",
        { href: `/chat/${c.id}`, class: classes.join(" "), "aria-current": here ? "page" : false, "data-channel": c.id, "data-focus": `ch:${c.id}` },
        lead,
        h("span", { class: "chat-channel-name" }, h("bdi", {}, name)),
        ...(c.kind === "private" ? [h("span", { class: "visually-hidden", i18n: "chat.kind.privateShort" })] : []),
        ...(c.archived ? [h("span", { class: "chat-channel-state", i18n: "chat.archived" })] : []),
        ...(n > 0 && !here
          ? [
              h(
                "span",
                { class: mention ? "unread-badge unread-mention" : "unread-badge" },
                h("span", { "aria-hidden": "true" }, n > 99 ? "99+" : String(n)),
                h("span", { class: "visually-hidden" }, mention ? t("chat.unreadMention", { count: n }) : t("chat.unread", { count: n })),
              ),
            ]
          : []),
      ),
    );
  }

  sidebar.addEventListener("click", (event) => {
    const a = event.target instanceof Element ? event.target.closest("a[data-channel]") : null;
    if (!a || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    openChannel(a.dataset.channel, { push: true, focus: true });
  });

  // ---- the open channel

  function setTitle() {
    const c = store.state.channels.get(current);
    document.title = c ? `${channelName(c)} · ${t("app.name")}` : `${t("nav.chat")} · ${t("app.name")}`;
  }

  function closeView() {
    closeThread({ focus: false });
    if (view) {
      view.list.destroy();
      if (view.composer) {
        view.composer.destroy();
      }
      view = null;
    }
  }

  /**
   * openChannel shows a channel; push adds its address to the history and
   * focus puts the focus in it (the composer, or on a phone the heading).
   */
  function openChannel(id, { push = false, focus = false } = {}) {
    if (push && location.pathname !== `/chat/${id}`) {
      history.pushState(null, "", `/chat/${id}`);
    }
    closeView();
    current = id;
    root.dataset.pane = "channel";
    const c = store.state.channels.get(id);
    renderSidebar();
    setTitle();
    if (!c) {
      main.replaceChildren(noAccess());
      return;
    }

    const title = h("h2", { id: "channel-title", class: "chat-channel-title", tabindex: "-1" }, h("bdi", {}, channelName(c)));
    const team = c.team ? store.state.teams.get(c.team) : null;
    const back = h("a", { href: "/chat", class: "chat-back", "data-back": "true" }, icon("back"), h("span", { class: "visually-hidden", i18n: "chat.back" }));
    const actions = h("div", { class: "chat-header-actions" });
    const archivedMark = h("span", { class: "chat-header-archived" });
    const partnerMark = h("span", { class: "chat-header-presence" });
    const people = iconButton({ iconName: "users", labelKey: "chat.members.button", onClick: () => membersDialog(id), attrs: { "data-focus": "members", class: "icon-button chat-members-button" } });
    const header = h(
      "header",
      { class: "chat-header" },
      back,
      h(
        "div",
        { class: "chat-header-main" },
        h("div", { class: "chat-header-name" }, icon(kindIcon(c), "icon chat-header-icon"), title),
        h(
          "p",
          { class: "chat-header-sub" },
          ...(team ? [h("bdi", {}, team.name)] : [h("span", { i18n: "chat.kind.chat" })]),
          ...(c.kind === "private" ? [" · ", h("span", { i18n: "chat.kind.private" })] : []),
          partnerMark,
          archivedMark,
        ),
      ),
      people,
      actions,
    );
    const list = messageList({ channel: id, onOpenThread: (mid) => openThread(mid) });
    const typing = h("p", { class: "typing", "aria-live": "off" });
    const bottom = h("div", { class: "chat-bottom" });
    const alert = alertRegion();
    list.setErrorHandler((err) => showLoadError(err, alert));
    const drop = h("div", { class: "drop-overlay", hidden: true, "aria-hidden": "true" }, icon("attach"), h("span", { i18n: "chat.drop" }));
    view = { id, list, composer: null, typing, bottom, actions, title, alert, drop, archived: null, archivedMark, partnerMark, partner: null };
    renderPartner();
    main.replaceChildren(header, notices.el, alert.el, list.el, typing, bottom, drop);
    renderBottom();
    renderTyping();
    list.render();

    const conv = store.conv(id);
    if (!conv.loaded && !conv.loading) {
      store.loadOlder(id).catch((err) => showLoadError(err, alert));
    }
    if (focus) {
      if (narrow.matches || !view.composer) {
        title.focus();
      } else {
        view.composer.focus();
      }
    }
  }

  /** renderBottom shows the composer, or that the channel is archived; and the header's actions. */
  function renderBottom() {
    if (!view) {
      return;
    }
    const c = store.state.channels.get(view.id);
    if (!c) {
      return;
    }
    const archived = !!c.archived;
    if (view.archived === archived) {
      return;
    }
    view.archived = archived;
    view.archivedMark.replaceChildren(...(archived ? [" · ", h("span", { i18n: "chat.archived" })] : []));
    const manage = c.kind !== "chat" && c.team && store.canManage(c.team);
    view.actions.replaceChildren(
      ...(manage
        ? [
            archived
              ? button({ labelKey: "chat.archive.restore", small: true, iconName: "refresh", onClick: () => setArchived(c, false) })
              : button({ labelKey: "chat.archive.button", small: true, kind: "quiet", iconName: "archive", onClick: () => setArchived(c, true) }),
          ]
        : []),
    );
    if (view.composer) {
      view.composer.destroy();
      view.composer = null;
    }
    if (archived) {
      view.bottom.replaceChildren(h("p", { class: "chat-archived-note" }, icon("archive"), h("span", { i18n: "chat.archived.note" })));
    } else {
      view.composer = composer({ channel: view.id, onEditLast: () => view.list.editLast() });
      view.bottom.replaceChildren(view.composer.el);
    }
  }

  async function setArchived(c, archived) {
    if (archived) {
      const ok = await confirmDialog({
        titleKey: "chat.archive.title",
        titleParams: { name: c.name },
        bodyKey: "chat.archive.body",
        confirmKey: "chat.archive.confirm",
        danger: true,
      });
      if (!ok) {
        return;
      }
    }
    try {
      await api.post(`/api/v1/channels/${encodeURIComponent(c.id)}/${archived ? "archive" : "restore"}`);
      c.archived = archived ? new Date().toISOString() : "";
      renderSidebar();
      renderBottom();
      announce(archived ? t("chat.archive.done") : t("chat.archive.restored"));
    } catch (err) {
      if (view) {
        showLoadError(err, view.alert);
      }
    }
  }

  /** renderPartner shows, in a chat between two, the other person's presence. */
  function renderPartner() {
    if (!view) {
      return;
    }
    const c = store.state.channels.get(view.id);
    const partner = c ? chatPartner(c) : "";
    if (partner === view.partner) {
      return;
    }
    view.partner = partner;
    view.partnerMark.replaceChildren(...(partner ? [" · ", presenceDot(partner, { decorative: true }), presenceText(partner)] : []));
  }

  function renderTyping() {
    if (!view) {
      return;
    }
    const names = store.typists(view.id).map(displayName);
    let text = "";
    if (names.length === 1) {
      text = t("chat.typing.one", { name: names[0] });
    } else if (names.length === 2) {
      text = t("chat.typing.two", { a: names[0], b: names[1] });
    } else if (names.length > 2) {
      text = t("chat.typing.many");
    }
    view.typing.textContent = text;
  }

  function noAccess() {
    return h(
      "div",
      { class: "empty-state chat-empty" },
      h("span", { class: "empty-state-icon" }, icon("lock")),
      h("h2", { id: "channel-title", i18n: "chat.noAccess.title" }),
      h("p", { i18n: "chat.noAccess.body" }),
      h("p", {}, h("a", { href: "/chat", class: "button button-secondary", i18n: "chat.noAccess.back" })),
    );
  }

  function emptyState() {
    const guest = store.isGuest();
    return h(
      "div",
      { class: "empty-state chat-empty" },
      h("span", { class: "empty-state-icon" }, icon("chat")),
      guest ? h("h2", { id: "channel-title", i18n: "chat.empty.guestTitle" }) : h("h2", { id: "channel-title", i18n: "chat.empty.title" }),
      guest ? h("p", { i18n: "chat.empty.guestBody" }) : h("p", { i18n: "area.chat.description" }),
      ...(guest ? [] : [h("p", {}, button({ labelKey: "chat.team.new", kind: "primary", iconName: "plus", onClick: () => newTeamDialog() }))]),
    );
  }

  /** showDefault opens the channel of the address, or the first one (wide screens). */
  function showDefault() {
    const id = channelFromPath();
    if (id) {
      openChannel(id);
      return;
    }
    current = "";
    root.dataset.pane = "list";
    renderSidebar();
    setTitle();
    const first = firstChannel();
    if (!first) {
      main.replaceChildren(emptyState());
      return;
    }
    if (!narrow.matches) {
      history.replaceState(null, "", `/chat/${first.id}`);
      openChannel(first.id);
    } else {
      main.replaceChildren();
    }
  }

  function firstChannel() {
    const s = store.state;
    const teams = [...s.teams.values()].sort(byName);
    for (const team of teams) {
      const list = [...s.channels.values()].filter((c) => c.team === team.id).sort(channelOrder);
      if (list.length) {
        return list[0];
      }
    }
    return [...s.channels.values()].find((c) => c.kind === "chat") || null;
  }

  // ---- the thread

  function openThread(rootId) {
    if (!view) {
      return;
    }
    closeThread({ focus: false });
    const channel = view.id;
    const c = store.state.channels.get(channel);
    const list = messageList({ channel, thread: rootId });
    const alert = alertRegion();
    list.setErrorHandler((err) => showLoadError(err, alert));
    const comp = c && !c.archived ? composer({ channel, thread: rootId }) : null;
    const title = h("h2", { id: "thread-title", tabindex: "-1", i18n: "chat.thread.title" });
    threadPane.replaceChildren(
      h(
        "header",
        { class: "thread-header" },
        h("div", { class: "thread-header-main" }, title, h("p", { class: "chat-header-sub" }, h("bdi", {}, c ? channelName(c) : ""))),
        iconButton({ iconName: "close", labelKey: "chat.thread.close", onClick: () => closeThread({ focus: true }), attrs: { "data-focus": "thread-close" } }),
      ),
      alert.el,
      list.el,
      ...(comp ? [comp.el] : []),
    );
    thread = { id: rootId, channel, list, composer: comp };
    threadPane.hidden = false;
    root.classList.add("has-thread");
    root.dataset.pane = "thread";
    list.render();
    list.scrollToBottom();
    if (comp && !narrow.matches) {
      comp.focus();
    } else {
      title.focus();
    }
  }

  function closeThread({ focus }) {
    if (!thread) {
      return;
    }
    const rootId = thread.id;
    thread.list.destroy();
    if (thread.composer) {
      thread.composer.destroy();
    }
    thread = null;
    threadPane.hidden = true;
    threadPane.replaceChildren();
    root.classList.remove("has-thread");
    if (current) {
      root.dataset.pane = "channel";
    }
    if (focus && view) {
      view.list.focusMessage(rootId);
    }
  }

  threadPane.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.defaultPrevented) {
      event.preventDefault();
      closeThread({ focus: true });
    }
  });

  // ---- dropping files on the conversation

  let dragDepth = 0;
  const hasFiles = (event) => !!event.dataTransfer && [...event.dataTransfer.types].includes("Files");
  main.addEventListener("dragenter", (event) => {
    if (!view || !view.composer || !hasFiles(event)) {
      return;
    }
    event.preventDefault();
    dragDepth++;
    view.drop.hidden = false;
  });
  main.addEventListener("dragover", (event) => {
    if (view && view.composer && hasFiles(event)) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    }
  });
  main.addEventListener("dragleave", () => {
    if (view && --dragDepth <= 0) {
      dragDepth = 0;
      view.drop.hidden = true;
    }
  });
  main.addEventListener("drop", (event) => {
    if (!view || !view.composer || !hasFiles(event)) {
      return;
    }
    event.preventDefault();
    dragDepth = 0;
    view.drop.hidden = true;
    view.composer.addFiles([...event.dataTransfer.files]);
    view.composer.focus();
  });

  // ---- live updates

  function announce(text) {
    live.textContent = "";
    requestAnimationFrame(() => {
      live.textContent = text;
    });
  }

  function renderConn() {
    const s = store.state.connection;
    root.dataset.connection = s;
    if (s === "reconnecting") {
      conn.replaceChildren(h("span", { class: "spinner", "aria-hidden": "true" }), h("span", { i18n: "chat.reconnecting" }));
      conn.classList.add("is-shown");
    } else {
      conn.replaceChildren();
      conn.classList.remove("is-shown");
    }
  }

  sub("channels", () => {
    renderSidebar();
    if (view) {
      const c = store.state.channels.get(view.id);
      if (c) {
        view.title.replaceChildren(h("bdi", {}, channelName(c)));
        renderBottom();
        renderPartner();
      }
      view.list.maybeRead();
    } else if (!current && !channelFromPath() && !narrow.matches && firstChannel() && main.querySelector(".chat-empty")) {
      showDefault();
    }
    setTitle();
  });
  sub("people", () => {
    renderSidebar();
    me.refresh();
    if (view) {
      view.list.render();
      const c = store.state.channels.get(view.id);
      if (c) {
        view.title.replaceChildren(h("bdi", {}, channelName(c)));
      }
      renderTyping();
    }
    if (thread) {
      thread.list.render();
    }
  });
  sub("conv", ({ channel }) => {
    if (view && view.id === channel) {
      view.list.render();
    }
    if (thread && thread.channel === channel) {
      thread.list.render();
      const c = store.state.convs.get(channel);
      if (c && !c.messages.has(thread.id) && c.loaded) {
        closeThread({ focus: false });
      }
    }
  });
  sub("typing", ({ channel }) => {
    if (view && view.id === channel) {
      renderTyping();
    }
  });
  sub("connection", renderConn);
  sub("presence", ({ users }) => {
    // In place, everywhere: the page, and a dialog of people if one is open.
    updatePresence(users);
    if (users.includes(store.state.me)) {
      me.refresh();
    }
  });
  sub("message", ({ channel, kind, view: v, mine }) => {
    if (kind !== "message" || mine || !v || v.author === store.state.me) {
      return;
    }
    const text = plainText(v.body || "") || (v.files && v.files.length ? v.files.map((f) => f.name).join(", ") : "");
    if (thread && thread.channel === channel && v.thread === thread.id) {
      announce(t("chat.announce.reply", { name: displayName(v.author), text }));
    } else if (view && view.id === channel && !v.thread) {
      announce(t("chat.announce.message", { name: displayName(v.author), text }));
    }
  });
  sub("removed", ({ channel }) => {
    if (thread && thread.channel === channel) {
      closeThread({ focus: false });
    }
    if (view && view.id === channel) {
      closeView();
      main.replaceChildren(noAccess());
    }
  });

  // ---- start

  renderConn();
  store
    .start()
    .then(() => {
      if (!destroyed) {
        showDefault();
      }
    })
    .catch((err) => {
      if (destroyed) {
        return;
      }
      const alert = alertRegion();
      main.replaceChildren(
        h(
          "div",
          { class: "chat-failed" },
          alert.el,
          button({
            labelKey: "common.retry",
            iconName: "refresh",
            onClick: () => {
              main.replaceChildren(loading());
              store.start().then(showDefault, (e) => showLoadError(e, alert));
            },
          }),
        ),
      );
      showLoadError(err, alert);
    });

  function destroy() {
    if (destroyed) {
      return;
    }
    destroyed = true;
    closeView();
    me.destroy();
    for (const off of subs) {
      off();
    }
    if (page && page.el === root) {
      page = null;
    }
  }

  return {
    el: root,
    destroy,
    relocalize() {
      if (!root.isConnected) {
        return;
      }
      renderSidebar(true);
      me.refresh();
      if (view) {
        view.list.relocalize();
        if (view.composer) {
          view.composer.relocalize();
        }
        renderTyping();
      }
      if (thread) {
        thread.list.relocalize();
        if (thread.composer) {
          thread.composer.relocalize();
        }
      }
      // After the router, which titles the page by its route.
      queueMicrotask(setTitle);
    },
  };

  // ---- dialogs

  /**
   * formDialog opens a dialog with a form. submit returns what to do once
   * the dialog has closed (such as opening a new channel), or false to keep
   * it open.
   */
  function formDialog({ titleKey, titleParams, submitKey, busyKey, fields, submit }) {
    const { dialog, body } = modal({ titleKey, titleParams });
    const alert = alertRegion();
    const ok = button({ labelKey: submitKey, kind: "primary", type: "submit" });
    const cancel = button({ labelKey: "common.cancel", onClick: () => dialog.close() });
    const form = h("form", { class: "form form-tight", method: "post", novalidate: true }, ...fields, alert.el, h("div", { class: "dialog-actions" }, cancel, ok));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (isBusy(ok)) {
        return;
      }
      alert.clear();
      const done = busy(ok, { messageKey: busyKey });
      let after = null;
      try {
        after = await submit(alert);
      } catch (err) {
        done();
        if (err && err.status === 401) {
          dialog.close();
          showLoadError(err, alert);
          return;
        }
        alert.show(err);
        return;
      }
      done();
      if (after === false) {
        return;
      }
      dialog.close();
      if (typeof after === "function") {
        after();
      }
    });
    body.append(form);
    dialog.showModal();
    const first = form.querySelector("input:not([type=hidden]), select, textarea");
    if (first instanceof HTMLElement) {
      first.focus();
    }
    return { dialog, form };
  }

  function newTeamDialog() {
    const name = field({ labelKey: "chat.team.name", attrs: { name: "name", maxlength: "80", autocomplete: "off", required: true } });
    const description = field({ labelKey: "chat.team.description", tag: "textarea", optional: true, attrs: { name: "description", rows: "3", maxlength: "1000" } });
    formDialog({
      titleKey: "chat.team.new",
      submitKey: "chat.team.create",
      busyKey: "common.creating",
      fields: [h("p", { class: "muted", i18n: "chat.team.lead" }), name.el, description.el],
      async submit() {
        name.setError(null);
        if (name.input.value.trim() === "") {
          name.setError({ messageKey: "chat.error.name" });
          name.input.focus();
          return false;
        }
        const team = await api.post("/api/v1/teams", { name: name.input.value.trim(), description: description.input.value.trim() });
        store.addTeam(team);
        await store.refresh();
        const general = [...store.state.channels.values()].find((c) => c.team === team.id);
        return () => {
          if (general) {
            openChannel(general.id, { push: true, focus: true });
          }
        };
      },
    });
  }

  function newChannelDialog(teamId) {
    const teams = [...store.state.teams.values()].filter((tm) => !tm.archived).sort(byName);
    const teamSelect = field({
      labelKey: "chat.channel.team",
      tag: "select",
      attrs: { name: "team" },
      options: teams.map((tm) => h("option", { value: tm.id }, tm.name)),
    });
    teamSelect.input.value = teamId || (teams[0] && teams[0].id) || "";
    const name = field({ labelKey: "chat.channel.name", attrs: { name: "name", maxlength: "80", autocomplete: "off", required: true } });
    const kind = checkGroup({
      legendKey: "chat.channel.kind",
      type: "radio",
      items: [
        { value: "standard", labelKey: "chat.kind.standard", hintKey: "chat.kind.standardHint", checked: true },
        { value: "private", labelKey: "chat.kind.private", hintKey: "chat.kind.privateHint" },
      ],
    });
    formDialog({
      titleKey: "chat.channel.new",
      submitKey: "chat.channel.create",
      busyKey: "common.creating",
      fields: [teamSelect.el, name.el, kind.el],
      async submit() {
        name.setError(null);
        if (name.input.value.trim() === "") {
          name.setError({ messageKey: "chat.error.name" });
          name.input.focus();
          return false;
        }
        const team = teamSelect.input.value;
        const c = await api.post(`/api/v1/teams/${encodeURIComponent(team)}/channels`, { name: name.input.value.trim(), kind: kind.value() || "standard" });
        store.addChannel(c);
        return () => openChannel(c.id, { push: true, focus: true });
      },
    });
  }

  function newChatDialog() {
    const people = store
      .everyone()
      .map((id) => ({ id, name: displayName(id), kind: store.person(id).kind, active: store.person(id).active }))
      .filter((p) => p.active !== false)
      .sort(byName);
    const fields = [h("p", { class: "muted", i18n: "chat.chat.lead" })];
    let group = null;
    if (people.length) {
      group = checkGroup({
        legendKey: "chat.chat.people",
        items: people.map((p) => ({ value: p.id, label: p.name, ...(p.kind === "guest" ? { hintKey: "chat.guest" } : {}) })),
      });
      fields.push(group.el);
    } else {
      fields.push(h("p", { class: "notice", i18n: "chat.chat.nobody" }));
    }
    const name = field({ labelKey: "chat.chat.name", optional: true, hintKey: "chat.chat.nameHint", attrs: { name: "name", maxlength: "80", autocomplete: "off" } });
    fields.push(name.el);
    formDialog({
      titleKey: "chat.chat.new",
      submitKey: "chat.chat.start",
      busyKey: "common.creating",
      fields,
      async submit(alert) {
        const chosen = group ? group.values() : [];
        if (!chosen.length) {
          alert.show({ messageKey: "chat.error.people" });
          return false;
        }
        const c = await api.post("/api/v1/chats", { with: chosen, name: name.input.value.trim() });
        c.members = [store.state.me, ...chosen];
        store.addChannel(c);
        return () => openChannel(c.id, { push: true, focus: true });
      },
    });
  }

  /**
   * membersDialog lists the people of a channel or chat with their
   * presence, those who can answer first; it keeps up with changes of
   * presence while open.
   */
  function membersDialog(channelId) {
    const c = store.state.channels.get(channelId);
    if (!c) {
      return;
    }
    const me = store.state.me;
    const rank = (id) => PRESENCE_ORDER.indexOf(store.presenceOf(id));
    const ids = [me, ...store.peopleOf(channelId)]
      .filter(Boolean)
      .sort((a, b) => Number(b === me) - Number(a === me) || rank(a) - rank(b) || displayName(a).localeCompare(displayName(b)));
    const { dialog, body } = modal({ titleKey: "chat.members.title", titleParams: { name: channelName(c) } });
    const close = button({ labelKey: "common.close", onClick: () => dialog.close() });
    body.append(
      ...(c.kind === "private" ? [h("p", { class: "muted", i18n: "chat.members.privateNote" })] : []),
      ids.length > 1 ? h("p", { class: "muted", i18n: "chat.members.lead" }) : h("p", { class: "muted", i18n: "chat.members.alone" }),
      h(
        "ul",
        { class: "member-list member-list-presence" },
        ...ids.map((id) =>
          h(
            "li",
            { class: "member", "data-account": id },
            avatarWithPresence(id, "", { decorative: true }),
            h("span", { class: "member-name" }, h("bdi", {}, displayName(id)), ...(id === me ? [" ", h("span", { class: "muted", i18n: "chat.members.you" })] : [])),
            ...(store.person(id).kind === "guest" ? [badge({ labelKey: "chat.guest", tone: "warning" })] : []),
            presenceText(id),
          ),
        ),
      ),
      h("div", { class: "dialog-actions" }, close),
    );
    dialog.showModal();
    close.focus();
  }

  function peopleDialog(teamId) {
    const team = store.state.teams.get(teamId);
    const members = h("ul", { class: "member-list" });
    const status = statusRegion();
    const drawMembers = () => {
      const ms = (store.state.members.get(teamId) || []).slice().sort((a, b) => displayName(a.account).localeCompare(displayName(b.account)));
      members.replaceChildren(
        ...ms.map((m) =>
          h(
            "li",
            { class: "member" },
            avatarWithPresence(m.account),
            h("bdi", { class: "member-name" }, displayName(m.account)),
            ...(store.person(m.account).kind === "guest" ? [badge({ labelKey: "chat.guest", tone: "warning" })] : []),
            m.role === "owner" ? badge({ labelKey: "chat.role.owner", tone: "accent" }) : badge({ labelKey: "chat.role.member" }),
          ),
        ),
      );
    };
    drawMembers();

    let account;
    const inTeam = new Set((store.state.members.get(teamId) || []).map((m) => m.account));
    const candidates = [...store.state.people.entries()]
      .filter(([id, p]) => !inTeam.has(id) && p.name && p.active !== false)
      .map(([id, p]) => ({ id, ...p }))
      .sort(byName);
    if (isTenantAdmin() && candidates.length) {
      account = field({
        labelKey: "chat.people.person",
        tag: "select",
        attrs: { name: "account" },
        options: candidates.map((p) => h("option", { value: p.id }, p.kind === "guest" ? t("chat.people.guestOption", { name: p.name }) : p.name)),
      });
    } else {
      account = field({ labelKey: "chat.people.account", hintKey: "chat.people.accountHint", attrs: { name: "account", autocomplete: "off", spellcheck: "false" } });
    }
    const role = field({
      labelKey: "chat.people.role",
      tag: "select",
      attrs: { name: "role" },
      options: [option({ value: "member", labelKey: "chat.role.member" }), option({ value: "owner", labelKey: "chat.role.owner" })],
    });
    formDialog({
      titleKey: "chat.people.title",
      titleParams: { team: team ? team.name : "" },
      submitKey: "chat.people.add",
      busyKey: "common.working",
      fields: [h("h3", { class: "subheading", i18n: "chat.people.members" }), members, h("h3", { class: "subheading", i18n: "chat.people.addHeading" }), account.el, role.el, status.el],
      async submit() {
        account.setError(null);
        const id = account.input.value.trim();
        if (!id) {
          account.setError({ messageKey: "chat.error.account" });
          account.input.focus();
          return false;
        }
        await api.put(`/api/v1/teams/${encodeURIComponent(teamId)}/members/${encodeURIComponent(id)}`, { role: role.input.value });
        await store.loadMembers(teamId);
        store.state.peopleVersion++;
        drawMembers();
        status.flash({ messageKey: "chat.people.added", params: { name: displayName(id) } });
        if (account.input.tagName === "SELECT") {
          account.input.querySelector(`option[value="${CSS.escape(id)}"]`)?.remove();
        } else {
          account.input.value = "";
        }
        return false;
      },
    });
  }
}
