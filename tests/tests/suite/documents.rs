//! Term sheets and the top-N CSV over HTTP: the documents, their headers, their figures
//! against the export JSON (formatted here independently of the server's code), every error,
//! the flag, other analysts, and the command line giving the same figures.

use super::{run_id, Env};
use crate::harness::{cli, Api, Auth, Backend};
use reqwest::Method;
use serde_json::{json, Value};

/// An amount as the term sheets show it: whole units with thousands separators.
fn amount(v: &Value) -> String {
    let n = v.as_f64().expect("an amount").round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn ratio(v: &Value) -> String {
    format!("{:.2}x", v.as_f64().expect("a ratio"))
}

fn rate(v: &Value) -> String {
    format!("{:.2}%", v.as_f64().expect("a rate") * 100.0)
}

const TERM_SHEET: &str = "/api/phase1/documents/term-sheet";

/// Sends a request and reads the body as bytes (documents are not text).
async fn bytes(
    api: &Api,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut rb = api.request(method, path);
    if let Some(b) = body {
        rb = rb.json(b);
    }
    let res = rb.send().await.expect("the server answers");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (
        status,
        headers,
        res.bytes().await.expect("the body reads").to_vec(),
    )
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Every figure of the term sheet that the export JSON holds, as the sheet formats it.
fn export_figures(export: &Value) -> Vec<String> {
    let s = &export["structure"];
    let p = &export["provenance"];
    let mut out = vec![
        export["project"]["title"].as_str().unwrap().to_string(),
        s["permutation_id"].as_str().unwrap().to_string(),
        p["ruleset"]["hash"].as_str().unwrap().to_string(),
        p["engine_version"].as_str().unwrap().to_string(),
        p["seed"].to_string(),
        amount(&export["derived"]["funding_need"]),
        amount(&export["derived"]["market_value"]),
        amount(&s["senior"]["amount"]),
        amount(&s["equity"]),
        amount(&s["debt"]),
        amount(&s["day_one_value"]["total"]),
        amount(&s["sidecar"]["net"]),
        rate(&s["senior"]["ltv"]),
        rate(&s["coverage"]),
        ratio(&s["senior"]["min_dscr"]),
        ratio(&s["senior"]["avg_dscr"]),
        ratio(&s["senior"]["llcr"]),
        format!("{:.2} years", s["senior"]["wal"].as_f64().unwrap()),
        rate(&s["levers"]["senior_coupon"]),
        s["rating"]["unwrapped"].as_str().unwrap().to_string(),
        s["tier"].as_str().unwrap().to_string(),
        format!("{:.2}", s["score"]["total"].as_f64().unwrap()),
        rate(&export["project"]["cpi_floor"]),
        rate(&export["project"]["cpi_cap"]),
        rate(&export["project"]["zcis_rate"]),
        rate(&export["project"]["sidecar_haircut_pct"]),
        rate(&export["project"]["sidecar_discount_rate"]),
    ];
    for key in ["cpi_0", "cpi_1_8", "opex_plus_10", "rent_minus_10"] {
        out.push(ratio(&s["stress"][key]));
    }
    // The first year of the schedule, summed here from the export's months.
    let months = export["schedule"].as_array().unwrap();
    let sum = |k: &str| {
        json!(months[..12]
            .iter()
            .map(|m| m[k].as_f64().unwrap())
            .sum::<f64>())
    };
    out.push(amount(&sum("cfads")));
    out.push(amount(&sum("senior_interest")));
    out.push(amount(&months[11]["senior_balance"]));
    out
}

/// The term sheets of a run in all three formats, their headers and figures.
pub async fn term_sheets(backend: Backend) {
    let env = Env::start(backend, &[]);
    let (_, auth) = Auth::analyst();
    let analyst = env.client(auth);
    let ran = analyst
        .post("/api/phase1/run", &json!({"fixture": "london-dc-alpha"}))
        .await;
    let id = run_id(ran.expect(200));
    let export = analyst
        .get(&format!("/api/phase1/securitisation/export/2?run_id={id}"))
        .await
        .expect(200)
        .clone();

    // Markdown by POST: without run_id, the caller's latest finished run.
    let md = analyst
        .post(TERM_SHEET, &json!({"structure_rank": 2, "format": "md"}))
        .await;
    md.expect(200);
    assert_eq!(
        md.header("content-type"),
        Some("text/markdown; charset=utf-8")
    );
    assert_eq!(
        md.header("content-disposition"),
        Some(
            format!(
                "attachment; filename=\"london-dc-alpha-{}-rank2.md\"",
                &id[..8]
            )
            .as_str()
        )
    );
    for figure in export_figures(&export) {
        assert!(md.text.contains(&figure), "the Markdown lacks {figure:?}");
    }
    assert!(md.text.contains(&id), "the run id");
    let finished = export["provenance"]["finished_at"].as_str().unwrap();
    assert!(md.text.contains(&finished[..10]), "the run's finish date");
    assert!(md
        .text
        .contains("Indicative terms for discussion; not an offer"));

    // PDF: the default format; the same document by POST and by URL, byte for byte.
    let (status, h, pdf) = bytes(
        &analyst,
        Method::POST,
        TERM_SHEET,
        Some(&json!({"run_id": id, "structure_rank": 2})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-type"), "application/pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    let by_url = format!("/api/phase1/runs/{id}/structures/2/term-sheet.pdf");
    let (status, _, again) = bytes(&analyst, Method::GET, &by_url, None).await;
    assert_eq!(status, 200);
    assert!(pdf == again, "the same run gives the same PDF bytes");

    // XLSX by URL.
    let (status, h, xlsx) = bytes(
        &analyst,
        Method::GET,
        &format!("/api/phase1/runs/{id}/structures/1/term-sheet.xlsx"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&h, "content-type"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(
        header(&h, "content-disposition"),
        format!(
            "attachment; filename=\"london-dc-alpha-{}-rank1.xlsx\"",
            &id[..8]
        )
    );
    assert!(xlsx.starts_with(b"PK"), "an OOXML package is a ZIP");

    // The top-N as CSV: a header and one row per ranked structure.
    let csv = analyst.get(&format!("/api/phase1/runs/{id}/top.csv")).await;
    csv.expect(200);
    assert!(csv
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/csv")));
    let top = analyst
        .get(&format!("/api/phase1/securitisation/top20?run_id={id}"))
        .await
        .expect(200)["top_20"]
        .as_array()
        .unwrap()
        .clone();
    let lines: Vec<&str> = csv.text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), top.len() + 1, "{}", csv.text);
    assert!(lines[0].starts_with("rank,permutation_id,index,senior_tenor,senior_coupon"));
    assert!(lines[2].starts_with(&format!(
        "2,{},",
        top[1]["permutation_id"].as_str().unwrap()
    )));

    // The command line gives the same figures: the Markdown equals the HTTP one but for the
    // run id and the finish date.
    let out = std::process::Command::new(cli::phase1_bin())
        .args([
            "term-sheet",
            "fixtures/london-dc-alpha.json",
            "--rank",
            "2",
            "--format",
            "md",
        ])
        .current_dir(cli::workspace_root())
        .env_clear()
        .output()
        .expect("phase1 term-sheet starts");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_cli = String::from_utf8(out.stdout).unwrap();
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("| Run id |") && !l.starts_with("| Run finished |"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&from_cli), strip(&md.text));
}

/// Every error of the document routes, as problem documents.
pub async fn term_sheet_errors(backend: Backend) {
    let env = Env::start(backend, &[]);
    let (_, auth) = Auth::analyst();
    let analyst = env.client(auth);
    // Before any run: no finished run to default to.
    analyst
        .post(TERM_SHEET, &json!({}))
        .await
        .expect_problem(404, "NOT_FOUND");
    let ran = analyst
        .post("/api/phase1/run", &json!({"fixture": "small", "topn": 3}))
        .await;
    let id = run_id(ran.expect(200));

    // Unknown run.
    analyst
        .get("/api/phase1/runs/no-such-run/structures/1/term-sheet.pdf")
        .await
        .expect_problem(404, "NOT_FOUND");
    analyst
        .post(TERM_SHEET, &json!({"run_id": "no-such-run"}))
        .await
        .expect_problem(404, "NOT_FOUND");
    analyst
        .get("/api/phase1/runs/no-such-run/top.csv")
        .await
        .expect_problem(404, "NOT_FOUND");

    // A rank outside the top-N (3 here).
    for r in [
        analyst
            .get(&format!("/api/phase1/runs/{id}/structures/4/term-sheet.md"))
            .await,
        analyst
            .post(TERM_SHEET, &json!({"run_id": id, "structure_rank": 4}))
            .await,
    ] {
        r.expect_problem(404, "NOT_FOUND");
        assert_eq!(r.error_fields(), ["structure_rank"]);
        assert!(
            r.json["detail"].as_str().unwrap().contains("ranks 1 to 3"),
            "{}",
            r.text
        );
    }
    // Not an integer of at least 1.
    for rank in [json!(0), json!(-1), json!(1.5), json!("1")] {
        let r = analyst
            .post(TERM_SHEET, &json!({"run_id": id, "structure_rank": rank}))
            .await;
        r.expect_problem(422, "VALIDATION_FAILED");
        assert_eq!(r.error_fields(), ["structure_rank"], "{rank}");
    }

    // An unknown format names the field and lists the formats.
    for r in [
        analyst
            .get(&format!(
                "/api/phase1/runs/{id}/structures/1/term-sheet.docx"
            ))
            .await,
        analyst
            .post(TERM_SHEET, &json!({"run_id": id, "format": "docx"}))
            .await,
    ] {
        r.expect_problem(422, "VALIDATION_FAILED");
        assert_eq!(r.error_fields(), ["format"]);
        let message = r.json["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("pdf, xlsx, md"), "{message}");
    }
    // Other documents than term sheets are not there; unknown fields are named.
    analyst
        .get(&format!(
            "/api/phase1/runs/{id}/structures/1/prospectus.pdf"
        ))
        .await
        .expect_problem(404, "NOT_FOUND");
    let r = analyst
        .post(TERM_SHEET, &json!({"run_id": id, "colour": "blue"}))
        .await;
    r.expect_problem(422, "VALIDATION_FAILED");
    assert_eq!(r.error_fields(), ["colour"]);

    // Another analyst cannot reach this one's run; an admin can.
    let (_, other) = Auth::analyst();
    let other = env.client(other);
    other
        .get(&format!("/api/phase1/runs/{id}/structures/1/term-sheet.md"))
        .await
        .expect_problem(404, "NOT_FOUND");
    other
        .post(TERM_SHEET, &json!({"run_id": id, "format": "md"}))
        .await
        .expect_problem(404, "NOT_FOUND");
    other
        .get(&format!("/api/phase1/runs/{id}/top.csv"))
        .await
        .expect_problem(404, "NOT_FOUND");
    env.admin
        .get(&format!("/api/phase1/runs/{id}/structures/1/term-sheet.md"))
        .await
        .expect(200);

    // The flag: docs_exports off → 403 FEATURE_DISABLED naming it; the CSV needs only the core.
    let admin = &env.admin;
    let version = admin
        .get("/api/phase1/flags")
        .await
        .header("etag")
        .unwrap()
        .to_string();
    admin
        .send(
            admin
                .request(Method::POST, "/api/phase1/flags")
                .header("if-match", version)
                .json(&json!({"changes": {"docs_exports": false}})),
        )
        .await
        .expect(200);
    for r in [
        analyst
            .get(&format!("/api/phase1/runs/{id}/structures/1/term-sheet.md"))
            .await,
        analyst.post(TERM_SHEET, &json!({"run_id": id})).await,
    ] {
        let p = r.expect_problem(403, "FEATURE_DISABLED");
        assert!(
            p["detail"].as_str().unwrap().contains("docs_exports"),
            "{p}"
        );
    }
    analyst
        .get(&format!("/api/phase1/runs/{id}/top.csv"))
        .await
        .expect(200);
}
