// The compliance center (/compliance…): the review queue of communication
// compliance for compliance officers — alerts, each opened with its message
// in context and its people as pseudonyms until a reviewer unmasks them,
// and the reviewer's actions — and the moderation policy, which tenant
// admins may edit too. Every read of the queue and every action is audited
// on the server; the page says so where a person would want to know.
//
// Paths: /compliance (the queue, ?status= to filter), /compliance/alerts/<id>
// (an alert), /compliance/policy (the policy), /compliance/audit (the audit
// log, in audit.js).

import { h, icon, setMessage, time } from "./dom.js";
import { t, locale } from "./i18n.js";
import { api } from "./api.js";
import { isComplianceOfficer, isTenantAdmin, session, showLoadError } from "./session.js";
import { alertRegion, badge, busy, button, checkGroup, confirmDialog, field, isBusy, loading, option, pageHeader, panel, statusRegion, uid } from "./ui.js";
import { CATEGORIES, TEMPLATES, categoryLabel, categoryName, ediscoveryAction, externalEditor } from "./moderation.js";
import { auditSection } from "./audit.js";
import { ediscoverySection } from "./ediscovery.js";
import { isLockboxApprover, lockboxSection } from "./lockbox.js";
import { transparencySection } from "./transparency.js";
import { holdsSection, retentionSection } from "./retention.js";

/** The sections, by path. queue is for compliance officers only. */
const QUEUE = { path: "/compliance", labelKey: "compliance.tab.queue", iconName: "compliance" };
const POLICY = { path: "/compliance/policy", labelKey: "compliance.tab.policy", iconName: "lock" };
const AUDIT = { path: "/compliance/audit", labelKey: "compliance.tab.audit", iconName: "shield" };
const EDISCOVERY = { path: "/compliance/ediscovery", labelKey: "compliance.tab.ediscovery", iconName: "archive" };
// The lockbox and access transparency: for lockbox approvers (who may be plain members), admins and officers.
const LOCKBOX = { path: "/compliance/lockbox", labelKey: "compliance.tab.lockbox", iconName: "key" };
const TRANSPARENCY = { path: "/compliance/transparency", labelKey: "compliance.tab.transparency", iconName: "shield" };
const RETENTION = { path: "/compliance/retention", labelKey: "compliance.tab.retention", iconName: "clock" };
const HOLDS = { path: "/compliance/holds", labelKey: "compliance.tab.holds", iconName: "flag" };

/** The statuses the queue can be filtered by; "open" is pending and escalated. */
const STATUSES = [
  { value: "open", labelKey: "compliance.status.open" },
  { value: "pending", labelKey: "compliance.status.pending" },
  { value: "escalated", labelKey: "compliance.status.escalated" },
  { value: "resolved", labelKey: "compliance.status.resolved" },
  { value: "false_positive", labelKey: "compliance.status.falsePositive" },
  { value: "removed", labelKey: "compliance.status.removed" },
  { value: "all", labelKey: "compliance.status.all" },
];

const KINDS = [
  { value: "block", labelKey: "compliance.kind.block", iconName: "lock" },
  { value: "warn", labelKey: "compliance.kind.warn", iconName: "info" },
  { value: "flag", labelKey: "compliance.kind.flag", iconName: "compliance" },
  { value: "pattern", labelKey: "compliance.kind.pattern", iconName: "users" },
  { value: "report", labelKey: "compliance.kind.report", iconName: "mail" },
];

const ACTIONS = [
  { value: "flag", labelKey: "compliance.action.flag", hintKey: "compliance.action.flag.hint" },
  { value: "warn", labelKey: "compliance.action.warn", hintKey: "compliance.action.warn.hint" },
  { value: "block", labelKey: "compliance.action.block", hintKey: "compliance.action.block.hint" },
];

function kindOf(kind) {
  return KINDS.find((k) => k.value === kind) || { value: kind, labelKey: "compliance.kind.other", iconName: "info" };
}

const isOpen = (status) => status === "pending" || status === "escalated";

/** statusBadge shows an alert's status. */
function statusBadge(status) {
  switch (status) {
    case "pending":
      return badge({ labelKey: "compliance.status.pending", tone: "warning" });
    case "escalated":
      return badge({ labelKey: "compliance.status.escalated", tone: "danger" });
    case "resolved":
      return badge({ labelKey: "compliance.status.resolved", tone: "success" });
    case "false_positive":
      return badge({ labelKey: "compliance.status.falsePositive" });
    case "removed":
      return badge({ labelKey: "compliance.status.removed", tone: "accent" });
  }
  return h("span", { class: "badge" }, String(status));
}

/** percent formats a score in [0, 1] as a percentage. */
function percent(score) {
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 0 }).format(score);
}

