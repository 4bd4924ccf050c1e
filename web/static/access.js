// Conditional access in the admin center: the policies and named locations
// of the organisation's sign-in policy document, the "what if" tester, and
// the rendering of a decision's trace (also used by the sign-in log).
//
// The policy document is one JSON object (GET/PUT /api/v1/admin/policy);
// every change here sends the whole document back. A change that would
// block the admin's own sign-in is refused with 409 and can be confirmed.

import { h, icon, setMessage } from "./dom.js";
import { t, formatList, formatUnit } from "./i18n.js";
import { api } from "./api.js";
import { showLoadError } from "./session.js";
import {
  alertRegion,
  badge,
  busy,
  button,
  checkGroup,
  checkbox,
  confirmDialog,
  field,
  isBusy,
  option,
  panel,
  statusRegion,
  uid,
} from "./ui.js";

/**
 * roleLabel names a role or pseudo-role: {labelKey} for the roles the app
 * knows, else null.
 * @param {string} role
 */
export function roleLabel(role) {
  switch (role) {
    case "tenant_admin":
      return { labelKey: "role.tenantAdmin" };
    case "compliance_officer":
      return { labelKey: "role.complianceOfficer" };
    case "lockbox_approver":
      return { labelKey: "role.lockboxApprover" };
    case "all":
      return { labelKey: "role.all" };
    case "members":
      return { labelKey: "role.members" };
    case "guests":
      return { labelKey: "role.guests" };
  }
  return null;
}

function roleName(role) {
  const label = roleLabel(role);
  return label ? t(label.labelKey) : role;
}

function clientName(kind) {
  return kind === "api_token" ? t("access.client.apiToken") : kind === "browser" ? t("access.client.browser") : kind;
}

function locationName(name) {
  if (name === "any") {
    return t("access.location.any");
  }
  if (name === "all_trusted") {
    return t("access.location.trusted");
  }
  return t("access.location.quoted", { name });
}

/**
 * parseDuration reads a Go duration string ("8h0m0s", "30m") as minutes.
 * @param {string} s
 */
export function parseDuration(s) {
  if (!s) {
    return 0;
  }
  let minutes = 0;
  for (const [, n, unit] of String(s).matchAll(/([\d.]+)(h|m|s|ms|us|µs|ns)/g)) {
    const v = Number(n);
    if (unit === "h") {
      minutes += v * 60;
    } else if (unit === "m") {
      minutes += v;
    } else if (unit === "s") {
      minutes += v / 60;
    }
  }
  return minutes;
}

/** durationWords writes minutes as "8 hours", "1 day", "90 minutes". */
export function durationWords(minutes) {
  if (minutes >= 1440 && minutes % 1440 === 0) {
    return formatUnit(minutes / 1440, "day");
  }
  if (minutes >= 60 && minutes % 60 === 0) {
    return formatUnit(minutes / 60, "hour");
  }
  return formatUnit(Math.round(minutes), "minute");
}

/** outcomeBadge shows an outcome of conditional access. */
export function outcomeBadge(outcome) {
  switch (outcome) {
    case "allow":
      return badge({ labelKey: "access.outcome.allow", tone: "success" });
    case "block":
      return badge({ labelKey: "access.outcome.block", tone: "danger" });
    case "needs_mfa":
      return badge({ labelKey: "access.outcome.mfa", tone: "warning" });
    case "needs_passkey":
      return badge({ labelKey: "access.outcome.passkey", tone: "warning" });
  }
  return h("span", { class: "badge" }, String(outcome));
}

/** stateBadge shows a policy's state. */
function stateBadge(state) {
  switch (state) {
    case "enabled":
      return badge({ labelKey: "access.state.enabled", tone: "success" });
    case "report_only":
      return badge({ labelKey: "access.state.reportOnly", tone: "warning" });
  }
  return badge({ labelKey: "access.state.disabled" });
}

