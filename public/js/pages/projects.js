// /projects: the caller's projects, with search, pages, duplicate, delete, import and export.
import { api } from "../api.js";
import { byId, download, h, page, run, say, when } from "../ui.js";

await page();
const PAGE = 20;
const msg = byId("projects-message");
const body = byId("projects-table").querySelector("tbody");
let offset = Number(new URLSearchParams(location.search).get("offset")) || 0;
let query = new URLSearchParams(location.search).get("q") || "";
byId("search").value = query;

/** Loads the page at `offset`, or with a search, every project that matches (first 500). */
async function load() {
  let rows;
  let more = false;
  if (query) {
    rows = [];
    for (let o = 0; o < 500; o += 100) {
      const got = await api(`/api/phase1/projects?offset=${o}&limit=100`);
      rows.push(...got.projects);
      if (got.projects.length < 100) break;
    }
    const q = query.toLowerCase();
    rows = rows.filter((p) => `${p.title} ${p.project.country}`.toLowerCase().includes(q));
  } else {
    const got = await api(`/api/phase1/projects?offset=${offset}&limit=${PAGE + 1}`);
    rows = got.projects.slice(0, PAGE);
    more = got.projects.length > PAGE;
  }
  draw(rows);
  byId("prev").disabled = query !== "" || offset === 0;
  byId("next").disabled = query !== "" || !more;
  byId("page-info").textContent = query
    ? `${rows.length} project${rows.length === 1 ? "" : "s"} match “${query}”`
    : `Projects ${rows.length ? offset + 1 : 0}–${offset + rows.length}`;
}

function draw(rows) {
  if (!rows.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 6 }, query ? "No project matches." : "No projects yet: start with “New project” or import one.")));
    return;
  }
  body.replaceChildren(...rows.map((p) => {
    const dup = h("button", { type: "button", class: "secondary" }, "Duplicate");
    const exp = h("button", { type: "button", class: "secondary" }, "Export JSON");
    const del = h("button", { type: "button", class: "danger" }, "Delete");
    dup.setAttribute("aria-label", `Duplicate ${p.title}`);
    exp.setAttribute("aria-label", `Export ${p.title} as JSON`);
    del.setAttribute("aria-label", `Delete ${p.title}`);
    dup.addEventListener("click", () => run(dup, msg, async () => {
      const copy = { ...p.project, title: `${p.project.title} (copy)`.slice(0, 200) };
      const made = await api("/api/phase1/projects", { method: "POST", body: { project: copy } });
      location.assign(`/projects/${encodeURIComponent(made.project_id)}`);
    }));
    exp.addEventListener("click", () => {
      const name = `${String(p.title).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "project"}.json`;
      download(name, JSON.stringify({ project: p.project }, null, 2) + "\n", "application/json");
    });
    del.addEventListener("click", () => run(del, msg, async () => {
      if (!confirm(`Delete “${p.title}”? Its runs stay; the project cannot be recovered.`)) return;
      await api(`/api/phase1/projects/${encodeURIComponent(p.project_id)}`, { method: "DELETE" });
      say(msg, `Deleted “${p.title}”.`, "ok");
      await load();
    }));
    return h("tr", {},
      h("th", { scope: "row" }, h("a", { href: `/projects/${encodeURIComponent(p.project_id)}` }, p.title)),
      h("td", {}, p.project.country),
      h("td", { class: "num" }, p.project.gross_it_load_mw),
      h("td", {}, p.project.tenant_rating),
      h("td", {}, when(p.created_at)),
      h("td", {}, h("div", { class: "actions" }, dup, exp, del)));
  }));
}

function go() {
  const qs = new URLSearchParams();
  if (query) qs.set("q", query);
  if (offset) qs.set("offset", String(offset));
  history.replaceState(null, "", qs.toString() ? `?${qs}` : location.pathname);
  return run(null, msg, load);
}

byId("prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); go(); });
byId("next").addEventListener("click", () => { offset += PAGE; go(); });
let typing = null;
byId("search").addEventListener("input", (ev) => {
  clearTimeout(typing);
  typing = setTimeout(() => { query = ev.target.value.trim(); offset = 0; go(); }, 300);
});
byId("search-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  query = byId("search").value.trim();
  offset = 0;
  go();
});

const file = byId("import");
byId("import-button").addEventListener("click", () => file.click());
file.addEventListener("change", () => run(null, msg, async () => {
  const chosen = file.files && file.files[0];
  file.value = "";
  if (!chosen) return;
  let doc;
  try {
    doc = JSON.parse(await chosen.text());
  } catch (e) {
    say(msg, `${chosen.name} is not JSON: ${e.message}.`, "error");
    return;
  }
  const project = doc && typeof doc === "object" && doc.project ? doc.project : doc;
  try {
    const made = await api("/api/phase1/projects", { method: "POST", body: { project } });
    location.assign(`/projects/${encodeURIComponent(made.project_id)}`);
  } catch (e) {
    const fields = (e.errors || []).map((x) => `${x.field}: ${x.message}`).join("; ");
    say(msg, `${chosen.name} was not imported. ${e.sentence ? e.sentence() : e}${fields ? ` ${fields}.` : ""}`, "error");
  }
}));

go();
