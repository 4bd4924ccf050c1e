// Retention and legal holds in the compliance center.
//
// /compliance/retention (tenant admins and compliance officers): the
// retention policies and a form for a new one; the deletion job, run on
// demand, with its progress; and "Why is this kept?" for a message or a
// recording. /compliance/holds (compliance officers): legal holds, a form
// to place one, and release. Every change is audited on the server.

import { h, icon, time } from "./dom.js";
import { t } from "./i18n.js";
import { api } from "./api.js";
import { showLoadError } from "./session.js";
import { alertRegion, badge, busy, button, checkbox, confirmDialog, field, isBusy, loading, option, panel, statusRegion } from "./ui.js";

const ID = /^[A-Za-z0-9_-]{1,64}$/;

const KINDS = [
  { value: "retain_then_delete", labelKey: "retention.kind.retain_then_delete" },
  { value: "retain", labelKey: "retention.kind.retain" },
  { value: "delete", labelKey: "retention.kind.delete" },
];

/** idList splits ids typed with commas, spaces or new lines. */
function idList(value) {
  return [
    ...new Set(
      String(value)
        .split(/[\s,;]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

function kindLabel(kind) {
  const k = KINDS.find((x) => x.value === kind);
  return k ? h("span", { i18n: k.labelKey }) : h("span", {}, String(kind));
}

/** scopeText summarises a policy's scope. */
function scopeText(s) {
  if (!s || s.all) {
    return h("span", { i18n: "retention.scope.all" });
  }
  return h("span", {
    i18n: "retention.scope.lists",
    i18nParams: { teams: (s.teams || []).length, chats: (s.chats || []).length, users: (s.users || []).length },
  });
}

/** The labels of a job's states and kinds, and of an item's fate. */
const JOB_STATES = [
  { state: "queued", labelKey: "retention.job.queued" },
  { state: "running", labelKey: "retention.job.running" },
  { state: "done", labelKey: "retention.job.done" },
  { state: "failed", labelKey: "retention.job.failed" },
  { state: "cancelled", labelKey: "retention.job.cancelled" },
];
const JOB_KINDS = { eraseKey: "retention.job.erase", deleteKey: "retention.job.delete" };
const OUTCOMES = [
  { outcome: "keep", labelKey: "retention.outcome.keep" },
  { outcome: "kept_until", labelKey: "retention.outcome.kept_until" },
  { outcome: "delete_on", labelKey: "retention.outcome.delete_on" },
  { outcome: "due", labelKey: "retention.outcome.due" },
  { outcome: "held", labelKey: "retention.outcome.held" },
];
const ITEM_KINDS = { recordingKey: "retention.why.recording", messageKey: "retention.why.message" };
const FACTS = {
  itemKey: "retention.why.item",
  outcomeKey: "retention.why.outcome",
  keptUntilKey: "retention.why.keptUntil",
  deleteOnKey: "retention.why.deleteOn",
};
const jobStateKey = (state) => (JOB_STATES.find((x) => x.state === state) || JOB_STATES[0]).labelKey;
const outcomeKey = (outcome) => (OUTCOMES.find((x) => x.outcome === outcome) || OUTCOMES[0]).labelKey;

/** jobProgress shows a job: its state, a bar and "done of total". */
function jobProgress(j) {
  const total = Math.max(j.total || 0, 1);
  const done = Math.min(j.done || 0, total);
  const tone = j.state === "done" ? "success" : j.state === "failed" ? "danger" : "warning";
  const out = h(
    "span",
    { class: "job-progress-wrap", "data-state": j.state },
    badge({ labelKey: jobStateKey(j.state), tone }),
    " ",
    h("progress", { class: "job-progress", max: String(total), value: String(done), "aria-label": t("retention.job.progressLabel") }),
    " ",
    h("span", { class: "job-progress-text", i18n: "retention.job.progress", i18nParams: { done: j.done || 0, total: j.total || 0 } }),
  );
  if (j.state === "failed" && j.error) {
    out.append(" ", h("span", { class: "field-error" }, j.error));
  }
  return out;
}

/** resultText says what a finished job deleted, from its counts. */
function resultText(j) {
  if (!j.result) {
    return null;
  }
  let c;
  try {
    c = JSON.parse(j.result);
  } catch {
    return null;
  }
  return h("span", {
    class: "job-result",
    i18n: "retention.job.result",
    i18nParams: { messages: c.messages || 0, attachments: c.attachments || 0, recordings: c.recordings || 0, blobs: c.blobs || 0 },
  });
}

/**
 * confirmButton is a small button for a change that cannot be undone: it
 * asks first (confirmDialog's keys), then runs act while busy and shows
 * act's error in alert.
 */
function confirmButton(opts, confirm, alert, act) {
  const b = button({
    ...opts,
    small: true,
    onClick: async () => {
      if (isBusy(b) || !(await confirmDialog({ ...confirm, danger: true }))) {
        return;
      }
      const done = busy(b, { messageKey: "common.saving" });
      try {
        await act();
      } catch (err) {
        showLoadError(err, alert);
      } finally {
        done();
      }
    },
  });
  return b;
}

// ---- retention

/** The retention section: policies, the deletion job, why-kept. */
export function retentionSection() {
  return h("div", { class: "panels retention" }, policiesPanel(), jobsPanel(), whyPanel());
}

function policiesPanel() {
  const alert = alertRegion();
  const status = statusRegion();
  const area = h("div", { id: "retention-policies" }, loading());

  async function load() {
    try {
      draw((await api.get("/api/v1/compliance/retention/policies")) || []);
    } catch (err) {
      area.replaceChildren();
      showLoadError(err, alert);
    }
  }

  function draw(list) {
    if (!list.length) {
      area.replaceChildren(h("p", { class: "item-empty", id: "retention-policies-empty", i18n: "retention.policies.empty" }));
      return;
    }
    area.replaceChildren(
      h(
        "ul",
        { class: "item-list" },
        ...list.map((p) => {
          const titleId = `policy-${p.id}-title`;
          const remove = confirmButton(
            { labelKey: "retention.policy.remove", kind: "quiet", iconName: "trash", attrs: { "aria-describedby": titleId, class: "policy-remove" } },
            { titleKey: "retention.policy.removeTitle", bodyKey: "retention.policy.removeBody", confirmKey: "retention.policy.remove" },
            alert,
            async () => {
              await api.del(`/api/v1/compliance/retention/policies/${encodeURIComponent(p.id)}`);
              status.show({ messageKey: "retention.policy.removed" });
              await load();
            },
          );
          return h(
            "li",
            { class: "item policy-item", "data-policy": p.id },
            h("span", { class: "item-icon" }, icon("clock")),
            h(
              "div",
              { class: "item-main" },
              h("p", { class: "item-title", id: titleId }, h("bdi", {}, p.name)),
              h(
                "p",
                { class: "item-meta" },
                kindLabel(p.kind),
                h("span", { class: "item-sep", "aria-hidden": "true" }, "·"),
                h("span", { i18n: "retention.policy.days", i18nParams: { days: p.days } }),
                h("span", { class: "item-sep", "aria-hidden": "true" }, "·"),
                scopeText(p.scope),
              ),
            ),
            h("div", { class: "item-actions" }, remove),
          );
        }),
      ),
    );
  }

  const name = field({ id: "policy-name", labelKey: "retention.policy.name", attrs: { maxlength: "120", autocomplete: "off", required: true } });
  const kind = field({ id: "policy-kind", labelKey: "retention.policy.kind", tag: "select", hintKey: "retention.policy.kindHint", options: KINDS.map((k) => option(k)) });
  const days = field({ id: "policy-days", labelKey: "retention.policy.daysLabel", type: "number", hintKey: "retention.policy.daysHint", attrs: { min: "1", max: "36500", step: "1", inputmode: "numeric", class: "input-short", required: true } });
  days.input.value = "365";
  const all = checkbox({ id: "policy-all", labelKey: "retention.policy.all", checked: true });
  const teams = field({ id: "policy-teams", labelKey: "retention.policy.teams", tag: "textarea", optional: true, attrs: { rows: "2", spellcheck: "false", class: "mono-input" } });
  const chats = field({ id: "policy-chats", labelKey: "retention.policy.chats", tag: "textarea", optional: true, attrs: { rows: "2", spellcheck: "false", class: "mono-input" } });
  const users = field({ id: "policy-users", labelKey: "retention.policy.users", tag: "textarea", optional: true, attrs: { rows: "2", spellcheck: "false", class: "mono-input" } });
  const lists = h("div", { class: "form form-tight", id: "policy-lists" }, h("p", { class: "field-hint", i18n: "retention.policy.listsHint" }), teams.el, chats.el, users.el);
  const allInput = all.el.querySelector("input");
  const sync = () => {
    lists.hidden = allInput.checked;
  };
  allInput.addEventListener("change", sync);
  sync();
  const submit = button({ labelKey: "retention.policy.create", kind: "primary", type: "submit", attrs: { id: "policy-create" } });
  const formAlert = alertRegion();
  const form = h("form", { class: "form", novalidate: true, id: "policy-form" }, h("h3", { class: "subheading", i18n: "retention.policy.new" }), name.el, kind.el, days.el, all.el, lists, formAlert.el, h("div", { class: "form-actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(submit)) {
      return;
    }
    formAlert.clear();
    name.setError(null);
    days.setError(null);
    const n = name.input.value.trim();
    if (!n) {
      name.setError({ messageKey: "retention.policy.nameMissing" });
      name.input.focus();
      return;
    }
    const d = Number(days.input.value);
    if (!Number.isInteger(d) || d < 1 || d > 36500) {
      days.setError({ messageKey: "retention.policy.daysRange" });
      days.input.focus();
      return;
    }
    const scope = allInput.checked ? { all: true } : { teams: idList(teams.input.value), chats: idList(chats.input.value), users: idList(users.input.value) };
    const done = busy(submit, { messageKey: "common.saving" });
    try {
      await api.post("/api/v1/compliance/retention/policies", { name: n, kind: kind.input.value, days: d, scope });
      form.reset();
      days.input.value = "365";
      allInput.checked = true;
      sync();
      status.show({ messageKey: "retention.policy.created" });
      await load();
    } catch (err) {
      showLoadError(err, formAlert);
    } finally {
      done();
    }
  });
  load();
  return panel({ titleKey: "retention.policies.title", leadKey: "retention.policies.lead", id: "retention-policies-panel" }, area, alert.el, status.el, form);
}

function jobsPanel() {
  const alert = alertRegion();
  const status = statusRegion();
  const area = h("div", { id: "retention-jobs", "aria-live": "polite" }, loading());
  let timer = 0;

  async function load() {
    clearTimeout(timer);
    try {
      const list = ((await api.get("/api/v1/compliance/retention/jobs")) || {}).jobs || [];
      draw(list);
      if (list.some((j) => j.state === "queued" || j.state === "running")) {
        timer = setTimeout(() => {
          if (area.isConnected) {
            load();
          }
        }, 1000);
      }
    } catch (err) {
      area.replaceChildren();
      showLoadError(err, alert);
    }
  }

  function draw(list) {
    if (!list.length) {
      area.replaceChildren(h("p", { class: "item-empty", i18n: "retention.jobs.empty" }));
      return;
    }
    area.replaceChildren(
      h(
        "ul",
        { class: "item-list" },
        ...list.slice(0, 10).map((j) => {
          const result = resultText(j);
          return h(
            "li",
            { class: "item retention-job", "data-job": j.id, "data-state": j.state },
            h("span", { class: "item-icon" }, icon(j.kind === "retention.erase" ? "users" : "trash")),
            h(
              "div",
              { class: "item-main" },
              h("p", { class: "item-title" }, h("span", { i18n: j.kind === "retention.erase" ? JOB_KINDS.eraseKey : JOB_KINDS.deleteKey }), " ", time(j.created)),
              h("p", { class: "item-meta" }, jobProgress(j)),
              ...(result ? [h("p", { class: "item-summary" }, result)] : []),
            ),
          );
        }),
      ),
    );
  }

  const run = button({
    labelKey: "retention.run",
    kind: "primary",
    iconName: "refresh",
    attrs: { id: "retention-run" },
    onClick: async () => {
      if (isBusy(run)) {
        return;
      }
      alert.clear();
      const done = busy(run, { messageKey: "retention.run.starting" });
      try {
        await api.post("/api/v1/compliance/retention/runs");
        status.show({ messageKey: "retention.run.started" });
        await load();
      } catch (err) {
        showLoadError(err, alert);
      } finally {
        done();
      }
    },
  });
  load();
  return panel({ titleKey: "retention.jobs.title", leadKey: "retention.jobs.lead", id: "retention-jobs-panel", actions: [run] }, area, alert.el, status.el);
}

function whyPanel() {
  const alert = alertRegion();
  const id = field({ id: "why-id", labelKey: "retention.why.id", hintKey: "retention.why.idHint", attrs: { autocomplete: "off", spellcheck: "false", class: "mono-input", required: true } });
  const result = h("div", { id: "why-result", "aria-live": "polite" });
  const submit = button({ labelKey: "retention.why.ask", type: "submit", attrs: { id: "why-submit" } });
  const form = h("form", { class: "form form-tight", novalidate: true, id: "why-form" }, id.el, alert.el, h("div", { class: "form-actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(submit)) {
      return;
    }
    alert.clear();
    id.setError(null);
    const v = id.input.value.trim();
    if (!ID.test(v)) {
      id.setError({ messageKey: "retention.why.badId" });
      id.input.focus();
      return;
    }
    const done = busy(submit, { messageKey: "common.loadingShort" });
    try {
      draw(await api.get(`/api/v1/compliance/retention/items/${encodeURIComponent(v)}`));
    } catch (err) {
      result.replaceChildren();
      showLoadError(err, alert);
    } finally {
      done();
    }
  });

  function draw(f) {
    const facts = [
      fact(FACTS.itemKey, h("span", { i18n: f.item.kind === "recording" ? ITEM_KINDS.recordingKey : ITEM_KINDS.messageKey }), " ", time(f.item.created)),
      fact(FACTS.outcomeKey, h("span", { class: "why-outcome", "data-outcome": f.outcome, i18n: outcomeKey(f.outcome) })),
    ];
    if (f.kept_until) {
      facts.push(fact(FACTS.keptUntilKey, time(f.kept_until)));
    }
    if (f.delete_on) {
      facts.push(fact(FACTS.deleteOnKey, time(f.delete_on)));
    }
    const policies = f.policies.length
      ? h("ul", { class: "plain-list why-policies" }, ...f.policies.map((p) => h("li", {}, h("bdi", {}, p.name), " — ", kindLabel(p.kind), ", ", h("span", { i18n: "retention.policy.days", i18nParams: { days: p.days } }))))
      : h("p", { class: "muted", i18n: "retention.why.noPolicies" });
    const holds = f.holds.length
      ? h("ul", { class: "plain-list why-holds" }, ...f.holds.map((x) => h("li", {}, x.name ? h("bdi", {}, x.name) : h("span", { class: "muted", i18n: "retention.why.holdUnnamed" }))))
      : h("p", { class: "muted", i18n: "retention.why.noHolds" });
    result.replaceChildren(
      h("dl", { class: "facts" }, ...facts),
      h("h3", { class: "subheading", i18n: "retention.why.policies" }),
      policies,
      h("h3", { class: "subheading", i18n: "retention.why.holds" }),
      holds,
    );
  }
  return panel({ titleKey: "retention.why.title", leadKey: "retention.why.lead", id: "why-panel" }, form, result);
}

function fact(labelKey, ...value) {
  return h("div", { class: "fact" }, h("dt", { i18n: labelKey }), h("dd", {}, ...value));
}

// ---- legal holds

/** The legal holds section, for compliance officers. */
export function holdsSection() {
  const alert = alertRegion();
  const status = statusRegion();
  const area = h("div", { id: "holds" }, loading());
  const showReleased = checkbox({ id: "holds-all", labelKey: "holds.showReleased" });
  const allInput = showReleased.el.querySelector("input");
  allInput.addEventListener("change", () => load());

  async function load() {
    try {
      draw((await api.get(`/api/v1/compliance/holds${allInput.checked ? "?all=true" : ""}`)) || []);
    } catch (err) {
      area.replaceChildren();
      showLoadError(err, alert);
    }
  }

  function draw(list) {
    if (!list.length) {
      area.replaceChildren(h("p", { class: "item-empty", id: "holds-empty", i18n: "holds.empty" }));
      return;
    }
    area.replaceChildren(
      h(
        "ul",
        { class: "item-list" },
        ...list.map((x) => {
          const titleId = `hold-${x.id}-title`;
          const active = !x.released;
          const actions = [];
          if (active) {
            actions.push(
              confirmButton(
                { labelKey: "holds.release", attrs: { "aria-describedby": titleId, class: "hold-release" } },
                { titleKey: "holds.releaseTitle", bodyKey: "holds.releaseBody", confirmKey: "holds.release" },
                alert,
                async () => {
                  await api.post(`/api/v1/compliance/holds/${encodeURIComponent(x.id)}/release`);
                  status.show({ messageKey: "holds.released" });
                  await load();
                },
              ),
            );
          }
          const q = x.query || {};
          return h(
            "li",
            { class: "item hold-item", "data-hold": x.id, "data-active": String(active) },
            h("span", { class: "item-icon" }, icon("flag")),
            h(
              "div",
              { class: "item-main" },
              h("p", { class: "item-title" }, h("bdi", { id: titleId }, x.name), " ", active ? badge({ labelKey: "holds.active", tone: "danger" }) : badge({ labelKey: "holds.releasedBadge" })),
              h(
                "p",
                { class: "item-meta" },
                h("span", {
                  i18n: "holds.summary",
                  i18nParams: { custodians: (x.custodians || []).length, locations: (x.locations || []).length, keywords: x.keyword_count || 0, senders: (q.senders || []).length },
                }),
                h("span", { class: "item-sep", "aria-hidden": "true" }, "·"),
                time(x.created),
              ),
            ),
            h("div", { class: "item-actions" }, ...actions),
          );
        }),
      ),
    );
  }

  const name = field({ id: "hold-name", labelKey: "holds.name", attrs: { maxlength: "120", autocomplete: "off", required: true } });
  const custodians = field({ id: "hold-custodians", labelKey: "holds.custodians", hintKey: "holds.custodiansHint", tag: "textarea", optional: true, attrs: { rows: "2", spellcheck: "false", class: "mono-input" } });
  const locations = field({ id: "hold-locations", labelKey: "holds.locations", hintKey: "holds.locationsHint", tag: "textarea", optional: true, attrs: { rows: "2", spellcheck: "false", class: "mono-input" } });
  const keywords = field({ id: "hold-keywords", labelKey: "holds.keywords", hintKey: "holds.keywordsHint", tag: "textarea", optional: true, attrs: { rows: "2", autocomplete: "off" } });
  const from = field({ id: "hold-from", labelKey: "holds.from", type: "date", optional: true });
  const to = field({ id: "hold-to", labelKey: "holds.to", type: "date", optional: true });
  const formAlert = alertRegion();
  const submit = button({ labelKey: "holds.create", kind: "primary", type: "submit", attrs: { id: "hold-create" } });
  const form = h(
    "form",
    { class: "form", novalidate: true, id: "hold-form" },
    h("h3", { class: "subheading", i18n: "holds.new" }),
    h("p", { class: "field-hint", i18n: "holds.newHint" }),
    name.el,
    custodians.el,
    locations.el,
    keywords.el,
    h("div", { class: "field-row" }, from.el, to.el),
    formAlert.el,
    h("div", { class: "form-actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(submit)) {
      return;
    }
    formAlert.clear();
    name.setError(null);
    const n = name.input.value.trim();
    if (!n) {
      name.setError({ messageKey: "holds.nameMissing" });
      name.input.focus();
      return;
    }
    const query = {};
    const kws = keywords.input.value
      .split(/[\n,]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    if (kws.length) {
      query.keywords = kws;
    }
    if (from.input.value) {
      query.from = new Date(from.input.value + "T00:00:00Z").toISOString();
    }
    if (to.input.value) {
      query.to = new Date(to.input.value + "T00:00:00Z").toISOString();
    }
    const done = busy(submit, { messageKey: "common.saving" });
    try {
      await api.post("/api/v1/compliance/holds", { name: n, custodians: idList(custodians.input.value), locations: idList(locations.input.value), query });
      form.reset();
      status.show({ messageKey: "holds.created" });
      await load();
    } catch (err) {
      showLoadError(err, formAlert);
    } finally {
      done();
    }
  });
  load();
  return h(
    "div",
    { class: "panels holds" },
    panel({ titleKey: "holds.title", leadKey: "holds.lead", id: "holds-panel" }, showReleased.el, area, alert.el, status.el),
    panel({ titleKey: "holds.new", id: "hold-form-panel" }, form),
  );
}

