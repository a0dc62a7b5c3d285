// /runs/{run_id}: a queued run's progress (with cancel), then the results: statistics, the
// tier and binding-constraint charts, the sortable and filterable top-N with CSV download and
// compare, and the near-misses with their fix hints and "apply and re-run".
import { api, Problem } from "../api.js";
import { chart } from "../charts.js";
import { sortableTable } from "../table.js";
import { byId, count, explain, fixed, h, millions, page, pct, ratio, run, say, segments, tiles, tierBadge, when } from "../ui.js";

await page();
const runId = segments()[1];
const msg = byId("run-message");
const results = byId("results");
document.title = `Run ${runId.slice(0, 8)} — Phase-1`;
byId("title").textContent = `Run ${runId.slice(0, 8)}`;

let delay = 1000;
async function poll() {
  let doc;
  try {
    doc = await api(`/api/phase1/runs/${encodeURIComponent(runId)}`);
  } catch (e) {
    say(msg, explain(e), "error");
    if (e instanceof Problem && e.status >= 500) setTimeout(poll, 5000);
    return;
  }
  const section = byId("progress-section");
  if (doc.status === "queued" || doc.status === "running") {
    section.hidden = false;
    const p = Number(doc.progress_pct) || 0;
    byId("progress").value = p;
    byId("progress-text").textContent = `${doc.status === "queued" ? "Queued" : "Running"}: ${p.toFixed(0)}% of ${count(doc.cardinality)} structures.`;
    setTimeout(poll, delay);
    delay = Math.min(delay * 1.5, 4000);
    return;
  }
  section.hidden = true;
  if (doc.status === "failed") {
    const err = doc.error ? new Problem(doc.error.status || 500, doc.error) : null;
    say(msg, `The run failed. ${err ? err.sentence() : ""}`, "error");
    return;
  }
  if (doc.status === "cancelled") {
    say(msg, "The run was cancelled.", "info");
    return;
  }
  show(doc);
}

byId("cancel").addEventListener("click", (ev) => run(ev.currentTarget, msg, async () => {
  await api(`/api/phase1/runs/${encodeURIComponent(runId)}`, { method: "DELETE" });
  say(msg, "Cancelling…", "info");
}));

function show(doc) {
  const r = doc.result;
  const s = r.stats;
  const ccy = r.derived.currency;
  const tiers = ["Diamond", "Platinum", "Gold", "Silver", "Bronze"];
  const tierCounts = tiers.map((t) => s.tier_counts[t] || 0);
  const constraints = r.constraints || [];
  results.replaceChildren(
    h("p", { class: "muted" }, `Finished ${when(doc.finished_at)} · seed ${r.provenance.seed} · objective ${r.provenance.objective} · ruleset ${r.provenance.ruleset.version} · engine ${r.provenance.engine_version}`, r.provenance.cached ? " · from the result cache" : ""),
    h("h2", {}, "Statistics"),
    tiles([
      ["Evaluated", count(s.evaluated)],
      ["Pruned at Gate A", count(s.gate_a_pruned)],
      ["Pruned at Gate B", count(s.gate_b_pruned)],
      ["Score below 40", count(s.not_viable_score)],
      ["Viable", count(s.viable)],
      ["Near-misses", count(s.near_misses)],
      ...tiers.map((t, i) => [t, count(tierCounts[i])]),
    ], "Run statistics"),
    h("div", { class: "charts" },
      chart({ id: "tier-chart", title: "Tier distribution", summary: tiers.map((t, i) => `${t} ${tierCounts[i]}`).join(", "), type: "bar", labels: tiers, xTitle: "Tier", yTitle: "Structures", series: [{ label: "Viable structures", data: tierCounts }], format: count }),
      chart({ id: "binding-chart", title: "Binding constraints", summary: constraints.map((c) => `${c.key} ${c.count}`).join(", "), type: "bar", horizontal: true, labels: constraints.map((c) => c.key), xTitle: "Constraint", yTitle: "% of evaluated", series: [{ label: "Share of evaluated", data: constraints.map((c) => c.share * 100) }], format: (x) => `${fixed(x, 1)}%` })),
    topSection(r, ccy),
    nearMisses(r, doc, ccy),
  );
}

