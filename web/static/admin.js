// The admin center (/admin…) for tenant admins: people and invitations,
// the sign-in policy, conditional access, guests, external access and
// meeting defaults (collab.js), the sign-in log, the exports, and the
// contract with its lifecycle (the countdowns to the export window's end
// and to the deletion, and the customer's early deletion). Each section
// has its own path, so it can be linked to and the back button works.

import { h, icon, setMessage, time } from "./dom.js";
import { api } from "./api.js";
import { formatDateTime, formatTime, locale } from "./i18n.js";
import { session, isTenantAdmin, showLoadError } from "./session.js";
import {
  alertRegion,
  badge,
  busy,
  button,
  checkGroup,
  confirmDialog,
  field,
  isBusy,
  loading,
  modal,
  pageHeader,
  panel,
  secretBox,
  statusRegion,
} from "./ui.js";
import { accessSection, parseTrace, roleLabel, savePolicy, traceList } from "./access.js";
import { collaborationSection } from "./collab.js";
import { tenantExportPanel } from "./ediscovery.js";

/** The sections, by path. */
const sections = [
  { path: "/admin", labelKey: "admin.tab.people", iconName: "users", render: peopleSection },
  { path: "/admin/policy", labelKey: "admin.tab.policy", iconName: "lock", render: policySection },
  { path: "/admin/access", labelKey: "admin.tab.access", iconName: "compliance", render: conditionalAccessSection },
  { path: "/admin/collaboration", labelKey: "admin.tab.collab", iconName: "users", render: () => withPolicy(collaborationSection) },
  { path: "/admin/signins", labelKey: "admin.tab.signins", iconName: "clock", render: signInsSection },
  { path: "/admin/export", labelKey: "admin.tab.export", iconName: "download", render: tenantExportPanel },
  { path: "/admin/contract", labelKey: "admin.tab.contract", iconName: "archive", render: contractSection },
];

/** The admin center page. */
export function adminPage() {
  const header = pageHeader({ iconName: "admin", titleKey: "nav.admin", leadKey: "admin.lead" });
  if (!isTenantAdmin()) {
    return h(
      "section",
      { class: "area" },
      header,
      h(
        "div",
        { class: "empty-state" },
        h("span", { class: "empty-state-icon" }, icon("lock")),
        h("h2", { i18n: "admin.denied.title" }),
        h("p", { i18n: "admin.denied.body" }),
      ),
    );
  }
  const path = location.pathname.replace(/\/+$/, "") || "/admin";
  const current = sections.find((s) => s.path === path) || sections[0];
  const tabs = h(
    "nav",
    { class: "tabs", i18nAriaLabel: "admin.sections" },
    h(
      "ul",
      {},
      ...sections.map((s) =>
        h(
          "li",
          {},
          h("a", { href: s.path, class: "tab", "aria-current": s === current ? "page" : false }, icon(s.iconName, "icon icon-small"), h("span", { i18n: s.labelKey })),
        ),
      ),
    ),
  );
  return h("section", { class: "area admin" }, header, tabs, current.render());
}

/** table builds a table that turns into stacked cards on narrow screens. */
function table(columns, rows, { captionKey, id } = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table", id },
      ...(captionKey ? [h("caption", { class: "visually-hidden", i18n: captionKey })] : []),
      h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", { scope: "col", i18n: c.labelKey })))),
      h(
        "tbody",
        {},
        ...rows.map((cells) =>
          h(
            "tr",
            {},
            ...cells.map((cell, i) => h(i === 0 ? "th" : "td", i === 0 ? { scope: "row" } : {}, h("span", { class: "cell-label", "aria-hidden": "true", i18n: columns[i].labelKey }), cell)),
          ),
        ),
      ),
    ),
  );
}

function kindBadge(kind) {
  return kind === "guest" ? badge({ labelKey: "admin.kind.guest", tone: "warning" }) : badge({ labelKey: "admin.kind.member", tone: "accent" });
}

