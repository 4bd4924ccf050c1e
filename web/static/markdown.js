// A small, safe Markdown renderer for chat messages.
//
// It understands a subset: paragraphs, line breaks (every newline is one),
// **bold**, *italic* (or _italic_), ~~strike~~, `code`, fenced code blocks,
// > quotes, - and 1. lists, [links](url), bare URLs and <@account-id>
// mentions. Everything else is text, shown as typed.
//
// Safety does not rest on escaping: the renderer builds DOM nodes with
// createElement and text nodes only, so no part of a message is ever parsed
// as HTML. A tag in a message ("<script>", "<img onerror=…>") is text. The
// only attributes it sets are the href, target and rel of links, and only
// http:, https: and mailto: addresses become links — a "javascript:" or
// "data:" address stays text. It makes no <img>, so a message can never
// load anything from elsewhere.
//
// The parser is linear in practice: searches for a closing delimiter that
// failed are remembered, so a message of 32 KiB of asterisks costs no more
// than one of letters.

/** How deep quotes and emphasis may nest before the rest is text. */
const MAX_DEPTH = 6;

/** The only address schemes that become links. */
const SAFE_SCHEMES = new Set(["http:", "https:", "mailto:"]);

/** Characters a backslash makes literal. */
const ESCAPABLE = "\\`*_~[]()<>#+-.!|";

/** Links and link texts longer than this are not links. */
const MAX_URL = 2048;
const MAX_LINK_TEXT = 1000;

/**
 * safeHref returns the address a link may point to, or null: an absolute
 * http:, https: or mailto: URL without spaces, control characters or a user
 * name (which hides the real host, as in bank.example@evil.example).
 * @param {string} raw
 * @returns {string|null}
 */
export function safeHref(raw) {
  const s = String(raw).trim();
  if (s === "" || s.length > MAX_URL || /[\s\u0000-\u001f\u007f]/.test(s)) {
    return null;
  }
  let u;
  try {
    u = new URL(s);
  } catch {
    return null; // relative or malformed: not a link
  }
  if (!SAFE_SCHEMES.has(u.protocol)) {
    return null;
  }
  if (u.protocol !== "mailto:" && (!u.hostname || u.username || u.password)) {
    return null;
  }
  return u.href;
}

/**
 * @typedef {object} RenderOptions
 * @property {(id: string) => Node} [mention] builds the node of a mention
 *   of an account; default: the text "@" and the id
 */

/**
 * renderMarkdown turns a message body into DOM nodes.
 * @param {string} text
 * @param {RenderOptions} [options]
 * @returns {DocumentFragment}
 */
export function renderMarkdown(text, options = {}) {
  const frag = document.createDocumentFragment();
  const lines = String(text).replace(/\r\n?/g, "\n").split("\n");
  renderBlocks(lines, frag, options, 0);
  return frag;
}

/**
 * isEmojiOnly reports whether a body is one to three emoji and nothing
 * else, which the message list shows larger.
 * @param {string} text
 */
export function isEmojiOnly(text) {
  const s = String(text).trim();
  if (s === "" || s.length > 40 || !/^[\p{Extended_Pictographic}\p{Emoji_Component}\u200d\ufe0f\s]+$/u.test(s) || /[0-9#*]/.test(s)) {
    return false;
  }
  const pictos = s.match(/\p{Extended_Pictographic}/gu);
  return !!pictos && pictos.length <= 3;
}

function el(tag, className) {
  const e = document.createElement(tag);
  if (className) {
    e.className = className;
  }
  return e;
}

const isBlank = (line) => line.trim() === "";
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const QUOTE = /^ {0,3}>/;
const BULLET = /^ {0,3}[-*+][ \t]+(.*)$/;
const BULLET_EMPTY = /^ {0,3}[-*+]$/;
const NUMBERED = /^ {0,3}(\d{1,9})[.)][ \t]+(.*)$/;

