// Building DOM without HTML strings.
//
// Everything the app shows is made with createElement and text nodes, so no
// data can ever be parsed as markup. The page's Content Security Policy backs
// this up: with Trusted Types required and no policy allowed, every DOM sink
// that parses a string as HTML throws.

import { t, formatTime } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * h creates an element.
 *
 * props sets attributes, except for these names:
 *   - i18n: the message key of the element's text (kept in data-i18n, so a
 *     change of language translates it again), with i18nParams its
 *     parameters (kept in data-i18n-params);
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
        if (props.i18nParams) {
          el.dataset.i18nParams = JSON.stringify(props.i18nParams);
        }
        el.textContent = t(value, props.i18nParams);
        continue;
      case "i18nParams":
        continue; // with i18n

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

/**
 * setMessage shows a message in el: a message key of the catalogues (with
 * params), kept translated on a change of language, or text that is not in
 * the catalogues (a message the server wrote for people). null empties el.
 * @param {HTMLElement} el
 * @param {{messageKey?: string, params?: Record<string, string|number>, text?: string}|null} msg
 */
export function setMessage(el, msg) {
  if (!msg || (!msg.messageKey && !msg.text)) {
    setPlainText(el, "");
    return;
  }
  if (!msg.messageKey) {
    setPlainText(el, msg.text);
    return;
  }
  el.dataset.i18n = msg.messageKey;
  if (msg.params) {
    el.dataset.i18nParams = JSON.stringify(msg.params);
  } else {
    delete el.dataset.i18nParams;
  }
  el.textContent = t(msg.messageKey, msg.params);
}

/**
 * setPlainText shows text that is not a message of the catalogues (a name,
 * or a message the server wrote for people) and stops translating el.
 * @param {HTMLElement} el
 * @param {string} text
 */
export function setPlainText(el, text) {
  delete el.dataset.i18n;
  delete el.dataset.i18nParams;
  el.textContent = text;
}

/**
 * time returns a <time> element for a moment, formatted in the user's time
 * zone and language and formatted again when the language changes. An
 * empty or zero moment gives an empty element.
 * @param {string|Date} value an RFC 3339 string or a Date
 * @param {"datetime"|"date"} [format]
 */
export function time(value, format = "datetime") {
  const el = document.createElement("time");
  const date = value instanceof Date ? value : new Date(value);
  if (!value || Number.isNaN(date.getTime()) || date.getUTCFullYear() <= 1) {
    return el;
  }
  el.dateTime = date.toISOString();
  el.dataset.format = format;
  el.textContent = formatTime(format, date);
  return el;
}
