// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtph264pay2` / `rtph264depay2` with real peers: x264enc and openh264enc streams through
//! our elements and the C ones into avdec_h264, compared frame by frame with decoding the
//! elementary stream directly; packets byte-identical to `rtph264pay`; ffmpeg both ways over
//! UDP; loss, keyframe requests and hostile packets.

use std::time::Duration;

use gst::prelude::*;

mod common;

use common::video::{Stream, frame_hashes, nals_of, through};

const FRAMES: u32 = 45;

/// `FRAMES` frames of a moving test pattern encoded by `encoder`, as byte-stream/au.
fn encode(encoder: &str) -> Stream {
    encode_frames(encoder, FRAMES)
}

/// `frames` frames of a moving test pattern encoded by `encoder`, as byte-stream/au.
fn encode_frames(encoder: &str, frames: u32) -> Stream {
    common::init();
    let collected = common::run_collect(
        &format!(
            "videotestsrc num-buffers={frames} pattern=ball ! \
             video/x-raw,width=320,height=240,format=I420,framerate=30/1 ! {encoder} ! h264parse \
             ! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false"
        ),
        "sink",
        Duration::from_secs(60),
    );
    assert!(collected.buffers.len() >= frames as usize);
    Stream {
        buffers: collected.buffers,
        caps: collected.caps.expect("caps"),
    }
}

/// The stream in another stream-format/alignment, as h264parse makes it.
fn convert(stream: &Stream, format: &str, alignment: &str) -> Stream {
    through(
        &format!(
            "h264parse ! capsfilter caps=\"video/x-h264,stream-format={format},alignment={alignment}\""
        ),
        stream,
    )
}

/// Decoded frames of `stream` after `launch` (which ends in H.264), by avdec_h264.
fn decoded(launch: &str, stream: &Stream) -> Vec<u64> {
    let prefix = if launch.is_empty() {
        String::new()
    } else {
        format!("{launch} ! ")
    };
    frame_hashes(&through(&format!("{prefix}h264parse ! avdec_h264"), stream).buffers)
}

fn encoders() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "x264 baseline",
            "x264enc speed-preset=ultrafast bframes=0 ! video/x-h264,profile=constrained-baseline",
        ),
        (
            "x264 main b-frames",
            "x264enc speed-preset=faster bframes=2 ! video/x-h264,profile=main",
        ),
        (
            "x264 high b-frames",
            "x264enc speed-preset=medium bframes=3 key-int-max=15 ! video/x-h264,profile=high",
        ),
        ("openh264", "openh264enc"),
    ]
}

/// Every encoder, input format and alignment, MTU and aggregate mode: ours → C depayloader,
/// C payloader → ours, ours → ours; the decoded frames equal decoding the stream directly.
#[test]
fn decoded_frames_are_identical_through_every_path() {
    for (name, encoder) in encoders() {
        let es = encode(encoder);
        let reference = decoded("", &es);
        assert_eq!(reference.len(), FRAMES as usize, "{name}: reference decode");
        let inputs = [
            ("byte-stream/au", es.clone()),
            ("byte-stream/nal", convert(&es, "byte-stream", "nal")),
            ("avc/au", convert(&es, "avc", "au")),
        ];
        for (format, input) in &inputs {
            for (mtu, aggregate) in [
                (400, "none"),
                (1200, "zero-latency"),
                (9000, "max-stap"),
                (400, "max-stap"),
                (1200, "none"),
            ] {
                let pay = format!("rtph264pay2 mtu={mtu} aggregate-mode={aggregate}");
                let what = format!("{name}, {format}, mtu {mtu}, {aggregate}");
                assert_eq!(
                    decoded(&format!("{pay} ! rtph264depay"), input),
                    reference,
                    "ours → C: {what}"
                );
                assert_eq!(
                    decoded(&format!("{pay} ! rtph264depay2"), input),
                    reference,
                    "ours → ours: {what}"
                );
                let c_pay = format!("rtph264pay mtu={mtu} aggregate-mode={aggregate}");
                if *format != "avc/au" || aggregate == "none" {
                    assert_eq!(
                        decoded(&format!("{c_pay} ! rtph264depay2"), input),
                        reference,
                        "C → ours: {what}"
                    );
                }
            }
        }
        // Every output format of our depayloader.
        for caps in [
            "stream-format=avc,alignment=au",
            "stream-format=byte-stream,alignment=nal",
            "stream-format=byte-stream,alignment=au",
        ] {
            let launch =
                format!("rtph264pay2 ! rtph264depay2 ! capsfilter caps=\"video/x-h264,{caps}\"");
            assert_eq!(decoded(&launch, &es), reference, "{name}: output {caps}");
        }
    }
}

