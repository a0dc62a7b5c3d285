// /runs: the caller's runs, newest first, with their status.
import { api } from "../api.js";
import { byId, count, h, page, run, when } from "../ui.js";

await page();
const PAGE = 20;
const msg = byId("runs-message");
const body = byId("runs-table").querySelector("tbody");
let offset = Number(new URLSearchParams(location.search).get("offset")) || 0;

async function load() {
  const got = await api(`/api/phase1/runs?offset=${offset}&limit=${PAGE + 1}`);
  const rows = got.runs.slice(0, PAGE);
  body.replaceChildren(...(rows.length ? rows.map((r) => h("tr", {},
    h("th", { scope: "row" }, h("a", { href: `/runs/${encodeURIComponent(r.run_id)}` }, r.run_id.slice(0, 8))),
    h("td", {}, h("span", { class: `status-${r.status}` }, r.status)),
    h("td", { class: "num" }, count(r.cardinality)),
    h("td", {}, when(r.created_at)),
    h("td", {}, when(r.finished_at)),
    h("td", {}, r.project_id ? h("a", { href: `/projects/${encodeURIComponent(r.project_id)}` }, "Project") : "—"),
  )) : [h("tr", {}, h("td", { colspan: 6 }, "No runs yet: open a project and run it."))]));
  byId("prev").disabled = offset === 0;
  byId("next").disabled = got.runs.length <= PAGE;
  byId("page-info").textContent = `Runs ${rows.length ? offset + 1 : 0}–${offset + rows.length}`;
  history.replaceState(null, "", offset ? `?offset=${offset}` : location.pathname);
}

byId("prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); run(null, msg, load); });
byId("next").addEventListener("click", () => { offset += PAGE; run(null, msg, load); });
run(null, msg, load);
