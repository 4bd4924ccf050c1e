// The admin center's collaboration section (/admin/collaboration): what
// guests may do, external access to other organisations on this
// deployment, and the meeting defaults (lobby, admission, anonymous join,
// recording). All three are parts of the tenant's policy document and are
// saved with it, audited on the server.

import { h } from "./dom.js";
import { alertRegion, button, checkGroup, field, isBusy, panel, statusRegion } from "./ui.js";
import { savePolicy } from "./access.js";

/** splitDomains turns a textarea of domains into a list, lower case. */
function splitDomains(text) {
  return [
    ...new Set(
      text
        .split(/[\s,;]+/)
        .map((d) => d.trim().toLowerCase())
        .filter(Boolean),
    ),
  ];
}

/**
 * collaborationSection edits the guest, external access and meeting parts of
 * the policy.
 * @param {{doc: any}} ctx
 */
export function collaborationSection({ doc }) {
  doc.guests = doc.guests || {};
  doc.external = doc.external || { allow: [], block: [] };
  doc.meetings = doc.meetings || {};
  return h("div", { class: "panels" }, guestsPanel(doc), externalPanel(doc), meetingsPanel(doc));
}

/** form wraps the fields of one panel with its save button and messages. */
function form(doc, fields, apply, validate = () => null) {
  const alert = alertRegion();
  const status = statusRegion();
  const submit = button({ labelKey: "common.save", kind: "primary", type: "submit" });
  const el = h("form", { class: "form", method: "post", novalidate: true }, ...fields, alert.el, h("div", { class: "form-actions" }, submit), status.el);
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(submit)) {
      return;
    }
    const bad = validate();
    if (bad) {
      bad.focus();
      return;
    }
    const next = apply(structuredClone(doc));
    if (await savePolicy(next, alert, submit)) {
      Object.assign(doc, next);
      status.show({ messageKey: "common.saved" });
    }
  });
  return el;
}

function guestsPanel(doc) {
  const g = doc.guests;
  const switches = checkGroup({
    legendKey: "collab.guests.switches",
    items: [
      { value: "allowed", labelKey: "collab.guests.allowed", hintKey: "collab.guests.allowed.hint", checked: g.allowed },
      { value: "edit_own_messages", labelKey: "collab.guests.edit", checked: g.edit_own_messages },
      { value: "delete_own_messages", labelKey: "collab.guests.delete", checked: g.delete_own_messages },
      { value: "manage_channels", labelKey: "collab.guests.channels", checked: g.manage_channels },
      { value: "start_chats", labelKey: "collab.guests.chats", checked: g.start_chats },
      { value: "start_meetings", labelKey: "collab.guests.meetings", checked: g.start_meetings },
      { value: "share_screen", labelKey: "collab.guests.screen", checked: g.share_screen },
    ],
  });
  const expire = field({
    id: "collab-guest-expiry",
    labelKey: "collab.guests.expire",
    hintKey: "collab.guests.expire.hint",
    type: "number",
    attrs: { min: "0", max: "3650", step: "1", value: String(g.expire_days ?? 90), inputmode: "numeric", class: "input-short", required: true },
  });
  const f = form(
    doc,
    [switches.el, expire.el],
    (next) => {
      const on = new Set(switches.values());
      for (const k of ["allowed", "edit_own_messages", "delete_own_messages", "manage_channels", "start_chats", "start_meetings", "share_screen"]) {
        next.guests[k] = on.has(k);
      }
      next.guests.expire_days = Number(expire.input.value);
      return next;
    },
    () => {
      const n = Number(expire.input.value);
      const ok = expire.input.value !== "" && Number.isInteger(n) && n >= 0 && n <= 3650;
      expire.setError(ok ? null : { messageKey: "policy.error.range", params: { min: "0", max: "3650" } });
      return ok ? null : expire.input;
    },
  );
  f.id = "collab-guests";
  return panel({ titleKey: "collab.guests.title", leadKey: "collab.guests.lead", id: "guests" }, f);
}

