//! Settings layering (defaults < file < env < flags), validation and secret redaction.

use std::collections::HashMap;
use std::io::Write;

use super::*;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

fn no_env() -> impl Fn(&str) -> Option<String> {
    env_of(&[])
}

fn file_with(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(text.as_bytes()).expect("write");
    (dir, path)
}

#[test]
fn defaults() {
    let s = Settings::load_from(&ServeArgs::default(), &no_env()).expect("defaults are valid");
    assert_eq!(s.grpc_addr, "127.0.0.1:50051".parse().unwrap());
    assert_eq!(s.rest_addr, Some("127.0.0.1:8080".parse().unwrap()));
    assert_eq!(s.database_url.expose(), DEFAULT_DATABASE_URL);
    assert_eq!(s.log_format, LogFormat::Text);
    assert_eq!(s.log_level, "info");
    assert!(s.auth.is_dev_mode());
    assert_eq!(s.health_check_interval, Duration::from_secs(2));
    assert_eq!(s.limits.max_body_bytes, 4 * 1024 * 1024);
    assert_eq!(s.limits.max_batch_records, 1000);
    assert!(!s.demo);
}

#[test]
fn file_overrides_defaults_env_overrides_file_flags_override_env() {
    let (_dir, path) = file_with(
        "settings.toml",
        r#"
grpc_addr = "127.0.0.1:6001"
rest_addr = "127.0.0.1:6002"
database_url = "sqlite://./from-file.db?mode=rwc"
log_level = "debug"
max_batch_records = 10
"#,
    );
    let args = ServeArgs {
        config: Some(path),
        grpc_addr: Some("127.0.0.1:7001".parse().unwrap()),
        ..ServeArgs::default()
    };
    let env = env_of(&[
        ("SEGMENTATION_GRPC_ADDR", "127.0.0.1:8001"),
        ("SEGMENTATION_REST_ADDR", "off"),
        ("SEGMENTATION_LOG_LEVEL", "warn"),
    ]);
    let s = Settings::load_from(&args, &env).expect("valid");
    assert_eq!(s.grpc_addr.port(), 7001, "flag beats env and file");
    assert_eq!(s.rest_addr, None, "env beats file");
    assert_eq!(s.log_level, "warn", "env beats file");
    assert_eq!(
        s.database_url.expose(),
        "sqlite://./from-file.db?mode=rwc",
        "file beats default"
    );
    assert_eq!(s.limits.max_batch_records, 10, "file beats default");
    assert_eq!(s.limits.max_body_bytes, 4 * 1024 * 1024, "default kept");
}

#[test]
fn config_file_path_can_come_from_env_and_json_files_work() {
    let (_dir, path) = file_with(
        "settings.json",
        r#"{"log_format": "json", "health_check_interval_ms": 250,
            "auth_static_tokens": [{"token": "t0ken", "org": "O@AdobeOrg", "client_id": "c", "sandboxes": ["prod"]}]}"#,
    );
    let path_text = path.to_str().expect("utf-8 temp path").to_owned();
    let env = env_of(&[("SEGMENTATION_CONFIG", &path_text)]);
    let s = Settings::load_from(&ServeArgs::default(), &env).expect("valid");
    assert_eq!(s.log_format, LogFormat::Json);
    assert_eq!(s.health_check_interval, Duration::from_millis(250));
    assert_eq!(s.auth.static_tokens.len(), 1);
    assert_eq!(s.auth.static_tokens[0].org, "O@AdobeOrg");
    assert!(!s.auth.is_dev_mode());
}

