// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Helpers shared by the integration tests: plugin registration, running pipelines to EOS
//! with a time bound, reading RTP fields, crafting packets, ffmpeg as a peer, fixtures.
#![allow(dead_code)]

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use gst::prelude::*;

pub mod hdrext;
pub mod impair;
pub mod rtsp;
pub mod video;
pub mod webrtc;

/// Initialises GStreamer and registers our plugin (once per process).
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstrtp2::plugin_register_static().expect("register rtp2");
    });
}

/// [`init`] plus the crates.io gst-plugin-rtp (`rsrtp`) plugin, to run both side by side.
pub fn init_with_rsrtp() {
    init();
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gstrsrtp::plugin_register_static().expect("register rsrtp");
    });
}

/// What a pipeline run produced.
#[derive(Debug, Default)]
pub struct Collected {
    /// Buffers that reached the appsink, in order.
    pub buffers: Vec<gst::Buffer>,
    /// The appsink's caps at the end.
    pub caps: Option<gst::Caps>,
    /// Text of every warning message posted on the bus.
    pub warnings: Vec<String>,
    /// The `stats` property of the element asked for, read at EOS.
    pub stats: Option<gst::Structure>,
}

/// Runs `pipeline` to EOS; panics on an error message or after `timeout`. Returns the text
/// of the warning messages.
pub fn run_to_eos(pipeline: &gst::Pipeline, timeout: Duration) -> Vec<String> {
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let deadline = Instant::now() + timeout;
    let mut warnings = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "pipeline did not reach EOS within {timeout:?}"
        );
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(left.as_millis() as u64))
        else {
            continue;
        };
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => {
                pipeline.set_state(gst::State::Null).unwrap();
                panic!(
                    "pipeline error from {:?}: {} ({:?})",
                    e.src().map(|s| s.path_string()),
                    e.error(),
                    e.debug()
                );
            }
            gst::MessageView::Warning(w) => {
                warnings.push(format!("{} ({:?})", w.error(), w.debug()));
            }
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    warnings
}

type Sink = Arc<Mutex<(Vec<gst::Buffer>, Option<gst::Caps>)>>;

fn collect_from(pipeline: &gst::Pipeline, sink_name: &str) -> Sink {
    let sink = pipeline
        .by_name(sink_name)
        .unwrap_or_else(|| panic!("no element named {sink_name}"))
        .downcast::<gst_app::AppSink>()
        .expect("an appsink");
    let collected: Sink = Arc::new(Mutex::new((Vec::new(), None)));
    let c = collected.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let mut c = c.lock().unwrap();
                if let Some(list) = sample.buffer_list() {
                    c.0.extend(list.iter_owned());
                } else if let Some(buffer) = sample.buffer_owned() {
                    c.0.push(buffer);
                }
                c.1 = sample.caps_owned();
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    collected
}

/// Runs a gst-launch style description to EOS and returns what its appsink `sink_name` got.
pub fn run_collect(description: &str, sink_name: &str, timeout: Duration) -> Collected {
    init();
    let pipeline = gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("cannot parse {description}: {e}"))
        .downcast::<gst::Pipeline>()
        .unwrap();
    let collected = collect_from(&pipeline, sink_name);
    let warnings = run_to_eos(&pipeline, timeout);
    let (buffers, caps) = std::mem::take(&mut *collected.lock().unwrap());
    Collected {
        buffers,
        caps,
        warnings,
        stats: None,
    }
}

/// Like [`run_collect`], with an `appsrc name=src` that gets `buffers` with caps `caps`; reads
/// the `stats` property of `stats_of` at the end.
pub fn push_collect(
    description: &str,
    caps: &str,
    buffers: Vec<gst::Buffer>,
    sink_name: &str,
    stats_of: Option<&str>,
    timeout: Duration,
) -> Collected {
    init();
    let pipeline = gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("cannot parse {description}: {e}"))
        .downcast::<gst::Pipeline>()
        .unwrap();
    let src = pipeline
        .by_name("src")
        .expect("an appsrc named src")
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    src.set_caps(Some(&caps.parse::<gst::Caps>().unwrap()));
    src.set_format(gst::Format::Time);
    let queue = Arc::new(Mutex::new(std::collections::VecDeque::from(buffers)));
    src.set_callbacks(
        gst_app::AppSrcCallbacks::builder()
            .need_data(move |src, _| match queue.lock().unwrap().pop_front() {
                Some(buffer) => {
                    let _ = src.push_buffer(buffer);
                }
                None => {
                    let _ = src.end_of_stream();
                }
            })
            .build(),
    );
    let collected = collect_from(&pipeline, sink_name);
    let stats_element = stats_of.map(|name| pipeline.by_name(name).expect("stats element"));
    let stats = Arc::new(Mutex::new(None));
    if let Some(element) = stats_element.clone() {
        // Read the statistics when EOS leaves the element, before the pipeline is torn down.
        let s = stats.clone();
        element.static_pad("src").unwrap().add_probe(
            gst::PadProbeType::EVENT_DOWNSTREAM,
            move |_, info| {
                if let Some(gst::PadProbeData::Event(ev)) = &info.data
                    && ev.type_() == gst::EventType::Eos
                {
                    *s.lock().unwrap() = Some(element.property::<gst::Structure>("stats"));
                }
                gst::PadProbeReturn::Ok
            },
        );
    }
    let warnings = run_to_eos(&pipeline, timeout);
    let (buffers, caps) = std::mem::take(&mut *collected.lock().unwrap());
    let stats = stats.lock().unwrap().take();
    Collected {
        buffers,
        caps,
        warnings,
        stats,
    }
}