/** reasonText renders one reason of a trace line in words. */
function reasonText(r) {
  const addr = r.addr || "";
  const places = () => {
    const names = (r.locations || []).map(locationName);
    if (r.trusted) {
      names.unshift(t("access.location.trusted"));
    }
    return names.length ? formatList(names) : t("access.reason.listed");
  };
  const missing = () => (r.missing && r.missing.length ? " " + t("access.reason.missing", { names: formatList(r.missing.map(locationName)) }) : "");
  switch (r.code) {
    case "no_conditions":
      return t("access.reason.noConditions");
    case "user_included":
      return t("access.reason.userIncluded");
    case "role_included":
      return t("access.reason.roleIncluded", { role: roleName(r.value) });
    case "user_excluded":
      return t("access.reason.userExcluded");
    case "role_excluded":
      return t("access.reason.roleExcluded", { role: roleName(r.value) });
    case "user_not_included":
      return t("access.reason.userNotIncluded");
    case "any_location":
      return t("access.reason.anyLocation");
    case "in_location":
      return t("access.reason.inLocation", { addr, location: locationName(r.value) });
    case "in_trusted_location":
      return t("access.reason.inTrusted", { addr, location: locationName(r.value) });
    case "not_in_included_location":
      return t("access.reason.notIncluded", { addr, places: places() }) + missing();
    case "not_in_excluded_location":
      return t("access.reason.notExcluded", { addr, places: places() }) + missing();
    case "in_excluded_location":
      return r.trusted
        ? t("access.reason.inExcludedTrusted", { addr, location: locationName(r.value) })
        : t("access.reason.inExcluded", { addr, location: locationName(r.value) });
    case "client_included":
      return t("access.reason.clientIncluded", { client: clientName(r.value) });
    case "client_not_included":
      return t("access.reason.clientNotIncluded", { client: clientName(r.value) });
    case "disabled":
      return t("access.reason.disabled");
  }
  return String(r.code);
}

/** effectText says what an applying policy demanded (or would have). */
function effectText(e, would) {
  const parts = [];
  if (e.block) {
    parts.push(would ? t("access.effect.wouldBlock") : t("access.effect.block"));
  }
  if (e.require) {
    const what = e.require === "passkey" ? t("access.effect.passkey") : t("access.effect.mfa");
    parts.push(e.satisfied ? t("access.effect.requireMet", { what }) : t("access.effect.requireUnmet", { what }));
  }
  if (e.session_lifetime) {
    parts.push(t("access.effect.lifetime", { duration: durationWords(parseDuration(e.session_lifetime)) }));
  }
  return parts.join(" ");
}

/** capitalise starts a sentence with a capital letter, where the script has them. */
function capitalise(s) {
  return s.charAt(0).toLocaleUpperCase() + s.slice(1);
}

/**
 * traceList renders the trace of a decision: one item per policy, what it
 * did and why. It is rebuilt (not translated in place) on a change of
 * language by its owner.
 * @param {any[]} trace
 */
export function traceList(trace) {
  if (!trace || !trace.length) {
    return h("p", { class: "trace-empty", i18n: "access.trace.none" });
  }
  return h(
    "ol",
    { class: "trace" },
    ...trace.map((r) => {
      let status = { labelKey: "access.trace.notApplied", tone: "neutral" };
      switch (r.status) {
        case "applied":
          status = { labelKey: "access.trace.applied", tone: r.effect && r.effect.block ? "danger" : "accent" };
          break;
        case "report_only":
          status = { labelKey: "access.trace.reportOnly", tone: "warning" };
          break;
        case "disabled":
          status = { labelKey: "access.trace.disabled", tone: "neutral" };
          break;
      }
      const reasons = (r.reasons || []).map(reasonText);
      return h(
        "li",
        { class: `trace-item trace-${status.tone}` },
        h(
          "p",
          { class: "trace-head" },
          h("span", { class: "trace-name" }, r.policy_name),
          " ",
          badge(status),
          ...(r.what_if ? [" ", h("span", { class: "trace-whatif", i18n: "access.trace.whatIf" })] : []),
        ),
        reasons.length ? h("p", { class: "trace-why" }, capitalise(reasons.join(t("access.reason.separator")))) : "",
        r.effect ? h("p", { class: "trace-effect" }, effectText(r.effect, r.status === "report_only")) : "",
      );
    }),
  );
}

/**
 * parseTrace reads the sign-in log's JSON trace; [] when it is not one.
 * @param {string} s
 */