/// The same input gives the same packets as `rtph264pay`, byte for byte (single NAL units,
/// STAP-A, FU-A, markers, timestamps), for every aggregate mode and MTU.
#[test]
fn packets_are_byte_identical_to_the_c_payloader() {
    let es = encode("x264enc speed-preset=faster bframes=2 ! video/x-h264,profile=high");
    for mtu in [400, 1200, 9000] {
        for aggregate in ["none", "zero-latency", "max-stap"] {
            let props = format!(
                "mtu={mtu} aggregate-mode={aggregate} seqnum-offset=0 timestamp-offset=0 ssrc=1"
            );
            let ours = through(&format!("rtph264pay2 {props}"), &es);
            let theirs = through(&format!("rtph264pay {props}"), &es);
            let ours: Vec<common::RtpFields> =
                ours.buffers.iter().map(common::rtp_fields).collect();
            let theirs: Vec<common::RtpFields> =
                theirs.buffers.iter().map(common::rtp_fields).collect();
            assert_eq!(ours.len(), theirs.len(), "mtu {mtu} {aggregate}");
            for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
                assert_eq!(o, t, "packet {i}, mtu {mtu} {aggregate}");
                assert!(o.payload.len() + 12 <= mtu as usize);
            }
        }
    }
}

/// RFC 6184 §5.1: all packets of an access unit share its timestamp, the last has the marker;
/// the caps carry profile-level-id and sprop-parameter-sets (§8.1) taken from the SPS/PPS.
#[test]
fn access_units_markers_and_sdp_parameters() {
    let es = encode("x264enc speed-preset=ultrafast bframes=0");
    let out = through("rtph264pay2 mtu=300 aggregate-mode=max-stap", &es);
    let fields: Vec<common::RtpFields> = out.buffers.iter().map(common::rtp_fields).collect();
    let mut markers = 0;
    for pair in fields.windows(2) {
        if pair[0].marker {
            markers += 1;
            assert_ne!(
                pair[0].timestamp, pair[1].timestamp,
                "a new AU after the marker"
            );
        } else {
            assert_eq!(
                pair[0].timestamp, pair[1].timestamp,
                "same AU until the marker"
            );
        }
    }
    assert!(fields.last().unwrap().marker);
    assert_eq!(markers + 1, FRAMES as usize);
    let s = out.caps.structure(0).unwrap();
    assert_eq!(s.get::<&str>("packetization-mode").unwrap(), "1");
    let sprop = s.get::<&str>("sprop-parameter-sets").unwrap();
    let sets = rtp2_core::h264::params::parse_sprop_parameter_sets(sprop).unwrap();
    assert_eq!(sets.len(), 2);
    assert_eq!(sets[0][0] & 0x1f, 7);
    assert_eq!(sets[1][0] & 0x1f, 8);
    assert_eq!(
        s.get::<&str>("profile-level-id").unwrap(),
        rtp2_core::h264::params::profile_level_id(&sets[0]).unwrap()
    );
}

/// NAL unit types of every packet, looking inside STAP-A and FU-A.
fn nal_types(packets: &[gst::Buffer]) -> Vec<u8> {
    let mut types = Vec::new();
    for p in packets {
        let f = common::rtp_fields(p);
        match f.payload[0] & 0x1f {
            24 => {
                let mut pos = 1;
                while pos + 2 < f.payload.len() {
                    let size = u16::from_be_bytes([f.payload[pos], f.payload[pos + 1]]) as usize;
                    types.push(f.payload[pos + 2] & 0x1f);
                    pos += 2 + size;
                }
            }
            28 if f.payload[1] & 0x80 != 0 => types.push(f.payload[1] & 0x1f),
            28 => {}
            t => types.push(t),
        }
    }
    types
}

