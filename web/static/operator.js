// The operator console (/operator): for the people who run the service, not
// for a tenant. It shows the tenants (names, states, domains, contracts
// with their deletion countdowns, deleted tenants with their public
// deletion certificates — never their content), lets an operator file a
// lockbox request for access to a tenant's resources with a justification,
// a reason and a support ticket, and follows the operator's own requests:
// their states with the time left, activating an approved grant, reading a
// channel under a live grant, and ending the grant early. Every read is
// checked on the server against the grant, recorded in the tenant's audit
// log and appended to the tenant's access-transparency log; the page says
// so. Its second tab, /operator/legal, is the law-enforcement request
// ledger (legal.js).

import { h, icon, setMessage, time } from "./dom.js";
import { api } from "./api.js";
import { isActive, session, showLoadError } from "./session.js";
import { relativeDay } from "./admin.js";
import { alertRegion, badge, busy, button, field, isBusy, loading, option, pageHeader, panel, statusRegion } from "./ui.js";
import { legalSection } from "./legal.js";
import {
  JUSTIFICATIONS,
  JUSTIFICATION_LABELS,
  countdown,
  durationMinutes,
  durationText,
  fact,
  focusHeading,
  isLive,
  justificationText,
  poll,
  resourceText,
  stateBadge,
  tickCountdowns,
} from "./lockbox.js";

/** The durations an operator may ask for (the API allows 15 minutes to 8 hours). */
const DURATIONS = [
  { value: "15m", labelKey: "operator.duration.15m" },
  { value: "30m", labelKey: "operator.duration.30m" },
  { value: "1h", labelKey: "operator.duration.1h" },
  { value: "2h", labelKey: "operator.duration.2h" },
  { value: "4h", labelKey: "operator.duration.4h" },
  { value: "8h", labelKey: "operator.duration.8h" },
];

const TENANT_COLUMNS = [
  { labelKey: "operator.tenants.col.name" },
  { labelKey: "operator.tenants.col.slug" },
  { labelKey: "operator.tenants.col.state" },
  { labelKey: "operator.tenants.col.domains" },
  { labelKey: "operator.tenants.col.created" },
  { labelKey: "operator.tenants.col.contract" },
  { labelKey: "operator.tenants.col.accounts" },
  { labelKey: "operator.tenants.col.messages" },
  { labelKey: "operator.tenants.col.activity" },
];

/** The contract states, as the lifecycle names them. */
const CONTRACT_STATES = [
  { state: "active", labelKey: "operator.contract.active", tone: "success" },
  { state: "ended", labelKey: "operator.contract.ended", tone: "warning" },
  { state: "disabled", labelKey: "operator.contract.disabled", tone: "danger" },
  { state: "deleted", labelKey: "operator.contract.deleted", tone: "neutral" },
];

/** A tenant's deletion, while it has one (done shows as the "deleted" contract state). */
const DELETION_STATES = [
  { state: "awaiting_code", labelKey: "operator.deletion.awaitingCode", tone: "accent" },
  { state: "scheduled", labelKey: "operator.deletion.scheduled", tone: "warning" },
  { state: "running", labelKey: "operator.deletion.running", tone: "danger" },
];

/** The console's sections, as tabs. */
const ACCESS = { path: "/operator", labelKey: "operator.tab.access", iconName: "key" };
const LEGAL = { path: "/operator/legal", labelKey: "operator.tab.legal", iconName: "shield" };

/** A resource as the API takes it: kind:id, or tenant_config. */
const RESOURCE = /^(?:tenant_config|(?:channel|user_messages|recording):[A-Za-z0-9_-]{1,64})$/;

