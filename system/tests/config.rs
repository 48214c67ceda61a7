//! Runtime config: documented defaults, patch validation (ranges, types, unknown
//! keys, cross-field rules, GET-body round-trip), start-up precedence and
//! error messages, and model-based patches.

use std::collections::BTreeMap;
use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use somon_system::{
    load_startup, Config, CycleStrategy, LogLevel, PatchContext, ProblemOrigin, StartupError,
    StartupFlags, Validation,
};

const NO_TOKEN: PatchContext = PatchContext {
    admin_token_configured: false,
};
const TOKEN: PatchContext = PatchContext {
    admin_token_configured: true,
};

/// The problem fields of a refused patch.
fn refused(config: &Config, patch: Value, ctx: &PatchContext) -> Vec<String> {
    match config.patched(&patch, ctx) {
        Ok(next) => panic!("{patch} was accepted: {next:?}"),
        Err(problems) => problems.into_iter().map(|p| p.field).collect(),
    }
}

fn env(vars: &[(&str, &str)]) -> BTreeMap<String, String> {
    vars.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_match_spec() {
    let expected = json!({
        "maxCacheSize": 1000,
        "maxCacheMemory": 104857600,
        // Not among the documents' fields: the process's memory budget, not set.
        "memoryLimit": 0,
        "cacheValidation": "stat",
        "externals": [],
        "externalRegistry": null,
        "externalTimeoutMs": 2000,
        "enableExternalCache": true,
        "externalCacheTtlMs": 300000,
        "failureThreshold": 5,
        "circuitBreakerWindowMs": 10000,
        "retryDelayMs": 5000,
        "timeoutMs": 30000,
        "halfOpenMaxCalls": 3,
        "circularDependencyStrategy": "warn",
        "logLevel": "info",
        "managementApiEnabled": true,
        "requireAuth": false,
        // Not among the documents' fields: the resolver's aliases, empty by default.
        "paths": {},
    });
    let value = serde_json::to_value(Config::default()).unwrap();
    assert_eq!(value, expected);
    let back: Config = serde_json::from_value(value).unwrap();
    assert_eq!(back, Config::default());
}

#[test]
fn every_range_boundary() {
    // Loose cross-field values so each range is tested on its own.
    let base = Config {
        retry_delay_ms: 1,
        timeout_ms: 3_600_000,
        ..Config::default()
    };
    let ranges: [(&str, u64, u64); 9] = [
        ("maxCacheSize", 1, 1_000_000),
        ("maxCacheMemory", 1024, 64 << 30),
        ("externalTimeoutMs", 1, 600_000),
        ("externalCacheTtlMs", 0, 86_400_000),
        ("failureThreshold", 1, 10_000),
        ("circuitBreakerWindowMs", 100, 3_600_000),
        ("retryDelayMs", 1, 3_600_000),
        ("timeoutMs", 1, 3_600_000),
        ("halfOpenMaxCalls", 1, 1000),
    ];
    for (key, min, max) in ranges {
        for ok in [min, max] {
            let next = base.patched(&json!({ key: ok }), &NO_TOKEN).unwrap();
            assert_eq!(
                serde_json::to_value(&next).unwrap()[key],
                json!(ok),
                "{key}"
            );
        }
        let mut bad = vec![
            json!(max + 1),
            json!(-1),
            json!(1.5),
            json!(1.0),
            json!("1"),
        ];
        if min > 0 {
            bad.push(json!(min - 1));
        }
        for value in bad {
            let fields = refused(&base, json!({ key: value }), &NO_TOKEN);
            assert_eq!(fields, [key], "{key} = {value}");
        }
    }
}

const MIB: u64 = 1 << 20;
/// The largest `memoryLimit` accepted (1 PiB).
const MAX_MEMORY_LIMIT: u64 = 1 << 50;

#[test]
fn memory_limit_is_zero_or_at_least_a_mebibyte() {
    let base = Config {
        memory_limit: 512 * MIB,
        ..Config::default()
    };
    for ok in [0, MIB, 256 * MIB, MAX_MEMORY_LIMIT] {
        let next = base
            .patched(&json!({ "memoryLimit": ok }), &NO_TOKEN)
            .unwrap();
        assert_eq!(next.memory_limit, ok);
        assert_eq!(serde_json::to_value(&next).unwrap()["memoryLimit"], ok);
    }
    for bad in [
        json!(1),
        json!(MIB - 1),
        json!(MAX_MEMORY_LIMIT + 1),
        json!(-1),
        json!(268435456.5),
        json!(1048576.0),
        json!("268435456"),
        json!("256MiB"),
        json!(null),
        json!(true),
    ] {
        let problems = base
            .patched(&json!({ "memoryLimit": bad }), &NO_TOKEN)
            .unwrap_err();
        assert_eq!(problems.len(), 1, "{bad}");
        assert_eq!(
            problems[0].to_string(),
            format!(
                "memoryLimit: expected 0 (not set) or a whole number of bytes from 1048576 (1 MiB) \
                 to 1125899906842624 (1 PiB), got {bad}"
            )
        );
    }
}

#[test]
fn a_bad_memory_limit_refuses_the_whole_patch() {
    let current = Config::default();
    let before = current.clone();
    let fields = refused(
        &current,
        json!({"maxCacheSize": 10, "memoryLimit": 1000, "logLevel": "debug"}),
        &NO_TOKEN,
    );
    assert_eq!(fields, ["memoryLimit"]);
    assert_eq!(current, before);
    // And a good one beside a bad field is not applied either.
    let fields = refused(
        &current,
        json!({"memoryLimit": 256 * MIB, "maxCacheSize": 0}),
        &NO_TOKEN,
    );
    assert_eq!(fields, ["maxCacheSize"]);
    assert_eq!(current.memory_limit, 0);
    let next = current
        .patched(&json!({"memoryLimit": 256 * MIB}), &NO_TOKEN)
        .unwrap();
    assert_eq!(current.changed_fields(&next), ["memoryLimit"]);
}

#[test]
fn memory_limit_from_every_layer() {
    let (_dir, path) = file("memoryLimit = 536870912\n");
    let with_file = StartupFlags {
        config_file: Some(path.clone()),
        ..StartupFlags::default()
    };
    let none = BTreeMap::new();
    assert_eq!(
        load_startup(&with_file, &none).unwrap().config.memory_limit,
        512 * MIB
    );
    let vars = env(&[("SOMON_MEMORY_LIMIT", " 268435456 ")]);
    assert_eq!(
        load_startup(&with_file, &vars).unwrap().config.memory_limit,
        256 * MIB
    );
    let with_flag = StartupFlags {
        patch: Map::from_iter([("memoryLimit".to_string(), json!(0))]),
        ..with_file
    };
    assert_eq!(
        load_startup(&with_flag, &vars).unwrap().config.memory_limit,
        0
    );

    // Bad values: the file at line:col, the variable by name, the flag.
    let (_dir, bad_file) = file("maxCacheSize = 10\nmemoryLimit = 4096\n");
    let flags = StartupFlags {
        config_file: Some(bad_file.clone()),
        patch: Map::from_iter([("memoryLimit".to_string(), json!(-5))]),
        ..StartupFlags::default()
    };
    let err = load_startup(&flags, &env(&[("SOMON_MEMORY_LIMIT", "256M")])).unwrap_err();
    let text = err.to_string();
    let range = "expected 0 (not set) or a whole number of bytes from 1048576 (1 MiB) to 1125899906842624 (1 PiB)";
    for needle in [
        format!(
            "{}:2:15: memoryLimit: {range}, got 4096",
            bad_file.display()
        ),
        format!("SOMON_MEMORY_LIMIT: {range}, got \"256M\""),
        format!("flag memoryLimit: {range}, got -5"),
    ] {
        assert!(text.contains(&needle), "{needle:?} missing from:\n{text}");
    }
    let StartupError::Invalid { problems } = err else {
        panic!("{err}")
    };
    assert_eq!(problems.len(), 3, "{problems:?}");
}

#[test]
fn type_errors_name_expected_and_given() {
    let problems = Config::default()
        .patched(
            &json!({"maxCacheSize": "2000", "requireAuth": "yes", "logLevel": "loud"}),
            &TOKEN,
        )
        .unwrap_err();
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "logLevel: expected one of \"error\", \"warn\", \"info\", \"debug\", \"trace\", got \"loud\"",
            "maxCacheSize: expected a whole number from 1 to 1000000, got \"2000\"",
            "requireAuth: expected true or false, got \"yes\"",
        ]
    );
}

