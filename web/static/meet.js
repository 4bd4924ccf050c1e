// Joining and taking part in a meeting: /meet#<code>.
//
// The page goes through four views: the pre-join screen (camera and
// microphone preview, device choice, a name for people who are not signed
// in), the lobby ("someone will let you in"), the meeting (video grid,
// screen share, chat, participants and — for admitters — the lobby), and an
// end screen (denied, ended, left).
//
// Signalling travels on the tab's realtime WebSocket (package realtime on
// the server): meeting.join, meeting.do and meeting.signal frames go up,
// meeting.* frames come down. People who are not signed in use the same
// protocol on the meeting-only socket (/api/v1/meetings/live). The server
// decides everything: who waits, who is admitted, and who receives media;
// the page only shows it. The join code travels in the fragment, which
// browsers never send to a server.

import { h, icon, setMessage, setPlainText } from "./dom.js";
import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { createRealtime } from "./realtime.js";

/** Message keys of the kinds of people and of meeting roles. */
const KIND = {
  memberKey: "meet.kind.member",
  guestKey: "meet.kind.guest",
  federatedKey: "meet.kind.federated",
  externalKey: "meet.kind.external",
  anonymousKey: "meet.kind.anonymous",
};
const ROLE = {
  organizerKey: "meet.role.organizer",
  coorganizerKey: "meet.role.coorganizer",
  presenterKey: "meet.role.presenter",
  attendeeKey: "meet.role.attendee",
};
const kindKey = (kind) => KIND[`${kind}Key`] || KIND.externalKey;
const roleKey = (role) => ROLE[`${role}Key`] || ROLE.attendeeKey;

/** The camera's simulcast layers: quarter, half and full resolution. */
const SIMULCAST = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "f", maxBitrate: 1_500_000 },
];

/** How often the call-health panel refreshes its numbers. */
const STATS_EVERY = 1000;
// A peer connection that has not started connecting, or failed, this long
// after it was made (or last restarted) restarts ICE: new credentials and
// a new round of candidates.
const ICE_RESTART_AFTER = 10_000;

/**
 * meetPage is the /meet page.
 * @returns {HTMLElement}
 */
export function meetPage() {
  const root = h("section", { class: "meet", "aria-labelledby": "meet-title" });
  const code = location.hash.slice(1);
  const title = h("h1", { id: "meet-title", tabindex: "-1", i18n: "meet.title" });
  const status = h("p", { class: "notice form-status", role: "status", id: "meet-status" });
  root.append(title, status);
  if (!/^[A-Za-z0-9_-]{22}$/.test(code)) {
    setMessage(status, { messageKey: "meet.badLink" });
    status.classList.add("notice-error");
    return root;
  }
  setMessage(status, { messageKey: "meet.checking" });
  api
    .get(`/api/v1/meeting-links/${code}`)
    .then((info) => prejoin(root, title, status, code, info))
    .catch((err) => {
      status.classList.add("notice-error");
      setMessage(status, err instanceof ApiError && err.message ? { text: err.message } : { messageKey: "meet.badLink" });
    });
  return root;
}

