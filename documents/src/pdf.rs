//! The term sheet as an A4 PDF, typeset by typst used as a library.
//!
//! The layout is one template (`termsheet.typ`, compiled in); the figures reach it as a
//! virtual `/data.json` file, already formatted by [`crate::number`], so the template never
//! formats a number and never has a number concatenated into its markup. Fonts are the
//! DejaVu Sans Condensed faces shipped in `documents/fonts/` (Bitstream Vera licence),
//! embedded in the binary: no system font is read, nothing is downloaded, and no typst
//! package is imported. The charts are drawn with typst's own shapes, so they are vector
//! graphics. The output is byte-identical for the same term sheet: the document date is the
//! run's finish date, and the PDF identifier derives from the file name.

use crate::number::{amount, ratio};
use crate::sheet::{Body, Charts, TermSheet, DISCLAIMER};
use crate::RenderError;
use serde_json::{json, Value};
use std::sync::LazyLock;
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

/// typst memoises layout across compilations; entries unused for this many documents go.
const EVICT_AFTER: usize = 4;

/// The template.
const TEMPLATE: &str = include_str!("termsheet.typ");

/// The embedded font files.
const FONT_FILES: [&[u8]; 2] = [
    include_bytes!("../fonts/DejaVuSansCondensed.ttf"),
    include_bytes!("../fonts/DejaVuSansCondensed-Bold.ttf"),
];

/// The standard library and the fonts, built once per process.
static SHARED: LazyLock<Shared> = LazyLock::new(|| {
    let fonts: Vec<Font> = FONT_FILES
        .iter()
        .flat_map(|data| Font::iter(Bytes::new(*data)))
        .collect();
    Shared {
        library: LazyHash::new(Library::default()),
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
    }
});

