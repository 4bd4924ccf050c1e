// The lockbox of the compliance center (/compliance/lockbox): the requests of
// the service's operators for access to the organisation's content, as the
// organisation's lockbox approvers decide them — pending ones with their
// justification, ticket, reason, resources, duration and the time left to
// answer; approval with a fresh passkey assertion; denial; revocation of a
// grant at any time; and the history. Tenant admins and compliance officers
// watch; only lockbox approvers decide. The page asks again every few
// seconds and counts down every second.
//
// Also the pieces the operator console (operator.js) shares: states,
// justifications, durations and countdowns.

import { h, icon, setMessage, time } from "./dom.js";
import { formatUnit } from "./i18n.js";
import { api } from "./api.js";
import { isActive, session, showLoadError } from "./session.js";
import { alertRegion, badge, busy, button, confirmDialog, isBusy, loading, panel, statusRegion } from "./ui.js";
import { PasskeysUnsupported, decodeRequestOptions, describePasskeyError, encodeAssertion } from "./passkey.js";

/** How often the lists are asked for again, in milliseconds. */
export const POLL_MS = 4000;

/** The justification codes an operator gives (after Google's access transparency). */
export const JUSTIFICATIONS = ["customer_initiated_support", "service_outage", "security_incident", "data_recovery", "legal_request"];

/** What each justification code is called. */
export const JUSTIFICATION_LABELS = {
  customer_initiated_support: { labelKey: "lockbox.justification.customer_initiated_support" },
  service_outage: { labelKey: "lockbox.justification.service_outage" },
  security_incident: { labelKey: "lockbox.justification.security_incident" },
  data_recovery: { labelKey: "lockbox.justification.data_recovery" },
  legal_request: { labelKey: "lockbox.justification.legal_request" },
};

/** justificationText names a justification code. */
export function justificationText(code) {
  return JUSTIFICATION_LABELS[code] ? h("span", { i18n: JUSTIFICATION_LABELS[code].labelKey }) : h("span", { class: "mono" }, String(code));
}

/** What each state is called, and the tone of its badge. */
export const STATES = {
  pending: { labelKey: "lockbox.state.pending", tone: "warning" },
  approved: { labelKey: "lockbox.state.approved", tone: "accent" },
  active: { labelKey: "lockbox.state.active", tone: "success" },
  denied: { labelKey: "lockbox.state.denied", tone: "neutral" },
  expired: { labelKey: "lockbox.state.expired", tone: "neutral" },
  revoked: { labelKey: "lockbox.state.revoked", tone: "danger" },
  completed: { labelKey: "lockbox.state.completed", tone: "neutral" },
};

/** stateBadge shows a request's state. */
export function stateBadge(state) {
  if (!Object.hasOwn(STATES, state)) {
    return h("span", { class: "badge" }, String(state));
  }
  const b = badge(STATES[state]);
  b.dataset.state = state;
  return b;
}

/** isLockboxApprover reports whether the person signed in holds lockbox_approver. */
export function isLockboxApprover() {
  const s = session();
  return isActive() && Array.isArray(s.roles) && s.roles.includes("lockbox_approver");
}

/** isLive reports whether a request is a grant that may still be used (by its state). */
export function isLive(r) {
  return r.state === "approved" || r.state === "active";
}

/**
 * durationMinutes reads a Go duration as the API writes it ("4h0m0s",
 * "90m0s", "15m0s") as whole minutes; 0 when it cannot.
 */
export function durationMinutes(d) {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(String(d || ""));
  if (!m || String(d) === "") {
    return 0;
  }
  return Number(m[1] || 0) * 60 + Number(m[2] || 0) + Math.floor(Number(m[3] || 0) / 60);
}

/** durationText says a duration in words: "4 hours", "1 hour 30 minutes". */
export function durationText(d) {
  const min = durationMinutes(d);
  if (!min) {
    return String(d || "");
  }
  const parts = [];
  if (Math.floor(min / 60)) {
    parts.push(formatUnit(Math.floor(min / 60), "hour"));
  }
  if (min % 60) {
    parts.push(formatUnit(min % 60, "minute"));
  }
  return parts.join(" ");
}

/** clockText writes a number of milliseconds as h:mm:ss. */
export function clockText(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return `${hh}:${mm}:${ss}`;
}

