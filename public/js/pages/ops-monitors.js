// /ops/monitors: the synthetic monitor's settings, its recent results and alerts, and the
// recent errors.
import { api, Problem } from "../api.js";
import { opsPage, render } from "../ops.js";
import { byId, markFields, run, say } from "../ui.js";

await opsPage();
const msg = byId("ops-message");
const form = byId("synthetic-form");

async function load() {
  const [status, errors] = await Promise.all([
    api("/api/admin/synthetic/status"),
    api("/api/phase1/logs/errors?last=20"),
  ]);
  byId("synthetic").replaceChildren(render(status));
  byId("errors").replaceChildren(render(errors));
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  run(form.querySelector("button[type=submit]"), msg, async () => {
    const data = new FormData(form);
    const body = {
      interval: String(data.get("interval") || ""),
      actions: data.getAll("actions").map(String),
      alert_threshold: { error_rate: Number(data.get("error_rate")), p95_ms: Number(data.get("p95_ms")) },
    };
    try {
      await api("/api/admin/synthetic/start", { method: "POST", body });
      markFields(form, []);
      say(msg, "Monitor settings saved.", "ok");
    } catch (e) {
      if (e instanceof Problem) markFields(form, e.errors.map((x) => ({ ...x, field: String(x.field).split(".").pop() })));
      throw e;
    }
    await load();
  });
});

byId("run-now").addEventListener("click", (ev) => run(ev.currentTarget, msg, async () => {
  await api("/api/phase1/synthetic/run", { method: "POST" });
  say(msg, "The monitor ran once.", "ok");
  await load();
}));

run(null, msg, load);
