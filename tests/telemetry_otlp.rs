// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! OTLP export of the `rtp-metrics` tracer (cargo feature `otlp`) against a real OTLP/HTTP
//! receiver, `oteltap` (PyPI, installed by scripts/install-deps.sh): `gst-launch-1.0` runs
//! a pipeline with `GST_TRACERS="rtp-metrics(otlp-endpoint=…,otlp-interval=1)"`, oteltap
//! decodes what it receives and prints it as NDJSON, and the packet counter it got must
//! match the packets the pipeline's sink received; the latency histogram must arrive as an
//! OTLP Histogram with explicit bounds.
//!
//! Run with `cargo test --features otlp --test telemetry_otlp` (compiled only with the
//! feature, see `required-features` in Cargo.toml).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

/// The oteltap pinned by scripts/install-deps.sh.
const OTELTAP_INSTALL: &str = "python3 -m venv /opt/oteltap && /opt/oteltap/bin/pip install oteltap==1.0.0 \
     (or scripts/install-deps.sh; or set OTELTAP=/path/to/oteltap)";

/// The oteltap executable: `$OTELTAP`, /opt/oteltap/bin/oteltap, or `oteltap` on PATH.
fn oteltap() -> String {
    let candidates = [
        std::env::var("OTELTAP").ok(),
        Some("/opt/oteltap/bin/oteltap".to_owned()),
        Some("oteltap".to_owned()),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|exe| {
            Command::new(exe)
                .arg("--help")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .unwrap_or_else(|| {
            panic!("oteltap (OTLP/HTTP receiver) not found; install it: {OTELTAP_INSTALL}")
        })
}

/// Kills and reaps the child on drop, so that no failure leaves it running.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Collects the lines a child writes on stdout, from a thread.
fn collect_lines(child: &mut Child) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let out = child.stdout.take().expect("piped stdout");
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// A plugin directory holding the `libgstrtp2.so` cargo built with this test binary (same
/// features: `--features otlp`): cargo leaves it in `deps/` next to the test (it uplifts it
/// to the profile directory on `cargo build` only), and `deps/` holds other shared objects
/// the registry should not scan, so the plugin is copied into `dir`.
fn plugin_dir(dir: &std::path::Path) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let built = [deps.to_path_buf(), deps.parent().unwrap().to_path_buf()]
        .into_iter()
        .map(|d| d.join("libgstrtp2.so"))
        .find(|so| so.exists())
        .unwrap_or_else(|| panic!("no libgstrtp2.so next to {}", exe.display()));
    let plugins = dir.join("plugin");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(&built, plugins.join("libgstrtp2.so")).unwrap();
    plugins
}

/// A data point's attribute `key` as a string.
fn attribute<'a>(point: &'a Value, key: &str) -> Option<&'a str> {
    point["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)?["value"]["stringValue"]
        .as_str()
}

/// An OTLP JSON integer (proto3 JSON writes 64-bit integers as strings).
fn int(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.parse().ok())
}