/** operatorPage is the operator console. */
export function operatorPage() {
  const header = pageHeader({ iconName: "operator", titleKey: "nav.operator", leadKey: "operator.lead" });
  if (!isActive()) {
    // Operators sign in with their passkey like everyone; the console then opens.
    return h(
      "section",
      { class: "area" },
      header,
      h(
        "div",
        { class: "empty-state", id: "operator-signin" },
        h("span", { class: "empty-state-icon" }, icon("key")),
        h("h2", { i18n: "operator.signin.title" }),
        h("p", { i18n: "operator.signin.body" }),
        h("p", {}, h("a", { class: "button button-primary", href: "/signin?next=%2Foperator", i18n: "operator.signin.link" })),
      ),
    );
  }
  if (session().kind !== "operator") {
    return h(
      "section",
      { class: "area" },
      header,
      h(
        "div",
        { class: "empty-state", id: "operator-denied" },
        h("span", { class: "empty-state-icon" }, icon("lock")),
        h("h2", { i18n: "operator.denied.title" }),
        h("p", { i18n: "operator.denied.body" }),
      ),
    );
  }
  const path = location.pathname.replace(/\/+$/, "") || ACCESS.path;
  const current = path === LEGAL.path || path.startsWith(LEGAL.path + "/") ? LEGAL : ACCESS;
  const tabs = h(
    "nav",
    { class: "tabs", i18nAriaLabel: "operator.sections" },
    h(
      "ul",
      {},
      ...[ACCESS, LEGAL].map((s) =>
        h("li", {}, h("a", { href: s.path, class: "tab", "aria-current": s === current ? "page" : false }, icon(s.iconName, "icon icon-small"), h("span", { i18n: s.labelKey }))),
      ),
    ),
  );
  if (current === LEGAL) {
    return h("section", { class: "area operator" }, header, tabs, legalSection());
  }
  const alert = alertRegion();
  const status = statusRegion();
  const tenants = tenantsArea(alert);
  const requests = requestsArea(alert, status, tenants);
  const form = requestForm(alert, status, tenants, requests);
  const root = h(
    "section",
    { class: "area operator" },
    header,
    tabs,
    alert.el,
    status.el,
    h(
      "div",
      { class: "panels" },
      panel({ titleKey: "operator.tenants.title", leadKey: "operator.tenants.lead", id: "operator-tenants-panel" }, tenants.el),
      panel({ titleKey: "operator.file.title", leadKey: "operator.file.lead", id: "operator-file-panel" }, form),
      panel({ titleKey: "operator.requests.title", leadKey: "operator.requests.lead", id: "operator-requests-panel" }, requests.el),
      requests.reader,
    ),
  );
  return root;
}

// ---- tenants

function tenantsArea(alert) {
  const el = h("div", { id: "operator-tenants" }, loading());
  const listeners = [];
  let list = [];
  const area = {
    el,
    /** name returns a tenant's name, or its id. */
    name: (id) => (list.find((x) => x.id === id) || { name: id }).name,
    onLoad: (fn) => listeners.push(fn),
  };
  // A deleted tenant's own row is purged with the rest of its data: the
  // deletions name the ones that are gone, with their certificates.
  Promise.all([api.get("/api/v1/operator/tenants"), api.get("/api/v1/operator/deletions").catch(() => [])])
    .then(([tenants, deletions]) => {
      list = tenants || [];
      const gone = (deletions || []).filter((d) => d.state === "done" && !list.some((x) => x.id === d.tenant));
      if (!list.length && !gone.length) {
        el.replaceChildren(h("p", { class: "item-empty", i18n: "operator.tenants.none" }));
      } else {
        el.replaceChildren(
          h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "table", id: "operator-tenants-table" },
              h("thead", {}, h("tr", {}, ...TENANT_COLUMNS.map((c) => h("th", { scope: "col", i18n: c.labelKey })))),
              h(
                "tbody",
                {},
                ...list.map((x) =>
                  h(
                    "tr",
                    { "data-tenant": x.id },
                    h("th", { scope: "row" }, x.name),
                    h("td", { class: "mono" }, x.slug),
                    h("td", {}, x.state),
                    h("td", {}, (x.domains || []).join(", ")),
                    h("td", {}, time(x.created, "date")),
                    ...healthCells(x.id),
                  ),
                ),
                ...gone.map(deletedRow),
              ),
            ),
          ),
        );
      }
      for (const fn of listeners) {
        fn(list);
      }
    })
    .catch((err) => {
      el.replaceChildren();
      showLoadError(err, alert);
    });
  return area;
}

