// /compare?run={id}&ranks=1,2,3: two to four structures of a run side by side, with the rows
// where they differ marked.
import { api } from "../api.js";
import { byId, explain, fixed, h, millions, page, param, pct, ratio, say, tierBadge } from "../ui.js";

await page();
const msg = byId("compare-message");
const form = byId("compare-form");
const out = byId("comparison");
const runId = param("run") || "";
const ranks = (param("ranks") || "").split(",").map((x) => Number(x.trim())).filter((x) => Number.isInteger(x) && x > 0);
byId("run").value = runId;
byId("ranks").value = ranks.join(", ");

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const r = byId("ranks").value.split(",").map((x) => x.trim()).filter(Boolean).join(",");
  location.assign(`/compare?run=${encodeURIComponent(byId("run").value.trim())}&ranks=${encodeURIComponent(r)}`);
});

/** The rows compared: label and how to read and show the figure. */
const ROWS = (ccy) => [
  ["Tier", (s) => s.tier, (s) => tierBadge(s.tier)],
  ["Score", (s) => fixed(s.score.total, 2)],
  ["Day-one value", (s) => millions(s.day_one_value.total, ccy)],
  ["Senior notes", (s) => millions(s.senior.amount, ccy)],
  ["Mezzanine", (s) => (s.mezz ? millions(s.mezz.amount, ccy) : "none")],
  ["Equity", (s) => millions(s.equity, ccy)],
  ["Advance (LTV)", (s) => pct(s.senior.ltv, 1)],
  ["Coverage", (s) => pct(s.coverage, 1)],
  ["Min DSCR", (s) => ratio(s.senior.min_dscr)],
  ["Average DSCR", (s) => ratio(s.senior.avg_dscr)],
  ["LLCR", (s) => ratio(s.senior.llcr)],
  ["WAL", (s) => `${fixed(s.senior.wal, 2)} y`],
  ["Binding limit", (s) => s.senior.binding],
  ["Min stress DSCR", (s) => ratio(s.stress.min)],
  ["Worst stress", (s) => s.stress.worst],
  ["Rating (effective)", (s) => s.rating.effective],
  ["Repo", (s) => (s.repo.eligible ? `eligible, haircut ${pct(s.repo.haircut, 1)}` : "not eligible")],
  ["Senior tenor", (s) => `${s.levers.senior_tenor} y`],
  ["Senior coupon", (s) => pct(s.levers.senior_coupon)],
  ["Target DSCR", (s) => ratio(s.levers.senior_dscr)],
  ["Amortisation", (s) => s.levers.senior_amort],
  ["Indexation", (s) => s.levers.indexation_mode],
  ["Hedge tenor", (s) => `${s.levers.zcis_tenor_years} y`],
  ["Mezzanine on", (s) => (s.levers.mezz_on ? "on" : "off")],
  ["Wrap", (s) => (s.levers.wrap ? "on" : "off")],
];

async function show() {
  if (!runId || ranks.length < 2 || ranks.length > 4) {
    say(msg, "Give a run id and two to four ranks, or tick structures on a run's page and choose “Compare selected”.", "info");
    return;
  }
  const [top, run] = await Promise.all([
    api(`/api/phase1/securitisation/top20?run_id=${encodeURIComponent(runId)}`),
    api(`/api/phase1/runs/${encodeURIComponent(runId)}`),
  ]);
  const list = top.top_20 || [];
  const chosen = ranks.map((r) => list.find((s) => s.rank === r));
  const missing = ranks.filter((_, i) => !chosen[i]);
  if (missing.length) {
    say(msg, `Rank ${missing.join(", ")} is not in this run's top ${list.length}.`, "error");
    return;
  }
  const ccy = run.result ? run.result.derived.currency : "";
  let differing = 0;
  const rows = ROWS(ccy).map(([label, read, show]) => {
    const texts = chosen.map((s) => read(s));
    const differs = new Set(texts).size > 1;
    if (differs) differing += 1;
    return h("tr", { class: differs ? "diff" : null },
      h("th", { scope: "row" }, label, differs ? h("span", { class: "skip" }, " (differs)") : ""),
      chosen.map((s, i) => h("td", { class: differs ? "changed" : null }, show ? show(s) : texts[i])));
  });
  out.replaceChildren(
    h("p", {}, `${differing} of ${rows.length} figures differ; they are highlighted.`),
    h("div", { class: "table-box" }, h("table", { id: "compare-table" },
      h("caption", {}, `Run ${runId.slice(0, 8)}: ranks ${ranks.join(", ")} side by side`),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Figure"),
        chosen.map((s) => h("th", { scope: "col" }, h("a", { href: `/runs/${encodeURIComponent(runId)}/structures/${s.rank}` }, `Rank ${s.rank}`))))),
      h("tbody", {}, rows))),
  );
}

show().catch((e) => say(msg, explain(e), "error"));