function rolesText(roles) {
  if (!roles || !roles.length) {
    return h("span", { class: "muted", i18n: "admin.roles.none" });
  }
  return h("span", { class: "role-list" }, ...roles.map((r) => (roleLabel(r) ? h("span", { class: "role", i18n: roleLabel(r).labelKey }) : h("span", { class: "role" }, r))));
}

/** peopleSection lists the accounts and invites people. */
function peopleSection() {
  const alert = alertRegion();
  const status = statusRegion();
  const listArea = h("div", { id: "accounts" }, loading());

  async function load() {
    try {
      const accounts = await api.get("/api/v1/admin/accounts");
      accounts.sort((a, b) => (a.display_name || a.email).localeCompare(b.display_name || b.email));
      listArea.replaceChildren(
        table(
          [
            { labelKey: "admin.col.name" },
            { labelKey: "admin.col.email" },
            { labelKey: "admin.col.kind" },
            { labelKey: "admin.col.roles" },
            { labelKey: "admin.col.state" },
            { labelKey: "admin.col.actions" },
          ],
          accounts.map(accountRow),
          { captionKey: "admin.people.caption", id: "accounts-table" },
        ),
      );
    } catch (err) {
      listArea.replaceChildren();
      showLoadError(err, alert);
    }
  }

  function accountRow(a) {
    const me = a.id === session().user;
    const name = h("span", { class: "person", id: `account-${a.id}` }, h("span", { class: "avatar", "aria-hidden": "true" }, initials(a.display_name || a.email)), h("span", {}, a.display_name || a.email));
    if (me) {
      name.append(" ", badge({ labelKey: "admin.you", tone: "accent" }));
    }
    const active = a.state === "active";
    const stateBadge = active ? badge({ labelKey: "admin.state.active", tone: "success" }) : badge({ labelKey: "admin.state.deactivated" });
    let action = h("span", { class: "muted" }, "—");
    if (active && !me) {
      action = accountAction(a, { action: "deactivate", labelKey: "admin.deactivate", titleKey: "admin.deactivate.title", bodyKey: "admin.deactivate.body", doneKey: "admin.deactivated" });
    }
    if (!me && !(a.roles || []).includes("tenant_admin") && !String(a.email).endsWith("@erased.invalid")) {
      action = h("span", { class: "row-actions" }, action, " ", eraseButton(a));
    }
    return [name, h("span", { class: "email" }, a.email), kindBadge(a.kind), rolesText(a.roles), stateBadge, action];
  }

  /** eraseButton erases a person on request (a data subject request): their
   * identity is pseudonymised and their content deleted unless held. */
  function eraseButton(a) {
    return accountAction(a, { action: "erase", labelKey: "admin.erase", titleKey: "admin.erase.title", bodyKey: "admin.erase.body", doneKey: "admin.erased", attrs: { "data-erase": a.id } });
  }

  /**
   * accountAction is a button that, once confirmed, posts an action on an
   * account (/accounts/{id}/{action}), says it is done and lists the
   * accounts again.
   */
  function accountAction(a, { action, labelKey, titleKey, bodyKey, doneKey, attrs = {} }) {
    const name = a.display_name || a.email;
    const b = button({
      labelKey,
      small: true,
      kind: "quiet",
      attrs: { "aria-describedby": `account-${a.id}`, ...attrs },
      onClick: async () => {
        if (!(await confirmDialog({ titleKey, titleParams: { name }, bodyKey, confirmKey: labelKey, danger: true }))) {
          return;
        }
        alert.clear();
        const done = busy(b, { messageKey: "common.working" });
        try {
          await api.post(`/api/v1/admin/accounts/${encodeURIComponent(a.id)}/${action}`);
          status.show({ messageKey: doneKey, params: { name } });
          await load();
        } catch (err) {
          done();
          showLoadError(err, alert);
        }
      },
    });
    return b;
  }

  load();
  return h(
    "div",
    { class: "panels" },
    panel({ titleKey: "admin.people.title", leadKey: "admin.people.lead", id: "people", actions: [button({ labelKey: "common.refresh", small: true, iconName: "refresh", onClick: load })] }, listArea, alert.el, status.el),
    invitePanel(),
  );
}