/// The avc stream without in-band SPS/PPS (they stay in codec_data).
fn without_parameter_sets(avc: &Stream) -> Stream {
    let buffers = avc
        .buffers
        .iter()
        .map(|b| {
            let map = b.map_readable().unwrap();
            let mut out = Vec::new();
            for r in rtp2_core::nal::length_prefixed_nal_ranges(&map, 4).unwrap() {
                if !matches!(map[r.start] & 0x1f, 7 | 8) {
                    rtp2_core::nal::push_length_prefixed(&mut out, &map[r]);
                }
            }
            let mut nb = gst::Buffer::from_mut_slice(out);
            b.copy_into(
                nb.get_mut().unwrap(),
                gst::BufferCopyFlags::TIMESTAMPS | gst::BufferCopyFlags::FLAGS,
                ..,
            )
            .unwrap();
            nb
        })
        .collect();
    Stream {
        buffers,
        caps: avc.caps.clone(),
    }
}

/// avc input has SPS/PPS only in codec_data: config-interval=-1 puts them before every IDR,
/// 0 never; an upstream force-key-unit with all-headers makes the next IDR carry them.
#[test]
fn config_interval_and_forced_headers() {
    let es = encode("x264enc speed-preset=ultrafast bframes=0 key-int-max=10");
    let avc = without_parameter_sets(&convert(&es, "avc", "au"));
    let idrs = nal_types(&through("rtph264pay2", &avc).buffers)
        .iter()
        .filter(|t| **t == 5)
        .count();
    assert!(idrs >= 4);
    let none = nal_types(&through("rtph264pay2 config-interval=0", &avc).buffers);
    assert_eq!(
        none.iter().filter(|t| **t == 7).count(),
        0,
        "no SPS in band: {none:?}"
    );
    let every = nal_types(&through("rtph264pay2 config-interval=-1", &avc).buffers);
    for (i, t) in every.iter().enumerate() {
        if *t == 5 && (i == 0 || every[i - 1] == 1 || every[i - 1] == 6) {
            panic!("IDR at {i} without SPS/PPS before it: {every:?}");
        }
    }
    assert_eq!(every.iter().filter(|t| **t == 7).count(), idrs);
    assert_eq!(every.iter().filter(|t| **t == 8).count(), idrs);

    // Forced headers: only the IDR after the event gets them.
    let mut h = gst_check::Harness::new("rtph264pay2");
    h.set_src_caps(avc.caps.clone());
    let mut packets = Vec::new();
    for (i, b) in avc.buffers.iter().enumerate() {
        if i == 12 {
            let event = gst_video::UpstreamForceKeyUnitEvent::builder()
                .all_headers(true)
                .build();
            h.push_upstream_event(event);
        }
        h.push(b.clone()).unwrap();
        while let Some(p) = h.try_pull() {
            packets.push(p);
        }
    }
    let types = nal_types(&packets);
    assert_eq!(types.iter().filter(|t| **t == 7).count(), 1, "{types:?}");
    assert!(
        h.try_pull_upstream_event().is_some(),
        "the event went on upstream"
    );
    // The request is counted in stats (what a WebRTC application reads to see PLI/FIR).
    let stats = h.element().unwrap().property::<gst::Structure>("stats");
    assert_eq!(stats.get::<u64>("keyframe-requests").unwrap(), 1, "{stats}");
}