/** scoreList shows the scores above zero, highest first: "Threat 90%". */
function scoreList(scores) {
  const list = Object.entries(scores || {})
    .filter(([, s]) => s > 0)
    .sort((a, b) => b[1] - a[1]);
  if (!list.length) {
    return h("span", { class: "muted", i18n: "compliance.scores.none" });
  }
  return h(
    "span",
    { class: "score-list" },
    ...list.map(([c, s]) => h("span", { class: s >= 0.5 ? "score score-high" : "score" }, categoryText(c), " ", h("span", { class: "score-value" }, percent(s)))),
  );
}

/** categoryText names a category; one the app does not know, as the API wrote it. */
function categoryText(c) {
  const key = categoryLabel(c);
  return key ? h("span", { i18n: key }) : h("span", {}, String(c));
}

/** reportCategory names the category a reporter chose, if any. */
function reportCategory(c) {
  return c ? categoryText(c) : h("span", { class: "muted", i18n: "compliance.reportCategory.none" });
}

/** The compliance center page. */
export function compliancePage() {
  const header = pageHeader({ iconName: "compliance", titleKey: "nav.compliance", leadKey: "compliance.lead" });
  const officer = isComplianceOfficer();
  if (!officer && !isTenantAdmin() && !isLockboxApprover()) {
    return h(
      "section",
      { class: "area" },
      header,
      h(
        "div",
        { class: "empty-state", id: "compliance-denied" },
        h("span", { class: "empty-state-icon" }, icon("lock")),
        h("h2", { i18n: "compliance.denied.title" }),
        h("p", { i18n: "compliance.denied.body" }),
      ),
    );
  }
  const path = location.pathname.replace(/\/+$/, "") || "/compliance";
  const sections = officer ? [QUEUE, POLICY, AUDIT, EDISCOVERY, RETENTION, HOLDS] : [POLICY, AUDIT, RETENTION];
  // The section whose path this is (eDiscovery's cases are below its own);
  // anything else is the queue (an alert's page) or, for admins, the policy.
  const current = sections.find((s) => path === s.path || (s === EDISCOVERY && path.startsWith(s.path + "/"))) || (officer ? QUEUE : POLICY);
  // A lockbox approver who is neither admin nor officer sees only the lockbox tabs.
  const lockboxTab = [LOCKBOX, TRANSPARENCY].find((s) => s.path === path) || (!officer && !isTenantAdmin() ? LOCKBOX : null);
  const tabList = officer || isTenantAdmin() ? [...sections, LOCKBOX, TRANSPARENCY] : [LOCKBOX, TRANSPARENCY];
  const tabs = h(
    "nav",
    { class: "tabs", i18nAriaLabel: "compliance.sections" },
    h(
      "ul",
      {},
      ...tabList.map((s) =>
        h("li", {}, h("a", { href: s.path, class: "tab", "aria-current": s === (lockboxTab || current) ? "page" : false }, icon(s.iconName, "icon icon-small"), h("span", { i18n: s.labelKey }))),
      ),
    ),
  );
  let body;
  if (lockboxTab) {
    body = lockboxTab === LOCKBOX ? lockboxSection() : transparencySection();
  } else if (current === RETENTION) {
    body = retentionSection();
  } else if (current === HOLDS) {
    body = holdsSection();
  } else if (current === EDISCOVERY) {
    body = ediscoverySection(path);
  } else if (current === AUDIT) {
    body = auditSection();
  } else if (current === POLICY) {
    body = policySection();
    if (!officer && path !== POLICY.path) {
      body = h("div", {}, h("p", { class: "banner compliance-note", id: "queue-officers-only" }, icon("info", "icon banner-icon"), h("span", { class: "banner-text", i18n: "compliance.queue.officersOnly" })), body);
    }
  } else {
    const m = /^\/compliance\/alerts\/([A-Za-z0-9_-]{1,64})$/.exec(path);
    body = m ? alertSection(m[1]) : queueSection();
  }
  return h("section", { class: "area compliance" }, header, tabs, body);
}

// ---- the review queue