#[test]
fn every_env_var_is_read() {
    let env = env_of(&[
        ("SEGMENTATION_GRPC_ADDR", "127.0.0.1:1"),
        ("SEGMENTATION_REST_ADDR", "127.0.0.1:2"),
        ("SEGMENTATION_DATABASE_URL", "postgres://u:pw@localhost/db"),
        ("SEGMENTATION_LOG_FORMAT", "JSON"),
        ("SEGMENTATION_LOG_LEVEL", "segmentation=debug,info"),
        ("SEGMENTATION_AUTH_HS256_SECRET", "0123456789abcdef0123"),
        ("SEGMENTATION_AUTH_RS256_PUBLIC_KEY_PATH", "/keys/pub.pem"),
        (
            "SEGMENTATION_AUTH_STATIC_TOKENS",
            r#"[{"token":"tok","org":"O","client_id":"c","sandboxes":["*"]}]"#,
        ),
        ("SEGMENTATION_AUTH_JWT_ISSUER", "iss"),
        ("SEGMENTATION_AUTH_JWT_AUDIENCE", "aud"),
        ("SEGMENTATION_HEALTH_CHECK_INTERVAL_MS", "500"),
        ("SEGMENTATION_MAX_BODY_BYTES", "1024"),
        ("SEGMENTATION_MAX_BATCH_RECORDS", "5"),
        ("SEGMENTATION_DEMO", "true"),
    ]);
    let s = Settings::load_from(&ServeArgs::default(), &env).expect("valid");
    assert_eq!(s.grpc_addr.port(), 1);
    assert_eq!(s.rest_addr.map(|a| a.port()), Some(2));
    assert_eq!(s.database_url.expose(), "postgres://u:pw@localhost/db");
    assert_eq!(s.log_format, LogFormat::Json);
    assert_eq!(s.log_level, "segmentation=debug,info");
    assert_eq!(
        s.auth.hs256_secret.as_ref().map(Secret::expose),
        Some("0123456789abcdef0123")
    );
    assert_eq!(
        s.auth.rs256_public_key_path,
        Some(PathBuf::from("/keys/pub.pem"))
    );
    assert_eq!(s.auth.static_tokens[0].sandboxes, vec!["*".to_owned()]);
    assert_eq!(s.auth.jwt_issuer.as_deref(), Some("iss"));
    assert_eq!(s.auth.jwt_audience.as_deref(), Some("aud"));
    assert_eq!(s.health_check_interval, Duration::from_millis(500));
    assert_eq!(s.limits.max_body_bytes, 1024);
    assert_eq!(s.limits.max_batch_records, 5);
    assert!(s.demo);
}

#[test]
fn every_flag_is_read() {
    let args = ServeArgs {
        config: None,
        grpc_addr: Some("127.0.0.1:11".parse().unwrap()),
        rest_addr: Some(ListenAddr::Off),
        database_url: Some("sqlite::memory:".into()),
        log_format: Some(LogFormat::Json),
        log_level: Some("trace".into()),
        auth_hs256_secret: Some("flag-secret-0123456789".into()),
        auth_rs256_public_key_path: Some("/k.pem".into()),
        auth_static_tokens: Some(
            r#"[{"token":"t","org":"o","client_id":"c","sandboxes":["prod"]}]"#.into(),
        ),
        auth_jwt_issuer: Some("i".into()),
        auth_jwt_audience: Some("a".into()),
        health_check_interval_ms: Some(100),
        max_body_bytes: Some(2048),
        max_batch_records: Some(7),
        job_workers: Some(0),
        job_threads: Some(3),
        job_lease_ms: Some(900),
        job_poll_interval_ms: Some(50),
        job_page_size: Some(10),
        job_page_pause_ms: Some(5),
        max_running_jobs_per_sandbox: Some(4),
        demo: true,
    };
    let s = Settings::load_from(&args, &no_env()).expect("valid");
    assert_eq!(
        s.jobs,
        crate::config::JobSettings {
            workers: 0,
            threads: 3,
            lease: Duration::from_millis(900),
            poll_interval: Duration::from_millis(50),
            page_size: 10,
            page_pause: Duration::from_millis(5),
            max_running_per_sandbox: 4,
        }
    );
    assert_eq!(s.grpc_addr.port(), 11);
    assert_eq!(s.rest_addr, None);
    assert_eq!(s.database_url.expose(), "sqlite::memory:");
    assert_eq!(s.database_url.sqlite_path(), None);
    assert_eq!(s.log_level, "trace");
    assert!(s.auth.hs256_secret.is_some());
    assert_eq!(s.auth.static_tokens.len(), 1);
    assert_eq!(s.health_check_interval, Duration::from_millis(100));
    assert_eq!(
        s.limits,
        Limits {
            max_body_bytes: 2048,
            max_batch_records: 7
        }
    );
    assert!(s.demo);
}

