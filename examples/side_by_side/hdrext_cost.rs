// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! What a WebRTC audio sender's header-extension set costs (issue 18): transport-wide cc,
//! abs-send-time and the client audio level, written by `rtpg722pay2` and read by
//! `rtpg722depay2`, against what the C `rtpg722pay` / `rtpg722depay` spend on the ones C has
//! (twcc, client audio level; C has no abs-send-time element). twcc and audio level are the
//! C elements in both; abs-send-time is ours.
//!
//! The cost of a set is (ns per packet with the set) − (ns per packet without any
//! extension), per round, each of the four runs of a round on the same input one after the
//! other; the figure is the median over the rounds, and the ratio ours / C of the two medians.

use gst::prelude::*;
use gst_rtp::prelude::*;

use super::{Input, ONLY, collect, run_once};

/// The extensions of a description's ` +ext:a,b,c` suffix, ids 1, 2, 3… in order (`-`
/// leaves an id unused; `factory prop=value …` sets properties), added with
/// `add-extension`.
pub fn with_extensions(description: &str) -> Option<gst::Element> {
    let (element, list) = description.split_once(" +ext:")?;
    let element = gst::parse::launch(element).expect("element description");
    for (i, spec) in list.split(',').enumerate() {
        if spec == "-" {
            continue;
        }
        let mut words = spec.split(' ');
        let factory = words.next().unwrap_or_default();
        let ext = gst::ElementFactory::make(factory)
            .build()
            .unwrap_or_else(|_| panic!("{factory} missing"))
            .downcast::<gst_rtp::RTPHeaderExtension>()
            .expect("a header extension");
        for (name, value) in words.filter_map(|w| w.split_once('=')) {
            ext.set_property_from_str(name, value);
        }
        ext.set_id(i as u32 + 1);
        element.emit_by_name::<()>("add-extension", &[&ext]);
    }
    Some(element)
}

const OURS_SET: &str = "rtphdrexttwcc,rtphdrextabssendtime,rtphdrextclientaudiolevel";
const C_SET: &str = "rtphdrexttwcc,-,rtphdrextclientaudiolevel";
/// The set with abs-send-time reads attached to the outputs (a reference timestamp meta).
const OURS_SET_WITH_META: &str = "rtphdrexttwcc,rtphdrextabssendtime add-reference-timestamp-meta=true,rtphdrextclientaudiolevel";

/// ns per packet of one run.
fn ns_per_packet(element: &str, input: &Input, per_input: bool) -> f64 {
    let (total, outputs, _) = run_once(element, input);
    let packets = if per_input {
        input.buffers.len()
    } else {
        outputs
    };
    total.as_nanos() as f64 / packets.max(1) as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One row: [ours bare, ours with the set, C bare, C with its set].
fn row(name: &str, runs: [String; 4], input: &Input, per_input: bool, rounds: usize) {
    if let Some(only) = ONLY.get().and_then(|o| o.as_deref())
        && !name.contains(only)
    {
        return;
    }
    for r in &runs {
        ns_per_packet(r, input, per_input);
    }
    let mut bare = [Vec::new(), Vec::new()];
    let mut cost = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        let t: Vec<f64> = runs
            .iter()
            .map(|r| ns_per_packet(r, input, per_input))
            .collect();
        for side in 0..2 {
            bare[side].push(t[2 * side]);
            cost[side].push(t[2 * side + 1] - t[2 * side]);
        }
    }
    let [bare_ours, bare_c] = bare.map(median);
    let [ours, c] = cost.map(median);
    println!(
        "| {name} | {bare_ours:.0} + {ours:.0} | {bare_c:.0} + {c:.0} | {:.2} |",
        ours / c
    );
}

/// G.722 with a level meta on every input (as `level audio-level-meta=true` gives it), and
/// the packets our payloader makes of it with the whole set (in one memory, as from udpsrc).
fn inputs(frames: usize) -> (Input, Input) {
    let input = collect(&format!(
        "audiotestsrc num-buffers={} samplesperbuffer=320 wave=sine volume=0.3 \
         ! audio/x-raw,rate=16000,channels=1 ! level audio-level-meta=true ! avenc_g722 \
         ! appsink name=sink sync=false",
        frames * 25
    ));
    let packets = {
        let mut h = gst_check::Harness::with_element(
            &with_extensions(&format!("rtpg722pay2 +ext:{OURS_SET}")).unwrap(),
            Some("sink"),
            Some("src"),
        );
        h.set_src_caps(input.caps.clone());
        let mut buffers = Vec::new();
        for b in &input.buffers {
            h.push(b.clone()).unwrap();
            while let Some(p) = h.try_pull() {
                buffers.push(super::contiguous(&p));
            }
        }
        let caps = h.sinkpad().and_then(|p| p.current_caps()).expect("caps");
        Input { buffers, caps }
    };
    (input, packets)
}

