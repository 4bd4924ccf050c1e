// The audit log in the compliance center (/compliance/audit): search the
// organisation's audit log and page through it, export what a search finds
// (JSON Lines or CSV, streamed by the server), verify the hash chain and its
// signed checkpoints, see and set how long records are kept, and stream the
// log to SIEMs (signed webhooks, syslog over TLS). Every search, export and
// change is audited on the server.

import { h, time } from "./dom.js";
import { api } from "./api.js";
import { isComplianceOfficer, isTenantAdmin, showLoadError } from "./session.js";
import { alertRegion, busy, button, confirmDialog, field, isBusy, loading, option, panel, secretBox, statusRegion } from "./ui.js";

/** The actor kinds a search may ask for, as the API names them. */
const ACTOR_KINDS = [
  { value: "", labelKey: "audit.any" },
  { value: "member", labelKey: "audit.kind.member" },
  { value: "guest", labelKey: "audit.kind.guest" },
  { value: "tenant_admin", labelKey: "audit.kind.tenantAdmin" },
  { value: "compliance_officer", labelKey: "audit.kind.complianceOfficer" },
  { value: "operator", labelKey: "audit.kind.operator" },
  { value: "operator_with_grant", labelKey: "audit.kind.operatorWithGrant" },
  { value: "system", labelKey: "audit.kind.system" },
  { value: "anonymous", labelKey: "audit.kind.anonymous" },
];

const RESULTS = [
  { value: "", labelKey: "audit.any" },
  { value: "success", labelKey: "audit.result.success" },
  { value: "failure", labelKey: "audit.result.failure" },
  { value: "denied", labelKey: "audit.result.denied" },
];

/** The audit section of the compliance center. */
export function auditSection() {
  const officer = isComplianceOfficer();
  const admin = isTenantAdmin();
  const panels = [searchPanel()];
  if (officer) {
    panels.push(verifyPanel());
  }
  panels.push(retentionPanel({ admin }), sinksPanel());
  return h("div", { class: "panels audit" }, ...panels);
}

// ---- search and export

