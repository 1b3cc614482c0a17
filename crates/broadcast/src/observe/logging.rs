//! Log settings from the command line (`--log-level`, `-v`/`-q`, `--log-format`, `--color`,
//! `RUST_LOG`, `NO_COLOR`) and the subscriber that writes logs to stderr through the redactor.

use std::io::{IsTerminal as _, Write};

use clap::ValueEnum;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event, with the group and target spans before the message.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, the event's fields flattened,
    /// `span` and `spans` for the group and target).
    Json,
}

/// When to colour log lines (`--color`, as cargo and ripgrep spell it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal and `NO_COLOR` is unset or empty.
    #[default]
    Auto,
    /// Always colour, even into a file or a pipe, whatever `NO_COLOR` says.
    Always,
    /// Never colour.
    Never,
}

/// What the command line asks of logging.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSettings {
    /// `--log-level`: an `EnvFilter` directive; wins over everything else when given.
    pub level: Option<String>,
    /// Number of `-v`.
    pub verbose: u8,
    /// `-q`.
    pub quiet: bool,
    /// `--log-format`.
    pub format: LogFormat,
    /// `--color`.
    pub color: ColorChoice,
}

/// The filter directive in force: `--log-level` when given, else `-q` (`error`) or `-v`
/// (`info` for broadcast's own crates, `-vv` `debug`, both `warn` for libraries; `-vvv`
/// `trace` for everything), else `RUST_LOG` when set and not empty, else `warn`. (A target
/// directive matches by prefix, so `broadcast` also covers `broadcast_git_batch` and the other
/// workspace crates.)
pub fn filter_directive(s: &LogSettings, rust_log: Option<&str>) -> String {
    if let Some(level) = &s.level {
        return level.clone();
    }
    if s.quiet {
        return "error".to_owned();
    }
    match s.verbose {
        0 => rust_log
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .unwrap_or("warn")
            .to_owned(),
        1 => "warn,broadcast=info".to_owned(),
        2 => "warn,broadcast=debug".to_owned(),
        _ => "trace".to_owned(),
    }
}

/// Whether log lines get ANSI colours: `always`, `never`, or with `auto` when stderr is a
/// terminal and `NO_COLOR` is unset or empty (<https://no-color.org>: a command-line flag wins
/// over the variable).
pub fn use_color(choice: ColorChoice, stderr_is_terminal: bool, no_color: Option<&str>) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stderr_is_terminal && no_color.is_none_or(str::is_empty),
    }
}

/// Log targets never shown at any level, whatever `--log-level` or `RUST_LOG` ask: the HTTP and
/// TLS libraries log requests with their headers (ureq's trace level dumps each request in hex
/// and ASCII, `Authorization` included), which no redactor can recognise.
const HIDDEN_LOG_TARGETS: &[&str] = &[
    "ureq",
    "ureq_proto",
    "rustls",
    "rustls_pki_types",
    "webpki",
    "http",
    "httparse",
    "hyper",
    "h2",
    "native_tls",
];

/// True for the targets of [`HIDDEN_LOG_TARGETS`] and their modules.
pub fn is_hidden_log_target(target: &str) -> bool {
    HIDDEN_LOG_TARGETS.iter().any(|t| {
        target
            .strip_prefix(t)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// Stderr that clears the progress bars while a log line is written (and draws them again
/// after), so lines and bars never overwrite each other.
struct Stderr(Option<indicatif::MultiProgress>);

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &self.0 {
            Some(multi) => multi.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Layers besides the log printer that observe the run.
#[derive(Default)]
pub struct Observers {
    /// Counts events into Prometheus metrics.
    pub metrics: Option<std::sync::Arc<super::metrics::Metrics>>,
    /// Draws progress bars on stderr.
    pub progress: Option<super::progress::Progress>,
}

/// Installs the global subscriber: the log printer (filtered as [`filter_directive`] says,
/// text or JSON, coloured as [`use_color`] says, every line through the redactor) plus the
/// metrics and progress layers when given (they see their events whatever the log level).
///
/// # Errors
/// When the directive is not a valid `EnvFilter` (the message names the flag).
pub fn init(settings: &LogSettings, observers: Observers) -> anyhow::Result<()> {
    let rust_log = std::env::var("RUST_LOG").ok();
    let mut directive = filter_directive(settings, rust_log.as_deref());
    if settings.format == LogFormat::Json {
        // Notes are lines of their own in text mode; in JSON they are events, shown as before.
        super::notes_as_events(true);
        if !settings.quiet {
            directive.push_str(",broadcast::note=info");
        }
    }
    let filter = tracing_subscriber::EnvFilter::try_new(&directive).map_err(|e| {
        let from = if settings.level.is_some() {
            "--log-level"
        } else {
            "RUST_LOG"
        };
        anyhow::anyhow!("{from} '{directive}': {e} (e.g. warn, info, debug, trace)")
    })?;
    let color = use_color(
        settings.color,
        std::io::stderr().is_terminal(),
        std::env::var("NO_COLOR").ok().as_deref(),
    );
    let multi = observers.progress.as_ref().map(|p| p.multi());
    let writer = broadcast_redact::tracing::RedactingMakeWriter::new(move || Stderr(multi.clone()));
    let printer = match settings.format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(color)
            .fmt_fields(broadcast_redact::tracing::redacting_fields())
            .with_writer(writer)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(writer)
            .with_filter(filter)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::filter_fn(|meta| {
            !is_hidden_log_target(meta.target())
        }))
        .with(printer)
        .with(observers.metrics.map(super::metrics::MetricsLayer::layer))
        .with(observers.progress.map(super::progress::Progress::layer))
        .try_init();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directive_table() {
        let s = |level: Option<&str>, verbose: u8, quiet: bool| LogSettings {
            level: level.map(str::to_owned),
            verbose,
            quiet,
            ..LogSettings::default()
        };
        // (settings, RUST_LOG, directive)
        let cases = [
            (s(None, 0, false), None, "warn"),
            (s(None, 0, false), Some("debug"), "debug"),
            (s(None, 0, false), Some("  "), "warn"),
            (s(Some("trace"), 0, false), Some("debug"), "trace"),
            (s(Some("info"), 2, true), None, "info"),
            (s(None, 1, false), Some("error"), "warn,broadcast=info"),
            (s(None, 2, false), None, "warn,broadcast=debug"),
            (s(None, 3, false), None, "trace"),
            (s(None, 7, false), None, "trace"),
            (s(None, 0, true), Some("debug"), "error"),
        ];
        for (settings, env, want) in cases {
            assert_eq!(
                filter_directive(&settings, env),
                want,
                "{settings:?} {env:?}"
            );
        }
    }

    #[test]
    fn color_table() {
        use ColorChoice::*;
        // (choice, terminal, NO_COLOR, colour)
        let cases = [
            (Auto, true, None, true),
            (Auto, false, None, false),
            (Auto, true, Some("1"), false),
            (Auto, true, Some(""), true),
            (Always, false, Some("1"), true),
            (Never, true, None, false),
        ];
        for (choice, tty, no_color, want) in cases {
            assert_eq!(
                use_color(choice, tty, no_color),
                want,
                "{choice:?} {tty} {no_color:?}"
            );
        }
    }

    #[test]
    fn hidden_targets() {
        assert!(is_hidden_log_target("ureq"));
        assert!(is_hidden_log_target("ureq::unversioned"));
        assert!(!is_hidden_log_target("ureqx"));
        assert!(!is_hidden_log_target("broadcast::rest"));
    }
}
