// What the chat pages know: teams, channels and chats with their read
// positions, the people in them, the messages loaded so far, who is typing,
// and the state of the live connection. It loads from the API, follows the
// WebSocket (realtime.js) and tells the pages what changed.
//
// The store lives as long as the session: switching channels or leaving the
// chat page and coming back keeps it (and the drafts), and signing out
// empties it.
//
// Messages are kept by id, so a message that arrives twice — from the answer
// to sending it and from the live connection, or from a page of history and
// a replayed event — is shown once.

import { api } from "./api.js";
import { createRealtime } from "./realtime.js";
import { isTenantAdmin, onSessionChange, session, sessionEnded } from "./session.js";

/** Messages per page of history. */
export const PAGE = 50;

/** How long a typing notice shows without another one. */
const TYPING_SHOWS = 6000;

/**
 * @typedef {object} View a message as the API shows it
 * @property {string} id
 * @property {string} channel
 * @property {number} seq
 * @property {string} [thread]
 * @property {string} author
 * @property {string} created
 * @property {string} [edited]
 * @property {boolean} [deleted]
 * @property {string} body
 * @property {string[]} [mentions]
 * @property {Record<string, string[]>} [reactions]
 * @property {{id: string, name: string, size: number, content_type: string}[]} [files]
 * @property {boolean} [pending] being sent (only here)
 */

/**
 * @typedef {object} Conversation the loaded part of a channel
 * @property {string} id
 * @property {Map<string, View>} messages by id
 * @property {number} oldest the lowest seq loaded (0: none yet)
 * @property {boolean} complete the first message is loaded
 * @property {boolean} loaded the first page came
 * @property {Promise<void>|null} loading
 */

export const state = {
  /** @type {string} */
  me: "",
  /** @type {Map<string, any>} */
  teams: new Map(),
  /** @type {Map<string, any>} channels and chats, with last_seq and read_seq */
  channels: new Map(),
  /** @type {Map<string, {name: string, kind: string, active?: boolean}>} what we know of people */
  people: new Map(),
  /** @type {Map<string, {account: string, role: string}[]>} by team */
  members: new Map(),
  /** @type {Map<string, Conversation>} */
  convs: new Map(),
  /** @type {Map<string, Map<string, number>>} channel → user → until */
  typing: new Map(),
  /** @type {Map<string, import("./realtime.js").PresenceStatus>} people not offline */
  presence: new Map(),
  /** @type {Set<string>} channels with an unread mention of me */
  mentioned: new Set(),
  /** @type {Map<string, string>} drafts by channel, or "thread:<id>" */
  drafts: new Map(),
  /** @type {import("./realtime.js").RealtimeState} */
  connection: "idle",
  /** Bumped when people's names change, so cached renderings redo. */
  peopleVersion: 0,
};

/** cursors: channel → the last sequence number applied here. */
let cursors = {};

const listeners = new Map();

/**
 * on subscribes to a kind of change and returns the unsubscribe function.
 * Kinds: "channels" (list, names, unread counts), "conv" ({channel}),
 * "typing" ({channel}), "people", "connection", "message" ({channel, view,
 * kind}) for each live change, "removed" ({channel}), "presence" ({users}:
 * the accounts whose status changed; see presenceOf).
 * @param {string} kind
 * @param {(detail: any) => void} fn
 */
export function on(kind, fn) {
  if (!listeners.has(kind)) {
    listeners.set(kind, new Set());
  }
  listeners.get(kind).add(fn);
  return () => listeners.get(kind).delete(fn);
}

function emit(kind, detail) {
  for (const fn of listeners.get(kind) || []) {
    try {
      fn(detail);
    } catch (err) {
      // One broken view must not stop the others from updating.
      setTimeout(() => {
        throw err;
      });
    }
  }
}

const rt = createRealtime({
  cursors: () => ({ ...cursors }),
  onFrame,
  onState(s) {
    state.connection = s;
    emit("connection", s);
  },
  onSessionEnded: () => sessionEnded(),
  onPresence(changes) {
    for (const [user, status] of Object.entries(changes)) {
      if (status === "offline") {
        state.presence.delete(user);
      } else {
        state.presence.set(user, status);
      }
    }
    emit("presence", { users: Object.keys(changes) });
  },
});

