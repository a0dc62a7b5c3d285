// /ops: status tiles from metrics/summary (refreshing by themselves), the go/no-go panel,
// the canary with its phase moves, and the emergency rollback behind a confirmation.
import { api } from "../api.js";
import { opsPage, render, scalar } from "../ops.js";
import { byId, explain, h, run, say, tiles, when } from "../ui.js";

await opsPage();
const msg = byId("ops-message");
const PHASES = ["ADMIN_ONLY", "CANARY_1", "CANARY_25", "FULL"];
let canaryVersion = null;

/** Flattens the summary's groups into tiles: "group: figure". */
function summaryTiles(summary) {
  const pairs = [];
  for (const [group, figures] of Object.entries(summary || {})) {
    if (figures && typeof figures === "object" && !Array.isArray(figures)) {
      for (const [k, v] of Object.entries(figures)) {
        if (v === null || typeof v !== "object") pairs.push([`${group.replace(/_/g, " ")}: ${k.replace(/_/g, " ")}`, scalar(v)]);
      }
    } else if (figures === null || typeof figures !== "object") {
      pairs.push([group.replace(/_/g, " "), scalar(figures)]);
    }
  }
  return tiles(pairs, "Status");
}

async function refresh() {
  const full = await api("/api/phase1/status/full");
  byId("status-tiles").replaceChildren(summaryTiles(full.metrics));
  byId("status-updated").textContent = `Updated ${new Date().toLocaleTimeString("en-GB")}; refreshes every 15 seconds.`;
  const g = full.go_no_go || {};
  byId("gonogo").replaceChildren(
    h("p", {}, h("strong", { id: "decision" }, g.decision || "—"), g.action ? ` — ${g.action}` : ""),
    g.reasons && g.reasons.length ? h("ul", {}, g.reasons.map((r) => h("li", {}, r))) : h("p", { class: "muted" }, "No reasons given."),
    h("h3", {}, "Criteria"),
    render(g.criteria));
  const c = full.canary || {};
  const status = await api("/api/phase1/canary/status", { withHeaders: true });
  canaryVersion = (status.headers.get("etag") || "").replace(/"/g, "") || null;
  const cs = status.body.canary || status.body;
  byId("canary").replaceChildren(tiles([
    ["Phase", cs.phase || c.phase || "—"],
    ["Percentage", `${scalar(cs.percentage ?? c.percentage)} %`],
    ["Since", when(cs.since || c.since)],
    ["Version", scalar(canaryVersion)],
  ], "Canary"));
  const phase = cs.phase || c.phase;
  const next = PHASES[PHASES.indexOf(phase) + 1];
  const select = byId("phase");
  if (!select.options.length) {
    select.replaceChildren(...PHASES.map((p) => h("option", { value: p }, p)));
  }
  if (document.activeElement !== select) select.value = next || phase || PHASES[0];
}

byId("canary-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const form = ev.currentTarget;
  run(byId("canary-move"), msg, async () => {
    const data = Object.fromEntries(new FormData(form));
    const res = await api("/api/phase1/canary/update", { method: "POST", body: { phase: data.phase, reason: data.reason }, headers: canaryVersion ? { "If-Match": canaryVersion } : {} });
    say(msg, `The canary is now ${data.phase} (version ${res.version}).`, "ok");
    await refresh();
  });
});

const dialog = byId("rollback-dialog");
byId("rollback").addEventListener("click", () => {
  byId("rollback-reason").value = "";
  dialog.showModal();
  byId("rollback-reason").focus();
});
dialog.addEventListener("close", () => {
  if (dialog.returnValue !== "confirm") return;
  const reason = byId("rollback-reason").value.trim() || "emergency rollback from the console";
  run(byId("rollback"), byId("rollback-result"), async () => {
    const res = await api("/api/phase1/rollback", { method: "POST", body: { reason } });
    say(byId("rollback-result"), `Rolled back: every Phase-1 flag is off (flag version ${res.version}). Time to recovery: ${scalar(res.time_to_recovery_ms)} ms.`, "ok");
    await refresh();
  });
});

await run(null, msg, refresh);
setInterval(() => refresh().catch((e) => say(msg, explain(e), "error")), 15_000);