function initials(name) {
  const parts = String(name).trim().split(/[\s@._-]+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[1][0] : String(name).slice(0, 2);
  return letters.toUpperCase();
}

/** invitePanel invites someone and shows the single-use link once. */
function invitePanel() {
  const alert = alertRegion();
  const result = h("div", { class: "invite-result" });
  const email = field({ id: "invite-email", labelKey: "admin.invite.email", type: "email", attrs: { name: "email", autocomplete: "off", autocapitalize: "off", spellcheck: "false", required: true } });
  const kind = checkGroup({
    legendKey: "admin.invite.kind",
    type: "radio",
    name: "invite-kind",
    items: [
      { value: "member", labelKey: "admin.kind.member", hintKey: "admin.invite.member.hint", checked: true },
      { value: "guest", labelKey: "admin.kind.guest", hintKey: "admin.invite.guest.hint" },
    ],
  });
  const roles = checkGroup({
    legendKey: "admin.invite.roles",
    hintKey: "admin.invite.roles.hint",
    items: [
      { value: "tenant_admin", labelKey: "role.tenantAdmin", hintKey: "role.tenantAdmin.hint" },
      { value: "compliance_officer", labelKey: "role.complianceOfficer", hintKey: "role.complianceOfficer.hint" },
      { value: "lockbox_approver", labelKey: "role.lockboxApprover", hintKey: "role.lockboxApprover.hint" },
    ],
  });
  const syncRoles = () => {
    const guest = kind.value() === "guest";
    roles.el.disabled = guest;
    if (guest) {
      roles.set([]);
    }
  };
  kind.inputs.forEach((i) => i.addEventListener("change", syncRoles));
  const submit = button({ labelKey: "admin.invite.submit", kind: "primary", type: "submit" });
  const form = h("form", { class: "form form-narrow", method: "post", novalidate: true }, email.el, kind.el, roles.el, alert.el, h("div", { class: "form-actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(submit)) {
      return;
    }
    alert.clear();
    const bad = !email.input.value.trim() || !email.input.validity.valid;
    email.setError(bad ? { messageKey: "signin.error.email" } : null);
    if (bad) {
      email.input.focus();
      return;
    }
    const done = busy(submit, { messageKey: "common.creating" });
    try {
      const res = await api.post("/api/v1/admin/invitations", { email: email.input.value.trim(), kind: kind.value(), roles: roles.values() });
      const heading = h("h3", { class: "subheading", tabindex: "-1", i18n: "admin.invite.created" });
      result.replaceChildren(
        h(
          "div",
          { class: "codes-box" },
          heading,
          h("p", { class: "field-hint", i18n: "admin.invite.send", i18nParams: { email: res.invitation.email } }),
          secretBox(res.link, { labelKey: "admin.invite.link", id: "invite-link" }),
          h("p", { class: "field-hint" }, h("span", { i18n: "admin.invite.expires" }), " ", time(res.invitation.expires)),
        ),
      );
      email.input.value = "";
      heading.focus();
    } catch (err) {
      showLoadError(err, alert);
    } finally {
      done();
    }
  });
  return panel({ titleKey: "admin.invite.title", leadKey: "admin.invite.lead", id: "invite" }, form, result);
}

/**
 * withPolicy loads the policy document (and the accounts the editors name
 * people from) and renders it into a container, again after every save.
 * @param {(ctx: {doc: any, accounts: any[], reload: () => Promise<void>}) => HTMLElement} render
 */
function withPolicy(render, { accounts: needAccounts = false } = {}) {
  const box = h("div", {}, loading());
  const alert = alertRegion();
  async function reload() {
    try {
      const [doc, accounts] = await Promise.all([api.get("/api/v1/admin/policy"), needAccounts ? api.get("/api/v1/admin/accounts") : Promise.resolve([])]);
      doc.access = doc.access || [];
      doc.locations = doc.locations || [];
      const ctx = { doc, accounts: accounts.filter((a) => a.state === "active"), reload };
      box.replaceChildren(render(ctx));
    } catch (err) {
      box.replaceChildren(alert.el);
      showLoadError(err, alert);
    }
  }
  reload();
  return box;
}

/** policySection edits MFA, session and password settings. */
function policySection() {
  return withPolicy(({ doc }) => {
    const alert = alertRegion();
    const status = statusRegion();
    const mfa = checkGroup({
      legendKey: "policy.mfa",
      type: "radio",
      name: "policy-mfa",
      items: [
        { value: "everyone", labelKey: "policy.mfa.everyone", hintKey: "policy.mfa.everyone.hint" },
        { value: "privileged", labelKey: "policy.mfa.privileged", hintKey: "policy.mfa.privileged.hint" },
        { value: "guests", labelKey: "policy.mfa.guests", hintKey: "policy.mfa.guests.hint" },
        { value: "off", labelKey: "policy.mfa.off", hintKey: "policy.mfa.off.hint" },
      ].map((i) => ({ ...i, checked: i.value === doc.mfa })),
    });
    const number = ({ id, labelKey, hintKey, value, min, max }) =>
      field({ id, labelKey, hintKey, type: "number", attrs: { min: String(min), max: String(max), step: "1", value: String(value), inputmode: "numeric", class: "input-short", required: true } });
    const grace = number({ id: "policy-grace", labelKey: "policy.grace", hintKey: "policy.grace.hint", value: doc.mfa_grace_days, min: 0, max: 90 });
    const idle = number({ id: "policy-idle", labelKey: "policy.idle", hintKey: "policy.idle.hint", value: doc.session_idle_minutes, min: 5, max: 10080 });
    const absolute = number({ id: "policy-absolute", labelKey: "policy.absolute", hintKey: "policy.absolute.hint", value: doc.session_absolute_hours, min: 1, max: 2160 });
    const minLength = number({ id: "policy-length", labelKey: "policy.length", hintKey: "policy.length.hint", value: doc.password_min_length, min: 8, max: 64 });
    const submit = button({ labelKey: "common.save", kind: "primary", type: "submit" });
    const form = h(
      "form",
      { class: "form", method: "post", novalidate: true },
      mfa.el,
      grace.el,
      h("div", { class: "editor-group" }, h("h3", { class: "subheading", i18n: "policy.sessions" }), h("div", { class: "form-row" }, idle.el, absolute.el)),
      h("div", { class: "editor-group" }, h("h3", { class: "subheading", i18n: "policy.passwords" }), minLength.el),
      alert.el,
      h("div", { class: "form-actions" }, submit),
      status.el,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (isBusy(submit)) {
        return;
      }
      let bad = null;
      for (const f of [grace, idle, absolute, minLength]) {
        const n = Number(f.input.value);
        const ok = f.input.value !== "" && Number.isInteger(n) && n >= Number(f.input.min) && n <= Number(f.input.max);
        f.setError(ok ? null : { messageKey: "policy.error.range", params: { min: f.input.min, max: f.input.max } });
        bad = bad || (ok ? null : f.input);
      }
      if (bad) {
        bad.focus();
        return;
      }
      const next = {
        ...doc,
        mfa: mfa.value(),
        mfa_grace_days: Number(grace.input.value),
        session_idle_minutes: Number(idle.input.value),
        session_absolute_hours: Number(absolute.input.value),
        password_min_length: Number(minLength.input.value),
      };
      if (await savePolicy(next, alert, submit)) {
        Object.assign(doc, next);
        status.show({ messageKey: "common.saved" });
      }
    });
    return h("div", { class: "panels" }, panel({ titleKey: "policy.title", leadKey: "policy.lead", id: "policy" }, form));
  });
}