/** prejoin shows the preview, the device choice and the join button. */
function prejoin(root, title, status, code, info) {
  setPlainText(title, info.title);
  setMessage(status, null);
  if (!info.signed_in && !info.allow_anonymous) {
    setMessage(status, { messageKey: "meet.signInFirst" });
    root.append(h("p", {}, h("a", { href: "/signin", class: "button button-secondary", i18n: "meet.signIn" })));
    return;
  }
  const preview = h("video", { class: "meet-preview", autoplay: true, muted: true, playsinline: true, "aria-label": t("meet.preview") });
  preview.muted = true;
  const camSel = h("select", { id: "meet-camera" });
  const micSel = h("select", { id: "meet-microphone" });
  const camOn = h("input", { type: "checkbox", id: "meet-camera-on", checked: true });
  const micOn = h("input", { type: "checkbox", id: "meet-microphone-on", checked: true });
  const name = h("input", { id: "meet-name", type: "text", maxlength: "64", autocomplete: "name", required: true });
  const join = h("button", { type: "submit", class: "button button-primary", id: "meet-join", i18n: "meet.join" });
  const err = h("p", { class: "notice notice-error", role: "alert", hidden: true });
  let stream = null;

  async function open() {
    if (stream) {
      for (const tr of stream.getTracks()) {
        tr.stop();
      }
    }
    const want = {
      audio: micOn.checked ? (micSel.value ? { deviceId: { exact: micSel.value } } : true) : false,
      video: camOn.checked ? (camSel.value ? { deviceId: { exact: camSel.value } } : true) : false,
    };
    stream = null;
    preview.srcObject = null;
    if (!want.audio && !want.video) {
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia(want);
      preview.srcObject = stream;
      err.hidden = true;
      await listDevices();
    } catch (e) {
      err.hidden = false;
      setMessage(err, { messageKey: "meet.noDevices", params: { reason: String((e && e.name) || e) } });
    }
  }
  async function listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    for (const [sel, kind] of [
      [camSel, "videoinput"],
      [micSel, "audioinput"],
    ]) {
      const current = sel.value;
      sel.replaceChildren(
        ...devices.filter((d) => d.kind === kind).map((d, i) => h("option", { value: d.deviceId }, d.label || `${kind} ${i + 1}`)),
      );
      if (current) {
        sel.value = current;
      }
    }
  }
  for (const el of [camSel, micSel, camOn, micOn]) {
    el.addEventListener("change", open);
  }
  const form = h(
    "form",
    { class: "meet-prejoin", novalidate: true },
    preview,
    h(
      "div",
      { class: "meet-devices" },
      h("label", { class: "check" }, camOn, " ", h("span", { i18n: "meet.camera" })),
      h("label", { for: "meet-camera", class: "visually-hidden", i18n: "meet.cameraChoice" }),
      camSel,
      h("label", { class: "check" }, micOn, " ", h("span", { i18n: "meet.microphone" })),
      h("label", { for: "meet-microphone", class: "visually-hidden", i18n: "meet.microphoneChoice" }),
      micSel,
    ),
    info.signed_in ? "" : h("div", { class: "field" }, h("label", { for: "meet-name", i18n: "meet.name" }), name),
    err,
    join,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!info.signed_in && name.value.trim() === "") {
      err.hidden = false;
      setMessage(err, { messageKey: "meet.nameNeeded" });
      name.focus();
      return;
    }
    form.remove();
    live(root, title, status, code, info, stream, name.value.trim());
  });
  root.append(form);
  open();
}