/** isoOf turns a datetime-local value (local time) into RFC 3339, or "". */
function isoOf(value) {
  if (!value) {
    return "";
  }
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

/** detailText shows a record's details (a JSON object) as "key: value" pairs. */
function detailText(details) {
  try {
    const d = JSON.parse(details || "{}");
    return Object.entries(d)
      .map(([k, v]) => `${k}: ${v}`)
      .join(", ");
  } catch {
    return String(details || "");
  }
}

function searchPanel() {
  const alert = alertRegion();
  const status = statusRegion("visually-hidden");
  const from = field({ id: "audit-from", labelKey: "audit.filter.from", type: "datetime-local", optional: true, attrs: { name: "from" } });
  const to = field({ id: "audit-to", labelKey: "audit.filter.to", type: "datetime-local", optional: true, attrs: { name: "to" } });
  const actor = field({ id: "audit-actor", labelKey: "audit.filter.actor", optional: true, attrs: { name: "actor_id", maxlength: "256", autocomplete: "off", spellcheck: "false" } });
  const kind = field({ id: "audit-kind", labelKey: "audit.filter.kind", tag: "select", attrs: { name: "actor_kind" }, options: ACTOR_KINDS.map((k) => option(k)) });
  const action = field({
    id: "audit-action",
    labelKey: "audit.filter.action",
    hintKey: "audit.filter.actionHint",
    optional: true,
    attrs: { name: "action", maxlength: "256", autocomplete: "off", spellcheck: "false" },
  });
  const target = field({ id: "audit-target", labelKey: "audit.filter.target", optional: true, attrs: { name: "target", maxlength: "256", autocomplete: "off", spellcheck: "false" } });
  const result = field({ id: "audit-result", labelKey: "audit.filter.result", tag: "select", attrs: { name: "result" }, options: RESULTS.map((r) => option(r)) });
  const submit = button({ labelKey: "audit.search", kind: "primary", type: "submit", iconName: "compass", attrs: { id: "audit-search" } });
  const jsonl = h("a", { class: "button button-secondary button-small", id: "audit-export-jsonl", download: "", href: "/api/v1/audit/export?format=jsonl" }, h("span", { i18n: "audit.export.jsonl" }));
  const csv = h("a", { class: "button button-secondary button-small", id: "audit-export-csv", download: "", href: "/api/v1/audit/export?format=csv" }, h("span", { i18n: "audit.export.csv" }));
  const results = h("div", { id: "audit-results", class: "table-wrap" });
  const more = button({ labelKey: "audit.more", small: true, attrs: { id: "audit-more", hidden: true } });
  const form = h(
    "form",
    { class: "form form-tight audit-filter", id: "audit-search-form", method: "get", novalidate: true, role: "search" },
    h("div", { class: "form-row" }, from.el, to.el),
    h("div", { class: "form-row" }, actor.el, kind.el),
    h("div", { class: "form-row" }, action.el, target.el, result.el),
    h("div", { class: "form-actions" }, submit),
  );
  /** @type {URLSearchParams} the filter of the search shown */
  let query = new URLSearchParams();
  let next = "";
  let rows = [];
  let generation = 0;

  function readFilter() {
    const q = new URLSearchParams();
    const set = (name, value) => {
      if (value) {
        q.set(name, value);
      }
    };
    set("from", isoOf(from.input.value));
    set("to", isoOf(to.input.value));
    set("actor_id", actor.input.value.trim());
    set("actor_kind", kind.input.value);
    set("action", action.input.value.trim());
    set("target", target.input.value.trim());
    set("result", result.input.value);
    return q;
  }

  function exportLinks() {
    for (const [a, format] of [
      [jsonl, "jsonl"],
      [csv, "csv"],
    ]) {
      const q = new URLSearchParams(query);
      q.set("format", format);
      a.href = `/api/v1/audit/export?${q}`;
    }
  }

  async function load({ append = false } = {}) {
    const mine = ++generation;
    alert.clear();
    results.setAttribute("aria-busy", "true");
    if (!append) {
      rows = [];
      results.replaceChildren(loading());
    }
    const q = new URLSearchParams(query);
    q.set("limit", "50");
    if (append && next) {
      q.set("before", next);
    }
    try {
      const page = await api.get(`/api/v1/audit/records?${q}`);
      if (mine !== generation) {
        return;
      }
      rows = rows.concat(page.records || []);
      next = page.next || "";
      draw();
      status.show({ messageKey: "audit.count", params: { count: rows.length } });
    } catch (err) {
      if (mine === generation) {
        if (!append) {
          results.replaceChildren();
        }
        showLoadError(err, alert);
      }
    } finally {
      if (mine === generation) {
        results.removeAttribute("aria-busy");
      }
    }
  }

  function draw() {
    more.hidden = !next;
    if (!rows.length) {
      results.replaceChildren(h("p", { class: "item-empty", id: "audit-empty", i18n: "audit.empty" }));
      return;
    }
    const head = h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col", i18n: "audit.col.seq" }),
        h("th", { scope: "col", i18n: "audit.col.time" }),
        h("th", { scope: "col", i18n: "audit.col.actor" }),
        h("th", { scope: "col", i18n: "audit.col.action" }),
        h("th", { scope: "col", i18n: "audit.col.target" }),
        h("th", { scope: "col", i18n: "audit.col.result" }),
        h("th", { scope: "col", i18n: "audit.col.details" }),
      ),
    );
    const body = h(
      "tbody",
      {},
      ...rows.map((r) =>
        h(
          "tr",
          { "data-seq": String(r.seq), class: "audit-row" },
          h("th", { scope: "row" }, String(r.seq)),
          h("td", {}, time(r.time)),
          h("td", {}, h("bdi", { class: "mono" }, r.actor_id || "—"), " ", h("span", { class: "muted" }, "(", r.actor_kind, ")")),
          h("td", { class: "mono audit-action" }, r.action),
          h("td", {}, h("bdi", { class: "mono" }, r.target || "—")),
          h("td", { class: "audit-result" }, r.result),
          h("td", {}, h("span", { class: "mono audit-details" }, detailText(r.details))),
        ),
      ),
    );
    results.replaceChildren(h("table", { class: "table audit-table", "aria-labelledby": "audit-search-panel-heading" }, head, body));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(submit)) {
      return;
    }
    query = readFilter();
    exportLinks();
    next = "";
    const done = busy(submit, { messageKey: "audit.searching" });
    await load();
    done();
  });
  more.addEventListener("click", async () => {
    if (isBusy(more) || !next) {
      return;
    }
    const done = busy(more, { messageKey: "common.loadingShort" });
    const first = rows.length;
    await load({ append: true });
    done();
    const row = results.querySelectorAll("tbody tr")[first];
    if (row) {
      row.setAttribute("tabindex", "-1");
      row.focus();
    }
  });
  load();
  return panel(
    { titleKey: "audit.search.title", leadKey: "audit.search.lead", id: "audit-search-panel", actions: [jsonl, csv] },
    form,
    alert.el,
    results,
    h("div", { class: "form-actions" }, more),
    status.el,
  );
}