export function parseTrace(s) {
  try {
    const v = JSON.parse(s || "[]");
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

/** newID makes an id for a new policy: letters and digits, as the API asks. */
function newID() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return "p" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * savePolicy sends the whole policy document. On 409 (it would lock the
 * admin out) the alert shows the API's message with "Save anyway", which
 * sends it again with confirm. It resolves to true when saved.
 * @param {any} doc
 * @param {{show: Function, clear: Function}} alert
 * @param {HTMLButtonElement} submit
 */
export async function savePolicy(doc, alert, submit) {
  alert.clear();
  const done = busy(submit, { messageKey: "common.saving" });
  try {
    await api.put("/api/v1/admin/policy", { policy: doc });
    return true;
  } catch (err) {
    if (err.status !== 409) {
      showLoadError(err, alert);
      return false;
    }
    return new Promise((resolve) => {
      const anyway = button({ labelKey: "access.saveAnyway",
        kind: "danger",
        small: true,
        onClick: async () => {
          const again = busy(anyway, { messageKey: "common.saving" });
          try {
            await api.put("/api/v1/admin/policy", { policy: doc, confirm: true });
            alert.clear();
            resolve(true);
          } catch (err2) {
            again();
            showLoadError(err2, alert);
            resolve(false);
          }
        },
      });
      alert.show(err, { actions: [anyway] });
      anyway.focus();
    });
  } finally {
    done();
  }
}

/** summaryOf says in words whom, where and what a policy covers and does. */
function summaryOf(p, accounts) {
  const c = p.conditions || {};
  const nameOf = (id) => {
    const a = accounts.find((x) => x.id === id);
    return a ? a.display_name || a.email : id;
  };
  let users = t("access.summary.everyone");
  if (c.users) {
    users = formatList([...(c.users.include_roles || []).map(roleName), ...(c.users.include_users || []).map(nameOf)]);
    const ex = [...(c.users.exclude_roles || []).map(roleName), ...(c.users.exclude_users || []).map(nameOf)];
    if (ex.length) {
      users = t("access.summary.except", { base: users, list: formatList(ex) });
    }
  }
  let where = t("access.summary.anywhere");
  if (c.locations) {
    where = formatList((c.locations.include || []).map(locationName));
    const ex = (c.locations.exclude || []).map(locationName);
    if (ex.length) {
      where = t("access.summary.except", { base: where, list: formatList(ex) });
    }
  }
  const clients = c.client_kinds && c.client_kinds.length ? formatList(c.client_kinds.map(clientName)) : t("access.summary.anyClient");
  const ctl = p.controls || {};
  const does = [];
  if (ctl.block) {
    does.push(t("access.control.block"));
  }
  if (ctl.require_mfa) {
    does.push(t("access.control.mfa"));
  }
  if (ctl.require_phishing_resistant_mfa) {
    does.push(t("access.control.passkey"));
  }
  if (ctl.session_lifetime) {
    does.push(t("access.effect.lifetime", { duration: durationWords(parseDuration(ctl.session_lifetime)) }));
  }
  return [
    h("span", { class: "summary-part" }, h("span", { class: "summary-label", i18n: "access.summary.users" }), " ", users),
    h("span", { class: "summary-part" }, h("span", { class: "summary-label", i18n: "access.summary.where" }), " ", where),
    h("span", { class: "summary-part" }, h("span", { class: "summary-label", i18n: "access.summary.clients" }), " ", clients),
    h("span", { class: "summary-part" }, h("span", { class: "summary-label", i18n: "access.summary.does" }), " ", formatList(does)),
  ];
}

/**
 * accessSection is the conditional access part of the admin center:
 * policies, named locations and the what-if tester.
 * @param {{doc: any, accounts: any[], reload: () => Promise<void>}} ctx
 */
export function accessSection(ctx) {
  const policies = policiesPanel(ctx);
  const locations = locationsPanel(ctx);
  const whatIf = whatIfPanel(ctx);
  return h("div", { class: "panels" }, policies, locations, whatIf);
}

function policiesPanel(ctx) {
  const alert = alertRegion();
  const status = statusRegion();
  const body = h("div", { class: "policies" });
  const add = button({ labelKey: "access.add", small: true, iconName: "plus", onClick: () => edit(null) });

  function list() {
    const items = ctx.doc.access.map((p, i) => {
      const titleId = uid("policy");
      const editButton = button({ labelKey: "common.edit", small: true, kind: "quiet", onClick: () => edit(i), attrs: { "aria-describedby": titleId } });
      const del = button({ labelKey: "common.delete",
        small: true,
        kind: "quiet",
        attrs: { "aria-describedby": titleId },
        onClick: async () => {
          const ok = await confirmDialog({
            titleKey: "access.delete.title",
            titleParams: { name: p.name },
            bodyKey: "access.delete.body",
            confirmKey: "common.delete",
            danger: true,
          });
          if (!ok) {
            return;
          }
          const doc = { ...ctx.doc, access: ctx.doc.access.filter((_, j) => j !== i) };
          if (await savePolicy(doc, alert, del)) {
            await ctx.reload();
            status.show({ messageKey: "access.deleted" });
          }
        },
      });
      return h(
        "li",
        { class: "item" },
        h("span", { class: "item-icon" }, icon("compliance")),
        h(
          "div",
          { class: "item-main" },
          h("p", { class: "item-title", id: titleId }, h("span", {}, p.name), " ", stateBadge(p.state)),
          h("p", { class: "item-summary" }, ...summaryOf(p, ctx.accounts)),
        ),
        h("div", { class: "item-actions" }, editButton, del),
      );
    });
    body.replaceChildren(items.length ? h("ul", { class: "item-list" }, ...items) : h("p", { class: "item-empty", i18n: "access.none" }));
  }

  function edit(index) {
    const existing = index === null ? null : ctx.doc.access[index];
    body.replaceChildren(
      policyEditor(existing, ctx, {
        onCancel: () => {
          list();
          add.focus();
        },
        onSave: async (p, editorAlert, submit) => {
          const access = [...ctx.doc.access];
          if (index === null) {
            access.push(p);
          } else {
            access[index] = p;
          }
          if (await savePolicy({ ...ctx.doc, access }, editorAlert, submit)) {
            await ctx.reload();
            status.show({ messageKey: "access.saved" });
          }
        },
      }),
    );
    body.querySelector("h3").focus();
  }

  // The summaries are words built from data: build them again in a new
  // language (not while a policy is being edited).
  body.dataset.relocalize = "";
  body.addEventListener("kaigi:language", () => {
    if (!body.querySelector("form")) {
      list();
    }
  });
  list();
  return panel({ titleKey: "access.title", leadKey: "access.lead", id: "access-policies", actions: [add] }, body, alert.el, status.el);
}

/**
 * policyEditor is the form of one conditional access policy.
 * @param {any|null} p the policy, or null for a new one
 */
function policyEditor(p, ctx, { onCancel, onSave }) {
  const alert = alertRegion();
  const c = (p && p.conditions) || {};
  const users = c.users || {};
  const locs = c.locations || {};
  const ctl = (p && p.controls) || {};

  const name = field({ labelKey: "access.field.name", attrs: { maxlength: "128", required: true, value: p ? p.name : "", autocomplete: "off" } });
  const state = checkGroup({
    legendKey: "access.field.state",
    type: "radio",
    items: [
      { value: "report_only", labelKey: "access.state.reportOnly", hintKey: "access.state.reportOnly.hint", checked: !p || p.state === "report_only" },
      { value: "enabled", labelKey: "access.state.enabled", hintKey: "access.state.enabled.hint", checked: !!p && p.state === "enabled" },
      { value: "disabled", labelKey: "access.state.disabled", hintKey: "access.state.disabled.hint", checked: !!p && p.state === "disabled" },
    ],
  });
  const roles = ["all", "members", "guests", "tenant_admin", "compliance_officer", "lockbox_approver"];
  const roleItems = (chosen) => roles.map((r) => ({ value: r, labelKey: roleLabel(r).labelKey, checked: (chosen || []).includes(r) }));
  const people = (chosen) =>
    ctx.accounts.map((a) => ({ value: a.id, label: a.display_name || a.email, hint: a.email, checked: (chosen || []).includes(a.id) }));
  const includeRoles = checkGroup({ legendKey: "access.field.includeRoles", items: roleItems(p ? users.include_roles : ["all"]) });
  const includeUsers = checkGroup({ legendKey: "access.field.includeUsers", items: people(users.include_users) });
  const excludeRoles = checkGroup({ legendKey: "access.field.excludeRoles", items: roleItems(users.exclude_roles) });
  const excludeUsers = checkGroup({ legendKey: "access.field.excludeUsers", items: people(users.exclude_users) });

  const named = ctx.doc.locations.map((l) => l.name);
  const includeLocs = checkGroup({
    legendKey: "access.field.includeLocations",
    items: [
      { value: "any", labelKey: "access.location.any", checked: !p || !c.locations || (locs.include || []).includes("any") },
      { value: "all_trusted", labelKey: "access.location.trusted", checked: (locs.include || []).includes("all_trusted") },
      ...named.map((n) => ({ value: n, label: n, checked: (locs.include || []).includes(n) })),
    ],
  });
  const excludeLocs = checkGroup({
    legendKey: "access.field.excludeLocations",
    items: [
      { value: "all_trusted", labelKey: "access.location.trusted", checked: (locs.exclude || []).includes("all_trusted") },
      ...named.map((n) => ({ value: n, label: n, checked: (locs.exclude || []).includes(n) })),
    ],
  });
  const clients = checkGroup({
    legendKey: "access.field.clients",
    hintKey: "access.field.clients.hint",
    items: [
      { value: "browser", labelKey: "access.client.browser", checked: (c.client_kinds || []).includes("browser") },
      { value: "api_token", labelKey: "access.client.apiToken", checked: (c.client_kinds || []).includes("api_token") },
    ],
  });
  let control = "mfa";
  if (ctl.block) {
    control = "block";
  } else if (ctl.require_phishing_resistant_mfa) {
    control = "passkey";
  } else if (p && !ctl.require_mfa) {
    control = "none";
  }
  const controls = checkGroup({
    legendKey: "access.field.control",
    type: "radio",
    items: [
      { value: "mfa", labelKey: "access.control.mfa", checked: control === "mfa" },
      { value: "passkey", labelKey: "access.control.passkey", checked: control === "passkey" },
      { value: "block", labelKey: "access.control.block", hintKey: "access.control.block.hint", checked: control === "block" },
      { value: "none", labelKey: "access.control.none", checked: control === "none" },
    ],
  });
  const lifetimeHours = ctl.session_lifetime ? parseDuration(ctl.session_lifetime) / 60 : "";
  const lifetime = field({
    labelKey: "access.field.lifetime",
    hintKey: "access.field.lifetime.hint",
    type: "number",
    optional: true,
    attrs: { min: "1", max: "8760", step: "any", inputmode: "decimal", class: "input-short", value: lifetimeHours === "" ? "" : String(lifetimeHours) },
  });

  const submit = button({ labelKey: "common.save", kind: "primary", type: "submit" });
  const cancel = button({ labelKey: "common.cancel", kind: "quiet", onClick: onCancel });
  const heading = h("h3", { class: "subheading", tabindex: "-1" });
  setMessage(heading, p ? { messageKey: "access.editTitle" } : { messageKey: "access.addTitle" });

  const form = h(
    "form",
    { class: "form editor", method: "post", novalidate: true },
    heading,
    name.el,
    state.el,
    h(
      "div",
      { class: "editor-group" },
      h("h4", { i18n: "access.group.users" }),
      h("p", { class: "field-hint", i18n: "access.field.excludeUsers.hint" }),
      h("div", { class: "editor-columns" }, includeRoles.el, excludeRoles.el),
      h("div", { class: "editor-columns" }, includeUsers.el, excludeUsers.el),
    ),
    h(
      "div",
      { class: "editor-group" },
      h("h4", { i18n: "access.group.locations" }),
      h("p", { class: "field-hint", i18n: "access.field.includeLocations.hint" }),
      h("div", { class: "editor-columns" }, includeLocs.el, excludeLocs.el),
    ),
    h("div", { class: "editor-group" }, h("h4", { i18n: "access.group.clients" }), clients.el),
    h("div", { class: "editor-group" }, h("h4", { i18n: "access.group.controls" }), controls.el, lifetime.el),
    alert.el,
    h("div", { class: "form-actions" }, submit, cancel),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(submit)) {
      return;
    }
    alert.clear();
    if (!name.input.value.trim()) {
      name.setError({ messageKey: "access.error.name" });
      name.input.focus();
      return;
    }
    name.setError(null);
    const conditions = {};
    const ir = includeRoles.values();
    const iu = includeUsers.values();
    const er = excludeRoles.values();
    const eu = excludeUsers.values();
    if (ir.length || iu.length || er.length || eu.length) {
      conditions.users = { include_roles: ir, include_users: iu, exclude_roles: er, exclude_users: eu };
    }
    const il = includeLocs.values();
    const el = excludeLocs.values();
    if (!(il.length === 1 && il[0] === "any" && !el.length) && (il.length || el.length)) {
      conditions.locations = { include: il.length ? il : ["any"], exclude: el };
    }
    if (clients.values().length) {
      conditions.client_kinds = clients.values();
    }
    const controlsOut = {};
    switch (controls.value()) {
      case "block":
        controlsOut.block = true;
        break;
      case "mfa":
        controlsOut.require_mfa = true;
        break;
      case "passkey":
        controlsOut.require_phishing_resistant_mfa = true;
        break;
    }
    const hours = lifetime.input.value.trim();
    if (hours !== "") {
      const n = Number(hours);
      if (!(n > 0)) {
        lifetime.setError({ messageKey: "access.error.lifetime" });
        lifetime.input.focus();
        return;
      }
      controlsOut.session_lifetime = `${Math.round(n * 60)}m`;
    }
    lifetime.setError(null);
    await onSave(
      { id: p ? p.id : newID(), name: name.input.value.trim(), state: state.value(), conditions, controls: controlsOut },
      alert,
      submit,
    );
  });
  return form;
}

