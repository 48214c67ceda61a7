//! Problems found in a scenario file, each at the line and column of the
//! text as written: [`Problem`], [`ScenarioError`] and the [`Validator`]
//! that collects them.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::super::env::Expanded;
use crate::{parse_duration, Expectation};

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// Where in the document (`claims[2].expect`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// A scenario file that cannot be used: every problem found, with its
/// position. Displays as `file:line:col: path: message`, one per line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The file, as given.
    pub file: PathBuf,
    /// The problems, in document order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let file = self.file.display();
            if p.path.is_empty() {
                write!(f, "{file}:{}:{}: {}", p.line, p.column, p.message)?;
            } else {
                write!(
                    f,
                    "{file}:{}:{}: {}: {}",
                    p.line, p.column, p.path, p.message
                )?;
            }
        }
        Ok(())
    }
}

/// Line and column (1-based, characters) of byte `offset` in `text`.
pub(super) fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Collects problems against the source text (other file formats built on
/// scenarios, such as game-day plans, use it too).
pub(crate) struct Validator<'a> {
    /// The text as written, which positions are given in.
    text: &'a str,
    /// The text parsed, when `${…}` were replaced in it: offsets in it are
    /// mapped back to `text`.
    expanded: Option<&'a Expanded>,
    pub(crate) problems: Vec<Problem>,
}

/// A TOML syntax or shape error of `file`, at its position.
pub(crate) fn syntax_error(file: &Path, text: &str, error: &toml::de::Error) -> ScenarioError {
    syntax_error_mapped(file, text, error, |offset| offset)
}

/// A TOML syntax or shape error in a text made from `text`, at the position
/// in `text` that `original` maps its offset to.
pub(super) fn syntax_error_mapped(
    file: &Path,
    text: &str,
    error: &toml::de::Error,
    original: impl Fn(usize) -> usize,
) -> ScenarioError {
    let (line, column) = position(text, original(error.span().map_or(0, |s| s.start)));
    ScenarioError {
        file: file.to_path_buf(),
        problems: vec![Problem {
            line,
            column,
            path: String::new(),
            message: error.message().trim().to_owned(),
        }],
    }
}

impl<'a> Validator<'a> {
    /// No problems yet, in `text`.
    pub(crate) fn new(text: &'a str) -> Validator<'a> {
        Validator {
            text,
            expanded: None,
            problems: Vec::new(),
        }
    }

    /// No problems yet, in `expanded`, made from `text`: positions are
    /// given in `text`.
    pub(super) fn expanded(text: &'a str, expanded: &'a Expanded) -> Validator<'a> {
        Validator {
            text,
            expanded: Some(expanded),
            problems: Vec::new(),
        }
    }

    pub(crate) fn at(
        &mut self,
        span: Range<usize>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        let offset = self.expanded.map_or(span.start, |e| e.original(span.start));
        let (line, column) = position(self.text, offset);
        self.problems.push(Problem {
            line,
            column,
            path: path.into(),
            message: message.into(),
        });
    }

    pub(crate) fn duration(&mut self, value: &Spanned<String>, path: &str) -> Option<Duration> {
        let parsed = parse_duration(value.get_ref());
        if parsed.is_none() {
            self.at(
                value.span(),
                path,
                format!(
                    "\"{}\" is not a duration (e.g. 250ms, 10s, 2m)",
                    value.get_ref()
                ),
            );
        }
        parsed
    }

    /// A claim-language text; errors point inside the string.
    pub(super) fn expectation(
        &mut self,
        value: &Spanned<String>,
        path: &str,
    ) -> Option<Expectation> {
        match value.get_ref().parse::<Expectation>() {
            Ok(e) => Some(e),
            Err(e) => {
                // +1 for the opening quote of a basic string.
                let start = value.span().start + 1 + char_offset(value.get_ref(), e.column);
                self.at(start..start, path, e.message);
                None
            }
        }
    }
}

/// Byte offset of 1-based character column `column` in `text`.
fn char_offset(text: &str, column: usize) -> usize {
    text.char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i)
}
