//! Start-up settings: defaults < TOML file < environment < flags, each layer
//! validated by the same field checks as `POST /config`, cross-field rules
//! checked once on the merged result.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::patch::{apply_fields, cross_check};
use super::{Config, ConfigProblem, PatchContext};

/// Keys a config file may hold besides the [`Config`] fields.
const FILE_ONLY_KEYS: [&str; 3] = ["host", "port", "moduleRoot"];

/// Environment variables that patch a [`Config`] field, with that field.
const ENV_FIELDS: [(&str, &str); 9] = [
    ("SOMON_LOG_LEVEL", "logLevel"),
    ("SOMON_CACHE_SIZE", "maxCacheSize"),
    ("SOMON_CACHE_MEMORY_LIMIT", "maxCacheMemory"),
    ("SOMON_MEMORY_LIMIT", "memoryLimit"),
    (
        "SOMON_CIRCUIT_BREAKER_FAILURE_THRESHOLD",
        "failureThreshold",
    ),
    ("SOMON_CIRCUIT_BREAKER_TIMEOUT", "timeoutMs"),
    ("SOMON_CIRCUIT_BREAKER_RETRY_DELAY", "retryDelayMs"),
    ("SOMON_EXTERNALS", "externals"),
    ("SOMON_EXTERNAL_REGISTRY", "externalRegistry"),
];

/// Everything the server needs to start, merged and validated.
///
/// `Debug` redacts the admin token, so the whole value can be logged.
#[derive(Clone, PartialEq)]
pub struct Startup {
    /// Address to listen on (default 127.0.0.1).
    pub host: IpAddr,
    /// Port to listen on (default 8080; 0 picks a free one).
    pub port: u16,
    /// Directory modules are resolved under (default `.`).
    pub module_root: PathBuf,
    /// `SOMON_ADMIN_TOKEN`, when set and non-empty; never part of [`Config`].
    pub admin_token: Option<String>,
    /// The runtime config the server starts with.
    pub config: Config,
}

impl fmt::Debug for Startup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Startup")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("module_root", &self.module_root)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field("config", &self.config)
            .finish()
    }
}

/// Settings given on the command line; `None` / absent means "not given".
#[derive(Clone, Debug, Default)]
pub struct StartupFlags {
    /// `--host`.
    pub host: Option<IpAddr>,
    /// `--port`.
    pub port: Option<u16>,
    /// `--module-root`.
    pub module_root: Option<PathBuf>,
    /// `--config somon.toml`.
    pub config_file: Option<PathBuf>,
    /// Config fields given as flags, by camelCase name (`{"maxCacheSize": 10}`).
    pub patch: Map<String, Value>,
}

/// Where a start-up problem was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProblemOrigin {
    /// A key in the config file, at the line and column (1-based) of its value.
    File {
        /// The file as given.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
    },
    /// An environment variable; the problem's field is its name.
    Env,
    /// A command-line flag; the problem's field is the config field.
    Flag,
    /// A rule across fields, checked on the merged settings.
    Merged,
}

/// One problem in the start-up settings, with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartupProblem {
    /// Which layer and place.
    pub origin: ProblemOrigin,
    /// What is wrong.
    pub problem: ConfigProblem,
}

impl fmt::Display for StartupProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            ProblemOrigin::File { path, line, column } => {
                write!(f, "{}:{line}:{column}: {}", path.display(), self.problem)
            }
            ProblemOrigin::Flag => write!(f, "flag {}", self.problem),
            ProblemOrigin::Env | ProblemOrigin::Merged => write!(f, "{}", self.problem),
        }
    }
}

