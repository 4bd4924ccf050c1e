// The law-enforcement request ledger in the operator console
// (/operator/legal): the requests received in a half-year, an intake form
// for a new one, the steps the selected request allows next (redirect,
// review, disclose, gag, notify, close), the download of a disclosure's
// signed package, and a check of the ledger's hash chain.
//
// The API lists requests by their metadata only: what identifies people
// (the agency, its contact, the accounts the request names, the summary) is
// sealed at rest. The page reads it only for the request whose steps are
// open, once when it is opened, because each read is audited in the
// operator's log (legal.request.read); it shows it read-only. A disclosure
// names account ids, typed by the operator from the named accounts shown;
// the server checks each one against the sealed list.

import { h, icon, setMessage, time } from "./dom.js";
import { ApiError, api } from "./api.js";
import { showLoadError } from "./session.js";
import { alertRegion, badge, busy, button, checkGroup, checkbox, describeError, field, isBusy, loading, option, panel, statusRegion } from "./ui.js";
import { fact, focusHeading } from "./lockbox.js";

/** The legal instruments, as the ledger names them. */
const INSTRUMENTS = [
  { value: "subpoena", labelKey: "legal.instrument.subpoena" },
  { value: "court_order", labelKey: "legal.instrument.court_order" },
  { value: "warrant", labelKey: "legal.instrument.warrant" },
  { value: "emergency", labelKey: "legal.instrument.emergency" },
  { value: "national_security", labelKey: "legal.instrument.national_security" },
  { value: "other", labelKey: "legal.instrument.other" },
];

/** The data categories a request asks for, a review allows, a disclosure gives. */
const CATEGORIES = [
  { value: "content", labelKey: "legal.category.content" },
  { value: "non_content", labelKey: "legal.category.non_content" },
];

const CUSTOMER_TYPES = [
  { value: "enterprise", labelKey: "legal.customer.enterprise" },
  { value: "other", labelKey: "legal.customer.other" },
];

const YES = { labelKey: "legal.yes" };
const NO = { labelKey: "legal.no" };
const COMPULSORY = { labelKey: "legal.compulsory" };
const VOLUNTARY = { labelKey: "legal.voluntary" };
const ACCOUNTS_HINT = { hintKey: "legal.disclose.accountsHint" };
const NO_CUSTOMER_HINT = { hintKey: "legal.disclose.noCustomer" };

const STATUSES = {
  received: { labelKey: "legal.status.received", tone: "accent" },
  redirected: { labelKey: "legal.status.redirected", tone: "neutral" },
  in_review: { labelKey: "legal.status.in_review", tone: "accent" },
  approved: { labelKey: "legal.status.approved", tone: "success" },
  disclosed: { labelKey: "legal.status.disclosed", tone: "warning" },
  closed: { labelKey: "legal.status.closed", tone: "neutral" },
};

const OUTCOMES = {
  rejected: { labelKey: "legal.outcome.rejected" },
  no_data: { labelKey: "legal.outcome.no_data" },
  non_content: { labelKey: "legal.outcome.non_content" },
  content: { labelKey: "legal.outcome.content" },
  withdrawn: { labelKey: "legal.outcome.withdrawn" },
};

const DECISIONS = [
  { value: "reject", labelKey: "legal.review.reject" },
  { value: "narrow", labelKey: "legal.review.narrow" },
  { value: "proceed", labelKey: "legal.review.proceed" },
];

const COLUMNS = [
  { labelKey: "legal.col.received" },
  { labelKey: "legal.col.country" },
  { labelKey: "legal.col.instrument" },
  { labelKey: "legal.col.compulsory" },
  { labelKey: "legal.col.customer" },
  { labelKey: "legal.col.accounts" },
  { labelKey: "legal.col.asked" },
  { labelKey: "legal.col.approved" },
  { labelKey: "legal.col.disclosed" },
  { labelKey: "legal.col.status" },
  { labelKey: "legal.col.outcome" },
  { labelKey: "legal.col.gag" },
  { labelKey: "legal.col.notified" },
  { labelKey: "legal.col.steps" },
];

/** A request's id as the API makes them, for the download path. */
const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** An account id as the API makes them (a disclosure names ids, not emails). */
const ACCOUNT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * periodOf is the half-year of a moment, as the API names it (2025-H1).
 * The ledger counts in UTC.
 */