/** listItem reads a list item line: its kind, number and text. */
function listItem(line) {
  let m = NUMBERED.exec(line);
  if (m) {
    return { ordered: true, start: Number(m[1]), text: m[2] };
  }
  m = BULLET.exec(line);
  if (m) {
    return { ordered: false, start: 1, text: m[1] };
  }
  if (BULLET_EMPTY.test(line)) {
    return { ordered: false, start: 1, text: "" };
  }
  return null;
}

function startsBlock(line) {
  return FENCE.test(line) || QUOTE.test(line) || listItem(line) !== null;
}

/**
 * renderBlocks appends the blocks of lines to parent: code blocks, quotes,
 * lists and paragraphs, separated by blank lines.
 */
function renderBlocks(lines, parent, options, depth) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      i++;
      continue;
    }

    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1];
      const closing = new RegExp("^ {0,3}" + (marker[0] === "`" ? "`" : "~") + "{" + marker.length + ",}[ \\t]*$");
      const body = [];
      i++;
      while (i < lines.length && !closing.test(lines[i])) {
        body.push(lines[i]);
        i++;
      }
      i++; // the closing fence, or past the end when there is none
      const code = el("code");
      code.textContent = body.join("\n");
      const pre = el("pre", "md-code");
      pre.append(code);
      parent.append(pre);
      continue;
    }

    if (QUOTE.test(line)) {
      const inner = [];
      while (i < lines.length && QUOTE.test(lines[i])) {
        inner.push(lines[i].replace(/^ {0,3}> ?/, ""));
        i++;
      }
      const quote = el("blockquote", "md-quote");
      if (depth < MAX_DEPTH) {
        renderBlocks(inner, quote, options, depth + 1);
      } else {
        quote.textContent = inner.join("\n");
      }
      parent.append(quote);
      continue;
    }

    const first = listItem(line);
    if (first) {
      const list = el(first.ordered ? "ol" : "ul", "md-list");
      if (first.ordered && first.start !== 1) {
        list.setAttribute("start", String(first.start));
      }
      while (i < lines.length) {
        const item = listItem(lines[i]);
        if (!item || item.ordered !== first.ordered) {
          break;
        }
        const content = [item.text];
        i++;
        // Indented lines continue the item.
        while (i < lines.length && !isBlank(lines[i]) && !startsBlock(lines[i]) && /^[ \t]{2,}\S/.test(lines[i])) {
          content.push(lines[i].trim());
          i++;
        }
        const li = el("li");
        inlineLines(content, li, options, depth);
        list.append(li);
      }
      parent.append(list);
      continue;
    }

    const para = [];
    while (i < lines.length && !isBlank(lines[i]) && (para.length === 0 || !startsBlock(lines[i]))) {
      para.push(lines[i]);
      i++;
    }
    const p = el("p");
    inlineLines(para, p, options, depth);
    parent.append(p);
  }
}

/** inlineLines renders lines as inline content with a <br> between them. */
function inlineLines(lines, parent, options, depth) {
  lines.forEach((line, n) => {
    if (n > 0) {
      parent.append(el("br"));
    }
    new Inline(line, options).parse(0, line.length, parent, depth, false);
  });
}

const isSpace = (c) => c === undefined || /\s/.test(c);
const isWordChar = (c) => c !== undefined && /[\p{L}\p{N}_]/u.test(c);

/** Inline parses one line's spans: code, mentions, links, emphasis. */
class Inline {
  constructor(src, options) {
    this.src = src;
    this.options = options;
    /** Failed searches for closers: "delimiter end" → the least start that failed. */
    this.failed = new Map();
  }

