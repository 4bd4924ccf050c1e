// The public Trust Center (/trust and the pages below it): what the
// provider of this Kaigi service promises and publishes, readable without
// signing in. The figures shown — subprocessors, the ones that touch
// customer data, controls, the transparency report, the service status —
// come from the public API at the moment the page is shown (each figure
// carries data-figure, so tests can compare it with the API). A tenant
// admin who is signed in also sees the organisation's subprocessor notices
// and may record an objection.

import { h, icon, setMessage, time } from "./dom.js";
import { locale } from "./i18n.js";
import { api } from "./api.js";
import { isTenantAdmin } from "./session.js";
import { alertRegion, badge, busy, button, field, isBusy, loading, pageHeader, panel, statusRegion } from "./ui.js";

/** The pages of the Trust Center, in the order of its navigation. */
const PAGES = [
  { path: "/trust", labelKey: "trust.nav.overview", iconName: "trust", render: overviewPage },
  { path: "/trust/security", labelKey: "trust.nav.security", iconName: "shield", render: securityPage },
  { path: "/trust/data", labelKey: "trust.nav.data", iconName: "archive", render: dataPage },
  { path: "/trust/commitments", labelKey: "trust.nav.commitments", iconName: "check", render: commitmentsPage },
  { path: "/trust/compliance", labelKey: "trust.nav.compliance", iconName: "compliance", render: compliancePage },
  { path: "/trust/subprocessors", labelKey: "trust.nav.subprocessors", iconName: "users", render: subprocessorsPage },
  { path: "/trust/transparency", labelKey: "trust.nav.transparency", iconName: "file", render: transparencyPage },
  { path: "/trust/government", labelKey: "trust.nav.government", iconName: "flag", render: governmentPage },
  { path: "/trust/status", labelKey: "trust.nav.status", iconName: "refresh", render: statusPage },
];

/** The paths of the Trust Center's pages (for tests and links). */
export const TRUST_PATHS = PAGES.map((p) => p.path);

/** trustPage shows the Trust Center page of the current path. */
export function trustPage() {
  const path = location.pathname.replace(/\/+$/, "") || "/trust";
  const page = PAGES.find((p) => p.path === path);
  const nav = h(
    "nav",
    { class: "tabs trust-tabs", i18nAriaLabel: "trust.sections" },
    h("ul", {}, ...PAGES.map((p) => h("li", {}, h("a", { href: p.path, class: "tab", "aria-current": p === page ? "page" : false }, icon(p.iconName, "icon icon-small"), h("span", { i18n: p.labelKey }))))),
  );
  const header = pageHeader({ iconName: "trust", titleKey: "nav.trust", leadKey: "trust.lead" });
  if (!page) {
    return h("section", { class: "area trust" }, header, nav, h("div", { class: "empty-state", id: "trust-notfound" }, h("h2", { i18n: "notfound.title" }), h("p", { i18n: "notfound.body" })));
  }
  return h("section", { class: "area trust", "data-trust-page": page.path }, header, nav, h("div", { class: "trust-body" }, page.render()));
}

// ---- small pieces

/** prose is a panel of paragraphs, each a message key. */
function prose({ titleKey }, keys, ...more) {
  return panel({ titleKey }, ...keys.map((k) => h("p", { class: "trust-text", i18n: k.textKey })), ...more);
}

/** bullets is a list of message keys. */
function bullets(keys) {
  return h("ul", { class: "trust-list" }, ...keys.map((k) => h("li", { i18n: k.textKey })));
}

/** figure is a number with its label, marked for tests with data-figure. */
function figure(name, { labelKey }) {
  const value = h("span", { class: "trust-figure-value", "data-figure": name }, "…");
  return { el: h("div", { class: "trust-figure card" }, value, h("span", { class: "trust-figure-label", i18n: labelKey })), value };
}

/** fill sets a figure's value once the API answers (or says it could not). */
function fill(value, text) {
  value.textContent = String(text);
  value.dataset.loaded = "true";
}