/**
 * presenceOf returns a person's presence: online, away, busy, dnd or
 * offline (also for people who share no channel with me).
 * @param {string} user
 */
export function presenceOf(user) {
  return state.presence.get(user) || "offline";
}

/**
 * setStatus sets the status I chose (online, away, busy or dnd). Those who
 * share a channel with me learn it at once; so do I, from the next presence
 * frame, which brings a "presence" change.
 * @param {string} status
 */
export function setStatus(status) {
  rt.setStatus(status);
  // Chosen while the connection is not up, perhaps after its hello went
  // with the status before: said again once it is ready.
  statusUnsent = state.connection !== "online";
}

/** A status chosen while the connection was not ready. */
let statusUnsent = false;

/**
 * myStatus returns the status I chose (online, away, busy or dnd), which
 * this browser remembers; presenceOf(state.me) is what the others see, once
 * the server has said so.
 */
export function myStatus() {
  return rt.status();
}

/** @type {Promise<void>|null} */
let started = null;
let generation = 0;

// A page left for another keeps its socket open if the browser keeps the
// page (the back-forward cache) or is slow to close it; the person would
// then stay online, with that page's status (the most restrictive of a
// person's connections wins), until the server's heartbeat gives up on it.
// Leaving closes it; coming back reconnects.
window.addEventListener("pagehide", () => {
  if (started) {
    rt.stop();
  }
});
window.addEventListener("pageshow", (event) => {
  if (event.persisted && started) {
    rt.start();
  }
});

/**
 * start loads teams, channels and people and connects, once per session;
 * later calls return the same promise. A failed load may be retried.
 */
export function start() {
  if (!started) {
    const mine = ++generation;
    started = load(mine).catch((err) => {
      if (mine === generation) {
        started = null;
      }
      throw err;
    });
  }
  return started;
}

async function load(mine) {
  const s = session();
  state.me = s.user || "";
  setPerson(s.user, { name: s.display_name || s.email || "", kind: s.kind || "" });
  const [teams, channels] = await Promise.all([api.get("/api/v1/teams"), api.get("/api/v1/channels")]);
  if (mine !== generation) {
    return;
  }
  setTeams(teams);
  setChannels(channels);
  for (const c of state.channels.values()) {
    cursors[c.id] = c.last_seq || 0;
    recount(c, mine);
    learnChat(c, mine);
  }
  emit("channels");
  rt.start();
  loadPeople(mine); // names come when they come
}

/** stop forgets everything (signing out). */
export function stop() {
  generation++;
  started = null;
  rt.stop();
  cursors = {};
  state.me = "";
  for (const m of [state.teams, state.channels, state.people, state.members, state.convs, state.typing, state.presence, state.drafts]) {
    m.clear();
  }
  state.mentioned.clear();
  readyBefore = false;
}

onSessionChange((s) => {
  if (s.state !== "active" || (state.me && s.user !== state.me)) {
    stop();
  }
});

// ---- people

function setPerson(id, { name, kind, active }) {
  if (!id) {
    return;
  }
  const had = state.people.get(id);
  state.people.set(id, {
    name: name || (had && had.name) || "",
    kind: kind || (had && had.kind) || "",
    active: active ?? (had ? had.active : undefined),
  });
}

/**
 * loadPeople learns names: the person's own from the session, everyone's
 * from the admin list when the person is a tenant admin (the API has no
 * directory for others), and the members of each team.
 */
async function loadPeople(mine) {
  if (isTenantAdmin()) {
    try {
      const accounts = await api.get("/api/v1/admin/accounts");
      if (mine !== generation) {
        return;
      }
      for (const a of accounts) {
        setPerson(a.id, { name: a.display_name || a.email, kind: a.kind, active: a.state === "active" });
      }
    } catch {
      // Names are a comfort: without them, people show by id.
    }
  }
  await Promise.all([...state.teams.keys()].map((id) => loadMembers(id, mine)));
  if (mine === generation) {
    state.peopleVersion++;
    emit("people");
  }
}