export function periodOf(d) {
  return `${d.getUTCFullYear()}-H${d.getUTCMonth() < 6 ? 1 : 2}`;
}

/** recentPeriods are the current half-year and the n-1 before it, newest first. */
function recentPeriods(now, n) {
  let year = now.getUTCFullYear();
  let half = now.getUTCMonth() < 6 ? 1 : 2;
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(`${year}-H${half}`);
    if (half === 2) {
      half = 1;
    } else {
      half = 2;
      year -= 1;
    }
  }
  return out;
}

function labelOf(list, value) {
  const it = list.find((x) => x.value === value);
  return it ? h("span", { i18n: it.labelKey }) : h("span", { class: "mono" }, value);
}

/** categoriesCell lists categories by their names, or a dash. */
function categoriesCell(list) {
  if (!list || !list.length) {
    return h("span", { class: "muted" }, "—");
  }
  const out = h("span", { class: "legal-categories" });
  list.forEach((c, i) => {
    if (i > 0) {
      out.append(", ");
    }
    out.append(labelOf(CATEGORIES, c));
  });
  return out;
}

export function statusBadge(status) {
  const st = STATUSES[status];
  return st ? badge({ labelKey: st.labelKey, tone: st.tone }) : h("span", { class: "mono" }, status);
}

function outcomeText(outcome) {
  if (!outcome) {
    return h("span", { class: "muted" }, "—");
  }
  const o = OUTCOMES[outcome];
  return o ? h("span", { i18n: o.labelKey }) : h("span", { class: "mono" }, outcome);
}

function dateOrDash(value, format = "date") {
  return value ? time(value, format) : h("span", { class: "muted" }, "—");
}

