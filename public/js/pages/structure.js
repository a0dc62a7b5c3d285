// /runs/{run_id}/structures/{rank}: one ranked structure in full — levers, sizing, capital
// stack, charts (debt balance, CFADS against debt service, DSCR against the floor), the
// stress grid, every rule, rating and repo, and the downloads.
import { api } from "../api.js";
import { chart } from "../charts.js";
import { annual } from "../schedule.js";
import { dataTable } from "../table.js";
import { byId, download, explain, fixed, h, millions, money, page, pct, ratio, say, segments, tiles, tierBadge, when } from "../ui.js";

await page();
const [, runId, , rankText] = segments();
const rank = Number(rankText);
const msg = byId("structure-message");
const q = encodeURIComponent(runId);
document.title = `Rank ${rank} of run ${runId.slice(0, 8)} — Phase-1`;
byId("title").textContent = `Structure #${rank}`;

let exp;
let rules;
try {
  [exp, rules] = await Promise.all([
    api(`/api/phase1/securitisation/export/${rank}?run_id=${q}`),
    api("/api/phase1/rules"),
  ]);
} catch (e) {
  say(msg, explain(e), "error");
  throw e;
}
const t = rules.tables;
const s = exp.structure;
const lv = s.levers;
const d = exp.derived;
const ccy = d.currency;
const floor = d.dscr_floor - (lv.wrap ? t.wrap.dscr_relief : 0);
const years = annual(exp.schedule);
const stressMin = t.stress.dscr_min;

const base = `/api/phase1/runs/${q}/structures/${rank}`;
const downloads = h("div", { class: "actions no-print" },
  h("a", { class: "button", href: `${base}/term-sheet.pdf`, download: "", id: "download-pdf" }, "Term sheet (PDF)"),
  h("a", { class: "button secondary", href: `${base}/term-sheet.xlsx`, download: "" }, "Term sheet (XLSX)"),
  h("a", { class: "button secondary", href: `${base}/term-sheet.md`, download: "" }, "Term sheet (Markdown)"),
  (() => {
    const b = h("button", { type: "button", class: "secondary" }, "Export JSON");
    b.addEventListener("click", () => download(`${runId.slice(0, 8)}-rank${rank}.json`, JSON.stringify(exp, null, 2) + "\n", "application/json"));
    return b;
  })(),
  h("a", { class: "button secondary", href: `/runs/${q}` }, "Back to the run"));

const leverRows = [
  ["Senior tenor", `${lv.senior_tenor} years`],
  ["Senior coupon", pct(lv.senior_coupon)],
  ["Target senior DSCR", ratio(lv.senior_dscr)],
  ["Amortisation", lv.senior_amort],
  ["Indexation", lv.indexation_mode],
  ["Inflation-swap hedge", lv.zcis_tenor_years ? `${lv.zcis_tenor_years} years` : "none"],
  ["Mezzanine", lv.mezz_on ? "on" : "off"],
  ["Credit wrap", lv.wrap ? "on" : "off"],
];

const senior = s.senior;
const mezzAmount = s.mezz ? s.mezz.amount : 0;
const stack = [
  ["Senior notes", senior.amount],
  ["Mezzanine", mezzAmount],
  ["Equity", s.equity],
];

const scenarios = [["cpi_0", "CPI 0%"], ["cpi_1_8", "CPI 1.8%"], ["opex_plus_10", "Opex +10%"], ["rent_minus_10", "Rent −10%"]];
const band = (headroom) => (headroom < 0 ? "band-bad" : headroom < 0.1 ? "band-thin" : "band-good");
const stressRows = scenarios.map(([key, label]) => {
  const v = exp.stress[key];
  const head = v - stressMin;
  const row = [label, ratio(v), ratio(stressMin), h("span", {}, `${head >= 0 ? "+" : ""}${fixed(head, 3)}`), key === exp.stress.worst ? "worst" : ""];
  row.className = band(head);
  return row;
});

