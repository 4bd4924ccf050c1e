// Access transparency (/compliance/transparency): the tenant's Merkle log
// of every operator access under a lockbox grant and every change of a
// lockbox request, checked here, in the browser, without trusting the
// server:
//
//   - the signed head: its checkpoint (a signed note) must name the size and
//     root the server reports, and its Ed25519 signature must verify with the
//     deployment's published verifier key (GET /api/v1/service) where the
//     browser has Ed25519 in WebCrypto;
//   - each entry: its leaf hash is recomputed from its bytes, and its
//     inclusion proof must lead to the signed root (RFC 6962 hashing, the
//     verification algorithm of RFC 9162 §2.1.3.2);
//   - each new head: a consistency proof must show that the log seen before
//     is a prefix of the new one (RFC 9162 §2.1.4.2), so entries verified
//     earlier stay verified and nothing was rewritten or dropped.
//
// The page polls the head every few seconds and shows new entries as they
// come. "Export" downloads the whole log as a bundle for `kaigi transparency
// verify`.

import { h, setMessage, time } from "./dom.js";
import { api } from "./api.js";
import { showLoadError } from "./session.js";
import { STATES, fact } from "./lockbox.js";
import { alertRegion, badge, button, busy, confirmDialog, downloadText, field, isBusy, loading, panel, secretBox } from "./ui.js";

/** How often the page asks for a new head, in milliseconds. */
export const POLL_MS = 3000;

// ---- RFC 6962 hashing and RFC 9162 proof verification

/** b64decode decodes standard base64 (as Go encodes []byte in JSON). */
export function b64decode(s) {
  const bin = atob(String(s));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) {
    out[i] = bin.charCodeAt(i);
  }
  return out;
}

/** hex writes bytes as lowercase hex. */
export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function equalBytes(a, b) {
  if (a.length !== b.length) {
    return false;
  }
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    diff |= a[i] ^ b[i];
  }
  return diff === 0;
}

async function sha256(...parts) {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    buf.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
}

const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

/** leafHash is RFC 6962's hash of a leaf: SHA-256(0x00 || data). */
export function leafHash(data) {
  return sha256(LEAF, data);
}

/** nodeHash is RFC 6962's hash of an inner node: SHA-256(0x01 || left || right). */
export function nodeHash(left, right) {
  return sha256(NODE, left, right);
}

// Tree sizes and indexes stay below 2^53: halving with Math.floor keeps
// them exact where the 32-bit shift operators would not.
const half = (n) => Math.floor(n / 2);
const odd = (n) => n % 2 === 1;

function isPowerOfTwo(n) {
  while (n > 1 && !odd(n)) {
    n = half(n);
  }
  return n === 1;
}

/**
 * verifyInclusion checks an inclusion proof (RFC 9162 §2.1.3.2): that the
 * leaf with hash leaf at index is in the tree of size entries whose root is
 * root. All hashes are Uint8Arrays.
 * @returns {Promise<boolean>}
 */
export async function verifyInclusion(index, size, leaf, proof, root) {
  if (!(index >= 0 && index < size) || !Number.isSafeInteger(size)) {
    return false;
  }
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) {
      return false;
    }
    if (odd(fn) || fn === sn) {
      r = await nodeHash(p, r);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equalBytes(r, root);
}

/**
 * verifyConsistency checks a consistency proof (RFC 9162 §2.1.4.2): that the
 * tree of size1 entries with root root1 is a prefix of the tree of size2
 * entries with root root2.
 * @returns {Promise<boolean>}
 */
export async function verifyConsistency(size1, size2, proof, root1, root2) {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size1 > size2) {
    return false;
  }
  if (size1 === size2) {
    return proof.length === 0 && equalBytes(root1, root2);
  }
  if (size1 === 0) {
    return proof.length === 0; // the empty tree is a prefix of every tree
  }
  if (proof.length === 0) {
    return false;
  }
  // For an exact power of two, the old tree is a perfect subtree: its root
  // is the proof's first node.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) {
      return false;
    }
    if (odd(fn) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equalBytes(fr, root1) && equalBytes(sr, root2);
}

// ---- signed checkpoints

/**
 * parseCheckpoint reads a signed note holding a log checkpoint: the text
 * (origin, size, base64 root, then optional lines) and its signature lines.
 * It returns null when the note is malformed.
 */