/** lines splits a textarea into its non-empty lines, trimmed. */
function lines(text) {
  return text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * formError is where a step's form says what the API refused, next to the
 * form: role="alert", so it is announced.
 */
function formError(id) {
  const el = h("p", { class: "field-error legal-form-error", id, role: "alert", hidden: true });
  return {
    el,
    show(err) {
      setMessage(el, describeError(err));
      el.hidden = false;
    },
    clear() {
      setMessage(el, null);
      el.hidden = true;
    },
  };
}

/**
 * nextSteps are the steps the ledger allows a request now (see apply in
 * internal/provider/ledger.go); the server decides again.
 */
export function nextSteps(r) {
  const closed = r.status === "closed";
  const gagged = r.gag_until && new Date(r.gag_until) > new Date();
  return {
    redirect: r.status === "received",
    review: ["received", "redirected", "in_review"].includes(r.status),
    disclose: r.status === "approved",
    gag: !closed && !r.notified,
    notify: !!r.tenant && !gagged && !r.notified,
    close: !closed,
  };
}

/** legalSection is the ledger's page in the operator console. */
export function legalSection() {
  const alert = alertRegion();
  const status = statusRegion();
  const tenants = { list: [], listeners: [] };
  tenants.name = (id) => (tenants.list.find((x) => x.id === id) || { name: id }).name;
  api
    .get("/api/v1/operator/tenants")
    .then((list) => {
      tenants.list = list || [];
      for (const fn of tenants.listeners) {
        fn(tenants.list);
      }
    })
    .catch((err) => showLoadError(err, alert));

  const steps = h("div", { id: "legal-steps-wrap" });

  // The sealed details of the open request, as one read: opening a request
  // (focus) reads them again; the refresh after a step, which cannot change
  // them, shows the same read instead of recording another in the log.
  let opened = { id: "", read: null };
  function readDetails(id, again) {
    if (again || opened.id !== id || !opened.read) {
      const read = api.get(`/api/v1/operator/legal-requests/${encodeURIComponent(id)}`);
      opened = { id, read };
      // A failed read is not kept: the next refresh tries again.
      read.catch(() => {
        if (opened.read === read) {
          opened = { id: "", read: null };
        }
      });
    }
    return opened.read;
  }
  const list = requestsList(alert, tenants, (r) => openSteps(r, true));
  const intake = intakeForm(alert, status, tenants, async (r) => {
    list.period.value = periodOf(new Date(r.received));
    await list.load();
    openSteps(r, true);
  });

  /** openSteps shows the steps of a request, or refreshes them (focus: false). */
  function openSteps(r, focus) {
    steps.dataset.request = r.id;
    steps.replaceChildren(
      stepsPanel(r, tenants, status, {
        details: readDetails(r.id, focus),
        onStep: async (next) => {
          await list.load();
          openSteps(next, false);
        },
        refresh: () => list.load(),
      }),
    );
    list.select(r.id);
    if (focus) {
      focusHeading("legal-steps-panel");
    }
  }
  list.onLoad((rows) => {
    const open = steps.dataset.request;
    if (!open) {
      return;
    }
    const r = rows.find((x) => x.id === open);
    if (r) {
      list.select(r.id);
    }
  });

  return h(
    "div",
    { class: "legal", id: "legal-section" },
    alert.el,
    status.el,
    h(
      "div",
      { class: "panels" },
      panel({ titleKey: "legal.list.title", leadKey: "legal.list.lead", id: "legal-list-panel", actions: [list.picker] }, list.el),
      steps,
      panel({ titleKey: "legal.intake.title", leadKey: "legal.intake.lead", id: "legal-intake-panel" }, intake),
      panel({ titleKey: "legal.verify.title", leadKey: "legal.verify.lead", id: "legal-verify-panel" }, verifyArea()),
    ),
  );
}

// ---- the list of a period's requests

function requestsList(alert, tenants, onOpen) {
  const el = h("div", { id: "legal-requests" }, loading());
  const periods = recentPeriods(new Date(), 6);
  const period = h("select", { id: "legal-period", name: "period" }, ...periods.map((p) => h("option", { value: p }, p)));
  period.value = periods[0];
  const picker = h("div", { class: "field field-inline legal-period" }, h("label", { for: "legal-period", i18n: "legal.list.period" }), period);
  const listeners = [];
  let rows = [];
  let selected = "";

  async function load() {
    el.setAttribute("aria-busy", "true");
    try {
      rows = (await api.get(`/api/v1/operator/legal-requests?period=${encodeURIComponent(period.value)}`)) || [];
      draw();
      el.dataset.period = period.value;
      el.dataset.loaded = "true";
      for (const fn of listeners) {
        fn(rows);
      }
    } catch (err) {
      el.replaceChildren();
      showLoadError(err, alert);
    } finally {
      el.removeAttribute("aria-busy");
    }
  }

  function draw() {
    if (!rows.length) {
      el.replaceChildren(h("p", { class: "item-empty", id: "legal-none", i18n: "legal.list.none", i18nParams: { period: period.value } }));
      return;
    }
    el.replaceChildren(
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table legal-table", id: "legal-table" },
          h("thead", {}, h("tr", {}, ...COLUMNS.map((c) => h("th", { scope: "col", i18n: c.labelKey })))),
          h("tbody", {}, ...rows.map(row)),
        ),
      ),
    );
    select(selected);
  }

  function row(r) {
    const open = button({ labelKey: "legal.list.open", small: true, attrs: { id: `legal-open-${r.id}`, "data-action": "open", "aria-describedby": `legal-row-${r.id}` } });
    open.addEventListener("click", () => onOpen(r));
    return h(
      "tr",
      { "data-id": r.id, "data-status": r.status },
      h("th", { scope: "row", id: `legal-row-${r.id}` }, time(r.received, "date")),
      h("td", { class: "mono" }, r.country),
      h("td", {}, labelOf(INSTRUMENTS, r.instrument)),
      h("td", {}, h("span", { i18n: (r.compulsory ? YES : NO).labelKey })),
      h("td", {}, labelOf(CUSTOMER_TYPES, r.customer_type)),
      h("td", { class: "num" }, String(r.accounts)),
      h("td", {}, categoriesCell(r.asked)),
      h("td", {}, categoriesCell(r.approved)),
      h("td", {}, categoriesCell(r.disclosed)),
      h("td", { "data-figure": "status" }, statusBadge(r.status), ...(r.notify_due ? [" ", badge({ labelKey: "legal.status.notifyDue", tone: "warning" })] : [])),
      h("td", { "data-figure": "outcome" }, outcomeText(r.outcome)),
      h("td", {}, dateOrDash(r.gag_until)),
      h("td", {}, dateOrDash(r.notified)),
      h("td", {}, open),
    );
  }

  /** select marks the row of the request whose steps are open. */
  function select(id) {
    selected = id;
    for (const tr of el.querySelectorAll("tbody tr")) {
      if (tr.dataset.id === id) {
        tr.setAttribute("aria-current", "true");
      } else {
        tr.removeAttribute("aria-current");
      }
    }
  }

  period.addEventListener("change", () => load());
  load();
  return { el, picker, period, load, select, onLoad: (fn) => listeners.push(fn) };
}