function queueSection() {
  const alert = alertRegion();
  const status = h("p", { class: "visually-hidden", role: "status" });
  const params = new URLSearchParams(location.search);
  let filter = STATUSES.some((s) => s.value === params.get("status")) ? params.get("status") : "open";
  const select = field({ id: "queue-status", labelKey: "compliance.queue.filter", tag: "select", attrs: { name: "status" }, options: STATUSES.map((s) => option(s)) });
  select.input.value = filter;
  const area = h("div", { id: "alerts", class: "alert-area" }, loading());
  let generation = 0;

  async function load() {
    const mine = ++generation;
    alert.clear();
    area.setAttribute("aria-busy", "true");
    try {
      const list = await api.get(`/api/v1/moderation/alerts?status=${encodeURIComponent(filter)}`);
      if (mine !== generation) {
        return;
      }
      draw(list || []);
      setMessage(status, { messageKey: "compliance.queue.count", params: { count: (list || []).length } });
    } catch (err) {
      if (mine === generation) {
        area.replaceChildren();
        showLoadError(err, alert);
      }
    } finally {
      if (mine === generation) {
        area.removeAttribute("aria-busy");
      }
    }
  }

  function draw(list) {
    if (!list.length) {
      const msg = filter === "open" ? { messageKey: "compliance.queue.emptyOpen" } : { messageKey: "compliance.queue.empty" };
      const p = h("p", { class: "item-empty", id: "alerts-empty" });
      setMessage(p, msg);
      area.replaceChildren(p);
      return;
    }
    area.replaceChildren(h("ul", { class: "item-list alert-list", "aria-labelledby": "queue-heading" }, ...list.map(alertItem)));
  }

  function alertItem(a) {
    const kind = kindOf(a.kind);
    const titleId = `alert-${a.id}-title`;
    const who = [h("span", { i18n: "compliance.sender" }), " ", h("bdi", { class: "pseudonym" }, a.sender || "—")];
    const meta = [h("span", {}, ...who)];
    if (a.target) {
      meta.push(h("span", {}, h("span", { i18n: "compliance.target" }), " ", h("bdi", { class: "pseudonym" }, a.target)));
    }
    if (a.reporter) {
      meta.push(h("span", {}, h("span", { i18n: "compliance.reporter" }), " ", h("bdi", { class: "pseudonym" }, a.reporter)));
    }
    meta.push(time(a.created));
    const summary = [];
    if (a.kind === "report") {
      summary.push(h("span", {}, h("span", { class: "summary-label", i18n: "compliance.reportCategory" }), " ", reportCategory(a.category)));
    } else {
      summary.push(h("span", {}, h("span", { class: "summary-label", i18n: "compliance.scores" }), " ", scoreList(a.scores)));
    }
    if (a.rules && a.rules.length) {
      summary.push(h("span", {}, h("span", { class: "summary-label", i18n: "compliance.rules" }), " ", h("bdi", {}, a.rules.join(", "))));
    }
    if (a.kind === "pattern" && a.messages) {
      summary.push(h("span", { i18n: "compliance.pattern.count", i18nParams: { count: a.messages, senders: (a.senders || []).length } }));
    }
    return h(
      "li",
      { class: "item alert-item", "data-alert": a.id, "data-status": a.status },
      h("span", { class: "item-icon" }, icon(kind.iconName)),
      h(
        "div",
        { class: "item-main" },
        h("p", { class: "item-title" }, h("a", { href: `/compliance/alerts/${a.id}`, id: titleId, class: "alert-link", i18n: kind.labelKey }), statusBadge(a.status)),
        h("p", { class: "item-meta" }, ...meta.flatMap((m, i) => (i ? [h("span", { class: "item-sep", "aria-hidden": "true" }, "·"), m] : [m]))),
        h("p", { class: "item-summary" }, ...summary),
      ),
      h("div", { class: "item-actions" }, h("a", { href: `/compliance/alerts/${a.id}`, class: "button button-secondary button-small", "aria-describedby": titleId, i18n: "compliance.review" })),
    );
  }

  select.input.addEventListener("change", () => {
    filter = select.input.value;
    history.replaceState(null, "", filter === "open" ? "/compliance" : `/compliance?status=${encodeURIComponent(filter)}`);
    load();
  });
  const refresh = button({
    labelKey: "common.refresh",
    small: true,
    iconName: "refresh",
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
    panel(
      { titleKey: "compliance.queue.title", leadKey: "compliance.queue.lead", id: "queue", actions: [refresh] },
      h("div", { class: "queue-filter" }, select.el),
      area,
      alert.el,
      status,
    ),
  );
}

// ---- an alert

/**
 * segments cuts a body into text and matched parts by the spans' byte
 * offsets (UTF-8, as the API counts), merging spans that overlap.
 * @param {string} body
 * @param {{start: number, end: number, category: string}[]} spans
 * @returns {{text: string, categories?: string[]}[]}
 */
function segments(body, spans) {
  const bytes = new TextEncoder().encode(body);
  const dec = new TextDecoder();
  const ranges = (spans || [])
    .filter((s) => s.start >= 0 && s.end <= bytes.length && s.start < s.end)
    .map((s) => ({ start: s.start, end: s.end, categories: [s.category] }))
    .sort((a, b) => a.start - b.start);
  const merged = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r.start < last.end) {
      last.end = Math.max(last.end, r.end);
      if (!last.categories.includes(r.categories[0])) {
        last.categories.push(r.categories[0]);
      }
    } else {
      merged.push(r);
    }
  }
  const out = [];
  let at = 0;
  for (const r of merged) {
    if (r.start > at) {
      out.push({ text: dec.decode(bytes.subarray(at, r.start)) });
    }
    out.push({ text: dec.decode(bytes.subarray(r.start, r.end)), categories: r.categories });
    at = r.end;
  }
  if (at < bytes.length) {
    out.push({ text: dec.decode(bytes.subarray(at)) });
  }
  return out;
}