export function parseCheckpoint(note) {
  const s = String(note);
  const sep = s.lastIndexOf("\n\n");
  if (sep < 0) {
    return null;
  }
  const text = s.slice(0, sep + 1);
  const lines = text.split("\n");
  if (lines.length < 4 || !/^\d+$/.test(lines[1])) {
    return null;
  }
  const sigs = [];
  for (const line of s.slice(sep + 2).split("\n")) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (m) {
      sigs.push({ name: m[1], sig: m[2] });
    }
  }
  try {
    return { text, origin: lines[0], size: Number(lines[1]), root: b64decode(lines[2]), sigs };
  } catch {
    return null;
  }
}

/**
 * verifyNoteSignature checks a checkpoint's Ed25519 signature with a note
 * verifier key ("name+hash+base64(0x01 || public key)"). It resolves to
 * true or false, or to null when the browser has no Ed25519.
 */
export async function verifyNoteSignature(cp, verifierKey) {
  // name+hash+key: the key is base64, which may itself hold "+".
  const parts = String(verifierKey || "").split("+");
  if (parts.length < 3) {
    return false;
  }
  const [name, keyHash] = parts;
  let key;
  try {
    key = b64decode(parts.slice(2).join("+"));
  } catch {
    return false;
  }
  if (key.length !== 33 || key[0] !== 1) {
    return false;
  }
  let pub;
  try {
    pub = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
  } catch {
    return null;
  }
  const text = new TextEncoder().encode(cp.text);
  for (const s of cp.sigs) {
    if (s.name !== name) {
      continue;
    }
    let sig;
    try {
      sig = b64decode(s.sig);
    } catch {
      continue;
    }
    if (sig.length !== 68 || hex(sig.slice(0, 4)) !== keyHash.toLowerCase()) {
      continue;
    }
    if (await crypto.subtle.verify({ name: "Ed25519" }, pub, sig.slice(4), text)) {
      return true;
    }
  }
  return false;
}

// ---- the page

/** The kinds of entries, in words. */
const KINDS = {
  access: { labelKey: "transparency.kind.access" },
  "lockbox.request": { labelKey: "transparency.kind.request" },
  "lockbox.approve": { labelKey: "transparency.kind.approve" },
  "lockbox.deny": { labelKey: "transparency.kind.deny" },
  "lockbox.activate": { labelKey: "transparency.kind.activate" },
  "lockbox.revoke": { labelKey: "transparency.kind.revoke" },
  "lockbox.expired": { labelKey: "transparency.kind.expired" },
  "lockbox.completed": { labelKey: "transparency.kind.completed" },
};

function kindText(kind) {
  return Object.hasOwn(KINDS, kind) ? h("span", { i18n: KINDS[kind].labelKey }) : h("span", { class: "mono" }, String(kind));
}

/** returnedText sums up what an access returned: counts and hashes, never content. */
function returnedText(returned) {
  if (!returned || typeof returned !== "object") {
    return h("span", { class: "muted", i18n: "transparency.returned.none" });
  }
  const parts = [];
  if (returned.messages !== undefined) {
    parts.push(h("span", { i18n: "transparency.returned.messages", i18nParams: { count: String(returned.messages) } }));
  }
  for (const [k, v] of Object.entries(returned)) {
    if (k === "messages") {
      continue;
    }
    const value = String(v);
    parts.push(h("span", { class: "mono", title: value }, `${k}: ${value.length > 16 ? value.slice(0, 16) + "…" : value}`));
  }
  return h("span", { class: "returned" }, ...parts.flatMap((p, i) => (i ? [" · ", p] : [p])));
}

/** The status of an entry's proof. */
function proofBadge(state) {
  switch (state) {
    case "verified":
      return badge({ labelKey: "transparency.proof.verified", tone: "success" });
    case "failed":
      return badge({ labelKey: "transparency.proof.failed", tone: "danger" });
    default:
      return badge({ labelKey: "transparency.proof.checking" });
  }
}

const COLUMNS = [
  { labelKey: "transparency.col.index" },
  { labelKey: "transparency.col.time" },
  { labelKey: "transparency.col.what" },
  { labelKey: "transparency.col.who" },
  { labelKey: "transparency.col.resource" },
  { labelKey: "transparency.col.request" },
  { labelKey: "transparency.col.returned" },
  { labelKey: "transparency.col.proof" },
];

