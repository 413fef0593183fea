// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Issue 18: webrtcbin negotiates our header extensions from SDP `a=extmap` lines (offer and
//! answer) and runs them: a sender `rtph264pay2` whose extensions come from
//! `gst_rtp_header_extension_create_from_uri`, a receiver C `rtph264depay` that creates them
//! itself from the `extmap-N` caps webrtcbin gives it (auto-header-extension). 127.0.0.1 only,
//! every wait bounded.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst_rtp::prelude::*;

mod common;

const CVO: &str = "urn:3gpp:video-orientation";
const DELAY: &str = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";

fn rtp_caps() -> String {
    format!(
        "application/x-rtp,media=video,encoding-name=H264,payload=96,clock-rate=90000,\
         extmap-3=(string){CVO},extmap-4=(string){DELAY}"
    )
}

/// What the receiver's depayloader output carried: (orientation, min-delay, max-delay).
type Seen = Arc<Mutex<(Option<String>, Option<u32>, Option<u32>)>>;

fn negotiate(send: &gst::Element, recv: &gst::Element, sdp: Arc<Mutex<Vec<String>>>) {
    let (s, r) = (send.downgrade(), recv.downgrade());
    send.connect("on-negotiation-needed", false, move |_| {
        let (send, recv) = (s.upgrade()?, r.upgrade()?);
        let sdp = sdp.clone();
        let offerer = send.clone();
        let (send, recv) = (send.clone(), recv.clone());
        let promise = gst::Promise::with_change_func(move |reply| {
            let Ok(Some(reply)) = reply else { return };
            let Ok(offer) = reply.get::<gst_webrtc::WebRTCSessionDescription>("offer") else {
                return;
            };
            sdp.lock().unwrap().push(offer.sdp().as_text().unwrap());
            send.emit_by_name::<()>("set-local-description", &[&offer, &None::<gst::Promise>]);
            recv.emit_by_name::<()>("set-remote-description", &[&offer, &None::<gst::Promise>]);
            let (send2, recv2) = (send.clone(), recv.clone());
            let promise = gst::Promise::with_change_func(move |reply| {
                let Ok(Some(reply)) = reply else { return };
                let Ok(answer) = reply.get::<gst_webrtc::WebRTCSessionDescription>("answer") else {
                    return;
                };
                sdp.lock().unwrap().push(answer.sdp().as_text().unwrap());
                recv2
                    .emit_by_name::<()>("set-local-description", &[&answer, &None::<gst::Promise>]);
                send2.emit_by_name::<()>(
                    "set-remote-description",
                    &[&answer, &None::<gst::Promise>],
                );
            });
            recv.emit_by_name::<()>("create-answer", &[&None::<gst::Structure>, &promise]);
        });
        offerer.emit_by_name::<()>("create-offer", &[&None::<gst::Structure>, &promise]);
        None
    });
    for (a, b) in [(send, recv), (recv, send)] {
        let peer = b.downgrade();
        a.connect("on-ice-candidate", false, move |v| {
            let mline = v[1].get::<u32>().ok()?;
            let candidate = v[2].get::<String>().ok()?;
            peer.upgrade()?
                .emit_by_name::<()>("add-ice-candidate", &[&mline, &candidate]);
            None
        });
        let agent = a.property::<glib::Object>("ice-agent");
        assert!(agent.emit_by_name::<bool>("add-local-ip-address", &[&"127.0.0.1"]));
    }
}