/** conditionalAccessSection edits policies and locations, and tries them. */
function conditionalAccessSection() {
  return withPolicy((ctx) => accessSection(ctx), { accounts: true });
}

function resultBadge(result) {
  switch (result) {
    case "success":
      return badge({ labelKey: "signins.result.success", tone: "success" });
    case "failure":
      return badge({ labelKey: "signins.result.failure", tone: "danger" });
    case "blocked":
      return badge({ labelKey: "signins.result.blocked", tone: "danger" });
    case "mfa_required":
      return badge({ labelKey: "signins.result.mfa", tone: "accent" });
    case "enrol_required":
      return badge({ labelKey: "signins.result.enrol", tone: "warning" });
    case "throttled":
      return badge({ labelKey: "signins.result.throttled", tone: "warning" });
  }
  return h("span", { class: "badge" }, result);
}

/** signInsSection shows the sign-in log with each sign-in's policies. */
function signInsSection() {
  const alert = alertRegion();
  const area = h("div", { id: "signins" }, loading());
  let events = null;

  function show() {
    if (!events.length) {
      area.replaceChildren(h("p", { class: "item-empty", i18n: "signins.none" }));
      return;
    }
    area.replaceChildren(
      table(
        [
          { labelKey: "signins.col.time" },
          { labelKey: "signins.col.who" },
          { labelKey: "signins.col.address" },
          { labelKey: "signins.col.result" },
          { labelKey: "signins.col.reason" },
        ],
        events.map((e) => {
          const trace = parseTrace(e.policies);
          const reason = h("div", { class: "reason" }, h("span", {}, e.reason || ""));
          if (trace.length) {
            const summary = h("summary", {}, h("span", { i18n: "signins.policies", i18nParams: { count: trace.length } }));
            reason.append(h("details", { class: "item-more disclosure" }, summary, traceList(trace)));
          }
          return [time(e.at), h("span", { class: "email" }, e.identifier), h("span", { class: "mono" }, e.source || "—"), resultBadge(e.result), reason];
        }),
        { captionKey: "signins.caption", id: "signins-table" },
      ),
    );
  }

  async function load() {
    alert.clear();
    try {
      events = await api.get("/api/v1/admin/signins");
      show();
    } catch (err) {
      area.replaceChildren();
      showLoadError(err, alert);
    }
  }
  area.dataset.relocalize = "";
  area.addEventListener("kaigi:language", () => events && show());
  load();
  const refresh = button({ labelKey: "common.refresh",
    small: true,
    iconName: "refresh",
    onClick: async () => {
      const done = busy(refresh, { messageKey: "common.loadingShort" });
      await load();
      done();
      setMessage(status, { messageKey: "signins.refreshed" });
    },
  });
  const status = h("p", { class: "visually-hidden", role: "status" });
  return h("div", { class: "panels" }, panel({ titleKey: "signins.title", leadKey: "signins.lead", id: "signin-log", actions: [refresh] }, area, alert.el, status));
}