// ---- verification

function verifyPanel() {
  const alert = alertRegion();
  const report = h("div", { id: "audit-verify-report", role: "status" });
  const run = button({ labelKey: "audit.verify.run", kind: "primary", iconName: "shield", attrs: { id: "audit-verify" } });
  run.addEventListener("click", async () => {
    if (isBusy(run)) {
      return;
    }
    alert.clear();
    report.replaceChildren();
    const done = busy(run, { messageKey: "audit.verify.running" });
    try {
      const v = await api.get("/api/v1/audit/verification");
      if (v.ok) {
        report.replaceChildren(
          h("p", { class: "banner banner-success", "data-ok": "true" }, h("span", { i18n: "audit.verify.ok", i18nParams: { records: v.records, checkpoints: v.checkpoints } })),
        );
      } else {
        const where = v.broken_at ? h("span", { i18n: "audit.verify.brokenAt", i18nParams: { seq: v.broken_at } }) : h("span", { i18n: "audit.verify.broken" });
        report.replaceChildren(h("p", { class: "banner banner-warning", "data-ok": "false" }, where, " ", h("span", {}, v.problem || "")));
      }
    } catch (err) {
      showLoadError(err, alert);
    } finally {
      done();
    }
  });
  return panel({ titleKey: "audit.verify.title", leadKey: "audit.verify.lead", id: "audit-verify-panel" }, h("div", {}, run), alert.el, report);
}

// ---- retention

function retentionPanel({ admin }) {
  const box = h("div", {}, loading());
  const alert = alertRegion();
  const status = statusRegion();

  function draw(st) {
    const pruned = st.pruned_through
      ? h("p", { class: "muted", id: "audit-pruned", i18n: "audit.retention.pruned", i18nParams: { seq: st.pruned_through } })
      : h("p", { class: "muted", id: "audit-pruned", i18n: "audit.retention.none" });
    if (!admin) {
      box.replaceChildren(h("p", { id: "audit-retention-years", i18n: "audit.retention.current", i18nParams: { years: st.retention_years } }), pruned);
      return;
    }
    const years = field({
      id: "audit-retention",
      labelKey: "audit.retention.years",
      hintKey: "audit.retention.hint",
      type: "number",
      attrs: { min: "1", max: "10", step: "1", inputmode: "numeric", class: "input-short", required: true },
    });
    years.input.value = String(st.retention_years);
    const save = button({ labelKey: "common.save", kind: "primary", type: "submit", attrs: { id: "audit-retention-save" } });
    const form = h("form", { class: "form form-tight", novalidate: true, id: "audit-retention-form" }, years.el, h("div", { class: "form-actions" }, save));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (isBusy(save)) {
        return;
      }
      alert.clear();
      const n = Number(years.input.value);
      if (!Number.isInteger(n) || n < 1 || n > 10) {
        years.setError({ messageKey: "audit.retention.range" });
        years.input.focus();
        return;
      }
      years.setError(null);
      const done = busy(save, { messageKey: "common.saving" });
      try {
        await api.put("/api/v1/audit/settings", { retention_years: n });
        status.show({ messageKey: "audit.retention.saved" });
      } catch (err) {
        showLoadError(err, alert);
      } finally {
        done();
      }
    });
    box.replaceChildren(form, pruned);
  }

  (async () => {
    try {
      draw(await api.get("/api/v1/audit/settings"));
    } catch (err) {
      box.replaceChildren();
      showLoadError(err, alert);
    }
  })();
  return panel({ titleKey: "audit.retention.title", leadKey: "audit.retention.lead", id: "audit-retention-panel" }, box, alert.el, status.el);
}

// ---- SIEM sinks

