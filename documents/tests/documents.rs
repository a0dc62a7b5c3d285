//! The rendered documents, read back with independent tools: poppler's `pdftotext`,
//! `pdffonts` and `pdfinfo` for the PDF (scripts/test.sh installs poppler-utils), calamine
//! for the XLSX.

use calamine::{Data, Reader, Xlsx};
use phase1_core::ruleset::Ruleset;
use phase1_documents::sheet::{Body, TermSheet, DISCLAIMER};
use phase1_documents::testing::{forty_year_export, london_export};
use phase1_documents::{Export, Format, Render, Renderer};
use std::io::Cursor;
use std::path::Path;
use std::process::Command;

fn sheet(export: &Export) -> TermSheet {
    TermSheet::new(export, Ruleset::v1()).unwrap()
}

/// Runs a poppler tool on `pdf`; its stdout.
fn poppler(tool: &str, args: &[&str], pdf: &Path) -> String {
    let out = Command::new(tool)
        .args(args)
        .arg(pdf)
        .args(if tool == "pdftotext" {
            &["-"][..]
        } else {
            &[][..]
        })
        .output()
        .unwrap_or_else(|e| {
            panic!("{tool} not runnable ({e}): install poppler-utils (scripts/test.sh does)")
        });
    assert!(
        out.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every figure of every section, as rendered.
fn figures(sheet: &TermSheet) -> Vec<String> {
    let mut out = Vec::new();
    for s in &sheet.sections {
        out.push(s.title.to_string());
        match &s.body {
            Body::Pairs(p) => {
                for p in p {
                    out.push(p.label.clone());
                    out.push(p.value.render());
                }
            }
            Body::Table(t) => {
                out.extend(t.header.iter().cloned());
                out.extend(t.rows.iter().flatten().map(|f| f.render()));
            }
            Body::Lines(l) => out.extend(l.iter().cloned()),
        }
    }
    out.retain(|f| !f.is_empty());
    out
}

fn write_pdf(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn check_pdf(export: &Export) {
    let sheet = sheet(export);
    let pdf = Renderer.render(&sheet, Format::Pdf).unwrap();
    let (_dir, path) = write_pdf("sheet.pdf", &pdf);
    let text = squash(&poppler("pdftotext", &[], &path));
    for figure in figures(&sheet) {
        assert!(
            text.contains(&squash(&figure)),
            "{}: the PDF text lacks {figure:?}",
            sheet.file_stem
        );
    }
    let info = poppler("pdfinfo", &[], &path);
    let pages = page_count(&info);
    assert!((2..=6).contains(&pages), "{pages} pages");
    assert!(info.contains("Tagged:          yes"), "{info}");
    assert!(info.contains("A4"), "{info}");
    assert_eq!(
        text.matches(DISCLAIMER).count() as u32,
        pages,
        "the disclaimer on every page"
    );
    assert!(text.contains(&format!("Page {pages} of {pages}")));
    let fonts = poppler("pdffonts", &[], &path);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in rows {
        assert!(row.contains("DejaVuSansCondensed"), "{row}");
        let cols: Vec<&str> = row.split_whitespace().collect();
        // name type [encoding] emb sub uni object ID: "emb" is the fifth column from the end.
        assert_eq!(cols[cols.len() - 5], "yes", "not embedded: {row}");
    }
    // The same term sheet gives the same bytes.
    assert_eq!(Renderer.render(&sheet, Format::Pdf).unwrap(), pdf);
}

#[test]
fn the_pdf_holds_every_figure_embeds_its_fonts_and_is_reproducible() {
    check_pdf(&london_export(1));
}

#[test]
fn a_forty_year_schedule_with_mezzanine_and_wrap_holds_every_figure() {
    check_pdf(&forty_year_export());
}

#[test]
fn a_table_that_breaks_across_pages_repeats_its_header() {
    let mut sheet = sheet(&forty_year_export());
    let annual = sheet
        .sections
        .iter_mut()
        .find(|s| s.key == "annual")
        .unwrap();
    let Body::Table(t) = &mut annual.body else {
        panic!("the annual section is a table")
    };
    let rows = t.rows.clone();
    for _ in 0..2 {
        t.rows.extend(rows.iter().cloned());
    }
    let pdf = Renderer.render(&sheet, Format::Pdf).unwrap();
    let (_dir, path) = write_pdf("long.pdf", &pdf);
    let info = poppler("pdfinfo", &[], &path);
    let text = poppler("pdftotext", &[], &path);
    let pages = page_count(&info) as usize;
    // The table takes every page after the charts; each of them opens with its header
    // ("Combined DSCR" is a header of this table only).
    let page = |n: usize| {
        let n = n.to_string();
        poppler("pdftotext", &["-f", &n, "-l", &n], &path)
    };
    let charts = (1..=pages)
        .find(|n| page(*n).contains("Chart 2"))
        .expect("a page with the charts");
    assert!(
        pages - charts >= 2,
        "the table spans {} pages",
        pages - charts
    );
    for n in charts + 1..=pages {
        assert!(
            page(n).contains("Combined DSCR"),
            "page {n} has no header row"
        );
    }
    assert_eq!(text.matches("Combined DSCR").count(), pages - charts);
}

fn xlsx(export: &Export) -> (TermSheet, Xlsx<Cursor<Vec<u8>>>) {
    let sheet = sheet(export);
    let bytes = Renderer.render(&sheet, Format::Xlsx).unwrap();
    let book = Xlsx::new(Cursor::new(bytes)).unwrap();
    (sheet, book)
}

fn number(d: Option<&Data>) -> f64 {
    match d {
        Some(Data::Float(f)) => *f,
        Some(Data::Int(i)) => *i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

#[test]
fn the_workbook_reads_back_as_the_export() {
    for export in [london_export(1), forty_year_export()] {
        let (sheet, mut book) = xlsx(&export);
        assert_eq!(
            book.sheet_names(),
            [
                "Summary",
                "Notes",
                "Stress",
                "Rules",
                "Schedule",
                "Annual",
                "Provenance"
            ]
        );
        let json = export.to_json();
        let schedule = book.worksheet_range("Schedule").unwrap();
        let rows = json["schedule"].as_array().unwrap();
        assert_eq!(schedule.height(), rows.len() + 1);
        let mut keys = vec![
            "cfads",
            "senior_interest",
            "senior_wrap_fee",
            "senior_principal",
            "senior_ds",
            "senior_balance",
        ];
        if sheet.mezz_on {
            keys.extend(["mezz_interest", "mezz_principal", "mezz_ds", "mezz_balance"]);
        }
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(number(schedule.get((i + 1, 0))), row["t"].as_f64().unwrap());
            for (c, key) in keys.iter().enumerate() {
                assert_eq!(
                    number(schedule.get((i + 1, 2 + c))),
                    row[*key].as_f64().unwrap(),
                    "month {} {key}",
                    i + 1
                );
            }
        }
        // Annual: formulas over Schedule, with their results cached.
        let values = book.worksheet_range("Annual").unwrap();
        let formulas = book.worksheet_formula("Annual").unwrap();
        assert!(
            values.height() > sheet.annual.len(),
            "a header and a row per year"
        );
        for (i, a) in sheet.annual.iter().enumerate() {
            let r = i + 1;
            let at = |c: usize| number(values.get_value((r as u32, c as u32)));
            assert_eq!(at(1), a.cfads);
            assert_eq!(at(4), a.senior_principal);
            assert_eq!(at(6), a.senior_balance);
            assert_eq!(at(1 + keys.len()), a.dscr);
            if let Some(m) = &a.mezz {
                assert_eq!(at(10), m.balance);
                assert_eq!(at(2 + keys.len()), m.combined_dscr);
            }
            let formula = |c: usize| formulas.get_value((r as u32, c as u32)).unwrap();
            let cfads = formula(1);
            assert!(cfads.starts_with("SUMIFS(Schedule!$C$2"), "{cfads}");
            assert_eq!(formula(6), &format!("Schedule!H{}", 12 * a.year + 1));
            let dscr = formula(1 + keys.len());
            assert_eq!(dscr, &format!("B{}/F{}", r + 1, r + 1));
        }
        let months: f64 = rows.iter().map(|r| r["cfads"].as_f64().unwrap()).sum();
        let years: f64 = sheet.annual.iter().map(|a| a.cfads).sum();
        assert!((months - years).abs() <= 1e-6 * months);
        // The summary carries the same figures as the other formats.
        let summary = book.worksheet_range("Summary").unwrap();
        let senior = json["structure"]["senior"]["amount"].as_f64().unwrap();
        assert!(summary.rows().any(|r| r
            .first()
            .is_some_and(|c| c.to_string().starts_with("Senior notes"))
            && r.get(1) == Some(&Data::Float(senior))));
    }
}

#[test]
fn markdown_is_text_with_the_same_figures() {
    let sheet = sheet(&london_export(2));
    let md = String::from_utf8(Renderer.render(&sheet, Format::Markdown).unwrap()).unwrap();
    assert!(md.starts_with("# Term sheet: London DC Alpha"));
    for s in &sheet.sections {
        assert!(md.contains(&format!("## {}", s.title)));
    }
    let senior = sheet
        .section("summary")
        .and_then(|s| match &s.body {
            Body::Pairs(p) => p.iter().find(|p| p.label.starts_with("Senior notes")),
            _ => None,
        })
        .unwrap();
    assert!(md.contains(&format!("| {} |", senior.value.render())));
}

#[test]
#[ignore = "writes target/term-sheet-*.pdf for a person to look at"]
fn write_samples() {
    for (name, export) in [("london", london_export(1)), ("forty", forty_year_export())] {
        let sheet = sheet(&export);
        for format in Format::ALL {
            let bytes = Renderer.render(&sheet, format).unwrap();
            let path = format!(
                "{}/../target/term-sheet-{name}.{}",
                env!("CARGO_MANIFEST_DIR"),
                format.extension()
            );
            std::fs::write(path, bytes).unwrap();
        }
    }
}

/// The page count `pdfinfo` printed.
fn page_count(info: &str) -> u32 {
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .expect("pdfinfo prints Pages:")
        .trim()
        .parse()
        .expect("a page count")
}