/// Why the server cannot start with the given settings.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The `--config` file could not be read: check the path and permissions.
    #[error("cannot read config file {}: {source}", path.display())]
    ReadFile {
        /// The file as given.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// The `--config` file is not valid TOML: fix the syntax at the position.
    #[error("{}:{line}:{column}: invalid TOML: {message}", path.display())]
    ParseFile {
        /// The file as given.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error, in characters.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// Some settings are invalid; every problem of every layer is listed.
    #[error("invalid settings:{}", list(problems))]
    Invalid {
        /// Every problem, in layer order (file, environment, flags, merged).
        problems: Vec<StartupProblem>,
    },
}

/// Renders problems one per line for [`StartupError::Invalid`].
fn list(problems: &[StartupProblem]) -> String {
    problems.iter().map(|p| format!("\n  {p}")).collect()
}

/// Merges defaults < `flags.config_file` < `env` < `flags` into the settings
/// the server starts with.
///
/// `env` is the environment to read (pass `std::env::vars().collect()`); only
/// the `SOMON_*` configuration variables are looked at. Every layer is checked
/// with the same rules as `POST /config`; cross-field rules apply to the
/// merged result.
///
/// Fails with [`StartupError::ReadFile`] or [`StartupError::ParseFile`] for an
/// unusable file, else [`StartupError::Invalid`] listing every bad value.
///
/// ```
/// use std::collections::BTreeMap;
/// use somon_system::{load_startup, StartupFlags};
/// let env = BTreeMap::from([("SOMON_CACHE_SIZE".to_string(), "abc".to_string())]);
/// let err = load_startup(&StartupFlags::default(), &env).unwrap_err();
/// assert!(err.to_string().contains("SOMON_CACHE_SIZE: expected a whole number from 1 to 1000000, got \"abc\""));
/// ```
pub fn load_startup(
    flags: &StartupFlags,
    env: &BTreeMap<String, String>,
) -> Result<Startup, StartupError> {
    let mut startup = Startup {
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 8080,
        module_root: PathBuf::from("."),
        admin_token: None,
        config: Config::default(),
    };
    let mut problems = Vec::new();
    if let Some(path) = &flags.config_file {
        apply_file(&mut startup, path, &mut problems)?;
    }
    apply_env(&mut startup, env, &mut problems);

    if let Some(host) = flags.host {
        startup.host = host;
    }
    if let Some(port) = flags.port {
        startup.port = port;
    }
    if let Some(root) = &flags.module_root {
        startup.module_root = root.clone();
    }
    let (config, found) = apply_fields(&startup.config, &flags.patch, &[]);
    startup.config = config;
    problems.extend(found.into_iter().map(|problem| StartupProblem {
        origin: ProblemOrigin::Flag,
        problem,
    }));

    let ctx = PatchContext {
        admin_token_configured: startup.admin_token.is_some(),
    };
    let merged = cross_check(&startup.config, &Map::new(), &ctx);
    problems.extend(merged.into_iter().map(|problem| StartupProblem {
        origin: ProblemOrigin::Merged,
        problem,
    }));
    if problems.is_empty() {
        Ok(startup)
    } else {
        Err(StartupError::Invalid { problems })
    }
}

/// Reads, parses and applies the TOML config file.
fn apply_file(
    startup: &mut Startup,
    path: &Path,
    problems: &mut Vec<StartupProblem>,
) -> Result<(), StartupError> {
    let text = std::fs::read_to_string(path).map_err(|source| StartupError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let table: BTreeMap<String, toml::Spanned<toml::Value>> =
        toml::from_str(&text).map_err(|e| {
            let (line, column) = line_column(&text, e.span().map_or(0, |s| s.start));
            StartupError::ParseFile {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
    let origin_of = |key: &str| {
        let start = table.get(key).map_or(0, |v| v.span().start);
        let (line, column) = line_column(&text, start);
        ProblemOrigin::File {
            path: path.to_path_buf(),
            line,
            column,
        }
    };
    let mut file_problem = |key: &str, message: String| {
        problems.push(StartupProblem {
            origin: origin_of(key),
            problem: ConfigProblem::new(key, message),
        });
    };
    let patch: Map<String, Value> = table
        .iter()
        .map(|(k, v)| (k.clone(), to_json(v.get_ref())))
        .collect();
    if let Some(host) = patch.get("host") {
        match host.as_str().map(str::parse::<IpAddr>) {
            Some(Ok(ip)) => startup.host = ip,
            _ => file_problem("host", format!("expected an IP address string, got {host}")),
        }
    }
    if let Some(port) = patch.get("port") {
        match port.as_u64().map(u16::try_from) {
            Some(Ok(p)) => startup.port = p,
            _ => file_problem(
                "port",
                format!("expected a port number from 0 to 65535, got {port}"),
            ),
        }
    }
    if let Some(root) = patch.get("moduleRoot") {
        match root.as_str() {
            Some(r) if !r.is_empty() => startup.module_root = PathBuf::from(r),
            _ => file_problem(
                "moduleRoot",
                format!("expected a non-empty path string, got {root}"),
            ),
        }
    }
    let (config, found) = apply_fields(&startup.config, &patch, &FILE_ONLY_KEYS);
    startup.config = config;
    for problem in found {
        // `externals[2]` and `paths["x"]` point at their top-level key's value.
        let key = problem.field.split('[').next().unwrap_or_default();
        problems.push(StartupProblem {
            origin: origin_of(key),
            problem,
        });
    }
    Ok(())
}

/// 1-based line and character column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// TOML to the JSON the patch checks expect. Datetimes become strings (no
/// field takes one, so they fail as a wrong type with their text shown).
fn to_json(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or_else(|| Value::String(f.to_string()), Value::Number),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        toml::Value::Table(table) => {
            Value::Object(table.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

/// Applies the `SOMON_*` variables present in `env`.
fn apply_env(
    startup: &mut Startup,
    env: &BTreeMap<String, String>,
    problems: &mut Vec<StartupProblem>,
) {
    let mut env_problem = |var: &str, message: String| {
        problems.push(StartupProblem {
            origin: ProblemOrigin::Env,
            problem: ConfigProblem::new(var, message),
        });
    };
    if let Some(raw) = env.get("SOMON_MANAGEMENT_PORT") {
        match raw.trim().parse::<u16>() {
            Ok(port) => startup.port = port,
            Err(_) => env_problem(
                "SOMON_MANAGEMENT_PORT",
                format!(
                    "expected a port number from 0 to 65535, got {}",
                    Value::String(raw.clone())
                ),
            ),
        }
    }
    if let Some(raw) = env.get("SOMON_MODULE_ROOT") {
        if raw.trim().is_empty() {
            env_problem(
                "SOMON_MODULE_ROOT",
                "expected a directory path, got an empty value".to_owned(),
            );
        } else {
            startup.module_root = PathBuf::from(raw);
        }
    }
    if let Some(raw) = env.get("SOMON_ADMIN_TOKEN") {
        // An empty token would let `Authorization: Bearer ` through.
        startup.admin_token = (!raw.trim().is_empty()).then(|| raw.clone());
    }
    for (var, field) in ENV_FIELDS {
        let Some(raw) = env.get(var) else { continue };
        let patch = Map::from_iter([(field.to_owned(), env_value(field, raw))]);
        let (config, found) = apply_fields(&startup.config, &patch, &[]);
        startup.config = config;
        problems.extend(found.into_iter().map(|mut problem| {
            // `externals[2]` → `SOMON_EXTERNALS[2]`: the variable, and which item.
            problem.field = problem.field.replacen(field, var, 1);
            StartupProblem {
                origin: ProblemOrigin::Env,
                problem,
            }
        }));
    }
}

/// The JSON a variable's text stands for, so the field check sees a number,
/// list or null where one is meant, and the raw text otherwise.
fn env_value(field: &str, raw: &str) -> Value {
    let trimmed = raw.trim();
    match field {
        "logLevel" => Value::String(trimmed.to_ascii_lowercase()),
        "externals" => Value::Array(
            trimmed
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(|name| Value::String(name.to_owned()))
                .collect(),
        ),
        "externalRegistry" if trimmed.is_empty() => Value::Null,
        "externalRegistry" => Value::String(trimmed.to_owned()),
        _ => trimmed
            .parse::<u64>()
            .map(Value::from)
            .or_else(|_| trimmed.parse::<i64>().map(Value::from))
            .unwrap_or_else(|_| Value::String(raw.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, text.find('=').unwrap()), (1, 3));
        assert_eq!(line_column(text, 10), (2, 4));
        assert_eq!(line_column(text, 999), (3, 1));
    }

    #[test]
    fn env_values() {
        assert_eq!(env_value("maxCacheSize", " 12 "), Value::from(12));
        assert_eq!(env_value("maxCacheSize", "-3"), Value::from(-3));
        assert_eq!(env_value("maxCacheSize", "abc"), Value::from("abc"));
        assert_eq!(
            env_value("externals", " a, ,b "),
            serde_json::json!(["a", "b"])
        );
        assert_eq!(env_value("externals", ""), serde_json::json!([]));
        assert_eq!(env_value("externalRegistry", " "), Value::Null);
        assert_eq!(env_value("logLevel", "DEBUG"), Value::from("debug"));
    }
}
