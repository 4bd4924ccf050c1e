// The meetings page (/meetings): your meetings, "meet now", scheduling with
// invitees, and each meeting's options (who bypasses the lobby, who admits,
// whether people who are not signed in may join) for its organisers.

import { h, setMessage, time } from "./dom.js";
import { t } from "./i18n.js";
import { api, ApiError } from "./api.js";
import { navigate } from "./router.js";

/** The lobby bypass scopes, narrowest first (identity.BypassScopes), with their labels. */
const SCOPES = [
  { value: "organizer", labelKey: "meetings.scope.organizer" },
  { value: "invited", labelKey: "meetings.scope.invited" },
  { value: "organizationExcludingGuests", labelKey: "meetings.scope.organizationExcludingGuests" },
  { value: "organization", labelKey: "meetings.scope.organization" },
  { value: "organizationAndFederated", labelKey: "meetings.scope.organizationAndFederated" },
  { value: "everyone", labelKey: "meetings.scope.everyone" },
];

/**
 * meetingsPage is the /meetings page.
 * @returns {HTMLElement}
 */
export function meetingsPage() {
  const status = h("p", { class: "notice form-status", role: "status", id: "meetings-status" });
  const list = h("ul", { class: "meetings-list", id: "meetings-list" });
  const say = (err) => {
    status.classList.add("notice-error");
    setMessage(status, err instanceof ApiError && err.message ? { text: err.message } : { messageKey: "meetings.failed" });
  };

  const now = h("button", { type: "button", class: "button button-primary", id: "meet-now", i18n: "meetings.now" });
  now.addEventListener("click", async () => {
    now.disabled = true;
    try {
      const m = await api.post("/api/v1/meetings/instant", {});
      navigate(new URL(m.link).pathname + new URL(m.link).hash);
    } catch (err) {
      say(err);
    } finally {
      now.disabled = false;
    }
  });

  // Scheduling.
  const titleIn = h("input", { id: "schedule-title", type: "text", maxlength: "200", required: true });
  const startIn = h("input", { id: "schedule-start", type: "datetime-local", required: true });
  const minutesIn = h("input", { id: "schedule-minutes", type: "number", min: "5", max: "1440", value: "30", required: true });
  const inviteesIn = h("textarea", { id: "schedule-invitees", rows: "2", placeholder: "ana@example.com, li@example.org" });
  const schedule = h(
    "form",
    { class: "stack", id: "schedule-form", novalidate: true },
    h("h2", { i18n: "meetings.schedule" }),
    h("div", { class: "field" }, h("label", { for: "schedule-title", i18n: "meetings.titleField" }), titleIn),
    h("div", { class: "field" }, h("label", { for: "schedule-start", i18n: "meetings.start" }), startIn),
    h("div", { class: "field" }, h("label", { for: "schedule-minutes", i18n: "meetings.minutes" }), minutesIn),
    h("div", { class: "field" }, h("label", { for: "schedule-invitees", i18n: "meetings.invitees" }), inviteesIn),
    h("button", { type: "submit", class: "button button-primary", i18n: "meetings.create" }),
  );
  schedule.addEventListener("submit", async (e) => {
    e.preventDefault();
    const start = new Date(startIn.value);
    if (!titleIn.value.trim() || Number.isNaN(start.getTime())) {
      status.classList.add("notice-error");
      setMessage(status, { messageKey: "meetings.fillIn" });
      return;
    }
    const end = new Date(start.getTime() + Number(minutesIn.value || 30) * 60000);
    const invitees = inviteesIn.value
      .split(/[\s,;]+/)
      .filter(Boolean)
      .map((email) => ({ email }));
    try {
      await api.post("/api/v1/meetings", { title: titleIn.value.trim(), start: start.toISOString(), end: end.toISOString(), invitees });
      status.classList.remove("notice-error");
      setMessage(status, { messageKey: "meetings.created" });
      schedule.reset();
      load();
    } catch (err) {
      say(err);
    }
  });

  function options(m) {
    const bypass = h("select", { "aria-label": t("meetings.bypass") }, ...SCOPES.map((s) => h("option", { value: s.value, i18n: s.labelKey })));
    bypass.value = m.options.lobby_bypass;
    const admitters = h(
      "select",
      { "aria-label": t("meetings.admitters") },
      h("option", { value: "organizers", i18n: "meetings.admitters.organizers" }),
      h("option", { value: "organizersAndPresenters", i18n: "meetings.admitters.organizersAndPresenters" }),
    );
    admitters.value = m.options.admitters;
    const anon = h("input", { type: "checkbox", checked: m.options.allow_anonymous });
    const form = h(
      "form",
      { class: "meeting-options" },
      h("label", {}, h("span", { i18n: "meetings.bypass" }), " ", bypass),
      h("label", {}, h("span", { i18n: "meetings.admitters" }), " ", admitters),
      h("label", { class: "check" }, anon, " ", h("span", { i18n: "meetings.anonymous" })),
      h("button", { type: "submit", class: "button button-secondary", i18n: "meetings.saveOptions" }),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await api.put(`/api/v1/meetings/${m.id}/options`, { lobby_bypass: bypass.value, admitters: admitters.value, allow_anonymous: anon.checked });
        status.classList.remove("notice-error");
        setMessage(status, { messageKey: "meetings.saved" });
      } catch (err) {
        say(err);
      }
    });
    return form;
  }

  function recordings(m) {
    const box = h("div", { class: "meeting-recordings" });
    api
      .get(`/api/v1/meetings/${m.id}/recordings`)
      .then((rs) => {
        if (rs.length === 0) {
          return;
        }
        box.append(
          h("h4", { i18n: "meetings.recordings" }),
          h(
            "ul",
            {},
            ...rs.map((r) =>
              h(
                "li",
                { "data-recording": r.id },
                h("span", {}, r.name, " · ", r.kind === "screen" ? t("meetings.recording.screen") : t("meetings.recording.camera"), " · ", time(r.started)),
                h("video", { controls: true, preload: "none", src: `/api/v1/recordings/${r.id}`, "aria-label": t("meetings.recording.player") }),
              ),
            ),
          ),
        );
      })
      .catch(() => {});
    return box;
  }

  async function load() {
    try {
      const ms = await api.get("/api/v1/meetings");
      list.replaceChildren(
        ...(ms.length === 0
          ? [h("li", { class: "empty", i18n: "meetings.none" })]
          : ms.map((m) => {
              const item = h("li", { class: "meeting", "data-meeting": m.id }, h("h3", {}, m.title), h("p", {}, time(m.start), " – ", time(m.end)));
              const actions = h("p", { class: "actions" });
              item.append(actions);
              api
                .get(`/api/v1/meetings/${m.id}`)
                .then((full) => {
                  const url = new URL(full.link);
                  actions.append(
                    h("a", { href: url.pathname + url.hash, class: "button button-primary", i18n: "meetings.join" }),
                    " ",
                    h("a", { href: `/api/v1/meetings/${m.id}/invite.ics`, class: "button button-secondary", download: "meeting.ics", i18n: "meetings.ics" }),
                    " ",
                    h("button", { type: "button", class: "button button-secondary", on: { click: () => navigator.clipboard.writeText(full.link).then(() => setMessage(status, { messageKey: "meetings.copied" })) }, i18n: "meetings.copy" }),
                  );
                })
                .catch(() => {});
              item.append(options(m), recordings(m));
              return item;
            })),
      );
    } catch (err) {
      say(err);
    }
  }
  load();

  return h(
    "section",
    { class: "meetings", "aria-labelledby": "meetings-title" },
    h("h1", { id: "meetings-title", tabindex: "-1", i18n: "nav.meetings" }),
    h("p", { class: "lead", i18n: "area.meetings.description" }),
    h("p", {}, now),
    status,
    h("h2", { i18n: "meetings.yours" }),
    list,
    schedule,
  );
}