/** registryFigures are the subprocessor registry's counts; fill sets them from the registry. */
function registryFigures() {
  const subs = figure("subprocessors", { labelKey: "trust.figure.subprocessors" });
  const cd = figure("customer-data-subprocessors", { labelKey: "trust.figure.customerData" });
  const upcoming = figure("upcoming-changes", { labelKey: "trust.figure.upcoming" });
  return {
    els: [subs.el, cd.el, upcoming.el],
    fill(reg) {
      fill(subs.value, reg.subprocessors.length);
      fill(cd.value, reg.customer_data_count);
      fill(upcoming.value, reg.upcoming.length);
    },
  };
}

function percent(share) {
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(share || 0);
}

function link(href, { labelKey }, attrs = {}) {
  return h("a", { href, ...attrs }, h("span", { i18n: labelKey }));
}

/** load runs fetch and shows its failure in alert. */
async function load(alert, fetch) {
  try {
    return await fetch();
  } catch (err) {
    alert.show(err);
    return null;
  }
}

// ---- overview

function overviewPage() {
  const alert = alertRegion();
  const reg = registryFigures();
  const controls = figure("controls", { labelKey: "trust.figure.controls" });
  const status = figure("status", { labelKey: "trust.figure.status" });
  load(alert, () => api.get("/api/v1/trust/subprocessors")).then((r) => r && reg.fill(r));
  load(alert, () => api.get("/api/v1/trust/controls")).then((cs) => cs && fill(controls.value, cs.length));
  load(alert, () => api.get("/api/v1/trust/status")).then((st) => {
    if (st) {
      status.value.dataset.status = st.status;
      setMessage(status.value, st.status === "operational" ? OPERATIONAL : DEGRADED);
      status.value.dataset.loaded = "true";
    }
  });
  return h(
    "div",
    {},
    alert.el,
    h("div", { class: "trust-figures", id: "trust-figures" }, ...reg.els, controls.el, status.el),
    prose({ titleKey: "trust.overview.title" }, [{ textKey: "trust.overview.p1" }, { textKey: "trust.overview.p2" }]),
    panel(
      { titleKey: "trust.overview.more" },
      h(
        "ul",
        { class: "trust-links" },
        ...PAGES.slice(1).map((p) => h("li", {}, h("a", { href: p.path }, icon(p.iconName, "icon icon-small"), h("span", { i18n: p.labelKey })))),
        h("li", {}, h("a", { href: "/.well-known/security.txt" }, icon("shield", "icon icon-small"), h("span", { i18n: "trust.securityTxt" }))),
      ),
    ),
  );
}

// ---- security and privacy

function securityPage() {
  return h(
    "div",
    {},
    prose({ titleKey: "trust.security.title" }, [{ textKey: "trust.security.p1" }]),
    panel({ titleKey: "trust.security.measures" }, bullets([{ textKey: "trust.security.m1" }, { textKey: "trust.security.m2" }, { textKey: "trust.security.m3" }, { textKey: "trust.security.m4" }, { textKey: "trust.security.m5" }, { textKey: "trust.security.m6" }])),
    prose({ titleKey: "trust.security.report" }, [{ textKey: "trust.security.reportText" }], h("p", {}, link("/.well-known/security.txt", { labelKey: "trust.securityTxt" }, { id: "trust-security-txt" }))),
  );
}

// ---- data: ownership, location, lifecycle

