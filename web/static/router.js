// A small client-side router on the History API.
//
// A route has a path and either a redirect or a render function. Its path
// matches itself and everything below it ("/chat" matches "/chat/general"),
// except "/", which matches only itself. The server answers the same paths
// with index.html (see Routes in web.go); keep the two lists in step.
//
// Links are ordinary <a href> elements: the router takes over clicks on links
// to its own paths, so middle-click, "open in new tab" and copying the link
// keep working, and the app works with the keyboard as any page does.

import { t, onChange } from "./i18n.js";

/**
 * @typedef {object} Route
 * @property {string} path
 * @property {string} [redirect] a path to show instead
 * @property {string} [titleKey] message key of the page title
 * @property {() => HTMLElement} [render] builds the page; the page's first
 *   h1 gets the focus after a navigation
 * @property {boolean} [signedIn] the page needs a session (see the guard)
 * @property {boolean} [enrolment] the page also serves a session that may
 *   only enrol a second factor
 */

/** The router in use, for navigate. */
let active = null;

/**
 * navigate shows the page of an app path, as following a link to it would.
 * With replace, the current history entry is replaced instead of a new one
 * being added (for redirects after a form).
 * @param {string} href
 * @param {{replace?: boolean}} [options]
 */
export function navigate(href, options) {
  if (active) {
    active.navigate(href, options);
  } else {
    location.assign(href);
  }
}


/**
 * createRouter wires the router to the document.
 * @param {object} opts
 * @param {Route[]} opts.routes
 * @param {Route} opts.notFound the page for a path no route matches
 * @param {HTMLElement} opts.outlet where pages go
 * @param {HTMLElement} opts.nav the navigation; its links marked data-nav get
 *   aria-current="page" when their route is shown
 * @param {(route: Route) => void} [opts.onNavigate]
 * @param {(route: Route, url: URL) => string|null} [opts.guard] returns the
 *   path to show instead of a route (the sign-in page for a page that needs a
 *   session), or null to show it
 */
export function createRouter({ routes, notFound, outlet, nav, onNavigate, guard }) {
  let shown = null;

  function match(pathname) {
    return routes.find((r) => pathname === r.path || (r.path !== "/" && pathname.startsWith(r.path + "/")));
  }

  function owns(url) {
    return url.origin === location.origin && match(url.pathname) !== undefined;
  }

  function updateTitle() {
    const name = t("app.name");
    document.title = shown && shown.titleKey ? `${t(shown.titleKey)} · ${name}` : name;
  }

  function updateNav(route) {
    for (const a of nav.querySelectorAll("a[data-nav]")) {
      const path = new URL(a.href).pathname;
      if (route && route.path === path) {
        a.setAttribute("aria-current", "page");
      } else {
        a.removeAttribute("aria-current");
      }
    }
  }

  function render(pathname, { focus }) {
    let route = match(pathname);
    if (route && route.redirect) {
      history.replaceState(history.state, "", route.redirect + location.search + location.hash);
      route = match(route.redirect);
    }
    // The guard may send the person elsewhere; a few hops at most, so a
    // mistake in it cannot loop.
    for (let hops = 0; route && guard && hops < 3; hops++) {
      const to = guard(route, new URL(location.href));
      if (!to) {
        break;
      }
      history.replaceState(null, "", to);
      route = match(new URL(to, location.href).pathname);
    }
    route = route || notFound;
    shown = route;
    outlet.replaceChildren(route.render());
    updateNav(route === notFound ? null : route);
    updateTitle();
    if (focus) {
      const heading = outlet.querySelector("h1");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus();
      }
    }
    if (onNavigate) {
      onNavigate(route);
    }
  }

  /**
   * navigate shows the page of a path and adds it to the history.
   * @param {string} href
   */
  function navigate(href, { replace = false } = {}) {
    const url = new URL(href, location.href);
    if (replace) {
      history.replaceState(null, "", url.pathname + url.search + url.hash);
    } else if (url.pathname + url.search !== location.pathname + location.search) {
      history.pushState(null, "", url.pathname + url.search + url.hash);
    }
    render(url.pathname, { focus: true });
    window.scrollTo(0, 0);
  }

  function onClick(event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    const a = event.target instanceof Element ? event.target.closest("a[href]") : null;
    if (!a || (a.target && a.target !== "_self") || a.hasAttribute("download")) {
      return;
    }
    const url = new URL(a.href);
    const samePage = url.pathname === location.pathname && url.search === location.search;
    if (!owns(url) || (samePage && url.hash)) {
      return; // another site, a server path, or a link within the page (the skip link)
    }
    event.preventDefault();
    navigate(url.href);
  }

  const router = {
    /** start shows the current page and begins to follow links and history. */
    start() {
      active = router;
      document.addEventListener("click", onClick);
      window.addEventListener("popstate", () => render(location.pathname, { focus: true }));
      onChange(updateTitle);
      // The first page keeps the focus where the browser put it, so the skip
      // link stays the first stop of the Tab key.
      render(location.pathname, { focus: false });
    },
    navigate,
  };
  return router;
}