function locationsPanel(ctx) {
  const alert = alertRegion();
  const status = statusRegion();
  const body = h("div", {});
  const add = button({ labelKey: "locations.add", small: true, iconName: "plus", onClick: () => edit(null) });

  function list() {
    const items = ctx.doc.locations.map((l, i) => {
      const titleId = uid("location");
      const del = button({ labelKey: "common.delete",
        small: true,
        kind: "quiet",
        attrs: { "aria-describedby": titleId },
        onClick: async () => {
          const ok = await confirmDialog({
            titleKey: "locations.delete.title",
            titleParams: { name: l.name },
            bodyKey: "locations.delete.body",
            confirmKey: "common.delete",
            danger: true,
          });
          if (ok && (await savePolicy({ ...ctx.doc, locations: ctx.doc.locations.filter((_, j) => j !== i) }, alert, del))) {
            await ctx.reload();
            status.show({ messageKey: "locations.deleted" });
          }
        },
      });
      return h(
        "li",
        { class: "item" },
        h("span", { class: "item-icon" }, icon("globe")),
        h(
          "div",
          { class: "item-main" },
          h("p", { class: "item-title", id: titleId }, h("span", {}, l.name), ...(l.trusted ? [" ", badge({ labelKey: "locations.trusted", tone: "success" })] : [])),
          h("p", { class: "item-meta mono" }, (l.ranges || []).join(", ")),
        ),
        h("div", { class: "item-actions" }, button({ labelKey: "common.edit", small: true, kind: "quiet", onClick: () => edit(i), attrs: { "aria-describedby": titleId } }), del),
      );
    });
    body.replaceChildren(items.length ? h("ul", { class: "item-list" }, ...items) : h("p", { class: "item-empty", i18n: "locations.none" }));
  }

  function edit(index) {
    const l = index === null ? null : ctx.doc.locations[index];
    const formAlert = alertRegion();
    const name = field({ labelKey: "locations.name", attrs: { maxlength: "128", value: l ? l.name : "", autocomplete: "off" } });
    const ranges = field({
      tag: "textarea",
      labelKey: "locations.ranges",
      hintKey: "locations.ranges.hint",
      attrs: { rows: "4", spellcheck: "false", class: "mono", autocomplete: "off" },
    });
    ranges.input.value = l ? (l.ranges || []).join("\n") : "";
    const trusted = checkbox({ labelKey: "locations.trustedLabel", hintKey: "locations.trusted.hint", checked: !!(l && l.trusted) });
    const submit = button({ labelKey: "common.save", kind: "primary", type: "submit" });
    const heading = h("h3", { class: "subheading", tabindex: "-1" });
    setMessage(heading, l ? { messageKey: "locations.editTitle" } : { messageKey: "locations.addTitle" });
    const form = h(
      "form",
      { class: "form editor form-narrow", method: "post", novalidate: true },
      heading,
      name.el,
      ranges.el,
      trusted.el,
      formAlert.el,
      h("div", { class: "form-actions" }, submit, button({ labelKey: "common.cancel", kind: "quiet", onClick: () => { list(); add.focus(); } })),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (isBusy(submit)) {
        return;
      }
      const loc = {
        name: name.input.value.trim(),
        trusted: trusted.input.checked,
        ranges: ranges.input.value.split(/[\s,]+/).filter(Boolean),
      };
      const locations = [...ctx.doc.locations];
      let access = ctx.doc.access;
      if (index === null) {
        locations.push(loc);
      } else {
        locations[index] = loc;
        // Policies refer to locations by name: follow a rename.
        if (l.name !== loc.name) {
          const rename = (names) => (names || []).map((n) => (n === l.name ? loc.name : n));
          access = access.map((p) =>
            p.conditions && p.conditions.locations
              ? { ...p, conditions: { ...p.conditions, locations: { include: rename(p.conditions.locations.include), exclude: rename(p.conditions.locations.exclude) } } }
              : p,
          );
        }
      }
      if (await savePolicy({ ...ctx.doc, access, locations }, formAlert, submit)) {
        await ctx.reload();
        status.show({ messageKey: "locations.saved" });
      }
    });
    body.replaceChildren(form);
    heading.focus();
  }

  list();
  return panel({ titleKey: "locations.title", leadKey: "locations.lead", id: "access-locations", actions: [add] }, body, alert.el, status.el);
}