function dataPage() {
  const steps = [
    [{ textKey: "trust.lifecycle.active" }, { textKey: "trust.lifecycle.activeText" }],
    [{ textKey: "trust.lifecycle.ended" }, { textKey: "trust.lifecycle.endedText" }],
    [{ textKey: "trust.lifecycle.disabled" }, { textKey: "trust.lifecycle.disabledText" }],
    [{ textKey: "trust.lifecycle.deleted" }, { textKey: "trust.lifecycle.deletedText" }],
  ];
  return h(
    "div",
    {},
    prose({ titleKey: "trust.data.ownership" }, [{ textKey: "trust.data.ownershipText" }]),
    prose({ titleKey: "trust.data.location" }, [{ textKey: "trust.data.locationText" }, { textKey: "trust.data.locationSubs" }]),
    panel(
      { titleKey: "trust.lifecycle.title", leadKey: "trust.lifecycle.lead" },
      h("ol", { class: "trust-steps", id: "trust-lifecycle" }, ...steps.map(([t, d]) => h("li", {}, h("strong", { i18n: t.textKey }), " ", h("span", { i18n: d.textKey })))),
      h("p", { class: "trust-text", id: "trust-lifecycle-early", i18n: "trust.lifecycle.early" }),
      h("p", { class: "trust-text", i18n: "trust.lifecycle.certificate" }),
    ),
    certificatePanel(),
  );
}

/**
 * certificatePanel explains where a deletion certificate is published and
 * how anyone checks it with openssl and the service's published key. The
 * commands name this service's own address.
 */
function certificatePanel() {
  const base = location.origin;
  const command = (id, text) => h("pre", { class: "trust-command", id }, h("code", {}, text));
  return panel(
    { titleKey: "trust.certificate.title", leadKey: "trust.certificate.lead", id: "trust-deletion-certificate" },
    h("p", { class: "trust-text", i18n: "trust.certificate.where" }),
    h(
      "ol",
      { class: "trust-steps", id: "trust-certificate-steps" },
      h(
        "li",
        {},
        h("span", { i18n: "trust.certificate.step1" }),
        command("trust-certificate-fetch", `TENANT=…
curl -fo cert.json ${base}/api/v1/trust/deletions/$TENANT
curl -fo cert.sig ${base}/api/v1/trust/deletions/$TENANT/signature`),
      ),
      h("li", {}, h("span", { i18n: "trust.certificate.step2" }), command("trust-certificate-key", `curl -f ${base}/api/v1/service | jq -r .public_key_pem > key.pem`)),
      h("li", {}, h("span", { i18n: "trust.certificate.step3" }), command("trust-certificate-verify", "openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in cert.json -sigfile cert.sig")),
    ),
    h("p", { class: "trust-text", i18n: "trust.certificate.after" }),
  );
}

// ---- data-use commitments

function commitmentsPage() {
  return h(
    "div",
    {},
    panel({ titleKey: "trust.commitments.title", leadKey: "trust.commitments.lead" }, bullets([{ textKey: "trust.commitments.c1" }, { textKey: "trust.commitments.c2" }, { textKey: "trust.commitments.c3" }, { textKey: "trust.commitments.c4" }])),
  );
}

// ---- compliance mapping

function compliancePage() {
  const alert = alertRegion();
  const count = figure("controls", { labelKey: "trust.figure.controls" });
  const body = h("div", { id: "trust-controls" }, loading());
  load(alert, () => api.get("/api/v1/trust/controls")).then((cs) => {
    if (!cs) {
      body.replaceChildren();
      return;
    }
    fill(count.value, cs.length);
    const frameworks = [...new Set(cs.map((c) => c.framework))];
    body.replaceChildren(
      ...frameworks.map((fw) =>
        h(
          "section",
          { class: "trust-framework", "data-framework": fw },
          h("h3", {}, fw),
          h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "table" },
              h("thead", {}, h("tr", {}, h("th", { scope: "col", i18n: "trust.controls.control" }), h("th", { scope: "col", i18n: "trust.controls.feature" }), h("th", { scope: "col", i18n: "trust.controls.tests" }))),
              h(
                "tbody",
                {},
                ...cs
                  .filter((c) => c.framework === fw)
                  .map((c) =>
                    h(
                      "tr",
                      { "data-control": `${c.framework} ${c.id}` },
                      h("th", { scope: "row" }, h("span", { class: "mono" }, c.id), " ", c.title),
                      h("td", {}, c.feature),
                      h("td", {}, h("ul", { class: "trust-tests" }, ...c.tests.map((name) => h("li", { class: "mono" }, name)))),
                    ),
                  ),
              ),
            ),
          ),
        ),
      ),
    );
  });
  return h("div", {}, alert.el, h("div", { class: "trust-figures" }, count.el), prose({ titleKey: "trust.controls.title" }, [{ textKey: "trust.controls.lead" }]), body);
}