/**
 * deletedRow is a tenant that is gone: its id, the "deleted" state with a
 * link to its public deletion certificate, and nothing else, since nothing
 * else of it is left.
 */
function deletedRow(d) {
  const none = () => h("td", { class: "muted" }, "—");
  const contract = h("td", { "data-figure": "contract", "data-state": "deleted", "data-deletion": "done" }, contractBadge("deleted"), " ", certificateLink(d.tenant));
  if (d.finished) {
    contract.append(" ", h("span", { class: "muted" }, time(d.finished, "date")));
  }
  return h(
    "tr",
    { "data-tenant": d.tenant, "data-deleted": "" },
    h("th", { scope: "row" }, h("span", { class: "mono" }, d.tenant)),
    none(),
    h("td", {}, h("span", { i18n: "operator.tenants.deletedState" })),
    none(),
    none(),
    contract,
    none(),
    none(),
    none(),
  );
}

function contractBadge(state) {
  const st = CONTRACT_STATES.find((c) => c.state === state) || CONTRACT_STATES[0];
  return badge({ labelKey: st.labelKey, tone: st.tone });
}

/** certificateLink links a deleted tenant's public, signed deletion certificate. */
function certificateLink(tenant) {
  return h("a", { href: `/api/v1/trust/deletions/${encodeURIComponent(tenant)}`, class: "contract-certificate" }, h("span", { i18n: "operator.deletion.certificate" }));
}

/**
 * deletionCountdown says when a tenant's deletion is due: its date and how
 * many days away it is, counted as the tenant's admins see it.
 */
function deletionCountdown(at) {
  const { days, text } = relativeDay(at);
  return h(
    "span",
    { class: "muted contract-delete-at", "data-date": new Date(at).toISOString(), "data-days": String(days) },
    h("span", { i18n: "operator.contract.deleteAt", i18nParams: { date: time(at, "date").textContent, when: text } }),
  );
}

/**
 * healthCells are a tenant's contract and health (counts, never content),
 * filled in when GET /api/v1/operator/tenants/{id}/health answers.
 */
function healthCells(id) {
  const contract = h("td", { "data-figure": "contract" }, "…");
  const accounts = h("td", { "data-figure": "accounts", class: "num" }, "…");
  const messages = h("td", { "data-figure": "messages", class: "num" }, "…");
  const activity = h("td", { "data-figure": "activity" }, "…");
  api
    .get(`/api/v1/operator/tenants/${encodeURIComponent(id)}/health`)
    .then((hl) => {
      const c = hl.contract;
      contract.replaceChildren(contractBadge(c.state));
      contract.dataset.state = c.state;
      if (c.deletion) {
        contract.dataset.deletion = c.deletion;
      }
      const ds = DELETION_STATES.find((d) => d.state === c.deletion);
      if (ds) {
        contract.append(" ", badge({ labelKey: ds.labelKey, tone: ds.tone }));
      }
      if (c.deletion === "done") {
        contract.append(" ", certificateLink(id));
      } else if (c.state !== "deleted" && c.end) {
        contract.append(" ", h("span", { class: "muted", i18n: "operator.contract.ends", i18nParams: { date: time(c.end, "date").textContent } }));
        if (c.delete_at) {
          contract.append(h("br"), deletionCountdown(c.delete_at));
        }
      }
      accounts.textContent = String(hl.accounts);
      messages.textContent = String(hl.messages);
      activity.replaceChildren(hl.last_activity ? time(hl.last_activity) : h("span", { class: "muted" }, "—"));
    })
    .catch(() => {
      for (const c of [contract, accounts, messages, activity]) {
        c.textContent = "?";
      }
    });
  return [contract, accounts, messages, activity];
}

// ---- filing a request

