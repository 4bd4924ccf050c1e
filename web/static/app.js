// The entry point of the Kaigi browser app: language, session, router,
// header (account menu), navigation menu and clock. The app marks
// <html data-state="ready"> when it has started (or "failed" when it could
// not), which also ends the brief hiding of the untranslated page (see
// app.css).

import * as i18n from "./i18n.js";
import { setMessage } from "./dom.js";
import { createRouter, navigate } from "./router.js";
import { routes, notFound } from "./pages.js";
import { isTenantAdmin, onSessionChange, refreshSession, session, signOut } from "./session.js";
import { safeNext, setFlash, takeFlash } from "./ui.js";

/** Below this width the navigation folds into the menu button (see app.css). */
const NARROW = "(max-width: 48rem)";

/**
 * initMenu makes the menu button show and hide the navigation on narrow
 * screens, as a disclosure: aria-expanded on the button says whether the
 * navigation is shown; Escape closes it and returns to the button.
 */
function initMenu(button, nav) {
  const narrow = window.matchMedia(NARROW);
  const isOpen = () => button.getAttribute("aria-expanded") === "true";
  function set(open) {
    button.setAttribute("aria-expanded", String(open));
    nav.classList.toggle("is-open", open);
  }
  button.addEventListener("click", () => set(!isOpen()));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && narrow.matches && isOpen()) {
      const inside = nav.contains(document.activeElement);
      set(false);
      if (inside || document.activeElement === button) {
        button.focus();
      }
    }
  });
  narrow.addEventListener("change", () => set(false));
  return { close: () => set(false) };
}

/**
 * initAccountMenu wires the signed-in person's menu in the header, a
 * disclosure like the navigation: the button's aria-expanded says whether
 * it is open; Escape, a click elsewhere or the focus leaving close it.
 */
function initAccountMenu() {
  const box = document.getElementById("account");
  const button = document.getElementById("account-button");
  const menu = document.getElementById("account-menu");
  const isOpen = () => button.getAttribute("aria-expanded") === "true";
  function set(open) {
    button.setAttribute("aria-expanded", String(open));
    menu.hidden = !open;
  }
  button.addEventListener("click", () => set(!isOpen()));
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isOpen()) {
      event.stopPropagation();
      set(false);
      button.focus();
    }
  });
  box.addEventListener("focusout", (event) => {
    if (isOpen() && event.relatedTarget && !box.contains(event.relatedTarget)) {
      set(false);
    }
  });
  document.addEventListener("click", (event) => {
    if (isOpen() && event.target instanceof Node && !box.contains(event.target)) {
      set(false);
    }
  });
  document.getElementById("signout-button").addEventListener("click", async () => {
    set(false);
    try {
      await signOut();
    } catch {
      // The session had ended already: signed out either way.
    }
    setFlash({ messageKey: "signout.done", tone: "success" });
    navigate("/signin", { replace: true });
  });
  return { close: () => set(false) };
}

/** initials returns up to two letters for an avatar. */
function initials(name) {
  const parts = String(name).trim().split(/[\s@._-]+/).filter(Boolean);
  if (parts.length > 1) {
    return (parts[0][0] + parts[1][0]).toUpperCase();
  }
  return String(name).slice(0, 2).toUpperCase();
}

/** showSession updates the header, navigation and footer for a session. */
function showSession(s) {
  const active = s.state === "active";
  document.documentElement.classList.toggle("is-signed-in", active);
  document.getElementById("account").hidden = !active;
  const name = s.display_name || s.email || "";
  document.getElementById("account-name").textContent = name;
  document.getElementById("account-initials").textContent = active ? initials(name) : "";
  document.getElementById("account-menu-name").textContent = s.display_name || "";
  document.getElementById("account-email").textContent = s.email || "";
  // Signed in, each console shows in the navigation only to those who may
  // use it; signed out, the compliance center and the operator console lead
  // to the sign-in page.
  const roles = Array.isArray(s.roles) ? s.roles : [];
  const shows = {
    "/admin": isTenantAdmin(),
    "/compliance": !active || ["tenant_admin", "compliance_officer", "lockbox_approver"].some((r) => roles.includes(r)),
    "/operator": !active || s.kind === "operator",
  };
  for (const [path, shown] of Object.entries(shows)) {
    document.querySelector(`#site-nav a[href="${path}"]`).closest("li").hidden = !shown;
  }
  setMessage(document.getElementById("session-status"), active ? { messageKey: "footer.signedIn" } : { messageKey: "footer.signedOut" });
}

/**
 * guard decides whether a page may be shown to the session: pages that need
 * a session send others to sign in (and back afterwards); a session that
 * must enrol a second factor goes to the enrolment; someone signed in skips
 * the sign-in page.
 */
function guard(route, url) {
  const state = session().state;
  if (route.path === "/signin") {
    if (state === "active") {
      return safeNext(url.searchParams.get("next")) || "/chat";
    }
    if (state === "enrol_mfa") {
      return "/settings/security" + url.search;
    }
    return null;
  }
  if (!route.signedIn || state === "active" || (state === "enrol_mfa" && route.enrolment)) {
    return null;
  }
  if (state === "enrol_mfa") {
    return "/settings/security";
  }
  return "/signin?next=" + encodeURIComponent(url.pathname + url.search);
}

/** showFlash puts a message kept for this page at its top. */
function showFlash(outlet) {
  const banner = takeFlash();
  if (!banner) {
    return;
  }
  const first = outlet.firstElementChild;
  if (first && first.classList.contains("auth")) {
    first.prepend(banner);
  } else {
    outlet.prepend(banner);
  }
}

/** initLanguageSwitch keeps the language picker and the language in step. */
function initLanguageSwitch(select) {
  select.value = i18n.language();
  select.addEventListener("change", () => {
    i18n.setLanguage(select.value, { remember: true }).catch((err) => {
      console.error("Kaigi could not change the language", err);
      select.value = i18n.language();
    });
  });
  i18n.onChange((code) => {
    select.value = code;
    // Parts of pages built from data in words (policy summaries, traces)
    // build themselves again.
    for (const el of document.querySelectorAll("[data-relocalize]")) {
      el.dispatchEvent(new CustomEvent("kaigi:language"));
    }
  });
}

/** startClock shows the local date and time, updated on the minute. */
function startClock(el) {
  function show() {
    const now = new Date();
    el.dateTime = now.toISOString();
    el.textContent = i18n.formatDateTime(now);
  }
  function schedule() {
    const now = new Date();
    const untilNextMinute = 60000 - (now.getSeconds() * 1000 + now.getMilliseconds());
    setTimeout(() => {
      show();
      schedule();
    }, untilNextMinute + 50);
  }
  show();
  schedule();
  i18n.onChange(show);
}

async function main() {
  const [, first] = await Promise.all([i18n.init(), refreshSession()]);
  initLanguageSwitch(document.getElementById("lang-select"));
  const nav = document.getElementById("site-nav");
  const menu = initMenu(document.getElementById("menu-button"), nav);
  const account = initAccountMenu();
  showSession(first);
  onSessionChange(showSession);
  const outlet = document.getElementById("view");
  createRouter({
    routes,
    notFound,
    outlet,
    nav,
    guard,
    onNavigate: () => {
      menu.close();
      account.close();
      showFlash(outlet);
    },
  }).start();
  startClock(document.getElementById("clock"));
  document.documentElement.dataset.state = "ready";
}

main().catch((err) => {
  document.documentElement.dataset.state = "failed";
  console.error("Kaigi failed to start", err);
});
