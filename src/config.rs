//! The service's settings: one typed [`Settings`] value built from four layers, each overriding
//! the one before: built-in defaults < an optional settings file (`--config`, TOML or JSON) <
//! `SEGMENTATION_*` environment variables < command-line flags.
//!
//! Every setting has one name used by every layer: `max_batch_records` is the file key, the env
//! var `SEGMENTATION_MAX_BATCH_RECORDS` and the flag `--max-batch-records`. The table of all of
//! them is `docs/settings.md`. Layers are read into a [`Layer`] of optional values, merged, and
//! only then validated, so an error names the setting and where its bad value came from.
//!
//! Secrets (the HS256 secret, static tokens, a password inside the database URL) are wrapped so
//! that `Debug` never prints them: the settings are logged at start.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

/// The default gRPC listen address (loopback only).
pub const DEFAULT_GRPC_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 50051));
/// The default REST listen address (loopback only; a second port beside gRPC).
pub const DEFAULT_REST_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080));
/// The default database: an embedded SQLite file under `./data/`, created when missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/segmentation.db?mode=rwc";
const DEFAULT_LOG_LEVEL: &str = "info";
const DEFAULT_HEALTH_CHECK_INTERVAL_MS: u64 = 2_000;
const DEFAULT_MAX_BODY_BYTES: u64 = 4 * 1024 * 1024;
const DEFAULT_MAX_BATCH_RECORDS: u64 = 1_000;
const DEFAULT_JOB_WORKERS: u64 = 2;
const DEFAULT_JOB_LEASE_MS: u64 = 30_000;
const DEFAULT_JOB_POLL_INTERVAL_MS: u64 = 1_000;
const DEFAULT_JOB_PAGE_SIZE: u64 = 1_000;
const MAX_JOB_PAGE_SIZE: u64 = 10_000;
const DEFAULT_MAX_RUNNING_JOBS_PER_SANDBOX: u64 = 10;
const ENV_PREFIX: &str = "SEGMENTATION_";

/// Everything the service reads at start, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where gRPC listens. Port 0 picks a free port (tests).
    pub grpc_addr: SocketAddr,
    /// Where the REST gateway listens; `None` when turned off (`off`).
    pub rest_addr: Option<SocketAddr>,
    /// `sqlite://...` or `postgres://...`.
    pub database_url: DatabaseUrl,
    pub log_format: LogFormat,
    /// A `tracing` filter directive: `info`, `debug`, `segmentation=debug,info`.
    pub log_level: String,
    pub auth: AuthSettings,
    /// How often the database is pinged for `grpc.health.v1`.
    pub health_check_interval: Duration,
    pub limits: Limits,
    /// The segment job engine and its limits.
    pub jobs: JobSettings,
    /// Load the generated demo sandbox at start.
    pub demo: bool,
}

/// How segment jobs run (`job_*` settings) and how many may be unfinished per sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSettings {
    /// Jobs this process runs at once; 0 makes an API-only process.
    pub workers: usize,
    /// Threads evaluating a job's pages; 0 means every core.
    pub threads: usize,
    /// A claimed job's lease; renewed every third of it, taken over once it lapses.
    pub lease: Duration,
    /// How often idle workers look for jobs created elsewhere or whose lease lapsed.
    pub poll_interval: Duration,
    /// Profiles read and evaluated per page (bounds a job's memory).
    pub page_size: u64,
    /// Pause after each page (0: none), to leave database capacity to other work.
    pub page_pause: Duration,
    /// Unfinished jobs a sandbox may have; creating one more is refused (429).
    pub max_running_per_sandbox: u32,
}

/// How requests are authenticated. Nothing configured means dev mode (loopback only).
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    pub hs256_secret: Option<Secret>,
    /// A PEM file holding the RSA public key that verifies RS256 tokens.
    pub rs256_public_key_path: Option<PathBuf>,
    pub static_tokens: Vec<StaticToken>,
    /// When set, a JWT's `iss` must equal it.
    pub jwt_issuer: Option<String>,
    /// When set, a JWT's `aud` must contain it.
    pub jwt_audience: Option<String>,
}

