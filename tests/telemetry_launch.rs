// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The `rtp-metrics` tracer loaded the way users load it: `GST_TRACERS` in `gst-launch-1.0`
//! with the plugin on `GST_PLUGIN_PATH`; it serves `/metrics`, and a taken port is named on
//! stderr while the pipeline still runs to EOS.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
mod telemetry_support;
use telemetry_support::*;

/// Newest modification time of the files under `dir`.
fn newest(dir: &std::path::Path) -> std::time::SystemTime {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() {
                        newest(&path)
                    } else {
                        e.metadata()
                            .and_then(|m| m.modified())
                            .unwrap_or(std::time::UNIX_EPOCH)
                    }
                })
                .max()
                .unwrap_or(std::time::UNIX_EPOCH)
        })
        .unwrap_or(std::time::UNIX_EPOCH)
}

/// A directory holding a `libgstrtp2.so` built from the current sources: this test's
/// profile (`cargo build`) or target/release (`cargo build --release`, as scripts/test.sh
/// does).
fn plugin_dir() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources = newest(&root.join("src")).max(newest(&root.join("rtp2-core/src")));
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    [profile_dir, root.join("target/release")]
        .into_iter()
        .find(|dir| {
            std::fs::metadata(dir.join("libgstrtp2.so"))
                .and_then(|m| m.modified())
                .is_ok_and(|built| built >= sources)
        })
        .unwrap_or_else(|| {
            panic!("no libgstrtp2.so built from the current sources: run `cargo build --release`")
        })
}

/// Runs gst-launch-1.0 `description` with `GST_TRACERS=tracers`; returns whether it exited
/// successfully and its stderr. Bounded by 60 s.
fn launch_traced(tracers: &str, description: &str) -> (bool, String) {
    let registry = common::TempDir::new("telemetry-registry");
    let mut child = Command::new("gst-launch-1.0")
        .args(description.split_whitespace())
        .env("GST_PLUGIN_PATH", plugin_dir())
        .env("GST_REGISTRY", registry.0.join("registry.bin"))
        .env("GST_TRACERS", tracers)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gst-launch-1.0 (gstreamer1.0-tools)");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("gst-launch-1.0 did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (status.success(), err)
}

#[test]
fn taken_port_is_reported_and_the_pipeline_runs() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (ok, stderr) = launch_traced(
        &format!("rtp-metrics(port={port})"),
        "audiotestsrc num-buffers=50 ! audio/x-raw,rate=16000 ! avenc_g722 ! rtpg722pay2 ! fakesink",
    );
    assert!(ok, "the pipeline must run on: {stderr}");
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")) && stderr.contains("NOT served"),
        "no clear message naming port {port}: {stderr}"
    );
}

#[test]
fn gst_tracers_serves_metrics_of_a_gst_launch_pipeline() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tracers = format!("rtp-metrics(port={port})");
    let launcher = std::thread::spawn(move || {
        launch_traced(
            &tracers,
            "audiotestsrc is-live=true num-buffers=150 samplesperbuffer=320 \
             ! audio/x-raw,rate=16000 ! avenc_g722 ! rtpg722pay2 name=pay ! fakesink",
        )
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut packets = 0.0;
    while Instant::now() < deadline && packets == 0.0 {
        std::thread::sleep(Duration::from_millis(200));
        if let Some((200, body)) = try_http_get(port, "/metrics", None) {
            packets = samples(&body, "rtp2_packets_total", &[("element", "pay")])
                .first()
                .copied()
                .unwrap_or(0.0);
        }
    }
    let (ok, stderr) = launcher.join().unwrap();
    assert!(ok, "{stderr}");
    assert!(packets > 0.0, "no packets counted on port {port}: {stderr}");
}
