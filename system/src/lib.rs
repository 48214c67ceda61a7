//! The reference implementation of the SomonScript module system.
//!
//! (crate doc is written when the modules land)

mod error;
mod id;
mod module;
mod resolve;
mod corpus;

pub use error::{display_cycle, Error, Importer, Location, ParseError};
pub use id::{ModuleId, ModuleKind};
pub use module::{
    CachedModule, CompiledSource, Dependency, FileStamp, Import, ImportKind, Resolved,
    ENTRY_OVERHEAD_BYTES,
};
pub use resolve::{normalize_request, Resolver, ResolverConfig};
pub use corpus::{generate, Corpus, CorpusModule, CorpusSpec};