impl AuthSettings {
    /// True when no way of verifying a caller is configured.
    pub fn is_dev_mode(&self) -> bool {
        self.hs256_secret.is_none()
            && self.rs256_public_key_path.is_none()
            && self.static_tokens.is_empty()
    }
}

/// A bearer token accepted as-is, with the identity it stands for.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StaticToken {
    pub token: Secret,
    /// The organisation the token acts for (`x-gw-ims-org-id` must equal it).
    pub org: String,
    /// The client id (`x-api-key` must equal it).
    pub client_id: String,
    /// The sandboxes the token may use; `["*"]` allows all.
    pub sandboxes: Vec<String>,
}

/// Request size limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted request body or gRPC message, in bytes.
    pub max_body_bytes: usize,
    /// Most records (profiles or events) in one batch.
    pub max_batch_records: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("expected `text` or `json`, got `{s}`")),
        }
    }
}

/// A string that never prints.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// A database URL whose password (if any) never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> DatabaseUrl {
        DatabaseUrl(url.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with the password of its user-info replaced, for logs.
    pub fn redacted(&self) -> String {
        let Some(scheme_end) = self.0.find("://") else {
            return self.0.clone();
        };
        let rest = &self.0[scheme_end + 3..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let Some(at) = rest[..authority_end].rfind('@') else {
            return self.0.clone();
        };
        match rest[..at].find(':') {
            Some(colon) => format!(
                "{}{}:[redacted]{}",
                &self.0[..scheme_end + 3],
                &rest[..colon],
                &rest[at..]
            ),
            None => self.0.clone(),
        }
    }

    /// True for `sqlite:` URLs.
    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }

    /// The database file of a `sqlite:` URL; `None` for in-memory databases and other backends.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self.0.strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({:?})", self.redacted())
    }
}

/// A listen address, or `off` to turn that listener off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenAddr {
    Off,
    At(SocketAddr),
}

impl FromStr for ListenAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("off") {
            return Ok(ListenAddr::Off);
        }
        s.parse::<SocketAddr>()
            .map(ListenAddr::At)
            .map_err(|_| format!("expected host:port (e.g. 127.0.0.1:8080) or `off`, got `{s}`"))
    }
}

impl<'de> Deserialize<'de> for ListenAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Why the settings could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read settings file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("settings file {path}: {message}")]
    ParseFile { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("setting `{setting}`: {message}")]
    Invalid {
        setting: &'static str,
        message: String,
    },
}

