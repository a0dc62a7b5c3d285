// An accessible sortable table: every column header is a button; the sorted column carries
// aria-sort; sorting is stable and numbers sort as numbers.
import { h } from "./ui.js";

/**
 * @typedef {{key: string, label: string, num?: boolean, value: (row: any) => any,
 *            show?: (row: any) => any, header?: boolean}} Column
 */

/**
 * A sortable table of `rows`. Returns {el, setRows(rows)}; `el` is the scrolling box.
 * @param {{id: string, caption: string, columns: Column[], rows: any[], sortKey?: string,
 *          empty?: string}} spec
 */
export function sortableTable(spec) {
  let rows = spec.rows.slice();
  let sortKey = spec.sortKey || null;
  let dir = "ascending";
  const body = h("tbody");
  const heads = spec.columns.map((c) => {
    const btn = h("button", { type: "button", class: "sort", dataset: { key: c.key } }, c.label);
    const th = h("th", { scope: "col", class: c.num ? "num" : null, dataset: { key: c.key } }, btn);
    btn.addEventListener("click", () => {
      dir = sortKey === c.key && dir === "ascending" ? "descending" : "ascending";
      sortKey = c.key;
      draw();
    });
    return th;
  });
  const table = h("table", { id: spec.id },
    h("caption", {}, spec.caption),
    h("thead", {}, h("tr", {}, heads)),
    body);
  const live = h("p", { class: "skip", role: "status", "aria-live": "polite" });

  function draw() {
    const col = spec.columns.find((c) => c.key === sortKey);
    const sorted = rows.map((r, i) => [r, i]);
    if (col) {
      const sign = dir === "ascending" ? 1 : -1;
      sorted.sort(([a, i], [b, j]) => {
        const x = col.value(a);
        const y = col.value(b);
        const cmp = x === y ? 0 : x === null || x === undefined ? 1 : y === null || y === undefined ? -1 : x < y ? -1 : 1;
        return cmp !== 0 ? sign * cmp : i - j;
      });
    }
    for (const th of heads) {
      if (col && th.dataset.key === col.key) th.setAttribute("aria-sort", dir);
      else th.removeAttribute("aria-sort");
    }
    if (col) live.textContent = `Sorted by ${col.label}, ${dir}.`;
    if (!sorted.length) {
      body.replaceChildren(h("tr", {}, h("td", { colspan: spec.columns.length }, spec.empty || "Nothing to show.")));
      return;
    }
    body.replaceChildren(...sorted.map(([r]) => h("tr", {}, spec.columns.map((c) => {
      const shown = c.show ? c.show(r) : c.value(r);
      return c.header ? h("th", { scope: "row", class: c.num ? "num" : null }, shown) : h("td", { class: c.num ? "num" : null }, shown);
    }))));
  }
  draw();
  return {
    el: h("div", {}, h("div", { class: "table-box" }, table), live),
    setRows(next) {
      rows = next.slice();
      draw();
    },
  };
}

/** A plain table (for chart data and grids): headers, then rows of cells (strings or nodes). */
export function dataTable(caption, headers, rows, opts = {}) {
  return h("div", { class: "table-box" }, h("table", { id: opts.id || null },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headers.map((x, i) => h("th", { scope: "col", class: opts.num && opts.num[i] ? "num" : null }, x)))),
    h("tbody", {}, rows.map((r) => h("tr", { class: r.className || null }, r.map((cell, i) => (i === 0 ? h("th", { scope: "row" }, cell) : h("td", { class: opts.num && opts.num[i] ? "num" : null }, cell))))))));
}
