//! Turning an import specifier into a module id under the module root.
//!
//! Resolution is lexical first (so an escaping `../../x` is refused without
//! touching the disk), then probes the filesystem with one `stat` per
//! candidate, and canonicalises only the file it found, so that symlinks
//! cannot smuggle a module in from outside the root.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::{Error, Importer, ModuleId, ParseError, Resolved};

/// Extensions tried, in order, after the exact name.
const EXTENSIONS: [&str; 3] = [".som", ".js", ".json"];

/// Directory entry points tried, in order, after the extensions.
const INDEX_FILES: [&str; 2] = ["index.som", "index.js"];

/// Settings for resolution.
///
/// ```
/// use somon_system::ResolverConfig;
/// let config = ResolverConfig {
///     paths: vec![("@lib/*".into(), "lib/*".into())],
///     externals: vec!["lodash".into()],
/// };
/// assert_eq!(config.externals, ["lodash"]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ResolverConfig {
    /// `paths` aliases like tsconfig: pattern → replacement, both may end in `*`,
    /// replacement relative to the root, e.g. `("@lib/*", "lib/*")`. Exact
    /// patterns (without `*`) are allowed too and beat any wildcard.
    pub paths: Vec<(String, String)>,
    /// Bare package names resolved as externals ([`Resolved::External`]), e.g. `lodash`.
    pub externals: Vec<String>,
}

/// One `paths` entry, split once so matching is a prefix test.
#[derive(Clone, Debug)]
struct Alias {
    /// The pattern without its trailing `*`.
    prefix: String,
    /// Whether the pattern ended in `*`.
    wildcard: bool,
    /// The replacement without its trailing `*`.
    target: String,
    /// Whether the replacement ended in `*` (receives the captured rest).
    target_wildcard: bool,
}

/// Resolves specifiers to [`Resolved`] targets under one canonical module root.
///
/// Holds no interior mutability: share it in an `Arc` across threads.
///
/// ```
/// use somon_system::{Resolved, Resolver, ResolverConfig};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::create_dir(dir.path().join("app")).unwrap();
/// std::fs::write(dir.path().join("app/main.som"), "").unwrap();
/// let resolver = Resolver::new(dir.path(), ResolverConfig::default()).unwrap();
/// match resolver.resolve("app/main", None).unwrap() {
///     Resolved::Module(id) => assert_eq!(id.as_str(), "app/main.som"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Resolver {
    root: PathBuf,
    config: ResolverConfig,
    /// Exact aliases first, then wildcards by descending prefix length, so the
    /// first match is the most specific one.
    aliases: Vec<Alias>,
}

impl Resolver {
    /// A resolver for the module root `root`, which is canonicalised once here.
    ///
    /// Fails with [`Error::Io`] if `root` does not exist or is not a directory.
    pub fn new(root: impl AsRef<Path>, config: ResolverConfig) -> Result<Resolver, Error> {
        let given = root.as_ref();
        let root = fs::canonicalize(given).map_err(|e| Error::io(given, e))?;
        let metadata = fs::metadata(&root).map_err(|e| Error::io(&root, e))?;
        if !metadata.is_dir() {
            return Err(Error::io(
                root,
                io::Error::new(
                    io::ErrorKind::NotADirectory,
                    "module root is not a directory",
                ),
            ));
        }
        let mut aliases: Vec<Alias> = config
            .paths
            .iter()
            .map(|(pattern, replacement)| {
                let (prefix, wildcard) = split_star(pattern);
                let (target, target_wildcard) = split_star(replacement);
                Alias {
                    prefix: prefix.to_owned(),
                    wildcard,
                    target: target.to_owned(),
                    target_wildcard,
                }
            })
            .collect();
        // Stable sort keeps the configured order among equally specific patterns.
        aliases.sort_by_key(|a| (a.wildcard, std::cmp::Reverse(a.prefix.len())));
        Ok(Resolver {
            root,
            config,
            aliases,
        })
    }

    /// The canonical module root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The settings this resolver was built with.
    pub fn config(&self) -> &ResolverConfig {
        &self.config
    }