/// The `serve` command's flags: one per setting (see `docs/settings.md`).
#[derive(Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Settings file, TOML (or JSON when the name ends in `.json`) [env: SEGMENTATION_CONFIG]
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// gRPC listen address [default: 127.0.0.1:50051]
    #[arg(long, value_name = "HOST:PORT")]
    pub grpc_addr: Option<SocketAddr>,
    /// REST listen address, or `off` [default: 127.0.0.1:8080]
    #[arg(long, value_name = "HOST:PORT|off")]
    pub rest_addr: Option<ListenAddr>,
    /// Database URL: sqlite://... or postgres://...
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Log format [default: text]
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. `info` or `segmentation=debug,info` [default: info]
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,
    /// HS256 secret verifying JWTs (prefer the env var: flags show in `ps`)
    #[arg(long, value_name = "SECRET")]
    pub auth_hs256_secret: Option<String>,
    /// PEM file with the RSA public key verifying RS256 JWTs
    #[arg(long, value_name = "PATH")]
    pub auth_rs256_public_key_path: Option<PathBuf>,
    /// Static tokens as a JSON array of {token, org, client_id, sandboxes}
    #[arg(long, value_name = "JSON")]
    pub auth_static_tokens: Option<String>,
    /// Required JWT issuer (`iss`)
    #[arg(long, value_name = "ISSUER")]
    pub auth_jwt_issuer: Option<String>,
    /// Required JWT audience (`aud`)
    #[arg(long, value_name = "AUDIENCE")]
    pub auth_jwt_audience: Option<String>,
    /// Database health check interval in milliseconds [default: 2000]
    #[arg(long, value_name = "MS")]
    pub health_check_interval_ms: Option<u64>,
    /// Largest request body / gRPC message in bytes [default: 4194304]
    #[arg(long, value_name = "BYTES")]
    pub max_body_bytes: Option<u64>,
    /// Most records in one ingestion batch [default: 1000]
    #[arg(long, value_name = "N")]
    pub max_batch_records: Option<u64>,
    /// Segment jobs this process runs at once; 0 = none (API only) [default: 2]
    #[arg(long, value_name = "N")]
    pub job_workers: Option<u64>,
    /// Threads evaluating a job; 0 = every core [default: 0]
    #[arg(long, value_name = "N")]
    pub job_threads: Option<u64>,
    /// Lease of a claimed job in milliseconds [default: 30000]
    #[arg(long, value_name = "MS")]
    pub job_lease_ms: Option<u64>,
    /// How often idle job workers poll, in milliseconds [default: 1000]
    #[arg(long, value_name = "MS")]
    pub job_poll_interval_ms: Option<u64>,
    /// Profiles per page of a job [default: 1000]
    #[arg(long, value_name = "N")]
    pub job_page_size: Option<u64>,
    /// Pause after each page of a job, in milliseconds [default: 0]
    #[arg(long, value_name = "MS")]
    pub job_page_pause_ms: Option<u64>,
    /// Unfinished segment jobs allowed per sandbox [default: 10]
    #[arg(long, value_name = "N")]
    pub max_running_jobs_per_sandbox: Option<u64>,
    /// Load the generated demo sandbox at start
    #[arg(long)]
    pub demo: bool,
}

/// One layer of settings: every value optional. The file is read straight into it; env vars and
/// flags are converted into it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Layer {
    grpc_addr: Option<SocketAddr>,
    rest_addr: Option<ListenAddr>,
    database_url: Option<String>,
    log_format: Option<LogFormat>,
    log_level: Option<String>,
    auth_hs256_secret: Option<Secret>,
    auth_rs256_public_key_path: Option<PathBuf>,
    auth_static_tokens: Option<Vec<StaticToken>>,
    auth_jwt_issuer: Option<String>,
    auth_jwt_audience: Option<String>,
    health_check_interval_ms: Option<u64>,
    max_body_bytes: Option<u64>,
    max_batch_records: Option<u64>,
    job_workers: Option<u64>,
    job_threads: Option<u64>,
    job_lease_ms: Option<u64>,
    job_poll_interval_ms: Option<u64>,
    job_page_size: Option<u64>,
    job_page_pause_ms: Option<u64>,
    max_running_jobs_per_sandbox: Option<u64>,
    demo: Option<bool>,
}

impl Layer {
    /// `over` wins wherever it has a value.
    fn merge(self, over: Layer) -> Layer {
        Layer {
            grpc_addr: over.grpc_addr.or(self.grpc_addr),
            rest_addr: over.rest_addr.or(self.rest_addr),
            database_url: over.database_url.or(self.database_url),
            log_format: over.log_format.or(self.log_format),
            log_level: over.log_level.or(self.log_level),
            auth_hs256_secret: over.auth_hs256_secret.or(self.auth_hs256_secret),
            auth_rs256_public_key_path: over
                .auth_rs256_public_key_path
                .or(self.auth_rs256_public_key_path),
            auth_static_tokens: over.auth_static_tokens.or(self.auth_static_tokens),
            auth_jwt_issuer: over.auth_jwt_issuer.or(self.auth_jwt_issuer),
            auth_jwt_audience: over.auth_jwt_audience.or(self.auth_jwt_audience),
            health_check_interval_ms: over
                .health_check_interval_ms
                .or(self.health_check_interval_ms),
            max_body_bytes: over.max_body_bytes.or(self.max_body_bytes),
            max_batch_records: over.max_batch_records.or(self.max_batch_records),
            job_workers: over.job_workers.or(self.job_workers),
            job_threads: over.job_threads.or(self.job_threads),
            job_lease_ms: over.job_lease_ms.or(self.job_lease_ms),
            job_poll_interval_ms: over.job_poll_interval_ms.or(self.job_poll_interval_ms),
            job_page_size: over.job_page_size.or(self.job_page_size),
            job_page_pause_ms: over.job_page_pause_ms.or(self.job_page_pause_ms),
            max_running_jobs_per_sandbox: over
                .max_running_jobs_per_sandbox
                .or(self.max_running_jobs_per_sandbox),
            demo: over.demo.or(self.demo),
        }
    }

