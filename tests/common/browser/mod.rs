// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Chromium as a WebRTC peer of a `webrtcbin`: the harness of tests/browser.rs, reusable by
//! other tests and by examples/browser_peer.rs.
//!
//! [`BrowserPeer::connect`] serves a page on 127.0.0.1 ([`signalling`]), starts headless
//! Chromium on it ([`chromium`], extra flags such as field trials allowed), has `webrtcbin`
//! offer (non-trickle: the offer is published once ICE gathering is complete, with the
//! candidates), lets the page answer (sending its fake camera and microphone on every
//! m-section our side offered to receive), and waits until the peer connection is
//! connected. Hooks may edit the offer and the answer as SDP text on their way. The page
//! then posts its `getStats()` twice a second, read here as [`Report`]s.
//!
//! Tests run the whole thing inside a loopback-only network namespace
//! ([`netns::enter_private_network`]).

pub mod chromium;
pub mod netns;
pub mod signalling;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gst_webrtc::gst_sdp;
use serde_json::{Value, json};

pub use chromium::Chromium;
pub use signalling::Signalling;

/// An SDP rewrite applied on the way (offer before webrtcbin sets it as its local
/// description, answer before it is set as the remote one).
pub type SdpHook = Box<dyn Fn(&str) -> String + Send>;

/// How the browser side is started.
pub struct Options {
    /// A name for the log file (`target/browser/<name>-chromium.log`).
    pub name: String,
    /// Flags after the base ones, e.g. `--force-fieldtrials=WebRTC-FlexFEC-03/Enabled/`.
    pub flags: Vec<String>,
    /// `encodedInsertableStreams` on the page's peer connection: the page then reads the
    /// per-packet audio level of received audio from the encoded-frame metadata.
    pub insertable_streams: bool,
    /// Rewrites our offer.
    pub edit_offer: Option<SdpHook>,
    /// Rewrites the browser's answer.
    pub edit_answer: Option<SdpHook>,
    /// The browser window (the screenshot's size).
    pub window: (u32, u32),
    /// Start headless Chromium (`false`: print the page's address for a person to open).
    pub launch: bool,
}

impl Options {
    /// Headless Chromium, no extra flag, no hook, a 720×800 window.
    pub fn new(name: &str) -> Options {
        Options {
            name: name.to_owned(),
            flags: Vec::new(),
            insertable_streams: false,
            edit_offer: None,
            edit_answer: None,
            window: (720, 800),
            launch: true,
        }
    }
}

/// The start of every browser test: fails at once, saying how to install it, when there is
/// no Chromium; then runs the test in a loopback-only network namespace (see
/// [`netns::enter_private_network`]: `true` means run the body now).
pub fn enter_browser_test(test: &str) -> bool {
    if let Err(e) = chromium::binary() {
        panic!("{e}");
    }
    netns::enter_private_network(test)
}

/// Where the browser tests keep their logs and screenshots: `target/browser`.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("browser")
}

/// One `getStats()` report of the page, with the page's own state.
#[derive(Clone, Debug)]
pub struct Report(pub Value);

impl Report {
    /// The stats objects of the report.
    pub fn entries(&self) -> impl Iterator<Item = &Value> {
        self.0["stats"].as_array().into_iter().flatten()
    }

    /// The first stats object of `type_` (`inbound-rtp`, `outbound-rtp`, ...) and `kind`.
    pub fn rtp(&self, type_: &str, kind: &str) -> Option<&Value> {
        self.entries()
            .find(|s| s["type"] == type_ && s["kind"] == kind)
    }

    /// A number of the stats object of `type_` and `kind` (0 when absent).
    pub fn number(&self, type_: &str, kind: &str, field: &str) -> f64 {
        self.rtp(type_, kind)
            .and_then(|s| s[field].as_f64())
            .unwrap_or(0.0)
    }

    /// The page's clock when it took the report, in milliseconds.
    pub fn now(&self) -> f64 {
        self.0["now"].as_f64().unwrap_or(0.0)
    }

