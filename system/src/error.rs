//! The module system's errors.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::ModuleId;

/// A position in a source file: 1-based line and column (columns count
/// characters, not bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Location {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A lexing or parsing failure in one source text.
///
/// Fix the source at `at`; the message says what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct ParseError {
    /// Where the problem starts.
    pub at: Location,
    /// What is wrong, e.g. `unterminated string literal`.
    pub message: String,
}

impl ParseError {
    /// A parse error at `line:column`.
    pub fn new(line: u32, column: u32, message: impl Into<String>) -> ParseError {
        ParseError {
            at: Location { line, column },
            message: message.into(),
        }
    }
}

/// Where an import was written: the importing module and the position of its
/// specifier. `None` in an [`Error`] means the request came from outside (an
/// API call naming an entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Importer {
    /// The module that holds the import.
    pub module: ModuleId,
    /// The position of the specifier string in that module.
    pub at: Location,
}

impl fmt::Display for Importer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.module, self.at)
    }
}

/// Shows where a request came from in error messages.
struct From<'a>(&'a Option<Importer>);

impl fmt::Display for From<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(importer) => write!(f, "imported from {importer}"),
            None => f.write_str("requested directly"),
        }
    }
}

/// Everything that can go wrong while resolving, compiling, loading or
/// bundling modules. Cheap to clone, so one failed compile can be handed to
/// every caller that waited for it.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    /// No file answers the specifier after probing extensions, `index.som`,
    /// aliases and `node_modules`. Fix the specifier or add the file; a bare
    /// name meant as an external must be on the `externals` allowlist.
    #[error("module not found: \"{specifier}\" ({})", From(importer))]
    ModuleNotFound {
        /// The text that was resolved.
        specifier: String,
        /// Who asked for it.
        importer: Option<Importer>,
    },
    /// The specifier, or a symlink on its way, leads outside the module root.
    /// Modules may only load files under the root.
    #[error("path escapes the module root: \"{specifier}\" ({})", From(importer))]
    PathEscapesRoot {
        /// The text that was resolved.
        specifier: String,
        /// Who asked for it.
        importer: Option<Importer>,
    },
    /// The module's source is not valid SomonScript (or JSON).
    #[error("parse error in {module} at {error}")]
    Parse {
        /// The module that failed to parse.
        module: ModuleId,
        /// Position and reason.
        #[source]
        error: ParseError,
    },
    /// The dependency graph has a cycle and the strategy is `error`.
    /// Break the cycle or set `circularDependencyStrategy` to `warn`.
    #[error("circular dependency: {}", display_cycle(cycle))]
    CircularDependency {
        /// The modules on the cycle, first repeated at the end.
        cycle: Vec<ModuleId>,
    },
    /// A file could not be read or inspected.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: Arc<io::Error>,
    },
}

impl Error {
    /// The stable machine-readable code the HTTP API reports, e.g. `MODULE_NOT_FOUND`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::ModuleNotFound { .. } => "MODULE_NOT_FOUND",
            Error::PathEscapesRoot { .. } => "PATH_ESCAPES_ROOT",
            Error::Parse { .. } => "PARSE_ERROR",
            Error::CircularDependency { .. } => "CIRCULAR_DEPENDENCY",
            Error::Io { .. } => "IO_ERROR",
        }
    }

    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source: Arc::new(source),
        }
    }
}

/// `a.som → b.som → a.som`
pub fn display_cycle(cycle: &[ModuleId]) -> String {
    cycle
        .iter()
        .map(ModuleId::as_str)
        .collect::<Vec<_>>()
        .join(" → ")
}