    fn from_file(path: &Path) -> Result<Layer, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_owned(),
            source,
        })?;
        let parse_error = |message: String| ConfigError::ParseFile {
            path: path.to_owned(),
            message,
        };
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            serde_json::from_str(&text).map_err(|e| parse_error(e.to_string()))
        } else {
            toml::from_str(&text).map_err(|e| parse_error(e.to_string()))
        }
    }

    fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Layer, ConfigError> {
        let var = |key: &str| env(&format!("{ENV_PREFIX}{}", key.to_ascii_uppercase()));
        Ok(Layer {
            grpc_addr: env_parsed(env, "grpc_addr")?,
            rest_addr: env_parsed(env, "rest_addr")?,
            database_url: var("database_url"),
            log_format: env_parsed(env, "log_format")?,
            log_level: var("log_level"),
            auth_hs256_secret: var("auth_hs256_secret").map(Secret),
            auth_rs256_public_key_path: var("auth_rs256_public_key_path").map(PathBuf::from),
            auth_static_tokens: match var("auth_static_tokens") {
                Some(json) => {
                    Some(
                        parse_static_tokens(&json).map_err(|message| ConfigError::Env {
                            var: format!("{ENV_PREFIX}AUTH_STATIC_TOKENS"),
                            message,
                        })?,
                    )
                }
                None => None,
            },
            auth_jwt_issuer: var("auth_jwt_issuer"),
            auth_jwt_audience: var("auth_jwt_audience"),
            health_check_interval_ms: env_parsed(env, "health_check_interval_ms")?,
            max_body_bytes: env_parsed(env, "max_body_bytes")?,
            max_batch_records: env_parsed(env, "max_batch_records")?,
            job_workers: env_parsed(env, "job_workers")?,
            job_threads: env_parsed(env, "job_threads")?,
            job_lease_ms: env_parsed(env, "job_lease_ms")?,
            job_poll_interval_ms: env_parsed(env, "job_poll_interval_ms")?,
            job_page_size: env_parsed(env, "job_page_size")?,
            job_page_pause_ms: env_parsed(env, "job_page_pause_ms")?,
            max_running_jobs_per_sandbox: env_parsed(env, "max_running_jobs_per_sandbox")?,
            demo: env_parsed(env, "demo")?,
        })
    }

    fn from_args(args: &ServeArgs) -> Result<Layer, ConfigError> {
        let static_tokens = match &args.auth_static_tokens {
            Some(json) => {
                Some(
                    parse_static_tokens(json).map_err(|message| ConfigError::Invalid {
                        setting: "auth_static_tokens",
                        message,
                    })?,
                )
            }
            None => None,
        };
        Ok(Layer {
            grpc_addr: args.grpc_addr,
            rest_addr: args.rest_addr,
            database_url: args.database_url.clone(),
            log_format: args.log_format,
            log_level: args.log_level.clone(),
            auth_hs256_secret: args.auth_hs256_secret.clone().map(Secret),
            auth_rs256_public_key_path: args.auth_rs256_public_key_path.clone(),
            auth_static_tokens: static_tokens,
            auth_jwt_issuer: args.auth_jwt_issuer.clone(),
            auth_jwt_audience: args.auth_jwt_audience.clone(),
            health_check_interval_ms: args.health_check_interval_ms,
            max_body_bytes: args.max_body_bytes,
            max_batch_records: args.max_batch_records,
            job_workers: args.job_workers,
            job_threads: args.job_threads,
            job_lease_ms: args.job_lease_ms,
            job_poll_interval_ms: args.job_poll_interval_ms,
            job_page_size: args.job_page_size,
            job_page_pause_ms: args.job_page_pause_ms,
            max_running_jobs_per_sandbox: args.max_running_jobs_per_sandbox,
            demo: args.demo.then_some(true),
        })
    }
}