// ---- subprocessors

function yesNo(v) {
  return v ? badge({ labelKey: "trust.yes", tone: "warning" }) : badge({ labelKey: "trust.no", tone: "neutral" });
}

/** What each kind of change is called, and the tone of its badge. */
const KINDS = {
  add: { labelKey: "trust.kind.add", tone: "accent" },
  change: { labelKey: "trust.kind.change", tone: "warning" },
  remove: { labelKey: "trust.kind.remove", tone: "neutral" },
};

function kindBadge(kind) {
  return Object.hasOwn(KINDS, kind) ? badge(KINDS[kind]) : h("span", { class: "badge" }, String(kind));
}

/** The columns of the list of subprocessors. */
const SUB_COLUMNS = [
  { textKey: "trust.subs.name" },
  { textKey: "trust.subs.purpose" },
  { textKey: "trust.subs.location" },
  { textKey: "trust.subs.categories" },
  { textKey: "trust.subs.customerData" },
  { textKey: "trust.subs.since" },
];

function subprocessorsPage() {
  const alert = alertRegion();
  const figures = registryFigures();
  const list = h("div", { id: "trust-subprocessors" }, loading());
  const changes = h("div", { id: "trust-upcoming" });
  const notice = h("p", { class: "trust-text", id: "trust-notice" });
  load(alert, () => api.get("/api/v1/trust/subprocessors")).then((reg) => {
    if (!reg) {
      list.replaceChildren();
      return;
    }
    figures.fill(reg);
    setMessage(notice, { messageKey: "trust.subs.notice", params: { months: reg.notice.customer_data_months, days: reg.notice.other_days } });
    list.replaceChildren(
      reg.subprocessors.length === 0
        ? h("p", { class: "empty", i18n: "trust.subs.none" })
        : h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "table" },
              h(
                "thead",
                {},
                h(
                  "tr",
                  {},
                  ...SUB_COLUMNS.map((k) => h("th", { scope: "col", i18n: k.textKey })),
                ),
              ),
              h(
                "tbody",
                {},
                ...reg.subprocessors.map((s) => {
                  const cells = [s.name, s.purpose, s.location, s.data_categories.join(", "), yesNo(s.customer_data), time(s.effective, "date")];
                  return h(
                    "tr",
                    { "data-subprocessor": s.id },
                    ...cells.map((cell, i) => h(i === 0 ? "th" : "td", i === 0 ? { scope: "row" } : {}, h("span", { class: "cell-label", "aria-hidden": "true", i18n: SUB_COLUMNS[i].textKey }), cell)),
                  );
                }),
              ),
            ),
          ),
    );
    changes.replaceChildren(
      reg.upcoming.length === 0
        ? h("p", { class: "empty", i18n: "trust.subs.noUpcoming" })
        : h(
            "ul",
            { class: "item-list" },
            ...reg.upcoming.map((c) =>
              h(
                "li",
                { class: "item", id: `change-${c.id}`, "data-change": c.id },
                h("p", { class: "item-title" }, kindBadge(c.kind), " ", h("span", {}, c.name), " ", ...(c.customer_data ? [badge({ labelKey: "trust.subs.touchesCustomerData", tone: "warning" })] : [])),
                h("p", { class: "item-meta" }, h("span", { i18n: "trust.subs.effective" }), " ", time(c.effective, "date"), " · ", h("span", { i18n: "trust.subs.announced" }), " ", time(c.announced, "date")),
              ),
            ),
          ),
    );
  });
  const feeds = h(
    "ul",
    { class: "trust-links", id: "trust-feeds" },
    h("li", {}, link("/api/v1/trust/subprocessors/feed.json", { labelKey: "trust.subs.feedJSON" })),
    h("li", {}, link("/api/v1/trust/subprocessors/feed.json.sig", { labelKey: "trust.subs.feedSig" })),
    h("li", {}, link("/api/v1/trust/subprocessors/feed.atom", { labelKey: "trust.subs.feedAtom" })),
    h("li", {}, link("/api/v1/service", { labelKey: "trust.subs.publicKey" })),
  );
  return h(
    "div",
    {},
    alert.el,
    h("div", { class: "trust-figures" }, ...figures.els),
    panel({ titleKey: "trust.subs.title", leadKey: "trust.subs.lead" }, notice, list),
    panel({ titleKey: "trust.subs.upcoming" }, changes),
    panel({ titleKey: "trust.subs.feeds", leadKey: "trust.subs.feedsLead" }, feeds),
    ...(isTenantAdmin() ? [noticesPanel()] : []),
  );
}