function externalPanel(doc) {
  const e = doc.external;
  const enabled = checkGroup({
    legendKey: "collab.external.switch",
    items: [{ value: "enabled", labelKey: "collab.external.enabled", hintKey: "collab.external.enabled.hint", checked: e.enabled }],
  });
  const allow = field({ id: "collab-allow", labelKey: "collab.external.allow", hintKey: "collab.external.allow.hint", tag: "textarea", attrs: { rows: "3" } });
  allow.input.value = (e.allow || []).join("\n");
  const block = field({ id: "collab-block", labelKey: "collab.external.block", hintKey: "collab.external.block.hint", tag: "textarea", attrs: { rows: "3" } });
  block.input.value = (e.block || []).join("\n");
  const domainRE = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
  const f = form(
    doc,
    [enabled.el, allow.el, block.el],
    (next) => {
      next.external = { enabled: enabled.values().includes("enabled"), allow: splitDomains(allow.input.value), block: splitDomains(block.input.value) };
      return next;
    },
    () => {
      for (const fl of [allow, block]) {
        const bad = splitDomains(fl.input.value).find((d) => !domainRE.test(d));
        fl.setError(bad ? { messageKey: "collab.external.badDomain", params: { domain: bad } } : null);
        if (bad) {
          return fl.input;
        }
      }
      return null;
    },
  );
  f.id = "collab-external";
  return panel({ titleKey: "collab.external.title", leadKey: "collab.external.lead", id: "external" }, f);
}

function meetingsPanel(doc) {
  const m = doc.meetings;
  const bypass = checkGroup({
    legendKey: "meetings.bypass",
    type: "radio",
    name: "collab-bypass",
    items: [
      { value: "organizer", labelKey: "meetings.scope.organizer" },
      { value: "invited", labelKey: "meetings.scope.invited" },
      { value: "organizationExcludingGuests", labelKey: "meetings.scope.organizationExcludingGuests" },
      { value: "organization", labelKey: "meetings.scope.organization", hintKey: "collab.meetings.default" },
      { value: "organizationAndFederated", labelKey: "meetings.scope.organizationAndFederated" },
      { value: "everyone", labelKey: "meetings.scope.everyone" },
    ].map((i) => ({ ...i, checked: i.value === (m.lobby_bypass || "organization") })),
  });
  const admitters = checkGroup({
    legendKey: "meetings.admitters",
    type: "radio",
    name: "collab-admitters",
    items: [
      { value: "organizers", labelKey: "meetings.admitters.organizers" },
      { value: "organizersAndPresenters", labelKey: "meetings.admitters.organizersAndPresenters" },
    ].map((i) => ({ ...i, checked: i.value === (m.admitters || "organizers") })),
  });
  const allow = checkGroup({
    legendKey: "collab.meetings.allow",
    items: [
      { value: "anonymous", labelKey: "collab.meetings.anonymous", hintKey: "collab.meetings.anonymous.hint", checked: m.allow_anonymous },
      { value: "recording", labelKey: "collab.meetings.recording", checked: m.allow_recording },
    ],
  });
  const timeout = field({
    id: "collab-lobby-timeout",
    labelKey: "collab.meetings.timeout",
    type: "number",
    attrs: { min: "1", max: "1440", step: "1", value: String(m.lobby_timeout_minutes || 15), inputmode: "numeric", class: "input-short", required: true },
  });
  const f = form(
    doc,
    [bypass.el, admitters.el, allow.el, timeout.el],
    (next) => {
      const on = new Set(allow.values());
      next.meetings = {
        lobby_bypass: bypass.value(),
        admitters: admitters.value(),
        allow_anonymous: on.has("anonymous"),
        allow_recording: on.has("recording"),
        lobby_timeout_minutes: Number(timeout.input.value),
      };
      return next;
    },
    () => {
      const n = Number(timeout.input.value);
      const ok = Number.isInteger(n) && n >= 1 && n <= 1440;
      timeout.setError(ok ? null : { messageKey: "policy.error.range", params: { min: "1", max: "1440" } });
      return ok ? null : timeout.input;
    },
  );
  f.id = "collab-meetings";
  return panel({ titleKey: "collab.meetings.title", leadKey: "collab.meetings.lead", id: "meeting-defaults" }, f);
}