#[test]
fn numbers_too_big_are_problems() {
    let patch: Value = serde_json::from_str(
        r#"{"maxCacheMemory": 99999999999999999999999, "failureThreshold": 18446744073709551615}"#,
    )
    .unwrap();
    let fields = refused(&Config::default(), patch, &NO_TOKEN);
    assert_eq!(fields, ["failureThreshold", "maxCacheMemory"]);
}

#[test]
fn multi_error_patch_reports_every_problem() {
    let patch = json!({
        "maxCacheSize": 0,
        "bogus": 1,
        "externals": ["./x", "lodash", "lodash", 7],
        "externalRegistry": "ftp://r",
        "paths": {"@lib/*": "../lib/*", "ok": "ok.som"},
        "timeoutMs": 10,
        "requireAuth": true,
    });
    let fields = refused(&Config::default(), patch, &NO_TOKEN);
    assert_eq!(
        fields,
        [
            "bogus",
            "externalRegistry",
            "externals[0]",
            "externals[2]",
            "externals[3]",
            "maxCacheSize",
            "paths[\"@lib/*\"]",
            "timeoutMs",
            "requireAuth",
        ]
    );
}

#[test]
fn get_body_round_trip_is_accepted_and_changes_nothing() {
    let mut current = Config {
        max_cache_size: 10,
        max_cache_memory: 1 << 30,
        memory_limit: 256 << 20,
        cache_validation: Validation::None,
        externals: vec!["lodash".into(), "@acme/ui".into()],
        external_registry: Some("https://registry.example:8443/v1".into()),
        external_timeout_ms: 1,
        enable_external_cache: false,
        external_cache_ttl_ms: 0,
        failure_threshold: 10_000,
        circuit_breaker_window_ms: 100,
        retry_delay_ms: 7,
        timeout_ms: 7,
        half_open_max_calls: 1000,
        circular_dependency_strategy: CycleStrategy::Error,
        log_level: LogLevel::Trace,
        management_api_enabled: false,
        require_auth: true,
        paths: BTreeMap::from([("@lib/*".into(), "lib/*".into())]),
    };
    // What `curl /config > backup.json` then `-d @backup.json` sends.
    let body: Value =
        serde_json::from_str(&serde_json::to_string_pretty(&current).unwrap()).unwrap();
    let next = current.patched(&body, &TOKEN).unwrap();
    assert_eq!(next, current);
    assert!(current.changed_fields(&next).is_empty());

    current.require_auth = false;
    let default_body = serde_json::to_value(Config::default()).unwrap();
    let restored = current.patched(&default_body, &NO_TOKEN).unwrap();
    assert_eq!(restored, Config::default());
}

