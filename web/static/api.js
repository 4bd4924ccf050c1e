// Talking to Kaigi's JSON API under /api/v1.
//
// Every request goes to the app's own origin with the session cookie
// (credentials "same-origin"). A request that changes state carries the
// session's anti-forgery token in X-CSRF-Token; the token comes from the
// `csrf` field of GET /api/v1/session and of the sign-in answers, and this
// module keeps the newest one it has seen.
//
// A refusal becomes an ApiError with the API's message, which the API
// writes for people: pages show it as it is. Nothing here logs a request or
// an answer: bodies hold passwords, codes and secrets.

let csrf = "";

/** ApiError is a refusal of the API, or no answer at all (status 0). */
export class ApiError extends Error {
  /**
   * @param {object} fields
   * @param {number} fields.status the HTTP status; 0 when the server could not be reached
   * @param {string} [fields.code] the API's error code, e.g. "invalid", "rate_limited"
   * @param {string} [fields.message] the API's message for people
   * @param {string} [fields.requestId] the id to quote when asking for help
   * @param {number} [fields.retryAfter] seconds to wait (Retry-After), or 0
   */
  constructor({ status, code = "", message = "", requestId = "", retryAfter = 0 }) {
    super(message || `API error ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.apiMessage = message;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }

  /** offline reports whether the server could not be reached. */
  get offline() {
    return this.status === 0;
  }
}

/** setCSRF replaces the anti-forgery token, e.g. after signing out. */
export function setCSRF(token) {
  csrf = token || "";
}

/** parseRetryAfter reads Retry-After in seconds (or an HTTP date) as seconds. */
function parseRetryAfter(value) {
  if (!value) {
    return 0;
  }
  if (/^\d+$/.test(value.trim())) {
    return Number(value.trim());
  }
  const at = Date.parse(value);
  return Number.isNaN(at) ? 0 : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/**
 * session carries the requests of the session: when it is ending they are
 * cancelled, and until the next one begins none is sent, so that nothing of
 * it reaches the server after it ended (to be refused there with 401).
 */
let session = new AbortController();

/** endRequests cancels the requests in flight and holds back new ones. */
export function endRequests() {
  session.abort();
}

/** beginRequests lets requests go again, after endRequests. */
export function beginRequests() {
  if (session.signal.aborted) {
    session = new AbortController();
  }
}

/**
 * request sends one request and returns the answer's JSON (null for 204).
 * @param {string} method
 * @param {string} path an absolute path under /api/
 * @param {any} [body] sent as JSON when given
 * @param {{detached?: boolean}} [options] detached: sent even while the
 *   session's requests are held back (signing out)
 */
async function request(method, path, body, { detached = false } = {}) {
  const headers = { Accept: "application/json" };
  /** @type {RequestInit} */
  const init = { method, headers, credentials: "same-origin", cache: "no-store", signal: detached ? undefined : session.signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET" && method !== "HEAD" && csrf) {
    headers["X-CSRF-Token"] = csrf;
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err && err.name === "AbortError") {
      throw new ApiError({ status: 0, code: "aborted" });
    }
    throw new ApiError({ status: 0, code: "offline" });
  }
  let data = null;
  if (res.status !== 204) {
    data = await res.json().catch(() => null);
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError({
      status: res.status,
      code: typeof e.code === "string" ? e.code : "",
      message: typeof e.message === "string" ? e.message : "",
      requestId: typeof e.request_id === "string" ? e.request_id : "",
      retryAfter: parseRetryAfter(res.headers.get("Retry-After")),
    });
  }
  if (data && typeof data.csrf === "string" && data.csrf !== "") {
    csrf = data.csrf;
  }
  return data;
}

/** The API's methods. Paths are absolute, e.g. "/api/v1/session". */
export const api = {
  get: (path) => request("GET", path),
  post: (path, body, options) => request("POST", path, body, options),
  put: (path, body) => request("PUT", path, body),
  patch: (path, body) => request("PATCH", path, body),
  del: (path) => request("DELETE", path),
};

/**
 * upload sends a file as the raw body of a POST (with the anti-forgery
 * token) and resolves to the answer's JSON. It uses XMLHttpRequest, the one
 * browser API that reports the progress of a request body.
 * @param {string} path an absolute path under /api/
 * @param {Blob} body
 * @param {{onProgress?: (fraction: number) => void, signal?: AbortSignal}} [options]
 * @returns {Promise<any>}
 */
export function upload(path, body, { onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.responseType = "text";
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    if (csrf) {
      xhr.setRequestHeader("X-CSRF-Token", csrf);
    }
    if (onProgress) {
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && event.total > 0) {
          onProgress(event.loaded / event.total);
        }
      });
    }
    const offline = () => reject(new ApiError({ status: 0, code: "offline" }));
    xhr.addEventListener("error", offline);
    xhr.addEventListener("timeout", offline);
    xhr.addEventListener("abort", () => reject(new DOMException("The upload was cancelled.", "AbortError")));
    xhr.addEventListener("load", () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(data);
        return;
      }
      const e = (data && data.error) || {};
      reject(
        new ApiError({
          status: xhr.status,
          code: typeof e.code === "string" ? e.code : "",
          message: typeof e.message === "string" ? e.message : "",
          requestId: typeof e.request_id === "string" ? e.request_id : "",
          retryAfter: parseRetryAfter(xhr.getResponseHeader("Retry-After")),
        }),
      );
    });
    if (signal) {
      if (signal.aborted) {
        reject(new DOMException("The upload was cancelled.", "AbortError"));
        return;
      }
      signal.addEventListener("abort", () => xhr.abort(), { once: true });
    }
    xhr.send(body);
  });
}
