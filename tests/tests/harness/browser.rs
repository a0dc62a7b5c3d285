//! A real browser for the web UI tests: Debian's `chromium`, headless, driven over W3C
//! WebDriver by `chromedriver` (the same Debian source package, so their versions match)
//! through fantoccini. One browser at a time: the tests that use it hold [`BROWSER_LOCK`].
//!
//! Every screen a test visits is checked the same way ([`Browser::check_screen`]): no
//! Content-Security-Policy violation and no error in the browser console (both read from
//! chromedriver's browser log), axe-core with no serious or critical violation, and no
//! horizontal scroll of the page; a screenshot goes to `target/browser/`.

use super::cli::workspace_root;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Serialises the browser tests (two cores: one browser at a time).
pub static BROWSER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// axe-core, vendored (scripts/vendor.sh) and checked against its manifest.
const AXE: &str = include_str!("../../vendor/axe-4.14.1.min.js");

/// How long to wait for something to appear on a page.
pub const WAIT: Duration = Duration::from_secs(30);

/// A headless Chromium under chromedriver, closed and killed when dropped.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver: Child,
    driver_url: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
    /// Where screenshots go.
    pub shots: PathBuf,
}

fn chromedriver_bin() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

fn chromium_bin() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium at 1280×800.
    pub async fn start() -> Browser {
        let port = super::server::free_port();
        let driver = Command::new(chromedriver_bin())
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver ({}) does not start: {e}; scripts/test.sh installs \
                     chromium and chromium-driver",
                    chromedriver_bin()
                )
            });
        let driver_url = format!("http://127.0.0.1:{port}");
        let profile = tempfile::tempdir().expect("a profile directory");
        let caps = json!({
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": chromium_bin(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                    "--disable-features=Translate,OptimizationHints,MediaRouter",
                    "--window-size=1280,800",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let caps = caps.as_object().cloned().expect("an object");
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&driver_url)
                .await
            {
                Ok(c) => break c,
                Err(e) if started.elapsed() < WAIT => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("no WebDriver session at {driver_url}: {e}"),
            }
        };
        let shots = workspace_root().join("target").join("browser");
        std::fs::create_dir_all(&shots).expect("target/browser");
        Browser {
            client,
            driver,
            driver_url,
            http: reqwest::Client::new(),
            _profile: profile,
            shots,
        }
    }

    /// Opens `url` and waits for the page's main content to be drawn (`#main` holds more
    /// than its first heading, or `ready` matches).
    pub async fn open(&self, url: &str, ready: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        self.wait_for(ready).await;
    }

    /// Waits for an element matching the CSS selector; returns it.
    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(el) => el,
            Err(e) => {
                let url = self.client.current_url().await.map(|u| u.to_string());
                let main = self
                    .client
                    .execute(
                        "return document.body ? document.body.innerText : '';",
                        vec![],
                    )
                    .await
                    .unwrap_or(Value::Null);
                panic!("{css} did not appear on {url:?}: {e}\npage text: {main}")
            }
        }
    }

    /// Waits until `script` (a JavaScript expression) is truthy.
    pub async fn wait_until(&self, what: &str, script: &str) -> Value {
        let started = Instant::now();
        loop {
            let v = self
                .client
                .execute(&format!("return ({script});"), vec![])
                .await
                .unwrap_or(Value::Null);
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            assert!(
                started.elapsed() < WAIT,
                "waited {WAIT:?} for {what} ({script})"
            );
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Runs `script` (a function body) in the page and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// The text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// Types `text` into the input matching `css`, replacing what it held.
    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.wait_for(css).await;
        el.clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Types `text` (WebDriver key codes allowed) into whatever has the focus.
    pub async fn keys(&self, text: &str) {
        self.client
            .active_element()
            .await
            .expect("a focused element")
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into the focused element: {e}"));
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// The browser log since the last call: (level, message) pairs.
    pub async fn log(&self) -> Vec<(String, String)> {
        let id = self
            .client
            .session_id()
            .await
            .ok()
            .flatten()
            .expect("a session id");
        let reply: Value = self
            .http
            .post(format!("{}/session/{id}/se/log", self.driver_url))
            .json(&json!({"type": "browser"}))
            .send()
            .await
            .expect("the browser log")
            .json()
            .await
            .expect("the browser log as JSON");
        let entries = reply["value"]
            .as_array()
            .unwrap_or_else(|| panic!("chromedriver gave no browser log: {reply}"));
        entries
            .iter()
            .map(|e| {
                (
                    e["level"].as_str().unwrap_or("").to_string(),
                    e["message"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// Proves the checks can fail, on the page now open: a console error, an inline script
    /// the page's policy refuses, and a button without a name are each caught; then the page
    /// is reloaded and the log emptied.
    pub async fn self_test(&self) {
        self.log().await;
        self.js("console.error('harness-probe');
             const s = document.createElement('script'); s.textContent = 'window.__inline = 1;';
             document.head.append(s);
             const b = document.createElement('button'); b.id = 'harness-unnamed';
             document.body.append(b);
             return true;")
            .await;
        let ran_inline = self.js("return window.__inline === 1;").await;
        assert_eq!(
            ran_inline,
            json!(false),
            "the page's policy runs no inline script"
        );
        let lines = self.log().await;
        assert!(
            lines
                .iter()
                .any(|(l, m)| l == "SEVERE" && m.contains("harness-probe")),
            "the browser log shows console errors: {lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|(_, m)| m.contains("Content Security Policy")),
            "the browser log shows policy violations: {lines:?}"
        );
        let found = self.axe_violations("the self-test").await;
        assert!(
            found.iter().any(|v| v["id"] == "button-name"),
            "axe finds a button without a name: {found:?}"
        );
        self.client.refresh().await.expect("reload");
        self.log().await;
    }

    /// Asserts that the console holds no error and no Content-Security-Policy report since
    /// the last check.
    pub async fn assert_clean_console(&self, screen: &str) {
        let bad: Vec<_> = self
            .log()
            .await
            .into_iter()
            .filter(|(level, msg)| {
                level == "SEVERE"
                    || msg.contains("Content Security Policy")
                    || msg.contains("Content-Security-Policy")
            })
            .filter(|(_, msg)| !expected_console_line(msg))
            .collect();
        assert!(bad.is_empty(), "{screen}: the console has errors: {bad:#?}");
    }

    /// Runs axe-core on the page (injecting it when the page lacks it): every violation's
    /// id, impact, help and first nodes.
    async fn axe_violations(&self, screen: &str) -> Vec<Value> {
        let loaded = self
            .js("return typeof window.axe === 'object';")
            .await
            .as_bool()
            .unwrap_or(false);
        if !loaded {
            self.js(&format!("{AXE}\nreturn true;")).await;
        }
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                   .then(r => done(r.violations
                     .map(v => ({id: v.id, impact: v.impact, help: v.help,
                                 nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))))
                   .catch(e => done([{id: 'axe-failed', impact: 'critical', help: String(e)}]));",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("{screen}: axe did not run: {e}"));
        match found {
            Value::Array(v) => v,
            other => panic!("{screen}: axe answered {other}"),
        }
    }

    /// Runs axe-core on the page; asserts no serious or critical violation.
    pub async fn assert_accessible(&self, screen: &str) {
        let grave: Vec<Value> = self
            .axe_violations(screen)
            .await
            .into_iter()
            .filter(|v| v["impact"] == "serious" || v["impact"] == "critical")
            .collect();
        assert!(
            grave.is_empty(),
            "{screen}: axe-core found serious or critical violations: {grave:#?}"
        );
    }

    /// At 390×844 (a phone), opens each (url, ready selector, name): no sideways scroll, and
    /// a screenshot; then back to 1280×800.
    pub async fn at_phone_width(&self, screens: &[(String, &str, &str)]) {
        self.resize(390, 844).await;
        for (url, ready, name) in screens {
            self.open(url, ready).await;
            self.assert_no_sideways_scroll(name).await;
            self.screenshot(name).await;
        }
        self.resize(1280, 800).await;
    }

    /// Asserts the page does not scroll sideways (tables scroll in their own box).
    pub async fn assert_no_sideways_scroll(&self, screen: &str) {
        let v = self
            .js("return [document.documentElement.scrollWidth, window.innerWidth];")
            .await;
        let (scroll, inner) = (v[0].as_f64().unwrap_or(0.0), v[1].as_f64().unwrap_or(0.0));
        assert!(
            scroll <= inner + 1.0,
            "{screen}: the page scrolls sideways ({scroll} px wide in a {inner} px window)"
        );
    }

    /// The checks of every screen: console, accessibility, width; then a screenshot named
    /// `name` in target/browser/.
    pub async fn check_screen(&self, name: &str) {
        self.assert_no_sideways_scroll(name).await;
        self.assert_accessible(name).await;
        self.assert_clean_console(name).await;
        self.screenshot(name).await;
    }

    /// Saves a screenshot of the window as target/browser/{name}.png; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// Sets the window's size (1280×800 desktop, 390×844 phone).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize the window");
    }

    /// Closes the session and stops chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Console lines that are the browser's and not the page's: a 401 from the sign-in probe of
/// a page opened signed-out, and the 4xx answers a test provokes on purpose are logged by
/// Chromium as failed resource loads.
fn expected_console_line(msg: &str) -> bool {
    msg.contains("Failed to load resource: the server responded with a status of 4")
}
