// What every screen shares: building elements, the site header (navigation, the signed-in
// user, password change and sign-out), messages, field errors and number formats.
import { api, currentUser, Problem, toLogin } from "./api.js";

/**
 * Builds an element: h("a", {href: "/x"}, "text", child…). Attributes named on* are not
 * accepted (no inline handlers under the page's Content-Security-Policy).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** The element with this id (throws when the page lacks it: a page bug, not a user's). */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing`);
  return el;
}

/**
 * Draws the site header and returns the signed-in user; sends anyone not signed in to sign-in.
 * @param {{adminOnly?: boolean}} [opts]
 */
export async function page(opts = {}) {
  const user = await currentUser().catch(() => null);
  if (!user) {
    toLogin();
    return new Promise(() => {});
  }
  header(user);
  if (opts.adminOnly && user.role !== "admin") {
    const main = byId("main");
    main.replaceChildren(
      h("h1", {}, "Not permitted"),
      h("p", { class: "message error", role: "alert" },
        "This screen is for operators: your account (", user.email, ", ", user.role,
        ") is not permitted to open it. Ask an admin if you need access."),
      h("p", {}, h("a", { href: "/projects" }, "Back to your projects")),
    );
    return new Promise(() => {});
  }
  return user;
}

function header(user) {
  const here = location.pathname;
  const links = [["/projects", "Projects"], ["/runs", "Runs"], ["/compare", "Compare"]];
  if (user.role === "admin") links.push(["/ops", "Operations"]);
  const nav = h("nav", { "aria-label": "Main" },
    h("ul", {}, links.map(([href, text]) => {
      const current = here === href || (href !== "/ops" && here.startsWith(href + "/")) || (href === "/ops" && here.startsWith("/ops"));
      return h("li", {}, h("a", { href, "aria-current": current ? "page" : null }, text));
    })));
  const signOut = h("button", { type: "button", class: "secondary", id: "sign-out" }, "Sign out");
  signOut.addEventListener("click", async () => {
    signOut.disabled = true;
    await api("/api/auth/logout", { method: "POST", noRedirect: true }).catch(() => null);
    location.assign("/login");
  });
  const header = byId("site-header");
  header.className = "site";
  header.replaceChildren(
    h("a", { class: "brand", href: "/projects" }, "Phase-1"),
    nav,
    h("div", { class: "who" },
      h("span", {}, h("span", { class: "muted" }, "Signed in as "), user.email, " ", h("span", { class: "badge" }, user.role)),
      passwordForm(),
      signOut),
  );
}

function passwordForm() {
  const msg = h("p", { class: "message", role: "status", id: "password-message" });
  const form = h("form", { class: "stack", name: "password", "aria-label": "Change password" },
    h("label", { for: "current_password" }, "Current password"),
    h("input", { type: "password", id: "current_password", name: "current_password", autocomplete: "current-password", required: true }),
    h("label", { for: "new_password" }, "New password", h("span", { class: "hint" }, "At least 12 characters, 5 of them different.")),
    h("input", { type: "password", id: "new_password", name: "new_password", autocomplete: "new-password", required: true, minlength: 12 }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Change password")),
    msg);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    await run(form.querySelector("button"), msg, async () => {
      await api("/api/auth/password", { method: "POST", body: data });
      form.reset();
      say(msg, "Password changed. Your other sessions have ended.", "ok");
    });
  });
  return h("details", {}, h("summary", {}, "Password"), form);
}

/** Shows `text` in a message element (a live region): kind is error, info or ok. */
export function say(el, text, kind = "info") {
  el.className = `message ${kind}`;
  el.setAttribute("role", kind === "error" ? "alert" : "status");
  el.textContent = text;
}

/** Clears a message element. */
export function unsay(el) {
  el.textContent = "";
  el.className = "message";
}

/**
 * Runs an action behind a button: the button is disabled and marked busy meanwhile, and a
 * Problem (or any failure) is shown as a sentence in `msg`. Resolves to the action's value,
 * or undefined when it failed.
 */
export async function run(button, msg, action) {
  if (button) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.classList.add("busy");
  }
  if (msg) unsay(msg);
  try {
    return await action();
  } catch (e) {
    if (msg) say(msg, explain(e), "error");
    else console.warn(e);
    return undefined;
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      button.classList.remove("busy");
    }
  }
}

/** Any failure as a sentence. */
export function explain(e) {
  if (e instanceof Problem) return e.sentence();
  return `Something went wrong: ${e && e.message ? e.message : e}. Check your connection and try again.`;
}

/**
 * Marks each field named in a problem's errors: aria-invalid, and its message in the
 * field's error element (the one its aria-describedby names). `prefix` is stripped from
 * the API's field names ("project." for project fields). Returns the errors no field took.
 */
export function markFields(form, errors, prefix = "") {
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
  const rest = [];
  for (const err of errors || []) {
    const name = String(err.field || "").replace(prefix, "");
    const input = name && form.elements.namedItem(name);
    const control = input && (input instanceof RadioNodeList ? input[0] : input);
    const box = control && document.getElementById(`${control.id}-error`);
    if (control && box) {
      control.setAttribute("aria-invalid", "true");
      box.textContent = (box.textContent ? box.textContent + " " : "") + err.message;
    } else {
      rest.push(err);
    }
  }
  return rest;
}

/** Query-string parameter. */
export function param(name) {
  return new URLSearchParams(location.search).get(name);
}

/** The path's segments ("/runs/abc" → ["runs", "abc"]). */
export function segments() {
  return location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
}

const money0 = new Map();

/** An amount in a currency, whole units, thousands separators. */
export function money(x, ccy) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  const key = ccy || "";
  if (!money0.has(key)) {
    money0.set(key, ccy
      ? new Intl.NumberFormat("en-GB", { style: "currency", currency: ccy, maximumFractionDigits: 0, minimumFractionDigits: 0 })
      : new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 }));
  }
  return money0.get(key).format(x);
}

/** An amount in millions, for tiles ("£123.4m"). */
export function millions(x, ccy) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  const sym = { GBP: "£", EUR: "€", USD: "$" }[ccy] || "";
  return `${sym}${(x / 1e6).toLocaleString("en-GB", { maximumFractionDigits: 1, minimumFractionDigits: 1 })}m`;
}

/** A fraction as a percentage ("4.25%"). */
export function pct(x, digits = 2) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  return `${(x * 100).toFixed(digits)}%`;
}

/** A ratio such as a DSCR ("1.35x"). */
export function ratio(x, digits = 2) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  return `${x.toFixed(digits)}x`;
}

/** A count with thousands separators. */
export function count(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  return Math.round(x).toLocaleString("en-GB");
}

/** A number with a fixed number of decimals. */
export function fixed(x, digits = 2) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  return x.toFixed(digits);
}

/** A date-time from RFC 3339, in the reader's locale. */
export function when(s) {
  if (!s) return "—";
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

/** A tier badge. */
export function tierBadge(tier) {
  return h("span", { class: `badge tier-${String(tier).replace(/ /g, "-")}` }, tier);
}

/** A list of labelled tiles: [[label, value], …]. */
export function tiles(pairs, label) {
  return h("ul", { class: "tiles", "aria-label": label },
    pairs.map(([k, v]) => h("li", {}, h("span", { class: "label" }, k), h("span", { class: "value" }, v))));
}

/** Starts a file download of `text` (CSV, JSON) made in the page. */
export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
