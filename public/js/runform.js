// The run form of a saved project (form name="run"): per lever a list, a min/max/step or the
// default, or a preset; the cardinality per lever and in total, live, with the guardrail and
// the shard count (and the sample size when over it); seed, top-N and objective. Starting a
// run goes to /runs/{run_id}.
import { api, Problem } from "./api.js";
import { LEVERS } from "./fields.js";
import { count, h, markFields, run, say } from "./ui.js";

/**
 * Draws the run form into `form` for the project `projectId`; `rec.ranges` (when the page
 * was opened with ?ranges=) starts it from those ranges.
 */
export async function runForm(form, projectId, rec) {
  const presets = await api("/api/phase1/permutations/presets").catch(() => ({}));
  const msg = h("p", { class: "message", role: "status", id: "run-message" });
  const presetSelect = h("select", { id: "preset", name: "preset", "aria-describedby": "preset-help" },
    h("option", { value: "" }, "None: use the ranges below"),
    Object.keys(presets).map((p) => h("option", { value: p }, p)));
  const leverRows = LEVERS.map(leverControl);
  const cardBody = h("tbody");
  const total = h("p", { id: "cardinality", role: "status", "aria-live": "polite" });
  const sample = h("input", { type: "number", id: "sample", name: "sample", min: 1, step: 1, "aria-describedby": "sample-help sample-error" });
  const sampleBox = h("div", { hidden: true },
    h("label", { for: "sample" }, "Sample size", h("span", { class: "hint", id: "sample-help" }, "The grid is over the guardrail: evaluate this many permutations drawn with the seed.")),
    sample, h("p", { class: "field-error", id: "sample-error" }));
  form.replaceChildren(
    h("fieldset", {}, h("legend", {}, "Preset"),
      h("label", { for: "preset" }, "Preset", h("span", { class: "hint", id: "preset-help" }, "A preset sets every lever (tenors above the tenor cap are dropped). Editing a lever returns to your own ranges.")),
      presetSelect),
    h("fieldset", {}, h("legend", {}, "Levers"),
      h("p", { class: "muted" }, "For each lever: a list of values (“10, 12, 15”), a range (min, max, step), or the default."),
      h("div", { class: "stack" }, leverRows.map((r) => r.el))),
    h("fieldset", {}, h("legend", {}, "Grid"),
      total,
      h("div", { class: "table-box" }, h("table", { id: "cardinality-table" },
        h("caption", {}, "Values per lever"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Lever"), h("th", { scope: "col", class: "num" }, "Values"), h("th", { scope: "col" }, "Source"))),
        cardBody)),
      sampleBox),
    h("fieldset", {}, h("legend", {}, "Run"),
      h("div", { class: "grid-form" },
        h("div", {}, h("label", { for: "seed" }, "Seed", h("span", { class: "hint" }, "Same inputs and seed, same answer.")),
          h("input", { type: "number", id: "seed", name: "seed", value: 424242, min: 0, step: 1, "aria-describedby": "seed-error" }), h("p", { class: "field-error", id: "seed-error" })),
        h("div", {}, h("label", { for: "topn" }, "Top N", h("span", { class: "hint" }, "Structures to rank, 1 to 100.")),
          h("input", { type: "number", id: "topn", name: "topn", value: 20, min: 1, max: 100, step: 1, "aria-describedby": "topn-error" }), h("p", { class: "field-error", id: "topn-error" })),
        h("div", {}, h("label", { for: "objective" }, "Objective", h("span", { class: "hint" }, "What ranks first.")),
          h("select", { id: "objective", name: "objective" },
            h("option", { value: "score" }, "Score (then day-one value)"),
            h("option", { value: "day_one_value" }, "Day-one value (then score)"))))),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "start-run" }, "Run")),
    msg,
  );

  function ranges() {
    const out = {};
    for (const r of leverRows) {
      const v = r.value();
      if (v !== undefined) out[r.lever.name] = v;
    }
    return out;
  }

  function request() {
    const preset = presetSelect.value;
    return preset ? { project_id: projectId, preset } : { project_id: projectId, ranges: ranges() };
  }

  let ticket = 0;
  let over = false;
  async function cardinality() {
    const mine = ++ticket;
    total.textContent = "Counting…";
    try {
      const c = await api("/api/phase1/permutations/cardinality", { method: "POST", body: request() });
      if (mine !== ticket) return;
      markFields(form, []);
      cardBody.replaceChildren(...c.levers.map((l) => h("tr", {}, h("th", { scope: "row" }, l.name), h("td", { class: "num" }, count(l.count)), h("td", {}, l.source))));
      over = c.over_guardrail;
      total.textContent = `${count(c.cardinality)} structures in the grid; the guardrail is ${count(c.guardrail)}` +
        (c.shards > 1 ? `; the run is split into ${c.shards} shards.` : "; the run is one shard.") +
        (over ? " Over the guardrail: give a sample size, or narrow the ranges." : "");
      sampleBox.hidden = !over;
      sample.required = over;
      if (over && !sample.value) sample.value = String(Math.min(c.guardrail, c.cardinality));
    } catch (e) {
      if (mine !== ticket) return;
      if (e instanceof Problem && e.status === 422) {
        const rest = markFields(form, e.errors.map((x) => ({ ...x, field: String(x.field).replace(/^ranges\./, "").replace(/^preset$/, "preset") })));
        total.textContent = `The ranges have ${e.errors.length} problem${e.errors.length === 1 ? "" : "s"}.`;
        if (rest.length) say(msg, rest.map((x) => `${x.field}: ${x.message}`).join("; "), "error");
      } else {
        total.textContent = e instanceof Problem ? e.sentence() : String(e);
      }
    }
  }

  let typing = null;
  form.addEventListener("input", (ev) => {
    if (ev.target.closest("[data-lever]")) presetSelect.value = "";
    clearTimeout(typing);
    typing = setTimeout(cardinality, 400);
  });
  presetSelect.addEventListener("change", () => run(null, msg, async () => {
    const name = presetSelect.value;
    if (name) {
      const applied = await api("/api/phase1/permutations/apply-preset", { method: "POST", body: { project_id: projectId, preset: name } });
      for (const r of leverRows) r.set(applied.ranges[r.lever.name]);
      presetSelect.value = name;
    }
    await cardinality();
  }));

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    run(form.querySelector("#start-run"), msg, async () => {
      const body = {
        ...request(),
        seed: Number(form.elements.namedItem("seed").value || 424242),
        topn: Number(form.elements.namedItem("topn").value || 20),
        objective: form.elements.namedItem("objective").value,
        async: true,
      };
      if (over) body.sample = Number(sample.value);
      try {
        const started = await api("/api/phase1/run", { method: "POST", body });
        location.assign(`/runs/${encodeURIComponent(started.run_id)}`);
      } catch (e) {
        if (e instanceof Problem && e.status === 422) {
          markFields(form, e.errors.map((x) => ({ ...x, field: String(x.field).replace(/^ranges\./, "") })));
        }
        throw e;
      }
    });
  });

  const start = rec && rec.ranges ? rec.ranges : null;
  if (start) for (const r of leverRows) r.set(start[r.lever.name]);
  else {
    // A first grid to start from: the balanced preset when it fits the project.
    const first = Object.keys(presets).includes("balanced") ? "balanced" : "";
    if (first) {
      const applied = await api("/api/phase1/permutations/apply-preset", { method: "POST", body: { project_id: projectId, preset: first } }).catch(() => null);
      if (applied) for (const r of leverRows) r.set(applied.ranges[r.lever.name]);
    }
  }
  await cardinality();
}

