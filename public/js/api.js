// The public JSON API, as the pages use it: same-origin fetch with the session cookies,
// problem documents (RFC 9457) turned into Problem errors that read as sentences, and a
// session that refreshes itself before its access token expires.

/** An API error: the problem document, with the HTTP status and the request id. */
export class Problem extends Error {
  /**
   * @param {number} status
   * @param {any} body the problem document (or whatever the server sent)
   * @param {Headers} [headers]
   */
  constructor(status, body, headers) {
    const doc = body && typeof body === "object" ? body : {};
    super(doc.detail || doc.title || `HTTP ${status}`);
    this.status = status;
    this.code = doc.code || "";
    this.title = doc.title || "";
    this.detail = doc.detail || "";
    this.errors = Array.isArray(doc.errors) ? doc.errors : [];
    this.requestId = doc.request_id || (headers && headers.get("x-request-id")) || "";
    const retry = headers && Number(headers.get("retry-after"));
    this.retryAfter = Number.isFinite(retry) && retry > 0 ? retry : null;
  }

  /** The problem as one sentence a person can act on, with the time to wait and the request id. */
  sentence() {
    let text = this.detail || this.title || `The server answered ${this.status}.`;
    text = text.charAt(0).toUpperCase() + text.slice(1);
    if (!/[.!?]$/.test(text)) text += ".";
    if (this.retryAfter && !/retry in/.test(text)) text += ` Try again in ${waitWords(this.retryAfter)}.`;
    if (this.code === "FEATURE_DISABLED") text += " The feature is switched off for your account.";
    if (this.requestId) text += ` (Request ${this.requestId}.)`;
    return text;
  }
}

/** Seconds as words: "45 seconds", "3 minutes", "2 hours". */
export function waitWords(seconds) {
  const s = Math.ceil(seconds);
  if (s < 90) return `${s} second${s === 1 ? "" : "s"}`;
  if (s < 5400) return `${Math.ceil(s / 60)} minutes`;
  return `${Math.round(s / 3600)} hours`;
}

let refreshing = null;

/** Rotates the session's tokens; true when the session is still alive. */
export function refresh() {
  if (!refreshing) {
    refreshing = fetch("/api/auth/refresh", { method: "POST", credentials: "same-origin" })
      .then((r) => r.ok)
      .catch(() => false)
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

/** Sends the browser to the sign-in page, to come back here afterwards. */
export function toLogin() {
  const here = location.pathname + location.search;
  location.assign(`/login?next=${encodeURIComponent(here)}`);
}

/**
 * Calls the API. Resolves to the parsed body (null for 204); rejects with a Problem.
 * A 401 refreshes the session once and retries; when that fails the page goes to sign-in.
 * @param {string} path
 * @param {{method?: string, body?: any, headers?: Record<string,string>, raw?: boolean,
 *          noRedirect?: boolean, withHeaders?: boolean}} [opts]
 */
export async function api(path, opts = {}) {
  const send = () => {
    const init = { method: opts.method || "GET", credentials: "same-origin", headers: { Accept: "application/json", ...(opts.headers || {}) } };
    if (opts.body !== undefined) {
      init.body = JSON.stringify(opts.body);
      init.headers["Content-Type"] = "application/json";
    }
    return fetch(path, init);
  };
  let res = await send();
  if (res.status === 401 && !path.startsWith("/api/auth/")) {
    if (await refresh()) res = await send();
  }
  if (res.status === 401 && !opts.noRedirect && !path.startsWith("/api/auth/")) {
    toLogin();
    throw new Problem(401, { detail: "your session has ended: sign in again", code: "AUTH_REQUIRED" }, res.headers);
  }
  const type = res.headers.get("content-type") || "";
  let body = null;
  if (res.status !== 204) body = type.includes("json") ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) throw new Problem(res.status, body, res.headers);
  return opts.withHeaders ? { body, headers: res.headers } : body;
}

let me = null;

/** The signed-in user ({email, role, expires_at, flags}), or null when nobody is signed in. */
export async function currentUser() {
  if (me) return me;
  try {
    me = await api("/api/auth/me", { noRedirect: true });
  } catch (e) {
    if (e instanceof Problem && e.status === 401 && (await refresh())) {
      me = await api("/api/auth/me", { noRedirect: true }).catch(() => null);
    } else if (!(e instanceof Problem && e.status === 401)) {
      throw e;
    }
  }
  if (me) keepAlive(me.expires_at);
  return me;
}

let timer = null;

/** Refreshes the session a minute before the access token expires, for as long as the page is open. */
function keepAlive(expiresAt) {
  if (timer) clearTimeout(timer);
  const left = expiresAt ? Date.parse(expiresAt) - Date.now() : 14 * 60_000;
  const wait = Math.max(10_000, (Number.isFinite(left) ? left : 14 * 60_000) - 60_000);
  timer = setTimeout(async () => {
    if (await refresh()) {
      me = null;
      const user = await currentUser().catch(() => null);
      if (!user) toLogin();
    } else {
      toLogin();
    }
  }, wait);
}
