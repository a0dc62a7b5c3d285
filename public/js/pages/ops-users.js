// /ops/users (admins): the users; create one (its authenticator QR code and provisioning URI
// shown once), reset a user's MFA, disable a user; lift an IP block.
import { api, Problem } from "../api.js";
import { opsPage } from "../ops.js";
import { qrSvg } from "../qr.js";
import { byId, h, markFields, run, say, when } from "../ui.js";

const me = await opsPage();
const msg = byId("ops-message");

/** Shows a provisioning URI once, as a QR code and as text. */
function provisioned(email, uri) {
  byId("provisioned").replaceChildren(h("div", { class: "panel", role: "status", id: "provisioning" },
    h("h3", {}, `Authenticator set-up for ${email}`),
    h("p", {}, "Scan this code with the user's authenticator app now: it is shown this once and cannot be shown again."),
    h("div", { class: "qr" }, qrSvg(uri, `QR code of the authenticator set-up for ${email}`)),
    h("details", {}, h("summary", {}, "The provisioning URI as text"), h("code", { id: "provisioning-uri" }, uri))));
}

async function load() {
  const res = await api("/api/admin/users");
  byId("users").replaceChildren(h("div", { class: "table-box" }, h("table", { id: "users-table" },
    h("caption", {}, `${res.count} users`),
    h("thead", {}, h("tr", {}, ["Email", "Role", "Status", "Created", "Last sign-in", "Actions"].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, res.users.map((u) => {
      const reset = h("button", { type: "button", class: "secondary", "aria-label": `Reset MFA of ${u.email}` }, "Reset MFA");
      const disable = h("button", { type: "button", class: "danger", "aria-label": `Disable ${u.email}`, disabled: u.disabled || u.email === me.email }, "Disable");
      reset.addEventListener("click", () => run(reset, msg, async () => {
        if (!confirm(`Reset the MFA of ${u.email}? Their sessions end and they need the new code.`)) return;
        const p = await api(`/api/admin/users/${encodeURIComponent(u.email)}/reset-mfa`, { method: "POST" });
        provisioned(u.email, p.provisioning_uri);
        say(msg, `MFA reset for ${u.email}.`, "ok");
      }));
      disable.addEventListener("click", () => run(disable, msg, async () => {
        if (!confirm(`Disable ${u.email}? Their sessions end at once.`)) return;
        await api(`/api/admin/users/${encodeURIComponent(u.email)}`, { method: "DELETE" });
        say(msg, `Disabled ${u.email}.`, "ok");
        await load();
      }));
      return h("tr", {},
        h("th", { scope: "row" }, u.email),
        h("td", {}, u.role),
        h("td", {}, u.disabled ? "disabled" : "active"),
        h("td", {}, when(u.created_at)),
        h("td", {}, when(u.last_login_at)),
        h("td", {}, h("div", { class: "actions" }, reset, disable)));
    })))));
}

const form = byId("user-form");
form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  run(form.querySelector("button"), msg, async () => {
    const data = Object.fromEntries(new FormData(form));
    try {
      const p = await api("/api/admin/users", { method: "POST", body: data });
      markFields(form, []);
      form.reset();
      provisioned(p.email, p.provisioning_uri);
      say(msg, `Created ${p.email} (${p.role}).`, "ok");
    } catch (e) {
      if (e instanceof Problem) markFields(form, e.errors);
      throw e;
    }
    await load();
  });
});

byId("unblock-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = ev.currentTarget;
  run(f.querySelector("button"), msg, async () => {
    const ip = String(new FormData(f).get("ip") || "").trim();
    await api(`/api/admin/ip-blocks/${encodeURIComponent(ip)}`, { method: "DELETE" });
    say(msg, `Lifted the block on ${ip}.`, "ok");
  });
});

run(null, msg, load);