    /// Resolves `specifier` as imported by `importer`.
    ///
    /// `importer` is `None` for a request from outside (e.g. the HTTP API's
    /// `?path=app/main.som`): then `./x`, `/x` and plain `app/x` all mean
    /// root-relative; a plain name that matches no file falls back to alias,
    /// external and `node_modules` handling.
    ///
    /// Fails with [`Error::ModuleNotFound`] when nothing matches,
    /// [`Error::PathEscapesRoot`] when the path (lexically, or through a
    /// symlink) leaves the root, [`Error::Parse`] for a malformed
    /// `package.json`, and [`Error::Io`] for any other filesystem failure.
    pub fn resolve(&self, specifier: &str, importer: Option<&Importer>) -> Result<Resolved, Error> {
        let request = Request {
            specifier,
            importer,
        };
        if specifier.is_empty() {
            return Err(request.not_found());
        }
        if is_relative(specifier) {
            let base = importer.map_or("", |i| i.module.dir());
            return self.resolve_path(base, specifier, &request);
        }
        if let Some(rest) = specifier.strip_prefix('/') {
            return self.resolve_path("", rest, &request);
        }
        if let Some(rel) = self.apply_alias(specifier) {
            return self.resolve_path("", &rel, &request);
        }
        if importer.is_none() {
            if let Some(found) = self.probe_path("", specifier, &request)? {
                return self.finish(&found, &request).map(Resolved::Module);
            }
        }
        self.resolve_bare(&request)
    }

    /// The alias target (root-relative, not yet normalised) for `specifier`.
    fn apply_alias(&self, specifier: &str) -> Option<String> {
        self.aliases.iter().find_map(|alias| {
            let rest = if alias.wildcard {
                specifier.strip_prefix(alias.prefix.as_str())?
            } else if specifier == alias.prefix {
                ""
            } else {
                return None;
            };
            Some(if alias.target_wildcard {
                format!("{}{rest}", alias.target)
            } else {
                alias.target.clone()
            })
        })
    }

    /// Externals allowlist, then `<root>/node_modules/<package>`.
    fn resolve_bare(&self, request: &Request<'_>) -> Result<Resolved, Error> {
        let specifier = request.specifier;
        let Some((package, subpath)) = split_package(specifier) else {
            return Err(request.not_found());
        };
        if self.config.externals.iter().any(|e| e == package) {
            // The subpath is kept: the host's `require("pkg/sub")` needs it.
            return Ok(Resolved::External(specifier.to_owned()));
        }
        let package_dir =
            join_normalized("node_modules", package).ok_or_else(|| request.escapes())?;
        if !subpath.is_empty() {
            return self.resolve_path(&package_dir, subpath, request);
        }
        if let Some(main) = self.package_main(&package_dir)? {
            if let Some(found) = self.probe_path(&package_dir, &main, request)? {
                return self.finish(&found, request).map(Resolved::Module);
            }
        }
        // A missing or broken `main` falls back to the index, as Node does.
        match self.probe_index(&package_dir)? {
            Some(found) => self.finish(&found, request).map(Resolved::Module),
            None => Err(request.not_found()),
        }
    }