/// Downstream asking for packetization-mode 0 gets single NAL unit packets only, and a NAL
/// unit too large for the MTU is a clear error.
#[test]
fn packetization_mode_0() {
    let es = encode("x264enc speed-preset=ultrafast bframes=0 ! video/x-h264,profile=baseline");
    let out = through(
        "rtph264pay2 mtu=9000 ! capsfilter caps=\"application/x-rtp,packetization-mode=(string)0\"",
        &es,
    );
    assert_eq!(
        out.caps
            .structure(0)
            .unwrap()
            .get::<&str>("packetization-mode")
            .unwrap(),
        "0"
    );
    assert!(nal_types(&out.buffers).iter().all(|t| (1..=23).contains(t)));
    assert!(out.buffers.iter().all(|b| {
        let t = common::rtp_fields(b).payload[0] & 0x1f;
        t != 24 && t != 28
    }));
    let pipeline = "appsrc name=src ! rtph264pay2 mtu=200 \
        ! capsfilter caps=\"application/x-rtp,packetization-mode=(string)0\" ! appsink name=sink";
    let result = std::panic::catch_unwind(|| {
        common::push_collect(
            pipeline,
            &es.caps.to_string(),
            es.buffers.clone(),
            "sink",
            None,
            Duration::from_secs(20),
        )
    });
    let message = match result {
        Err(e) => e.downcast_ref::<String>().cloned().unwrap_or_default(),
        Ok(_) => panic!("a 200-byte MTU in mode 0 must fail"),
    };
    assert!(message.contains("packetization-mode 0"), "{message}");
}

/// Losing the first, a middle or the last fragment of a NAL unit, or a whole STAP-A: nothing
/// corrupted reaches the decoder, the next output is DISCONT, a keyframe is requested
/// upstream, and wait-for-keyframe holds delta units back until the next IDR.
#[test]
fn loss_never_outputs_a_corrupted_nal() {
    let es = encode("x264enc speed-preset=ultrafast bframes=0 key-int-max=15");
    let sent_nals = nals_of(&es.buffers);
    let packets = through(
        "rtph264pay2 mtu=300 aggregate-mode=max-stap config-interval=-1",
        &es,
    );
    let types: Vec<(u8, u8)> = packets
        .buffers
        .iter()
        .map(|p| {
            let f = common::rtp_fields(p);
            (f.payload[0] & 0x1f, f.payload.get(1).copied().unwrap_or(0))
        })
        .collect();
    // Losses well after the start, so that there is output before and after them.
    let skip = types.len() / 3;
    let fu_start = skip
        + types[skip..]
            .iter()
            .position(|(t, h)| *t == 28 && h & 0x80 != 0)
            .unwrap();
    let fu_middle = fu_start
        + 1
        + types[fu_start + 1..]
            .iter()
            .position(|(t, h)| *t == 28 && h & 0xc0 == 0)
            .unwrap();
    let fu_end = fu_start
        + types[fu_start..]
            .iter()
            .position(|(t, h)| *t == 28 && h & 0x40 != 0)
            .unwrap();
    let stap = skip + types[skip..].iter().position(|(t, _)| *t == 24).unwrap();
    for (what, lost) in [
        ("first fragment", fu_start),
        ("middle fragment", fu_middle),
        ("last fragment", fu_end),
        ("STAP-A", stap),
    ] {
        common::video::check_loss("rtph264depay2", &packets, lost, &sent_nals, what);
    }
}

/// Hostile packets: a warning and a counted drop each, and the stream goes on decoding.
#[test]
fn hostile_packets_are_dropped_and_counted() {
    let es = encode("x264enc speed-preset=ultrafast bframes=0");
    let packets = through("rtph264pay2 mtu=1400", &es);
    let first = common::rtp_fields(&packets.buffers[0]);
    let hostile: Vec<Vec<u8>> = vec![
        vec![0x00, 1, 2],            // type 0
        vec![0x1e, 1],               // type 30
        vec![0x1f, 1],               // type 31
        vec![0x78, 0, 0, 0x67],      // STAP-A with a zero size
        vec![0x78, 0, 200, 0x67, 1], // STAP-A size past the end
        vec![0x7c, 0x05, 1, 2],      // FU-A without start
        vec![0x7c, 0xc5, 1, 2],      // FU-A with start and end
    ];
    let mut h = gst_check::Harness::new_parse("rtph264depay2 name=d ! h264parse ! avdec_h264");
    h.set_src_caps(packets.caps.clone());
    let mut seq = first.seq.wrapping_sub(hostile.len() as u16);
    for payload in &hostile {
        let p = common::rtp_packet(
            96,
            seq,
            first.timestamp.wrapping_sub(3000),
            first.ssrc,
            true,
            payload,
        );
        h.push(gst::Buffer::from_mut_slice(p)).unwrap();
        seq = seq.wrapping_add(1);
    }
    // A fragmented NAL unit that changes type half way, then the real stream.
    for p in &packets.buffers {
        h.push(p.clone()).unwrap();
    }
    h.push_event(gst::event::Eos::new());
    let mut frames = 0;
    while h.try_pull().is_some() {
        frames += 1;
    }
    assert_eq!(
        frames, FRAMES as usize,
        "the stream decodes after the hostile packets"
    );
    let bin = h.element().unwrap().downcast::<gst::Bin>().unwrap();
    let stats = bin
        .by_name("d")
        .unwrap()
        .property::<gst::Structure>("stats");
    assert_eq!(
        stats.get::<u64>("dropped-payload").unwrap(),
        hostile.len() as u64,
        "{stats}"
    );
}

