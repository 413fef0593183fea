// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Helpers of the telemetry tests: one in-process `rtp-metrics` tracer per test binary, a
//! plain HTTP GET on 127.0.0.1, a reader of the Prometheus text format's samples, and the
//! Prometheus tools (Debian package `prometheus`), which must be installed.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use gst::prelude::*;

use super::common;

/// Starts the tracer (port 0: a free port) once per process and returns its port.
pub fn tracer_port() -> u16 {
    static TRACER: OnceLock<gstrtp2::tracer::RtpMetricsTracer> = OnceLock::new();
    common::init();
    let tracer = TRACER.get_or_init(|| {
        glib::Object::builder::<gstrtp2::tracer::RtpMetricsTracer>()
            .property("port", 0i32)
            .build()
    });
    let port = tracer.property::<u32>("bound-port");
    assert_ne!(port, 0, "the tracer could not listen on 127.0.0.1");
    port as u16
}

/// GETs `path` from 127.0.0.1:`port` (with `accept` as the Accept header); returns the
/// status code and body. Bounded by a 10 s timeout.
pub fn http_get(port: u16, path: &str, accept: Option<&str>) -> (u16, String) {
    try_http_get(port, path, accept).unwrap_or_else(|| panic!("GET 127.0.0.1:{port}{path} failed"))
}

/// [`http_get`], `None` when nothing listens on `port` yet.
pub fn try_http_get(port: u16, path: &str, accept: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let accept = accept.map_or(String::new(), |a| format!("Accept: {a}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{accept}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())?;
    // tiny_http answers with a length or chunks; strip chunk framing if any.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Some((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// `/metrics` in the Prometheus text format; panics unless the status is 200.
pub fn scrape(port: u16) -> String {
    let (status, body) = http_get(port, "/metrics", None);
    assert_eq!(status, 200, "GET /metrics: {body}");
    body
}

/// The values of the samples named `name` whose labels include every `(key, value)` of
/// `filter`, read from Prometheus text `body`.
pub fn samples(body: &str, name: &str, filter: &[(&str, &str)]) -> Vec<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, labels) = series.split_once('{').unwrap_or((series, ""));
            if n != name {
                return None;
            }
            let all = filter
                .iter()
                .all(|(k, v)| labels.contains(&format!("{k}=\"{v}\"")));
            all.then(|| value.parse().ok()).flatten()
        })
        .collect()
}

/// The one sample of `name` matching `filter`; panics if there is not exactly one.
pub fn sample(body: &str, name: &str, filter: &[(&str, &str)]) -> f64 {
    let v = samples(body, name, filter);
    assert_eq!(v.len(), 1, "{name} {filter:?}: {v:?}\n{body}");
    v[0]
}

/// Path of a Prometheus tool; panics with how to install it when missing.
pub fn prometheus_tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not installed: install the Debian package `prometheus` \
                 (apt-get install -y prometheus, or scripts/install-deps.sh)"
            )
        })
}

/// Runs `pipeline` until EOS or `timeout` (panics on error or timeout), then sets it to
/// NULL.
pub fn run(pipeline: &gst::Pipeline, timeout: Duration) {
    common::run_to_eos(pipeline, timeout);
    pipeline.set_state(gst::State::Null).unwrap();
}

/// Parses `description` as a pipeline named `name`.
pub fn pipeline(name: &str, description: &str) -> gst::Pipeline {
    let p = gst::parse::launch(description)
        .expect("pipeline description")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    p.set_property("name", name);
    p
}