  /**
   * parse appends the nodes of src[start:end] to parent. inLink stops links
   * inside a link's text.
   */
  parse(start, end, parent, depth, inLink) {
    const src = this.src;
    let text = "";
    const flush = () => {
      if (text !== "") {
        parent.append(text); // a string becomes a text node, never markup
        text = "";
      }
    };
    let i = start;
    while (i < end) {
      const c = src[i];

      if (c === "\\" && i + 1 < end && ESCAPABLE.includes(src[i + 1])) {
        text += src[i + 1];
        i += 2;
        continue;
      }

      if (c === "`") {
        const n = this.run(i, end, "`");
        const close = this.findCodeClose(i + n, end, n);
        if (close < 0) {
          text += src.slice(i, i + n);
          i += n;
          continue;
        }
        flush();
        const code = el("code", "md-inline-code");
        let body = src.slice(i + n, close);
        if (body.length > 2 && body.startsWith(" ") && body.endsWith(" ") && body.trim() !== "") {
          body = body.slice(1, -1);
        }
        code.textContent = body;
        parent.append(code);
        i = close + n;
        continue;
      }

      if (c === "<" && src[i + 1] === "@") {
        const m = /^<@([A-Za-z0-9_-]{1,64})>/.exec(src.slice(i, Math.min(end, i + 68)));
        if (m) {
          flush();
          parent.append(this.options.mention ? this.options.mention(m[1]) : "@" + m[1]);
          i += m[0].length;
          continue;
        }
      }

      if (c === "[" && !inLink && depth < MAX_DEPTH) {
        const link = this.link(i, end);
        if (link) {
          flush();
          const a = anchor(link.href);
          this.parse(link.textStart, link.textEnd, a, depth + 1, true);
          if (a.textContent.trim() === "") {
            a.textContent = link.href;
          }
          parent.append(a);
          i = link.end;
          continue;
        }
      }

      if (!inLink && (c === "h" || c === "H" || c === "m" || c === "M") && !isWordChar(src[i - 1])) {
        const auto = this.autolink(i, end);
        if (auto) {
          flush();
          const a = anchor(auto.href);
          a.textContent = auto.text;
          parent.append(a);
          i = auto.end;
          continue;
        }
      }

      if (c === "*" || c === "_" || c === "~") {
        const span = depth < MAX_DEPTH ? this.emphasis(i, end) : null;
        if (span) {
          flush();
          const node = el(span.tag);
          this.parse(span.innerStart, span.innerEnd, node, depth + 1, inLink);
          parent.append(node);
          i = span.end;
          continue;
        }
        const n = this.run(i, end, c);
        text += src.slice(i, i + n);
        i += n;
        continue;
      }

      text += c;
      i++;
    }
    flush();
  }

  /** run returns the length of the run of ch starting at i. */
  run(i, end, ch) {
    let j = i;
    while (j < end && this.src[j] === ch) {
      j++;
    }
    return j - i;
  }

  /** findCodeClose finds a run of exactly n backticks at or after from. */
  findCodeClose(from, end, n) {
    const key = "`" + n + " " + end;
    if (from >= (this.failed.get(key) ?? Infinity)) {
      return -1;
    }
    let j = from;
    while (j < end) {
      if (this.src[j] === "`") {
        const len = this.run(j, end, "`");
        if (len === n) {
          return j;
        }
        j += len;
      } else {
        j++;
      }
    }
    this.failed.set(key, Math.min(from, this.failed.get(key) ?? Infinity));
    return -1;
  }

  /**
   * emphasis reads **strong**, *em*, _em_ or ~~del~~ starting at i: the
   * opener must touch the text after it, the closer the text before it,
   * and an underscore inside a word (snake_case) is just an underscore.
   */
  emphasis(i, end) {
    const src = this.src;
    const c = src[i];
    const n = this.run(i, end, c);
    let delim;
    let tag;
    if (c === "~") {
      if (n !== 2) {
        return null;
      }
      delim = "~~";
      tag = "del";
    } else if (n >= 2) {
      delim = c + c;
      tag = "strong";
    } else {
      delim = c;
      tag = "em";
    }
    if (c === "_" && isWordChar(src[i - 1])) {
      return null;
    }
    const innerStart = i + delim.length;
    if (innerStart >= end || isSpace(src[innerStart])) {
      return null;
    }
    const close = this.findClose(delim, innerStart + 1, end);
    if (close < 0) {
      return null;
    }
    return { tag, innerStart, innerEnd: close, end: close + delim.length };
  }