#[test]
fn unknown_key_names_the_key_and_the_known_ones() {
    let problems = Config::default()
        .patched(&json!({"cacheSize": 5}), &NO_TOKEN)
        .unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].field, "cacheSize");
    assert!(problems[0].message.contains("unknown key"));
    assert!(problems[0].message.contains("maxCacheSize"));
}

#[test]
fn require_auth_needs_a_token() {
    let problems = Config::default()
        .patched(&json!({"requireAuth": true}), &NO_TOKEN)
        .unwrap_err();
    assert_eq!(
        problems[0].to_string(),
        "requireAuth: no admin token is configured (set SOMON_ADMIN_TOKEN)"
    );
    let next = Config::default()
        .patched(&json!({"requireAuth": true}), &TOKEN)
        .unwrap();
    assert!(next.require_auth);
}

#[test]
fn timeout_must_cover_retry_delay() {
    let fields = refused(
        &Config::default(),
        json!({"retryDelayMs": 30_001}),
        &NO_TOKEN,
    );
    assert_eq!(fields, ["retryDelayMs"]);
    let next = Config::default()
        .patched(
            &json!({"retryDelayMs": 60_000, "timeoutMs": 60_000}),
            &NO_TOKEN,
        )
        .unwrap();
    assert_eq!((next.retry_delay_ms, next.timeout_ms), (60_000, 60_000));
}

