//! The metrics endpoint of `sync --metrics-addr`: a small blocking HTTP server (tiny_http) on
//! its own thread that answers `GET /metrics` with the Prometheus text exposition and `GET /`
//! with a dashboard page that polls `/metrics` and draws it (no external script, font or style:
//! the page works offline).

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context as _;

use super::metrics::Metrics;

/// The dashboard: one self-contained HTML page (inline CSS, JS and SVG).
const DASHBOARD: &str = include_str!("dashboard.html");

/// `Content-Type` of the text exposition format (Prometheus "Exposition formats", 0.0.4).
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A running metrics server; [`MetricsServer::stop`] ends it.
pub struct MetricsServer {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    addr: SocketAddr,
}

impl MetricsServer {
    /// Listens on `addr` (`HOST:PORT`; port 0 picks a free one) and serves `metrics`.
    ///
    /// # Errors
    /// When the address does not parse or cannot be bound.
    pub fn start(addr: &str, metrics: Arc<Metrics>) -> anyhow::Result<MetricsServer> {
        let server = tiny_http::Server::http(addr)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("--metrics-addr {addr}: cannot listen"))?;
        let bound = server
            .server_addr()
            .to_ip()
            .with_context(|| format!("--metrics-addr {addr}: not an IP address"))?;
        let server = Arc::new(server);
        let serving = Arc::clone(&server);
        let thread = std::thread::Builder::new()
            .name("metrics-http".to_owned())
            .spawn(move || {
                for request in serving.incoming_requests() {
                    respond(request, &metrics);
                }
            })
            .context("cannot start the metrics thread")?;
        Ok(MetricsServer {
            server,
            thread: Some(thread),
            addr: bound,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting requests and waits for the serving thread.
    pub fn stop(mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("static header names and values are valid")
}

fn respond(request: tiny_http::Request, metrics: &Metrics) {
    use tiny_http::{Method, Response};
    let path = request.url().split('?').next().unwrap_or("/").to_owned();
    let response = match (request.method(), path.as_str()) {
        (Method::Get, "/metrics") => Response::from_string(metrics.render())
            .with_header(header("Content-Type", METRICS_CONTENT_TYPE)),
        (Method::Get, "/") => Response::from_string(DASHBOARD)
            .with_header(header("Content-Type", "text/html; charset=utf-8")),
        (Method::Get, _) => Response::from_string("not found\n").with_status_code(404),
        _ => Response::from_string("method not allowed\n")
            .with_status_code(405)
            .with_header(header("Allow", "GET")),
    };
    let response = response.with_header(header("Cache-Control", "no-store"));
    if let Err(e) = request.respond(response) {
        tracing::debug!("metrics client went away: {e}");
    }
}