  /** findClose finds a closing delimiter at or after from, before end. */
  findClose(delim, from, end) {
    const key = delim + " " + end;
    if (from >= (this.failed.get(key) ?? Infinity)) {
      return -1;
    }
    const src = this.src;
    const c = delim[0];
    let j = from;
    while (j < end) {
      const ch = src[j];
      if (ch === "\\") {
        j += 2;
        continue;
      }
      if (ch === "`") {
        // Code spans hide delimiters.
        const n = this.run(j, end, "`");
        const close = this.findCodeClose(j + n, end, n);
        j = close < 0 ? j + n : close + n;
        continue;
      }
      if (ch !== c) {
        j++;
        continue;
      }
      const len = this.run(j, end, c);
      const ok =
        !isSpace(src[j - 1]) &&
        (delim.length === 1 ? len === 1 : len >= 2) &&
        !(c === "_" && isWordChar(src[j + len]));
      if (ok) {
        return delim.length === 1 ? j : j + len - 2;
      }
      j += len;
    }
    this.failed.set(key, Math.min(from, this.failed.get(key) ?? Infinity));
    return -1;
  }

  /**
   * closingBracket returns the position of the "]" that closes the "[" at
   * i, or -1. The pairs of the whole line are found once, in one pass.
   */
  closingBracket(i) {
    if (!this.brackets) {
      this.brackets = new Map();
      const open = [];
      const src = this.src;
      for (let j = 0; j < src.length; j++) {
        const ch = src[j];
        if (ch === "\\") {
          j++;
        } else if (ch === "[") {
          open.push(j);
        } else if (ch === "]" && open.length > 0) {
          this.brackets.set(open.pop(), j);
        }
      }
    }
    return this.brackets.get(i) ?? -1;
  }

  /** link reads [text](address) at i; an unsafe address is no link. */
  link(i, end) {
    const src = this.src;
    const j = this.closingBracket(i);
    if (j < 0 || j >= end || j - i > MAX_LINK_TEXT || src[j + 1] !== "(") {
      return null;
    }
    let k = j + 2;
    if (k >= (this.noParen ?? Infinity) || this.src.indexOf(")", k) < 0) {
      this.noParen = Math.min(k, this.noParen ?? Infinity);
      return null;
    }
    let parens = 0;
    const urlLimit = Math.min(end, k + MAX_URL);
    for (; k < urlLimit; k++) {
      const ch = src[k];
      if (ch === "(") {
        parens++;
      } else if (ch === ")") {
        if (parens === 0) {
          break;
        }
        parens--;
      } else if (ch === " " || ch === "\t") {
        return null;
      }
    }
    if (k >= urlLimit) {
      return null;
    }
    const href = safeHref(src.slice(j + 2, k));
    if (!href) {
      return null; // shown as typed
    }
    return { textStart: i + 1, textEnd: j, end: k + 1, href };
  }

  /** autolink reads a bare http(s) or mailto address at i. */
  autolink(i, end) {
    const chunk = this.src.slice(i, Math.min(end, i + MAX_URL));
    const m = /^(?:https?:\/\/|mailto:)[^\s<>"'`]+/i.exec(chunk);
    if (!m) {
      return null;
    }
    let s = m[0];
    // Punctuation at the end belongs to the sentence; a closing bracket
    // only when the address has no opening one to match.
    for (;;) {
      const last = s[s.length - 1];
      if (".,;:!?*_~".includes(last)) {
        s = s.slice(0, -1);
      } else if (last === ")" && count(s, "(") < count(s, ")")) {
        s = s.slice(0, -1);
      } else {
        break;
      }
    }
    const href = safeHref(s);
    if (!href || /^mailto:$/i.test(s)) {
      return null;
    }
    return { href, text: s, end: i + s.length };
  }
}

function count(s, ch) {
  let n = 0;
  for (const c of s) {
    if (c === ch) {
      n++;
    }
  }
  return n;
}

/** anchor makes a link that opens elsewhere and tells the other site nothing. */
function anchor(href) {
  const a = el("a", "md-link");
  a.setAttribute("href", href);
  a.setAttribute("target", "_blank");
  a.setAttribute("rel", "noopener noreferrer nofollow");
  a.setAttribute("title", href);
  return a;
}