#[test]
fn env_sets_every_variable() {
    let vars = env(&[
        ("SOMON_MANAGEMENT_PORT", "9090"),
        ("SOMON_LOG_LEVEL", "DEBUG"),
        ("SOMON_CACHE_SIZE", "2000"),
        ("SOMON_CACHE_MEMORY_LIMIT", "2048"),
        ("SOMON_MEMORY_LIMIT", "268435456"),
        ("SOMON_CIRCUIT_BREAKER_FAILURE_THRESHOLD", "7"),
        ("SOMON_CIRCUIT_BREAKER_TIMEOUT", "40000"),
        ("SOMON_CIRCUIT_BREAKER_RETRY_DELAY", "4000"),
        ("SOMON_MODULE_ROOT", "/srv/app"),
        ("SOMON_EXTERNALS", " lodash, ,@acme/ui "),
        ("SOMON_EXTERNAL_REGISTRY", "http://127.0.0.1:4000"),
        ("SOMON_ADMIN_TOKEN", "s3cret"),
        ("PATH", "/usr/bin"),
    ]);
    let s = load_startup(&StartupFlags::default(), &vars).unwrap();
    assert_eq!(s.port, 9090);
    assert_eq!(s.module_root, PathBuf::from("/srv/app"));
    assert_eq!(s.admin_token.as_deref(), Some("s3cret"));
    let c = &s.config;
    assert_eq!(c.log_level, LogLevel::Debug);
    assert_eq!((c.max_cache_size, c.max_cache_memory), (2000, 2048));
    assert_eq!(c.memory_limit, 256 << 20);
    assert_eq!(
        (c.failure_threshold, c.timeout_ms, c.retry_delay_ms),
        (7, 40_000, 4000)
    );
    assert_eq!(c.externals, ["lodash", "@acme/ui"]);
    assert_eq!(
        c.external_registry.as_deref(),
        Some("http://127.0.0.1:4000")
    );

    let s = load_startup(
        &StartupFlags::default(),
        &env(&[("SOMON_EXTERNALS", ""), ("SOMON_ADMIN_TOKEN", "")]),
    )
    .unwrap();
    assert!(s.config.externals.is_empty());
    assert_eq!(s.admin_token, None);
}