/** loadMembers loads (again) the members of a team. */
export async function loadMembers(team, mine = generation) {
  try {
    const ms = await api.get(`/api/v1/teams/${encodeURIComponent(team)}/members`);
    if (mine !== generation) {
      return;
    }
    state.members.set(team, ms);
    for (const m of ms) {
      if (!state.people.has(m.account)) {
        setPerson(m.account, { name: "", kind: "" });
      }
    }
  } catch {
    state.members.delete(team);
  }
}

/** person returns what is known of an account: its name ("" if unknown) and kind. */
export function person(id) {
  return state.people.get(id) || { name: "", kind: "", active: undefined };
}

/**
 * peopleOf returns the people who can be mentioned in a channel, the
 * person excluded: the team's members for a team's channel (private
 * channels too: the API does not list a private channel's members), and
 * for a chat the people seen in it.
 */
export function peopleOf(channelId) {
  const c = state.channels.get(channelId);
  const ids = new Set();
  if (c && c.team) {
    for (const m of state.members.get(c.team) || []) {
      ids.add(m.account);
    }
  } else if (c) {
    for (const v of (state.convs.get(channelId) || { messages: new Map() }).messages.values()) {
      ids.add(v.author);
    }
    for (const id of c.members || []) {
      ids.add(id);
    }
  }
  ids.delete(state.me);
  return [...ids];
}

/** everyone returns the people of all the person's teams, the person excluded. */
export function everyone() {
  const ids = new Set();
  for (const ms of state.members.values()) {
    for (const m of ms) {
      ids.add(m.account);
    }
  }
  ids.delete(state.me);
  return [...ids];
}

// ---- teams and channels

function setTeams(teams) {
  state.teams.clear();
  for (const t of teams || []) {
    state.teams.set(t.id, t);
  }
}

/**
 * setChannels records the list of channels and returns those that are new
 * or whose read position moved elsewhere (read in another tab), whose
 * unread counts must be counted again.
 */
function setChannels(channels) {
  const seen = new Set();
  const changed = [];
  for (const c of channels || []) {
    seen.add(c.id);
    const had = state.channels.get(c.id);
    const next = {
      ...had,
      ...c,
      // The live connection may be ahead of the list.
      last_seq: Math.max(c.last_seq || 0, had ? had.last_seq : 0),
      read_seq: Math.max(c.read_seq || 0, had ? had.read_seq : 0),
    };
    if (had && had.members && !c.members) {
      next.members = had.members;
    }
    state.channels.set(c.id, next);
    if (!had || next.read_seq > had.read_seq) {
      changed.push(next);
    }
  }
  for (const id of [...state.channels.keys()]) {
    if (!seen.has(id)) {
      forget(id);
    }
  }
  return changed;
}

/**
 * recount counts a channel's unread messages: those of others after the
 * person's read position, up to the position the live connection has
 * reached (it counts what comes after). Replies in threads count only when
 * they mention the person. A mention of the person marks the channel.
 *
 * The API's channel list gives only sequence numbers, and a channel's
 * events include reactions, edits and its own changes, so the difference
 * of the two would count those too; the channel's event log tells them
 * apart.
 */
function recount(c, mine = generation) {
  const from = c.read_seq || 0;
  const upto = cursors[c.id] ?? c.last_seq ?? 0;
  c.unreadMessages = 0;
  const token = (c.countToken || 0) + 1;
  c.countToken = token;
  if (upto <= from) {
    return;
  }
  api
    .get(`/api/v1/channels/${encodeURIComponent(c.id)}/events?after=${from}&limit=200`)
    .then((body) => {
      if (mine !== generation || c.countToken !== token || state.channels.get(c.id) !== c) {
        return;
      }
      for (const e of (body && body.events) || []) {
        if (e.seq > upto) {
          break;
        }
        countEvent(c, e);
      }
      emit("channels");
    })
    .catch(() => {
      // Without the log the count stays at what comes live.
    });
}