function topSection(r, ccy) {
  const top = r.top || [];
  const checked = new Set();
  const compareBtn = h("button", { type: "button", id: "compare", disabled: true }, "Compare selected");
  const compareMsg = h("span", { id: "compare-count", role: "status" }, "Select two to four structures.");
  const tick = (s) => {
    const box = h("input", { type: "checkbox", name: "compare", value: s.rank, "aria-label": `Compare rank ${s.rank}` });
    box.checked = checked.has(s.rank);
    box.addEventListener("change", () => {
      if (box.checked) checked.add(s.rank);
      else checked.delete(s.rank);
      compareBtn.disabled = checked.size < 2 || checked.size > 4;
      compareMsg.textContent = `${checked.size} selected${checked.size > 4 ? ": at most four" : ""}.`;
    });
    return box;
  };
  compareBtn.addEventListener("click", () => {
    location.assign(`/compare?run=${encodeURIComponent(runId)}&ranks=${[...checked].sort((a, b) => a - b).join(",")}`);
  });
  const L = (s) => s.levers;
  const table = sortableTable({
    id: "top-table", caption: `Top ${top.length} structures (amounts in ${ccy})`, sortKey: "rank", empty: "No structure passed every rule.",
    columns: [
      { key: "pick", label: "Compare", value: (s) => (checked.has(s.rank) ? 0 : 1), show: tick },
      { key: "rank", label: "Rank", num: true, header: true, value: (s) => s.rank, show: (s) => h("a", { href: `/runs/${encodeURIComponent(runId)}/structures/${s.rank}` }, `#${s.rank}`) },
      { key: "tier", label: "Tier", value: (s) => ["Diamond", "Platinum", "Gold", "Silver", "Bronze"].indexOf(s.tier), show: (s) => tierBadge(s.tier) },
      { key: "score", label: "Score", num: true, value: (s) => s.score.total, show: (s) => fixed(s.score.total, 1) },
      { key: "day1", label: "Day-one value", num: true, value: (s) => s.day_one_value.total, show: (s) => millions(s.day_one_value.total, ccy) },
      { key: "senior", label: "Senior", num: true, value: (s) => s.senior.amount, show: (s) => millions(s.senior.amount, ccy) },
      { key: "min_dscr", label: "Min DSCR", num: true, value: (s) => s.senior.min_dscr, show: (s) => ratio(s.senior.min_dscr) },
      { key: "stress", label: "Min stress DSCR", num: true, value: (s) => s.stress.min, show: (s) => ratio(s.stress.min) },
      { key: "ltv", label: "LTV", num: true, value: (s) => s.senior.ltv, show: (s) => pct(s.senior.ltv, 1) },
      { key: "wal", label: "WAL (y)", num: true, value: (s) => s.senior.wal, show: (s) => fixed(s.senior.wal, 2) },
      { key: "tenor", label: "Tenor", num: true, value: (s) => L(s).senior_tenor },
      { key: "coupon", label: "Coupon", num: true, value: (s) => L(s).senior_coupon, show: (s) => pct(L(s).senior_coupon) },
      { key: "dscr", label: "Target DSCR", num: true, value: (s) => L(s).senior_dscr, show: (s) => ratio(L(s).senior_dscr) },
      { key: "amort", label: "Amortisation", value: (s) => L(s).senior_amort },
      { key: "index", label: "Indexation", value: (s) => L(s).indexation_mode },
      { key: "zcis", label: "Hedge (y)", num: true, value: (s) => L(s).zcis_tenor_years },
      { key: "mezz", label: "Mezzanine", value: (s) => (L(s).mezz_on ? "on" : "off") },
      { key: "wrap", label: "Wrap", value: (s) => (L(s).wrap ? "on" : "off") },
      { key: "rating", label: "Rating", value: (s) => s.rating.effective },
      { key: "repo", label: "Repo", value: (s) => (s.repo.eligible ? "eligible" : "no") },
    ],
    rows: top,
  });
  const tierF = h("select", { id: "filter-tier", "aria-label": "Filter by tier" }, h("option", { value: "" }, "Every tier"), ["Diamond", "Platinum", "Gold", "Silver", "Bronze"].map((t) => h("option", { value: t }, t)));
  const repoF = h("select", { id: "filter-repo", "aria-label": "Filter by repo eligibility" }, h("option", { value: "" }, "Any repo eligibility"), h("option", { value: "yes" }, "Repo eligible"), h("option", { value: "no" }, "Not repo eligible"));
  const idxF = h("select", { id: "filter-indexation", "aria-label": "Filter by indexation" }, h("option", { value: "" }, "Any indexation"), h("option", { value: "flat" }, "flat"), h("option", { value: "CPI_capped" }, "CPI_capped"));
  const shown = h("span", { role: "status", id: "filter-count" });
  const filter = () => {
    const rows = top.filter((s) => (!tierF.value || s.tier === tierF.value)
      && (!repoF.value || (repoF.value === "yes") === !!s.repo.eligible)
      && (!idxF.value || s.levers.indexation_mode === idxF.value));
    table.setRows(rows);
    shown.textContent = `${rows.length} of ${top.length} shown.`;
  };
  for (const f of [tierF, repoF, idxF]) f.addEventListener("change", filter);
  return h("section", { "aria-labelledby": "top-title" },
    h("h2", { id: "top-title" }, "Top structures"),
    h("div", { class: "actions no-print", role: "group", "aria-label": "Filters" }, tierF, repoF, idxF, shown),
    table.el,
    h("div", { class: "actions no-print" }, compareBtn, compareMsg,
      h("a", { class: "button secondary", href: `/api/phase1/runs/${encodeURIComponent(runId)}/top.csv`, download: "" }, "Download CSV")));
}

