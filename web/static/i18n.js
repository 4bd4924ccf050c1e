// Messages in the user's language, and dates and times in the user's time zone.
//
// The catalogues are flat JSON objects in ./i18n/<code>.json with the same keys
// in every language. A key is always written out in full, never assembled from
// parts, so that the Go test TestCatalogues can find every key in use. In the
// JavaScript a key is the first argument of the function t, the value of a
// property named i18n, or the value of a property whose name ends in Key; in
// the HTML it is the value of a data-i18n (text) or data-i18n-aria-label
// attribute.
//
// Text goes into the page with textContent only. A message never becomes HTML.

/** The languages the app speaks; the first is the fallback. */
export const LANGUAGES = Object.freeze(["en", "ja"]);

const STORAGE_KEY = "kaigi.lang";

let current = LANGUAGES[0];
let messages = {};
let generation = 0;
const cache = new Map();
const listeners = new Set();

/**
 * pickLanguage chooses the language: the one the user chose before, if the
 * app still speaks it, else the first of the browser's preferred languages
 * the app speaks, else the fallback.
 * @param {string|null} stored
 * @param {readonly string[]} preferred
 */
export function pickLanguage(stored, preferred) {
  if (stored && LANGUAGES.includes(stored)) {
    return stored;
  }
  for (const tag of preferred) {
    const primary = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(primary)) {
      return primary;
    }
  }
  return LANGUAGES[0];
}

/** The language in use. */
export function language() {
  return current;
}

function preferredLanguages() {
  if (navigator.languages && navigator.languages.length > 0) {
    return navigator.languages;
  }
  return navigator.language ? [navigator.language] : [];
}

function readStored() {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage blocked: no remembered choice
  }
}

function store(code) {
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    // storage blocked: the choice lasts for this page only
  }
}

async function load(code) {
  if (!cache.has(code)) {
    const url = new URL(`./i18n/${code}.json`, import.meta.url);
    const res = await fetch(url, { credentials: "same-origin" });
    if (!res.ok) {
      throw new Error(`i18n: loading ${code} failed with status ${res.status}`);
    }
    cache.set(code, await res.json());
  }
  return cache.get(code);
}

/** init picks the language and applies it to the document. */
export async function init() {
  await setLanguage(pickLanguage(readStored(), preferredLanguages()), { remember: false });
}

/**
 * setLanguage loads the catalogue of code, translates the document, updates
 * the lang attribute and tells the listeners. With remember, the choice is
 * kept in localStorage for the next visit.
 * @param {string} code
 * @param {{remember?: boolean}} [options]
 */
export async function setLanguage(code, { remember = false } = {}) {
  if (!LANGUAGES.includes(code)) {
    throw new Error(`i18n: unsupported language ${code}`);
  }
  const mine = ++generation;
  const loaded = await load(code);
  if (mine !== generation) {
    return; // a later choice won while this one was loading
  }
  messages = loaded;
  current = code;
  document.documentElement.lang = code;
  translate(document);
  if (remember) {
    store(code);
  }
  for (const fn of listeners) {
    fn(code);
  }
}

/**
 * onChange calls fn with the new language after every change.
 * @param {(code: string) => void} fn
 */
export function onChange(fn) {
  listeners.add(fn);
}

/**
 * t returns the message for key, with each {name} replaced by params[name].
 * A missing key is a bug: it is reported on the console and the key is shown.
 * @param {string} key
 * @param {Record<string, string|number>} [params]
 */
export function t(key, params) {
  const msg = messages[key];
  if (typeof msg !== "string") {
    console.error(`i18n: no message for key "${key}" in "${current}"`);
    return key;
  }
  if (!params) {
    return msg;
  }
  return msg.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/**
 * translate fills in every element under root that names a message: its
 * text (data-i18n), or its aria-label, alt or title attribute
 * (data-i18n-aria-label, data-i18n-alt, data-i18n-title).
 * @param {ParentNode} root
 */
export function translate(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n, readParams(el));
  }
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
  for (const el of root.querySelectorAll("[data-i18n-alt]")) {
    el.setAttribute("alt", t(el.dataset.i18nAlt));
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) {
    el.setAttribute("title", t(el.dataset.i18nTitle));
  }
  for (const el of root.querySelectorAll("time[data-format]")) {
    el.textContent = formatTime(el.dataset.format, new Date(el.dateTime));
  }
}

/** readParams returns the message parameters kept in data-i18n-params. */
function readParams(el) {
  if (!el.dataset.i18nParams) {
    return undefined;
  }
  try {
    return JSON.parse(el.dataset.i18nParams);
  } catch {
    return undefined;
  }
}

/**
 * formatTime formats a moment in one of the app's formats: "datetime" (see
 * formatDateTime) or "date" (the day only).
 * @param {string} format
 * @param {Date} date
 */
export function formatTime(format, date) {
  if (Number.isNaN(date.getTime())) {
    return "";
  }
  if (format === "date") {
    return new Intl.DateTimeFormat(formatLocale(), { year: "numeric", month: "short", day: "numeric" }).format(date);
  }
  return formatDateTime(date);
}

/**
 * formatWait says how long to wait, as "in 2 minutes" or "2 分後", rounded up
 * to whole seconds, minutes or hours so that nobody comes back too early.
 * @param {number} seconds
 */
export function formatWait(seconds) {
  const rtf = new Intl.RelativeTimeFormat(formatLocale(), { numeric: "always" });
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) {
    return rtf.format(s, "second");
  }
  if (s < 3600) {
    return rtf.format(Math.ceil(s / 60), "minute");
  }
  return rtf.format(Math.ceil(s / 3600), "hour");
}

/**
 * formatList joins items as the language does ("a, b and c", "a、b、c").
 * @param {string[]} items
 */
export function formatList(items) {
  return new Intl.ListFormat(formatLocale(), { style: "long", type: "conjunction" }).format(items);
}

/**
 * locale returns the locale the app formats dates and numbers in (see
 * formatLocale), for formats of its own.
 */
export function locale() {
  return formatLocale();
}

/**
 * The locale for formatting: the browser's own preference for the language
 * in use when it has one (en-GB writes dates differently from en-US), else
 * the bare language.
 */
function formatLocale() {
  for (const tag of preferredLanguages()) {
    if (String(tag).toLowerCase().split("-")[0] === current) {
      return tag;
    }
  }
  return current;
}

/**
 * formatDateTime formats a moment in the user's time zone, with the zone's
 * name, in the language in use.
 * @param {Date} date
 */
export function formatDateTime(date) {
  return new Intl.DateTimeFormat(formatLocale(), {
    weekday: "short",
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "numeric",
    minute: "2-digit",
    timeZoneName: "short",
  }).format(date);
}

/**
 * formatUnit formats an amount of a unit ("8 hours", "8 時間").
 * @param {number} n
 * @param {"day"|"hour"|"minute"|"second"} unit
 */
export function formatUnit(n, unit) {
  return new Intl.NumberFormat(formatLocale(), { style: "unit", unit, unitDisplay: "long" }).format(n);
}
