// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Marginal memory of one more element instance in PLAYING: puts one instance in a pipeline
//! (so that the plugin, types and pools exist), then 1000 more, and prints the growth of the
//! process's resident memory divided by 1000, for each element given (ours and C), each in
//! a process of its own.
//!
//! `instance_memory [element ...]` (default: our G.722/H.264/H.265 elements and the C ones)

use gst::prelude::*;

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

fn playing(element: &str, count: usize) -> gst::Pipeline {
    let pipeline = gst::Pipeline::new();
    for _ in 0..count {
        let e = gst::ElementFactory::make(element)
            .build()
            .expect("element exists");
        pipeline.add(&e).expect("add");
    }
    pipeline.set_state(gst::State::Playing).expect("to PLAYING");
    let _ = pipeline.state(gst::ClockTime::from_seconds(5));
    pipeline
}

fn main() {
    gst::init().expect("gst init");
    gstrtp2::plugin_register_static().expect("register rtp2");
    let mut elements: Vec<String> = std::env::args().skip(1).collect();
    if elements.is_empty() {
        elements = [
            "rtpg722pay2",
            "rtpg722pay",
            "rtpg722depay2",
            "rtpg722depay",
            "rtph264pay2",
            "rtph264pay",
            "rtph264depay2",
            "rtph264depay",
            "rtph265pay2",
            "rtph265pay",
            "rtph265depay2",
            "rtph265depay",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
    }
    if elements.len() > 1 {
        // One process per element, so that memory freed by one does not hide another's.
        println!("| element | bytes per extra instance in PLAYING (1000 instances) |");
        println!("|---|---|");
        let exe = std::env::current_exe().expect("own path");
        for element in elements {
            let out = std::process::Command::new(&exe)
                .arg(&element)
                .output()
                .expect("runs");
            print!("{}", String::from_utf8_lossy(&out.stdout));
        }
        return;
    }
    for element in elements {
        let warm = playing(&element, 1);
        let before = rss_bytes();
        let many = playing(&element, 1000);
        let after = rss_bytes();
        println!("| `{element}` | {} |", after.saturating_sub(before) / 1000);
        many.set_state(gst::State::Null).expect("to NULL");
        warm.set_state(gst::State::Null).expect("to NULL");
    }
}