function requestForm(alert, status, tenants, requests) {
  const tenant = field({ id: "lb-tenant", labelKey: "operator.file.tenant", tag: "select", attrs: { name: "tenant", required: true }, options: [h("option", { value: "", i18n: "operator.file.tenantPick" })] });
  tenants.onLoad((list) => {
    tenant.input.append(...list.map((x) => h("option", { value: x.id }, x.name)));
  });
  const resources = field({
    id: "lb-resources",
    labelKey: "operator.file.resources",
    hintKey: "operator.file.resourcesHint",
    tag: "textarea",
    attrs: { name: "resources", rows: "3", required: true, spellcheck: "false", autocomplete: "off", class: "mono-input" },
  });
  const justification = field({
    id: "lb-justification",
    labelKey: "operator.file.justification",
    tag: "select",
    attrs: { name: "justification", required: true },
    options: JUSTIFICATIONS.map((j) => option({ value: j, labelKey: JUSTIFICATION_LABELS[j].labelKey })),
  });
  const reason = field({ id: "lb-reason", labelKey: "operator.file.reason", hintKey: "operator.file.reasonHint", tag: "textarea", attrs: { name: "reason", rows: "3", maxlength: "2000", required: true } });
  const ticket = field({ id: "lb-ticket", labelKey: "operator.file.ticket", attrs: { name: "ticket", maxlength: "100", required: true, autocomplete: "off" } });
  const duration = field({ id: "lb-duration", labelKey: "operator.file.duration", hintKey: "operator.file.durationHint", tag: "select", attrs: { name: "duration" }, options: DURATIONS.map(option) });
  duration.input.value = "4h";
  const submit = button({ labelKey: "operator.file.submit", kind: "primary", type: "submit", iconName: "send", attrs: { id: "lb-file" } });
  const form = h("form", { class: "form", id: "lockbox-form", novalidate: true }, tenant.el, resources.el, justification.el, reason.el, ticket.el, duration.el, h("div", { class: "form-actions" }, submit));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(submit)) {
      return;
    }
    alert.clear();
    for (const f of [tenant, resources, reason, ticket]) {
      f.setError(null);
    }
    const list = resources.input.value
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    const problems = [];
    if (!tenant.input.value) {
      tenant.setError({ messageKey: "operator.file.tenantNeeded" });
      problems.push(tenant);
    }
    const bad = list.find((r) => !RESOURCE.test(r));
    if (!list.length) {
      resources.setError({ messageKey: "operator.file.resourcesNeeded" });
      problems.push(resources);
    } else if (bad) {
      resources.setError({ messageKey: "operator.file.resourceBad", params: { resource: bad.slice(0, 80) } });
      problems.push(resources);
    }
    if (!reason.input.value.trim()) {
      reason.setError({ messageKey: "operator.file.reasonNeeded" });
      problems.push(reason);
    }
    if (!ticket.input.value.trim()) {
      ticket.setError({ messageKey: "operator.file.ticketNeeded" });
      problems.push(ticket);
    }
    if (problems.length) {
      problems[0].input.focus();
      return;
    }
    const done = busy(submit, { messageKey: "operator.file.submitting" });
    try {
      const r = await api.post("/api/v1/operator/lockbox", {
        tenant: tenant.input.value,
        resources: list,
        justification: justification.input.value,
        reason: reason.input.value.trim(),
        ticket: ticket.input.value.trim(),
        duration: duration.input.value,
      });
      status.show({ messageKey: "operator.file.filed", params: { ticket: r.ticket } });
      resources.input.value = "";
      reason.input.value = "";
      ticket.input.value = "";
      await requests.refresh();
      focusHeading("operator-requests-panel");
    } catch (err) {
      alert.show(err);
      resources.input.focus();
    } finally {
      done();
    }
  });
  return form;
}

// ---- the operator's requests and reads