/** Value, limit and headroom of each rule, where the export and ruleset give them. */
function ruleFacts(rule) {
  switch (rule) {
    case "TENOR_CAP": return [`${lv.senior_tenor} y`, `≤ ${d.tenor_cap} y`, `${d.tenor_cap - lv.senior_tenor} y`];
    case "MIN_DSCR_SENIOR": return [ratio(lv.senior_dscr), `≥ ${ratio(floor)}`, fixed(lv.senior_dscr - floor, 3)];
    case "MEZZ_DSCR_ORDER": return [ratio(exp.project.mezz_dscr), `< ${ratio(lv.senior_dscr)}`, fixed(lv.senior_dscr - exp.project.mezz_dscr, 3)];
    case "ZCIS_TENOR": return [`${lv.zcis_tenor_years} y`, `≤ ${lv.senior_tenor} y`, `${lv.senior_tenor - lv.zcis_tenor_years} y`];
    case "MIN_COVERAGE": return [pct(s.coverage, 1), `≥ ${pct(exp.project.min_coverage, 1)}`, pct(s.coverage - exp.project.min_coverage, 1)];
    case "STRESS_DSCR": return [ratio(exp.stress.min), `≥ ${ratio(stressMin)}`, fixed(exp.stress.min - stressMin, 3)];
    case "MAX_WAL": return [`${fixed(senior.wal, 2)} y`, `≤ ${fixed(t.wal_max_ratio * lv.senior_tenor, 2)} y`, `${fixed(t.wal_max_ratio * lv.senior_tenor - senior.wal, 2)} y`];
    case "WRAP_ELIGIBILITY": return [exp.rating.unwrapped, `≥ ${t.wrap.min_underlying}`, exp.rules.find((r) => r.rule === rule).passed ? "met" : `${exp.rules.find((r) => r.rule === rule).shortfall} notches short`];
    case "REPO_ELIGIBILITY": return [exp.repo.eligible ? "eligible" : "not eligible", `${exp.project.country} criteria`, exp.repo.eligible ? "met" : exp.repo.failures.join(", ")];
    default: return ["—", "—", "—"];
  }
}

const repoRows = exp.repo_by_country
  ? Object.entries(exp.repo_by_country).map(([country, r]) => [country, r.eligible ? "eligible" : "not eligible", r.haircut !== null ? pct(r.haircut, 1) : "—", r.value !== null ? money(r.value, ccy) : "—", r.failures.length ? r.failures.join(", ") : "none"])
  : [];