function whatIfPanel(ctx) {
  const alert = alertRegion();
  const result = h("div", { class: "whatif-result", "aria-live": "polite" });
  const user = field({
    tag: "select",
    labelKey: "whatif.user",
    options: ctx.accounts.map((a) => h("option", { value: a.id }, `${a.display_name || a.email} (${a.email})`)),
  });
  const addr = field({ labelKey: "whatif.address", attrs: { inputmode: "decimal", autocomplete: "off", spellcheck: "false", class: "mono", placeholder: "203.0.113.9" } });
  const client = field({ tag: "select", labelKey: "whatif.client", options: [option({ value: "browser", labelKey: "access.client.browser" }), option({ value: "api_token", labelKey: "access.client.apiToken" })] });
  const mfa = checkbox({ labelKey: "whatif.mfa" });
  const passkey = checkbox({ labelKey: "whatif.passkey" });
  const submit = button({ labelKey: "whatif.submit", kind: "primary", type: "submit" });
  let last = null;

  function show(d) {
    last = d;
    const parts = [h("p", { class: "whatif-outcome" }, h("span", { i18n: "whatif.outcome" }), " ", outcomeBadge(d.outcome))];
    if (d.session_lifetime) {
      parts.push(h("p", {}, t("whatif.lifetime", { duration: durationWords(parseDuration(d.session_lifetime)) })));
    }
    if (d.report_only_outcome) {
      parts.push(h("p", {}, h("span", { i18n: "whatif.reportOnly" }), " ", outcomeBadge(d.report_only_outcome)));
    }
    parts.push(h("h3", { class: "subheading", i18n: "whatif.trace" }), traceList(d.trace));
    result.replaceChildren(...parts);
  }

  const form = h(
    "form",
    { class: "form whatif-form", method: "post", novalidate: true },
    h("div", { class: "form-row" }, user.el, addr.el, client.el),
    h("div", { class: "form-row form-row-checks" }, mfa.el, passkey.el),
    alert.el,
    h("div", { class: "form-actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(submit)) {
      return;
    }
    alert.clear();
    if (!addr.input.value.trim()) {
      addr.setError({ messageKey: "whatif.error.address" });
      addr.input.focus();
      return;
    }
    addr.setError(null);
    const done = busy(submit, { messageKey: "common.checking" });
    try {
      show(
        await api.post("/api/v1/admin/policy/what-if", {
          user: user.input.value,
          address: addr.input.value.trim(),
          client: client.input.value,
          mfa: mfa.input.checked,
          passkey: passkey.input.checked,
        }),
      );
    } catch (err) {
      showLoadError(err, alert);
    } finally {
      done();
    }
  });
  // The trace is words built from data: build it again in a new language.
  result.addEventListener("kaigi:language", () => last && show(last));
  result.dataset.relocalize = "";

  return panel({ titleKey: "whatif.title", leadKey: "whatif.lead", id: "access-whatif" }, form, result);
}
