//! The reference implementation of the SomonScript module system.
//!
//! (crate doc is written when the modules land)

mod cache;
mod compile;
mod error;
mod id;
mod lexer;
mod module;
mod syntax;

pub use cache::{CacheLimits, CacheStats, Lookup, ModuleCache, ModuleHits, Validation};
pub use compile::compile;
pub use error::{display_cycle, Error, Importer, Location, ParseError};
pub use id::{ModuleId, ModuleKind};
pub use lexer::{tokenize, Span, Token, TokenKind};
pub use module::{
    CachedModule, CompiledSource, Dependency, FileStamp, Import, ImportKind, Resolved,
    ENTRY_OVERHEAD_BYTES,
};
