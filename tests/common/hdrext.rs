// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Header-extension test helpers: the C `rtphdrext*` elements, packets carrying one RFC 8285
//! element (written byte by byte from RFC 8285 §4.2, not with the code under test), the
//! elements under test with their caps, and a time bound that turns a deadlock into a
//! failure.

use std::sync::mpsc;
use std::time::Duration;

use gst::prelude::*;
use gst_rtp::prelude::*;

/// The C header extensions of GStreamer 1.22: (factory, URI, element data a receiver reads).
pub const EXTENSIONS: [(&str, &str, &[u8]); 7] = [
    (
        "rtphdrextcolorspace",
        "http://www.webrtc.org/experiments/rtp-hdrext/color-space",
        // BT.709 primaries, transfer and matrix; limited range, no chroma siting.
        &[1, 1, 1, 0x10],
    ),
    (
        "rtphdrextclientaudiolevel",
        "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        &[0x80 | 30],
    ),
    (
        "rtphdrexttwcc",
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        &[0x00, 0x07],
    ),
    (
        "rtphdrextntp64",
        "urn:ietf:params:rtp-hdrext:ntp-64",
        &[0xe0, 0, 0, 0, 0x80, 0, 0, 0],
    ),
    ("rtphdrextmid", "urn:ietf:params:rtp-hdrext:sdes:mid", b"m0"),
    (
        "rtphdrextstreamid",
        "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
        b"r0",
    ),
    (
        "rtphdrextrepairedstreamid",
        "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
        b"r1",
    ),
];

/// Runs `f` on a thread of its own and waits at most `timeout`: `Err` says whether it hung
/// (the thread is then left behind, blocked) or panicked.
pub fn within<T: Send + 'static>(
    timeout: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(timeout) {
        Ok(v) => Ok(v),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!("no result within {timeout:?}")),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err("panicked".into()),
    }
}

/// A C header extension object with `id`; MID and RID extensions get a value to write.
pub fn make_extension(factory: &str, id: u32) -> gst_rtp::RTPHeaderExtension {
    let ext = gst::ElementFactory::make(factory)
        .build()
        .unwrap_or_else(|_| panic!("{factory} missing: install gst-plugins-good 1.22"))
        .downcast::<gst_rtp::RTPHeaderExtension>()
        .unwrap();
    ext.set_id(id);
    match factory {
        "rtphdrextmid" => ext.set_property("mid", "m0"),
        "rtphdrextstreamid" | "rtphdrextrepairedstreamid" => ext.set_property("rid", "r0"),
        _ => {}
    }
    ext
}

/// An RTP packet (SSRC 0x11223344) with one one-byte-form element `id` = `data` (RFC 8285
/// §4.2: 0xBEDE, length in 32-bit words, then ID << 4 | (len - 1), data, zero padding).
pub fn packet_with_element(
    pt: u8,
    seq: u16,
    ts: u32,
    marker: bool,
    id: u8,
    data: &[u8],
    payload: &[u8],
) -> gst::Buffer {
    assert!((1..=14).contains(&id) && (1..=16).contains(&data.len()));
    let mut p = vec![0x90, (u8::from(marker) << 7) | pt];
    p.extend(seq.to_be_bytes());
    p.extend(ts.to_be_bytes());
    p.extend(0x1122_3344u32.to_be_bytes());
    let mut block = vec![(id << 4) | (data.len() as u8 - 1)];
    block.extend(data);
    while block.len() % 4 != 0 {
        block.push(0);
    }
    p.extend([0xBE, 0xDE]);
    p.extend(((block.len() / 4) as u16).to_be_bytes());
    p.extend(block);
    p.extend(payload);
    gst::Buffer::from_mut_slice(p)
}

/// A depayloader under test: its RTP caps and the payloads of a short stream, access unit by
/// access unit (the NAL units of real x264enc/x265enc output as single NAL unit packets; 20 ms
/// of G.722 and G.729).
pub struct DepayCase {
    /// Our element.
    pub ours: &'static str,
    /// The C element.
    pub c: &'static str,
    /// RTP caps without extmap.
    pub caps: &'static str,
    /// Payload type.
    pub pt: u8,
    /// Payloads of each access unit (the last one gets the marker bit).
    pub aus: Vec<Vec<Vec<u8>>>,
    /// RTP timestamp step between access units.
    pub ts_step: u32,
}

/// The NAL units of the first `n` access units an encoder makes.
fn coded_aus(encoder: &str, n: usize) -> Vec<Vec<Vec<u8>>> {
    let got = super::run_collect(
        &format!(
            "videotestsrc num-buffers={n} ! video/x-raw,width=160,height=120 ! {encoder} \
             ! appsink name=sink sync=false"
        ),
        "sink",
        Duration::from_secs(60),
    );
    got.buffers
        .iter()
        .map(|b| super::video::nals_of(std::slice::from_ref(b)))
        .collect()
}

/// Every depayloader of the plugin.
pub fn depay_cases() -> Vec<DepayCase> {
    let audio = |size: usize| (0..3).map(|i| vec![vec![0x50 + i as u8; size]]).collect();
    vec![
        DepayCase {
            ours: "rtph264depay2",
            c: "rtph264depay",
            caps: "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96",
            pt: 96,
            aus: coded_aus(
                "x264enc speed-preset=ultrafast bframes=0 ! video/x-h264,stream-format=byte-stream,alignment=au",
                3,
            ),
            ts_step: 3000,
        },
        DepayCase {
            ours: "rtph265depay2",
            c: "rtph265depay",
            caps: "application/x-rtp,media=video,clock-rate=90000,encoding-name=H265,payload=96",
            pt: 96,
            aus: coded_aus(
                "x265enc speed-preset=ultrafast ! video/x-h265,stream-format=byte-stream,alignment=au",
                3,
            ),
            ts_step: 3000,
        },
        DepayCase {
            ours: "rtpg722depay2",
            c: "rtpg722depay",
            caps: "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9",
            pt: 9,
            aus: audio(160),
            ts_step: 160,
        },
        DepayCase {
            ours: "rtpg729depay2",
            c: "rtpg729depay",
            caps: "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G729,payload=18",
            pt: 18,
            aus: audio(20),
            ts_step: 160,
        },
    ]
}

/// The packets of `case`, each with element `id` = `data`.
pub fn depay_packets(case: &DepayCase, id: u8, data: &[u8]) -> Vec<gst::Buffer> {
    let mut out = Vec::new();
    let mut seq = 100u16;
    for (i, au) in case.aus.iter().enumerate() {
        let ts = i as u32 * case.ts_step;
        for (j, payload) in au.iter().enumerate() {
            let marker = j + 1 == au.len();
            let mut b = packet_with_element(case.pt, seq, ts, marker, id, data, payload);
            b.get_mut()
                .unwrap()
                .set_pts(gst::ClockTime::from_mseconds(20 * i as u64));
            out.push(b);
            seq = seq.wrapping_add(1);
        }
    }
    out
}

/// The `extmap-id` caps field `factory`'s extension writes by default (some add
/// attributes), as downstream caps that name it: `application/x-rtp,extmap-id=…`.
pub fn extmap_caps(factory: &str, id: u32) -> gst::Caps {
    let mut caps = gst::Caps::new_empty_simple("application/x-rtp");
    make_extension(factory, id).set_caps_from_attributes(caps.get_mut().unwrap());
    caps
}