/** noticesPanel is a tenant admin's subprocessor notices with objections. */
function noticesPanel() {
  const alert = alertRegion();
  const body = h("div", { id: "trust-notices" }, loading());
  function show(notices) {
    body.replaceChildren(
      notices.length === 0
        ? h("p", { class: "empty", i18n: "trust.notices.none" })
        : h("ul", { class: "item-list" }, ...notices.map((n) => noticeItem(n, refresh))),
    );
  }
  function refresh() {
    load(alert, () => api.get("/api/v1/admin/subprocessor-notices")).then((ns) => ns && show(ns));
  }
  refresh();
  return panel({ titleKey: "trust.notices.title", leadKey: "trust.notices.lead", id: "trust-notices-panel" }, alert.el, body);
}

function noticeItem(n, refresh) {
  const item = h(
    "li",
    { class: "item trust-notice", "data-notice": n.id },
    h("p", { class: "item-title" }, kindBadge(n.kind), " ", h("span", {}, n.name), " ", n.in_effect ? badge({ labelKey: "trust.notices.inEffect", tone: "neutral" }) : badge({ labelKey: "trust.notices.pending", tone: "warning" })),
    h("p", { class: "item-meta" }, h("span", { i18n: "trust.subs.effective" }), " ", time(n.effective, "date")),
  );
  if (n.objection) {
    item.append(h("p", { class: "trust-objection", "data-objection": n.objection.id }, h("span", { i18n: "trust.notices.objected" }), " ", n.objection.reason));
  }
  // Removals only lower the risk; a change in effect can no longer be
  // stopped by an objection (the API still records one).
  if (n.kind === "remove" || n.in_effect) {
    return item;
  }
  const reason = field({ labelKey: "trust.notices.reason", tag: "textarea", attrs: { maxlength: 2000, rows: 2 } });
  const status = statusRegion();
  const alert = alertRegion();
  const submit = button({ labelKey: "trust.notices.object", type: "submit", small: true });
  const form = h(
    "form",
    {
      class: "trust-objection-form",
      on: {
        submit: async (e) => {
          e.preventDefault();
          if (isBusy(submit)) {
            return;
          }
          alert.clear();
          const text = reason.input.value.trim();
          if (!text) {
            reason.setError({ messageKey: "trust.notices.reasonNeeded" });
            reason.input.focus();
            return;
          }
          reason.setError(null);
          const done = busy(submit, { messageKey: "trust.notices.recording" });
          try {
            await api.post(`/api/v1/admin/subprocessor-notices/${encodeURIComponent(n.id)}/objection`, { reason: text });
            status.flash({ messageKey: "trust.notices.recorded" });
            refresh();
          } catch (err) {
            alert.show(err);
          } finally {
            done();
          }
        },
      },
    },
    alert.el,
    reason.el,
    submit,
    status.el,
  );
  item.append(form);
  return item;
}

// ---- transparency report

