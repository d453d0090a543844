//! Logging setup: `tracing` to stdout, as text lines or JSON objects, filtered by the configured
//! level. Request spans (`request{rpc org sandbox request_id}`) come from the gRPC layer; every
//! event logged inside one carries them: in text as the span prefix, in JSON as `span` (the
//! innermost) and `spans` (all of them, outermost first), so a domain event still shows its
//! request id.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. Fails if `filter` is not a valid directive or a subscriber is
/// already installed.
pub fn init(format: LogFormat, filter: &str) -> Result<(), String> {
    let filter = EnvFilter::try_new(filter).map_err(|e| e.to_string())?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
    installed.map_err(|e| e.to_string())
}