/** showMentions writes the API's <@Person B> as @Person B. */
function showMentions(text) {
  return text.replace(/<@([^<>]{1,64})>/g, "@$1");
}

function alertSection(id) {
  const box = h("div", { class: "panels alert-detail" }, loading());
  const status = statusRegion();
  const pageAlert = alertRegion();
  /** @type {Map<string, {id: string, display_name: string}>|null} unmasked people by pseudonym */
  let people = null;
  let detail = null;
  let officers = null;

  async function load({ focus = "" } = {}) {
    try {
      detail = await api.get(`/api/v1/moderation/alerts/${encodeURIComponent(id)}`);
      draw();
      if (focus) {
        const el = box.querySelector(focus);
        if (el instanceof HTMLElement) {
          el.focus();
        }
      }
    } catch (err) {
      box.replaceChildren(pageAlert.el);
      showLoadError(err, pageAlert);
    }
  }

  /** who names a pseudonym, with the person once unmasked. */
  function who(pseudonym) {
    const p = people && people.get(pseudonym);
    return h(
      "span",
      { class: "who" },
      h("bdi", { class: "pseudonym" }, pseudonym || "—"),
      ...(p ? [" ", h("span", { class: "unmasked" }, "(", h("bdi", {}, p.display_name || p.id), ")")] : []),
    );
  }

  /** fact is one row of the alert's facts: {labelKey} and the value. */
  function fact({ labelKey }, ...value) {
    return h("div", { class: "fact" }, h("dt", { i18n: labelKey }), h("dd", {}, ...value));
  }

  function draw() {
    const d = detail;
    const kind = kindOf(d.kind);
    const facts = [fact({ labelKey: "compliance.fact.status" }, statusBadge(d.status)), fact({ labelKey: "compliance.fact.raised" }, time(d.created)), fact({ labelKey: "compliance.sender" }, who(d.sender))];
    if (d.target) {
      facts.push(fact({ labelKey: "compliance.target" }, who(d.target)));
    }
    if (d.reporter) {
      facts.push(fact({ labelKey: "compliance.reporter" }, who(d.reporter)));
    }
    if (d.senders && d.senders.length) {
      facts.push(fact({ labelKey: "compliance.fact.senders" }, ...d.senders.flatMap((s, i) => (i ? [", ", who(s)] : [who(s)]))));
    }
    if (d.kind === "report") {
      facts.push(fact({ labelKey: "compliance.reportCategory" }, reportCategory(d.category)));
    } else {
      facts.push(fact({ labelKey: "compliance.scores" }, scoreList(d.scores)));
    }
    if (d.rules && d.rules.length) {
      facts.push(fact({ labelKey: "compliance.rules" }, h("bdi", {}, d.rules.join(", "))));
    }
    if (d.confirmed) {
      facts.push(fact({ labelKey: "compliance.fact.confirmed" }, h("span", { i18n: "compliance.fact.confirmedYes" })));
    }
    if (d.assignee) {
      facts.push(fact({ labelKey: "compliance.fact.assignee" }, h("span", { class: "mono" }, d.assignee === session().user ? t("compliance.you") : d.assignee)));
    }
    if (d.notified && d.notified.length) {
      facts.push(
        fact(
          { labelKey: "compliance.fact.notified" },
          ...d.notified.flatMap((n, i) => {
            const tpl = TEMPLATES.find((x) => x.value === n);
            const el = tpl ? h("span", { i18n: tpl.labelKey }) : h("span", {}, n);
            return i ? [", ", el] : [el];
          }),
        ),
      );
    }
    if (d.closed) {
      facts.push(fact({ labelKey: "compliance.fact.closed" }, time(d.closed)));
    }
    const summaryPanel = panel(
      { titleKey: kind.labelKey, id: "alert-summary" },
      h("dl", { class: "facts" }, ...facts),
      ...(d.reason ? [h("div", { class: "report-reason" }, h("h3", { class: "subheading", i18n: "compliance.reason" }), h("blockquote", { class: "quote", dir: "auto" }, d.reason))] : []),
    );
    summaryPanel.querySelector("h2").setAttribute("tabindex", "-1");
    box.replaceChildren(
      h("p", { class: "back-link" }, h("a", { href: "/compliance", id: "back-to-queue" }, icon("back", "icon icon-small"), h("span", { i18n: "compliance.back" }))),
      summaryPanel,
      contextPanel(d),
      peoplePanel(d),
      actionsPanel(d),
      status.el,
    );
  }

  function contextPanel(d) {
    const items = (d.context || []).map((m) => {
      const classes = ["context-msg"];
      if (m.alerted) {
        classes.push("is-alerted");
      }
      const flags = [];
      if (m.held) {
        flags.push(badge({ labelKey: "compliance.context.held", tone: "danger" }));
      } else if (m.alerted) {
        flags.push(badge({ labelKey: "compliance.context.alerted", tone: "warning" }));
      }
      if (m.deleted) {
        flags.push(badge({ labelKey: "compliance.context.deleted" }));
      }
      const body = h("p", { class: "context-body", dir: "auto" });
      for (const s of segments(m.body || "", m.spans)) {
        if (s.categories) {
          body.append(h("mark", { class: "match", title: s.categories.map(categoryName).join(", ") }, showMentions(s.text)), h("span", { class: "visually-hidden" }, ` (${s.categories.map(categoryName).join(", ")})`));
        } else {
          body.append(showMentions(s.text));
        }
      }
      if (!m.body) {
        body.append(h("span", { class: "muted", i18n: "compliance.context.empty" }));
      }
      return h(
        "li",
        { class: classes.join(" "), "data-message": m.id },
        h("p", { class: "context-head" }, who(m.author), " ", time(m.created), ...flags.flatMap((f) => [" ", f])),
        body,
      );
    });
    return panel(
      { titleKey: "compliance.context.title", ...(d.kind === "pattern" ? { leadKey: "compliance.context.leadPattern" } : { leadKey: "compliance.context.lead" }), id: "alert-context" },
      items.length ? h("ol", { class: "context-list" }, ...items) : h("p", { class: "item-empty", i18n: "compliance.context.none" }),
    );
  }

  function peoplePanel(d) {
    const alert = alertRegion();
    const names = new Set([d.sender, d.target, d.reporter, ...(d.senders || []), ...(d.context || []).map((m) => m.author)].filter(Boolean));
    for (const m of d.context || []) {
      for (const [, p] of String(m.body || "").matchAll(/<@([^<>]{1,64})>/g)) {
        names.add(p);
      }
    }
    const list = h(
      "ul",
      { class: "people-list" },
      ...[...names].sort().map((n) => {
        const p = people && people.get(n);
        return h(
          "li",
          { class: "people-item" },
          h("bdi", { class: "pseudonym" }, n),
          p ? h("span", { class: "unmasked-name" }, h("bdi", {}, p.display_name || "—"), " ", h("span", { class: "mono muted" }, p.id)) : h("span", { class: "muted", i18n: "compliance.people.masked" }),
        );
      }),
    );
    const actions = [];
    if (!people) {
      const unmask = button({
        labelKey: "compliance.unmask",
        iconName: "key",
        attrs: { id: "unmask" },
        onClick: async () => {
          const ok = await confirmDialog({ titleKey: "compliance.unmask.title", bodyKey: "compliance.unmask.body", confirmKey: "compliance.unmask.confirm" });
          if (!ok) {
            return;
          }
          alert.clear();
          const done = busy(unmask, { messageKey: "common.working" });
          try {
            const res = await api.post(`/api/v1/moderation/alerts/${encodeURIComponent(id)}/unmask`);
            people = new Map((res.people || []).map((p) => [p.pseudonym, p]));
            draw();
            status.show({ messageKey: "compliance.unmask.done" });
            const heading = box.querySelector("#alert-people-heading");
            if (heading instanceof HTMLElement) {
              heading.setAttribute("tabindex", "-1");
              heading.focus();
            }
          } catch (err) {
            done();
            showLoadError(err, alert);
          }
        },
      });
      actions.push(unmask);
    }
    return panel(
      { titleKey: "compliance.people.title", ...(people ? { leadKey: "compliance.people.leadUnmasked" } : { leadKey: "compliance.people.lead" }), id: "alert-people", actions },
      list,
      alert.el,
    );
  }

  function actionsPanel(d) {
    const alert = alertRegion();
    const open = isOpen(d.status);
    const groups = [];

    /** act posts a reviewer's action and shows the alert again. */
    async function act(b, review, doneMsg) {
      if (isBusy(b)) {
        return;
      }
      alert.clear();
      const done = busy(b, { messageKey: "common.working" });
      try {
        await api.post(`/api/v1/moderation/alerts/${encodeURIComponent(id)}/actions`, review);
        status.show(doneMsg);
        await load({ focus: "#alert-summary-heading" });
      } catch (err) {
        done();
        showLoadError(err, alert);
      }
    }

    if (open) {
      const resolve = button({ labelKey: "compliance.resolve", kind: "primary", iconName: "check", attrs: { id: "action-resolve" }, onClick: () => act(resolve, { action: "resolve" }, { messageKey: "compliance.resolved" }) });
      const falsePositive = button({ labelKey: "compliance.falsePositive", attrs: { id: "action-false-positive" }, onClick: () => act(falsePositive, { action: "false_positive" }, { messageKey: "compliance.falsePositive.done" }) });
      groups.push(
        h("div", { class: "action-group" }, h("h3", { class: "subheading", i18n: "compliance.close.title" }), h("p", { class: "field-hint", i18n: "compliance.close.hint" }), h("div", { class: "form-actions" }, resolve, falsePositive)),
      );
    } else {
      groups.push(h("p", { class: "notice", id: "alert-closed", i18n: "compliance.closedNote" }));
    }

    // Notify the sender: allowed on closed alerts too.
    if (d.kind !== "pattern") {
      const tpl = field({
        id: "notify-template",
        labelKey: "compliance.notify.template",
        tag: "select",
        attrs: { name: "template" },
        options: TEMPLATES.map((x) => option({ value: x.value, labelKey: x.labelKey })),
      });
      const preview = h("p", { class: "notice-preview", id: "notify-preview", "aria-live": "polite" });
      const showPreview = () => {
        const x = TEMPLATES.find((y) => y.value === tpl.input.value) || TEMPLATES[0];
        setMessage(preview, { messageKey: x.textKey });
      };
      tpl.input.addEventListener("change", showPreview);
      showPreview();
      const send = button({ labelKey: "compliance.notify.send", type: "submit", attrs: { id: "action-notify" } });
      const form = h(
        "form",
        { class: "action-group form form-tight", novalidate: true },
        h("h3", { class: "subheading", i18n: "compliance.notify.title" }),
        h("p", { class: "field-hint", i18n: "compliance.notify.hint" }),
        tpl.el,
        h("div", { class: "notice-preview-box" }, h("span", { class: "summary-label", i18n: "compliance.notify.preview" }), preview),
        h("div", { class: "form-actions" }, send),
      );
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        act(send, { action: "notify", template: tpl.input.value }, { messageKey: "compliance.notify.done" });
      });
      groups.push(form);
    }

    if (open) {
      groups.push(escalateForm(d, act));
    }
    groups.push(ediscoveryAction(d, act)); // open or closed: a case may come later

    if (open && (d.kind === "flag" || d.kind === "warn" || d.kind === "report")) {
      const reason = field({ id: "remove-reason", labelKey: "compliance.remove.reason", optional: true, hintKey: "compliance.remove.reasonHint", attrs: { name: "reason", maxlength: "200", autocomplete: "off" } });
      const remove = button({ labelKey: "compliance.remove", kind: "danger", type: "submit", iconName: "trash", attrs: { id: "action-remove" } });
      const form = h(
        "form",
        { class: "action-group form form-tight", novalidate: true },
        h("h3", { class: "subheading", i18n: "compliance.remove.title" }),
        h("p", { class: "field-hint", i18n: "compliance.remove.hint" }),
        reason.el,
        h("div", { class: "form-actions" }, remove),
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (isBusy(remove)) {
          return;
        }
        const ok = await confirmDialog({ titleKey: "compliance.remove.confirmTitle", bodyKey: "compliance.remove.confirmBody", confirmKey: "compliance.remove", danger: true });
        if (ok) {
          act(remove, { action: "remove", reason: reason.input.value.trim() }, { messageKey: "compliance.remove.done" });
        }
      });
      groups.push(form);
    }
    return panel({ titleKey: "compliance.actions.title", leadKey: "compliance.actions.lead", id: "alert-actions" }, h("div", { class: "action-groups" }, ...groups), alert.el);
  }

  /** escalateForm hands the alert to another compliance officer. */
  function escalateForm(d, act) {
    const box = h("div", { class: "escalate-field" });
    let input = null;
    const draw = () => {
      const others = (officers || []).filter((a) => a.id !== session().user);
      if (others.length) {
        const f = field({
          id: "escalate-to",
          labelKey: "compliance.escalate.to",
          tag: "select",
          attrs: { name: "to" },
          options: others.map((a) => h("option", { value: a.id }, a.display_name || a.email)),
        });
        input = f.input;
        box.replaceChildren(f.el);
      } else {
        const f = field({ id: "escalate-to", labelKey: "compliance.escalate.account", hintKey: "compliance.escalate.accountHint", attrs: { name: "to", autocomplete: "off", spellcheck: "false" } });
        input = f.input;
        box.replaceChildren(f.el);
      }
    };
    draw();
    if (isTenantAdmin() && officers === null) {
      api
        .get("/api/v1/admin/accounts")
        .then((list) => {
          officers = (list || []).filter((a) => a.state === "active" && (a.roles || []).includes("compliance_officer"));
          draw();
        })
        .catch(() => {
          officers = [];
        });
    }
    const send = button({ labelKey: "compliance.escalate", type: "submit", attrs: { id: "action-escalate" } });
    const form = h(
      "form",
      { class: "action-group form form-tight", novalidate: true },
      h("h3", { class: "subheading", i18n: "compliance.escalate.title" }),
      h("p", { class: "field-hint", i18n: "compliance.escalate.hint" }),
      box,
      h("div", { class: "form-actions" }, send),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const to = input ? input.value.trim() : "";
      if (!to) {
        if (input) {
          input.focus();
        }
        return;
      }
      act(send, { action: "escalate", to }, { messageKey: "compliance.escalate.done" });
    });
    return form;
  }

  load();
  return box;
}