#[test]
fn bad_values_name_their_source() {
    let env = env_of(&[("SEGMENTATION_GRPC_ADDR", "localhost")]);
    let err = Settings::load_from(&ServeArgs::default(), &env).unwrap_err();
    assert!(matches!(err, ConfigError::Env { ref var, .. } if var == "SEGMENTATION_GRPC_ADDR"));

    let env = env_of(&[("SEGMENTATION_MAX_BATCH_RECORDS", "0")]);
    let err = Settings::load_from(&ServeArgs::default(), &env).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Invalid {
            setting: "max_batch_records",
            ..
        }
    ));

    let env = env_of(&[("SEGMENTATION_MAX_BATCH_RECORDS", "1001")]);
    let err = Settings::load_from(&ServeArgs::default(), &env).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                setting: "max_batch_records",
                ..
            }
        ),
        "{err}"
    );

    let env = env_of(&[("SEGMENTATION_DATABASE_URL", "mysql://x")]);
    let err = Settings::load_from(&ServeArgs::default(), &env).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Invalid {
            setting: "database_url",
            ..
        }
    ));

    let env = env_of(&[("SEGMENTATION_LOG_LEVEL", "info,[[")]);
    let err = Settings::load_from(&ServeArgs::default(), &env).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Invalid {
            setting: "log_level",
            ..
        }
    ));

    let env = env_of(&[("SEGMENTATION_AUTH_HS256_SECRET", "short")]);
    let err = Settings::load_from(&ServeArgs::default(), &env).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Invalid {
            setting: "auth_hs256_secret",
            ..
        }
    ));

    let env = env_of(&[(
        "SEGMENTATION_AUTH_STATIC_TOKENS",
        r#"[{"token":"t","org":"o","client_id":"c","sandboxes":[]}]"#,
    )]);
    let err = Settings::load_from(&ServeArgs::default(), &env).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Invalid {
            setting: "auth_static_tokens",
            ..
        }
    ));

    let env = env_of(&[("SEGMENTATION_AUTH_STATIC_TOKENS", "not json")]);
    let err = Settings::load_from(&ServeArgs::default(), &env).unwrap_err();
    assert!(matches!(err, ConfigError::Env { .. }));
}

#[test]
fn file_errors() {
    let args = ServeArgs {
        config: Some("/definitely/not/here.toml".into()),
        ..ServeArgs::default()
    };
    let err = Settings::load_from(&args, &no_env()).unwrap_err();
    assert!(matches!(err, ConfigError::ReadFile { .. }));

    let (_dir, path) = file_with("s.toml", "grpc_adr = \"127.0.0.1:1\"\n");
    let args = ServeArgs {
        config: Some(path),
        ..ServeArgs::default()
    };
    let err = Settings::load_from(&args, &no_env()).unwrap_err();
    assert!(
        matches!(err, ConfigError::ParseFile { ref message, .. } if message.contains("grpc_adr")),
        "unknown keys are refused: {err}"
    );
}

#[test]
fn secrets_never_print() {
    let env = env_of(&[
        (
            "SEGMENTATION_DATABASE_URL",
            "postgres://app:hunter2@db.internal:5432/seg",
        ),
        ("SEGMENTATION_AUTH_HS256_SECRET", "super-secret-value-123"),
        (
            "SEGMENTATION_AUTH_STATIC_TOKENS",
            r#"[{"token":"static-secret-token","org":"O","client_id":"c","sandboxes":["prod"]}]"#,
        ),
    ]);
    let s = Settings::load_from(&ServeArgs::default(), &env).expect("valid");
    let shown = format!("{s:?}");
    for secret in ["hunter2", "super-secret-value-123", "static-secret-token"] {
        assert!(!shown.contains(secret), "{secret} leaked in {shown}");
    }
    assert!(shown.contains("postgres://app:[redacted]@db.internal:5432/seg"));
}

#[test]
fn database_url_helpers() {
    let url = DatabaseUrl::new("postgres://user@host/db");
    assert_eq!(url.redacted(), "postgres://user@host/db");
    assert!(!url.is_sqlite());
    let url = DatabaseUrl::new("sqlite://./data/x.db?mode=rwc");
    assert!(url.is_sqlite());
    assert_eq!(url.sqlite_path(), Some(PathBuf::from("./data/x.db")));
    assert_eq!(
        DatabaseUrl::new("sqlite:/tmp/y.db").sqlite_path(),
        Some(PathBuf::from("/tmp/y.db"))
    );
}

#[test]
fn job_settings_default_and_refuse_nonsense() {
    let s = Settings::load_from(&ServeArgs::default(), &no_env()).expect("defaults");
    assert_eq!(s.jobs.workers, 2);
    assert_eq!(s.jobs.lease, Duration::from_secs(30));
    assert_eq!(s.jobs.page_size, 1000);
    assert_eq!(s.jobs.max_running_per_sandbox, 10);
    assert!(s.jobs.threads >= 1);
    for (var, value, setting) in [
        ("SEGMENTATION_JOB_LEASE_MS", "100", "job_lease_ms"),
        ("SEGMENTATION_JOB_PAGE_SIZE", "0", "job_page_size"),
        ("SEGMENTATION_JOB_PAGE_SIZE", "20000", "job_page_size"),
        (
            "SEGMENTATION_MAX_RUNNING_JOBS_PER_SANDBOX",
            "0",
            "max_running_jobs_per_sandbox",
        ),
    ] {
        let env = move |name: &str| (name == var).then(|| value.to_owned());
        let err = Settings::load_from(&ServeArgs::default(), &env).unwrap_err();
        assert!(err.to_string().contains(setting), "{var}={value}: {err}");
    }
}
