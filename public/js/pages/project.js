// /projects/new and /projects/{id}: every project field, checked live through
// projects/validate with each error at its field and the derived preview beside the form;
// then, for a saved project, the ranges (or a preset) and the run.
import { api, Problem } from "../api.js";
import { DERIVED, PROJECT_FIELDS } from "../fields.js";
import { byId, h, markFields, money, page, pct, run, say, segments } from "../ui.js";
import { runForm } from "../runform.js";

await page();
const id = segments()[1] || "new";
const isNew = id === "new";
const form = byId("project-form");
const msg = byId("project-message");
const derivedList = byId("derived");
const derivedStatus = byId("derived-status");

function control(f) {
  const cid = `f-${f.name}`;
  const described = `${cid}-help ${cid}-error`;
  let input;
  if (f.kind === "select") {
    input = h("select", { id: cid, name: f.name, "aria-describedby": described, required: f.required },
      h("option", { value: "" }, f.required ? "Choose…" : "Default"),
      f.options.map((o) => h("option", { value: o }, o)));
  } else if (f.kind === "bool") {
    input = h("input", { type: "checkbox", id: cid, name: f.name, "aria-describedby": described });
  } else {
    input = h("input", {
      type: f.kind === "text" ? "text" : "number", id: cid, name: f.name, "aria-describedby": described,
      required: f.required, step: f.kind === "integer" ? "1" : f.step || "any", inputmode: f.kind === "text" ? null : "decimal",
      placeholder: f.default !== undefined ? `default ${f.default}` : null, maxlength: f.kind === "text" ? 200 : null,
    });
  }
  const unit = f.unit ? h("span", { class: "muted" }, ` (${f.unit})`) : "";
  const dflt = f.default !== undefined ? ` Default ${f.default === false ? "off" : f.default}.` : f.required ? " Required." : "";
  const help = h("span", { class: "hint", id: `${cid}-help` }, f.help + dflt);
  if (f.kind === "bool") {
    return h("div", {}, h("label", { class: "checkbox", for: cid }, input, f.label), help, h("p", { class: "field-error", id: `${cid}-error` }));
  }
  return h("div", {}, h("label", { for: cid }, f.label, unit, help), input, h("p", { class: "field-error", id: `${cid}-error` }));
}

const groups = [...new Set(PROJECT_FIELDS.map((f) => f.group))];
form.replaceChildren(
  ...groups.map((g) => h("fieldset", {}, h("legend", {}, g),
    h("div", { class: "grid-form" }, PROJECT_FIELDS.filter((f) => f.group === g).map(control)))),
  h("div", { class: "actions" },
    h("button", { type: "submit", id: "save" }, isNew ? "Save project" : "Save as a new project"),
    isNew ? null : h("a", { class: "button secondary", href: `/api/phase1/projects/${encodeURIComponent(id)}`, download: "project.json" }, "Download JSON")),
);

/** The project as the API takes it: blanks left out (so defaults apply), numbers as numbers. */
function collect() {
  const out = {};
  const local = [];
  for (const f of PROJECT_FIELDS) {
    const el = form.elements.namedItem(f.name);
    if (f.kind === "bool") {
      out[f.name] = el.checked;
      continue;
    }
    if (f.kind === "number" || f.kind === "integer") {
      if (el.validity && el.validity.badInput) {
        local.push({ field: f.name, message: "is not a number" });
        continue;
      }
      if (el.value !== "") out[f.name] = Number(el.value);
      continue;
    }
    if (el.value !== "") out[f.name] = el.value;
  }
  return { project: out, local };
}

function fill(project) {
  for (const f of PROJECT_FIELDS) {
    const el = form.elements.namedItem(f.name);
    const v = project[f.name];
    if (f.kind === "bool") el.checked = v === true;
    else el.value = v === null || v === undefined ? "" : String(v);
  }
}

function showDerived(d) {
  if (!d) {
    derivedList.replaceChildren();
    return;
  }
  const ccy = d.currency;
  const show = (v, how) => ({
    mw: () => `${Number(v).toLocaleString("en-GB", { maximumFractionDigits: 3 })} MW`,
    money: () => money(v, ccy),
    years: () => `${v} years`,
    ratio: () => `${Number(v).toFixed(2)}x`,
    pct: () => pct(v, 1),
  })[how]();
  derivedList.replaceChildren(...DERIVED.flatMap(([k, label, how]) => [h("dt", {}, label), h("dd", { id: `derived-${k}` }, show(d[k], how))]));
}

let latest = 0;
/** Validates the form as it stands; true when the project is valid. */
async function validate() {
  const ticket = ++latest;
  const { project, local } = collect();
  derivedStatus.textContent = "Checking…";
  try {
    const res = await api("/api/phase1/projects/validate", { method: "POST", body: { project } });
    if (ticket !== latest) return false;
    markFields(form, local);
    showDerived(res.derived);
    derivedStatus.textContent = local.length ? "Fix the marked fields." : "Valid: the preview is up to date.";
    return local.length === 0;
  } catch (e) {
    if (ticket !== latest) return false;
    if (e instanceof Problem && e.status === 422) {
      const rest = markFields(form, [...local, ...e.errors], "project.");
      showDerived(null);
      const n = e.errors.length + local.length;
      derivedStatus.textContent = `${n} field${n === 1 ? " needs" : "s need"} attention.`;
      if (rest.length) say(msg, rest.map((x) => `${x.field}: ${x.message}`).join("; "), "error");
      return false;
    }
    derivedStatus.textContent = "Not checked.";
    say(msg, e instanceof Problem ? e.sentence() : String(e), "error");
    return false;
  }
}

let typing = null;
form.addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(validate, 400);
});
form.addEventListener("change", () => {
  clearTimeout(typing);
  validate();
});
form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  run(byId("save"), msg, async () => {
    if (!(await validate())) {
      say(msg, "The project has errors: see the marked fields.", "error");
      const bad = form.querySelector("[aria-invalid=true]");
      if (bad) bad.focus();
      return;
    }
    const { project } = collect();
    const made = await api("/api/phase1/projects", { method: "POST", body: { project } });
    location.assign(`/projects/${encodeURIComponent(made.project_id)}?saved=1`);
  });
});

if (isNew) {
  document.title = "New project — Phase-1";
  byId("title").textContent = "New project";
} else {
  const rec = await api(`/api/phase1/projects/${encodeURIComponent(id)}`).catch((e) => {
    say(msg, e instanceof Problem ? e.sentence() : String(e), "error");
    return null;
  });
  if (rec) {
    fill(rec.project);
    showDerived(rec.derived);
    derivedStatus.textContent = "Saved project.";
    byId("title").textContent = rec.title;
    document.title = `${rec.title} — Phase-1`;
    if (new URLSearchParams(location.search).get("saved")) say(msg, `Saved “${rec.title}”.`, "ok");
    byId("run-section").hidden = false;
    runForm(byId("run-form"), id, rec);
  }
}