function transparencyPage() {
  const alert = alertRegion();
  const names = [
    ["requests", { labelKey: "trust.report.requests" }],
    ["accounts", { labelKey: "trust.report.accounts" }],
    ["share_rejected", { labelKey: "trust.report.rejected" }],
    ["share_no_data", { labelKey: "trust.report.noData" }],
    ["share_non_content", { labelKey: "trust.report.nonContent" }],
    ["share_content", { labelKey: "trust.report.content" }],
  ];
  const figs = names.map(([n, label]) => [n, figure(`report-${n.replaceAll("_", "-")}`, label)]);
  const period = h("span", { "data-figure": "report-period" });
  const hash = h("span", { class: "mono trust-hash", "data-figure": "report-ledger-hash" });
  const links = h("ul", { class: "trust-links", id: "trust-report-links" });
  load(alert, () => api.get("/api/v1/trust/transparency-report")).then((rep) => {
    if (!rep) {
      return;
    }
    for (const [n, f] of figs) {
      fill(f.value, n.startsWith("share_") ? percent(rep.all[n]) : rep.all[n]);
    }
    fill(period, rep.period);
    fill(hash, rep.ledger_hash);
    const q = `period=${encodeURIComponent(rep.period)}`;
    links.replaceChildren(
      h("li", {}, link(`/api/v1/trust/transparency-report?${q}&format=html`, { labelKey: "trust.report.html" })),
      h("li", {}, link(`/api/v1/trust/transparency-report?${q}&format=csv`, { labelKey: "trust.report.csv" })),
      h("li", {}, link(`/api/v1/trust/transparency-report?${q}`, { labelKey: "trust.report.json" })),
    );
  });
  return h(
    "div",
    {},
    alert.el,
    panel(
      { titleKey: "trust.report.title", leadKey: "trust.report.lead" },
      h("p", { class: "trust-text" }, h("span", { i18n: "trust.report.period" }), " ", period),
      h("div", { class: "trust-figures" }, ...figs.map(([, f]) => f.el)),
      h("p", { class: "trust-text" }, h("span", { i18n: "trust.report.hash" }), " ", hash),
      links,
    ),
  );
}

// ---- government requests

function governmentPage() {
  return h(
    "div",
    {},
    panel({ titleKey: "trust.gov.title", leadKey: "trust.gov.lead" }, bullets([{ textKey: "trust.gov.p1" }, { textKey: "trust.gov.p2" }, { textKey: "trust.gov.p3" }, { textKey: "trust.gov.p4" }, { textKey: "trust.gov.p5" }])),
    h("p", {}, link("/trust/transparency", { labelKey: "trust.nav.transparency" })),
  );
}

// ---- status

const OPERATIONAL = { messageKey: "trust.status.operational" };
const DEGRADED = { messageKey: "trust.status.degraded" };

/** What each dependency of /readyz is called. */
const COMPONENTS = {
  database: { labelKey: "trust.component.database" },
  bus: { labelKey: "trust.component.bus" },
};

function statusPage() {
  const alert = alertRegion();
  const status = h("p", { class: "trust-status", id: "trust-status" }, loading());
  const list = h("ul", { class: "trust-list", id: "trust-components" });
  const checked = h("p", { class: "trust-text" });
  load(alert, () => api.get("/api/v1/trust/status")).then((st) => {
    if (!st) {
      status.replaceChildren();
      return;
    }
    const ok = st.status === "operational";
    status.replaceChildren(icon(ok ? "check" : "info"), " ", h("span", { "data-figure": "status", "data-status": st.status, "data-loaded": "true", i18n: (ok ? OPERATIONAL : DEGRADED).messageKey }));
    list.replaceChildren(
      ...Object.keys(st.components)
        .sort()
        .map((name) => {
          const up = st.components[name] === "operational";
          const label = Object.hasOwn(COMPONENTS, name) ? h("span", { i18n: COMPONENTS[name].labelKey }) : h("span", { class: "mono" }, name);
          return h("li", { "data-component": name }, label, " ", up ? badge({ labelKey: "trust.status.operational", tone: "success" }) : badge({ labelKey: "trust.status.unavailable", tone: "danger" }));
        }),
    );
    checked.replaceChildren(h("span", { i18n: "trust.status.checked" }), " ", time(st.checked));
  });
  return h("div", {}, alert.el, panel({ titleKey: "trust.status.title", leadKey: "trust.status.lead" }, status, list, checked));
}
