// The entry point of the Kaigi browser app: language, router, navigation
// menu and clock. The app marks <html data-state="ready"> when it has started
// (or "failed" when it could not), which also ends the brief hiding of the
// untranslated page (see app.css).

import * as i18n from "./i18n.js";
import { createRouter } from "./router.js";
import { routes, notFound } from "./pages.js";

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
  await i18n.init();
  initLanguageSwitch(document.getElementById("lang-select"));
  const nav = document.getElementById("site-nav");
  const menu = initMenu(document.getElementById("menu-button"), nav);
  createRouter({
    routes,
    notFound,
    outlet: document.getElementById("view"),
    nav,
    onNavigate: () => menu.close(),
  }).start();
  startClock(document.getElementById("clock"));
  document.documentElement.dataset.state = "ready";
}

main().catch((err) => {
  document.documentElement.dataset.state = "failed";
  console.error("Kaigi failed to start", err);
});
