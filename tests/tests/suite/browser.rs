//! The web UI in a real browser (headless Debian chromium under chromedriver), against a
//! spawned `phase1 serve` on the embedded store: an analyst's day and an operator's, with
//! every screen checked for console errors, Content-Security-Policy reports, axe-core
//! serious or critical violations and sideways scrolling. Screenshots: target/browser/.

use super::{london_project, Env};
use crate::harness::browser::{Browser, BROWSER_LOCK};
use crate::harness::cli::cli_run;
use crate::harness::signin::User;
use crate::harness::Backend;
use serde_json::{json, Value};

/// WebDriver's Tab and Enter keys.
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// Generous limits: every request of the browser comes from 127.0.0.1.
const LIMITS: &str = "auth=1000,users=1000,run=1000,flags=1000,api=100000";

/// Signs in through /login with the password and a real TOTP code; lands on `lands`.
async fn sign_in(b: &Browser, base: &str, user: &User, lands: &str) {
    b.open(&format!("{base}/login"), "#login-form").await;
    b.fill("#email", &user.email).await;
    b.fill("#password", &user.password).await;
    b.click("#login-form button[type=submit]").await;
    b.wait_until(
        "the code form",
        "!document.getElementById('mfa-form').hidden",
    )
    .await;
    let (code, _) = user.code();
    b.fill("#code", &code).await;
    b.click("#mfa-form button[type=submit]").await;
    b.wait_for(lands).await;
}

/// Whether the canvas `id` has anything drawn on it (a non-transparent pixel).
async fn drawn(b: &Browser, id: &str) {
    b.wait_until(
        &format!("a chart drawn on #{id}"),
        &format!(
            "(() => {{ const c = document.getElementById('{id}'); if (!c || !c.width) return false;
               const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
               for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true; return false; }})()"
        ),
    )
    .await;
}

/// The texts of one column of the table `#table` (`n`: 1-based cell index).
async fn column(b: &Browser, table: &str, n: usize) -> Vec<String> {
    let v = b
        .js(&format!(
            "return [...document.querySelectorAll('#{table} tbody tr')].map(r => r.children[{}].textContent.trim());",
            n - 1
        ))
        .await;
    serde_json::from_value(v).expect("a column of texts")
}

/// Parses a shown ratio or percentage ("1.35x", "62.5%") as a number.
fn number(text: &str) -> f64 {
    text.trim_end_matches(['x', '%', 'm'])
        .trim_start_matches(['£', '€', '$'])
        .replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("{text:?} is not a number"))
}

/// Types the london-dc-alpha project into the form, with `pue` as given.
async fn type_london(b: &Browser, pue: &str) {
    let p = london_project();
    for (name, v) in p.as_object().expect("a project") {
        let css = format!("#f-{name}");
        match (name.as_str(), v) {
            ("pue", _) => b.fill(&css, pue).await,
            (_, Value::String(s)) => {
                let el = b.wait_for(&css).await;
                if el.attr("type").await.ok().flatten().is_some() {
                    b.fill(&css, s).await;
                } else {
                    el.select_by_value(s)
                        .await
                        .unwrap_or_else(|e| panic!("{name} = {s}: {e}"));
                }
            }
            (_, Value::Bool(true)) => b.click(&css).await,
            (_, Value::Bool(false)) => {}
            (_, other) => b.fill(&css, &other.to_string()).await,
        }
    }
}

/// Sets a choice lever's check boxes to exactly `on` (indices of its values).
async fn choose(b: &Browser, lever: &str, on: &[usize], count: usize) {
    for i in 0..count {
        let css = format!("#{lever}-{i}");
        b.wait_for(&css).await;
        let checked = b
            .js(&format!(
                "return document.getElementById('{lever}-{i}').checked;"
            ))
            .await
            == json!(true);
        if checked != on.contains(&i) {
            b.click(&css).await;
        }
    }
}

/// A numeric lever as min, max and step.
async fn range(b: &Browser, lever: &str, min: &str, max: &str, step: &str) {
    b.wait_for(&format!("#{lever}-mode"))
        .await
        .select_by_value("range")
        .await
        .expect("the range mode");
    b.fill(&format!("#{lever}-min"), min).await;
    b.fill(&format!("#{lever}-max"), max).await;
    b.fill(&format!("#{lever}-step"), step).await;
}