    /// The `main` field of `<package_dir>/package.json`, if the file exists and has one.
    fn package_main(&self, package_dir: &str) -> Result<Option<String>, Error> {
        let manifest = format!("{package_dir}/package.json");
        let path = ModuleId::new(manifest.as_str()).path_in(&self.root);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(Error::io(path, e)),
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Parse {
            module: ModuleId::new(manifest.as_str()),
            error: ParseError::new(e.line() as u32, e.column() as u32, e.to_string()),
        })?;
        Ok(value
            .get("main")
            .and_then(|m| m.as_str())
            .filter(|m| !m.is_empty())
            .map(str::to_owned))
    }

    /// Resolves `path` under the root-relative directory `base` and confines the result.
    fn resolve_path(
        &self,
        base: &str,
        path: &str,
        request: &Request<'_>,
    ) -> Result<Resolved, Error> {
        match self.probe_path(base, path, request)? {
            Some(found) => self.finish(&found, request).map(Resolved::Module),
            None => Err(request.not_found()),
        }
    }

    /// Joins `path` to `base` lexically (refusing escapes) and probes it.
    fn probe_path(
        &self,
        base: &str,
        path: &str,
        request: &Request<'_>,
    ) -> Result<Option<PathBuf>, Error> {
        let rel = join_normalized(base, path).ok_or_else(|| request.escapes())?;
        if names_directory(path) {
            // `.`, `..` and `dir/` name a directory, so `dir.som` must not answer.
            self.probe_index(&rel)
        } else {
            self.probe(&rel)
        }
    }

    /// Exact file, then each extension, then the directory's index files.
    fn probe(&self, rel: &str) -> Result<Option<PathBuf>, Error> {
        if !rel.is_empty() {
            let exact = ModuleId::new(rel).path_in(&self.root);
            if is_regular_file(&exact)? {
                return Ok(Some(exact));
            }
            for ext in EXTENSIONS {
                let mut candidate = exact.clone().into_os_string();
                candidate.push(ext);
                let candidate = PathBuf::from(candidate);
                if is_regular_file(&candidate)? {
                    return Ok(Some(candidate));
                }
            }
        }
        self.probe_index(rel)
    }

    /// The first index file of directory `rel` (`""` is the root).
    fn probe_index(&self, rel: &str) -> Result<Option<PathBuf>, Error> {
        let dir = if rel.is_empty() {
            self.root.clone()
        } else {
            ModuleId::new(rel).path_in(&self.root)
        };
        for index in INDEX_FILES {
            let candidate = dir.join(index);
            if is_regular_file(&candidate)? {
                return Ok(Some(candidate));
            }
        }
        Ok(None)
    }

    /// Canonicalises the file found and turns it into a root-relative id,
    /// refusing anything a symlink led outside the root.
    fn finish(&self, found: &Path, request: &Request<'_>) -> Result<ModuleId, Error> {
        let canonical = fs::canonicalize(found).map_err(|e| {
            if is_absent(&e) {
                // Vanished between the probe and now: report what the user sees.
                request.not_found()
            } else {
                Error::io(found, e)
            }
        })?;
        let relative = canonical
            .strip_prefix(&self.root)
            .map_err(|_| request.escapes())?;
        let mut id = String::with_capacity(relative.as_os_str().len());
        for part in relative.components() {
            let part = part.as_os_str().to_str().ok_or_else(|| {
                Error::io(
                    &canonical,
                    io::Error::new(io::ErrorKind::InvalidData, "module path is not UTF-8"),
                )
            })?;
            if !id.is_empty() {
                id.push('/');
            }
            id.push_str(part);
        }
        if id.is_empty() {
            return Err(request.escapes());
        }
        Ok(ModuleId::new(id))
    }
}

/// The specifier and importer, carried along to build errors.
struct Request<'a> {
    specifier: &'a str,
    importer: Option<&'a Importer>,
}

impl Request<'_> {
    fn not_found(&self) -> Error {
        Error::ModuleNotFound {
            specifier: self.specifier.to_owned(),
            importer: self.importer.cloned(),
        }
    }

    fn escapes(&self) -> Error {
        Error::PathEscapesRoot {
            specifier: self.specifier.to_owned(),
            importer: self.importer.cloned(),
        }
    }
}

/// Lexically normalises a root-relative request (`./a/../b.som` → `b.som`)
/// without touching the filesystem; `None` if it climbs above the root.
///
/// A leading `/` is ignored and empty or `.` segments are dropped, so the
/// result never starts with `/` and never has a `..` segment. Meant as a
/// cache fast path before full resolution: the result names a file only if
/// the request already carried its extension.
///
/// ```
/// use somon_system::normalize_request;
/// assert_eq!(normalize_request("./a/../b.som").as_deref(), Some("b.som"));
/// assert_eq!(normalize_request("/app//main.som").as_deref(), Some("app/main.som"));
/// assert_eq!(normalize_request("../etc/passwd"), None);
/// ```
pub fn normalize_request(request: &str) -> Option<String> {
    join_normalized("", request.trim_start_matches('/'))
}

