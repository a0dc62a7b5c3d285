//! Number formats, stated once: every figure on a term sheet is a [`Figure`], and each
//! renderer asks it for its text (Markdown, PDF) or for its value and spreadsheet format code
//! (XLSX). The two forms agree: a viewer showing the XLSX cell shows the Markdown text.
//!
//! - amounts: the project's currency, whole units, thousands separators (never rounded to
//!   millions): `395,123,457`;
//! - rates: percentages with two decimals: `4.25%`;
//! - ratios: two decimals and `x`: `1.35x`;
//! - years: integers: `20`; a WAL is a duration in years with two decimals: `8.37 years`;
//! - basis points: integers: `25 bps`; scores: two decimals.

/// One figure of a document, typed by how it is shown.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    /// An amount in the project's currency.
    Amount(f64),
    /// A rate or share, shown as a percentage.
    Rate(f64),
    /// A cover ratio (DSCR, LLCR).
    Ratio(f64),
    /// A whole number of years (tenor, year number), signed for headroom.
    Years(i64),
    /// A duration in years (WAL).
    Duration(f64),
    /// Basis points.
    Bps(f64),
    /// A score out of 100.
    Score(f64),
    /// A count.
    Count(u64),
    /// Words.
    Text(String),
}

impl Figure {
    /// Text, for `&str` and `String` alike.
    pub fn text(s: impl Into<String>) -> Figure {
        Figure::Text(s.into())
    }

    /// The figure as shown in text documents.
    pub fn render(&self) -> String {
        match self {
            Figure::Amount(v) => amount(*v),
            Figure::Rate(v) => rate(*v),
            Figure::Ratio(v) => ratio(*v),
            Figure::Years(v) => v.to_string(),
            Figure::Duration(v) => format!("{} years", fixed2(*v)),
            Figure::Bps(v) => format!("{} bps", whole(*v)),
            Figure::Score(v) => fixed2(*v),
            Figure::Count(v) => group(&v.to_string()),
            Figure::Text(s) => s.clone(),
        }
    }

    /// The number a spreadsheet cell holds (rates as fractions, as the format shows them as
    /// percentages), or `None` for text.
    pub fn number(&self) -> Option<f64> {
        match self {
            Figure::Amount(v)
            | Figure::Rate(v)
            | Figure::Ratio(v)
            | Figure::Duration(v)
            | Figure::Bps(v)
            | Figure::Score(v) => Some(*v),
            Figure::Years(v) => Some(*v as f64),
            Figure::Count(v) => Some(*v as f64),
            Figure::Text(_) => None,
        }
    }

    /// The spreadsheet number format that shows [`Figure::number`] as [`Figure::render`]
    /// does.
    pub fn excel_format(&self) -> &'static str {
        match self {
            Figure::Amount(_) | Figure::Count(_) => AMOUNT_FORMAT,
            Figure::Rate(_) => RATE_FORMAT,
            Figure::Ratio(_) => RATIO_FORMAT,
            Figure::Years(_) => YEARS_FORMAT,
            Figure::Duration(_) => DURATION_FORMAT,
            Figure::Bps(_) => BPS_FORMAT,
            Figure::Score(_) => SCORE_FORMAT,
            Figure::Text(_) => "@",
        }
    }

    /// Whether the figure is a number (right-aligned in tables).
    pub fn is_numeric(&self) -> bool {
        !matches!(self, Figure::Text(_))
    }
}

/// Spreadsheet format of amounts.
pub const AMOUNT_FORMAT: &str = "#,##0";
/// Spreadsheet format of rates.
pub const RATE_FORMAT: &str = "0.00%";
/// Spreadsheet format of ratios.
pub const RATIO_FORMAT: &str = "0.00\"x\"";
/// Spreadsheet format of whole years.
pub const YEARS_FORMAT: &str = "0";
/// Spreadsheet format of durations in years.
pub const DURATION_FORMAT: &str = "0.00\" years\"";
/// Spreadsheet format of basis points.
pub const BPS_FORMAT: &str = "0\" bps\"";
/// Spreadsheet format of scores.
pub const SCORE_FORMAT: &str = "0.00";

/// `1234567.5` → `1,234,568` (whole units, half away from zero).
pub fn amount(v: f64) -> String {
    let rounded = v.round();
    let sign = if rounded < 0.0 { "-" } else { "" };
    format!("{sign}{}", group(&format!("{:.0}", rounded.abs())))
}

/// `0.0425` → `4.25%`.
pub fn rate(v: f64) -> String {
    format!("{}%", fixed2(v * 100.0))
}

/// `1.3456` → `1.35x`.
pub fn ratio(v: f64) -> String {
    format!("{}x", fixed2(v))
}

/// Two decimals, without a negative zero.
fn fixed2(v: f64) -> String {
    let s = format!("{v:.2}");
    if s == "-0.00" {
        "0.00".into()
    } else {
        s
    }
}

/// A whole number, without a negative zero.
fn whole(v: f64) -> String {
    let s = format!("{v:.0}");
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// Thousands separators on a string of digits.
fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_whole_units_with_separators() {
        assert_eq!(amount(395_123_456.5), "395,123,457");
        assert_eq!(amount(999.4), "999");
        assert_eq!(amount(1000.0), "1,000");
        assert_eq!(amount(-1_234_567.0), "-1,234,567");
        assert_eq!(amount(-0.2), "0");
        assert_eq!(amount(0.0), "0");
    }

    #[test]
    fn rates_ratios_and_the_rest() {
        assert_eq!(rate(0.0425), "4.25%");
        assert_eq!(rate(-0.00001), "0.00%");
        assert_eq!(ratio(1.345_000_1), "1.35x");
        assert_eq!(Figure::Years(-3).render(), "-3");
        assert_eq!(Figure::Duration(8.371).render(), "8.37 years");
        assert_eq!(Figure::Bps(25.0).render(), "25 bps");
        assert_eq!(Figure::Count(1_920).render(), "1,920");
        assert_eq!(Figure::Score(87.534).render(), "87.53");
    }

    #[test]
    fn spreadsheet_forms_match_the_text() {
        assert_eq!(Figure::Rate(0.05).number(), Some(0.05));
        assert_eq!(Figure::Rate(0.05).excel_format(), "0.00%");
        assert_eq!(Figure::Years(20).number(), Some(20.0));
        assert_eq!(Figure::text("x").number(), None);
        assert!(!Figure::text("x").is_numeric());
    }
}