/// A numeric lever as a list.
async fn list(b: &Browser, lever: &str, values: &str) {
    b.wait_for(&format!("#{lever}-mode"))
        .await
        .select_by_value("list")
        .await
        .expect("the list mode");
    b.fill(&format!("#{lever}"), values).await;
}

/// An analyst's day: first sign-in with a real TOTP code; a project with an invalid PUE shows
/// the error at the field, then fixed and saved; london-dc-alpha's grid set in the run form
/// and run to its results (the same top as `phase1 run`); the table sorted by mouse and by
/// keyboard; the charts drawn; two structures compared; rank 1 opened with its charts and its
/// PDF; the phone width; and /ops kept from the analyst.
pub async fn web_ui_analyst() {
    let _one_browser = BROWSER_LOCK.lock().await;
    let env = Env::start(Backend::Embedded, &[("PHASE1_RATE_LIMITS", LIMITS)]);
    let base = env.base().to_string();
    let analyst = User::create(&env.admin, "analyst").await;
    let b = Browser::start().await;

    // Signed out, the root goes to sign-in.
    b.open(&format!("{base}/"), "#login-form").await;
    b.self_test().await;
    b.wait_for("#login-form").await;
    b.check_screen("login").await;
    sign_in(&b, &base, &analyst, "#projects-table tbody tr").await;
    b.wait_until(
        "the signed-in user",
        &format!("document.body.innerText.includes('{}')", analyst.email),
    )
    .await;
    b.check_screen("projects").await;

    // A new project: PUE 3.5 is refused at the field, 1.25 is accepted.
    b.click("a[href='/projects/new']").await;
    b.wait_for("#f-title").await;
    type_london(&b, "3.5").await;
    b.wait_until(
        "the PUE error",
        "document.getElementById('f-pue').getAttribute('aria-invalid') === 'true'",
    )
    .await;
    let error = b.text("#f-pue-error").await;
    assert!(
        error.contains("3"),
        "the PUE error names the bound: {error:?}"
    );
    let described = b
        .js("return document.getElementById('f-pue').getAttribute('aria-describedby');")
        .await;
    assert!(
        described.as_str().unwrap_or("").contains("f-pue-error"),
        "{described}"
    );
    b.check_screen("project-invalid").await;
    b.fill("#f-pue", "1.25").await;
    b.wait_until(
        "the PUE accepted",
        "!document.getElementById('f-pue').hasAttribute('aria-invalid')",
    )
    .await;
    b.wait_until(
        "the derived preview",
        "(document.getElementById('derived-net_it_load_mw') || {}).textContent === '60 MW'",
    )
    .await;
    b.click("#save").await;
    b.wait_for("form[name=run] #start-run").await;
    let project_url = b.client.current_url().await.expect("a URL").to_string();
    assert!(project_url.contains("/projects/"), "{project_url}");
    b.wait_until(
        "the first cardinality",
        "/structures in the grid/.test(document.getElementById('cardinality').textContent)",
    )
    .await;
    b.check_screen("project").await;

    // The london-dc-alpha grid, lever by lever.
    b.wait_for("#preset")
        .await
        .select_by_value("")
        .await
        .expect("no preset");
    list(&b, "senior_tenor", "10, 12, 15, 20").await;
    range(&b, "senior_coupon", "0.04", "0.0625", "0.0025").await;
    range(&b, "senior_dscr", "1.20", "1.45", "0.05").await;
    choose(&b, "senior_amort", &[0], 2).await;
    choose(&b, "indexation_mode", &[0, 1], 2).await;
    list(&b, "zcis_tenor_years", "3, 5, 7, 10").await;
    choose(&b, "mezz_on", &[0], 2).await;
    choose(&b, "wrap", &[0], 2).await;
    b.wait_until(
        "1,920 structures",
        "document.getElementById('cardinality').textContent.startsWith('1,920 structures')",
    )
    .await;
    b.click("#start-run").await;
    b.wait_for("#top-table tbody tr a").await;
    let run_url = b.client.current_url().await.expect("a URL").to_string();
    let run_id = run_url.rsplit('/').next().expect("a run id").to_string();
    drawn(&b, "tier-chart").await;
    drawn(&b, "binding-chart").await;
    b.check_screen("run").await;
    b.js("document.getElementById('top-title').scrollIntoView(); return true;")
        .await;
    b.screenshot("run-top").await;

    // The same top as the command line's run of the fixture.
    let cli = cli_run("london-dc-alpha");
    let want: Vec<String> = cli["top"]
        .as_array()
        .expect("a top")
        .iter()
        .map(|s| format!("{:.1}", s["score"]["total"].as_f64().expect("a score")))
        .collect();
    assert_eq!(
        column(&b, "top-table", 4).await,
        want,
        "scores of the top, rank order"
    );

    // Sorted by minimum DSCR (mouse), then by rank descending (keyboard).
    b.click("#top-table th[data-key=min_dscr] button").await;
    let sorted = b.js("return document.querySelector('#top-table th[data-key=min_dscr]').getAttribute('aria-sort');").await;
    assert_eq!(sorted, json!("ascending"));
    let dscr: Vec<f64> = column(&b, "top-table", 7)
        .await
        .iter()
        .map(|t| number(t))
        .collect();
    assert!(
        dscr.windows(2).all(|w| w[0] <= w[1]),
        "ascending min DSCR: {dscr:?}"
    );
    let rank_button = b.wait_for("#top-table th[data-key=rank] button").await;
    rank_button.send_keys(ENTER).await.expect("Enter sorts");
    rank_button
        .send_keys(ENTER)
        .await
        .expect("Enter sorts again");
    let ranks = column(&b, "top-table", 2).await;
    assert_eq!(
        ranks.first().map(String::as_str),
        Some(format!("#{}", want.len()).as_str()),
        "{ranks:?}"
    );
    assert_eq!(
        b.js("return document.querySelector('#top-table th[data-key=rank]').getAttribute('aria-sort');").await,
        json!("descending")
    );

    // Two structures compared.
    b.click("input[name=compare][value='1']").await;
    b.click("input[name=compare][value='2']").await;
    b.click("#compare").await;
    b.wait_for("#compare-table tbody tr").await;
    let differing = b
        .js("return document.querySelectorAll('#compare-table tr.diff').length;")
        .await;
    assert!(
        differing.as_u64().unwrap_or(0) > 0,
        "ranks 1 and 2 differ somewhere"
    );
    b.check_screen("compare").await;

    // Rank 1: its charts drawn, its PDF downloaded with the session.
    b.open(&format!("{base}/runs/{run_id}/structures/1"), "#dscr-chart")
        .await;
    for id in ["balance-chart", "cfads-chart", "dscr-chart"] {
        drawn(&b, id).await;
    }
    let pdf = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.getElementById('download-pdf').href, {credentials: 'same-origin'})
               .then(async r => done([r.status, r.headers.get('content-type'),
                 String.fromCharCode(...new Uint8Array(await r.arrayBuffer()).slice(0, 4))]))
               .catch(e => done(String(e)));",
            vec![],
        )
        .await
        .expect("the PDF fetch");
    assert_eq!(pdf, json!([200, "application/pdf", "%PDF"]));
    b.check_screen("structure").await;
    b.js("document.getElementById('balance-chart').scrollIntoView(); return true;")
        .await;
    b.screenshot("structure-charts").await;

    // Phone width: no sideways scroll on the busiest screens.
    b.at_phone_width(&[
        (
            format!("{base}/runs/{run_id}"),
            "#top-table tbody tr a",
            "run-phone",
        ),
        (
            format!("{base}/runs/{run_id}/structures/1"),
            "#dscr-chart",
            "structure-phone",
        ),
        (project_url.clone(), "#start-run", "project-phone"),
    ])
    .await;

    // The runs list, and operators' screens kept from the analyst.
    b.open(&format!("{base}/runs"), "#runs-table tbody tr a")
        .await;
    b.check_screen("runs").await;
    b.open(&format!("{base}/ops"), "#main .message.error").await;
    let text = b.text("#main").await;
    assert!(text.contains("Not permitted"), "{text}");
    b.check_screen("ops-analyst").await;
    b.close().await;
}