/**
 * countdown shows the time left until a moment, with a bar of the time left
 * out of total (milliseconds), updated by tickCountdowns. textKey is the message
 * with {time}: "Expires in {time}".
 */
export function countdown({ until, total, textKey, doneKey }) {
  const text = h("span", { class: "countdown-text" });
  const bar = h("progress", { class: "countdown-bar", max: String(Math.max(1, total)), value: "0", "aria-hidden": "true" });
  const el = h("span", { class: "countdown", "data-until": String(new Date(until).getTime()), "data-total": String(total), "data-key": textKey, "data-done-key": doneKey }, icon("clock", "icon icon-small"), " ", text, " ", bar);
  tickOne(el, Date.now());
  return el;
}

function tickOne(el, now) {
  const left = Number(el.dataset.until) - now;
  const text = el.querySelector(".countdown-text");
  const bar = el.querySelector(".countdown-bar");
  if (left <= 0) {
    setMessage(text, { messageKey: el.dataset.doneKey });
    bar.value = 0;
    el.dataset.done = "true";
    return;
  }
  setMessage(text, { messageKey: el.dataset.key, params: { time: clockText(left) } });
  bar.value = Math.min(Number(el.dataset.total), left);
}

/**
 * tickCountdowns updates every countdown under root once a second while root
 * is in the page, and calls onDone when one reaches zero (to ask the server
 * what became of it).
 */
export function tickCountdowns(root, onDone) {
  const timer = setInterval(() => {
    if (!root.isConnected) {
      clearInterval(timer);
      return;
    }
    const now = Date.now();
    for (const el of root.querySelectorAll(".countdown:not([data-done])")) {
      tickOne(el, now);
      if (el.dataset.done && onDone) {
        onDone();
      }
    }
  }, 1000);
}

/** What each kind of resource is called. */
const RESOURCE_KINDS = {
  channel: { labelKey: "lockbox.resource.channel" },
  user_messages: { labelKey: "lockbox.resource.user_messages" },
  recording: { labelKey: "lockbox.resource.recording" },
  tenant_config: { labelKey: "lockbox.resource.tenant_config" },
};

/** resourceText shows a resource ("channel:<id>"), with the channel's name when the reader knows it. */
export function resourceText(res, names = new Map()) {
  const [kind, id] = String(res).split(":");
  const label = Object.hasOwn(RESOURCE_KINDS, kind) ? h("span", { i18n: RESOURCE_KINDS[kind].labelKey }) : h("span", {}, String(kind));
  const name = id && names.get(id);
  return h("span", { class: "resource", "data-resource": String(res) }, label, ...(id ? [" ", name ? h("strong", {}, name) : "", name ? " " : "", h("span", { class: "mono muted" }, id)] : []));
}

/**
 * passkeyProof asks the person's passkey for a fresh assertion, as proof
 * for an approval: a ceremony from the server, answered by the browser.
 */
export async function passkeyProof() {
  if (typeof window.PublicKeyCredential !== "function" || !navigator.credentials) {
    throw new PasskeysUnsupported();
  }
  const begin = await api.post("/api/v1/auth/passkey/begin", {});
  const cred = await navigator.credentials.get({ publicKey: decodeRequestOptions(begin.options.publicKey) });
  return { kind: "passkey", ceremony: begin.ceremony, credential: encodeAssertion(cred) };
}

/** fact is one term of a request's facts (a <dl>): its label and value. */
export function fact({ labelKey }, value) {
  return h("div", { class: "fact" }, h("dt", { i18n: labelKey }), h("dd", {}, value));
}

/**
 * poll asks url for a list now and every POLL_MS while el is in the page,
 * one request at a time, and draws it when it changed. load asks at once
 * (or joins the request in flight); refresh asks after any request in
 * flight, so that it shows what an action just changed.
 */
export function poll({ url, el, alert, draw }) {
  let last = "";
  let timer = 0;
  let inFlight = null;

  function load() {
    if (!inFlight) {
      inFlight = fetchAndDraw().finally(() => {
        inFlight = null;
      });
    }
    return inFlight;
  }

  function refresh() {
    return (inFlight || Promise.resolve()).then(load);
  }

  async function fetchAndDraw() {
    clearTimeout(timer);
    try {
      const list = (await api.get(url)) || [];
      if (!el.isConnected && last) {
        return;
      }
      const key = JSON.stringify(list);
      if (key !== last) {
        last = key;
        draw(list);
      }
      el.dataset.loaded = "true";
    } catch (err) {
      if (err && err.status === 401) {
        showLoadError(err, alert);
        return;
      }
      alert.show(err);
    }
    if (el.isConnected || !last) {
      timer = setTimeout(() => el.isConnected && load(), POLL_MS);
    }
  }

  return { load, refresh };
}