/// The RTP header fields and payload of one packet, for comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpFields {
    pub seq: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub pt: u8,
    pub ssrc: u32,
    pub payload: Vec<u8>,
}

/// Reads a packet with GStreamer's own RTP parser (not ours, so the test is independent).
pub fn rtp_fields(buffer: &gst::Buffer) -> RtpFields {
    let rtp = gst_rtp::RTPBuffer::from_buffer_readable(buffer).expect("a valid RTP packet");
    RtpFields {
        seq: rtp.seq(),
        timestamp: rtp.timestamp(),
        marker: rtp.is_marker(),
        pt: rtp.payload_type(),
        ssrc: rtp.ssrc(),
        payload: rtp.payload().expect("payload").to_vec(),
    }
}

/// Builds an RTP packet by hand (RFC 3550 §5.1), without CSRCs or extension.
pub fn rtp_packet(pt: u8, seq: u16, ts: u32, ssrc: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(12 + payload.len());
    p.push(0x80);
    p.push(if marker { 0x80 } else { 0 } | (pt & 0x7f));
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An ffmpeg process receiving RTP described by an SDP file and decoding it to stdout.
pub struct FfmpegReceiver {
    child: Child,
    bytes: Arc<AtomicUsize>,
    data: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    started: Instant,
    timeout: Duration,
    _dir: TempDir,
}

/// What ffmpeg decoded.
#[derive(Debug)]
pub struct FfmpegResult {
    pub decoded_bytes: usize,
    /// Everything ffmpeg wrote (decoded samples or frames).
    pub decoded: Vec<u8>,
    pub stderr: String,
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "rtp2-test-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts ffmpeg on `sdp` (decoding to raw output on stdout: s16le for audio, rawvideo for
/// video with `extra_output_args`), and waits until it is listening.
pub fn ffmpeg_receive_rtp(sdp: &str, timeout: Duration) -> FfmpegReceiver {
    ffmpeg_receive_rtp_with(sdp, &["-f", "s16le"], timeout)
}

/// [`ffmpeg_receive_rtp`] with explicit output arguments.
pub fn ffmpeg_receive_rtp_with(
    sdp: &str,
    output_args: &[&str],
    timeout: Duration,
) -> FfmpegReceiver {
    let dir = TempDir::new("ffmpeg");
    let sdp_path = dir.0.join("stream.sdp");
    std::fs::write(&sdp_path, sdp).unwrap();
    let stderr_path = dir.0.join("stderr.txt");
    let mut child = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "info"])
        .args(["-protocol_whitelist", "file,udp,rtp"])
        .args(["-analyzeduration", "200000", "-probesize", "5000"])
        .arg("-i")
        .arg(&sdp_path)
        .args(output_args)
        .arg("-")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(&stderr_path).unwrap()))
        .spawn()
        .expect("ffmpeg is installed");
    let mut stdout = child.stdout.take().unwrap();
    let bytes = Arc::new(AtomicUsize::new(0));
    let data = Arc::new(Mutex::new(Vec::new()));
    let (b, d) = (bytes.clone(), data.clone());
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            d.lock().unwrap().extend_from_slice(&buf[..n]);
            b.fetch_add(n, Ordering::SeqCst);
        }
    });
    // Give ffmpeg time to open its sockets before anything is sent.
    std::thread::sleep(Duration::from_millis(700));
    FfmpegReceiver {
        child,
        bytes,
        data,
        reader: Some(reader),
        started: Instant::now(),
        timeout,
        _dir: dir,
    }
}

impl FfmpegReceiver {
    /// Waits until ffmpeg has output nothing new for 2 s (or the timeout), stops it and
    /// returns what it decoded.
    pub fn finish(mut self) -> FfmpegResult {
        let mut last = self.bytes.load(Ordering::SeqCst);
        let mut quiet_since = Instant::now();
        loop {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
            let now = self.bytes.load(Ordering::SeqCst);
            if now != last {
                last = now;
                quiet_since = Instant::now();
            }
            if quiet_since.elapsed() > Duration::from_secs(2)
                || self.started.elapsed() > self.timeout
            {
                break;
            }
        }
        // SIGINT makes ffmpeg flush its decoder and write the frames it still holds.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let stop = Instant::now();
        while stop.elapsed() < Duration::from_secs(5) {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let stderr = std::fs::read_to_string(self._dir.0.join("stderr.txt")).unwrap_or_default();
        FfmpegResult {
            decoded_bytes: self.bytes.load(Ordering::SeqCst),
            decoded: std::mem::take(&mut *self.data.lock().unwrap()),
            stderr,
        }
    }
}

/// Reads a G.729 fixture of tests/fixtures/g729: per 10 ms frame one length byte (10 speech,
/// 2 SID, 0 not transmitted) followed by that many bytes.
pub fn g729_fixture(name: &str) -> Vec<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/g729")
        .join(name);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut frames = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let len = usize::from(data[i]);
        assert!(
            matches!(len, 0 | 2 | 10),
            "bad frame length {len} in {name}"
        );
        frames.push(data[i + 1..i + 1 + len].to_vec());
        i += 1 + len;
    }
    frames
}
