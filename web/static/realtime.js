// The tab's one WebSocket to Kaigi (GET /api/v1/realtime), which carries
// the live events of every channel and chat the person can see.
//
// The protocol is described in the server's package realtime. In short: the
// client says hello with its cursors (the last sequence number it has seen
// of each channel); the server answers ready, replays what the client
// missed and then sends events as they happen, each with its channel's next
// sequence number, sometimes several frames in one JSON array.
//
// This module owns the connection: it connects, says hello with the cursors
// its owner gives it, hands every frame on, and when the connection drops
// it reconnects with exponential backoff and jitter and says hello again
// with the cursors as they are then — so nothing is missed and, since the
// server skips what the cursors cover, nothing repeated. A connection closed
// because the session ended (4401) is not retried.
//
// Presence: given onPresence, the hello asks for presence frames, and this
// module keeps who of the people the person shares a channel with is
// online, away, busy, dnd or offline (a snapshot after each ready, then
// changes), and the status the person chose, sent with every hello and
// remembered in this browser.

/** Close code of a socket whose session ended. */
const SESSION_ENDED = 4401;

/** Backoff between attempts: from 0.5 s, doubling, at most 30 s. */
const BACKOFF_FIRST = 500;
const BACKOFF_MAX = 30000;

/** An application-level ping every 30 s; no pong within 10 s means a dead line. */
const PING_EVERY = 30000;
const PONG_WITHIN = 10000;

/**
 * @typedef {"idle"|"connecting"|"online"|"reconnecting"|"ended"} RealtimeState
 * @typedef {"online"|"away"|"busy"|"dnd"|"offline"} PresenceStatus
 */

/** Where the status the person chose is remembered. */
const STATUS_KEY = "kaigi.status";

/** The statuses a person may choose. */
export const STATUSES = ["online", "away", "busy", "dnd"];

function storedStatus() {
  try {
    const s = localStorage.getItem(STATUS_KEY);
    return STATUSES.includes(s) ? s : "online";
  } catch {
    return "online";
  }
}

/**
 * createRealtime makes the connection manager; nothing happens until start.
 * @param {object} o
 * @param {() => Record<string, number>} o.cursors the cursors for hello
 * @param {string} [o.path] the socket's path: /api/v1/realtime, or the
 *   meeting-only /api/v1/meetings/live for people who are not signed in
 * @param {(frame: any) => void} o.onFrame every frame but pong
 * @param {(state: RealtimeState) => void} o.onState
 * @param {() => void} o.onSessionEnded the server closed with 4401
 * @param {(changes: Record<string, PresenceStatus>, snapshot: boolean) => void} [o.onPresence]
 *   presence changes (snapshot: everyone not listed is offline); asks the
 *   server for presence frames
 */
