// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Chromium as a WebRTC peer of a `webrtcbin`: the harness of tests/browser.rs, reusable by
//! other tests and by examples/browser_peer.rs.
//!
//! [`BrowserPeer::connect`] serves a page on 127.0.0.1 ([`signalling`]), starts headless
//! Chromium on it ([`chromium`], extra flags such as field trials allowed), has `webrtcbin`
//! offer (non-trickle: the offer is published once ICE gathering is complete, with the
//! candidates; [`negotiation`]), lets the page answer (sending its fake camera and
//! microphone on every m-section our side offered to receive), and waits until the peer
//! connection is connected. With [`Options::browser_offers`] the page offers and
//! `webrtcbin` answers. Hooks may edit the offer and the answer as SDP text on their way.
//! The page then posts its `getStats()` twice a second, read here as [`Report`]s, and
//! [`BrowserPeer::screenshot`] takes a PNG of it.
//!
//! Tests start with [`enter_browser_test`], which runs the whole thing inside a
//! loopback-only network namespace ([`netns::enter_private_network`]).

pub mod chromium;
pub mod negotiation;
pub mod netns;
pub mod signalling;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub use chromium::Chromium;
pub use signalling::Signalling;

/// An SDP rewrite applied on the way: to the offer and the answer before webrtcbin sets
/// them (webrtcbin's own before `set-local-description`, the page's before
/// `set-remote-description`; the page gets webrtcbin's as rewritten).
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
    /// The page offers (a transceiver per local track, [`Options::offer_direction`]) and
    /// webrtcbin answers; otherwise webrtcbin offers.
    pub browser_offers: bool,
    /// The direction of the page's transceivers when it offers (`sendrecv`, `sendonly`).
    pub offer_direction: String,
    /// Clockwise degrees (90, 180, 270) the page marks its camera frames as rotated by (a
    /// WebCodecs `VideoFrame` rotation through a track generator, as a phone camera reports
    /// its orientation); `None` sends the camera as it is.
    pub rotate_video: Option<u32>,
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
            browser_offers: false,
            offer_direction: "sendrecv".into(),
            rotate_video: None,
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
    /// The offer (webrtcbin's or the page's) as set on webrtcbin, after the hook.
    pub offer: String,
    /// The answer (the page's or webrtcbin's) as set on webrtcbin, after the hook.
    pub answer: String,
}

/// Waits at most `timeout` for the page to post its `what` (offer or answer); the error
/// carries the page's last report and the end of Chromium's log.
fn page_wait(
    signalling: &Signalling,
    log: &Path,
    what: &str,
    timeout: Duration,
    ready: impl FnMut(&signalling::Exchange) -> Option<String>,
) -> Result<String, String> {
    signalling.wait(timeout, ready).ok_or_else(|| {
        let report = signalling
            .exchange
            .0
            .lock()
            .unwrap()
            .reports
            .last()
            .cloned();
        let log_text = std::fs::read_to_string(log).unwrap_or_default();
        let mut tail: Vec<&str> = log_text.lines().rev().take(15).collect();
        tail.reverse();
        format!(
            "no {what} from the page; its last report: {report:?}; the end of {}:\n{}",
            log.display(),
            tail.join("\n")
        )
    })
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
        let candidates = negotiation::loopback_candidates(webrtcbin)?;
        let config = json!({
            "insertable": options.insertable_streams,
            "browserOffers": options.browser_offers,
            "offerDirection": options.offer_direction,
            "rotateVideo": options.rotate_video,
        });
        let signalling = Signalling::start(config)?;
        let log = artifacts_dir().join(format!("{}-chromium.log", options.name));
        let launch = || -> Result<Option<Chromium>, String> {
            if !options.launch {
                println!("Open {} in a browser on this machine", signalling.url());
                return Ok(None);
            }
            let url = signalling.url();
            Chromium::launch(&url, &options.flags, options.window, &log).map(Some)
        };
        let (edit_offer, edit_answer) = (options.edit_offer.as_ref(), options.edit_answer.as_ref());
        let (chromium, offer, answer) = if options.browser_offers {
            let chromium = launch()?;
            let page_offer = page_wait(&signalling, &log, "offer", left(), |e| {
                e.browser_offer.clone()
            })?;
            let offer =
                negotiation::remote_description(webrtcbin, false, page_offer, edit_offer, left())?;
            let (answer, published) =
                negotiation::local_description(webrtcbin, true, edit_answer, &candidates, left())?;
            signalling.exchange.0.lock().unwrap().gst_answer = Some(published);
            (chromium, offer, answer)
        } else {
            let (offer, published) =
                negotiation::local_description(webrtcbin, false, edit_offer, &candidates, left())?;
            signalling.exchange.0.lock().unwrap().offer = Some(published);
            let chromium = launch()?;
            let page_answer = page_wait(&signalling, &log, "answer", left(), |e| e.answer.clone())?;
            let answer =
                negotiation::remote_description(webrtcbin, true, page_answer, edit_answer, left())?;
            (chromium, offer, answer)
        };
        negotiation::wait_connected(webrtcbin, left())?;
        Ok(BrowserPeer {
            chromium,
            signalling,
            offer,
            answer,
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