struct Shared {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

/// One compilation: the template and the data file.
struct Sheet {
    main: FileId,
    data: FileId,
    source: Source,
    json: Bytes,
    today: Datetime,
}

fn file_id(path: &str) -> FileId {
    let vpath = VirtualPath::new(path).expect("a constant, valid virtual path");
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

impl World for Sheet {
    fn library(&self) -> &LazyHash<Library> {
        &SHARED.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &SHARED.book
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main {
            Ok(self.source.clone())
        } else {
            Err(FileError::NotSource)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.data {
            Ok(self.json.clone())
        } else if id == self.main {
            Ok(Bytes::from_string(self.source.clone()))
        } else {
            Err(FileError::NotFound(format!("{:?}", id.vpath()).into()))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        SHARED.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}

/// Renders the PDF.
pub fn render(sheet: &TermSheet) -> Result<Vec<u8>, RenderError> {
    let (year, month, day) = ymd(&sheet.date)?;
    let today = Datetime::from_ymd(year, month, day)
        .ok_or_else(|| RenderError(format!("bad date {}", sheet.date)))?;
    let data = serde_json::to_vec(&data(sheet, (year, month, day)))
        .map_err(|e| RenderError(e.to_string()))?;
    let main = file_id("/termsheet.typ");
    let world = Sheet {
        main,
        data: file_id("/data.json"),
        source: Source::new(main, TEMPLATE.to_string()),
        json: Bytes::new(data),
        today,
    };
    let compiled = typst::compile::<PagedDocument>(&world).output;
    // Memoised results of older documents are never reused: keep the last few only.
    comemo::evict(EVICT_AFTER);
    let document = compiled.map_err(|errors| RenderError(diagnostics(&errors)))?;
    let options = typst_pdf::PdfOptions {
        ident: Smart::Custom(sheet.file_stem.clone()),
        creator: Smart::Custom(Some("Phase-1".into())),
        timestamp: None,
        ..Default::default()
    };
    typst_pdf::pdf(&document, &options).map_err(|errors| RenderError(diagnostics(&errors)))
}

fn diagnostics(errors: &[typst::diag::SourceDiagnostic]) -> String {
    errors
        .iter()
        .map(|e| e.message.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

fn ymd(date: &str) -> Result<(i32, u8, u8), RenderError> {
    let bad = || RenderError(format!("bad date {date}"));
    let mut parts = date.splitn(3, '-');
    let mut next = || parts.next().ok_or_else(bad);
    let y = next()?.parse().map_err(|_| bad())?;
    let m = next()?.parse().map_err(|_| bad())?;
    let d = next()?.parse().map_err(|_| bad())?;
    Ok((y, m, d))
}

/// The template's input: every cell as text, with whether it is a number (right-aligned).
fn data(sheet: &TermSheet, (year, month, day): (i32, u8, u8)) -> Value {
    let sections: Vec<Value> = sheet
        .sections
        .iter()
        .map(|s| match &s.body {
            Body::Pairs(pairs) => json!({
                "key": s.key,
                "title": s.title,
                "kind": "pairs",
                "rows": pairs.iter().map(|p| json!([p.label, p.value.render()])).collect::<Vec<_>>(),
            }),
            Body::Table(t) => json!({
                "key": s.key,
                "title": s.title,
                "kind": "table",
                "header": t.header,
                "numeric": t.rows.first().map(|r| r.iter().map(|f| f.is_numeric()).collect::<Vec<_>>())
                    .unwrap_or_default(),
                "rows": t.rows.iter().map(|r| r.iter().map(|f| f.render()).collect::<Vec<_>>()).collect::<Vec<_>>(),
            }),
            Body::Lines(lines) => json!({
                "key": s.key,
                "title": s.title,
                "kind": "lines",
                "rows": lines,
            }),
        })
        .collect();
    json!({
        "title": sheet.title,
        "currency": sheet.currency,
        "stem": sheet.file_stem,
        "disclaimer": DISCLAIMER,
        "date": {"year": year, "month": month, "day": day},
        "sections": sections,
        "charts": charts(&sheet.charts, sheet.currency),
    })
}

/// Rounds `max` up to a step of 1, 2 or 5 times a power of ten, so that four ticks land on
/// round numbers.
fn nice_ceiling(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let raw = max / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    step * 4.0
}

/// (year, senior balance, mezzanine balance).
type BalanceYear = (u32, f64, Option<f64>);

/// Chart geometry as fractions of the plot area (x right, y up), with tick labels.
fn charts(c: &Charts, currency: &str) -> Value {
    let last_year = c.balance.last().map_or(1, |b| b.0).max(1) as f64;
    let top = nice_ceiling(
        c.balance
            .iter()
            .map(|(_, s, m)| s.max(m.unwrap_or(0.0)))
            .fold(0.0, f64::max),
    );
    let x = |year: u32| f64::from(year) / last_year;
    let line = |pick: &dyn Fn(&BalanceYear) -> Option<f64>| -> Vec<Value> {
        c.balance
            .iter()
            .filter_map(|b| pick(b).map(|v| json!([x(b.0), (v / top).clamp(0.0, 1.0)])))
            .collect()
    };
    let mut series = vec![json!({"name": "Senior", "points": line(&|b| Some(b.1)), "dash": false})];
    if c.balance.first().is_some_and(|b| b.2.is_some()) {
        series.push(json!({"name": "Mezzanine", "points": line(&|b| b.2), "dash": true}));
    }
    let xticks = |years: &[u32], offset: f64| -> Vec<Value> {
        let step = ((years.len() as f64) / 8.0).ceil().max(1.0) as usize;
        years
            .iter()
            .enumerate()
            .filter(|(i, _)| i % step == 0 || *i == years.len() - 1)
            .map(|(_, y)| json!({"pos": x(*y) - offset, "label": y.to_string()}))
            .collect()
    };
    let balance_years: Vec<u32> = c.balance.iter().map(|b| b.0).collect();
    let dscr_top = nice_ceiling(c.dscr.iter().map(|d| d.1).fold(c.floor, f64::max) * 1.1);
    let n = c.dscr.len().max(1) as f64;
    let slot = 1.0 / n;
    let bars: Vec<Value> = c
        .dscr
        .iter()
        .enumerate()
        .map(|(i, (_, v))| {
            json!({"x": i as f64 * slot + slot * 0.15, "w": slot * 0.7, "h": (v / dscr_top).clamp(0.0, 1.0)})
        })
        .collect();
    let dscr_years: Vec<Value> = c
        .dscr
        .iter()
        .enumerate()
        .filter(|(i, _)| i % (((n / 10.0).ceil()) as usize).max(1) == 0)
        .map(|(i, (y, _))| json!({"pos": (i as f64 + 0.5) * slot, "label": y.to_string()}))
        .collect();
    json!({
        "balance": {
            "title": format!("Debt balance at each year end ({currency})"),
            "series": series,
            "yticks": (0..=4).map(|i| json!({"pos": f64::from(i) / 4.0, "label": amount(top * f64::from(i) / 4.0)})).collect::<Vec<_>>(),
            "xticks": xticks(&balance_years, 0.0),
        },
        "dscr": {
            "title": format!("Senior DSCR by year against the floor of {}", ratio(c.floor)),
            "bars": bars,
            "floor": (c.floor / dscr_top).clamp(0.0, 1.0),
            "floor_label": format!("floor {}", ratio(c.floor)),
            "yticks": (0..=4).map(|i| json!({"pos": f64::from(i) / 4.0, "label": ratio(dscr_top * f64::from(i) / 4.0)})).collect::<Vec<_>>(),
            "xticks": dscr_years,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceilings_are_round() {
        assert_eq!(nice_ceiling(395_000_000.0), 400_000_000.0);
        assert_eq!(nice_ceiling(1.62), 2.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
    }

    #[test]
    fn dates_parse() {
        assert_eq!(ymd("2026-12-01").unwrap(), (2026, 12, 1));
        assert!(ymd("2026-xx-01").is_err());
    }
}