// ---- intake

function intakeForm(alert, status, tenants, onEntered) {
  const received = field({ id: "legal-received", labelKey: "legal.intake.received", hintKey: "legal.intake.receivedHint", type: "datetime-local", optional: true, attrs: { name: "received" } });
  const country = field({ id: "legal-country", labelKey: "legal.intake.country", hintKey: "legal.intake.countryHint", attrs: { name: "country", maxlength: "2", autocomplete: "off", spellcheck: "false", class: "mono-input", required: true } });
  const instrument = field({ id: "legal-instrument", labelKey: "legal.intake.instrument", tag: "select", attrs: { name: "instrument" }, options: INSTRUMENTS.map(option) });
  const compulsory = checkbox({ id: "legal-compulsory", labelKey: "legal.intake.compulsory", hintKey: "legal.intake.compulsoryHint", name: "compulsory" });
  const customer = field({ id: "legal-customer", labelKey: "legal.intake.customer", tag: "select", attrs: { name: "customer_type" }, options: CUSTOMER_TYPES.map(option) });
  const tenant = field({
    id: "legal-tenant",
    labelKey: "legal.intake.tenant",
    hintKey: "legal.intake.tenantHint",
    optional: true,
    tag: "select",
    attrs: { name: "tenant" },
    options: [h("option", { value: "", i18n: "legal.intake.tenantNone" })],
  });
  tenants.listeners.push((list) => tenant.input.append(...list.map((x) => h("option", { value: x.id }, x.name))));
  const asked = checkGroup({ legendKey: "legal.intake.asked", hintKey: "legal.intake.askedHint", name: "asked", items: CATEGORIES });
  const askedError = h("p", { class: "field-error", id: "legal-asked-error", hidden: true });
  asked.el.append(askedError);
  const agency = field({ id: "legal-agency", labelKey: "legal.intake.agency", attrs: { name: "agency", maxlength: "200", autocomplete: "off", required: true } });
  const contact = field({ id: "legal-contact", labelKey: "legal.intake.contact", optional: true, attrs: { name: "contact", maxlength: "200", autocomplete: "off" } });
  const accounts = field({
    id: "legal-accounts",
    labelKey: "legal.intake.accounts",
    hintKey: "legal.intake.accountsHint",
    tag: "textarea",
    attrs: { name: "accounts", rows: "3", spellcheck: "false", autocomplete: "off", class: "mono-input", required: true },
  });
  const summary = field({ id: "legal-summary", labelKey: "legal.intake.summary", optional: true, tag: "textarea", attrs: { name: "summary", rows: "3", maxlength: "5000" } });
  const error = formError("legal-intake-error");
  const submit = button({ labelKey: "legal.intake.submit", kind: "primary", type: "submit", iconName: "plus", attrs: { id: "legal-enter" } });
  const form = h(
    "form",
    { class: "form", id: "legal-intake", novalidate: true },
    h("div", { class: "form-row" }, received.el, country.el, instrument.el),
    compulsory.el,
    h("div", { class: "form-row" }, customer.el, tenant.el),
    asked.el,
    h("div", { class: "form-row" }, agency.el, contact.el),
    accounts.el,
    summary.el,
    error.el,
    h("div", { class: "form-actions" }, submit),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(submit)) {
      return;
    }
    alert.clear();
    error.clear();
    for (const f of [received, country, agency, accounts]) {
      f.setError(null);
    }
    setMessage(askedError, null);
    askedError.hidden = true;
    const named = lines(accounts.input.value);
    const problems = [];
    if (!/^[A-Za-z]{2}$/.test(country.input.value.trim())) {
      country.setError({ messageKey: "legal.intake.countryNeeded" });
      problems.push(country.input);
    }
    if (!asked.values().length) {
      setMessage(askedError, { messageKey: "legal.intake.askedNeeded" });
      askedError.hidden = false;
      problems.push(asked.inputs[0]);
    }
    if (!agency.input.value.trim()) {
      agency.setError({ messageKey: "legal.intake.agencyNeeded" });
      problems.push(agency.input);
    }
    if (!named.length) {
      accounts.setError({ messageKey: "legal.intake.accountsNeeded" });
      problems.push(accounts.input);
    }
    let at = "";
    if (received.input.value) {
      const d = new Date(received.input.value);
      if (Number.isNaN(d.getTime())) {
        received.setError({ messageKey: "legal.intake.receivedBad" });
        problems.push(received.input);
      } else {
        at = d.toISOString();
      }
    }
    if (problems.length) {
      problems[0].focus();
      return;
    }
    const body = {
      country: country.input.value.trim().toUpperCase(),
      instrument: instrument.input.value,
      compulsory: compulsory.input.checked,
      customer_type: customer.input.value,
      asked: asked.values(),
      details: { agency: agency.input.value.trim(), contact: contact.input.value.trim(), accounts: named, summary: summary.input.value.trim() },
    };
    if (at) {
      body.received = at;
    }
    if (tenant.input.value) {
      body.tenant = tenant.input.value;
    }
    const done = busy(submit, { messageKey: "legal.intake.submitting" });
    try {
      const r = await api.post("/api/v1/operator/legal-requests", body);
      status.show({ messageKey: "legal.intake.entered" });
      for (const f of [received, country, agency, contact, accounts, summary]) {
        f.input.value = "";
      }
      compulsory.input.checked = false;
      asked.set([]);
      done();
      await onEntered(r);
      return;
    } catch (err) {
      error.show(err);
      submit.focus();
    }
    done();
  });
  return form;
}

