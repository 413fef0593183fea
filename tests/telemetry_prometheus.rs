// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! A real Prometheus server (Debian package `prometheus`), started by the test on
//! 127.0.0.1 with a 1 s scrape interval, scrapes the `rtp-metrics` tracer while a live
//! pipeline streams through `netsim` loss; the packet rate and loss ratio Prometheus
//! answers on `/api/v1/query` match the pipeline's own counts within 5%.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gst::prelude::*;

mod common;
mod telemetry_support;
use telemetry_support::*;

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Percent-encodes a PromQL expression for a query string (RFC 3986 unreserved kept).
fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The single value of the instant vector `query` evaluates to (at `time` if given).
fn query(web: u16, query: &str, time: Option<f64>) -> Option<f64> {
    let mut path = format!("/api/v1/query?query={}", encode(query));
    if let Some(t) = time {
        path.push_str(&format!("&time={t:.3}"));
    }
    let (status, body) = http_get(web, &path, None);
    assert_eq!(status, 200, "{path}: {body}");
    assert!(body.contains("\"status\":\"success\""), "{body}");
    let results = body.matches("\"value\":[").count();
    if results == 0 {
        return None;
    }
    assert_eq!(results, 1, "one series expected for {query}: {body}");
    let value = body.split("\"value\":[").nth(1)?.split(']').next()?;
    let v = value.split(',').nth(1)?.trim_matches('"');
    v.parse().ok()
}

#[test]
fn prometheus_scrapes_packet_rate_and_loss_ratio_of_a_live_pipeline() {
    let port = tracer_port();
    let prometheus = prometheus_tool("prometheus");
    let dir = common::TempDir::new("prometheus");
    let web = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.0.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: rtp2\n    static_configs:\n      \
             - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.0.join("prometheus.log")).unwrap();
    let _server = Server(
        Command::new(&prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{web}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while try_http_get(web, "/-/ready", None).map(|r| r.0) != Some(200) {
        assert!(
            Instant::now() < deadline,
            "prometheus not ready in 30 s: {}",
            std::fs::read_to_string(dir.0.join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Prometheus begins scraping a few seconds after it is ready (target discovery is
    // throttled): wait for its first scrape of the tracer.
    let deadline = Instant::now() + Duration::from_secs(30);
    while query(web, "up{job=\"rtp2\"}", None) != Some(1.0) {
        assert!(
            Instant::now() < deadline,
            "Prometheus never scraped 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // 500 packets of 20 ms: 10 s of live G.722, 20% dropped by netsim.
    let p = pipeline(
        "prom-live",
        "audiotestsrc is-live=true num-buffers=500 samplesperbuffer=320 \
         ! audio/x-raw,rate=16000 ! avenc_g722 ! rtpg722pay2 name=pay \
         ! netsim name=net drop-probability=0.2 ! fakesink name=sink",
    );
    // The pipeline's own counts: when each packet left the payloader, how many arrived.
    let sent_at = Arc::new(Mutex::new(Vec::<f64>::with_capacity(600)));
    let received = Arc::new(AtomicUsize::new(0));
    let s = sent_at.clone();
    p.by_name("pay")
        .unwrap()
        .static_pad("src")
        .unwrap()
        .add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
            move |_, info| {
                let n = match &info.data {
                    Some(gst::PadProbeData::Buffer(_)) => 1,
                    Some(gst::PadProbeData::BufferList(l)) => l.len(),
                    _ => 0,
                };
                let now = unix_now();
                s.lock().unwrap().extend(std::iter::repeat_n(now, n));
                gst::PadProbeReturn::Ok
            },
        );
    let r = received.clone();
    p.by_name("sink")
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            r.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    common::run_to_eos(&p, Duration::from_secs(40));
    // Let Prometheus scrape the final counts.
    std::thread::sleep(Duration::from_secs(3));

    let sent_at = sent_at.lock().unwrap().clone();
    let sent = sent_at.len() as f64;
    let received = received.load(Ordering::Relaxed) as f64;
    assert!(sent >= 400.0, "only {sent} packets sent");

    // Packet rate over a 4 s window ending 7 s into the stream.
    let t = sent_at[0] + 7.0;
    let own_rate = sent_at.iter().filter(|&&x| x > t - 4.0 && x <= t).count() as f64 / 4.0;
    let selector = "{pipeline=\"prom-live\",element=\"pay\",pad=\"src\"}";
    let prom_rate = query(
        web,
        &format!("rate(rtp2_packets_total{selector}[4s])"),
        Some(t),
    )
    .expect("Prometheus has the packet rate");
    assert!(
        (prom_rate - own_rate).abs() <= 0.05 * own_rate,
        "packet rate: Prometheus {prom_rate}/s, pipeline {own_rate}/s"
    );

    // Loss ratio after the stream, from the counters on netsim's source pad.
    let own_loss = 1.0 - received / sent;
    let net = "{pipeline=\"prom-live\",element=\"net\",pad=\"src\"}";
    let prom_loss = query(
        web,
        &format!("rtp2_lost_packets_total{net} / rtp2_expected_packets_total{net}"),
        None,
    )
    .expect("Prometheus has the loss ratio");
    assert!(
        (prom_loss - own_loss).abs() <= 0.05 * own_loss,
        "loss ratio: Prometheus {prom_loss}, pipeline {own_loss} ({received} of {sent})"
    );
    eprintln!(
        "packet rate: Prometheus {prom_rate:.2}/s, pipeline {own_rate:.2}/s; \
         loss ratio: Prometheus {prom_loss:.4}, pipeline {own_loss:.4}"
    );
    p.set_state(gst::State::Null).unwrap();
}