#[test]
fn env_errors_name_the_variable_and_are_all_listed() {
    let vars = env(&[
        ("SOMON_CACHE_SIZE", "abc"),
        ("SOMON_MANAGEMENT_PORT", "99999"),
        ("SOMON_EXTERNALS", "lodash, ./local"),
        ("SOMON_LOG_LEVEL", "loud"),
    ]);
    let err = load_startup(&StartupFlags::default(), &vars).unwrap_err();
    let text = err.to_string();
    for needle in [
        "SOMON_CACHE_SIZE: expected a whole number from 1 to 1000000, got \"abc\"",
        "SOMON_MANAGEMENT_PORT: expected a port number from 0 to 65535, got \"99999\"",
        "SOMON_EXTERNALS[1]: ",
        "SOMON_LOG_LEVEL: expected one of",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    let StartupError::Invalid { problems } = err else {
        panic!()
    };
    assert_eq!(problems.len(), 4);
    assert!(problems.iter().all(|p| p.origin == ProblemOrigin::Env));
}

/// A config file in a fresh directory.
fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("somon.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn precedence_flag_over_env_over_file_over_default() {
    let (_dir, path) = file("maxCacheSize = 10\nport = 1001\n");
    let with_file = StartupFlags {
        config_file: Some(path),
        ..StartupFlags::default()
    };
    let with_flags = StartupFlags {
        port: Some(1003),
        patch: Map::from_iter([("maxCacheSize".to_string(), json!(30))]),
        ..with_file.clone()
    };
    let vars = env(&[
        ("SOMON_CACHE_SIZE", "20"),
        ("SOMON_MANAGEMENT_PORT", "1002"),
    ]);
    let none = BTreeMap::new();

    let s = load_startup(&with_flags, &vars).unwrap();
    assert_eq!((s.config.max_cache_size, s.port), (30, 1003));
    let s = load_startup(&with_file, &vars).unwrap();
    assert_eq!((s.config.max_cache_size, s.port), (20, 1002));
    let s = load_startup(&with_file, &none).unwrap();
    assert_eq!((s.config.max_cache_size, s.port), (10, 1001));
    let s = load_startup(&StartupFlags::default(), &none).unwrap();
    assert_eq!((s.config.max_cache_size, s.port), (1000, 8080));
    assert_eq!(s.host.to_string(), "127.0.0.1");
    assert_eq!(s.module_root, PathBuf::from("."));
}

#[test]
fn cross_field_rules_apply_to_the_merged_result() {
    // The file alone breaks timeoutMs ≥ retryDelayMs; the environment repairs it.
    let (_dir, path) = file("timeoutMs = 1000\nrequireAuth = true\n");
    let flags = StartupFlags {
        config_file: Some(path),
        ..StartupFlags::default()
    };
    let vars = env(&[
        ("SOMON_CIRCUIT_BREAKER_RETRY_DELAY", "500"),
        ("SOMON_ADMIN_TOKEN", "t"),
    ]);
    let s = load_startup(&flags, &vars).unwrap();
    assert!(s.config.require_auth);

    let err = load_startup(&flags, &BTreeMap::new()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("timeoutMs: timeoutMs (1000) must be at least retryDelayMs (5000)"),
        "{text}"
    );
    assert!(
        text.contains("requireAuth: no admin token is configured (set SOMON_ADMIN_TOKEN)"),
        "{text}"
    );
}

#[test]
fn toml_syntax_error_reports_line_and_column() {
    let (_dir, path) = file("maxCacheSize = 10\nlogLevel = = \"info\"\n");
    let flags = StartupFlags {
        config_file: Some(path.clone()),
        ..StartupFlags::default()
    };
    match load_startup(&flags, &BTreeMap::new()).unwrap_err() {
        StartupError::ParseFile { line, column, .. } => assert_eq!((line, column), (2, 12)),
        other => panic!("{other}"),
    }
    let text = load_startup(&flags, &BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with(&format!("{}:2:12: invalid TOML: ", path.display())),
        "{text}"
    );
}

#[test]
fn toml_value_problems_point_at_the_key() {
    let (_dir, path) = file("# settings\nmaxCacheSize = 0\nmax_cache_memory = 5\nexternals = [\"a\", \"./b\"]\nport = 70000\n");
    let flags = StartupFlags {
        config_file: Some(path.clone()),
        ..StartupFlags::default()
    };
    let text = load_startup(&flags, &BTreeMap::new())
        .unwrap_err()
        .to_string();
    let p = path.display();
    for needle in [
        format!("{p}:2:16: maxCacheSize: expected a whole number from 1 to 1000000, got 0"),
        format!("{p}:3:20: max_cache_memory: unknown key (did you mean \"maxCacheMemory\"?)"),
        format!("{p}:4:13: externals[1]: "),
        format!("{p}:5:8: port: expected a port number from 0 to 65535, got 70000"),
    ] {
        assert!(text.contains(&needle), "{needle:?} missing from:\n{text}");
    }
}

#[test]
fn unreadable_file_is_its_own_error() {
    let flags = StartupFlags {
        config_file: Some(PathBuf::from("/nonexistent/somon.toml")),
        ..StartupFlags::default()
    };
    let err = load_startup(&flags, &BTreeMap::new()).unwrap_err();
    assert!(matches!(err, StartupError::ReadFile { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/somon.toml"));
}

#[test]
fn admin_token_is_redacted() {
    let s = load_startup(
        &StartupFlags::default(),
        &env(&[("SOMON_ADMIN_TOKEN", "hunter2-very-secret")]),
    )
    .unwrap();
    let debug = format!("{s:?} {s:#?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("<redacted>"));
    assert!(!serde_json::to_string(&s.config)
        .unwrap()
        .contains("hunter2"));
}

/// One field's valid and invalid values, and its key.
struct Field {
    key: &'static str,
    valid: BoxedStrategy<Value>,
    invalid: BoxedStrategy<Value>,
}

/// Values of every JSON type that are not a whole number in `min..=max`.
fn not_whole(min: u64, max: u64) -> BoxedStrategy<Value> {
    let mut options = vec![
        (max + 1..=max.saturating_add(1 << 40))
            .prop_map(Value::from)
            .boxed(),
        (i64::MIN..0).prop_map(Value::from).boxed(),
        (0.0f64..1e9)
            .prop_filter("fractional", |f| f.fract() != 0.0)
            .prop_map(Value::from)
            .boxed(),
        (min..=max).prop_map(|n| Value::from(n.to_string())).boxed(),
        Just(Value::Null).boxed(),
        any::<bool>().prop_map(Value::from).boxed(),
        Just(json!([1])).boxed(),
    ];
    if min > 0 {
        options.push((0..min).prop_map(Value::from).boxed());
    }
    proptest::strategy::Union::new(options).boxed()
}

fn whole(key: &'static str, min: u64, max: u64) -> Field {
    Field {
        key,
        valid: (min..=max).prop_map(Value::from).boxed(),
        invalid: not_whole(min, max),
    }
}

fn one_of(key: &'static str, names: &'static [&'static str]) -> Field {
    Field {
        key,
        valid: proptest::sample::select(names)
            .prop_map(Value::from)
            .boxed(),
        invalid: prop_oneof![
            "[A-Z]{1,6}".prop_map(Value::from),
            Just(Value::Null),
            any::<u8>().prop_map(Value::from),
        ]
        .boxed(),
    }
}

fn flag(key: &'static str) -> Field {
    Field {
        key,
        valid: any::<bool>().prop_map(Value::from).boxed(),
        invalid: prop_oneof![Just(json!("true")), Just(json!(1)), Just(Value::Null)].boxed(),
    }
}

fn fields() -> Vec<Field> {
    vec![
        whole("maxCacheSize", 1, 1_000_000),
        whole("maxCacheMemory", 1024, 64 << 30),
        Field {
            key: "memoryLimit",
            valid: prop_oneof![Just(0u64), MIB..=MAX_MEMORY_LIMIT]
                .prop_map(Value::from)
                .boxed(),
            invalid: prop_oneof![1u64..MIB, MAX_MEMORY_LIMIT + 1..=u64::MAX]
                .prop_map(Value::from)
                .boxed()
                .prop_union(not_whole(0, MAX_MEMORY_LIMIT))
                .boxed(),
        },
        one_of("cacheValidation", &["stat", "none"]),
        Field {
            key: "externals",
            valid: proptest::collection::btree_set("(@[a-z]{1,4}/)?[a-z][a-z0-9-]{0,8}", 0..4)
                .prop_map(|names| json!(names))
                .boxed(),
            invalid: prop_oneof![
                Just(json!(["./local"])),
                Just(json!(["a", "a"])),
                Just(json!("lodash")),
                Just(json!([1])),
            ]
            .boxed(),
        },
        Field {
            key: "externalRegistry",
            valid: prop_oneof![
                Just(Value::Null),
                "https?://[a-z]{1,8}(:[1-9][0-9]{0,3})?(/[a-z]{0,5})?".prop_map(Value::from)
            ]
            .boxed(),
            invalid: prop_oneof![
                Just(json!("ftp://x")),
                Just(json!("http://")),
                Just(json!(5))
            ]
            .boxed(),
        },
        whole("externalTimeoutMs", 1, 600_000),
        flag("enableExternalCache"),
        whole("externalCacheTtlMs", 0, 86_400_000),
        whole("failureThreshold", 1, 10_000),
        whole("circuitBreakerWindowMs", 100, 3_600_000),
        whole("retryDelayMs", 1, 3_600_000),
        whole("timeoutMs", 1, 3_600_000),
        whole("halfOpenMaxCalls", 1, 1000),
        one_of("circularDependencyStrategy", &["error", "warn", "ignore"]),
        one_of("logLevel", &["error", "warn", "info", "debug", "trace"]),
        flag("managementApiEnabled"),
        flag("requireAuth"),
        Field {
            key: "paths",
            valid: proptest::collection::btree_map("@?[a-z]{1,5}", "[a-z]{1,5}", 0..3)
                .prop_map(|m| {
                    json!(m
                        .into_iter()
                        .map(|(k, v)| (format!("{k}/*"), format!("{v}/*")))
                        .collect::<BTreeMap<_, _>>())
                })
                .boxed(),
            invalid: prop_oneof![
                Just(json!({"a/*": "b"})),
                Just(json!({"a": "/abs"})),
                Just(json!(["a"]))
            ]
            .boxed(),
        },
    ]
}

/// A patch with a random subset of fields, each valid or not, plus random
/// unknown keys; the set of keys expected to be refused on their own.
fn patches() -> impl Strategy<Value = (Map<String, Value>, Vec<String>)> {
    let picks: Vec<_> = fields()
        .into_iter()
        .map(|f| {
            let key = f.key;
            // Weighted so that about a sixth of the patches are wholly valid.
            proptest::option::weighted(
                0.3,
                prop_oneof![
                    4 => f.valid.prop_map(move |v| (key, v, true)),
                    1 => f.invalid.prop_map(move |v| (key, v, false)),
                ],
            )
        })
        .collect();
    let unknown = proptest::collection::vec("[a-z]{1,8}X", 0..2);
    (picks, unknown).prop_map(|(picks, unknown)| {
        let mut patch = Map::new();
        let mut invalid = Vec::new();
        for (key, value, valid) in picks.into_iter().flatten() {
            patch.insert(key.to_string(), value);
            if !valid {
                invalid.push(key.to_string());
            }
        }
        for key in unknown {
            patch.insert(key.clone(), json!(1));
            invalid.push(key);
        }
        (patch, invalid)
    })
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn patches_are_all_or_nothing((patch, invalid) in patches(), token in any::<bool>()) {
        let current = Config::default();
        let before = current.clone();
        let ctx = PatchContext { admin_token_configured: token };
        let result = current.patched(&Value::Object(patch.clone()), &ctx);
        prop_assert_eq!(&current, &before);

        let old = serde_json::to_value(&before).unwrap();
        let effective = |key: &str| {
            if invalid.iter().any(|k| k == key) { &old[key] } else { patch.get(key).unwrap_or(&old[key]) }
        };
        let mut cross = Vec::new();
        if effective("timeoutMs").as_u64() < effective("retryDelayMs").as_u64() {
            cross.push("timeoutMs or retryDelayMs");
        }
        if effective("requireAuth") == &json!(true) && !token {
            cross.push("requireAuth");
        }
        match result {
            Err(problems) => {
                prop_assert!(!invalid.is_empty() || !cross.is_empty(), "refused: {:?}", problems);
                let fields: Vec<&str> = problems.iter().map(|p| p.field.split('[').next().unwrap()).collect();
                for key in &invalid {
                    prop_assert!(fields.contains(&key.as_str()), "{} not in {:?}", key, problems);
                }
            }
            Ok(next) => {
                prop_assert!(invalid.is_empty() && cross.is_empty(), "accepted {:?}", patch);
                let new = serde_json::to_value(&next).unwrap();
                for (key, value) in new.as_object().unwrap() {
                    prop_assert_eq!(value, patch.get(key).unwrap_or(&old[key]), "{}", key);
                }
            }
        }
    }

    #[test]
    fn patched_never_panics(value in arbitrary_json(), keyed in proptest::collection::vec(arbitrary_json(), 0..4)) {
        let current = Config::default();
        let _ = current.patched(&value, &TOKEN);
        // The same values under real keys, so every field check sees them.
        let names = ["maxCacheSize", "externals", "paths", "externalRegistry", "logLevel"];
        let patch: Map<String, Value> = names.iter().map(|k| k.to_string()).zip(keyed).collect();
        let _ = current.patched(&Value::Object(patch), &NO_TOKEN);
    }
}
