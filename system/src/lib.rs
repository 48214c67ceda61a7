//! The reference implementation of the SomonScript module system.
//!
//! (crate doc is written when the modules land)

mod cache;
mod error;
mod id;
mod module;

pub use cache::{CacheLimits, CacheStats, Lookup, ModuleCache, ModuleHits, Validation};
pub use error::{display_cycle, Error, Importer, Location, ParseError};
pub use id::{ModuleId, ModuleKind};
pub use module::{
    CachedModule, CompiledSource, Dependency, FileStamp, Import, ImportKind, Resolved,
    ENTRY_OVERHEAD_BYTES,
};
