// /ops/audit: the audit log, newest first, a page at a time.
import { api } from "../api.js";
import { opsPage, scalar } from "../ops.js";
import { byId, h, run, when } from "../ui.js";

await opsPage();
const msg = byId("ops-message");
const PAGE = 25;
let offset = 0;

const brief = (v) => (v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : scalar(v));

async function load() {
  const res = await api(`/api/phase1/flags/audit?offset=${offset}&limit=${PAGE + 1}`);
  const rows = res.rows.slice(0, PAGE);
  byId("audit").replaceChildren(h("div", { class: "table-box" }, h("table", { id: "audit-table" },
    h("caption", {}, "Audit rows, newest first"),
    h("thead", {}, h("tr", {}, ["When", "Actor", "Route", "Change", "Version", "Request"].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.length ? rows.map((r) => h("tr", {},
      h("td", {}, when(r.when)),
      h("td", {}, brief(r.actor)),
      h("td", {}, brief(r.route)),
      h("td", { class: "wrap" }, h("details", {}, h("summary", {}, brief(r.action || r.kind || "details")), h("pre", {}, JSON.stringify({ old: r.old, new: r.new }, null, 2)))),
      h("td", {}, `${brief(r.version_before)} → ${brief(r.version_after)}`),
      h("td", {}, brief(r.request_id)))) : [h("tr", {}, h("td", { colspan: 6 }, "No audit rows."))]))));
  byId("prev").disabled = offset === 0;
  byId("next").disabled = res.rows.length <= PAGE;
  byId("page-info").textContent = `Rows ${rows.length ? offset + 1 : 0}–${offset + rows.length}`;
}

byId("prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); run(null, msg, load); });
byId("next").addEventListener("click", () => { offset += PAGE; run(null, msg, load); });
run(null, msg, load);