function nearMisses(r, doc, ccy) {
  const list = r.near_misses || [];
  const out = h("section", { "aria-labelledby": "nm-title" }, h("h2", { id: "nm-title" }, `Near-misses (${list.length})`));
  if (!list.length) {
    out.append(h("p", { class: "muted" }, "No structure failed a single rule by a small margin."));
    return out;
  }
  const nmMsg = h("p", { class: "message", role: "status" });
  out.append(nmMsg, h("ul", { id: "near-misses" }, list.map((nm, i) => {
    const s = nm.structure;
    const hint = nm.hint;
    const items = [
      h("strong", {}, nm.rule), ` short by ${fixed(nm.shortfall, 4)} · score ${fixed(s.score ? s.score.total : NaN, 1)} · day-one ${millions(s.day_one_value ? s.day_one_value.total : NaN, ccy)}`,
      h("br"), nm.message,
    ];
    if (hint) {
      const btn = h("button", { type: "button", class: "secondary", id: `apply-${i}` }, `Apply ${hint.lever} → ${hint.to} and re-run`);
      btn.addEventListener("click", () => run(btn, nmMsg, async () => {
        const ranges = {};
        for (const [name, lv] of Object.entries(r.levers)) ranges[name] = lv.values.slice();
        const moved = ranges[hint.lever].map((v) => (String(v) === String(hint.from) ? hint.to : v));
        ranges[hint.lever] = [...new Map(moved.map((v) => [String(v), v])).values()];
        const body = { project_id: doc.project_id, ranges, seed: r.provenance.seed, topn: r.provenance.topn, objective: r.provenance.objective, async: true };
        if (!doc.project_id) throw new Error("this run was not made from a saved project");
        const started = await api("/api/phase1/run", { method: "POST", body });
        location.assign(`/runs/${encodeURIComponent(started.run_id)}`);
      }));
      items.push(h("br"), `Hint: move ${hint.lever} from ${hint.from} to ${hint.to}. `, btn);
    }
    return h("li", {}, ...items);
  })));
  return out;
}

poll();
