// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! OTLP/HTTP metrics export (cargo feature `otlp`): a background thread that, every
//! `otlp-interval` seconds, encodes the registry `/metrics` serves, maps it to OTLP
//! ([`super::otlp_convert`]) and POSTs one `ExportMetricsServiceRequest` as
//! `application/x-protobuf` to `<otlp-endpoint>/v1/metrics` (OTLP specification,
//! "OTLP/HTTP"). Streaming threads never wait for it: it only reads the same atomics and
//! family maps a scrape reads. Each export is a fresh snapshot of cumulative values, so a
//! failed one is dropped, never queued; failures are reported at most once a minute.

use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prometheus_client::encoding::text;
use prometheus_client::registry::Registry;
use prost::Message;

use super::otlp_convert::{Stamps, metrics_from_openmetrics};

/// Longest a single POST may take (bounded so that teardown never hangs on a dead peer).
const MAX_REQUEST_TIME: Duration = Duration::from_secs(5);
/// Least time between two warnings about failing exports.
const WARNING_PERIOD: Duration = Duration::from_secs(60);

/// A running exporter; [`OtlpExporter::stop`] sends a last snapshot and ends its thread.
pub(crate) struct OtlpExporter {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<thread::JoinHandle<()>>,
    /// The URL POSTed to.
    pub url: String,
}

impl OtlpExporter {
    /// Starts exporting `registry` to `endpoint` (`http://host:port`, with or without the
    /// `/v1/metrics` path) every `interval`.
    pub(crate) fn start(
        endpoint: &str,
        interval: Duration,
        registry: Arc<Registry>,
    ) -> Result<Self, String> {
        let base = endpoint.trim_end_matches('/');
        let url = if base.ends_with("/v1/metrics") {
            base.to_owned()
        } else {
            format!("{base}/v1/metrics")
        };
        if !url.starts_with("http://") {
            return Err(format!(
                "otlp-endpoint {endpoint}: only http:// endpoints are supported"
            ));
        }
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let mut export = Export::new(url.clone(), interval, registry);
        let signal = stop.clone();
        let thread = thread::Builder::new()
            .name("rtp-metrics-otlp".into())
            .spawn(move || {
                let (lock, cvar) = &*signal;
                let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    let deadline = Instant::now() + interval;
                    while !*stopped {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        stopped = cvar
                            .wait_timeout(stopped, left)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    }
                    let last = *stopped;
                    drop(stopped);
                    // The last snapshot (at teardown) carries the final counts.
                    export.once();
                    if last {
                        return;
                    }
                    stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                }
            })
            .map_err(|e| format!("cannot start the OTLP thread: {e}"))?;
        Ok(OtlpExporter {
            stop,
            thread: Some(thread),
            url,
        })
    }

    /// Sends a last snapshot and joins the thread (at most [`MAX_REQUEST_TIME`]).
    pub(crate) fn stop(&mut self) {
        let (lock, cvar) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpExporter")
            .field("url", &self.url)
            .finish()
    }
}

impl Drop for OtlpExporter {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The exporter thread's state.
struct Export {
    url: String,
    registry: Arc<Registry>,
    agent: ureq::Agent,
    start_ns: u64,
    failures: u64,
    last_warning: Option<Instant>,
}

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn string_attribute(key: &str, value: String) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value)),
        }),
        ..KeyValue::default()
    }
}

impl Export {
    fn new(url: String, interval: Duration, registry: Arc<Registry>) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(interval.min(MAX_REQUEST_TIME)))
            .http_status_as_error(true)
            .build();
        Export {
            url,
            registry,
            agent: ureq::Agent::new_with_config(config),
            start_ns: unix_ns(),
            failures: 0,
            last_warning: None,
        }
    }

    /// The current snapshot as an encoded `ExportMetricsServiceRequest`.
    fn request(&self) -> Vec<u8> {
        let mut body = String::new();
        if text::encode(&mut body, &self.registry).is_err() {
            body.clear();
        }
        let stamps = Stamps {
            start_ns: self.start_ns,
            now_ns: unix_ns(),
        };
        let service = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "gstreamer".into());
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: vec![
                        string_attribute("service.name", service),
                        string_attribute("process.pid", std::process::id().to_string()),
                    ],
                    ..Resource::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "rtp-metrics".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..InstrumentationScope::default()
                    }),
                    metrics: metrics_from_openmetrics(&body, stamps),
                    ..ScopeMetrics::default()
                }],
                ..ResourceMetrics::default()
            }],
        }
        .encode_to_vec()
    }

    /// One export; a failure is counted and reported at most once per [`WARNING_PERIOD`].
    fn once(&mut self) {
        let body = self.request();
        let sent = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/x-protobuf")
            .send(&body[..]);
        match sent {
            Ok(_) => {
                if self.failures > 0 {
                    eprintln!(
                        "rtp-metrics: OTLP export to {} works again after {} failed exports",
                        self.url, self.failures
                    );
                    self.failures = 0;
                    self.last_warning = None;
                }
            }
            Err(err) => {
                self.failures += 1;
                if self
                    .last_warning
                    .is_none_or(|t| t.elapsed() >= WARNING_PERIOD)
                {
                    self.last_warning = Some(Instant::now());
                    let message = format!(
                        "OTLP export to {} failed ({err}); {} failed so far, the snapshot is dropped, next warning in a minute at most",
                        self.url, self.failures
                    );
                    gst::warning!(super::imp::CAT, "{message}");
                    eprintln!("rtp-metrics: {message}");
                }
            }
        }
    }
}