// ---- contract and data

/** The contract's states, as the lifecycle names them. */
const CONTRACT_STATES = {
  active: { labelKey: "admin.contract.state.active", tone: "success" },
  ended: { labelKey: "admin.contract.state.ended", tone: "warning" },
  disabled: { labelKey: "admin.contract.state.disabled", tone: "danger" },
  deleted: { labelKey: "admin.contract.state.deleted", tone: "neutral" },
};

/**
 * daysFromToday counts the calendar days from today to a moment, in the
 * person's time zone, so that "in 3 days" always agrees with the date
 * shown beside it (however late in the day it is).
 * @param {string} value an RFC 3339 moment
 */
function daysFromToday(value) {
  const d = new Date(value);
  const now = new Date();
  return Math.round((Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(now.getFullYear(), now.getMonth(), now.getDate())) / 86400000);
}

/**
 * relativeDay says how far a moment is in calendar days, in the language
 * in use: "in 88 days", "tomorrow", "today" ("88 日後", "明日", "今日").
 * The operator console counts down the same way.
 * @param {string} value an RFC 3339 moment
 * @returns {{days: number, text: string}}
 */
export function relativeDay(value) {
  const days = daysFromToday(value);
  return { days, text: new Intl.RelativeTimeFormat(locale(), { numeric: "auto" }).format(days, "day") };
}

