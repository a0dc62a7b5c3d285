//! The term sheet as an XLSX workbook (rust_xlsxwriter): sheets Summary, Notes, Schedule (a
//! row per month), Annual (sums over Schedule as formulas, their results cached so a viewer
//! that does not recalculate shows the numbers), Stress, Rules and Provenance, with the
//! number formats of [`crate::number`], frozen header rows, widths fitted to the text, and a
//! line chart of the debt balance.

use crate::number::{Figure, AMOUNT_FORMAT, RATIO_FORMAT, YEARS_FORMAT};
use crate::sheet::{Body, Pair, Section, Table, TermSheet, DISCLAIMER};
use crate::RenderError;
use rust_xlsxwriter::{
    Chart, ChartType, DocProperties, ExcelDateTime, Format, FormatAlign, Formula, Workbook,
    Worksheet, XlsxError,
};
use std::collections::HashMap;

fn err(e: XlsxError) -> RenderError {
    RenderError(e.to_string())
}

/// Formats by number-format code, made once per workbook.
struct Styles {
    by_code: HashMap<&'static str, Format>,
    bold: Format,
    header: Format,
    title: Format,
}

impl Styles {
    fn new() -> Styles {
        Styles {
            by_code: HashMap::new(),
            bold: Format::new().set_bold(),
            header: Format::new()
                .set_bold()
                .set_background_color("#E8E8E8")
                .set_text_wrap()
                .set_align(FormatAlign::Top),
            title: Format::new().set_bold().set_font_size(14),
        }
    }

    fn of(&mut self, code: &'static str) -> Format {
        self.by_code
            .entry(code)
            .or_insert_with(|| Format::new().set_num_format(code))
            .clone()
    }
}

/// Column widths that fit the longest text seen, within bounds.
#[derive(Default)]
struct Widths(Vec<usize>);

impl Widths {
    fn see(&mut self, col: u16, text: &str) {
        let col = usize::from(col);
        if self.0.len() <= col {
            self.0.resize(col + 1, 0);
        }
        self.0[col] = self.0[col].max(text.chars().count());
    }

    fn apply(&self, ws: &mut Worksheet) -> Result<(), RenderError> {
        for (col, w) in self.0.iter().enumerate() {
            let width = (*w as f64 + 2.0).clamp(8.0, 70.0);
            ws.set_column_width(col as u16, width).map_err(err)?;
        }
        Ok(())
    }
}

fn write_figure(
    ws: &mut Worksheet,
    styles: &mut Styles,
    widths: &mut Widths,
    row: u32,
    col: u16,
    figure: &Figure,
) -> Result<(), RenderError> {
    widths.see(col, &figure.render());
    match figure.number() {
        Some(n) => {
            let format = styles.of(figure.excel_format());
            ws.write_number_with_format(row, col, n, &format)
                .map_err(err)?;
        }
        None => {
            ws.write_string(row, col, figure.render()).map_err(err)?;
        }
    }
    Ok(())
}

/// Writes a table with its header at `row`; returns the row after it.
fn write_table(
    ws: &mut Worksheet,
    styles: &mut Styles,
    widths: &mut Widths,
    row: u32,
    table: &Table,
) -> Result<u32, RenderError> {
    for (c, h) in table.header.iter().enumerate() {
        widths.see(c as u16, h.split(' ').max_by_key(|w| w.len()).unwrap_or(h));
        ws.write_string_with_format(row, c as u16, h, &styles.header)
            .map_err(err)?;
    }
    for (r, cells) in table.rows.iter().enumerate() {
        for (c, f) in cells.iter().enumerate() {
            write_figure(ws, styles, widths, row + 1 + r as u32, c as u16, f)?;
        }
    }
    Ok(row + 1 + table.rows.len() as u32)
}