/// The rows: (name, depayloader row, [ours bare, ours with the set, C bare, C with its set]).
fn table() -> Vec<(&'static str, bool, [String; 4])> {
    let with = |e: &str, set: &str| format!("{e} +ext:{set}");
    let mut rows = Vec::new();
    for (kind, ours, c, depay) in [
        ("pay", "rtpg722pay2", "rtpg722pay", false),
        // The packets' caps name every extension: without `auto-header-extension=false` a
        // depayloader would create and read them all, with or without the set added.
        (
            "depay",
            "rtpg722depay2 auto-header-extension=false",
            "rtpg722depay auto-header-extension=false",
            true,
        ),
    ] {
        let name = if depay {
            "hdrext set: G.722 depay, twcc + abs-send-time + audio level (C: twcc + audio level)"
        } else {
            "hdrext set: G.722 pay, twcc + abs-send-time + audio level (C: twcc + audio level)"
        };
        rows.push((
            name,
            depay,
            [ours.into(), with(ours, OURS_SET), c.into(), with(c, C_SET)],
        ));
        // The same C elements on both sides: what the base classes add around them.
        let same = if kind == "pay" {
            "hdrext set: G.722 pay, twcc + audio level on both"
        } else {
            "hdrext set: G.722 depay, twcc + audio level on both"
        };
        rows.push((
            same,
            depay,
            [ours.into(), with(ours, C_SET), c.into(), with(c, C_SET)],
        ));
    }
    let (ours, c) = (
        "rtpg722depay2 auto-header-extension=false",
        "rtpg722depay auto-header-extension=false",
    );
    rows.push((
        "hdrext set: G.722 depay, twcc + abs-send-time (add-reference-timestamp-meta) + audio level (C: twcc + audio level)",
        true,
        [
            ours.into(),
            with(ours, OURS_SET_WITH_META),
            c.into(),
            with(c, C_SET),
        ],
    ));
    rows
}

/// The rows, timed (noisy on a shared machine: see [`one_variant`] for instruction counts).
pub fn rows(frames: usize, rounds: usize) {
    if let Some(only) = ONLY.get().and_then(|o| o.as_deref())
        && !only.contains("hdrext")
    {
        return;
    }
    let (input, packets) = inputs(frames);
    println!();
    println!(
        "| hdrext set (median of {rounds} rounds) | ours ns/packet: bare + set | C ns/packet: bare + set | ours/C (set) |"
    );
    println!("|---|---|---|---|");
    for (name, depay, runs) in table() {
        let input = if depay { &packets } else { &input };
        row(name, runs, input, depay, rounds);
    }
}

/// `--hdrext-variant ROW.RUN` (ROW 0..5 of the table, RUN 0..4: ours bare, ours with the
/// set, C bare, C with its set): runs that one once and exits, for
/// `valgrind --tool=callgrind --toggle-collect='*push_all*'`, whose instruction count then
/// covers the pushes alone; scripts/hdrext_cost.sh runs all and prints the table. Returns
/// whether it ran.
pub fn one_variant(args: &[String], frames: usize) -> bool {
    let Some(spec) = args
        .iter()
        .position(|a| a == "--hdrext-variant")
        .and_then(|i| args.get(i + 1))
    else {
        return false;
    };
    let (row, run) = spec
        .split_once('.')
        .and_then(|(r, k)| Some((r.parse::<usize>().ok()?, k.parse::<usize>().ok()?)))
        .expect("--hdrext-variant ROW.RUN");
    let (name, depay, runs) = &table()[row];
    let (input, packets) = inputs(frames);
    let input = if *depay { &packets } else { &input };
    let (_, outputs, _) = run_once(&runs[run], input);
    let n = if *depay { input.buffers.len() } else { outputs };
    println!("{name} | {} | packets {n}", runs[run]);
    true
}