/** transparencySection is the access-transparency page of the compliance center. */
export function transparencySection() {
  const alert = alertRegion();
  const headArea = h("div", { id: "transparency-head" }, loading());
  const tbody = h("tbody", {});
  const empty = h("p", { class: "item-empty", id: "transparency-empty", i18n: "transparency.empty", hidden: true });
  const table = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table", id: "transparency-entries", "aria-labelledby": "transparency-entries-heading" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...COLUMNS.map((c) => h("th", { scope: "col", i18n: c.labelKey })),
        ),
      ),
      tbody,
    ),
  );
  const live = h("p", { class: "muted small", id: "transparency-live", role: "status" });
  const exportButton = button({ labelKey: "transparency.export", iconName: "download", small: true, attrs: { id: "transparency-export" } });
  exportButton.addEventListener("click", async () => {
    if (isBusy(exportButton)) {
      return;
    }
    const done = busy(exportButton, { messageKey: "transparency.exporting" });
    try {
      const bundle = await api.get("/api/v1/transparency/bundle?since=0&first=0");
      downloadText(`access-transparency-${(bundle.origin || "log").split("/").pop()}-${bundle.leaves ? bundle.leaves.length : 0}.json`, JSON.stringify(bundle, null, 2));
    } catch (err) {
      showLoadError(err, alert);
    } finally {
      done();
    }
  });

  /** What the page has verified so far. */
  let seen = null; // {size, root} of the last head whose proofs checked out
  let shownHead = ""; // "size root" of the head shown
  let loaded = 0; // entries [0, loaded) are in the table
  let verifierKey = null;
  const rows = new Map(); // index -> {tr, cell}
  let timer = 0;
  let running = false;
  let broken = false;

  function showHead(head, cp, sigOK, consistent) {
    const facts = h(
      "dl",
      { class: "facts" },
      fact({ labelKey: "transparency.head.size" }, h("span", { id: "transparency-size" }, String(head.size))),
      fact({ labelKey: "transparency.head.root" }, h("span", { class: "mono", id: "transparency-root" }, hex(b64decode(head.root)))),
      fact({ labelKey: "transparency.head.origin" }, h("span", { class: "mono" }, cp ? cp.origin : "")),
      fact(
        { labelKey: "transparency.head.signature" },
        sigOK === true
          ? badge({ labelKey: "transparency.sig.ok", tone: "success" })
          : sigOK === null
            ? badge({ labelKey: "transparency.sig.unsupported", tone: "warning" })
            : badge({ labelKey: "transparency.sig.bad", tone: "danger" }),
      ),
      fact(
        { labelKey: "transparency.head.consistency" },
        consistent === true
          ? badge({ labelKey: "transparency.consistency.ok", tone: "success" })
          : consistent === false
            ? badge({ labelKey: "transparency.consistency.bad", tone: "danger" })
            : badge({ labelKey: "transparency.consistency.first" }),
      ),
    );
    const note = h("details", { class: "item-more" }, h("summary", { i18n: "transparency.head.checkpoint" }), h("pre", { class: "mono", id: "transparency-checkpoint" }, head.checkpoint));
    headArea.replaceChildren(facts, note);
    headArea.dataset.size = String(head.size);
    headArea.dataset.signature = sigOK === true ? "ok" : sigOK === null ? "unchecked" : "bad";
  }

  function addRow(leaf, entry) {
    const body = entry.body || {};
    const cell = h("td", { class: "proof-cell" }, proofBadge("checking"));
    const who = h("span", {}, h("span", { class: "mono" }, String(body.actor || "")), " ", h("span", { class: "muted" }, kindOfActor(body.actor_kind)));
    const tr = h(
      "tr",
      { "data-index": String(leaf.index), "data-kind": String(entry.kind || ""), "data-proof": "checking" },
      h("td", {}, String(leaf.index)),
      h("td", {}, time(entry.time)),
      h("td", {}, kindText(entry.kind)),
      h("td", {}, who),
      h("td", { class: "mono" }, String(body.resource || (Array.isArray(body.resources) ? body.resources.join(", ") : ""))),
      h("td", { class: "mono" }, String(body.request || "")),
      h("td", {}, entry.kind === "access" ? returnedText(body.returned) : h("span", { class: "muted" }, body.state ? stateText(body.state) : "")),
      cell,
    );
    tbody.prepend(tr); // newest first
    rows.set(leaf.index, { tr, cell });
  }

  function setProof(index, state) {
    const row = rows.get(index);
    if (row) {
      row.tr.dataset.proof = state;
      row.cell.replaceChildren(proofBadge(state));
    }
  }

  async function checkLeaf(leaf, head, root) {
    const data = b64decode(leaf.data);
    const lh = await leafHash(data);
    if (!equalBytes(lh, b64decode(leaf.hash))) {
      return false;
    }
    const res = await api.get(`/api/v1/transparency/proofs/inclusion?index=${leaf.index}&size=${head.size}`);
    return verifyInclusion(leaf.index, head.size, lh, (res.hashes || []).map(b64decode), root);
  }

  async function poll() {
    if (running) {
      return;
    }
    running = true;
    clearTimeout(timer);
    try {
      if (verifierKey === null) {
        const svc = await api.get("/api/v1/service");
        verifierKey = (svc && svc.verifier_key) || "";
      }
      const head = await api.get("/api/v1/transparency/head");
      if (head.size + " " + head.root === shownHead) {
        return; // nothing new
      }
      shownHead = head.size + " " + head.root;
      const root = b64decode(head.root);
      const cp = parseCheckpoint(head.checkpoint);
      const matches = !!cp && cp.size === head.size && equalBytes(cp.root, root);
      const sigOK = matches ? await verifyNoteSignature(cp, verifierKey) : false;
      let consistent;
      if (seen && seen.size > 0) {
        const res = await api.get(`/api/v1/transparency/proofs/consistency?from=${seen.size}&to=${head.size}`);
        consistent = await verifyConsistency(seen.size, head.size, (res.hashes || []).map(b64decode), seen.root, root);
      }
      showHead(head, cp, matches ? sigOK : false, consistent);
      if (!matches || sigOK === false || consistent === false) {
        broken = true;
        if (!matches || sigOK === false) {
          alert.show({ messageKey: "transparency.alert.signature" });
        } else {
          alert.show({ messageKey: "transparency.alert.consistency" });
        }
      }
      // New entries, each checked against the new head.
      for (let at = loaded; at < head.size; ) {
        const leaves = (await api.get(`/api/v1/transparency/entries?from=${at}&limit=1000`)) || [];
        if (!leaves.length) {
          break;
        }
        for (const leaf of leaves) {
          let entry = {};
          try {
            entry = JSON.parse(new TextDecoder().decode(b64decode(leaf.data)));
          } catch {
            entry = { kind: "?" };
          }
          if (!rows.has(leaf.index)) {
            addRow(leaf, entry);
          }
        }
        for (const leaf of leaves) {
          const ok = !broken && (await checkLeaf(leaf, head, root));
          setProof(leaf.index, ok ? "verified" : "failed");
        }
        at = leaves[leaves.length - 1].index + 1;
        loaded = Math.max(loaded, at);
      }
      if (!broken) {
        seen = { size: head.size, root };
      }
      empty.hidden = head.size > 0;
      table.hidden = head.size === 0;
      setMessage(live, { messageKey: "transparency.live", params: { size: String(head.size) } });
    } catch (err) {
      if (err && err.status === 401) {
        showLoadError(err, alert);
        return;
      }
      alert.show(err);
    } finally {
      running = false;
      // Until the page has been shown (the first answer may come first),
      // and for as long as it is shown.
      if (headArea.isConnected || !shownHead) {
        timer = setTimeout(() => (headArea.isConnected ? poll() : undefined), POLL_MS);
      }
    }
  }
  table.hidden = true;
  poll();

  return h(
    "div",
    { class: "transparency" },
    alert.el,
    h(
      "div",
      { class: "panels" },
      panel({ titleKey: "transparency.head.title", leadKey: "transparency.head.lead", id: "transparency-head-panel", actions: [exportButton] }, headArea),
      panel({ titleKey: "transparency.entries.title", leadKey: "transparency.entries.lead", id: "transparency-entries-panel" }, live, empty, table),
      hooksPanel(),
    ),
  );
}