/// Writes label–value pairs under a heading at `row`; returns the row after them.
fn write_pairs(
    ws: &mut Worksheet,
    styles: &mut Styles,
    widths: &mut Widths,
    row: u32,
    title: &str,
    pairs: &[Pair],
) -> Result<u32, RenderError> {
    ws.write_string_with_format(row, 0, title, &styles.bold)
        .map_err(err)?;
    for (i, p) in pairs.iter().enumerate() {
        let r = row + 1 + i as u32;
        widths.see(0, &p.label);
        ws.write_string(r, 0, &p.label).map_err(err)?;
        write_figure(ws, styles, widths, r, 1, &p.value)?;
    }
    Ok(row + 1 + pairs.len() as u32)
}

fn new_sheet<'a>(
    wb: &'a mut Workbook,
    name: &str,
    sheet: &TermSheet,
) -> Result<&'a mut Worksheet, RenderError> {
    let ws = wb.add_worksheet();
    ws.set_name(name).map_err(err)?;
    ws.set_header(format!("&C&\"-,Bold\"{DISCLAIMER}"));
    ws.set_footer(format!(
        "&L{} &RPage &P of &N",
        sheet.file_stem.replace('&', "&&")
    ));
    ws.set_paper_size(9);
    Ok(ws)
}

fn body<'a>(sheet: &'a TermSheet, key: &str) -> Option<&'a Section> {
    sheet.section(key)
}

fn pairs_of<'a>(sheet: &'a TermSheet, key: &str) -> (&'a str, &'a [Pair]) {
    match body(sheet, key) {
        Some(Section {
            title,
            body: Body::Pairs(p),
            ..
        }) => (title.as_str(), p.as_slice()),
        _ => ("", &[]),
    }
}

fn table_of<'a>(sheet: &'a TermSheet, key: &str) -> Option<&'a Table> {
    match body(sheet, key) {
        Some(Section {
            body: Body::Table(t),
            ..
        }) => Some(t),
        _ => None,
    }
}

