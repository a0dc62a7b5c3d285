// /ops/flags: every flag with enabled, admin-only, rollout and allowlists editable; writes
// carry If-Match with the version the screen shows, and a version conflict is shown as what
// changed meanwhile, with a retry of the same change on the new version. Then the flag
// evaluation tool (email, role, IP → each flag and why).
import { api, Problem } from "../api.js";
import { opsPage, render } from "../ops.js";
import { byId, h, markFields, run, say } from "../ui.js";

await opsPage();
const msg = byId("ops-message");
let loaded = null; // {version, flags}

const list = (s) => String(s || "").split(/[\s,]+/).filter(Boolean);

async function load() {
  const res = await api("/api/phase1/flags");
  loaded = { version: res.version, flags: res.flags };
  byId("flags-version").textContent = `Flag set version ${res.version}.`;
  draw();
}

function draw() {
  const rows = Object.entries(loaded.flags).map(([name, f]) => {
    const id = (x) => `${name}-${x}`;
    const enabled = h("input", { type: "checkbox", id: id("enabled"), name: "enabled" });
    enabled.checked = !!f.enabled;
    const adminOnly = h("input", { type: "checkbox", id: id("admin_only"), name: "admin_only" });
    adminOnly.checked = !!f.admin_only;
    const pctIn = h("input", { type: "number", id: id("rollout_percentage"), name: "rollout_percentage", min: 0, max: 100, step: 1, value: f.rollout_percentage, "aria-describedby": id("rollout_percentage-error") });
    const allow = f.allowlist || {};
    const emails = h("input", { type: "text", id: id("emails"), name: "emails", value: (allow.emails || []).join(", "), "aria-describedby": id("emails-error") });
    const ips = h("input", { type: "text", id: id("ips"), name: "ips", value: (allow.ips || []).join(", "), "aria-describedby": id("ips-error") });
    const save = h("button", { type: "submit" }, "Save");
    const form = h("form", { class: "panel stack", name: `flag-${name}`, id: `flag-${name}`, "aria-labelledby": id("title") },
      h("h2", { id: id("title") }, name),
      h("div", { class: "grid-form" },
        h("label", { class: "checkbox", for: enabled.id }, enabled, "Enabled"),
        h("label", { class: "checkbox", for: adminOnly.id }, adminOnly, "Admins only"),
        h("div", {}, h("label", { for: pctIn.id }, "Rollout (%)"), pctIn, h("p", { class: "field-error", id: id("rollout_percentage-error") })),
        h("div", {}, h("label", { for: emails.id }, "Allowlisted emails", h("span", { class: "hint" }, "Comma-separated.")), emails, h("p", { class: "field-error", id: id("emails-error") })),
        h("div", {}, h("label", { for: ips.id }, "Allowlisted IPs (CIDR)", h("span", { class: "hint" }, "Comma-separated.")), ips, h("p", { class: "field-error", id: id("ips-error") }))),
      h("div", { class: "actions" }, save));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const change = {
        enabled: enabled.checked,
        admin_only: adminOnly.checked,
        rollout_percentage: Number(pctIn.value),
        allowlist: { emails: list(emails.value), ips: list(ips.value) },
      };
      run(save, msg, () => write(name, change, loaded.version, form));
    });
    return form;
  });
  byId("flags").replaceChildren(...rows);
}

/** Writes one flag's change on `version`; a 412 shows what changed since and offers a retry. */
async function write(name, change, version, form) {
  try {
    const res = await api("/api/phase1/flags", { method: "POST", body: { changes: { [name]: change } }, headers: { "If-Match": String(version) } });
    byId("conflict").replaceChildren();
    await load();
    say(msg, `Saved ${name}: the flag set is now version ${res.version}.`, "ok");
  } catch (e) {
    if (!(e instanceof Problem)) throw e;
    if (e.status === 412) return conflict(name, change, version);
    if (e.status === 400 || e.status === 422) {
      markFields(form, e.errors.map((x) => ({ ...x, field: String(x.field).split(".").pop() })));
    }
    throw e;
  }
}

/** Shows what changed between the version this screen had and the current one. */
async function conflict(name, change, staleVersion) {
  const before = loaded.flags;
  const now = await api("/api/phase1/flags");
  const changes = [];
  for (const [flag, f] of Object.entries(now.flags)) {
    const old = before[flag] || {};
    for (const key of ["enabled", "admin_only", "rollout_percentage", "allowlist"]) {
      const a = JSON.stringify(old[key]);
      const b = JSON.stringify(f[key]);
      if (a !== b) changes.push({ flag, setting: key, "you saw": a, "now": b });
    }
  }
  const retry = h("button", { type: "button", id: "retry" }, `Apply my change to ${name} on version ${now.version}`);
  const discard = h("button", { type: "button", class: "secondary", id: "discard" }, "Discard my change and reload");
  const box = h("div", { class: "message error", role: "alert", id: "conflict-message" },
    h("p", {}, `Someone changed the flags while you were editing: you had version ${staleVersion}, the flags are now at version ${now.version}. Your change to ${name} was not saved. What changed meanwhile:`),
    changes.length ? render(changes, "Changes since your version") : h("p", {}, "No setting differs (the version moved without a visible change)."),
    h("div", { class: "actions" }, retry, discard));
  byId("conflict").replaceChildren(box);
  retry.focus();
  retry.addEventListener("click", () => run(retry, msg, async () => {
    loaded = { version: now.version, flags: now.flags };
    await write(name, change, now.version, document.getElementById(`flag-${name}`));
  }));
  discard.addEventListener("click", () => run(discard, msg, async () => {
    byId("conflict").replaceChildren();
    await load();
    say(msg, "Reloaded the current flags.", "info");
  }));
}

byId("evaluate-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const form = ev.currentTarget;
  run(form.querySelector("button"), msg, async () => {
    const data = Object.fromEntries(new FormData(form));
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(data)) if (v) qs.set(k, String(v));
    try {
      const res = await api(`/api/phase1/flags/evaluate?${qs}`);
      markFields(form, []);
      const rows = Object.entries(res.flags).map(([flag, r]) => ({ flag, ...(typeof r === "object" ? r : { on: r }) }));
      byId("evaluation").replaceChildren(render(rows, `Flags for ${res.email || "an anonymous caller"} (${res.role}${res.ip ? `, ${res.ip}` : ""}) at version ${res.version}`));
    } catch (e) {
      if (e instanceof Problem) markFields(form, e.errors.map((x) => ({ ...x, field: x.field })));
      throw e;
    }
  });
});

await run(null, msg, load);