function requestsArea(alert, status, tenants) {
  const el = h("div", { id: "operator-requests" }, loading());
  const readerBody = h("div", { id: "operator-reader-body" });
  const reader = h("div", { id: "operator-reader-wrap" });
  const { load, refresh } = poll({ url: "/api/v1/operator/lockbox", el, alert, draw });

  function draw(list) {
    const focused = document.activeElement && el.contains(document.activeElement) ? document.activeElement.id : "";
    if (!list.length) {
      el.replaceChildren(h("p", { class: "item-empty", i18n: "operator.requests.none" }));
    } else {
      el.replaceChildren(h("ul", { class: "item-list lockbox-list" }, ...list.map(item)));
    }
    if (focused && document.getElementById(focused)) {
      document.getElementById(focused).focus();
    }
    // A reader open on a grant that ended closes.
    const open = reader.dataset.request;
    if (open && !list.some((r) => r.id === open && isLive(r))) {
      closeReader();
    }
  }

  function item(r) {
    const facts = h(
      "dl",
      { class: "facts lockbox-facts" },
      fact({ labelKey: "operator.requests.tenant" }, h("span", {}, tenants.name(r.tenant))),
      fact({ labelKey: "lockbox.resources" }, h("ul", { class: "lockbox-resources" }, ...(r.resources || []).map((res) => h("li", {}, resourceText(res))))),
      fact({ labelKey: "lockbox.reason" }, h("span", { class: "lockbox-reason" }, r.reason)),
      fact({ labelKey: "lockbox.duration" }, h("span", {}, durationText(r.duration))),
    );
    const actions = [];
    if (r.state === "pending") {
      facts.append(
        fact({ labelKey: "lockbox.answerBy" }, h("span", {}, time(r.expires_at), " ", countdown({ until: r.expires_at, total: new Date(r.expires_at) - new Date(r.created), textKey: "lockbox.expiresIn", doneKey: "lockbox.expiring" }))),
      );
    } else if (isLive(r)) {
      facts.append(
        fact({ labelKey: "lockbox.grantEnds" }, h("span", {}, time(r.grant_ends), " ", countdown({ until: r.grant_ends, total: durationMinutes(r.duration) * 60000, textKey: "lockbox.endsIn", doneKey: "lockbox.ending" }))),
        fact({ labelKey: "lockbox.accesses" }, h("span", { class: "lockbox-accesses" }, String(r.accesses || 0))),
      );
      if (r.state === "approved") {
        actions.push(actionButton(r, { action: "activate", labelKey: "operator.activate", kind: "primary", doneKey: "operator.activated" }));
      } else {
        actions.push(readButton(r));
      }
      actions.push(actionButton(r, { action: "end", labelKey: "operator.end", kind: "danger", doneKey: "operator.ended" }));
    } else if (r.ended) {
      facts.append(fact({ labelKey: "lockbox.ended" }, h("span", {}, time(r.ended))), fact({ labelKey: "lockbox.accesses" }, h("span", { class: "lockbox-accesses" }, String(r.accesses || 0))));
    }
    return h(
      "li",
      { class: "item lockbox-item", "data-id": r.id, "data-state": r.state },
      h("span", { class: "item-icon" }, icon(r.state === "pending" ? "clock" : isLive(r) ? "key" : "lock")),
      h(
        "div",
        { class: "item-main" },
        h("div", { class: "item-title" }, justificationText(r.justification), " ", stateBadge(r.state)),
        h("div", { class: "item-meta" }, h("span", { i18n: "lockbox.ticket", i18nParams: { ticket: r.ticket } }), h("span", { class: "item-sep" }, "·"), h("span", {}, h("span", { i18n: "lockbox.filed" }), " ", time(r.created))),
        facts,
      ),
      ...(actions.length ? [h("div", { class: "item-actions" }, ...actions)] : []),
    );
  }

  function actionButton(r, { action, labelKey, kind, doneKey }) {
    const b = button({ labelKey, kind, small: true, attrs: { id: `${action}-${r.id}`, "data-action": action } });
    b.addEventListener("click", async () => {
      if (isBusy(b)) {
        return;
      }
      alert.clear();
      const done = busy(b, { messageKey: "common.working" });
      try {
        await api.post(`/api/v1/operator/lockbox/${encodeURIComponent(r.id)}/${action}`);
        status.show({ messageKey: doneKey, params: { ticket: r.ticket } });
        done();
        await refresh();
        const next = document.getElementById(`read-${r.id}`);
        if (next) {
          next.focus();
        }
        return;
      } catch (err) {
        alert.show(err);
        await refresh();
      }
      done();
    });
    return b;
  }

  function readButton(r) {
    return button({ labelKey: "operator.read", kind: "primary", small: true, iconName: "hash", attrs: { id: `read-${r.id}`, "data-action": "read" }, onClick: () => openReader(r) });
  }

  // The reader: a channel's messages under one grant.
  function openReader(r) {
    const channels = (r.resources || []).filter((res) => res.startsWith("channel:")).map((res) => res.slice("channel:".length));
    const listId = `reader-channels-${r.id}`;
    const channel = field({ id: "reader-channel", labelKey: "operator.reader.channel", hintKey: "operator.reader.channelHint", attrs: { name: "channel", list: listId, autocomplete: "off", spellcheck: "false", class: "mono-input" } });
    channel.input.value = channels[0] || "";
    const go = button({ labelKey: "operator.reader.read", kind: "primary", type: "submit", attrs: { id: "reader-read" } });
    const close = button({ labelKey: "common.close", small: true, attrs: { id: "reader-close" }, onClick: () => closeReader(true) });
    const form = h("form", { class: "form form-tight", id: "reader-form", novalidate: true }, channel.el, h("datalist", { id: listId }, ...channels.map((c) => h("option", { value: c }))), h("div", { class: "form-actions" }, go));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (isBusy(go)) {
        return;
      }
      channel.setError(null);
      const id = channel.input.value.trim();
      if (!id) {
        channel.setError({ messageKey: "operator.reader.channelNeeded" });
        channel.input.focus();
        return;
      }
      const done = busy(go, { messageKey: "operator.reader.reading" });
      readerBody.setAttribute("aria-busy", "true");
      try {
        const res = await api.get(`/api/v1/operator/lockbox/${encodeURIComponent(r.id)}/channels/${encodeURIComponent(id)}/messages`);
        showMessages(res);
      } catch (err) {
        readerBody.replaceChildren();
        readerBody.dataset.channel = "";
        channel.setError(err && err.apiMessage ? { text: err.apiMessage } : { messageKey: "error.unexpected" });
        channel.input.focus();
        refresh();
      } finally {
        readerBody.removeAttribute("aria-busy");
        done();
      }
    });
    reader.dataset.request = r.id;
    readerBody.replaceChildren();
    reader.replaceChildren(
      panel(
        { titleKey: "operator.reader.title", leadKey: "operator.reader.lead", id: "operator-reader", actions: [close] },
        h("p", { class: "banner compliance-note" }, icon("shield", "icon banner-icon"), h("span", { class: "banner-text", i18n: "operator.reader.recorded" })),
        form,
        readerBody,
      ),
    );
    focusHeading("operator-reader");
  }

  function showMessages(res) {
    const msgs = (res && res.messages) || [];
    readerBody.dataset.channel = res.channel;
    const count = h("p", { class: "muted", id: "reader-count" });
    setMessage(count, { messageKey: "operator.reader.count", params: { count: msgs.length } });
    if (!msgs.length) {
      readerBody.replaceChildren(count);
      return;
    }
    readerBody.replaceChildren(
      count,
      h(
        "ol",
        { class: "item-list reader-messages", id: "reader-messages" },
        ...msgs.map((m) =>
          h(
            "li",
            { class: "item reader-message", "data-id": m.id },
            h(
              "div",
              { class: "item-main" },
              h("div", { class: "item-meta" }, h("span", { class: "mono" }, m.author), h("span", { class: "item-sep" }, "·"), time(m.created)),
              m.deleted ? h("p", { class: "muted", i18n: "operator.reader.deleted" }) : h("p", { class: "reader-body" }, m.body),
            ),
          ),
        ),
      ),
    );
    refresh(); // the access count went up
  }

  function closeReader(focus = false) {
    delete reader.dataset.request;
    reader.replaceChildren();
    if (focus) {
      focusHeading("operator-requests-panel");
    }
  }

  load();
  tickCountdowns(el, () => load());
  return { el, reader, refresh };
}