/// An operator's day: sign-in; the dashboard; a flag write on a stale version resolved
/// through the conflict message; the audit log, monitors and users screens (a new user's QR
/// code); then the emergency rollback with its measured time to recovery.
pub async fn web_ui_operator() {
    let _one_browser = BROWSER_LOCK.lock().await;
    let env = Env::start(Backend::Embedded, &[("PHASE1_RATE_LIMITS", LIMITS)]);
    let base = env.base().to_string();
    let admin = User::create(&env.admin, "admin").await;
    let b = Browser::start().await;

    // Keyboard only: the sign-in page focuses the email; Tab, Enter, then the code and Enter.
    b.open(&format!("{base}/login"), "#login-form").await;
    b.wait_until(
        "the email focused",
        "document.activeElement && document.activeElement.id === 'email'",
    )
    .await;
    b.keys(&format!("{}{TAB}{}{ENTER}", admin.email, admin.password))
        .await;
    b.wait_until(
        "the code focused",
        "document.activeElement && document.activeElement.id === 'code'",
    )
    .await;
    b.keys(&format!("{}{ENTER}", admin.code().0)).await;
    b.wait_for("#projects-table tbody tr").await;

    b.open(&format!("{base}/ops"), "#status-tiles li").await;
    b.wait_for("#decision").await;
    b.check_screen("ops").await;
    b.at_phone_width(&[
        (format!("{base}/ops"), "#status-tiles li", "ops-phone"),
        (
            format!("{base}/ops/flags"),
            "#flag-docs_exports",
            "ops-flags-phone",
        ),
    ])
    .await;

    // The screen reads the flags; someone else writes meanwhile; our write is refused as
    // stale, shown as what changed, and retried on the new version.
    b.open(&format!("{base}/ops/flags"), "#flag-docs_exports")
        .await;
    b.check_screen("ops-flags").await;
    let version = env.admin.get("/api/phase1/flags").await.expect(200)["version"].clone();
    env.admin
        .send(
            env.admin
                .request(reqwest::Method::POST, "/api/phase1/flags")
                .header("if-match", version.to_string())
                .json(&json!({"changes": {"gates_ab": {"rollout_percentage": 50}}})),
        )
        .await
        .expect(200);
    b.fill("#docs_exports-rollout_percentage", "90").await;
    b.click("#flag-docs_exports button[type=submit]").await;
    b.wait_for("#conflict-message").await;
    let conflict = b.text("#conflict-message").await;
    assert!(
        conflict.contains("gates_ab"),
        "the conflict names what changed: {conflict}"
    );
    b.check_screen("ops-flags-conflict").await;
    b.click("#retry").await;
    b.wait_until(
        "the retried write",
        "document.getElementById('ops-message').textContent.startsWith('Saved docs_exports')",
    )
    .await;
    let flags = env.admin.get("/api/phase1/flags").await;
    let flags = &flags.expect(200)["flags"];
    assert_eq!(flags["docs_exports"]["rollout_percentage"], 90, "{flags}");
    assert_eq!(flags["gates_ab"]["rollout_percentage"], 50, "{flags}");

    // The evaluation tool.
    b.fill("#eval-email", "someone@example.com").await;
    b.click("#evaluate-form button[type=submit]").await;
    b.wait_until(
        "the evaluation",
        "document.querySelectorAll('#evaluation tbody tr').length >= 7",
    )
    .await;

    for (path, ready, name) in [
        ("/ops/audit", "#audit-table tbody tr", "ops-audit"),
        ("/ops/monitors", "#synthetic > *", "ops-monitors"),
        ("/ops/users", "#users-table tbody tr", "ops-users"),
    ] {
        b.open(&format!("{base}{path}"), ready).await;
        b.check_screen(name).await;
    }
    b.fill("#user-email", "new.analyst@example.com").await;
    b.fill("#user-password", "a long enough password for the test")
        .await;
    b.click("#user-form button[type=submit]").await;
    b.wait_for("#provisioning svg path").await;
    let uri = b
        .js("return document.getElementById('provisioning-uri').textContent;")
        .await;
    assert!(
        uri.as_str().unwrap_or("").starts_with("otpauth://totp/"),
        "{uri}"
    );
    b.check_screen("ops-users-created").await;

    // The emergency rollback, confirmed in its dialog.
    b.open(&format!("{base}/ops"), "#status-tiles li").await;
    b.click("#rollback").await;
    b.fill("#rollback-reason", "browser test of the emergency rollback")
        .await;
    b.click("#rollback-confirm").await;
    b.wait_until(
        "the rollback result",
        "document.getElementById('rollback-result').textContent.includes('Time to recovery')",
    )
    .await;
    let flags = env.admin.get("/api/phase1/flags").await;
    let flags = flags.expect(200)["flags"].clone();
    for (name, f) in flags.as_object().expect("flags") {
        assert_eq!(f["enabled"], false, "{name} after the rollback: {f}");
    }
    b.check_screen("ops-rolled-back").await;
    b.close().await;
}