export function createRealtime({ cursors, onFrame, onState, onSessionEnded, onPresence, path = "/api/v1/realtime" }) {
  /** @type {WebSocket|null} */
  let ws = null;
  let attempt = 0;
  let retryTimer = 0;
  let pingTimer = 0;
  let pongTimer = 0;
  let stopped = true;
  /** @type {RealtimeState} */
  let state = "idle";
  /** @type {Map<string, PresenceStatus>} who is not offline */
  const presence = new Map();
  let myStatus = storedStatus();

  function setState(next) {
    if (next !== state) {
      state = next;
      onState(next);
    }
  }

  function address() {
    const u = new URL(path, location.href);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    return u.href;
  }

  function connect() {
    clearTimeout(retryTimer);
    if (stopped || ws) {
      return;
    }
    setState(attempt === 0 ? "connecting" : "reconnecting");
    let sock;
    try {
      sock = new WebSocket(address());
    } catch {
      retry();
      return;
    }
    ws = sock;
    sock.addEventListener("open", () => {
      if (sock === ws) {
        const hello = { type: "hello", cursors: cursors() };
        if (onPresence) {
          hello.presence = true;
          hello.status = myStatus;
        }
        sock.send(JSON.stringify(hello));
      }
    });
    sock.addEventListener("message", (event) => {
      if (sock !== ws || typeof event.data !== "string") {
        return;
      }
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return; // not ours to judge; the server never sends this
      }
      for (const frame of Array.isArray(data) ? data : [data]) {
        if (frame && typeof frame.type === "string") {
          handle(frame);
        }
      }
    });
    sock.addEventListener("close", (event) => {
      if (sock !== ws) {
        return; // a socket given up on already
      }
      ws = null;
      stopPing();
      if (event.code === SESSION_ENDED) {
        stopped = true;
        setState("ended");
        onSessionEnded();
        return;
      }
      retry();
    });
  }

  function handle(frame) {
    if (frame.type === "pong") {
      clearTimeout(pongTimer);
      return;
    }
    if (frame.type === "ready") {
      attempt = 0;
      setState("online");
      startPing();
    }
    if (frame.type === "presence") {
      applyPresence(frame);
      return;
    }
    onFrame(frame);
  }

  function applyPresence(frame) {
    if (!onPresence || !frame.users || typeof frame.users !== "object") {
      return;
    }
    /** @type {Record<string, PresenceStatus>} */
    const changes = {};
    if (frame.snapshot) {
      for (const user of presence.keys()) {
        if (!(user in frame.users)) {
          changes[user] = "offline";
        }
      }
      presence.clear();
    }
    for (const [user, status] of Object.entries(frame.users)) {
      if (typeof status !== "string") {
        continue;
      }
      if (status === "offline") {
        presence.delete(user);
      } else {
        presence.set(user, /** @type {PresenceStatus} */ (status));
      }
      changes[user] = /** @type {PresenceStatus} */ (status);
    }
    onPresence(changes, !!frame.snapshot);
  }

  /** retry schedules the next attempt, later each time, with jitter. */
  function retry() {
    if (stopped) {
      return;
    }
    attempt++;
    const ceiling = Math.min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** Math.min(attempt - 1, 10));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    setState("reconnecting");
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
  }

  /** drop gives up on the socket at once (a dead line) and reconnects. */
  function drop() {
    const sock = ws;
    ws = null;
    stopPing();
    if (sock) {
      try {
        sock.close(4000, "no answer");
      } catch {
        // closing a broken socket may throw; it is gone either way
      }
    }
    retry();
  }

  function startPing() {
    stopPing();
    pingTimer = setInterval(() => {
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        return;
      }
      ws.send(JSON.stringify({ type: "ping" }));
      clearTimeout(pongTimer);
      pongTimer = setTimeout(drop, PONG_WITHIN);
    }, PING_EVERY);
  }

  function stopPing() {
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
  }

  // Back online, or back to the tab after a while: try at once rather than
  // wait out the backoff.
  const now = () => {
    if (!stopped && !ws) {
      attempt = Math.min(attempt, 1);
      connect();
    }
  };
  window.addEventListener("online", now);
  // Another tab chose a status: this one says so too.
  window.addEventListener("storage", (event) => {
    if (event.key === STATUS_KEY) {
      const s = storedStatus();
      if (s !== myStatus) {
        myStatus = s;
        if (ws && ws.readyState === WebSocket.OPEN && state === "online") {
          ws.send(JSON.stringify({ type: "status", status: s }));
        }
      }
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      now();
    }
  });

  return {
    /** start connects, unless already connected or connecting. */
    start() {
      stopped = false;
      connect();
    },
    /** stop closes the connection for good (signing out). */
    stop() {
      stopped = true;
      clearTimeout(retryTimer);
      stopPing();
      const sock = ws;
      ws = null;
      attempt = 0;
      presence.clear();
      if (sock) {
        sock.close(1000, "bye");
      }
      setState("idle");
    },
    /**
     * send sends a frame if the connection is up; a frame that cannot go
     * now (typing) is not worth keeping.
     * @param {object} frame
     */
    send(frame) {
      if (ws && ws.readyState === WebSocket.OPEN && state === "online") {
        ws.send(JSON.stringify(frame));
        return true;
      }
      return false;
    },
    /** state returns the connection's state. */
    state: () => state,
    /**
     * presenceOf returns what is known of a person: offline unless a
     * presence frame said otherwise.
     * @param {string} user
     * @returns {PresenceStatus}
     */
    presenceOf: (user) => presence.get(user) || "offline",
    /** status returns the status the person chose. */
    status: () => myStatus,
    /**
     * setStatus sets the status the person chose (one of STATUSES), for
     * this and later connections and the browser's other tabs.
     * @param {string} s
     */
    setStatus(s) {
      if (!STATUSES.includes(s)) {
        return;
      }
      myStatus = s;
      try {
        localStorage.setItem(STATUS_KEY, s);
      } catch {
        // private mode: this tab keeps it
      }
      if (ws && ws.readyState === WebSocket.OPEN && state === "online") {
        ws.send(JSON.stringify({ type: "status", status: s }));
      }
    },
  };
}