// ---- the tenant's page

/** lockboxSection is the lockbox page of the compliance center. */
export function lockboxSection() {
  const approver = isLockboxApprover();
  const alert = alertRegion();
  const status = statusRegion();
  const pending = h("div", { id: "lockbox-pending" }, loading());
  const granted = h("div", { id: "lockbox-granted" });
  const history = h("div", { id: "lockbox-history" });
  const root = h(
    "div",
    { class: "lockbox" },
    approver
      ? h("p", { class: "banner compliance-note" }, icon("key", "icon banner-icon"), h("span", { class: "banner-text", i18n: "lockbox.approverNote" }), " ", h("a", { href: "/settings/security", i18n: "lockbox.passkeyLink" }))
      : h("p", { class: "banner compliance-note", id: "lockbox-watch-only" }, icon("info", "icon banner-icon"), h("span", { class: "banner-text", i18n: "lockbox.watchOnly" })),
    alert.el,
    status.el,
    h(
      "div",
      { class: "panels" },
      panel({ titleKey: "lockbox.pending.title", leadKey: "lockbox.pending.lead", id: "lockbox-pending-panel" }, pending),
      panel({ titleKey: "lockbox.granted.title", leadKey: "lockbox.granted.lead", id: "lockbox-granted-panel" }, granted),
      panel(
        { titleKey: "lockbox.history.title", id: "lockbox-history-panel", actions: [h("a", { href: "/compliance/transparency", class: "button button-secondary button-small", id: "lockbox-to-transparency" }, icon("shield"), h("span", { i18n: "lockbox.toTransparency" }))] },
        history,
      ),
    ),
  );

  let names = new Map();

  async function loadNames() {
    try {
      const chans = (await api.get("/api/v1/channels")) || [];
      names = new Map(chans.map((c) => [c.id, c.name]));
    } catch {
      // Names are a help only: the ids are shown without them.
    }
  }

  const { load, refresh } = poll({ url: "/api/v1/lockbox/requests", el: root, alert, draw });

  function draw(list) {
    const focused = document.activeElement && root.contains(document.activeElement) ? document.activeElement.id : "";
    fill(pending, list.filter((r) => r.state === "pending"), { emptyKey: "lockbox.pending.none" });
    fill(granted, list.filter(isLive), { emptyKey: "lockbox.granted.none" });
    fill(history, list.filter((r) => r.state !== "pending" && !isLive(r)), { emptyKey: "lockbox.history.none" });
    if (focused && document.getElementById(focused)) {
      document.getElementById(focused).focus();
    }
  }

  function fill(area, list, { emptyKey }) {
    if (!list.length) {
      area.replaceChildren(h("p", { class: "item-empty", i18n: emptyKey }));
      return;
    }
    area.replaceChildren(h("ul", { class: "item-list lockbox-list" }, ...list.map(item)));
  }

  function item(r) {
    const meta = h(
      "div",
      { class: "item-meta" },
      h("span", { i18n: "lockbox.ticket", i18nParams: { ticket: r.ticket } }),
      h("span", { class: "item-sep" }, "·"),
      h("span", {}, h("span", { i18n: "lockbox.operator" }), " ", h("span", { class: "mono" }, r.operator)),
      h("span", { class: "item-sep" }, "·"),
      h("span", {}, h("span", { i18n: "lockbox.filed" }), " ", time(r.created)),
    );
    const facts = h(
      "dl",
      { class: "facts lockbox-facts" },
      fact({ labelKey: "lockbox.reason" }, h("span", { class: "lockbox-reason" }, r.reason)),
      fact({ labelKey: "lockbox.resources" }, h("ul", { class: "lockbox-resources" }, ...(r.resources || []).map((res) => h("li", {}, resourceText(res, names))))),
      fact({ labelKey: "lockbox.duration" }, h("span", {}, durationText(r.duration))),
    );
    const actions = [];
    if (r.state === "pending") {
      facts.append(
        fact(
          { labelKey: "lockbox.answerBy" },
          h("span", {}, time(r.expires_at), " ", countdown({ until: r.expires_at, total: new Date(r.expires_at) - new Date(r.created), textKey: "lockbox.expiresIn", doneKey: "lockbox.expiring" })),
        ),
      );
      if (approver) {
        actions.push(approveButton(r), denyButton(r));
      }
    } else if (isLive(r)) {
      facts.append(
        fact({ labelKey: "lockbox.decided" }, h("span", {}, time(r.decided))),
        fact({ labelKey: "lockbox.grantEnds" }, h("span", {}, time(r.grant_ends), " ", countdown({ until: r.grant_ends, total: durationMinutes(r.duration) * 60000, textKey: "lockbox.endsIn", doneKey: "lockbox.ending" }))),
        fact({ labelKey: "lockbox.accesses" }, h("span", { class: "lockbox-accesses" }, String(r.accesses || 0))),
      );
      if (approver) {
        actions.push(revokeButton(r));
      }
    } else {
      if (r.decided) {
        facts.append(fact({ labelKey: "lockbox.decided" }, h("span", {}, time(r.decided))));
      }
      if (r.ended) {
        facts.append(fact({ labelKey: "lockbox.ended" }, h("span", {}, time(r.ended))));
      }
      facts.append(fact({ labelKey: "lockbox.accesses" }, h("span", { class: "lockbox-accesses" }, String(r.accesses || 0))));
    }
    return h(
      "li",
      { class: "item lockbox-item", "data-id": r.id, "data-state": r.state },
      h("span", { class: "item-icon" }, icon(r.state === "pending" ? "clock" : isLive(r) ? "key" : "lock")),
      h("div", { class: "item-main" }, h("div", { class: "item-title" }, justificationText(r.justification), " ", stateBadge(r.state)), meta, facts),
      ...(actions.length ? [h("div", { class: "item-actions" }, ...actions)] : []),
    );
  }

  function approveButton(r) {
    return actionButton(r, { action: "approve", labelKey: "lockbox.approve", kind: "primary", iconName: "key", busyKey: "lockbox.approving", doneKey: "lockbox.approved", focusPanel: "lockbox-granted-panel",
      body: async () => ({ proof: await passkeyProof() }), describe: describePasskeyError });
  }

  function denyButton(r) {
    return actionButton(r, { action: "deny", labelKey: "lockbox.deny", kind: "danger", doneKey: "lockbox.denied", focusPanel: "lockbox-history-panel",
      confirm: { titleKey: "lockbox.deny.title", bodyKey: "lockbox.deny.body" } });
  }

  function revokeButton(r) {
    return actionButton(r, { action: "revoke", labelKey: "lockbox.revoke", kind: "danger", doneKey: "lockbox.revoked", focusPanel: "lockbox-history-panel",
      confirm: { titleKey: "lockbox.revoke.title", bodyKey: "lockbox.revoke.body" } });
  }

  /**
   * actionButton is an approver's button that posts a decision on r (to
   * /requests/{id}/{action}): it asks to confirm first when confirm names
   * the dialog, shows progress, says what was done and moves the focus to
   * the panel where r is now.
   */
  function actionButton(r, { action, labelKey, kind, iconName, busyKey = "common.saving", doneKey, focusPanel, confirm, body = async () => undefined, describe = (err) => err }) {
    const b = button({ labelKey, kind, small: true, iconName, attrs: { id: `${action}-${r.id}`, "data-action": action } });
    b.addEventListener("click", async () => {
      if (isBusy(b)) {
        return;
      }
      alert.clear();
      if (confirm && !(await confirmDialog({ ...confirm, bodyParams: { ticket: r.ticket }, confirmKey: labelKey, danger: true }))) {
        return;
      }
      const done = busy(b, { messageKey: busyKey });
      try {
        await api.post(`/api/v1/lockbox/requests/${encodeURIComponent(r.id)}/${action}`, await body());
        status.show({ messageKey: doneKey, params: { ticket: r.ticket } });
        done();
        await refresh();
        focusHeading(focusPanel);
        return;
      } catch (err) {
        alert.show(describe(err));
      }
      done();
    });
    return b;
  }

  loadNames().then(load);
  tickCountdowns(root, () => load());
  return root;
}

/** focusHeading moves the focus to a panel's heading, for keyboard users after an action. */
export function focusHeading(panelId) {
  const heading = document.getElementById(`${panelId}-heading`);
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}
