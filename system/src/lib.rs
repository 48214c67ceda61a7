//! The reference implementation of the SomonScript module system.
//!
//! (crate doc is written when the modules land)

mod corpus;
mod error;
mod id;
mod module;
mod resolve;

pub use corpus::{generate, Corpus, CorpusModule, CorpusSpec};
pub use error::{display_cycle, Error, Importer, Location, ParseError};
pub use id::{ModuleId, ModuleKind};
pub use module::{
    CachedModule, CompiledSource, Dependency, FileStamp, Import, ImportKind, Resolved,
    ENTRY_OVERHEAD_BYTES,
};
pub use resolve::{normalize_request, Resolver, ResolverConfig};