/// Monthly schedule columns: (header, value of a row).
type Column = (&'static str, fn(&phase1_core::document::ScheduleRow) -> f64);

fn schedule_columns(mezz: bool) -> Vec<Column> {
    let mut cols: Vec<Column> = vec![
        ("CFADS", |r| r.cfads),
        ("Senior interest", |r| r.senior_interest),
        ("Senior wrap fee", |r| r.senior_wrap_fee),
        ("Senior principal", |r| r.senior_principal),
        ("Senior debt service", |r| r.senior_ds),
        ("Senior balance", |r| r.senior_balance),
    ];
    if mezz {
        cols.extend::<[Column; 4]>([
            ("Mezz interest", |r| r.mezz_interest.unwrap_or(0.0)),
            ("Mezz principal", |r| r.mezz_principal.unwrap_or(0.0)),
            ("Mezz debt service", |r| r.mezz_ds.unwrap_or(0.0)),
            ("Mezz balance", |r| r.mezz_balance.unwrap_or(0.0)),
        ]);
    }
    cols
}

/// Spreadsheet column letters of a 0-based column.
fn letter(col: u16) -> String {
    let mut n = u32::from(col) + 1;
    let mut s = Vec::new();
    while n > 0 {
        let r = ((n - 1) % 26) as u8;
        s.push(b'A' + r);
        n = (n - 1) / 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// A cached formula result, written so that it reads back as the same f64.
fn cached(v: f64) -> String {
    format!("{v}")
}

/// Renders the workbook.
pub fn render(sheet: &TermSheet) -> Result<Vec<u8>, RenderError> {
    let mut wb = Workbook::new();
    let mut styles = Styles::new();
    let (y, m, d) = {
        let p: Vec<u16> = sheet
            .date
            .split('-')
            .filter_map(|s| s.parse().ok())
            .collect();
        match p.as_slice() {
            [y, m, d] => (*y, *m as u8, *d as u8),
            _ => return Err(RenderError(format!("bad date {}", sheet.date))),
        }
    };
    let created = ExcelDateTime::from_ymd(y, m, d).map_err(err)?;
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!("Term sheet: {}", sheet.title))
            .set_author("Phase-1")
            .set_comment(DISCLAIMER)
            .set_creation_datetime(&created),
    );

    // Summary.
    {
        let ws = new_sheet(&mut wb, "Summary", sheet)?;
        let mut widths = Widths::default();
        ws.write_string_with_format(0, 0, format!("Term sheet: {}", sheet.title), &styles.title)
            .map_err(err)?;
        ws.write_string_with_format(1, 0, DISCLAIMER, &styles.bold)
            .map_err(err)?;
        let (title, pairs) = pairs_of(sheet, "summary");
        let next = write_pairs(ws, &mut styles, &mut widths, 3, title, pairs)?;
        let (title, pairs) = pairs_of(sheet, "features");
        write_pairs(ws, &mut styles, &mut widths, next + 1, title, pairs)?;
        widths.apply(ws)?;
        ws.set_column_width(0, 44).map_err(err)?;
    }

    // Notes, Stress, Rules: the tables as in the PDF.
    for (name, key) in [("Notes", "notes"), ("Stress", "stress"), ("Rules", "rules")] {
        let ws = new_sheet(&mut wb, name, sheet)?;
        let mut widths = Widths::default();
        if let Some(t) = table_of(sheet, key) {
            let next = write_table(ws, &mut styles, &mut widths, 0, t)?;
            if key == "rules" {
                if let Some(Section {
                    title,
                    body: Body::Lines(lines),
                    ..
                }) = body(sheet, "hints")
                {
                    ws.write_string_with_format(next + 1, 0, title.as_str(), &styles.bold)
                        .map_err(err)?;
                    for (i, l) in lines.iter().enumerate() {
                        ws.write_string(next + 2 + i as u32, 0, l).map_err(err)?;
                    }
                }
            }
        }
        ws.set_freeze_panes(1, 1).map_err(err)?;
        widths.apply(ws)?;
    }

    // Schedule: one row per month, exactly the export's values.
    let columns = schedule_columns(sheet.mezz_on);
    {
        let ws = new_sheet(&mut wb, "Schedule", sheet)?;
        let amount = styles.of(AMOUNT_FORMAT);
        let years = styles.of(YEARS_FORMAT);
        ws.write_string_with_format(0, 0, "Month", &styles.header)
            .map_err(err)?;
        ws.write_string_with_format(0, 1, "Year", &styles.header)
            .map_err(err)?;
        for (c, (h, _)) in columns.iter().enumerate() {
            ws.write_string_with_format(
                0,
                2 + c as u16,
                format!("{h} ({})", sheet.currency),
                &styles.header,
            )
            .map_err(err)?;
        }
        for (i, r) in sheet.schedule.iter().enumerate() {
            let row = 1 + i as u32;
            ws.write_number_with_format(row, 0, f64::from(r.t), &years)
                .map_err(err)?;
            ws.write_number_with_format(row, 1, f64::from((r.t - 1) / 12 + 1), &years)
                .map_err(err)?;
            for (c, (_, get)) in columns.iter().enumerate() {
                ws.write_number_with_format(row, 2 + c as u16, get(r), &amount)
                    .map_err(err)?;
            }
        }
        ws.set_freeze_panes(1, 2).map_err(err)?;
        ws.set_column_width(0, 8).map_err(err)?;
        ws.set_column_width(1, 8).map_err(err)?;
        for c in 0..columns.len() {
            ws.set_column_width(2 + c as u16, 22).map_err(err)?;
        }
    }

    // Annual: SUMIFS over Schedule by year; balances at the year's last month; DSCR as a
    // ratio of the sums. Every formula carries its result.
    {
        let ws = new_sheet(&mut wb, "Annual", sheet)?;
        let amount = styles.of(AMOUNT_FORMAT);
        let ratio = styles.of(RATIO_FORMAT);
        let years = styles.of(YEARS_FORMAT);
        let n = sheet.schedule.len() as u32 + 1;
        let mut header = vec!["Year".to_string()];
        header.extend(
            columns
                .iter()
                .map(|(h, _)| format!("{h} ({})", sheet.currency)),
        );
        header.push("Senior DSCR".into());
        if sheet.mezz_on {
            header.push("Combined DSCR".into());
        }
        for (c, h) in header.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &styles.header)
                .map_err(err)?;
        }
        let balance_cols: Vec<usize> = columns
            .iter()
            .enumerate()
            .filter(|(_, (h, _))| h.ends_with("balance"))
            .map(|(i, _)| i)
            .collect();
        for (i, (a, (year, months))) in sheet
            .annual
            .iter()
            .zip(crate::sheet::years(&sheet.schedule))
            .enumerate()
        {
            debug_assert_eq!(a.year, year);
            let row = 1 + i as u32;
            let excel_row = row + 1;
            ws.write_number_with_format(row, 0, f64::from(year), &years)
                .map_err(err)?;
            let last_row = months.last().map_or(1, |r| r.t + 1);
            for (c, (_, get)) in columns.iter().enumerate() {
                let src = letter(2 + c as u16);
                let (formula, value) = if balance_cols.contains(&c) {
                    (
                        format!("=Schedule!{src}{last_row}"),
                        months.last().map_or(0.0, get),
                    )
                } else {
                    (
                        format!("=SUMIFS(Schedule!${src}$2:${src}${n},Schedule!$B$2:$B${n},$A{excel_row})"),
                        months.iter().map(get).sum(),
                    )
                };
                ws.write_formula_with_format(
                    row,
                    1 + c as u16,
                    Formula::new(formula).set_result(cached(value)),
                    &amount,
                )
                .map_err(err)?;
            }
            // CFADS is column B; senior debt service is the fifth schedule column.
            let ds_col = letter(1 + 4);
            let dscr_col = 1 + columns.len() as u16;
            ws.write_formula_with_format(
                row,
                dscr_col,
                Formula::new(format!("=B{excel_row}/{ds_col}{excel_row}"))
                    .set_result(cached(a.dscr)),
                &ratio,
            )
            .map_err(err)?;
            if let Some(mz) = &a.mezz {
                let mezz_ds_col = letter(1 + 8);
                ws.write_formula_with_format(
                    row,
                    dscr_col + 1,
                    Formula::new(format!(
                        "=B{excel_row}/({ds_col}{excel_row}+{mezz_ds_col}{excel_row})"
                    ))
                    .set_result(cached(mz.combined_dscr)),
                    &ratio,
                )
                .map_err(err)?;
            }
        }
        ws.set_freeze_panes(1, 1).map_err(err)?;
        ws.set_column_width(0, 8).map_err(err)?;
        for c in 1..header.len() {
            ws.set_column_width(c as u16, 22).map_err(err)?;
        }
        let last = sheet.annual.len() as u32;
        let mut chart = Chart::new(ChartType::Line);
        let title = format!("Debt balance at each year end ({})", sheet.currency);
        chart.title().set_name(&title);
        for c in balance_cols {
            let col = 1 + c as u16;
            chart
                .add_series()
                .set_name(("Annual", 0, col))
                .set_categories(("Annual", 1, 0, last, 0))
                .set_values(("Annual", 1, col, last, col));
        }
        chart.x_axis().set_name("Year");
        chart.y_axis().set_num_format(AMOUNT_FORMAT);
        ws.insert_chart(last + 2, 1, &chart).map_err(err)?;
    }

    // Provenance.
    {
        let ws = new_sheet(&mut wb, "Provenance", sheet)?;
        let mut widths = Widths::default();
        let (title, pairs) = pairs_of(sheet, "header");
        let next = write_pairs(ws, &mut styles, &mut widths, 0, title, pairs)?;
        ws.write_string_with_format(next + 1, 0, DISCLAIMER, &styles.bold)
            .map_err(err)?;
        widths.apply(ws)?;
    }

    wb.save_to_buffer().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(letter(0), "A");
        assert_eq!(letter(25), "Z");
        assert_eq!(letter(26), "AA");
        assert_eq!(letter(27), "AB");
    }
}