/** One lever's inputs: a list, a min/max/step range or the default (choices: check boxes). */
function leverControl(lever) {
  const id = lever.name;
  const legend = h("legend", {}, lever.label);
  const help = h("p", { class: "hint", id: `${id}-help` }, lever.help);
  const error = h("p", { class: "field-error", id: `${id}-error` });
  if (lever.kind === "choice") {
    const boxes = lever.values.map((v, i) => h("input", { type: "checkbox", id: `${id}-${i}`, name: id, value: String(v), "aria-describedby": `${id}-help ${id}-error` }));
    const el = h("fieldset", { dataset: { lever: id } }, legend, help,
      h("div", { class: "actions" }, boxes.map((b, i) => h("label", { class: "checkbox", for: b.id }, b, labelOf(lever.values[i])))),
      h("p", { class: "hint" }, `None checked: the default (${(lever.default || []).map(labelOf).join(", ")}).`), error);
    return {
      lever, el,
      value: () => {
        const on = lever.values.filter((_, i) => boxes[i].checked);
        return on.length ? on : undefined;
      },
      set: (vals) => {
        const list = Array.isArray(vals) ? vals : vals === undefined || vals === null ? [] : [vals];
        boxes.forEach((b, i) => { b.checked = list.some((x) => String(x) === String(lever.values[i])); });
      },
    };
  }
  const mode = h("select", { id: `${id}-mode`, "aria-label": `${lever.label}: how the values are given` },
    h("option", { value: "list" }, "List"),
    h("option", { value: "range" }, "Min, max, step"),
    lever.default ? h("option", { value: "default" }, `Default (${lever.default.join(", ")})`) : null);
  const list = h("input", { type: "text", id, name: id, inputmode: "decimal", "aria-describedby": `${id}-help ${id}-error`, "aria-label": `${lever.label}: values, comma-separated` });
  const num = (suffix, label) => h("input", { type: "number", id: `${id}-${suffix}`, name: `${id}_${suffix}`, step: "any", "aria-label": `${lever.label}: ${label}`, class: "range-part" });
  const min = num("min", "minimum");
  const max = num("max", "maximum");
  const step = num("step", "step");
  const listBox = h("div", {}, list);
  const rangeBox = h("div", { class: "actions", hidden: true }, min, max, step);
  const sync = () => {
    listBox.hidden = mode.value !== "list";
    rangeBox.hidden = mode.value !== "range";
  };
  mode.addEventListener("change", sync);
  const el = h("fieldset", { dataset: { lever: id } }, legend, help, h("div", { class: "actions" }, mode), listBox, rangeBox, error);
  const parse = (s) => String(s).split(/[\s,;]+/).filter(Boolean).map((x) => (Number.isFinite(Number(x)) ? Number(x) : x));
  return {
    lever, el,
    value: () => {
      if (mode.value === "default") return undefined;
      if (mode.value === "range") {
        const r = {};
        if (min.value !== "") r.min = Number(min.value);
        if (max.value !== "") r.max = Number(max.value);
        if (step.value !== "") r.step = Number(step.value);
        return r;
      }
      const vals = parse(list.value);
      return vals.length ? vals : undefined;
    },
    set: (vals) => {
      if (vals === undefined || vals === null) {
        mode.value = lever.default ? "default" : "list";
        list.value = "";
      } else if (Array.isArray(vals)) {
        mode.value = "list";
        list.value = vals.join(", ");
      } else if (typeof vals === "object" && "min" in vals) {
        mode.value = "range";
        min.value = vals.min; max.value = vals.max; step.value = vals.step ?? "";
      } else {
        mode.value = "list";
        list.value = String(vals);
      }
      sync();
    },
  };
}

function labelOf(v) {
  if (v === true) return "on";
  if (v === false) return "off";
  return String(v);
}
