// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Pushes N in-memory buffers through one payloader (or depayloader) and drops every
//! output, for counting allocations under `valgrind --tool=dhat`
//! (`scripts/alloc-per-packet.sh` runs it twice with different N and takes the difference,
//! so that set-up allocations cancel out).
//!
//! `alloc_count <element launch line> <buffers>`: G.722 20 ms buffers or packets, or, for an
//! H.264 payloader, 4000-byte access units (three packets each).

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let launch = args.get(1).cloned().unwrap_or_else(|| "rtpg722pay2".into());
    let count: u64 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1000);
    gst::init().expect("gst init");
    gstrtp2::plugin_register_static().expect("register rtp2");
    let mut h = gst_check::Harness::new_parse(&launch);
    let depay = launch.contains("depay");
    let h264 = launch.contains("h264pay");
    if h264 {
        h.set_src_caps_str("video/x-h264,stream-format=byte-stream,alignment=au");
    } else if depay {
        h.set_src_caps_str(
            "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9",
        );
    } else {
        h.set_src_caps_str("audio/G722,rate=16000,channels=1");
    }
    // Inputs are made up front, so that only the element's own allocations are counted.
    let inputs: Vec<gst::Buffer> = (0..count)
        .map(|i| {
            let data = if h264 {
                // One 4000-byte non-IDR slice: three FU-A packets at the default MTU.
                let mut au = vec![0, 0, 0, 1, 0x41];
                au.extend(std::iter::repeat_n(0x55, 3995));
                au
            } else if depay {
                let mut p = vec![0x80, 9, (i >> 8) as u8, i as u8, 0, 0, 0, 0, 0, 0, 0, 1];
                p[4..8].copy_from_slice(&((i * 160) as u32).to_be_bytes());
                p.extend(std::iter::repeat_n(0x55, 160));
                p
            } else {
                vec![0x55; 160]
            };
            let mut b = gst::Buffer::from_mut_slice(data);
            b.get_mut()
                .unwrap()
                .set_pts(gst::ClockTime::from_mseconds(20 * i));
            b
        })
        .collect();
    let mut out = 0u64;
    for input in inputs {
        h.push(input).unwrap();
        while let Some(b) = h.try_pull() {
            out += b.size() as u64;
        }
    }
    println!("{launch}: {count} buffers, {out} bytes out");
}