// ---- the steps of one request

function stepsPanel(r, tenants, status, { details, onStep, refresh }) {
  const allowed = nextSteps(r);
  const note = field({ id: "legal-note", labelKey: "legal.steps.note", hintKey: "legal.steps.noteHint", optional: true, tag: "textarea", attrs: { name: "note", rows: "2", maxlength: "5000" } });

  /** record posts a step; the form's error element shows a refusal. */
  async function record(b, error, step) {
    if (isBusy(b)) {
      return;
    }
    error.clear();
    const done = busy(b, { messageKey: "common.working" });
    const body = { ...step };
    const n = note.input.value.trim();
    if (n) {
      body.note = n;
    }
    try {
      const next = await api.post(`/api/v1/operator/legal-requests/${encodeURIComponent(r.id)}/steps`, body);
      done();
      status.show({ messageKey: "legal.steps.recorded" });
      await onStep(next);
      focusHeading("legal-steps-panel");
      return;
    } catch (err) {
      error.show(err);
      b.focus();
      // A step may be recorded and still fail after (telling the customer):
      // the list shows what the ledger holds now.
      refresh();
    }
    done();
  }

  const forms = [];

  if (allowed.redirect) {
    const error = formError("legal-redirect-error");
    const b = button({ labelKey: "legal.redirect.submit", type: "submit", attrs: { id: "legal-redirect" } });
    const form = h("form", { class: "form form-tight legal-step", id: "legal-redirect-form", "data-step": "redirect", novalidate: true }, h("h3", { i18n: "legal.redirect.title" }), h("p", { class: "muted", i18n: "legal.redirect.lead" }), error.el, h("div", { class: "form-actions" }, b));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      record(b, error, { kind: "redirect" });
    });
    forms.push(form);
  }

  if (allowed.review) {
    const error = formError("legal-review-error");
    const decision = checkGroup({ legendKey: "legal.review.decision", type: "radio", name: "decision", items: DECISIONS.map((d) => ({ ...d, checked: d.value === "proceed" })) });
    const reason = field({ id: "legal-review-reason", labelKey: "legal.review.reason", hintKey: "legal.review.reasonHint", optional: true, attrs: { name: "reason", maxlength: "500", autocomplete: "off" } });
    const asked = CATEGORIES.filter((c) => (r.asked || []).includes(c.value));
    const scope = checkGroup({ legendKey: "legal.review.scope", hintKey: "legal.review.scopeHint", name: "review-scope", items: asked.map((c) => ({ ...c, checked: true })) });
    const b = button({ labelKey: "legal.review.submit", kind: "primary", type: "submit", attrs: { id: "legal-review" } });
    const form = h(
      "form",
      { class: "form form-tight legal-step", id: "legal-review-form", "data-step": "review", novalidate: true },
      h("h3", { i18n: "legal.review.title" }),
      decision.el,
      reason.el,
      scope.el,
      error.el,
      h("div", { class: "form-actions" }, b),
    );
    const sync = () => {
      scope.el.hidden = decision.value() === "reject";
    };
    for (const i of decision.inputs) {
      i.addEventListener("change", sync);
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const d = decision.value();
      const step = { kind: "review", decision: d, reason: reason.input.value.trim() };
      if (d !== "reject") {
        step.scope = scope.values();
      }
      record(b, error, step);
    });
    forms.push(form);
  }

  if (allowed.disclose) {
    const error = formError("legal-disclose-error");
    const approved = CATEGORIES.filter((c) => (r.approved || []).includes(c.value));
    const scope = checkGroup({ legendKey: "legal.disclose.scope", hintKey: "legal.disclose.scopeHint", name: "disclose-scope", items: approved.map((c) => ({ ...c, checked: true })) });
    const accounts = field({
      id: "legal-disclose-accounts",
      labelKey: "legal.disclose.accounts",
      hintKey: (r.tenant ? ACCOUNTS_HINT : NO_CUSTOMER_HINT).hintKey,
      tag: "textarea",
      attrs: { name: "accounts", rows: "3", spellcheck: "false", autocomplete: "off", class: "mono-input" },
    });
    const b = button({ labelKey: "legal.disclose.submit", kind: "danger", type: "submit", attrs: { id: "legal-disclose" } });
    const form = h(
      "form",
      { class: "form form-tight legal-step", id: "legal-disclose-form", "data-step": "disclose", novalidate: true },
      h("h3", { i18n: "legal.disclose.title" }),
      h("p", { class: "muted", i18n: "legal.disclose.lead" }),
      scope.el,
      accounts.el,
      error.el,
      h("div", { class: "form-actions" }, b),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      accounts.setError(null);
      const ids = lines(accounts.input.value);
      const bad = ids.find((a) => !ACCOUNT_ID.test(a));
      if (bad) {
        accounts.setError({ messageKey: "legal.disclose.accountBad", params: { account: bad.slice(0, 80) } });
        accounts.input.focus();
        return;
      }
      const step = { kind: "disclose", scope: scope.values() };
      if (ids.length) {
        step.accounts = ids;
      }
      record(b, error, step);
    });
    forms.push(form);
  }

  if (allowed.gag) {
    const error = formError("legal-gag-error");
    const until = field({ id: "legal-gag-until", labelKey: "legal.gag.until", hintKey: "legal.gag.untilHint", type: "date", attrs: { name: "until", required: true } });
    const b = button({ labelKey: "legal.gag.submit", type: "submit", attrs: { id: "legal-gag" } });
    const form = h("form", { class: "form form-tight legal-step", id: "legal-gag-form", "data-step": "gag", novalidate: true }, h("h3", { i18n: "legal.gag.title" }), until.el, error.el, h("div", { class: "form-actions" }, b));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      until.setError(null);
      if (!until.input.value) {
        until.setError({ messageKey: "legal.gag.untilNeeded" });
        until.input.focus();
        return;
      }
      // The end of the chosen day, in the operator's time zone.
      record(b, error, { kind: "gag", until: new Date(`${until.input.value}T23:59:59`).toISOString() });
    });
    forms.push(form);
  }

  const quick = [];
  const quickError = formError("legal-quick-error");
  if (allowed.notify) {
    const b = button({ labelKey: "legal.notify.submit", attrs: { id: "legal-notify" } });
    b.addEventListener("click", () => record(b, quickError, { kind: "notify" }));
    quick.push(b);
  }
  if (allowed.close) {
    const b = button({ labelKey: "legal.close.submit", kind: "danger", attrs: { id: "legal-close" } });
    b.addEventListener("click", () => record(b, quickError, { kind: "close" }));
    quick.push(b);
  }
  if (quick.length) {
    forms.push(h("div", { class: "legal-step", "data-step": "other" }, h("h3", { i18n: "legal.other.title" }), h("p", { class: "muted", i18n: "legal.other.lead" }), quickError.el, h("div", { class: "form-actions" }, ...quick)));
  }

  const facts = h(
    "dl",
    { class: "facts legal-facts" },
    fact({ labelKey: "legal.col.received" }, time(r.received)),
    fact({ labelKey: "legal.steps.customer" }, r.tenant ? h("span", {}, tenants.name(r.tenant)) : h("span", { class: "muted", i18n: "legal.steps.noCustomer" })),
    fact({ labelKey: "legal.col.instrument" }, h("span", {}, labelOf(INSTRUMENTS, r.instrument), " · ", h("span", { i18n: (r.compulsory ? COMPULSORY : VOLUNTARY).labelKey }))),
    fact({ labelKey: "legal.col.accounts" }, h("span", {}, String(r.accounts))),
    fact({ labelKey: "legal.col.asked" }, categoriesCell(r.asked)),
    fact({ labelKey: "legal.col.approved" }, categoriesCell(r.approved)),
    fact({ labelKey: "legal.col.disclosed" }, categoriesCell(r.disclosed)),
    fact({ labelKey: "legal.col.status" }, h("span", { id: "legal-steps-status" }, statusBadge(r.status), " ", outcomeText(r.outcome))),
  );
  if (r.gag_until) {
    facts.append(fact({ labelKey: "legal.col.gag" }, time(r.gag_until, "date")));
  }
  if (r.notified) {
    facts.append(fact({ labelKey: "legal.col.notified" }, time(r.notified)));
  } else if (r.notify_due) {
    facts.append(fact({ labelKey: "legal.col.notified" }, h("span", { i18n: "legal.steps.notifyDue" })));
  }

  const close = button({
    labelKey: "common.close",
    small: true,
    attrs: { id: "legal-steps-close" },
    onClick: () => {
      const wrap = document.getElementById("legal-steps-wrap");
      if (wrap) {
        delete wrap.dataset.request;
        wrap.replaceChildren();
      }
      focusHeading("legal-list-panel");
    },
  });
  return panel(
    { titleKey: "legal.steps.title", leadKey: "legal.steps.lead", id: "legal-steps-panel", actions: [close] },
    h("div", { id: "legal-steps", "data-id": r.id, "data-status": r.status }, facts, detailsArea(details), ...(r.disclosure ? [downloadArea(r)] : []), ...(forms.length ? [note.el, h("div", { class: "legal-steps-forms" }, ...forms)] : [h("p", { class: "muted", id: "legal-no-steps", i18n: "legal.steps.none" })])),
  );
}

