// The admin center (/admin…) for tenant admins: people and invitations,
// the sign-in policy, conditional access, guests, external access and
// meeting defaults (collab.js), and the sign-in log. Each section
// has its own path, so it can be linked to and the back button works.

import { h, icon, setMessage, time } from "./dom.js";
import { api } from "./api.js";
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
