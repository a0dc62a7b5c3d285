// Charts over the vendored Chart.js (classic script, global Chart) with its annotation plugin
// for floor lines. Every chart is a figure with a caption, a canvas with role="img" and a
// label, and its data as a table for screen readers and print.
import { h } from "./ui.js";
import { dataTable } from "./table.js";

/** Chart.js, once its deferred script has run. */
function chartLib() {
  const lib = /** @type {any} */ (window).Chart;
  if (!lib) throw new Error("the chart library did not load");
  const annotation = /** @type {any} */ (window)["chartjs-plugin-annotation"];
  if (annotation && !lib.registry.plugins.get("annotation")) lib.register(annotation);
  return lib;
}

function colours() {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  return { fg: v("--fg"), muted: v("--muted"), line: v("--line"), accent: v("--accent"), bad: v("--bad"), ok: v("--ok"), warn: v("--warn") };
}

/**
 * A chart in a figure, with its data table.
 * @param {{id: string, title: string, summary: string, type: "bar"|"line", labels: any[],
 *          series: {label: string, data: number[], kind?: "bar"|"line"}[], horizontal?: boolean,
 *          floor?: {value: number, label: string}, yTitle?: string, xTitle?: string,
 *          format?: (x: number) => string, stacked?: boolean}} spec
 */
export function chart(spec) {
  const canvas = h("canvas", { id: spec.id, role: "img", "aria-label": `${spec.title}. ${spec.summary}` });
  const fmt = spec.format || ((x) => String(x));
  const table = dataTable(`${spec.title}: data`, [spec.xTitle || "", ...spec.series.map((s) => s.label)],
    spec.labels.map((l, i) => [String(l), ...spec.series.map((s) => fmt(s.data[i]))]), { num: [false, ...spec.series.map(() => true)] });
  const fig = h("figure", { class: "chart" },
    h("figcaption", {}, spec.title),
    h("div", { class: "canvas-box" }, canvas),
    h("details", { class: "data" }, h("summary", {}, "Data as a table"), table));
  requestAnimationFrame(() => draw(canvas, spec));
  return fig;
}

function draw(canvas, spec) {
  const Chart = chartLib();
  const c = colours();
  const palette = [c.accent, c.warn, c.ok, c.bad, c.muted];
  const annotations = {};
  if (spec.floor) {
    annotations.floor = {
      type: "line", scaleID: spec.horizontal ? "x" : "y", value: spec.floor.value, borderColor: c.bad, borderWidth: 2, borderDash: [6, 4],
      label: { display: true, content: spec.floor.label, position: "end", backgroundColor: c.bad, color: "#fff" },
    };
  }
  new Chart(canvas, {
    type: spec.type,
    data: {
      labels: spec.labels,
      datasets: spec.series.map((s, i) => ({
        label: s.label, data: s.data, type: s.kind || spec.type,
        backgroundColor: palette[i % palette.length], borderColor: palette[i % palette.length],
        pointRadius: 0, borderWidth: 2, fill: false,
      })),
    },
    options: {
      indexAxis: spec.horizontal ? "y" : "x",
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { labels: { color: c.fg } }, annotation: { annotations } },
      scales: {
        // The category axis (x, or y when horizontal) names every category; the other reads values.
        [spec.horizontal ? "y" : "x"]: { stacked: !!spec.stacked, ticks: { color: c.muted, autoSkip: !spec.horizontal }, grid: { color: c.line }, title: { display: !!spec.xTitle, text: spec.xTitle, color: c.muted } },
        [spec.horizontal ? "x" : "y"]: { stacked: !!spec.stacked, ticks: { color: c.muted }, grid: { color: c.line }, title: { display: !!spec.yTitle, text: spec.yTitle, color: c.muted } },
      },
    },
  });
}