#[test]
fn webrtcbin_negotiates_and_runs_cvo_and_playout_delay() {
    common::init();
    let sender = gst::parse::launch(&format!(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=160,height=120,framerate=30/1 \
         ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 \
         ! rtph264pay2 name=pay config-interval=-1 ! {} ! webrtcbin name=send bundle-policy=max-bundle",
        rtp_caps()
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let pay = sender.by_name("pay").unwrap();
    let created = Arc::new(Mutex::new(Vec::<gst_rtp::RTPHeaderExtension>::new()));
    let c = created.clone();
    pay.connect("request-extension", false, move |v| {
        let id = v[1].get::<u32>().unwrap();
        let uri = v[2].get::<String>().unwrap();
        let ext = gst_rtp::RTPHeaderExtension::create_from_uri(&uri)?;
        ext.set_id(id);
        c.lock().unwrap().push(ext.clone());
        Some(ext.to_value())
    });
    let send = sender.by_name("send").unwrap();

    let receiver = gst::Pipeline::new();
    let recv = gst::ElementFactory::make("webrtcbin")
        .name("recv")
        .property_from_str("bundle-policy", "max-bundle")
        .build()
        .unwrap();
    receiver.add(&recv).unwrap();
    recv.emit_by_name::<gst_webrtc::WebRTCRTPTransceiver>(
        "add-transceiver",
        &[
            &gst_webrtc::WebRTCRTPTransceiverDirection::Recvonly,
            &gst::Caps::from_str(&rtp_caps()).unwrap(),
        ],
    );
    let sdp = Arc::new(Mutex::new(Vec::new()));
    negotiate(&send, &recv, sdp.clone());

    let seen: Seen = Arc::default();
    let weak = receiver.downgrade();
    let s = seen.clone();
    recv.connect_pad_added(move |_, pad| {
        let Some(receiver) = weak.upgrade() else {
            return;
        };
        let bin = gst::parse::bin_from_description(
            "rtph264depay name=depay ! fakesink name=sink sync=false async=false",
            true,
        )
        .unwrap();
        receiver.add(&bin).unwrap();
        let s = s.clone();
        bin.by_name("sink")
            .unwrap()
            .static_pad("sink")
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let Some(b) = info.buffer() {
                    let mut seen = s.lock().unwrap();
                    if let Ok(m) = gst::meta::CustomMeta::from_buffer(b, "rtphdrextcvo") {
                        seen.0 = m.structure().get::<String>("orientation").ok();
                    }
                    if let Ok(m) = gst::meta::CustomMeta::from_buffer(b, "rtphdrextplayoutdelay") {
                        seen.1 = m.structure().get::<u32>("min-delay").ok();
                        seen.2 = m.structure().get::<u32>("max-delay").ok();
                    }
                }
                gst::PadProbeReturn::Ok
            });
        bin.sync_state_with_parent().unwrap();
        pad.link(&bin.static_pad("sink").unwrap()).unwrap();
    });

    receiver.set_state(gst::State::Playing).unwrap();
    sender.set_state(gst::State::Playing).unwrap();
    let connected = || {
        [&send, &recv].iter().all(|w| {
            w.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state")
                == gst_webrtc::WebRTCPeerConnectionState::Connected
        })
    };
    let start = Instant::now();
    while !connected() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(connected(), "peers connected over 127.0.0.1");
    // Set the values now that packets flow: CVO is sent on key frames and on change, the
    // playout delay until the next key frame after a change.
    for ext in created.lock().unwrap().iter() {
        match ext.uri().as_deref() {
            Some(CVO) => ext.set_property("orientation", "rotate-180"),
            Some(DELAY) => {
                ext.set_property("max-delay", 400u32);
                ext.set_property("min-delay", 200u32);
            }
            other => panic!("unexpected extension {other:?}"),
        }
    }
    let want = (Some("rotate-180".to_string()), Some(200), Some(400));
    let start = Instant::now();
    while *seen.lock().unwrap() != want && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let got = seen.lock().unwrap().clone();
    sender.set_state(gst::State::Null).unwrap();
    receiver.set_state(gst::State::Null).unwrap();

    let factories: Vec<String> = created
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.factory().unwrap().name().to_string())
        .collect();
    assert_eq!(factories.len(), 2, "{factories:?}");
    assert!(factories.contains(&"rtphdrextcvo".to_string()));
    assert!(factories.contains(&"rtphdrextplayoutdelay".to_string()));
    let sdp = sdp.lock().unwrap().clone();
    assert_eq!(sdp.len(), 2, "offer and answer");
    for (which, text) in ["offer", "answer"].iter().zip(&sdp) {
        for line in [format!("a=extmap:3 {CVO}"), format!("a=extmap:4 {DELAY}")] {
            assert!(text.contains(&line), "{which} has {line}:\n{text}");
        }
    }
    assert_eq!(got, want, "the receiver read both extensions");
}