/**
 * countdownLine is one line of the lifecycle's countdowns: a sentence with
 * the moment's date and how far away it is ("in 88 days", "tomorrow").
 * It carries the moment and the days (data-date, data-days) for tests.
 * @param {string} id
 * @param {{messageKey: string, value: string, withTime?: boolean}} o
 */
function countdownLine(id, { messageKey, value, withTime = false }) {
  const date = new Date(value);
  const { days, text } = relativeDay(value);
  const params = { date: withTime ? formatDateTime(date) : formatTime("date", date), when: text };
  return h("li", { id, "data-date": date.toISOString(), "data-days": String(days) }, icon("clock", "icon icon-small"), h("span", { i18n: messageKey, i18nParams: params }));
}

/**
 * contractSection shows the organisation's contract (GET
 * /api/v1/admin/contract): its state, its end, and the countdowns to the
 * end of the export window and to the deletion. Once the contract has
 * ended, an admin may ask for the early deletion of all the organisation's
 * data: the consequences are spelled out first, a code goes to the admin
 * by email, and once it is typed here the deletion is scheduled three days
 * later, which any admin can cancel until it starts.
 */
function contractSection() {
  const alert = alertRegion();
  const status = statusRegion();
  // The facts are built from data in words: they are built again on a
  // change of language. The deletion's controls are kept as they are, so
  // that a half-typed code survives it.
  const facts = h("div", { id: "contract-facts" }, loading());
  const actions = h("div", { id: "contract-deletion", class: "contract-deletion" });
  let contract = null;

  async function load() {
    alert.clear();
    try {
      contract = await api.get("/api/v1/admin/contract");
      drawFacts();
      drawActions();
    } catch (err) {
      facts.replaceChildren();
      actions.replaceChildren();
      showLoadError(err, alert);
    }
  }

  function drawFacts() {
    const c = contract;
    const st = CONTRACT_STATES[c.state] || CONTRACT_STATES.active;
    const stateBadge = badge(st);
    stateBadge.id = "contract-state";
    stateBadge.dataset.state = c.state;
    const list = h(
      "dl",
      { class: "facts" },
      h("div", { class: "fact" }, h("dt", { i18n: "admin.contract.state" }), h("dd", {}, stateBadge)),
      h("div", { class: "fact" }, h("dt", { i18n: "admin.contract.end" }), h("dd", { id: "contract-end" }, c.end ? time(c.end) : h("span", { i18n: "admin.contract.openEnded" }))),
    );
    const lines = [];
    if (!c.end) {
      lines.push(h("p", { class: "contract-note", id: "contract-open-ended", i18n: "admin.contract.openEndedText" }));
    } else if (c.state === "active" || c.state === "ended") {
      const countdowns = h("ul", { class: "contract-countdowns", id: "contract-countdowns" });
      if (c.state === "active") {
        countdowns.append(countdownLine("contract-ends", { messageKey: "admin.contract.endsIn", value: c.end }));
      }
      countdowns.append(countdownLine("contract-export-closes", { messageKey: "admin.contract.exportCloses", value: c.disable_at }));
      if (c.deletion === "scheduled") {
        countdowns.append(countdownLine("contract-deleted-on", { messageKey: "admin.contract.earlyScheduled", value: c.delete_at, withTime: true }));
      } else {
        countdowns.append(countdownLine("contract-deleted-on", { messageKey: "admin.contract.deletedOn", value: c.delete_at }));
      }
      lines.push(countdowns);
    }
    if (c.state === "active" || c.state === "ended") {
      lines.push(h("p", {}, h("a", { href: "/admin/export", id: "contract-export-link", class: "icon-link" }, icon("download", "icon icon-small"), h("span", { i18n: "admin.contract.exportLink" }))));
    }
    facts.replaceChildren(list, ...lines);
  }

  /** drawActions shows what an admin may do about the deletion now. */
  function drawActions() {
    const c = contract;
    if (c.state !== "ended") {
      actions.replaceChildren(...(c.state === "active" && c.end ? [h("p", { class: "field-hint", id: "contract-early-later", i18n: "admin.contract.early.notYet" })] : []));
      return;
    }
    switch (c.deletion) {
      case "awaiting_code":
        codeStep();
        return;
      case "scheduled":
        scheduledStep();
        return;
      case "running":
      case "done":
        actions.replaceChildren();
        return;
    }
    askStep();
  }

  /** subheading is a step's heading; it takes the focus when the step opens. */
  function subheading(id, { labelKey }) {
    return h("h3", { class: "subheading", id, tabindex: "-1", i18n: labelKey });
  }

  // The first step: the button, and the consequences spelled out before anything is asked.
  function askStep() {
    const ask = button({ labelKey: "admin.contract.early.button", kind: "danger", iconName: "trash", attrs: { id: "contract-delete-early", "aria-describedby": "contract-early-lead" } });
    ask.addEventListener("click", async () => {
      if (isBusy(ask) || !(await confirmEarlyDeletion())) {
        return;
      }
      alert.clear();
      const done = busy(ask, { messageKey: "admin.contract.sending" });
      status.show({ messageKey: "admin.contract.sending" });
      try {
        const d = await api.post("/api/v1/admin/deletion");
        contract = { ...contract, deletion: d.state };
        status.show({ messageKey: "admin.contract.codeSent" });
        codeStep({ focus: true });
      } catch (err) {
        done();
        status.clear();
        showLoadError(err, alert);
      }
    });
    actions.replaceChildren(
      subheading("contract-early-heading", { labelKey: "admin.contract.early.title" }),
      h("p", { class: "panel-lead", id: "contract-early-lead", i18n: "admin.contract.early.lead" }),
      h("div", { class: "form-actions" }, ask),
    );
  }

  // The second step: the code from the email.
  function codeStep({ focus = false } = {}) {
    const code = field({
      id: "contract-code",
      labelKey: "admin.contract.code.label",
      hintKey: "admin.contract.code.hint",
      attrs: { name: "code", autocomplete: "one-time-code", autocapitalize: "characters", spellcheck: "false", maxlength: "64", class: "input-code", required: true },
    });
    const confirm = button({ labelKey: "admin.contract.code.confirm", kind: "danger", type: "submit", attrs: { id: "contract-code-confirm" } });
    const resend = button({ labelKey: "admin.contract.code.resend", kind: "quiet", attrs: { id: "contract-code-resend" } });
    const cancel = button({ labelKey: "admin.contract.code.cancel", attrs: { id: "contract-code-cancel" } });
    const form = h(
      "form",
      { class: "form form-narrow", id: "contract-code-form", method: "post", novalidate: true },
      code.el,
      h("div", { class: "form-actions" }, confirm, cancel, resend),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (isBusy(confirm)) {
        return;
      }
      alert.clear();
      status.clear();
      const value = code.input.value.trim();
      code.setError(value ? null : { messageKey: "admin.contract.code.empty" });
      if (!value) {
        code.input.focus();
        return;
      }
      const done = busy(confirm, { messageKey: "admin.contract.confirming" });
      try {
        const d = await api.post("/api/v1/admin/deletion/confirm", { code: value });
        status.show({ messageKey: "admin.contract.scheduledStatus", params: { date: formatDateTime(new Date(d.execute_at)) } });
        await load();
        focusStep("contract-scheduled-heading");
      } catch (err) {
        done();
        if (err && err.status === 400 && err.apiMessage) {
          // A wrong code: the field says so, and keeps it to correct.
          code.setError({ text: err.apiMessage });
          code.input.focus();
          code.input.select();
        } else if (err && err.status === 409) {
          // The request is over (the code expired, or too many wrong ones):
          // it has to be asked for again.
          contract = { ...contract, deletion: "" };
          askStep();
          showLoadError(err, alert);
          focusStep("contract-early-heading");
        } else {
          showLoadError(err, alert);
        }
      }
    });
    resend.addEventListener("click", async () => {
      if (isBusy(resend)) {
        return;
      }
      alert.clear();
      code.setError(null);
      const done = busy(resend, { messageKey: "admin.contract.sending" });
      try {
        await api.post("/api/v1/admin/deletion");
        code.input.value = "";
        status.show({ messageKey: "admin.contract.codeSent" });
        code.input.focus();
      } catch (err) {
        showLoadError(err, alert);
      } finally {
        done();
      }
    });
    cancel.addEventListener("click", () => cancelDeletion(cancel));
    actions.replaceChildren(
      subheading("contract-code-heading", { labelKey: "admin.contract.code.title" }),
      h("p", { class: "panel-lead", i18n: "admin.contract.code.lead" }),
      form,
    );
    if (focus) {
      code.input.focus();
    }
  }

  // The third step: scheduled, and cancellable until it starts.
  function scheduledStep() {
    const cancel = button({ labelKey: "admin.contract.scheduled.cancel", kind: "primary", attrs: { id: "contract-cancel-deletion" } });
    cancel.addEventListener("click", () => cancelDeletion(cancel));
    actions.replaceChildren(
      subheading("contract-scheduled-heading", { labelKey: "admin.contract.scheduled.title" }),
      h("p", { class: "panel-lead", i18n: "admin.contract.scheduled.lead" }),
      h("div", { class: "form-actions" }, cancel),
    );
  }

  async function cancelDeletion(b) {
    if (isBusy(b)) {
      return;
    }
    alert.clear();
    const done = busy(b, { messageKey: "admin.contract.cancelling" });
    try {
      await api.del("/api/v1/admin/deletion");
      status.show({ messageKey: "admin.contract.cancelled" });
      await load();
      focusStep("contract-early-heading");
    } catch (err) {
      done();
      showLoadError(err, alert);
    }
  }

  /** focusStep moves the focus to a step's heading, once it is in the page. */
  function focusStep(id) {
    const el = document.getElementById(id);
    if (el) {
      el.focus();
    }
  }

  /**
   * confirmEarlyDeletion spells out what an early deletion means and
   * resolves to whether the admin goes on. The safe choice has the focus.
   * @returns {Promise<boolean>}
   */
  function confirmEarlyDeletion() {
    return new Promise((resolve) => {
      const { dialog, body } = modal({ titleKey: "admin.contract.confirm.title" });
      dialog.id = "contract-confirm";
      let answer = false;
      const no = button({ labelKey: "common.cancel", onClick: () => dialog.close() });
      const yes = button({
        labelKey: "admin.contract.confirm.submit",
        kind: "danger",
        attrs: { id: "contract-confirm-submit" },
        onClick: () => {
          answer = true;
          dialog.close();
        },
      });
      body.append(
        h("p", { i18n: "admin.contract.confirm.intro" }),
        h(
          "ul",
          { class: "contract-consequences" },
          h("li", { i18n: "admin.contract.confirm.everything" }),
          h("li", { i18n: "admin.contract.confirm.final" }),
          h("li", { i18n: "admin.contract.confirm.export" }),
          h("li", { i18n: "admin.contract.confirm.code" }),
        ),
        h("div", { class: "dialog-actions" }, no, yes),
      );
      dialog.addEventListener("close", () => resolve(answer));
      dialog.showModal();
      no.focus();
    });
  }

  facts.dataset.relocalize = "";
  facts.addEventListener("kaigi:language", () => contract && drawFacts());
  const refresh = button({
    labelKey: "common.refresh",
    small: true,
    iconName: "refresh",
    attrs: { id: "contract-refresh" },
    onClick: async () => {
      const done = busy(refresh, { messageKey: "common.loadingShort" });
      await load();
      done();
    },
  });
  load();
  return h(
    "div",
    { class: "panels" },
    panel({ titleKey: "admin.contract.title", leadKey: "admin.contract.lead", id: "contract-panel", actions: [refresh] }, facts, actions, alert.el, status.el),
  );
}
