//! Module identity.

use std::borrow::Borrow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// A module's identity: its path relative to the module root, after
/// canonicalisation (symlinks resolved), with `/` separators.
///
/// Two requests that reach the same file always produce the same id, so the id
/// is the cache key. Cloning is cheap (a reference count).
///
/// ```
/// use somon_system::ModuleId;
/// let id = ModuleId::new("app/main.som");
/// assert_eq!(id.as_str(), "app/main.som");
/// assert_eq!(id.dir(), "app");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleId(Arc<str>);

impl ModuleId {
    /// Wraps a root-relative, `/`-separated path. The caller vouches that it
    /// is canonical; [`crate::Resolver`] is the normal way to obtain one.
    pub fn new(path: impl Into<Arc<str>>) -> ModuleId {
        ModuleId(path.into())
    }

    /// The id as text, e.g. `app/main.som`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The directory part (`""` for a module at the root).
    pub fn dir(&self) -> &str {
        match self.0.rfind('/') {
            Some(i) => &self.0[..i],
            None => "",
        }
    }

    /// The file this id names under `root`.
    pub fn path_in(&self, root: &Path) -> PathBuf {
        let mut path = root.to_path_buf();
        for part in self.0.split('/') {
            path.push(part);
        }
        path
    }

    /// The kind of module, from the file extension.
    pub fn kind(&self) -> ModuleKind {
        ModuleKind::of(&self.0)
    }
}

impl fmt::Display for ModuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ModuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl Borrow<str> for ModuleId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Serialize for ModuleId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// What a module file holds, decided by its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModuleKind {
    /// SomonScript source (`.som`), compiled to CommonJS.
    Som,
    /// JavaScript (`.js`), taken as CommonJS as it is: a leaf module.
    Js,
    /// JSON (`.json`), exported as `module.exports`: a leaf module.
    Json,
}

impl ModuleKind {
    /// The kind of the file at `path`; anything not `.js` or `.json` is SomonScript.
    pub fn of(path: &str) -> ModuleKind {
        if path.ends_with(".json") {
            ModuleKind::Json
        } else if path.ends_with(".js") {
            ModuleKind::Js
        } else {
            ModuleKind::Som
        }
    }
}