byId("structure").replaceChildren(
  h("p", { class: "muted" }, tierBadge(s.tier), ` Score ${fixed(s.score.total, 1)} · permutation ${s.permutation_id} · run `, h("a", { href: `/runs/${q}` }, runId.slice(0, 8)), ` finished ${when(exp.provenance.finished_at)}`),
  downloads,
  h("h2", {}, "Levers"),
  tiles(leverRows, "Levers"),
  h("h2", {}, "Sizing"),
  tiles([
    ["Senior notes", millions(senior.amount, ccy)],
    ["Day-one value", millions(s.day_one_value.total, ccy)],
    ["Advance (LTV)", pct(senior.ltv, 1)],
    ["Coverage", pct(s.coverage, 1)],
    ["Min DSCR", ratio(senior.min_dscr)],
    ["Average DSCR", ratio(senior.avg_dscr)],
    ["LLCR", ratio(senior.llcr)],
    ["WAL", `${fixed(senior.wal, 2)} y`],
    ["Binding limit", senior.binding],
    ["Min stress DSCR", ratio(exp.stress.min)],
  ], "Sizing"),
  h("h2", {}, "Capital stack"),
  dataTable(`Capital stack against a funding need of ${money(d.funding_need, ccy)}`, ["Layer", `Amount (${ccy})`, "Share of funding need"],
    stack.map(([k, v]) => [k, money(v, ccy), pct(v / d.funding_need, 1)]), { id: "capital-stack", num: [false, true, true] }),
  h("h2", {}, "Charts"),
  h("div", { class: "charts" },
    chart({
      id: "balance-chart", title: "Debt balance over time", type: "line", xTitle: "Month", yTitle: `${ccy} m`,
      summary: `Senior balance from ${millions(senior.amount, ccy)} to ${millions(exp.schedule.at(-1).senior_balance, ccy)} over ${exp.schedule.length} months.`,
      labels: exp.schedule.map((r) => r.t),
      series: [{ label: "Senior balance", data: exp.schedule.map((r) => r.senior_balance / 1e6) },
        ...(s.mezz ? [{ label: "Mezzanine balance", data: exp.schedule.map((r) => (r.mezz_balance || 0) / 1e6) }] : [])],
      format: (x) => fixed(x, 2),
    }),
    chart({
      id: "cfads-chart", title: "CFADS against debt service by year", type: "bar", xTitle: "Year", yTitle: `${ccy} m`,
      summary: `Year 1 CFADS ${millions(years[0].cfads, ccy)} against debt service ${millions(years[0].senior_ds, ccy)}.`,
      labels: years.map((y) => y.year),
      series: [{ label: "CFADS", data: years.map((y) => y.cfads / 1e6) }, { label: "Senior debt service", data: years.map((y) => y.senior_ds / 1e6) },
        ...(s.mezz ? [{ label: "Mezzanine debt service", data: years.map((y) => (y.mezz_ds || 0) / 1e6) }] : [])],
      format: (x) => fixed(x, 2),
    }),
    chart({
      id: "dscr-chart", title: "DSCR by year against the floor", type: "bar", xTitle: "Year", yTitle: "DSCR",
      summary: `Lowest annual DSCR ${ratio(Math.min(...years.map((y) => y.dscr)))} against a floor of ${ratio(floor)}.`,
      labels: years.map((y) => y.year), floor: { value: floor, label: `Floor ${ratio(floor)}` },
      series: [{ label: "Senior DSCR", data: years.map((y) => y.dscr) }],
      format: (x) => fixed(x, 3),
    })),
  h("h2", {}, "Stress"),
  dataTable(`Stress scenarios against the stress floor of ${ratio(stressMin)} (green: 0.10 or more headroom; amber: under 0.10; red: below the floor)`,
    ["Scenario", "Min DSCR", "Floor", "Headroom", "Worst"], stressRows, { id: "stress-grid", num: [false, true, true, true, false] }),
  h("h2", {}, "Rules"),
  dataTable("Every rule applied to this structure", ["Rule", "Gate", "Result", "Value", "Limit", "Headroom"],
    exp.rules.map((r) => {
      const [value, limit, head] = ruleFacts(r.rule);
      return [r.rule, r.gate, h("span", { class: r.passed ? "pass" : "fail" }, r.passed ? "pass" : `fail (short ${fixed(r.shortfall, 4)})`), value, limit, head];
    }), { id: "rules-table" }),
  h("h2", {}, "Rating and repo"),
  h("dl", { class: "pairs" },
    h("dt", {}, "Rating unwrapped"), h("dd", {}, exp.rating.unwrapped),
    h("dt", {}, "Rating after the wrap"), h("dd", {}, lv.wrap ? `${exp.rating.effective} (premium ${exp.project.wrap_premium_bps} bps a year)` : `${exp.rating.effective} (no wrap)`)),
  repoRows.length
    ? dataTable("Central-bank repo eligibility of the senior notes", ["Country", "Eligibility", "Haircut", `Repo value (${ccy})`, "Failed criteria"], repoRows, { id: "repo-table" })
    : h("p", { class: "muted" }, "Repo eligibility was not assessed (repo rules off)."),
  h("h2", {}, "Annual schedule"),
  dataTable(`Debt service by year (${ccy})`, ["Year", "CFADS", "Senior debt service", "Senior balance", "DSCR", ...(s.mezz ? ["Mezzanine debt service", "Mezzanine balance"] : [])],
    years.map((y) => [String(y.year), money(y.cfads, ccy), money(y.senior_ds, ccy), money(y.senior_balance, ccy), ratio(y.dscr, 3), ...(s.mezz ? [money(y.mezz_ds, ccy), money(y.mezz_balance, ccy)] : [])]),
    { id: "annual-table", num: [false, true, true, true, true, true, true] }),
);
