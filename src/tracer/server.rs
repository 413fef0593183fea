// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The `/metrics` HTTP endpoint: a `tiny_http` server on its own thread encoding the
//! registry at each request, in the Prometheus text format (0.0.4) or in OpenMetrics text
//! when the scraper's `Accept` header asks for `application/openmetrics-text`.

use std::sync::Arc;
use std::thread;

use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::registry::Registry;

/// OpenMetrics text content type (OpenMetrics 1.0 section "Overall structure").
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A running endpoint; [`MetricsServer::stop`] ends its thread.
pub(crate) struct MetricsServer {
    server: Arc<tiny_http::Server>,
    thread: Option<thread::JoinHandle<()>>,
    /// The port actually bound (the requested one, or the one picked for port 0).
    pub port: u16,
}

impl MetricsServer {
    /// Listens on `address:port` and serves `registry` from a new thread.
    pub(crate) fn start(address: &str, port: u16, registry: Arc<Registry>) -> Result<Self, String> {
        let server = tiny_http::Server::http((address, port))
            .map_err(|e| format!("cannot listen on {address}:{port}: {e}"))?;
        let bound = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or_else(|| format!("{address}:{port} is not an IP address"))?;
        let server = Arc::new(server);
        let serving = server.clone();
        let thread = thread::Builder::new()
            .name("rtp-metrics-http".into())
            .spawn(move || serve(&serving, &registry))
            .map_err(|e| format!("cannot start the HTTP thread: {e}"))?;
        Ok(MetricsServer {
            server,
            thread: Some(thread),
            port: bound,
        })
    }

    /// Stops accepting requests and joins the thread.
    pub(crate) fn stop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("port", &self.port)
            .finish()
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(server: &tiny_http::Server, registry: &Registry) {
    for request in server.incoming_requests() {
        let path = request.url().split('?').next().unwrap_or("");
        let response = if path != "/metrics" {
            tiny_http::Response::from_string("not found: the metrics are at /metrics\n")
                .with_status_code(404)
        } else {
            let openmetrics = request.headers().iter().any(|h| {
                h.field.equiv("Accept") && h.value.as_str().contains("application/openmetrics-text")
            });
            let mut body = String::new();
            let (encoded, content_type) = if openmetrics {
                (text::encode(&mut body, registry), OPENMETRICS_CONTENT_TYPE)
            } else {
                (
                    prometheus_text::encode(&mut body, registry),
                    prometheus_text::CONTENT_TYPE,
                )
            };
            match encoded {
                Ok(()) => {
                    let response = tiny_http::Response::from_string(body);
                    match tiny_http::Header::from_bytes("Content-Type", content_type) {
                        Ok(header) => response.with_header(header),
                        Err(()) => response,
                    }
                }
                Err(_) => {
                    tiny_http::Response::from_string("encoding failed\n").with_status_code(500)
                }
            }
        };
        // A scraper that hung up is no concern of ours.
        let _ = request.respond(response);
    }
}