    /// The codecs the browser declares (`side`: `sender` or `receiver`; `kind`: `audio` or
    /// `video`), as `mimeType` and `sdpFmtpLine`, e.g. `video/flexfec-03 repair-window=...`.
    pub fn codecs(&self, side: &str, kind: &str) -> Vec<String> {
        self.0["page"]["capabilities"][format!("{side}-{kind}")]["codecs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "{} {}",
                    c["mimeType"].as_str().unwrap_or_default(),
                    c["sdpFmtpLine"].as_str().unwrap_or_default()
                )
            })
            .collect()
    }

    /// Errors the page caught (script errors, rejected promises).
    pub fn page_errors(&self) -> Vec<String> {
        self.0["page"]["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e.as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// Chromium connected to a `webrtcbin`. Dropping it closes the browser and the server.
pub struct BrowserPeer {
    /// The browser, when started headless.
    pub chromium: Option<Chromium>,
    /// The page server and what the page posted.
    pub signalling: Signalling,
    /// The offer as set on webrtcbin (after the hook).
    pub offer: String,
    /// The answer as set on webrtcbin (after the hook).
    pub answer: String,
}

/// Emits an action signal of `webrtcbin` that replies through a promise, and waits at
/// most `timeout` for the reply.
fn ask(
    webrtcbin: &gst::Element,
    signal: &str,
    first: &dyn ToValue,
    timeout: Duration,
) -> Result<Option<gst::Structure>, String> {
    let (tx, rx) = mpsc::channel();
    let promise = gst::Promise::with_change_func(move |reply| {
        let _ = tx.send(
            reply
                .map(|r| r.map(|s| s.to_owned()))
                .map_err(|e| format!("{e:?}")),
        );
    });
    webrtcbin.emit_by_name::<()>(signal, &[first, &promise]);
    rx.recv_timeout(timeout)
        .map_err(|_| format!("webrtcbin did not answer {signal} within {timeout:?}"))?
}

fn description(
    kind: gst_webrtc::WebRTCSDPType,
    text: &str,
) -> Result<gst_webrtc::WebRTCSessionDescription, String> {
    let sdp = gst_sdp::SDPMessage::parse_buffer(text.as_bytes())
        .map_err(|e| format!("unparsable SDP ({e}):\n{text}"))?;
    Ok(gst_webrtc::WebRTCSessionDescription::new(kind, sdp))
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

impl BrowserPeer {
    /// Negotiates `webrtcbin` (in a pipeline already PLAYING, its sending pads linked and
    /// its receive-only transceivers added) with the page, as described in the module
    /// documentation; fails after `timeout`.
    pub fn connect(
        webrtcbin: &gst::Element,
        options: Options,
        timeout: Duration,
    ) -> Result<BrowserPeer, String> {
        let deadline = Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(Instant::now());
        let agent = webrtcbin.property::<glib::Object>("ice-agent");
        // libnice leaves loopback out unless told; the namespace has nothing else.
        if !agent.emit_by_name::<bool>("add-local-ip-address", &[&"127.0.0.1"]) {
            return Err("the ICE agent refused 127.0.0.1".into());
        }
        let candidates = Arc::new(Mutex::new(Vec::new()));
        let c = candidates.clone();
        webrtcbin.connect("on-ice-candidate", false, move |values| {
            let mline = values[1].get::<u32>().ok()?;
            let candidate = values[2].get::<String>().ok()?;
            c.lock()
                .unwrap()
                .push(json!({ "mline": mline, "candidate": candidate }));
            None
        });
        let config = json!({ "insertable": options.insertable_streams });
        let signalling = Signalling::start(config)?;

        let reply = ask(webrtcbin, "create-offer", &None::<gst::Structure>, left())?
            .ok_or("create-offer: no reply")?;
        let offer = reply
            .get::<gst_webrtc::WebRTCSessionDescription>("offer")
            .map_err(|_| format!("create-offer failed: {reply}"))?;
        let mut offer_text = offer.sdp().as_text().map_err(|e| e.to_string())?;
        if let Some(edit) = &options.edit_offer {
            offer_text = edit(&offer_text);
        }
        let offer = description(gst_webrtc::WebRTCSDPType::Offer, &offer_text)?;
        ask(webrtcbin, "set-local-description", &offer, left())?;
        let gathered = wait_until(left(), || {
            webrtcbin.property::<gst_webrtc::WebRTCICEGatheringState>("ice-gathering-state")
                == gst_webrtc::WebRTCICEGatheringState::Complete
        });
        if !gathered {
            return Err("webrtcbin's ICE gathering did not complete".into());
        }
        {
            let candidates = candidates.lock().unwrap().clone();
            let mut exchange = signalling.exchange.0.lock().unwrap();
            exchange.offer = Some(json!({ "sdp": offer_text, "candidates": candidates }));
        }

        let log = artifacts_dir().join(format!("{}-chromium.log", options.name));
        let chromium = if options.launch {
            Some(Chromium::launch(
                &signalling.url(),
                &options.flags,
                options.window,
                &log,
            )?)
        } else {
            println!("Open {} in a browser on this machine", signalling.url());
            None
        };

        let answer_text = signalling
            .wait(left(), |e| e.answer.clone())
            .ok_or_else(|| {
                let report = signalling
                    .exchange
                    .0
                    .lock()
                    .unwrap()
                    .reports
                    .last()
                    .cloned();
                let log_tail = std::fs::read_to_string(&log).unwrap_or_default();
                let log_tail: Vec<&str> = log_tail.lines().rev().take(15).collect();
                format!(
                    "no answer from the page; its last report: {report:?}; the end of {}:\n{}",
                    log.display(),
                    log_tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })?;
        let answer_text = match &options.edit_answer {
            Some(edit) => edit(&answer_text),
            None => answer_text,
        };
        let answer = description(gst_webrtc::WebRTCSDPType::Answer, &answer_text)?;
        ask(webrtcbin, "set-remote-description", &answer, left())?;
        let connected = wait_until(left(), || {
            webrtcbin.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state")
                == gst_webrtc::WebRTCPeerConnectionState::Connected
        });
        if !connected {
            return Err(format!(
                "not connected: webrtcbin {:?}, ICE {:?}",
                webrtcbin.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state"),
                webrtcbin.property::<gst_webrtc::WebRTCICEConnectionState>("ice-connection-state"),
            ));
        }
        Ok(BrowserPeer {
            chromium,
            signalling,
            offer: offer_text,
            answer: answer_text,
        })
    }

    /// The page's latest report.
    pub fn latest(&self) -> Option<Report> {
        let exchange = self.signalling.exchange.0.lock().unwrap();
        exchange.reports.last().cloned().map(Report)
    }

    /// Waits at most `timeout` for a report that satisfies `done`; the last report seen
    /// (satisfying or not) is returned as the error.
    pub fn wait_report(
        &self,
        timeout: Duration,
        done: impl Fn(&Report) -> bool,
    ) -> Result<Report, Option<Report>> {
        let mut seen = 0;
        self.signalling
            .wait(timeout, |e| {
                let new = e.reports.len() != seen;
                seen = e.reports.len();
                let last = Report(e.reports.last()?.clone());
                (new && done(&last)).then_some(last)
            })
            .ok_or_else(|| self.latest())
    }

    /// Waits for the next report (at most `timeout`).
    pub fn next_report(&self, timeout: Duration) -> Option<Report> {
        let count = self.signalling.exchange.0.lock().unwrap().reports.len();
        self.signalling.wait(timeout, |e| {
            (e.reports.len() > count).then(|| Report(e.reports.last().unwrap().clone()))
        })
    }

    /// Every per-packet audio level the page read so far, as (page time in ms, level
    /// 0..=1 as in `RTCRtpSynchronizationSource.audioLevel`).
    pub fn audio_levels(&self) -> Vec<(f64, f64)> {
        self.signalling.exchange.0.lock().unwrap().levels.clone()
    }

    /// Writes a PNG of the page as the browser shows it now.
    pub fn screenshot(&self, path: &Path) -> Result<(), String> {
        let chromium = self.chromium.as_ref().ok_or("no headless browser")?;
        let png = chromium.screenshot_png()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        std::fs::write(path, png).map_err(|e| format!("{}: {e}", path.display()))
    }
}
