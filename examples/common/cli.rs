// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Command-line and statistics helpers shared by the loopback examples.

/// The number after `name` on the command line (`--seconds 10`), or `default`.
pub fn arg_value(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A counter of a `stats` structure, 0 when absent.
pub fn stat(s: &gst::StructureRef, name: &str) -> u64 {
    s.get::<u64>(name).unwrap_or(0)
}

/// Waits (at most `timeout`) for the end of `pipeline`'s stream, calling `report` with the
/// whole seconds elapsed once a second; an error message on its bus ends the wait with it.
pub fn run_with_reports(
    pipeline: &gst::Pipeline,
    timeout: std::time::Duration,
    mut report: impl FnMut(u64),
) -> Result<(), String> {
    use gst::prelude::*;
    use std::time::{Duration, Instant};
    let bus = pipeline.bus().ok_or("no bus")?;
    let started = Instant::now();
    let mut next_report = started + Duration::from_secs(1);
    while started.elapsed() < timeout {
        if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) {
            match msg.view() {
                gst::MessageView::Eos(_) => return Ok(()),
                gst::MessageView::Error(e) => return Err(e.error().to_string()),
                _ => {}
            }
        }
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(1);
            report(started.elapsed().as_secs());
        }
    }
    Ok(())
}
