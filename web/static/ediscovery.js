// eDiscovery in the compliance center (/compliance/ediscovery…) for
// compliance officers: cases (only their members see them), searches that run
// as jobs with progress, their results, the review set, and signed export
// packages with progress and downloads. Also the export panels of other
// pages: "Download my data" in the security settings, and the organisation's
// export in the admin center. Every search, read, export and download is
// audited on the server.
//
// Paths: /compliance/ediscovery (the cases), /compliance/ediscovery/<id> (a case).

import { h, icon, setMessage, time } from "./dom.js";
import { t } from "./i18n.js";
import { api } from "./api.js";
import { showLoadError } from "./session.js";
import { navigate } from "./router.js";
import { alertRegion, badge, busy, button, field, isBusy, loading, panel, statusRegion } from "./ui.js";

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The eDiscovery section of the compliance center. */
export function ediscoverySection(path) {
  const m = /^\/compliance\/ediscovery\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  return m ? casePage(m[1]) : casesPage();
}

/** ids splits a list of ids typed with commas, spaces or new lines. */
function ids(value) {
  return value
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** isoOf turns a datetime-local value (local time) into RFC 3339, or "". */
function isoOf(value) {
  if (!value) {
    return "";
  }
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

/**
 * progressOf shows a job's progress: a bar and "done of total", or its
 * outcome.
 */
function progressOf(state, job) {
  const done = job ? job.done : 0;
  const total = job ? job.total : 0;
  if (state === "done") {
    return badge({ labelKey: "ediscovery.state.done", tone: "success" });
  }
  if (state === "failed") {
    const b = h("span", { class: "job-failed" }, badge({ labelKey: "ediscovery.state.failed", tone: "danger" }));
    if (job && job.error) {
      b.append(" ", h("span", {}, job.error));
    }
    return b;
  }
  const bar = h("progress", { class: "job-progress", max: String(Math.max(total, 1)), value: String(Math.min(done, Math.max(total, 1))), "aria-label": t("ediscovery.progress.label") });
  const text = h("span", { class: "job-progress-text", i18n: "ediscovery.progress", i18nParams: { done, total } });
  return h("span", { class: "job-progress-wrap" }, bar, " ", text);
}

function sizeOf(bytes) {
  if (bytes >= 1 << 20) {
    return t("ediscovery.size.mib", { n: (bytes / (1 << 20)).toFixed(1) });
  }
  return t("ediscovery.size.kib", { n: Math.max(1, Math.round(bytes / 1024)) });
}

/** exportRow shows an export: its progress, then its download. */
function exportRow(e) {
  const summary = h("div", { class: "item-summary" }, h("span", {}, progressOf(e.state, e.progress)));
  const actions = h("div", { class: "item-actions" });
  if (e.state === "done") {
    summary.append(
      h("span", { class: "export-facts", i18n: "ediscovery.export.facts", i18nParams: { messages: e.messages, files: e.files, size: sizeOf(e.bytes) } }),
      h(
        "span",
        { class: "export-sha" },
        h("label", { for: `sha-${e.id}`, i18n: "ediscovery.export.sha256" }),
        " ",
        h("input", { id: `sha-${e.id}`, class: "export-sha-value", readonly: true, size: "16", value: e.sha256, spellcheck: "false" }),
      ),
    );
    actions.append(
      h("a", { class: "button button-primary button-small export-download", href: `/api/v1/exports/${encodeURIComponent(e.id)}/package`, download: "" }, icon("download"), h("span", { i18n: "ediscovery.export.download" })),
    );
  }
  return h(
    "li",
    { class: "item export-item", "data-export": e.id, "data-state": e.state },
    h("span", { class: "item-icon" }, icon("archive")),
    h("div", { class: "item-main" }, h("span", { class: "item-title", i18n: exportKindKey(e.kind) }), h("div", { class: "item-meta" }, time(e.created)), summary),
    actions,
  );
}

/** What each kind of export is called. */
const EXPORT_KINDS = {
  case: { labelKey: "ediscovery.export.kind.case" },
  self: { labelKey: "ediscovery.export.kind.self" },
  user: { labelKey: "ediscovery.export.kind.user" },
  tenant: { labelKey: "ediscovery.export.kind.tenant" },
};

function exportKindKey(kind) {
  return (EXPORT_KINDS[kind] || EXPORT_KINDS.case).labelKey;
}

/**
 * exportsArea lists exports from a path and polls every second while one
 * is running.
 */
function exportsArea(path, { id, alert }) {
  const area = h("div", { id, class: "exports" }, loading());
  let timer = 0;
  async function load() {
    clearTimeout(timer);
    try {
      const list = (await api.get(path)) || [];
      if (!area.isConnected && timer) {
        return;
      }
      if (!list.length) {
        area.replaceChildren(h("p", { class: "item-empty", i18n: "ediscovery.export.none" }));
      } else {
        area.replaceChildren(h("ul", { class: "item-list" }, ...list.map(exportRow)));
      }
      if (list.some((e) => e.state === "running")) {
        timer = setTimeout(() => area.isConnected && load(), 1000);
      }
    } catch (err) {
      area.replaceChildren();
      showLoadError(err, alert);
    }
  }
  load();
  return { el: area, load };
}

/**
 * startExport runs button b's request to start an export (a POST of body
 * to path) and then reloads the exports list; a failure shows in alert.
 */
async function startExport(b, path, body, exports, alert) {
  if (isBusy(b)) {
    return;
  }
  alert.clear();
  const done = busy(b, { messageKey: "ediscovery.export.starting" });
  try {
    await api.post(path, body);
    exports.load();
  } catch (err) {
    alert.show(err);
  } finally {
    done();
  }
}

// ---- the cases

function casesPage() {
  const alert = alertRegion();
  const list = h("div", { id: "cases" }, loading());
  const name = field({ id: "case-name", labelKey: "ediscovery.case.name", attrs: { name: "name", maxlength: "200", required: true, autocomplete: "off" } });
  const create = button({ labelKey: "ediscovery.case.create", kind: "primary", type: "submit", iconName: "plus", attrs: { id: "case-create" } });
  const form = h("form", { class: "form form-tight", id: "case-form", novalidate: true }, name.el, create);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(create)) {
      return;
    }
    name.setError(null);
    alert.clear();
    if (!name.input.value.trim()) {
      name.setError({ messageKey: "ediscovery.case.nameNeeded" });
      name.input.focus();
      return;
    }
    const done = busy(create, { messageKey: "ediscovery.case.creating" });
    try {
      const c = await api.post("/api/v1/ediscovery/cases", { name: name.input.value });
      navigate(`/compliance/ediscovery/${encodeURIComponent(c.id)}`);
    } catch (err) {
      alert.show(err);
    } finally {
      done();
    }
  });
  async function load() {
    try {
      const cases = (await api.get("/api/v1/ediscovery/cases")) || [];
      if (!cases.length) {
        list.replaceChildren(h("p", { class: "item-empty", id: "cases-empty", i18n: "ediscovery.cases.empty" }));
        return;
      }
      list.replaceChildren(
        h(
          "ul",
          { class: "item-list" },
          ...cases.map((c) =>
            h(
              "li",
              { class: "item case-item" },
              h("span", { class: "item-icon" }, icon("archive")),
              h(
                "div",
                { class: "item-main" },
                h("a", { class: "item-title case-link", href: `/compliance/ediscovery/${encodeURIComponent(c.id)}` }, c.name),
                h("div", { class: "item-meta" }, c.state === "closed" ? badge({ labelKey: "ediscovery.case.closed" }) : badge({ labelKey: "ediscovery.case.open", tone: "success" }), time(c.created)),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      list.replaceChildren();
      showLoadError(err, alert);
    }
  }
  load();
  return h(
    "div",
    { class: "panels ediscovery" },
    panel({ titleKey: "ediscovery.cases.title", leadKey: "ediscovery.cases.lead", id: "cases-panel" }, list, alert.el),
    panel({ titleKey: "ediscovery.case.new", leadKey: "ediscovery.case.newLead", id: "case-new" }, form),
  );
}

// ---- a case

function casePage(caseID) {
  const alert = alertRegion();
  const root = h("div", { class: "panels ediscovery", id: "case" }, loading(), alert.el);
  (async () => {
    try {
      const c = await api.get(`/api/v1/ediscovery/cases/${encodeURIComponent(caseID)}`);
      const exports = exportsArea(`/api/v1/ediscovery/cases/${encodeURIComponent(caseID)}/exports`, { id: "case-exports", alert });
      const review = reviewPanel(c, exports);
      root.replaceChildren(alert.el, summaryPanel(c), searchPanel(c, review, exports), review.el, panel({ titleKey: "ediscovery.exports.title", leadKey: "ediscovery.exports.lead", id: "exports-panel" }, exports.el), membersPanel(c));
    } catch (err) {
      root.replaceChildren(alert.el);
      showLoadError(err, alert);
    }
  })();
  return root;
}

const REOPEN = { labelKey: "ediscovery.case.reopen" };
const CLOSE = { labelKey: "ediscovery.case.close" };
const HITS = { labelKey: "ediscovery.search.hits" };
const HITS_TRUNCATED = { labelKey: "ediscovery.search.hitsTruncated" };

function summaryPanel(c) {
  const alert = alertRegion();
  const closed = c.state === "closed";
  const toggle = button({ ...(closed ? REOPEN : CLOSE), small: true, attrs: { id: "case-state" } });
  toggle.addEventListener("click", async () => {
    if (isBusy(toggle)) {
      return;
    }
    const done = busy(toggle, { messageKey: "common.saving" });
    try {
      await api.post(`/api/v1/ediscovery/cases/${encodeURIComponent(c.id)}/state`, { state: closed ? "open" : "closed" });
      navigate(location.pathname, { replace: true });
    } catch (err) {
      alert.show(err);
    } finally {
      done();
    }
  });
  const title = h("h2", { id: "case-title", class: "case-title" }, c.name);
  return h(
    "section",
    { class: "panel card", id: "case-summary", "aria-labelledby": "case-title" },
    h("div", { class: "panel-header" }, h("div", {}, title, h("p", { class: "panel-lead" }, closed ? badge({ labelKey: "ediscovery.case.closed" }) : badge({ labelKey: "ediscovery.case.open", tone: "success" }), " ", h("span", { class: "muted", i18n: "ediscovery.case.audited" }))), h("div", { class: "panel-actions" }, h("a", { href: "/compliance/ediscovery", class: "button button-quiet button-small", i18n: "ediscovery.cases.back" }), toggle)),
    alert.el,
  );
}

function membersPanel(c) {
  const alert = alertRegion();
  const status = statusRegion();
  const list = h(
    "ul",
    { class: "item-list", id: "case-members" },
    ...c.members.map((m) => {
      const remove = button({ labelKey: "ediscovery.members.remove", small: true, kind: "quiet" });
      remove.addEventListener("click", async () => {
        if (isBusy(remove)) {
          return;
        }
        const done = busy(remove, { messageKey: "common.saving" });
        try {
          await api.del(`/api/v1/ediscovery/cases/${encodeURIComponent(c.id)}/members/${encodeURIComponent(m.account)}`);
          navigate(location.pathname, { replace: true });
        } catch (err) {
          alert.show(err);
        } finally {
          done();
        }
      });
      return h(
        "li",
        { class: "item member-item" },
        h("span", { class: "item-icon" }, icon("users")),
        h("div", { class: "item-main" }, h("span", { class: "item-title" }, m.name || m.account), h("div", { class: "item-meta" }, h("code", {}, m.account))),
        h("div", { class: "item-actions" }, remove),
      );
    }),
  );
  const who = field({ id: "member-id", labelKey: "ediscovery.members.account", hintKey: "ediscovery.members.hint", attrs: { autocomplete: "off", spellcheck: "false", maxlength: "64" } });
  const add = button({ labelKey: "ediscovery.members.add", type: "submit", attrs: { id: "member-add" } });
  const form = h("form", { class: "form form-tight", novalidate: true }, who.el, add);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    who.setError(null);
    const id = who.input.value.trim();
    if (!ID.test(id)) {
      who.setError({ messageKey: "ediscovery.members.invalid" });
      return;
    }
    const done = busy(add, { messageKey: "common.saving" });
    try {
      await api.put(`/api/v1/ediscovery/cases/${encodeURIComponent(c.id)}/members/${encodeURIComponent(id)}`);
      navigate(location.pathname, { replace: true });
    } catch (err) {
      alert.show(err);
    } finally {
      done();
    }
  });
  return panel({ titleKey: "ediscovery.members.title", leadKey: "ediscovery.members.lead", id: "members-panel" }, list, form, alert.el, status.el);
}

// ---- searches and results

function searchPanel(c, review, exports) {
  const alert = alertRegion();
  const keywords = field({ id: "search-keywords", labelKey: "ediscovery.search.keywords", hintKey: "ediscovery.search.keywordsHint", optional: true, attrs: { maxlength: "1000", autocomplete: "off" } });
  const senders = field({ id: "search-senders", labelKey: "ediscovery.search.senders", hintKey: "ediscovery.search.idsHint", optional: true, attrs: { autocomplete: "off", spellcheck: "false" } });
  const participants = field({ id: "search-participants", labelKey: "ediscovery.search.participants", hintKey: "ediscovery.search.idsHint", optional: true, attrs: { autocomplete: "off", spellcheck: "false" } });
  const locations = field({ id: "search-locations", labelKey: "ediscovery.search.locations", hintKey: "ediscovery.search.locationsHint", optional: true, attrs: { autocomplete: "off", spellcheck: "false" } });
  const from = field({ id: "search-from", labelKey: "ediscovery.search.from", type: "datetime-local", optional: true });
  const to = field({ id: "search-to", labelKey: "ediscovery.search.to", type: "datetime-local", optional: true });
  const run = button({ labelKey: "ediscovery.search.run", kind: "primary", type: "submit", iconName: "compass", attrs: { id: "search-run" } });
  const form = h(
    "form",
    { class: "form form-tight", id: "search-form", novalidate: true, role: "search" },
    keywords.el,
    h("div", { class: "form-row" }, senders.el, participants.el),
    locations.el,
    h("div", { class: "form-row" }, from.el, to.el),
    run,
  );
  const list = h("div", { id: "searches" }, loading());
  const results = h("div", { id: "search-results", "aria-live": "polite" });
  let timer = 0;

  async function load() {
    clearTimeout(timer);
    try {
      const searches = (await api.get(`/api/v1/ediscovery/cases/${encodeURIComponent(c.id)}/searches`)) || [];
      if (!list.isConnected && timer) {
        return;
      }
      if (!searches.length) {
        list.replaceChildren(h("p", { class: "item-empty", i18n: "ediscovery.search.none" }));
      } else {
        list.replaceChildren(h("ul", { class: "item-list" }, ...searches.map(searchRow)));
      }
      if (searches.some((s) => s.state === "running")) {
        timer = setTimeout(() => list.isConnected && load(), 1000);
      }
    } catch (err) {
      list.replaceChildren();
      showLoadError(err, alert);
    }
  }

  function describe(q) {
    const parts = [];
    if (q.keywords) {
      parts.push(t("ediscovery.search.sumKeywords", { keywords: q.keywords }));
    }
    if (q.senders && q.senders.length) {
      parts.push(t("ediscovery.search.sumSenders", { count: q.senders.length }));
    }
    if (q.participants && q.participants.length) {
      parts.push(t("ediscovery.search.sumParticipants", { count: q.participants.length }));
    }
    if (q.locations && q.locations.length) {
      parts.push(t("ediscovery.search.sumLocations", { count: q.locations.length }));
    }
    if (q.from || q.to) {
      parts.push(t("ediscovery.search.sumDates"));
    }
    return parts.join(" · ");
  }

  function searchRow(s) {
    const summary = h("div", { class: "item-summary" }, h("span", {}, progressOf(s.state, s.progress)));
    const actions = h("div", { class: "item-actions" });
    if (s.state === "done") {
      const show = button({ labelKey: "ediscovery.search.show", small: true, attrs: { class: "button button-secondary button-small search-show" } });
      show.addEventListener("click", () => showResults(s, ""));
      summary.append(h("span", { class: "search-hits", i18n: (s.truncated ? HITS_TRUNCATED : HITS).labelKey, i18nParams: { hits: s.hits, scanned: s.scanned } }));
      actions.append(show);
    }
    return h(
      "li",
      { class: "item search-item", "data-search": s.id, "data-state": s.state },
      h("span", { class: "item-icon" }, icon("compass")),
      h("div", { class: "item-main" }, h("span", { class: "item-title" }, describe(s.query || {})), h("div", { class: "item-meta" }, time(s.created)), summary),
      actions,
    );
  }

  async function showResults(s, after) {
    alert.clear();
    results.replaceChildren(loading());
    try {
      const page = await api.get(`/api/v1/ediscovery/searches/${encodeURIComponent(s.id)}/results?limit=50&after=${encodeURIComponent(after)}`);
      const addAll = button({ labelKey: "ediscovery.review.addAll", small: true, kind: "primary", attrs: { id: "review-add-all" } });
      addAll.addEventListener("click", async () => {
        if (isBusy(addAll)) {
          return;
        }
        const done = busy(addAll, { messageKey: "common.saving" });
        try {
          const r = await api.post(`/api/v1/ediscovery/cases/${encodeURIComponent(c.id)}/review`, { search: s.id });
          setMessage(note, { messageKey: "ediscovery.review.added", params: { count: r.added } });
          review.load();
          showResults(s, after);
        } catch (err) {
          alert.show(err);
        } finally {
          done();
        }
      });
      const exportThis = button({ labelKey: "ediscovery.export.search", small: true, attrs: { id: "export-search" } });
      exportThis.addEventListener("click", () => startExport(exportThis, `/api/v1/ediscovery/cases/${encodeURIComponent(c.id)}/exports`, { source: "search", search: s.id }, exports, alert));
      const note = h("p", { class: "muted", role: "status" });
      const items = (page.items || []).map((it) => resultItem(it, c, s, () => showResults(s, after)));
      const next = page.next ? button({ labelKey: "ediscovery.results.more", small: true }) : null;
      if (next) {
        next.addEventListener("click", () => showResults(s, page.next));
      }
      results.replaceChildren(
        h("h3", { i18n: "ediscovery.results.title" }),
        h("p", { class: "muted", i18n: "ediscovery.results.audited" }),
        h("div", { class: "panel-actions" }, addAll, exportThis),
        note,
        items.length ? h("ul", { class: "item-list result-list" }, ...items) : h("p", { class: "item-empty", i18n: "ediscovery.results.none" }),
        ...(next ? [next] : []),
      );
    } catch (err) {
      results.replaceChildren();
      alert.show(err);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(run)) {
      return;
    }
    alert.clear();
    const q = {
      keywords: keywords.input.value.trim(),
      senders: ids(senders.input.value),
      participants: ids(participants.input.value),
      locations: ids(locations.input.value),
    };
    const f = isoOf(from.input.value);
    const u = isoOf(to.input.value);
    if (f) {
      q.from = f;
    }
    if (u) {
      q.to = u;
    }
    const done = busy(run, { messageKey: "ediscovery.search.starting" });
    try {
      await api.post(`/api/v1/ediscovery/cases/${encodeURIComponent(c.id)}/searches`, q);
      load();
    } catch (err) {
      alert.show(err);
    } finally {
      done();
    }
  });
  load();
  if (c.state === "closed") {
    run.setAttribute("aria-disabled", "true");
    run.dataset.busy = "true";
  }
  return panel({ titleKey: "ediscovery.search.title", leadKey: "ediscovery.search.lead", id: "search-panel" }, form, alert.el, list, results);
}

function resultItem(it, c, s, refresh) {
  const meta = h("div", { class: "item-meta" }, h("span", {}, `#${it.channel_name || it.channel}`), time(it.created));
  if (it.in_review) {
    meta.append(badge({ labelKey: "ediscovery.review.inSet", tone: "accent" }));
  }
  const main = h("div", { class: "item-main" }, h("span", { class: "item-title" }, it.author_name || it.author), meta, h("p", { class: "result-body" }, it.deleted ? t("ediscovery.results.deleted") : it.body));
  if (it.files && it.files.length) {
    main.append(h("p", { class: "item-meta result-files" }, h("span", { i18n: "ediscovery.results.files" }), " ", it.files.join(", ")));
  }
  const actions = h("div", { class: "item-actions" });
  if (s && !it.in_review) {
    const add = button({ labelKey: "ediscovery.review.add", small: true, kind: "quiet" });
    add.addEventListener("click", async () => {
      const done = busy(add, { messageKey: "common.saving" });
      try {
        await api.post(`/api/v1/ediscovery/cases/${encodeURIComponent(c.id)}/review`, { search: s.id, items: [it.id] });
        refresh();
      } catch {
        done();
      }
    });
    actions.append(add);
  }
  return h("li", { class: "item result-item", "data-item": it.id }, h("span", { class: "item-icon" }, icon("chat")), main, actions);
}

// ---- the review set

function reviewPanel(c, exports) {
  const alert = alertRegion();
  const area = h("div", { id: "review-set" });
  const exportReview = button({ labelKey: "ediscovery.export.review", kind: "primary", small: true, attrs: { id: "export-review" } });
  exportReview.addEventListener("click", () => startExport(exportReview, `/api/v1/ediscovery/cases/${encodeURIComponent(c.id)}/exports`, { source: "review" }, exports, alert));
  const show = button({ labelKey: "ediscovery.review.show", small: true, attrs: { id: "review-show" } });
  async function load() {
    area.replaceChildren(loading());
    try {
      const page = await api.get(`/api/v1/ediscovery/cases/${encodeURIComponent(c.id)}/review?limit=100`);
      const items = page.items || [];
      area.replaceChildren(
        items.length
          ? h(
              "ul",
              { class: "item-list review-list" },
              ...items.map((it) => {
                const li = resultItem(it, c, null, load);
                const remove = button({ labelKey: "ediscovery.review.remove", small: true, kind: "quiet" });
                remove.addEventListener("click", async () => {
                  try {
                    await api.del(`/api/v1/ediscovery/cases/${encodeURIComponent(c.id)}/review/${encodeURIComponent(it.id)}`);
                    load();
                  } catch (err) {
                    alert.show(err);
                  }
                });
                li.querySelector(".item-actions").append(remove);
                return li;
              }),
            )
          : h("p", { class: "item-empty", i18n: "ediscovery.review.empty" }),
      );
    } catch (err) {
      area.replaceChildren();
      alert.show(err);
    }
  }
  show.addEventListener("click", load);
  const el = panel({ titleKey: "ediscovery.review.title", leadKey: "ediscovery.review.lead", id: "review-panel", actions: [show, exportReview] }, alert.el, area);
  return { el, load };
}

// ---- exports on other pages

/** myDataPanel is "Download my data" in the security settings. */
export function myDataPanel() {
  const alert = alertRegion();
  const exports = exportsArea("/api/v1/me/exports", { id: "my-exports", alert });
  const start = button({ labelKey: "export.mine.start", kind: "primary", small: true, iconName: "download", attrs: { id: "my-data-start" } });
  start.addEventListener("click", () => startExport(start, "/api/v1/me/exports", undefined, exports, alert));
  return panel({ titleKey: "export.mine.title", leadKey: "export.mine.lead", id: "my-data", actions: [start] }, alert.el, exports.el);
}

/** tenantExportPanel is the organisation's export in the admin center. */
export function tenantExportPanel() {
  const alert = alertRegion();
  const exports = exportsArea("/api/v1/admin/exports", { id: "tenant-exports", alert });
  const start = button({ labelKey: "export.tenant.start", kind: "primary", small: true, iconName: "download", attrs: { id: "tenant-export-start" } });
  start.addEventListener("click", () => startExport(start, "/api/v1/admin/exports", undefined, exports, alert));
  const who = field({ id: "user-export-id", labelKey: "export.user.account", hintKey: "export.user.hint", optional: true, attrs: { autocomplete: "off", spellcheck: "false", maxlength: "64" } });
  const userStart = button({ labelKey: "export.user.start", type: "submit", small: true, attrs: { id: "user-export-start" } });
  const form = h("form", { class: "form form-tight", novalidate: true }, who.el, userStart);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    who.setError(null);
    const id = who.input.value.trim();
    if (!ID.test(id)) {
      who.setError({ messageKey: "ediscovery.members.invalid" });
      return;
    }
    startExport(userStart, `/api/v1/admin/accounts/${encodeURIComponent(id)}/exports`, undefined, exports, alert);
  });
  return h(
    "div",
    { class: "panels" },
    panel({ titleKey: "export.tenant.title", leadKey: "export.tenant.lead", id: "tenant-export", actions: [start] }, alert.el, form, exports.el),
  );
}