/**
 * detailsArea shows a request's sealed details (the agency, its contact,
 * the accounts named, the summary) once read resolves, read-only; the read
 * is in the operator's audit log. Every value is text, never markup.
 */
function detailsArea(read) {
  const body = h("div", { id: "legal-details-body", "aria-busy": "true" }, loading());
  const orDash = (value) => (value ? h("span", {}, value) : h("span", { class: "muted" }, "—"));
  read
    .then((v) => {
      const d = (v && v.details) || {};
      const accounts = h("ul", { id: "legal-details-accounts", class: "mono" }, ...(d.accounts || []).map((a) => h("li", {}, a)));
      body.replaceChildren(
        h(
          "dl",
          { class: "facts" },
          fact({ labelKey: "legal.intake.agency" }, h("span", { id: "legal-details-agency" }, d.agency || "")),
          fact({ labelKey: "legal.intake.contact" }, orDash(d.contact)),
          fact({ labelKey: "legal.intake.accounts" }, accounts),
          fact({ labelKey: "legal.intake.summary" }, d.summary ? h("p", { class: "quote", id: "legal-details-summary" }, d.summary) : orDash("")),
        ),
      );
      body.dataset.loaded = "true";
    })
    .catch((err) => {
      const p = h("p", { class: "field-error", role: "alert" });
      setMessage(p, describeError(err));
      body.replaceChildren(p);
      body.dataset.loaded = "error";
    })
    .finally(() => body.removeAttribute("aria-busy"));
  // Laid out as the steps' own blocks are.
  return h(
    "section",
    { class: "legal-step legal-details", id: "legal-details", "aria-labelledby": "legal-details-title" },
    h("h3", { id: "legal-details-title", i18n: "legal.details.title" }),
    h("p", { class: "muted", i18n: "legal.details.lead" }),
    body,
  );
}