/// ffmpeg receives our stream over UDP on 127.0.0.1 from an SDP made from our caps and
/// decodes every frame, pixel-identical to avdec_h264 decoding the elementary stream.
/// ffmpeg only completes a frame when the next one starts and has no end of stream on RTP,
/// so 15 more frames follow the 45 under test.
#[test]
fn ffmpeg_decodes_our_stream() {
    common::init();
    let es = encode_frames(
        "x264enc speed-preset=ultrafast bframes=0 key-int-max=30",
        FRAMES + 15,
    );
    let reference = decoded("", &es);
    let caps = through("rtph264pay2 pt=96", &es).caps;
    let s = caps.structure(0).unwrap();
    let port = common::free_udp_port();
    let sdp = format!(
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=rtp2 H.264\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=video {port} RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
         a=fmtp:96 packetization-mode=1;profile-level-id={};sprop-parameter-sets={}\r\n",
        s.get::<&str>("profile-level-id").unwrap(),
        s.get::<&str>("sprop-parameter-sets").unwrap()
    );
    let receiver = common::ffmpeg_receive_rtp_with(
        &sdp,
        &["-f", "rawvideo", "-pix_fmt", "yuv420p"],
        Duration::from_secs(30),
    );
    // Sent at the stream's pace (udpsink sync=true), as a live sender would. The encoder's
    // timestamps start at 1000 h (its segment does); rebase them to 0 for appsrc's segment.
    let first = es
        .buffers
        .iter()
        .filter_map(|b| b.dts_or_pts())
        .min()
        .unwrap();
    let rebased: Vec<gst::Buffer> = es
        .buffers
        .iter()
        .map(|b| {
            let mut b = b.clone();
            let m = b.make_mut();
            m.set_pts(m.pts().map(|t| t - first));
            m.set_dts(m.dts().map(|t| t - first));
            b
        })
        .collect();
    common::push_collect(
        &format!(
            "appsrc name=src ! rtph264pay2 pt=96 config-interval=-1 ! tee name=t \
             ! queue ! udpsink host=127.0.0.1 port={port} sync=true t. ! queue ! appsink name=sink"
        ),
        &es.caps.to_string(),
        rebased,
        "sink",
        None,
        Duration::from_secs(30),
    );
    let result = receiver.finish();
    let got = result
        .decoded
        .chunks_exact(320 * 240 * 3 / 2)
        .map(|f| gst::Buffer::from_slice(f.to_vec()))
        .collect::<Vec<_>>();
    assert!(
        got.len() >= FRAMES as usize,
        "{} frames; ffmpeg stderr: {}",
        got.len(),
        result.stderr
    );
    assert_eq!(
        frame_hashes(&got)[..FRAMES as usize],
        reference[..FRAMES as usize]
    );
}

