//! Phase-1 documents: what an analyst hands to a credit committee, an arranger or an
//! investor. Pure like `phase1-core`: a run document and a rank in, bytes out; no I/O, no
//! clock, no environment.
//!
//! - [`export`]: one ranked structure in full (the export JSON), the one source of figures;
//! - [`sheet`]: the term sheet as data, every figure typed by its [`number`] format;
//! - [`markdown`], `xlsx` (feature `xlsx`), `pdf` (feature `pdf`): the three renderings;
//! - [`csv`]: a run's top-N as CSV.
//!
//! The PDF and XLSX renderers are cargo features (on by default) because their dependency
//! trees are large; the HTTP app depends on this crate without them and is handed a
//! [`Render`] by the binaries that serve documents, so only those binaries link them.

pub mod csv;
pub mod export;
pub mod markdown;
pub mod number;
#[cfg(feature = "pdf")]
pub mod pdf;
pub mod sheet;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "xlsx")]
pub mod xlsx;

pub use export::{Export, ExportError};
pub use sheet::{SheetError, TermSheet};

use std::fmt;

/// A document format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// A4 PDF.
    Pdf,
    /// Office Open XML workbook.
    Xlsx,
    /// GitHub-flavoured Markdown.
    Markdown,
}

impl Format {
    /// Every format, in the order they are listed to users.
    pub const ALL: [Format; 3] = [Format::Pdf, Format::Xlsx, Format::Markdown];

    /// Parses `pdf`, `xlsx` or `md`.
    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.extension() == s)
    }

    /// The file extension, which is also the name the API and CLI take.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Xlsx => "xlsx",
            Format::Markdown => "md",
        }
    }

    /// The media type the document is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Markdown => "text/markdown; charset=utf-8",
        }
    }

    /// `pdf, xlsx, md`: for error messages.
    pub fn names() -> String {
        Format::ALL.map(Format::extension).join(", ")
    }
}

/// Why a document could not be rendered (a fault of the renderer or its template, never of
/// the caller's input).
#[derive(Debug, Clone, PartialEq)]
pub struct RenderError(pub String);

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rendering: {}", self.0)
    }
}

impl std::error::Error for RenderError {}

/// Renders term sheets. The binaries that serve documents hand a [`Renderer`] to the HTTP
/// app as this trait, so the app itself never links the PDF and XLSX libraries.
pub trait Render: Send + Sync {
    /// The document of `sheet` in `format`.
    fn render(&self, sheet: &TermSheet, format: Format) -> Result<Vec<u8>, RenderError>;
}

/// The renderer of every format.
#[cfg(all(feature = "pdf", feature = "xlsx"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct Renderer;

#[cfg(all(feature = "pdf", feature = "xlsx"))]
impl Render for Renderer {
    fn render(&self, sheet: &TermSheet, format: Format) -> Result<Vec<u8>, RenderError> {
        match format {
            Format::Pdf => pdf::render(sheet),
            Format::Xlsx => xlsx::render(sheet),
            Format::Markdown => Ok(markdown::render(sheet).into_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_by_extension() {
        assert_eq!(Format::parse("pdf"), Some(Format::Pdf));
        assert_eq!(Format::parse("md"), Some(Format::Markdown));
        assert_eq!(Format::parse("docx"), None);
        assert_eq!(Format::names(), "pdf, xlsx, md");
    }
}