/**
 * downloadArea is the link to a disclosure's signed package. The page
 * fetches it itself so that it can say when the package is still being
 * built (409) instead of saving an error as a file; the download is
 * audited in the operator's log either way.
 */
function downloadArea(r) {
  const href = ID.test(r.id) ? `/api/v1/operator/legal-requests/${encodeURIComponent(r.id)}/disclosure` : "";
  const note = h("p", { class: "muted", id: "legal-download-status", role: "status" });
  const link = h("a", { class: "button button-primary button-small", id: "legal-download", href, download: `kaigi-disclosure-${r.id}.tar` }, icon("download"), h("span", { i18n: "legal.download.link" }));
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    if (link.dataset.busy === "true") {
      return;
    }
    link.dataset.busy = "true";
    link.setAttribute("aria-disabled", "true");
    setMessage(note, { messageKey: "legal.download.fetching" });
    delete note.dataset.state;
    try {
      const res = await fetch(href, { credentials: "same-origin", cache: "no-store" });
      if (!res.ok) {
        const data = await res.json().catch(() => null);
        const e = (data && data.error) || {};
        const err = new ApiError({ status: res.status, code: e.code || "", message: typeof e.message === "string" ? e.message : "" });
        note.dataset.state = res.status === 409 ? "building" : "failed";
        setMessage(note, res.status === 409 && !err.apiMessage ? { messageKey: "legal.download.building" } : describeError(err));
        return;
      }
      const blob = await res.blob();
      const sha = res.headers.get("X-Kaigi-SHA256") || "";
      const url = URL.createObjectURL(blob);
      const save = h("a", { href: url, download: `kaigi-disclosure-${r.id}.tar`, class: "visually-hidden" });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      note.dataset.state = "done";
      note.dataset.bytes = String(blob.size);
      note.dataset.sha256 = sha;
      setMessage(note, { messageKey: "legal.download.done", params: { bytes: blob.size, sha256: sha } });
    } catch {
      note.dataset.state = "failed";
      setMessage(note, { messageKey: "error.offline" });
    } finally {
      delete link.dataset.busy;
      link.removeAttribute("aria-disabled");
    }
  });
  return h("div", { class: "legal-download" }, h("p", { class: "banner compliance-note" }, icon("shield", "icon banner-icon"), h("span", { class: "banner-text", i18n: "legal.download.lead" })), h("p", {}, link), note);
}

