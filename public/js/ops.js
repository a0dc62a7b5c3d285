// What the operators' screens share: their navigation, and a readable rendering of any JSON
// value the ops routes return (nested objects as definition lists, arrays of rows as tables).
import { h, page } from "./ui.js";

const SCREENS = [["/ops", "Overview"], ["/ops/flags", "Flags"], ["/ops/audit", "Audit log"], ["/ops/monitors", "Monitors"], ["/ops/users", "Users"]];

/** Draws the site header (admins only: others see "not permitted") and the ops navigation. */
export async function opsPage() {
  const user = await page({ adminOnly: true });
  const nav = document.getElementById("ops-nav");
  if (nav) {
    nav.replaceChildren(...SCREENS.map(([href, text]) => h("a", { href, "aria-current": location.pathname === href ? "page" : null }, text)));
  }
  return user;
}

/** A scalar as text. */
export function scalar(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number") return Object.is(v, -0) ? "0" : Number.isInteger(v) ? v.toLocaleString("en-GB") : v.toLocaleString("en-GB", { maximumFractionDigits: 4 });
  if (typeof v === "boolean") return v ? "yes" : "no";
  return String(v);
}

/** Any JSON value, readable: objects as definition lists, row arrays as tables. */
export function render(v, caption = "") {
  if (v === null || typeof v !== "object") return scalar(v);
  if (Array.isArray(v)) {
    if (!v.length) return h("span", { class: "muted" }, "none");
    if (v.every((x) => x && typeof x === "object" && !Array.isArray(x))) {
      const keys = [...new Set(v.flatMap((x) => Object.keys(x)))];
      return h("div", { class: "table-box" }, h("table", {},
        caption ? h("caption", {}, caption) : null,
        h("thead", {}, h("tr", {}, keys.map((k) => h("th", { scope: "col" }, k.replace(/_/g, " "))))),
        h("tbody", {}, v.map((row) => h("tr", {}, keys.map((k) => h("td", {}, cell(row[k]))))))));
    }
    return v.map(scalar).join(", ");
  }
  return h("dl", { class: "pairs" }, Object.entries(v).flatMap(([k, x]) => [h("dt", {}, k.replace(/_/g, " ")), h("dd", {}, render(x))]));
}

function cell(v) {
  if (v !== null && typeof v === "object") return JSON.stringify(v);
  return scalar(v);
}