function sinksPanel() {
  const list = h("div", { id: "audit-sinks" }, loading());
  const alert = alertRegion();
  const status = statusRegion();
  const secret = h("div", { id: "audit-sink-secret" });

  async function load() {
    try {
      const body = await api.get("/api/v1/audit/sinks");
      draw(body.sinks || []);
    } catch (err) {
      list.replaceChildren();
      showLoadError(err, alert);
    }
  }

  function draw(sinks) {
    if (!sinks.length) {
      list.replaceChildren(h("p", { class: "item-empty", i18n: "audit.sinks.empty" }));
      return;
    }
    list.replaceChildren(
      h(
        "ul",
        { class: "item-list" },
        ...sinks.map((s) => {
          const titleId = `sink-${s.id}-title`;
          const health = s.failures
            ? h("span", { class: "badge badge-danger", i18n: "audit.sinks.failing", i18nParams: { failures: s.failures } })
            : h("span", { class: "badge badge-success", i18n: "audit.sinks.healthy" });
          const remove = button({
            labelKey: "audit.sinks.remove",
            kind: "quiet",
            small: true,
            iconName: "trash",
            attrs: { "aria-describedby": titleId },
            onClick: async () => {
              const yes = await confirmDialog({ titleKey: "audit.sinks.removeTitle", bodyKey: "audit.sinks.removeBody", confirmKey: "audit.sinks.remove", danger: true });
              if (!yes) {
                return;
              }
              try {
                await api.del(`/api/v1/audit/sinks/${encodeURIComponent(s.id)}`);
                status.show({ messageKey: "audit.sinks.removed" });
                await load();
              } catch (err) {
                showLoadError(err, alert);
              }
            },
          });
          return h(
            "li",
            { class: "item", "data-sink": s.id },
            h(
              "div",
              { class: "item-main" },
              h("p", { class: "item-title" }, h("bdi", { id: titleId }, s.name), " ", health),
              h("p", { class: "item-meta" }, h("span", { class: "mono" }, s.kind), " · ", h("bdi", { class: "mono" }, s.endpoint)),
              h(
                "p",
                { class: "item-meta" },
                h("span", { i18n: "audit.sinks.cursor", i18nParams: { seq: s.cursor } }),
                ...(s.delivered ? [" · ", h("span", { i18n: "audit.sinks.delivered" }), " ", time(s.delivered)] : []),
              ),
              ...(s.last_error ? [h("p", { class: "field-error" }, h("span", { i18n: "audit.sinks.lastError" }), " ", h("bdi", {}, s.last_error))] : []),
              h("div", { class: "item-actions" }, remove),
            ),
          );
        }),
      ),
    );
  }

  const kind = field({
    id: "audit-sink-kind",
    labelKey: "audit.sinks.kind",
    tag: "select",
    options: [option({ value: "webhook", labelKey: "audit.sinks.webhook" }), option({ value: "syslog", labelKey: "audit.sinks.syslog" })],
  });
  const name = field({ id: "audit-sink-name", labelKey: "audit.sinks.name", attrs: { maxlength: "100", autocomplete: "off", required: true } });
  const endpoint = field({ id: "audit-sink-endpoint", labelKey: "audit.sinks.endpoint", hintKey: "audit.sinks.endpointHint", attrs: { maxlength: "900", autocomplete: "off", spellcheck: "false", required: true } });
  const ca = field({ id: "audit-sink-ca", labelKey: "audit.sinks.ca", hintKey: "audit.sinks.caHint", tag: "textarea", optional: true, attrs: { rows: "3", spellcheck: "false", class: "mono-input" } });
  const add = button({ labelKey: "audit.sinks.add", kind: "primary", type: "submit", iconName: "plus", attrs: { id: "audit-sink-add" } });
  const form = h("form", { class: "form form-tight", novalidate: true, id: "audit-sink-form" }, kind.el, name.el, endpoint.el, ca.el, h("div", { class: "form-actions" }, add));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(add)) {
      return;
    }
    alert.clear();
    secret.replaceChildren();
    for (const f of [name, endpoint]) {
      f.setError(null);
    }
    if (!name.input.value.trim()) {
      name.setError({ messageKey: "audit.sinks.nameMissing" });
      name.input.focus();
      return;
    }
    if (!endpoint.input.value.trim()) {
      endpoint.setError({ messageKey: "audit.sinks.endpointMissing" });
      endpoint.input.focus();
      return;
    }
    const done = busy(add, { messageKey: "common.saving" });
    try {
      const created = await api.post("/api/v1/audit/sinks", { kind: kind.input.value, name: name.input.value.trim(), endpoint: endpoint.input.value.trim(), ca_pem: ca.input.value });
      form.reset();
      if (created.secret) {
        secret.replaceChildren(secretBox(created.secret, { labelKey: "audit.sinks.secret" }), h("p", { class: "field-hint", i18n: "audit.sinks.secretOnce" }));
      }
      status.show({ messageKey: "audit.sinks.added" });
      await load();
    } catch (err) {
      showLoadError(err, alert);
    } finally {
      done();
    }
  });
  load();
  return panel(
    { titleKey: "audit.sinks.title", leadKey: "audit.sinks.lead", id: "audit-sinks-panel" },
    list,
    secret,
    h("details", { class: "disclosure disclosure-boxed" }, h("summary", { i18n: "audit.sinks.new" }), h("div", { class: "disclosure-body" }, form)),
    alert.el,
    status.el,
  );
}