/** countEvent counts one event of a channel towards its unread messages. */
function countEvent(c, e) {
  if (c.kind === "chat" && e.actor) {
    learnMembers(c, [e.actor]);
  }
  if (e.kind === "channel.members") {
    learnMembers(c, e.members || []);
  }
  if (e.kind !== "message" || !e.message) {
    return;
  }
  if (e.actor === state.me) {
    // Sending moves the sender's read position past what came before.
    c.unreadMessages = 0;
    state.mentioned.delete(c.id);
    return;
  }
  const mentionsMe = (e.message.mentions || []).includes(state.me);
  if (!e.message.thread || mentionsMe) {
    c.unreadMessages = (c.unreadMessages || 0) + 1;
  }
  if (mentionsMe) {
    state.mentioned.add(c.id);
  }
}

function learnMembers(c, ids) {
  if (c.kind !== "chat") {
    return;
  }
  const before = (c.members || []).length;
  c.members = [...new Set([...(c.members || []), c.created_by, ...ids].filter(Boolean))];
  return c.members.length !== before;
}

/**
 * learnChat finds who is in a chat that has no name of its own, from the
 * chat's events, so that the sidebar can name it by its people (the API
 * does not list a chat's members).
 */
function learnChat(c, mine = generation) {
  if (c.kind !== "chat" || (c.name && c.name !== "Chat") || (c.members && c.members.length > 1) || !c.last_seq) {
    return;
  }
  api
    .get(`/api/v1/channels/${encodeURIComponent(c.id)}/events?after=0&limit=100`)
    .then((body) => {
      if (mine !== generation || state.channels.get(c.id) !== c) {
        return;
      }
      const actors = ((body && body.events) || []).flatMap((e) => [e.actor, ...(e.members || [])]);
      if (learnMembers(c, actors)) {
        emit("channels");
      }
    })
    .catch(() => {
      // The chat keeps its plain name.
    });
}

function forget(id) {
  state.channels.delete(id);
  state.convs.delete(id);
  state.typing.delete(id);
  state.mentioned.delete(id);
  delete cursors[id];
  emit("removed", { channel: id });
}

let refreshing = null;