fn env_parsed<T: FromStr>(
    env: &dyn Fn(&str) -> Option<String>,
    key: &str,
) -> Result<Option<T>, ConfigError>
where
    T::Err: fmt::Display,
{
    let name = format!("{ENV_PREFIX}{}", key.to_ascii_uppercase());
    match env(&name) {
        None => Ok(None),
        Some(raw) => raw
            .trim()
            .parse::<T>()
            .map(Some)
            .map_err(|e| ConfigError::Env {
                var: name,
                message: e.to_string(),
            }),
    }
}

fn parse_static_tokens(json: &str) -> Result<Vec<StaticToken>, String> {
    serde_json::from_str(json)
        .map_err(|e| format!("expected a JSON array of {{token, org, client_id, sandboxes}}: {e}"))
}

impl Settings {
    /// Builds the settings from the process environment and `args`.
    pub fn load(args: &ServeArgs) -> Result<Settings, ConfigError> {
        Settings::load_from(args, &|name| std::env::var(name).ok())
    }

    /// Builds the settings from `args` and an environment lookup (injected for tests).
    pub fn load_from(
        args: &ServeArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let file_path = args
            .config
            .clone()
            .or_else(|| env(&format!("{ENV_PREFIX}CONFIG")).map(PathBuf::from));
        let file = match &file_path {
            Some(path) => Layer::from_file(path)?,
            None => Layer::default(),
        };
        let merged = file
            .merge(Layer::from_env(env)?)
            .merge(Layer::from_args(args)?);
        Settings::validate(merged)
    }

    fn validate(layer: Layer) -> Result<Settings, ConfigError> {
        let auth = validate_auth(&layer)?;
        let jobs = validate_jobs(&layer)?;
        let log_level = layer
            .log_level
            .unwrap_or_else(|| DEFAULT_LOG_LEVEL.to_owned());
        tracing_subscriber::EnvFilter::try_new(&log_level).map_err(|e| ConfigError::Invalid {
            setting: "log_level",
            message: e.to_string(),
        })?;
        let database_url = layer
            .database_url
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid {
                setting: "database_url",
                message: "expected a sqlite:// or postgres:// URL".into(),
            });
        }
        let interval_ms = positive(
            "health_check_interval_ms",
            layer.health_check_interval_ms,
            DEFAULT_HEALTH_CHECK_INTERVAL_MS,
        )?;
        Ok(Settings {
            grpc_addr: layer.grpc_addr.unwrap_or(DEFAULT_GRPC_ADDR),
            rest_addr: match layer.rest_addr {
                Some(ListenAddr::Off) => None,
                Some(ListenAddr::At(a)) => Some(a),
                None => Some(DEFAULT_REST_ADDR),
            },
            database_url: DatabaseUrl(database_url),
            log_format: layer.log_format.unwrap_or(LogFormat::Text),
            log_level,
            auth,
            health_check_interval: Duration::from_millis(interval_ms),
            limits: Limits {
                max_body_bytes: to_usize(
                    "max_body_bytes",
                    positive(
                        "max_body_bytes",
                        layer.max_body_bytes,
                        DEFAULT_MAX_BODY_BYTES,
                    )?,
                )?,
                max_batch_records: to_usize(
                    "max_batch_records",
                    positive(
                        "max_batch_records",
                        layer.max_batch_records,
                        DEFAULT_MAX_BATCH_RECORDS,
                    )?,
                )?,
            },
            jobs,
            demo: layer.demo.unwrap_or(false),
        })
        .and_then(check_batch_limit)
    }
}