/**
 * hooksPanel manages the tenant's webhooks on its log: every new entry is
 * posted to them, signed with a secret shown once.
 */
function hooksPanel() {
  const alert = alertRegion();
  const list = h("div", { id: "transparency-hooks" }, loading());
  const secretArea = h("div", { id: "transparency-hook-secret" });
  const url = field({ labelKey: "transparency.hooks.url", id: "hook-url", type: "url", hintKey: "transparency.hooks.urlHint", attrs: { required: true, autocomplete: "off", spellcheck: "false" } });
  const add = button({ labelKey: "transparency.hooks.add", type: "submit", attrs: { id: "hook-add" } });
  const form = h("form", { class: "form", id: "hook-form", novalidate: true }, url.el, h("div", { class: "form-actions" }, add));
  async function load() {
    try {
      const hooks = (await api.get("/api/v1/transparency/webhooks")) || [];
      if (!hooks.length) {
        list.replaceChildren(h("p", { class: "item-empty", id: "transparency-hooks-empty", i18n: "transparency.hooks.none" }));
        return;
      }
      list.replaceChildren(
        h(
          "ul",
          { class: "plain-list" },
          ...hooks.map((hk) => {
            const remove = button({ labelKey: "transparency.hooks.remove", small: true, kind: "quiet", attrs: { "data-remove-hook": hk.id } });
            remove.addEventListener("click", async () => {
              const ok = await confirmDialog({ titleKey: "transparency.hooks.removeTitle", bodyKey: "transparency.hooks.removeBody", confirmKey: "transparency.hooks.remove", danger: true });
              if (!ok) {
                return;
              }
              try {
                await api.del(`/api/v1/transparency/webhooks/${encodeURIComponent(hk.id)}`);
                await load();
              } catch (err) {
                alert.show(err);
              }
            });
            return h(
              "li",
              { class: "hook-item", "data-hook": hk.id },
              h("bdi", { class: "mono" }, hk.url),
              " ",
              h("span", { class: "muted", i18n: "transparency.hooks.next", i18nParams: { next: String(hk.next) } }),
              ...(hk.failures ? [" ", badge({ labelKey: "transparency.hooks.failing", tone: "danger" }), " ", h("span", { class: "muted" }, hk.last_error || "")] : []),
              " ",
              remove,
            );
          }),
        ),
      );
    } catch (err) {
      list.replaceChildren();
      showLoadError(err, alert);
    }
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (isBusy(add)) {
      return;
    }
    alert.clear();
    url.setError(null);
    const value = url.input.value.trim();
    let secure = false;
    try {
      secure = new URL(value).protocol === "https:";
    } catch {
      secure = false;
    }
    if (!secure) {
      url.setError({ messageKey: "transparency.hooks.needHttps" });
      url.input.focus();
      return;
    }
    const done = busy(add, { messageKey: "common.working" });
    try {
      const created = await api.post("/api/v1/transparency/webhooks", { url: value });
      url.input.value = "";
      secretArea.replaceChildren(secretBox(created.secret, { labelKey: "transparency.hooks.secretOnce", id: "hook-secret" }));
      await load();
    } catch (err) {
      alert.show(err);
    } finally {
      done();
    }
  });
  load();
  return panel({ titleKey: "transparency.hooks.title", leadKey: "transparency.hooks.lead", id: "transparency-hooks-panel" }, alert.el, list, secretArea, form);
}

/** The kinds of actors, in words. */
const ACTORS = {
  operator: { labelKey: "transparency.actor.operator" },
  operator_with_grant: { labelKey: "transparency.actor.operator" },
  member: { labelKey: "transparency.actor.member" },
  tenant_admin: { labelKey: "transparency.actor.admin" },
  compliance_officer: { labelKey: "transparency.actor.officer" },
  system: { labelKey: "transparency.actor.system" },
};

/** kindOfActor names who acted: an operator, a person of the tenant, the service. */
function kindOfActor(kind) {
  return Object.hasOwn(ACTORS, kind) ? h("span", { i18n: ACTORS[kind].labelKey }) : h("span", {}, String(kind || ""));
}

/** stateText names a request's state. */
function stateText(state) {
  return Object.hasOwn(STATES, state) ? h("span", { i18n: STATES[state].labelKey }) : h("span", {}, String(state));
}
