// /login: email and password, then the 6-digit code; refusals explained with the time to wait.
import { api, Problem, waitWords } from "../api.js";
import { byId, markFields, run, say } from "../ui.js";

const loginForm = byId("login-form");
const mfaForm = byId("mfa-form");
const msg = byId("login-message");
let mfaToken = "";

/** Where to go after signing in: a same-site path from ?next=, else the projects. */
function next() {
  const n = new URLSearchParams(location.search).get("next") || "";
  return n.startsWith("/") && !n.startsWith("//") && !n.startsWith("/login") ? n : "/projects";
}

/** The sentence for a refused sign-in. */
function refusal(e) {
  if (!(e instanceof Problem)) return null;
  switch (e.code) {
    case "INVALID_CREDENTIALS":
      return "The email or the password is wrong. Check both and try again.";
    case "INVALID_MFA_CODE":
      return `That code was not accepted: codes change every 30 seconds and each works once. Enter the code your app shows now.${e.requestId ? ` (Request ${e.requestId}.)` : ""}`;
    case "MFA_TOKEN_INVALID":
      return "This sign-in has expired or had too many wrong codes. Start again with your email and password.";
    case "ACCOUNT_LOCKED":
      return `This account is locked after too many failed sign-ins.${e.retryAfter ? ` Try again in ${waitWords(e.retryAfter)}` : " Try again later"}, or ask an admin to lift the lock.`;
    case "RATE_LIMITED":
      return `Too many sign-in attempts from this address. Try again in ${waitWords(e.retryAfter || 60)}.`;
    case "IP_BLOCKED":
      return `This address is blocked after repeated rate-limit violations${e.retryAfter ? ` for another ${waitWords(e.retryAfter)}` : ""}. An operator can lift the block.`;
    default:
      return null;
  }
}

loginForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const data = Object.fromEntries(new FormData(loginForm));
  const missing = [];
  if (!data.email) missing.push({ field: "email", message: "Enter your email." });
  if (!data.password) missing.push({ field: "password", message: "Enter your password." });
  markFields(loginForm, missing);
  if (missing.length) return;
  await run(loginForm.querySelector("button[type=submit]"), null, async () => {
    try {
      const res = await api("/api/auth/login", { method: "POST", body: { email: data.email, password: data.password } });
      mfaToken = res.mfa_token;
      loginForm.hidden = true;
      mfaForm.hidden = false;
      say(msg, "Password accepted. Now the code from your authenticator app.", "info");
      byId("code").focus();
    } catch (e) {
      say(msg, refusal(e) || (e instanceof Problem ? e.sentence() : String(e)), "error");
    }
  });
});

mfaForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const code = String(new FormData(mfaForm).get("code") || "").trim();
  if (!/^[0-9]{6}$/.test(code)) {
    markFields(mfaForm, [{ field: "code", message: "The code is 6 digits." }]);
    return;
  }
  markFields(mfaForm, []);
  await run(mfaForm.querySelector("button[type=submit]"), null, async () => {
    try {
      await api("/api/auth/mfa", { method: "POST", body: { mfa_token: mfaToken, code } });
      say(msg, "Signed in.", "ok");
      location.assign(next());
    } catch (e) {
      say(msg, refusal(e) || (e instanceof Problem ? e.sentence() : String(e)), "error");
      if (e instanceof Problem && e.code === "MFA_TOKEN_INVALID") restart();
      else byId("code").select();
    }
  });
});

function restart() {
  mfaToken = "";
  mfaForm.reset();
  mfaForm.hidden = true;
  loginForm.hidden = false;
  byId("password").value = "";
  byId("email").focus();
}

byId("restart").addEventListener("click", () => {
  msg.textContent = "";
  msg.className = "message";
  restart();
});
byId("email").focus();