/** refresh loads teams and channels again (new channels, read positions). */
export function refresh() {
  if (!refreshing) {
    const mine = generation;
    refreshing = Promise.all([api.get("/api/v1/teams"), api.get("/api/v1/channels")])
      .then(([teams, channels]) => {
        if (mine !== generation) {
          return;
        }
        const newTeams = (teams || []).filter((t) => !state.teams.has(t.id));
        setTeams(teams);
        const changed = setChannels(channels);
        for (const c of state.channels.values()) {
          if (!(c.id in cursors)) {
            cursors[c.id] = c.last_seq || 0;
          }
        }
        for (const c of changed) {
          recount(c, mine);
          learnChat(c, mine);
        }
        emit("channels");
        if (newTeams.length) {
          Promise.all(newTeams.map((t) => loadMembers(t.id, mine))).then(() => {
            state.peopleVersion++;
            emit("people");
          });
        }
      })
      .catch(() => {
        // The next change or reconnection tries again.
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

/** unread returns how many messages of a channel the person has not read. */
export function unread(c) {
  return c.unreadMessages || 0;
}

/** canManage reports whether the person may manage a team (owner or admin). */
export function canManage(teamId) {
  const t = state.teams.get(teamId);
  return isTenantAdmin() || (!!t && t.role === "owner");
}

/** isGuest reports whether the signed-in person is a guest. */
export function isGuest() {
  return session().kind === "guest";
}

/** addChannel records a channel or chat the person just made. */
export function addChannel(c) {
  const had = state.channels.get(c.id);
  state.channels.set(c.id, { ...had, ...c, last_seq: c.last_seq || 0, read_seq: c.read_seq || 0, unreadMessages: 0 });
  if (!(c.id in cursors)) {
    cursors[c.id] = c.last_seq || 0;
  }
  emit("channels");
}

/** addTeam records a team the person just made. */
export function addTeam(t) {
  state.teams.set(t.id, t);
  emit("channels");
  loadMembers(t.id).then(() => emit("people"));
}

// ---- conversations

/** conv returns the loaded part of a channel, creating it empty. */
export function conv(id) {
  let c = state.convs.get(id);
  if (!c) {
    c = { id, messages: new Map(), oldest: 0, complete: false, loaded: false, loading: null };
    state.convs.set(id, c);
  }
  return c;
}

/**
 * loadOlder loads the next page of history, older than what is loaded.
 * @param {string} id
 */
export function loadOlder(id) {
  const c = conv(id);
  if (c.loading) {
    return c.loading;
  }
  if (c.complete) {
    return Promise.resolve();
  }
  const mine = generation;
  const before = c.oldest > 0 ? `&before=${c.oldest}` : "";
  c.loading = api
    .get(`/api/v1/channels/${encodeURIComponent(id)}/messages?limit=${PAGE}${before}`)
    .then((views) => {
      if (mine !== generation || state.convs.get(id) !== c) {
        return;
      }
      for (const v of views || []) {
        if (!c.messages.has(v.id)) {
          c.messages.set(v.id, v);
        }
        c.oldest = c.oldest > 0 ? Math.min(c.oldest, v.seq) : v.seq;
      }
      if (!views || views.length < PAGE || c.oldest <= 1) {
        c.complete = true;
      }
      c.loaded = true;
    })
    .finally(() => {
      c.loading = null;
      emit("conv", { channel: id });
    });
  return c.loading;
}

/**
 * merge applies a change of a message to what is loaded. The kinds are
 * the event kinds: a new message, an edit (body), a delete, reactions.
 */
function merge(channel, v, kind) {
  const c = state.convs.get(channel);
  if (!c || !v || !v.id) {
    return null;
  }
  const had = c.messages.get(v.id);
  let next;
  switch (kind) {
    case "message":
      next = { ...v, reactions: v.reactions || (had && had.reactions), files: v.files || (had && had.files) };
      if (!had && v.author === state.me) {
        // The live copy of a message being sent may come before the
        // answer to sending it: it replaces the placeholder.
        for (const [id, p] of c.messages) {
          if (p.pending && p.body === v.body && (p.thread || "") === (v.thread || "")) {
            c.messages.delete(id);
            break;
          }
        }
      }
      break;
    case "message.edit":
      if (!had) {
        return null; // older than what is loaded
      }
      next = { ...had, body: v.body, edited: v.edited, mentions: v.mentions };
      break;
    case "message.delete":
      if (!had) {
        return null;
      }
      next = { ...had, deleted: true, body: "", files: [], mentions: [], reactions: {} };
      break;
    case "message.react":
      if (!had) {
        return null;
      }
      next = { ...had, reactions: v.reactions || {} };
      break;
    default:
      return null;
  }
  c.messages.set(v.id, next);
  return next;
}

// ---- live events

function onFrame(f) {
  switch (f.type) {
    case "ready": {
      const follows = f.channels || {};
      let unknown = false;
      for (const [id, seq] of Object.entries(follows)) {
        const c = state.channels.get(id);
        if (c) {
          c.last_seq = Math.max(c.last_seq || 0, seq);
        } else {
          unknown = true;
        }
        if (!(id in cursors)) {
          cursors[id] = seq;
        }
      }
      for (const id of [...state.channels.keys()]) {
        if (!(id in follows)) {
          forget(id);
        }
      }
      emit("channels");
      // Read positions may have moved elsewhere meanwhile.
      if (unknown || readyBefore) {
        refresh();
      }
      readyBefore = true;
      if (statusUnsent) {
        statusUnsent = false;
        rt.send({ type: "status", status: rt.status() });
      }
      break;
    }
    case "event":
      applyEvent(f.channel, f.seq, f.event || {});
      break;
    case "typing":
      if (f.user && f.user !== state.me && state.channels.has(f.channel)) {
        if (!state.typing.has(f.channel)) {
          state.typing.set(f.channel, new Map());
        }
        state.typing.get(f.channel).set(f.user, Date.now() + TYPING_SHOWS);
        emit("typing", { channel: f.channel });
        setTimeout(() => expireTyping(f.channel), TYPING_SHOWS + 50);
      }
      break;
    case "join":
      if (!(f.channel in cursors) || cursors[f.channel] < f.seq) {
        cursors[f.channel] = f.seq;
      }
      refresh();
      break;
    case "leave":
      if (state.channels.has(f.channel)) {
        forget(f.channel);
        emit("channels");
      }
      break;
  }
}

let readyBefore = false;

function expireTyping(channel) {
  const m = state.typing.get(channel);
  if (!m) {
    return;
  }
  const now = Date.now();
  let changed = false;
  for (const [user, until] of m) {
    if (until <= now) {
      m.delete(user);
      changed = true;
    }
  }
  if (changed) {
    emit("typing", { channel });
  }
}

function applyEvent(channel, seq, ev) {
  if (typeof seq !== "number" || (cursors[channel] || 0) >= seq) {
    return; // seen already
  }
  cursors[channel] = seq;
  const c = state.channels.get(channel);
  if (!c) {
    refresh();
    return;
  }
  c.last_seq = Math.max(c.last_seq || 0, seq);
  const mine = ev.actor === state.me;
  if (mine && ev.kind === "message") {
    c.read_seq = Math.max(c.read_seq || 0, seq); // the server moves the sender's position
  }
  countEvent(c, ev);
  switch (ev.kind) {
    case "message":
    case "message.edit":
    case "message.delete":
    case "message.react": {
      if (ev.kind === "message.react") {
        const conv = state.convs.get(channel);
        if (ev.message && conv && conv.messages.has(ev.message.id)) {
          reread(channel, ev.message.id, ev.message.seq);
        }
        break;
      }
      const v = merge(channel, ev.message, ev.kind);
      if (ev.kind === "message" && ev.message) {
        const typing = state.typing.get(channel);
        if (typing && typing.delete(ev.message.author)) {
          emit("typing", { channel });
        }
      }
      emit("message", { channel, kind: ev.kind, view: v || ev.message, mine });
      if (v) {
        emit("conv", { channel, id: v.id });
      }
      break;
    }
    case "channel.update":
      if (ev.channel_info) {
        c.name = ev.channel_info.name;
        c.archived = ev.channel_info.archived || "";
      }
      break;
    case "channel.members":
      break; // counted (and learnt) above
  }
  emit("channels");
}

// ---- doing things

/**
 * send posts a message (or a reply in thread) and records it at once; the
 * live copy that follows is the same message and is not shown twice. The
 * moderation policy may refuse it with 422: moderation_warning (send it
 * again with confirm to send anyway) or moderation_held (not sent).
 * @param {string} channel
 * @param {string} body
 * @param {string} [thread]
 * @param {{confirm?: boolean}} [options] confirm: send anyway after a warning
 * @returns {Promise<View>}
 */
export async function send(channel, body, thread = "", { confirm = false } = {}) {
  const c = conv(channel);
  const pendingId = `pending-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  c.messages.set(pendingId, {
    id: pendingId,
    channel,
    seq: Number.MAX_SAFE_INTEGER,
    thread: thread || undefined,
    author: state.me,
    created: new Date().toISOString(),
    body,
    pending: true,
  });
  emit("conv", { channel, id: pendingId });
  try {
    const req = thread ? { body, thread } : { body };
    if (confirm) {
      req.confirm = true;
    }
    const v = await api.post(`/api/v1/channels/${encodeURIComponent(channel)}/messages`, req);
    c.messages.delete(pendingId);
    sent(channel, v);
    return v;
  } catch (err) {
    c.messages.delete(pendingId);
    emit("conv", { channel, id: pendingId });
    throw err;
  }
}

/** sent records a message the person sent (by text or as a file). */
export function sent(channel, v) {
  const c = conv(channel);
  if (!c.messages.has(v.id)) {
    c.messages.set(v.id, v);
  }
  const ch = state.channels.get(channel);
  if (ch && v.seq) {
    ch.last_seq = Math.max(ch.last_seq || 0, v.seq);
    ch.read_seq = Math.max(ch.read_seq || 0, v.seq);
    ch.unreadMessages = 0;
  }
  emit("conv", { channel, id: v.id });
  emit("channels");
}

/** edit replaces the body of the person's message. */
export async function edit(channel, id, body) {
  const v = await api.patch(`/api/v1/messages/${encodeURIComponent(id)}`, { body });
  merge(channel, v, "message.edit");
  emit("conv", { channel, id });
}

/** remove deletes the person's message. */
export async function remove(channel, id) {
  await api.del(`/api/v1/messages/${encodeURIComponent(id)}`);
  merge(channel, { id }, "message.delete");
  emit("conv", { channel, id });
}

/**
 * react adds (on) or takes back the person's reaction. It shows at once;
 * the message's reactions are then read again from the API.
 */
export async function react(channel, id, emoji, on) {
  const c = state.convs.get(channel);
  const had = c && c.messages.get(id);
  if (had) {
    const reactions = { ...(had.reactions || {}) };
    const who = new Set(reactions[emoji] || []);
    if (on) {
      who.add(state.me);
    } else {
      who.delete(state.me);
    }
    if (who.size) {
      reactions[emoji] = [...who];
    } else {
      delete reactions[emoji];
    }
    merge(channel, { id, reactions }, "message.react");
    emit("conv", { channel, id });
  }
  const path = `/api/v1/messages/${encodeURIComponent(id)}/reactions/${encodeURIComponent(emoji)}`;
  try {
    await (on ? api.put(path) : api.del(path));
  } finally {
    if (had) {
      reread(channel, id, had.seq);
    }
  }
}

const rereads = new Map();

/**
 * reread reads one message again, for its reactions. The reactions that
 * the API sends with a reaction (in its answer and in the event) are read
 * before the change is committed, so they lag one change behind; the
 * message list read after the event is right.
 */
function reread(channel, id, seq) {
  if (rereads.has(id) || !seq) {
    return;
  }
  const mine = generation;
  rereads.set(
    id,
    setTimeout(async () => {
      rereads.delete(id);
      try {
        const views = await api.get(`/api/v1/channels/${encodeURIComponent(channel)}/messages?before=${seq + 1}&limit=1`);
        const v = (views || []).find((x) => x.id === id);
        if (mine === generation && v && !v.deleted && merge(channel, { id, reactions: v.reactions || {} }, "message.react")) {
          emit("conv", { channel, id });
        }
      } catch {
        // The next reaction reads it again.
      }
    }, 60),
  );
}

const reading = new Map();

/**
 * markRead moves the person's read position to the channel's newest
 * event, when it is ahead of it.
 * @param {string} channel
 */
export function markRead(channel) {
  const c = state.channels.get(channel);
  if (!c) {
    return;
  }
  const hadMention = state.mentioned.delete(channel);
  const hadUnread = unread(c) > 0;
  c.unreadMessages = 0;
  c.countToken = (c.countToken || 0) + 1; // a count under way is out of date
  if ((c.last_seq || 0) <= (c.read_seq || 0)) {
    if (hadMention || hadUnread) {
      emit("channels");
    }
    return;
  }
  const seq = c.last_seq;
  c.read_seq = seq;
  emit("channels");
  if ((reading.get(channel) || 0) >= seq) {
    return;
  }
  reading.set(channel, seq);
  api.post(`/api/v1/channels/${encodeURIComponent(channel)}/read`, { seq }).catch((err) => {
    reading.delete(channel);
    if (err && err.status === 401) {
      sessionEnded();
    }
  });
}

/**
 * typing tells the others that the person is typing in a channel; the
 * composer calls it at most every few seconds.
 * @param {string} channel
 */
export function typing(channel) {
  rt.send({ type: "typing", channel });
}

/**
 * typists returns who is typing in a channel now.
 * @param {string} channel
 */
export function typists(channel) {
  const m = state.typing.get(channel);
  if (!m) {
    return [];
  }
  const now = Date.now();
  return [...m].filter(([, until]) => until > now).map(([user]) => user);
}