/** live runs the meeting once the person asked to join. */
function live(root, title, status, code, info, stream, name) {
  const view = h("div", { class: "meet-live" });
  root.append(view);
  let me = "";
  let role = "";
  let rejoin = "";
  let meetingId = "";
  let pc = null;
  let ended = false;
  let screen = null;
  /** @type {Map<string, any>} participants by id */
  let people = new Map();
  let lobby = [];
  let state = { locked: false };
  let admitter = false;
  const streams = new Map(); // participant id -> MediaStream
  const tiles = new Map(); // participant id -> tile element

  const rt = createRealtime({
    path: info.signed_in ? "/api/v1/realtime" : "/api/v1/meetings/live",
    cursors: () => ({}),
    onState: () => {},
    onSessionEnded: () => finish({ messageKey: "meet.sessionEnded" }),
    onFrame: (f) => {
      if (f.type === "ready") {
        rt.send({ type: "meeting.join", code, name, rejoin });
        return;
      }
      if (typeof f.type !== "string" || !f.type.startsWith("meeting.")) {
        if (f.type === "event" && chat && f.channel === chat.id) {
          chat.onEvent(f.event);
        }
        return;
      }
      onMeeting(f);
    },
  });
  rt.start();

  function send(frame) {
    if (!rt.send({ ...frame, meeting: meetingId })) {
      flash({ messageKey: "meet.offline" });
    }
  }

  function onMeeting(f) {
    switch (f.type) {
      case "meeting.lobby":
        meetingId = f.meeting;
        me = f.you;
        showLobby();
        break;
      case "meeting.admitted":
        meetingId = f.meeting;
        me = f.you;
        role = f.role;
        rejoin = f.rejoin || rejoin;
        people = new Map((f.participants || []).map((p) => [p.id, p]));
        state = f.state || state;
        showMeeting(f);
        startMedia(f.media || {});
        break;
      case "meeting.participants": {
        const was = people.get(me);
        people = new Map((f.participants || []).map((p) => [p.id, p]));
        renderPeople();
        mutedByOrganiser(was, people.get(me));
        break;
      }
      case "meeting.waiting":
        admitter = true;
        lobby = f.lobby || [];
        renderLobby();
        break;
      case "meeting.state":
        state = f.state || state;
        renderState();
        if (f.message) {
          flash({ text: f.message });
        }
        break;
      case "meeting.speaker":
        for (const [id, tile] of tiles) {
          tile.classList.toggle("speaking", id === f.speaker);
        }
        break;
      case "meeting.signal":
        onSignal(f.signal);
        break;
      case "meeting.media":
        // The server replaced this person's media session (the connection
        // never came up, or failed): first without a configuration (drop
        // the peer connection; the new session's signals wait), then with
        // the new one.
        restartMedia(f.media);
        if (f.message) {
          flash({ text: f.message });
        }
        break;
      case "meeting.removed":
        stopMedia();
        flash({ messageKey: "meet.removed" });
        break;
      case "meeting.denied":
        finish({ text: f.message });
        break;
      case "meeting.ended":
        finish({ messageKey: "meet.ended" });
        break;
      case "meeting.error":
        flash({ text: f.message });
        break;
    }
  }

  function flash(msg) {
    status.classList.remove("notice-error");
    setMessage(status, msg);
  }

  function showLobby() {
    view.replaceChildren(
      h(
        "div",
        { class: "meet-lobby", id: "meet-lobby" },
        h("div", { class: "spinner", "aria-hidden": "true" }),
        h("h2", { i18n: "meet.waitingTitle" }),
        h("p", { i18n: "meet.waitingBody" }),
        h("button", { type: "button", class: "button button-secondary", on: { click: () => leave() }, i18n: "meet.leave" }),
      ),
    );
    flash({ messageKey: "meet.waitingStatus" });
  }

  // ---- the meeting view

  const grid = h("div", { class: "meet-grid", id: "meet-grid", role: "list", "aria-label": t("meet.grid") });
  const peopleList = h("ul", { class: "meet-people", id: "meet-people" });
  const lobbyList = h("ul", { class: "meet-lobby-list", id: "meet-lobby-list" });
  const lobbyPanel = h(
    "section",
    { class: "meet-panel", id: "meet-lobby-panel", "aria-labelledby": "meet-lobby-heading", hidden: true },
    h("h2", { id: "meet-lobby-heading", i18n: "meet.lobbyPanel" }),
    lobbyList,
    h("button", { type: "button", class: "button button-secondary", id: "meet-admit-all", on: { click: () => send({ type: "meeting.do", action: "admit_all" }) }, i18n: "meet.admitAll" }),
  );
  const health = h("dl", { class: "meet-health", id: "meet-health" });
  const recordingBadge = h("p", { class: "meet-recording", id: "meet-recording", role: "status", hidden: true }, h("span", { class: "meet-recording-dot", "aria-hidden": "true" }), h("span", { i18n: "meet.recording" }));
  let chat = null;
  let statsTimer = 0;

  function showMeeting(f) {
    const organizer = role === "organizer" || role === "coorganizer";
    const toolbar = h(
      "div",
      { class: "meet-toolbar", role: "toolbar", "aria-label": t("meet.controls") },
      toggle({ id: "meet-mic", onKey: "meet.mute", offKey: "meet.unmute" }, () => setTrack("audio")),
      toggle({ id: "meet-cam", onKey: "meet.cameraOff", offKey: "meet.cameraOn" }, () => setTrack("video")),
      h("button", { type: "button", class: "button button-secondary", id: "meet-share", on: { click: shareScreen }, i18n: "meet.share" }),
      h("button", { type: "button", class: "button button-secondary", id: "meet-hand", on: { click: raiseHand }, i18n: "meet.raiseHand" }),
      organizer ? h("button", { type: "button", class: "button button-secondary", id: "meet-lock", on: { click: () => send({ type: "meeting.do", action: state.locked ? "unlock" : "lock" }) }, i18n: "meet.lock" }) : "",
      organizer ? h("button", { type: "button", class: "button button-secondary", id: "meet-record", "aria-pressed": "false", on: { click: () => send({ type: "meeting.do", action: "record", on: !state.recording }) }, i18n: "meet.record" }) : "",
      organizer ? h("button", { type: "button", class: "button button-danger", id: "meet-end", on: { click: endForAll }, i18n: "meet.end" }) : "",
      h("button", { type: "button", class: "button button-danger", id: "meet-leave", on: { click: () => leave() }, i18n: "meet.leave" }),
    );
    const side = h(
      "aside",
      { class: "meet-side" },
      lobbyPanel,
      h("section", { class: "meet-panel", "aria-labelledby": "meet-people-heading" }, h("h2", { id: "meet-people-heading", i18n: "meet.people" }), peopleList),
      f.chat ? chatPanel(f.chat) : "",
      h("details", { class: "meet-panel" }, h("summary", { i18n: "meet.health" }), health),
    );
    view.replaceChildren(h("div", { class: "meet-main" }, recordingBadge, grid, toolbar), side);
    flash({ messageKey: "meet.inMeeting" });
    renderPeople();
    renderLobby();
    renderState();
    statsTimer = setInterval(updateHealth, STATS_EVERY);
  }

  function toggle({ id, onKey, offKey }, fn) {
    const b = h("button", { type: "button", class: "button button-secondary", id, "aria-pressed": "false", i18n: onKey });
    b.addEventListener("click", () => {
      const off = fn();
      b.setAttribute("aria-pressed", String(off));
      setMessage(b, { messageKey: off ? offKey : onKey });
    });
    return b;
  }

  function renderPeople() {
    const seen = new Set();
    for (const p of people.values()) {
      seen.add(p.id);
      tile(p);
    }
    for (const [id, el] of tiles) {
      if (!seen.has(id)) {
        el.remove();
        tiles.delete(id);
      }
    }
    const organizer = role === "organizer" || role === "coorganizer";
    peopleList.replaceChildren(
      ...[...people.values()].map((p) =>
        h(
          "li",
          { "data-participant": p.id },
          h("span", { class: "name" }, p.name || "?"),
          p.kind !== "member" ? h("span", { class: "badge", i18n: kindKey(p.kind) }) : "",
          h("span", { class: "badge", i18n: roleKey(p.role) }),
          p.hand ? h("span", { class: "badge hand", i18n: "meet.handUp" }) : "",
          !p.audio ? h("span", { class: "badge", i18n: "meet.muted" }) : "",
          organizer && p.id !== me && p.audio
            ? h("button", { type: "button", class: "button button-quiet button-small", "data-mute": p.id, on: { click: () => send({ type: "meeting.do", action: "mute", who: [p.id] }) }, i18n: "meet.mute" })
            : "",
          organizer && p.id !== me && p.role !== "organizer"
            ? h("button", { type: "button", class: "button button-quiet button-small", on: { click: () => send({ type: "meeting.do", action: "remove", who: [p.id] }) }, i18n: "meet.remove" })
            : "",
        ),
      ),
    );
  }

  function tile(p) {
    let el = tiles.get(p.id);
    if (!el) {
      const video = h("video", { autoplay: true, playsinline: true });
      if (p.id === me) {
        video.muted = true;
      }
      el = h("div", { class: "meet-tile", role: "listitem", "data-participant": p.id }, video, h("span", { class: "meet-tile-name" }));
      grid.append(el);
      tiles.set(p.id, el);
    }
    const label = el.querySelector(".meet-tile-name");
    label.textContent = p.id === me ? t("meet.you", { name: p.name }) : p.name;
    el.classList.toggle("hand", !!p.hand);
    const video = el.querySelector("video");
    const s = p.id === me ? stream : streams.get(p.id);
    if (s && video.srcObject !== s) {
      video.srcObject = s;
    }
  }

  // The server shows the lobby to admitters only: the panel appears with
  // the first meeting.waiting frame.
  function renderLobby() {
    lobbyPanel.hidden = !admitter;
    lobbyList.replaceChildren(
      ...lobby.map((w) =>
        h(
          "li",
          { "data-waiting": w.id },
          h("span", { class: "name" }, w.name || "?"),
          h("span", { class: "badge", i18n: kindKey(w.kind) }),
          h("button", { type: "button", class: "button button-primary", on: { click: () => send({ type: "meeting.do", action: "admit", who: [w.id] }) }, i18n: "meet.admit" }),
          h("button", { type: "button", class: "button button-secondary", on: { click: () => send({ type: "meeting.do", action: "deny", who: [w.id] }) }, i18n: "meet.deny" }),
        ),
      ),
    );
  }

  function renderState() {
    const b = document.getElementById("meet-lock");
    if (b) {
      setMessage(b, state.locked ? { messageKey: "meet.unlock" } : { messageKey: "meet.lock" });
    }
    recordingBadge.hidden = !state.recording;
    const r = document.getElementById("meet-record");
    if (r) {
      r.setAttribute("aria-pressed", String(!!state.recording));
      setMessage(r, state.recording ? { messageKey: "meet.stopRecording" } : { messageKey: "meet.record" });
    }
  }

  function raiseHand() {
    const mine = people.get(me);
    send({ type: "meeting.do", action: "hand", on: !(mine && mine.hand) });
  }

  function endForAll() {
    if (confirm(t("meet.endConfirm"))) {
      send({ type: "meeting.do", action: "end" });
    }
  }

  // ---- media

  function startMedia(cfg) {
    if (pc) {
      return;
    }
    pc = new RTCPeerConnection({ iceServers: cfg.ice_servers || [] });
    const current = pc;
    mediaSince = Date.now();
    pc.onconnectionstatechange = () => {
      if (pc === current && current.connectionState === "connected" && reconnecting) {
        reconnecting = false;
        flash({ messageKey: "meet.inMeeting" });
      }
    };
    pc.onicecandidate = (e) => {
      if (e.candidate) {
        signalCounts.sent++;
        send({ type: "meeting.signal", signal: { type: "candidate", candidate: e.candidate.toJSON() } });
      }
    };
    // The browser's own offers take their turn with the server's signals
    // (signalChain): an offer made while the server's offer is being
    // answered would turn into a second answer, or an offer sent as one,
    // and the negotiation would stall.
    const negotiate = async () => {
      if (pc !== current || current.signalingState !== "stable") {
        return; // tried again once the exchange under way is over
      }
      try {
        await current.setLocalDescription();
        send({ type: "meeting.signal", signal: { type: current.localDescription.type, sdp: current.localDescription.sdp } });
      } catch (e) {
        // The others still reach this person, but their own camera and
        // microphone do not reach anyone: say so.
        console.warn("meeting: could not make an offer", String(e));
        flash({ messageKey: "meet.sendTrouble" });
      }
    };
    pc.onnegotiationneeded = () => {
      signalChain = signalChain.then(negotiate);
    };
    pc.ontrack = (e) => {
      const owner = e.streams[0] ? e.streams[0].id : "";
      if (!owner) {
        return;
      }
      let s = streams.get(owner);
      if (!s) {
        s = new MediaStream();
        streams.set(owner, s);
      }
      s.addTrack(e.track);
      const p = people.get(owner);
      if (p) {
        tile(p);
      }
    };
    // The browser is the polite peer: an offer from the server while its own
    // awaits an answer wins, and the browser's offer is rolled back. (Its
    // offers are made on signalChain, so none is half made here.)
    onSignal.handle = async (sig) => {
      if (!sig || pc !== current) {
        return; // a signal of a media session since replaced
      }
      if (sig.type === "offer" || sig.type === "answer") {
        if (sig.type === "offer" && pc.signalingState !== "stable") {
          await pc.setLocalDescription({ type: "rollback" }).catch(() => {});
        }
        await pc.setRemoteDescription({ type: sig.type, sdp: sig.sdp });
        if (sig.type === "offer") {
          await pc.setLocalDescription();
          send({ type: "meeting.signal", signal: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
        }
        // The browser's own media not negotiated yet (its offer was rolled
        // back, or asked for while this exchange ran): offer it now.
        if (pc.getTransceivers().some((tr) => !tr.mid && !tr.stopped)) {
          signalChain = signalChain.then(negotiate);
        }
      } else if (sig.type === "candidate" && sig.candidate) {
        signalCounts.candidates++;
        await pc.addIceCandidate(sig.candidate).catch((e) => console.warn("meeting: candidate refused", String(e)));
      }
    };
    // What the server sent before this connection existed (its first
    // offer, with the others' tracks) is applied before the browser adds
    // its own: tracks added first would be matched to the server's
    // m-lines, where they cannot be sent (nor simulcast added).
    for (const sig of earlySignals.splice(0)) {
      onSignal(sig);
    }
    signalChain = signalChain.then(() => {
      if (pc !== current) {
        return;
      }
      if (stream) {
        for (const tr of stream.getTracks()) {
          if (tr.kind === "video") {
            // Three layers (simulcast): the server sends each person the one
            // that suits the size of the grid they see.
            pc.addTransceiver(tr, { direction: "sendrecv", streams: [stream], sendEncodings: SIMULCAST });
          } else {
            // A transceiver of its own, as for video: addTrack could reuse
            // one the server's offer created, which only receives.
            pc.addTransceiver(tr, { direction: "sendrecv", streams: [stream] });
          }
        }
        send({ type: "meeting.do", action: "media", kind: "audio", on: stream.getAudioTracks().some((tr) => tr.enabled) });
        send({ type: "meeting.do", action: "media", kind: "video", on: stream.getVideoTracks().some((tr) => tr.enabled) });
      } else {
        // Receive only: ask for the others' media all the same.
        pc.addTransceiver("audio", { direction: "recvonly" });
        pc.addTransceiver("video", { direction: "recvonly" });
      }
      const mine = people.get(me);
      if (mine) {
        tile(mine);
      }
    });
  }

  // The server's first offer can arrive before meeting.admitted has been
  // handled (it is sent as soon as the media session exists): it waits
  // here until the peer connection does, or it would be lost and both
  // sides would wait for each other's answer.
  const earlySignals = [];
  // Signals are applied one after the other: a candidate handled while the
  // offer before it is still being applied would be refused (no remote
  // description yet) and lost, and with the server's candidates lost the
  // browser never reaches it.
  let signalChain = Promise.resolve();
  let mediaSince = 0; // when the peer connection was made or ICE last restarted
  let reconnecting = false; // the media session was replaced and is not connected yet
  // Candidates received from the server and sent to it, for Call health.
  const signalCounts = { candidates: 0, sent: 0 };

  function onSignal(sig) {
    const handle = onSignal.handle;
    if (!handle) {
      if (earlySignals.length < 64) {
        earlySignals.push(sig);
      }
      return;
    }
    signalChain = signalChain
      .then(() => handle(sig))
      .catch((e) => {
        console.warn("meeting: could not apply the server's", sig.type, String(e));
        flash({ messageKey: "meet.mediaTrouble" });
      });
  }

  /**
   * mutedByOrganiser silences the microphone here when an organiser has
   * muted this person (the server stopped forwarding it), so that the mic
   * button says so and one press unmutes, which the server honours.
   */
  function mutedByOrganiser(was, now) {
    const tracks = stream ? stream.getAudioTracks() : [];
    if (!was || !now || !was.audio || now.audio || !tracks.some((tr) => tr.enabled)) {
      return; // not a change from outside: this person muted themselves
    }
    for (const tr of tracks) {
      tr.enabled = false;
    }
    const mic = document.getElementById("meet-mic");
    if (mic) {
      mic.setAttribute("aria-pressed", "true");
      setMessage(mic, { messageKey: "meet.unmute" });
    }
    flash({ messageKey: "meet.mutedByOrganiser" });
  }

  /** setTrack switches the local audio or video on or off; true when now off. */
  function setTrack(kind) {
    const tracks = stream ? (kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks()) : [];
    if (tracks.length === 0) {
      flash({ messageKey: "meet.noDevice" });
      return false;
    }
    const on = !tracks[0].enabled;
    for (const tr of tracks) {
      tr.enabled = on;
    }
    send({ type: "meeting.do", action: "media", kind, on });
    return !on;
  }

  async function shareScreen() {
    if (screen) {
      for (const tr of screen.getTracks()) {
        tr.stop();
      }
      screen = null;
      send({ type: "meeting.do", action: "media", kind: "screen", on: false });
      return;
    }
    try {
      screen = await navigator.mediaDevices.getDisplayMedia({ video: true });
    } catch {
      return; // the person cancelled
    }
    const track = screen.getVideoTracks()[0];
    send({ type: "meeting.signal", signal: { type: "source", track: track.id, source: "screen" } });
    send({ type: "meeting.do", action: "media", kind: "screen", on: true });
    if (pc) {
      pc.addTrack(track, screen);
    }
    track.addEventListener("ended", () => shareScreen());
  }

  function stopMedia() {
    clearInterval(statsTimer);
    closePeer();
  }

  // closePeer ends the peer connection; signals of a later media session
  // wait for its own (earlySignals), and those queued for this one are
  // dropped with it.
  function closePeer() {
    if (pc) {
      pc.close();
      pc = null;
    }
    onSignal.handle = null;
    earlySignals.length = 0;
    signalChain = Promise.resolve();
    signalCounts.candidates = signalCounts.sent = 0;
    streams.clear();
  }

  function restartMedia(cfg) {
    if (pc) {
      if (screen) {
        shareScreen(); // stops it: the new connection starts with camera and microphone
      }
      closePeer();
      reconnecting = true;
      flash({ messageKey: "meet.reconnecting" });
    }
    if (cfg) {
      startMedia(cfg);
    }
  }

  async function updateHealth() {
    if (!pc) {
      return;
    }
    const stuck = pc.connectionState === "new" || pc.connectionState === "failed";
    if (stuck && pc.signalingState === "stable" && Date.now() - mediaSince > ICE_RESTART_AFTER) {
      mediaSince = Date.now();
      console.warn("meeting: no media connection yet (" + pc.connectionState + "); restarting ICE");
      pc.restartIce();
    }
    let bytes = 0;
    let frames = 0;
    let audioBytes = 0;
    let layers = 0;
    let route = "";
    const report = await pc.getStats();
    report.forEach((s) => {
      // The pair the transport uses now (other pairs may have been
      // nominated on the way).
      const pair = s.type === "transport" && s.selectedCandidatePairId ? report.get(s.selectedCandidatePairId) : null;
      const remote = pair && report.get(pair.remoteCandidateId);
      if (remote) {
        route = `${remote.protocol} ${remote.address}:${remote.port}`;
      }
      if (s.type === "outbound-rtp" && s.kind === "video" && (s.bytesSent || 0) > 0) {
        layers++;
      }
      if (s.type === "inbound-rtp") {
        bytes += s.bytesReceived || 0;
        if (s.kind === "video") {
          frames += s.framesDecoded || 0;
        } else {
          audioBytes += s.bytesReceived || 0;
        }
      }
    });
    health.replaceChildren(
      h("dt", { i18n: "meet.health.state" }),
      h("dd", { id: "meet-health-state" }, pc.connectionState),
      h("dt", { i18n: "meet.health.bytes" }),
      h("dd", { id: "meet-health-bytes" }, String(bytes)),
      h("dt", { i18n: "meet.health.audioBytes" }),
      h("dd", { id: "meet-health-audio-bytes" }, String(audioBytes)),
      h("dt", { i18n: "meet.health.frames" }),
      h("dd", { id: "meet-health-frames" }, String(frames)),
      h("dt", { i18n: "meet.health.layers" }),
      h("dd", { id: "meet-health-layers" }, String(layers)),
      h("dt", { i18n: "meet.health.route" }),
      h("dd", { id: "meet-health-route" }, route),
      h("dt", { i18n: "meet.health.negotiation" }),
      h(
        "dd",
        { id: "meet-health-negotiation" },
        `${pc.signalingState}, ICE ${pc.iceConnectionState} (${pc.iceGatheringState}), ${signalCounts.candidates}↓ ${signalCounts.sent}↑`,
      ),
    );
  }

  // ---- chat

  function chatPanel(id) {
    const list = h("ol", { class: "meet-chat-list", id: "meet-chat-list", "aria-live": "polite" });
    const input = h("input", { type: "text", id: "meet-chat-input", maxlength: "4000", "aria-label": t("meet.chatInput") });
    const form = h("form", { class: "meet-chat-form" }, input, h("button", { type: "submit", class: "button button-secondary", i18n: "meet.chatSend" }));
    const seen = new Set();
    const add = (m) => {
      if (!m || seen.has(m.id)) {
        return;
      }
      seen.add(m.id);
      const who = [...people.values()].find((p) => p.account === m.author);
      list.append(h("li", {}, h("strong", {}, who ? who.name : ""), " ", m.deleted ? t("meet.chatDeleted") : m.body));
    };
    chat = {
      id,
      onEvent: (ev) => {
        if (ev && ev.kind === "message") {
          add(ev.message);
        }
      },
    };
    api
      .get(`/api/v1/channels/${id}/messages?limit=50`)
      .then((ms) => ms.reverse().forEach(add))
      .catch(() => {});
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = input.value.trim();
      if (!body) {
        return;
      }
      try {
        add(await api.post(`/api/v1/channels/${id}/messages`, { body }));
        input.value = "";
      } catch (err) {
        flash(err.message ? { text: err.message } : { messageKey: "meet.chatFailed" });
      }
    });
    return h("section", { class: "meet-panel", "aria-labelledby": "meet-chat-heading" }, h("h2", { id: "meet-chat-heading", i18n: "meet.chat" }), list, form);
  }

  // ---- the end

  function leave() {
    if (meetingId) {
      rt.send({ type: "meeting.leave", meeting: meetingId });
    }
    finish({ messageKey: "meet.left" });
  }

  function finish(msg) {
    if (ended) {
      return;
    }
    ended = true;
    stopMedia();
    if (stream) {
      for (const tr of stream.getTracks()) {
        tr.stop();
      }
    }
    if (screen) {
      for (const tr of screen.getTracks()) {
        tr.stop();
      }
    }
    setTimeout(() => rt.stop(), 100);
    const end = h("p", { id: "meet-end-message" });
    setMessage(end, msg);
    view.replaceChildren(h("div", { class: "meet-ended", id: "meet-ended" }, icon("meetings"), end));
    setMessage(status, null);
  }
}