// ---- the moderation policy

function splitIds(text) {
  return [
    ...new Set(
      String(text)
        .split(/[\s,;]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

/**
 * ruleEditor edits one rule: its name, action, categories with their
 * thresholds (in percent), and scope.
 */
function ruleEditor(rule, { onRemove }) {
  const id = uid("rule");
  const name = field({ id: `${id}-name`, labelKey: "compliance.rule.name", hintKey: "compliance.rule.nameHint", attrs: { maxlength: "100", autocomplete: "off", class: "rule-name", required: true } });
  name.input.value = rule.name || "";
  const action = checkGroup({
    legendKey: "compliance.rule.action",
    type: "radio",
    name: `${id}-action`,
    items: ACTIONS.map((a) => ({ ...a, checked: a.value === (rule.action || "flag") })),
  });
  const cats = rule.categories || {};
  const rows = CATEGORIES.map((c) => {
    const cid = `${id}-${c.value}`;
    const on = h("input", { type: "checkbox", id: cid, value: c.value, checked: c.value in cats, class: "category-check" });
    const threshold = h("input", {
      type: "number",
      id: `${cid}-t`,
      class: "input-short threshold",
      min: "1",
      max: "100",
      step: "1",
      inputmode: "numeric",
      value: String(Math.round((cats[c.value] ?? 0.5) * 100)),
      "aria-describedby": `${id}-thint`,
    });
    const thLabel = h("label", { for: `${cid}-t`, class: "visually-hidden", i18n: "compliance.rule.thresholdFor", i18nParams: { category: t(c.labelKey) } });
    const sync = () => {
      threshold.disabled = !on.checked;
    };
    on.addEventListener("change", sync);
    sync();
    return {
      value: c.value,
      on,
      threshold,
      el: h(
        "div",
        { class: "category-row" },
        h("div", { class: "check" }, on, h("label", { for: cid }, h("span", { class: "check-label", i18n: c.labelKey }))),
        h("span", { class: "threshold-box" }, thLabel, threshold, h("span", { class: "threshold-unit", "aria-hidden": "true" }, "%")),
      ),
    };
  });
  const categories = h(
    "fieldset",
    { class: "fieldset" },
    h("legend", { i18n: "compliance.rule.categories" }),
    h("p", { class: "field-hint", id: `${id}-thint`, i18n: "compliance.rule.categoriesHint" }),
    h("div", { class: "category-grid" }, ...rows.map((r) => r.el)),
  );
  const scope = rule.scope || {};
  const list = (key, { labelKey }, values) => {
    const f = field({ id: `${id}-${key}`, labelKey, tag: "textarea", optional: true, attrs: { rows: "2", spellcheck: "false", class: "mono-input" } });
    f.input.value = (values || []).join("\n");
    return f;
  };
  const users = list("users", { labelKey: "compliance.scope.users" }, scope.users);
  const teams = list("teams", { labelKey: "compliance.scope.teams" }, scope.teams);
  const channels = list("channels", { labelKey: "compliance.scope.channels" }, scope.channels);
  const except = list("except", { labelKey: "compliance.scope.except" }, scope.except_users);
  const scoped = [scope.users, scope.teams, scope.channels, scope.except_users].some((l) => l && l.length);
  const scopeBox = h(
    "details",
    { class: "disclosure disclosure-boxed", open: scoped },
    h("summary", {}, scoped ? h("span", { i18n: "compliance.scope.limited" }) : h("span", { i18n: "compliance.scope.everyone" })),
    h("div", { class: "disclosure-body form form-tight" }, h("p", { class: "field-hint", i18n: "compliance.scope.hint" }), users.el, teams.el, channels.el, except.el),
  );
  const remove = button({ labelKey: "compliance.rule.remove", kind: "quiet", small: true, iconName: "trash", onClick: () => onRemove() });
  const legend = h("legend", { class: "rule-legend" });
  const el = h("fieldset", { class: "rule-card" }, legend, h("div", { class: "rule-head" }, name.el, remove), action.el, categories, scopeBox);

  return {
    el,
    name,
    /** number writes the rule's place in its legend. */
    number(n) {
      setMessage(legend, { messageKey: "compliance.rule.legend", params: { n } });
    },
    /** read returns the rule, or marks what is wrong and returns the field to fix. */
    read() {
      name.setError(null);
      const n = name.input.value.trim();
      if (!n) {
        name.setError({ messageKey: "compliance.rule.nameMissing" });
        return { bad: name.input };
      }
      const out = { name: n, action: action.value() || "flag", scope: {} };
      const chosen = {};
      for (const r of rows) {
        if (!r.on.checked) {
          continue;
        }
        const v = Number(r.threshold.value);
        if (!Number.isInteger(v) || v < 1 || v > 100) {
          r.threshold.setAttribute("aria-invalid", "true");
          return { bad: r.threshold, message: { messageKey: "compliance.rule.thresholdRange" } };
        }
        r.threshold.removeAttribute("aria-invalid");
        chosen[r.value] = v / 100;
      }
      if (Object.keys(chosen).length) {
        out.categories = chosen;
      }
      const set = (key, f) => {
        const ids = splitIds(f.input.value);
        if (ids.length) {
          out.scope[key] = ids;
        }
      };
      set("users", users);
      set("teams", teams);
      set("channels", channels);
      set("except_users", except);
      return { rule: out };
    },
  };
}

function policySection() {
  const box = h("div", { class: "panels" }, loading());
  const loadAlert = alertRegion();

  async function load() {
    try {
      const pol = await api.get("/api/v1/moderation/policy");
      box.replaceChildren(policyPanel(pol || { rules: [] }));
    } catch (err) {
      box.replaceChildren(loadAlert.el);
      showLoadError(err, loadAlert);
    }
  }

  function policyPanel(pol) {
    const alert = alertRegion();
    const status = statusRegion();
    const list = h("div", { class: "rule-list", id: "policy-rules" });
    const empty = h("p", { class: "item-empty", id: "policy-empty", i18n: "compliance.policy.empty" });
    /** @type {ReturnType<typeof ruleEditor>[]} */
    let editors = [];

    function renumber() {
      editors.forEach((e, i) => e.number(i + 1));
      empty.hidden = editors.length > 0;
    }
    function add(rule, { focus = false } = {}) {
      const ed = ruleEditor(rule, {
        onRemove: () => {
          const i = editors.indexOf(ed);
          editors = editors.filter((x) => x !== ed);
          ed.el.remove();
          renumber();
          status.show({ messageKey: "compliance.rule.removed" });
          const next = editors[Math.min(i, editors.length - 1)];
          (next ? next.name.input : addButton).focus();
        },
      });
      editors.push(ed);
      list.append(ed.el);
      renumber();
      if (focus) {
        ed.name.input.focus();
      }
    }
    for (const r of pol.rules || []) {
      add(r);
    }
    const addButton = button({
      labelKey: "compliance.rule.add",
      iconName: "plus",
      small: true,
      attrs: { id: "policy-add-rule" },
      onClick: () => add({ name: "", action: "flag", categories: {} }, { focus: true }),
    });
    const patterns = checkGroup({
      legendKey: "compliance.policy.patterns",
      items: [{ value: "patterns", labelKey: "compliance.policy.patternsOn", hintKey: "compliance.policy.patternsHint", checked: !!pol.patterns }],
    });
    const external = externalEditor(pol.external);
    const submit = button({ labelKey: "common.save", kind: "primary", type: "submit", attrs: { id: "policy-save" } });
    const form = h(
      "form",
      { class: "form", method: "post", novalidate: true, id: "moderation-policy-form" },
      empty,
      list,
      h("div", {}, addButton),
      patterns.el,
      external.el,
      alert.el,
      h("div", { class: "form-actions" }, submit),
      status.el,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (isBusy(submit)) {
        return;
      }
      alert.clear();
      const rules = [];
      const seen = new Set();
      for (const ed of editors) {
        const r = ed.read();
        if (r.bad) {
          if (r.message) {
            alert.show(r.message);
          }
          r.bad.focus();
          return;
        }
        if (seen.has(r.rule.name)) {
          ed.name.setError({ messageKey: "compliance.rule.nameTaken" });
          ed.name.input.focus();
          return;
        }
        seen.add(r.rule.name);
        rules.push(r.rule);
      }
      const done = busy(submit, { messageKey: "common.saving" });
      try {
        await api.put("/api/v1/moderation/policy", { rules, patterns: patterns.values().includes("patterns"), external: external.read() });
        external.saved();
        status.show({ messageKey: "compliance.policy.saved" });
      } catch (err) {
        showLoadError(err, alert);
      } finally {
        done();
      }
    });
    return panel({ titleKey: "compliance.policy.title", leadKey: "compliance.policy.lead", id: "moderation-policy" }, form);
  }

  load();
  return box;
}