// ---- the ledger's chain

function verifyArea() {
  const result = h("div", { id: "legal-verification", role: "status" });
  const b = button({ labelKey: "legal.verify.submit", iconName: "shield", attrs: { id: "legal-verify" } });
  b.addEventListener("click", async () => {
    if (isBusy(b)) {
      return;
    }
    const done = busy(b, { messageKey: "legal.verify.checking" });
    delete result.dataset.ok;
    try {
      const v = await api.get("/api/v1/operator/legal-ledger/verification");
      result.dataset.ok = String(!!v.ok);
      result.dataset.entries = String(v.entries);
      if (v.ok) {
        result.replaceChildren(h("p", { class: "banner banner-success" }, icon("check", "icon banner-icon"), h("span", { class: "banner-text", i18n: "legal.verify.ok", i18nParams: { count: v.entries } })));
      } else {
        result.replaceChildren(
          h("p", { class: "banner banner-warning" }, icon("info", "icon banner-icon"), h("span", { class: "banner-text" }, h("span", { i18n: "legal.verify.broken", i18nParams: { count: v.entries } }), " ", h("span", {}, v.problem || ""))),
        );
      }
    } catch (err) {
      result.dataset.ok = "error";
      const p = h("p", { class: "field-error" });
      setMessage(p, describeError(err));
      result.replaceChildren(p);
    } finally {
      done();
    }
  });
  return h("div", { class: "legal-verify" }, h("div", { class: "form-actions" }, b), result);
}