fn validate_jobs(layer: &Layer) -> Result<JobSettings, ConfigError> {
    let lease_ms = positive("job_lease_ms", layer.job_lease_ms, DEFAULT_JOB_LEASE_MS)?;
    if lease_ms < 300 {
        return Err(ConfigError::Invalid {
            setting: "job_lease_ms",
            message: "at least 300 (the lease is renewed every third of it)".into(),
        });
    }
    let page_size = positive("job_page_size", layer.job_page_size, DEFAULT_JOB_PAGE_SIZE)?;
    if page_size > MAX_JOB_PAGE_SIZE {
        return Err(ConfigError::Invalid {
            setting: "job_page_size",
            message: format!("at most {MAX_JOB_PAGE_SIZE}"),
        });
    }
    let max_running = positive(
        "max_running_jobs_per_sandbox",
        layer.max_running_jobs_per_sandbox,
        DEFAULT_MAX_RUNNING_JOBS_PER_SANDBOX,
    )?;
    let threads = to_usize("job_threads", layer.job_threads.unwrap_or(0))?;
    Ok(JobSettings {
        workers: to_usize(
            "job_workers",
            layer.job_workers.unwrap_or(DEFAULT_JOB_WORKERS),
        )?,
        threads: if threads == 0 {
            crate::engine::default_threads()
        } else {
            threads
        },
        lease: Duration::from_millis(lease_ms),
        poll_interval: Duration::from_millis(positive(
            "job_poll_interval_ms",
            layer.job_poll_interval_ms,
            DEFAULT_JOB_POLL_INTERVAL_MS,
        )?),
        page_size,
        page_pause: Duration::from_millis(layer.job_page_pause_ms.unwrap_or(0)),
        max_running_per_sandbox: u32::try_from(max_running).map_err(|_| ConfigError::Invalid {
            setting: "max_running_jobs_per_sandbox",
            message: "too large".into(),
        })?,
    })
}

/// The domain refuses larger batches whatever the setting says, so a larger setting is a mistake.
fn check_batch_limit(settings: Settings) -> Result<Settings, ConfigError> {
    let most = crate::domain::profile::MAX_BATCH_RECORDS;
    if settings.limits.max_batch_records > most {
        return Err(ConfigError::Invalid {
            setting: "max_batch_records",
            message: format!("at most {most}"),
        });
    }
    Ok(settings)
}

fn validate_auth(layer: &Layer) -> Result<AuthSettings, ConfigError> {
    let static_tokens = layer.auth_static_tokens.clone().unwrap_or_default();
    for t in &static_tokens {
        if t.token.expose().is_empty() || t.org.is_empty() || t.client_id.is_empty() {
            return Err(ConfigError::Invalid {
                setting: "auth_static_tokens",
                message: "every token needs a non-empty token, org and client_id".into(),
            });
        }
        if t.sandboxes.is_empty() {
            return Err(ConfigError::Invalid {
                setting: "auth_static_tokens",
                message: format!(
                    "the token for org {} lists no sandboxes (use [\"*\"] for all)",
                    t.org
                ),
            });
        }
    }
    if layer
        .auth_hs256_secret
        .as_ref()
        .is_some_and(|s| s.expose().len() < 16)
    {
        return Err(ConfigError::Invalid {
            setting: "auth_hs256_secret",
            message: "must be at least 16 bytes long".into(),
        });
    }
    Ok(AuthSettings {
        hs256_secret: layer.auth_hs256_secret.clone(),
        rs256_public_key_path: layer.auth_rs256_public_key_path.clone(),
        static_tokens,
        jwt_issuer: layer.auth_jwt_issuer.clone(),
        jwt_audience: layer.auth_jwt_audience.clone(),
    })
}

fn positive(setting: &'static str, value: Option<u64>, default: u64) -> Result<u64, ConfigError> {
    match value {
        Some(0) => Err(ConfigError::Invalid {
            setting,
            message: "must be greater than 0".into(),
        }),
        Some(v) => Ok(v),
        None => Ok(default),
    }
}

fn to_usize(setting: &'static str, value: u64) -> Result<usize, ConfigError> {
    usize::try_from(value).map_err(|_| ConfigError::Invalid {
        setting,
        message: "too large".into(),
    })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
