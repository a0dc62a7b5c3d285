//! The term sheet as GitHub-flavoured Markdown: the same sections and figures as the PDF,
//! tables as GFM tables (numbers right-aligned).

use crate::sheet::{Body, TermSheet, DISCLAIMER};

/// Renders the term sheet.
pub fn render(sheet: &TermSheet) -> String {
    let mut out = String::new();
    out.push_str(&format!("# Term sheet: {}\n\n", escape(&sheet.title)));
    out.push_str(&format!("*{DISCLAIMER}.*\n"));
    for section in &sheet.sections {
        out.push_str(&format!("\n## {}\n\n", section.title));
        match &section.body {
            Body::Pairs(pairs) => {
                out.push_str("| Item | Value |\n|:--|--:|\n");
                for p in pairs {
                    out.push_str(&format!(
                        "| {} | {} |\n",
                        escape(&p.label),
                        escape(&p.value.render())
                    ));
                }
            }
            Body::Table(t) => {
                out.push_str(&row(t.header.iter().map(|h| escape(h))));
                let aligns = t
                    .rows
                    .first()
                    .map(|r| {
                        r.iter()
                            .map(|f| if f.is_numeric() { "--:" } else { ":--" })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_else(|| vec![":--"; t.header.len()]);
                out.push_str(&row(aligns.into_iter().map(String::from)));
                for r in &t.rows {
                    out.push_str(&row(r.iter().map(|f| escape(&f.render()))));
                }
            }
            Body::Lines(lines) => {
                for l in lines {
                    out.push_str(&format!("- {}\n", escape(l)));
                }
            }
        }
    }
    out.push_str(&format!("\n---\n\n*{DISCLAIMER}.*\n"));
    out
}

fn row(cells: impl Iterator<Item = String>) -> String {
    let cells: Vec<String> = cells.collect();
    format!("| {} |\n", cells.join(" | "))
}

/// Escapes what would break a table cell or start markup: pipes, backslashes, and the
/// characters GFM reads as emphasis or HTML.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '\\' | '*' | '_' | '`' | '<' | '>' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::london_export;
    use phase1_core::ruleset::Ruleset;

    #[test]
    fn every_section_and_figure_is_in_the_markdown() {
        let sheet = TermSheet::new(&london_export(1), Ruleset::v1()).unwrap();
        let md = render(&sheet);
        for s in &sheet.sections {
            assert!(md.contains(&s.title), "{}", s.title);
            let figures: Vec<String> = match &s.body {
                Body::Pairs(p) => p.iter().map(|p| p.value.render()).collect(),
                Body::Table(t) => t.rows.iter().flatten().map(|f| f.render()).collect(),
                Body::Lines(l) => l.clone(),
            };
            for f in figures {
                assert!(md.contains(&escape(&f)), "{f}");
            }
        }
        assert_eq!(md.matches(DISCLAIMER).count(), 2);
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(escape("a|b_c*d\ne"), "a\\|b\\_c\\*d e");
    }
}