/// `base` (already normal) joined with `path`, `.`/`..`/empty segments
/// folded; `None` if a `..` would leave the root.
fn join_normalized(base: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// Whether `path` can only mean a directory: empty, `.`, `..`, or ending in `/`, `/.` or `/..`.
fn names_directory(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    matches!(last, "" | "." | "..")
}

/// `./x`, `../x`, `.` and `..` are relative to the importer.
fn is_relative(specifier: &str) -> bool {
    specifier == "."
        || specifier == ".."
        || specifier.starts_with("./")
        || specifier.starts_with("../")
}

/// Splits a bare specifier into its package name and subpath:
/// `lodash/fp` → (`lodash`, `fp`), `@scope/pkg/a` → (`@scope/pkg`, `a`).
/// `None` for something that cannot name a package (`@scope` alone).
fn split_package(specifier: &str) -> Option<(&str, &str)> {
    let name_end = if specifier.starts_with('@') {
        let scope_end = specifier.find('/')?;
        let rest = &specifier[scope_end + 1..];
        scope_end + 1 + rest.find('/').unwrap_or(rest.len())
    } else {
        specifier.find('/').unwrap_or(specifier.len())
    };
    let (package, subpath) = specifier.split_at(name_end);
    let valid = |part: &str| !part.is_empty() && part != "." && part != "..";
    if !package.split('/').all(valid) {
        return None;
    }
    Some((package, subpath.trim_start_matches('/')))
}

/// Removes a trailing `*`, reporting whether there was one.
fn split_star(pattern: &str) -> (&str, bool) {
    match pattern.strip_suffix('*') {
        Some(prefix) => (prefix, true),
        None => (pattern, false),
    }
}

/// Whether `path` is a regular file (following symlinks). A missing path,
/// or one running through a non-directory, is simply not a match.
fn is_regular_file(path: &Path) -> Result<bool, Error> {
    match fs::metadata(path) {
        Ok(metadata) => Ok(metadata.is_file()),
        Err(e) if is_absent(&e) => Ok(false),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Failures that mean "no such file" rather than a broken filesystem.
/// `InvalidInput` covers names with NUL bytes; over-long names are absent too,
/// so hostile specifiers are a 404, not an IO error.
fn is_absent(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::InvalidInput
    ) || is_name_too_long(error)
}

#[cfg(target_os = "linux")]
fn is_name_too_long(error: &io::Error) -> bool {
    // ENAMETOOLONG; its ErrorKind is newer than our minimum Rust version.
    error.raw_os_error() == Some(36)
}

#[cfg(not(target_os = "linux"))]
fn is_name_too_long(error: &io::Error) -> bool {
    // ENAMETOOLONG is 63 on the BSDs and macOS.
    cfg!(unix) && error.raw_os_error() == Some(63)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_folds_dots() {
        assert_eq!(join_normalized("app", "./x").as_deref(), Some("app/x"));
        assert_eq!(join_normalized("app/a", "../../x").as_deref(), Some("x"));
        assert_eq!(join_normalized("app", "../../x"), None);
        assert_eq!(join_normalized("", ".").as_deref(), Some(""));
    }

    #[test]
    fn splits_package_names() {
        assert_eq!(split_package("lodash"), Some(("lodash", "")));
        assert_eq!(split_package("lodash/fp/x"), Some(("lodash", "fp/x")));
        assert_eq!(split_package("@s/p"), Some(("@s/p", "")));
        assert_eq!(split_package("@s/p/q"), Some(("@s/p", "q")));
        assert_eq!(split_package("@s"), None);
        assert_eq!(split_package("@s/"), None);
    }

    #[test]
    fn exact_alias_beats_wildcard() {
        let dir = tempfile::tempdir().unwrap();
        let config = ResolverConfig {
            paths: vec![
                ("@lib/*".into(), "lib/*".into()),
                ("@lib/special".into(), "other/special".into()),
                ("@lib/deep/*".into(), "deep/*".into()),
            ],
            externals: vec![],
        };
        let resolver = Resolver::new(dir.path(), config).unwrap();
        assert_eq!(
            resolver.apply_alias("@lib/special").as_deref(),
            Some("other/special")
        );
        assert_eq!(
            resolver.apply_alias("@lib/deep/x").as_deref(),
            Some("deep/x")
        );
        assert_eq!(resolver.apply_alias("@lib/y").as_deref(), Some("lib/y"));
        assert_eq!(resolver.apply_alias("lodash"), None);
    }
}