#[test]
fn otlp_receiver_gets_packet_counts_and_latency_histograms() {
    let tap_exe = oteltap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut tap = Reaped(
        Command::new(&tap_exe)
            .args(["--port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("oteltap"),
    );
    let received = collect_lines(&mut tap.0);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !received
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("Listening"))
    {
        assert!(
            Instant::now() < deadline,
            "oteltap did not start listening on port {port} in 15 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // 100 × 20 ms of G.722 through our payloader (2 s), while a second live branch keeps
    // the pipeline up for 4 s, so that exports after the last packet carry the final count.
    let registry = common::TempDir::new("telemetry-otlp-registry");
    let mut launch = Reaped(
        Command::new("gst-launch-1.0")
            .args(
                "-v audiotestsrc is-live=true num-buffers=100 samplesperbuffer=320 \
                 ! audio/x-raw,rate=16000,channels=1 ! avenc_g722 \
                 ! rtpg722pay2 name=pay pt=98 ssrc=4660 ! fakesink name=rtpsink silent=false \
                 audiotestsrc is-live=true num-buffers=40 samplesperbuffer=1600 \
                 ! audio/x-raw,rate=16000 ! fakesink"
                    .split_whitespace(),
            )
            .env("GST_PLUGIN_PATH", plugin_dir(&registry.0))
            .env("GST_REGISTRY", registry.0.join("registry.bin"))
            .env(
                "GST_TRACERS",
                format!(
                    "rtp-metrics(port=0,otlp-endpoint=http://127.0.0.1:{port},otlp-interval=1)"
                ),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gst-launch-1.0 (gstreamer1.0-tools)"),
    );
    let launched = collect_lines(&mut launch.0);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = launch.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "gst-launch-1.0 did not finish in 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut launch.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "gst-launch-1.0 failed: {stderr}");
    assert!(
        !stderr.contains("no property") && !stderr.contains("OTLP export"),
        "tracer without the otlp feature, or a failing export: {stderr}"
    );
    // fakesink's last-message: one `chain` line per RTP packet it received.
    let sent = launched
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("rtpsink") && l.contains("chain"))
        .count() as u64;
    assert!(sent >= 50, "the pipeline delivered only {sent} RTP packets");

    // What oteltap decoded: one NDJSON metric per line; the last export may still be in flight.
    std::thread::sleep(Duration::from_millis(1500));
    let metrics: Vec<Value> = received
        .lock()
        .unwrap()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["name"].is_string())
        .collect();
    let ours = |point: &Value| {
        attribute(point, "pipeline") == Some("pipeline0")
            && attribute(point, "element") == Some("pay")
    };

    // Counters: cumulative monotonic Sums under the Prometheus name, with the stream's labels.
    let counted = metrics
        .iter()
        .filter(|m| m["name"] == "rtp2_packets_total")
        .inspect(|m| {
            assert_eq!(m["sum"]["isMonotonic"], true, "{m}");
            assert_eq!(m["sum"]["aggregationTemporality"], 2, "cumulative: {m}");
        })
        .flat_map(|m| {
            m["sum"]["dataPoints"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|p| {
            ours(p)
                && attribute(p, "pad") == Some("src")
                && attribute(p, "ssrc") == Some("4660")
                && attribute(p, "pt") == Some("98")
        })
        .filter_map(|p| int(&p["asInt"]))
        .max();
    let Some(counted) = counted else {
        panic!(
            "oteltap got no rtp2_packets_total{{element=pay,pad=src,ssrc=4660,pt=98}} in {} metrics \
             (libgstrtp2.so built without --features otlp?); stderr: {stderr}",
            metrics.len()
        );
    };
    let error = (counted as f64 - sent as f64).abs() / sent as f64;
    eprintln!(
        "OTLP rtp2_packets_total {counted}, fakesink got {sent} ({:.1} %)",
        error * 100.0
    );
    assert!(
        error <= 0.05,
        "OTLP says {counted} packets, the sink got {sent}"
    );

    // The processing-latency histogram: explicit bounds, one more bucket than bounds.
    let histogram = metrics
        .iter()
        .filter(|m| m["name"] == "rtp2_processing_latency_seconds")
        .inspect(|m| assert_eq!(m["unit"], "s", "{m}"))
        .flat_map(|m| {
            m["histogram"]["dataPoints"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(ours)
        .max_by_key(|p| int(&p["count"]).unwrap_or(0))
        .expect("oteltap got no rtp2_processing_latency_seconds of pay");
    let bounds = histogram["explicitBounds"]
        .as_array()
        .expect("explicit bounds");
    let buckets: Vec<u64> = histogram["bucketCounts"]
        .as_array()
        .expect("bucket counts")
        .iter()
        .filter_map(int)
        .collect();
    assert!(!bounds.is_empty(), "{histogram}");
    assert_eq!(buckets.len(), bounds.len() + 1, "{histogram}");
    let count = int(&histogram["count"]).unwrap_or(0);
    assert!(count > 0, "{histogram}");
    assert_eq!(buckets.iter().sum::<u64>(), count, "{histogram}");
}
