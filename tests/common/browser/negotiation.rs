// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! webrtcbin's half of the offer/answer exchange (RFC 8829 JSEP, non-trickle): its own
//! description created, rewritten by a hook, set, and published with the ICE candidates once
//! gathering is complete; the page's description rewritten by a hook and set as the remote
//! one. Every wait is bounded.

use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gst_webrtc::gst_sdp;
use serde_json::{Value, json};

use super::SdpHook;

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

/// Polls `done` every 20 ms for at most `timeout`; whether it held.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Gives webrtcbin's ICE agent 127.0.0.1 (libnice leaves loopback out unless told, and the
/// test namespace has nothing else) and collects the candidates it gathers, as the page
/// takes them: `{ "mline": index, "candidate": "candidate:..." }`.
pub fn loopback_candidates(webrtcbin: &gst::Element) -> Result<Arc<Mutex<Vec<Value>>>, String> {
    let agent = webrtcbin.property::<glib::Object>("ice-agent");
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
    Ok(candidates)
}

/// webrtcbin's offer (`answer` false) or answer: created, rewritten by `edit`, set as its
/// local description; returned once ICE gathering is complete, as the SDP text and the
/// JSON the page reads (`sdp` and `candidates`).
pub fn local_description(
    webrtcbin: &gst::Element,
    answer: bool,
    edit: Option<&SdpHook>,
    candidates: &Mutex<Vec<Value>>,
    timeout: Duration,
) -> Result<(String, Value), String> {
    let deadline = Instant::now() + timeout;
    let left = || deadline.saturating_duration_since(Instant::now());
    let (signal, field, kind) = if answer {
        ("create-answer", "answer", gst_webrtc::WebRTCSDPType::Answer)
    } else {
        ("create-offer", "offer", gst_webrtc::WebRTCSDPType::Offer)
    };
    let reply = ask(webrtcbin, signal, &None::<gst::Structure>, left())?
        .ok_or_else(|| format!("{signal}: no reply"))?;
    let created = reply
        .get::<gst_webrtc::WebRTCSessionDescription>(field)
        .map_err(|_| format!("{signal} failed: {reply}"))?;
    let mut text = created.sdp().as_text().map_err(|e| e.to_string())?;
    if let Some(edit) = edit {
        text = edit(&text);
    }
    ask(
        webrtcbin,
        "set-local-description",
        &description(kind, &text)?,
        left(),
    )?;
    let gathered = wait_until(left(), || {
        webrtcbin.property::<gst_webrtc::WebRTCICEGatheringState>("ice-gathering-state")
            == gst_webrtc::WebRTCICEGatheringState::Complete
    });
    if !gathered {
        return Err("webrtcbin's ICE gathering did not complete".into());
    }
    let candidates = candidates.lock().unwrap().clone();
    let published = json!({ "sdp": text, "candidates": candidates });
    Ok((text, published))
}

/// The page's offer (`answer` false) or answer, rewritten by `edit`, set as webrtcbin's
/// remote description (its `a=candidate` lines included); returns the text set.
pub fn remote_description(
    webrtcbin: &gst::Element,
    answer: bool,
    text: String,
    edit: Option<&SdpHook>,
    timeout: Duration,
) -> Result<String, String> {
    let kind = if answer {
        gst_webrtc::WebRTCSDPType::Answer
    } else {
        gst_webrtc::WebRTCSDPType::Offer
    };
    let text = match edit {
        Some(edit) => edit(&text),
        None => text,
    };
    ask(
        webrtcbin,
        "set-remote-description",
        &description(kind, &text)?,
        timeout,
    )?;
    Ok(text)
}

/// Waits at most `timeout` for webrtcbin's peer connection to be connected.
pub fn wait_connected(webrtcbin: &gst::Element, timeout: Duration) -> Result<(), String> {
    let state = || webrtcbin.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state");
    if wait_until(timeout, || {
        state() == gst_webrtc::WebRTCPeerConnectionState::Connected
    }) {
        return Ok(());
    }
    Err(format!(
        "not connected: webrtcbin {:?}, ICE {:?}",
        state(),
        webrtcbin.property::<gst_webrtc::WebRTCICEConnectionState>("ice-connection-state"),
    ))
}