/// ffmpeg sends H.264 with `-f rtp`; our depayloader decodes every frame.
#[test]
fn our_depayloader_decodes_ffmpeg() {
    common::init();
    let port = common::free_udp_port();
    let pipeline = gst::parse::launch(&format!(
        "udpsrc address=127.0.0.1 port={port} \
           caps=\"application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96\" \
         ! rtpjitterbuffer latency=200 ! rtph264depay2 ! h264parse ! avdec_h264 ! appsink name=sink sync=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=30"])
        .args([
            "-frames:v",
            &FRAMES.to_string(),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ])
        .args(["-bf", "0", "-g", "15", "-payload_type", "96", "-f", "rtp"])
        .arg(format!("rtp://127.0.0.1:{port}?pkt_size=1200"))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    let mut frames = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while frames < FRAMES as usize && std::time::Instant::now() < deadline {
        if sink
            .try_pull_sample(gst::ClockTime::from_mseconds(500))
            .is_some()
        {
            frames += 1;
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(frames, FRAMES as usize);
}

/// The payloader copies no NAL byte: single NAL unit and FU-A payload memories point into the
/// input buffer's memory.
#[test]
fn payloader_shares_input_memory() {
    let es = encode("x264enc speed-preset=ultrafast bframes=0");
    let input = es.buffers[0].clone();
    let map = input.map_readable().unwrap();
    let input_range = (map.as_ptr() as usize)..(map.as_ptr() as usize + map.len());
    let mut h = gst_check::Harness::new("rtph264pay2");
    h.element().unwrap().set_property("mtu", 500u32);
    h.set_src_caps(es.caps.clone());
    h.push(input.clone()).unwrap();
    let mut shared = 0;
    let mut packets = 0;
    while let Some(p) = h.try_pull() {
        packets += 1;
        // Memory 0 is the RTP header; FU-A packets have a 2-byte FU header memory next.
        let last = p.peek_memory(p.n_memory() - 1).map_readable().unwrap();
        let ptr = last.as_ptr() as usize;
        assert!(input_range.contains(&ptr), "payload bytes were copied");
        shared += last.len();
    }
    assert!(packets > 3, "the keyframe fragments at mtu 500");
    // Every NAL byte but the start codes and the FU-A-replaced NAL headers is shared.
    assert!(
        shared + 4 * packets >= map.len() - 64,
        "{shared} of {} bytes shared",
        map.len()
    );
}

/// packetization-mode 2: STAP-B, MTAP16, MTAP24 and FU-B packets sent out of decoding order
/// come out of the depayloader in DON order (RFC 6184 §5.5), within sprop-interleaving-depth.
#[test]
fn interleaved_mode_releases_nal_units_in_don_order() {
    common::init();
    let mut h = gst_check::Harness::new("rtph264depay2");
    h.set_src_caps_str(
        "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96,\
         packetization-mode=(string)2,sprop-interleaving-depth=(string)3",
    );
    // Slices (type 1) tagged with their DON in their first byte.
    let slice = |don: u8| [0x41u8, don, 0xaa];
    let mut packets: Vec<Vec<u8>> = Vec::new();
    // MTAP16 with DONB 2: units DON 4 (DOND 2) and DON 3 (DOND 1).
    let mut mtap = vec![0x7a, 0, 2];
    for (dond, don) in [(2u8, 4u8), (1, 3)] {
        // NALU size 3: the NAL unit only (RFC 6184 §5.7.2), then DOND and TS offset.
        mtap.extend_from_slice(&[0, 3, dond, 0, 0]);
        mtap.extend_from_slice(&slice(don));
    }
    packets.push(mtap);
    // STAP-B with DON 0: units DON 0 and 1.
    let mut stap_b = vec![0x79, 0, 0];
    for don in [0u8, 1] {
        stap_b.extend_from_slice(&[0, 3]);
        stap_b.extend_from_slice(&slice(don));
    }
    packets.push(stap_b);
    // FU-B with DON 2, then its FU-A end.
    packets.push(vec![0x7d, 0x81, 0, 2, 2, 0xaa]);
    packets.push(vec![0x7c, 0x41, 0xbb]);
    // MTAP24 with DONB 5: unit DON 5.
    let mut mtap24 = vec![0x7b, 0, 5, 0, 3, 0, 0, 0, 0];
    mtap24.extend_from_slice(&slice(5));
    packets.push(mtap24);
    for (i, p) in packets.iter().enumerate() {
        let rtp = common::rtp_packet(96, i as u16, 0, 9, false, p);
        h.push(gst::Buffer::from_mut_slice(rtp)).unwrap();
    }
    h.push_event(gst::event::Eos::new());
    let mut out = Vec::new();
    while let Some(b) = h.try_pull() {
        out.push(b);
    }
    let dons: Vec<u8> = nals_of(&out).iter().map(|n| n[1]).collect();
    assert_eq!(dons, vec![0, 1, 2, 3, 4, 5]);
}

/// SPS/PPS only in the caps (`sprop-parameter-sets`), never in band: our depayloader puts
/// them in front of every IDR, so the decoder gets every frame.
#[test]
fn sprop_parameter_sets_are_inserted_before_idr() {
    let es = encode("x264enc speed-preset=ultrafast bframes=0 key-int-max=15");
    let reference = decoded("", &es);
    let avc = without_parameter_sets(&convert(&es, "avc", "au"));
    let packets = through("rtph264pay2 config-interval=0", &avc);
    assert!(!nal_types(&packets.buffers).contains(&7), "no SPS in band");
    assert!(
        packets
            .caps
            .structure(0)
            .unwrap()
            .has_field("sprop-parameter-sets")
    );
    let out = through(
        "rtph264depay2 ! capsfilter caps=\"video/x-h264,stream-format=byte-stream,alignment=au\"",
        &packets,
    );
    let types: Vec<Vec<u8>> = out
        .buffers
        .iter()
        .map(|b| {
            nals_of(std::slice::from_ref(b))
                .iter()
                .map(|n| n[0] & 0x1f)
                .collect()
        })
        .collect();
    for au in &types {
        if au.contains(&5) {
            assert!(
                au.starts_with(&[7, 8]),
                "SPS and PPS lead an IDR access unit: {au:?}"
            );
        }
    }
    assert_eq!(decoded("", &out), reference);
}

/// New SPS/PPS in the middle of a stream (a resolution change) update the RTP caps.
#[test]
fn parameter_set_change_updates_caps() {
    common::init();
    let small = encode("x264enc speed-preset=ultrafast bframes=0");
    let large = {
        let collected = common::run_collect(
            "videotestsrc num-buffers=10 ! video/x-raw,width=640,height=480,format=I420,framerate=30/1 \
             ! x264enc speed-preset=ultrafast bframes=0 ! h264parse \
             ! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false",
            "sink",
            Duration::from_secs(30),
        );
        collected.buffers
    };
    let mut h = gst_check::Harness::new("rtph264pay2");
    h.set_src_caps(small.caps.clone());
    let sprop = |h: &gst_check::Harness| {
        h.sinkpad().and_then(|p| p.current_caps()).and_then(|c| {
            c.structure(0)
                .and_then(|s| s.get::<String>("sprop-parameter-sets").ok())
        })
    };
    h.push(small.buffers[0].clone()).unwrap();
    let first = sprop(&h).expect("sprop after the first IDR");
    h.push(large[0].clone()).unwrap();
    let second = sprop(&h).expect("sprop after the second IDR");
    assert_ne!(first, second, "caps follow the new SPS/PPS");
}

/// avc3 input (parameter sets in band, codec_data optional) works like avc.
#[test]
fn avc3_input() {
    let es = encode("x264enc speed-preset=ultrafast bframes=0");
    let reference = decoded("", &es);
    let avc3 = convert(&es, "avc3", "au");
    assert_eq!(
        avc3.caps
            .structure(0)
            .unwrap()
            .get::<&str>("stream-format")
            .unwrap(),
        "avc3"
    );
    assert_eq!(
        decoded("rtph264pay2 mtu=600 ! rtph264depay2", &avc3),
        reference
    );
}

/// config-interval=1: parameter sets go out with the first IDR at least a second after the
/// last ones, not with every IDR.
#[test]
fn config_interval_in_seconds() {
    let es = encode_frames(
        "x264enc speed-preset=ultrafast bframes=0 key-int-max=10",
        90,
    );
    let avc = without_parameter_sets(&convert(&es, "avc", "au"));
    let types = nal_types(&through("rtph264pay2 config-interval=1", &avc).buffers);
    let idrs = types.iter().filter(|t| **t == 5).count();
    let sps = types.iter().filter(|t| **t == 7).count();
    // 90 frames at 30 fps: IDRs at 0, 1/3, 2/3, 1, ... s; SPS at 0, 1 and 2 s.
    assert_eq!(idrs, 9, "{types:?}");
    assert_eq!(sps, 3, "{types:?}");
}
