// Building DOM without HTML strings.
//
// Everything the app shows is made with createElement and text nodes, so no
// data can ever be parsed as markup. The page's Content Security Policy backs
// this up: with Trusted Types required and no policy allowed, every DOM sink
// that parses a string as HTML throws.

import { t } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * h creates an element.
 *
 * props sets attributes, except for these names:
 *   - i18n: the message key of the element's text (kept in data-i18n, so a
 *     change of language translates it again);
 *   - i18nAriaLabel: the message key of its aria-label;
 *   - on: an object of event listeners, { click: fn }.
 * A value of true sets an empty attribute; false, null and undefined set none.
 * Event-handler attributes (on...) and style are refused: the policy blocks
 * both, and listeners belong in on.
 *
 * children are nodes or strings; a string becomes a text node, never markup.
 *
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {...(Node|string)} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === false || value === null || value === undefined) {
      continue;
    }
    switch (name) {
      case "i18n":
        el.dataset.i18n = value;
        el.textContent = t(value);
        continue;
      case "i18nAriaLabel":
        el.dataset.i18nAriaLabel = value;
        el.setAttribute("aria-label", t(value));
        continue;
      case "on":
        for (const [type, fn] of Object.entries(value)) {
          el.addEventListener(type, fn);
        }
        continue;
    }
    if (/^on/i.test(name) || name.toLowerCase() === "style") {
      throw new Error(`dom: refusing attribute ${name}`);
    }
    el.setAttribute(name, value === true ? "" : String(value));
  }
  el.append(...children);
  return el;
}

/**
 * icon returns a decorative icon from the sprite in index.html.
 * @param {string} name the symbol id without its "i-" prefix
 * @param {string} [className]
 */
export function icon(name, className = "icon") {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const use = document.createElementNS(SVG_NS, "use");
  use.setAttribute("href", `#i-${name}`);
  svg.append(use);
  return svg;
}
