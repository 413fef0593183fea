// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! An RTSP server (gst-rtsp-server) serving test streams through our payloaders at `/h264`,
//! `/h265` and `/g722`, and receiving H.264 through `rtph264depay2` at `/record` (RTSP
//! RECORD, for clients such as `rtspclientsink`), on 127.0.0.1. Used by tests/rtsp.rs and
//! examples/rtsp_server.rs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;
use gst_rtsp_server::prelude::*;

/// The streams served, by mount path: a launch line whose payloader is `pay0`.
pub const STREAMS: [(&str, &str); 3] = [
    (
        "/h264",
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 \
         ! rtph264pay2 name=pay0 pt=96 config-interval=-1",
    ),
    (
        "/h265",
        "videotestsrc is-live=true pattern=ball \
         ! video/x-raw,width=320,height=240,framerate=30/1,format=I420 \
         ! x265enc tune=zerolatency speed-preset=ultrafast key-int-max=30 \
         ! rtph265pay2 name=pay0 pt=96 config-interval=-1",
    ),
    (
        "/g722",
        "audiotestsrc is-live=true ! audio/x-raw,rate=16000,channels=1 ! avenc_g722 \
         ! rtpg722pay2 name=pay0 pt=9",
    ),
];

/// The payloaders of the media prepared so far, with their mount path.
pub type Payloaders = Arc<Mutex<Vec<(String, gst::Element)>>>;

/// The mount path that accepts RTSP RECORD (ANNOUNCE, SETUP, RECORD) of H.264.
pub const RECORD_PATH: &str = "/record";

/// What the RECORD mount received: pictures decoded, and its depayloaders (`depay0`).
#[derive(Default)]
pub struct Recorded {
    /// Pictures out of the decoder behind `rtph264depay2`, over all RECORD sessions.
    pub frames: AtomicU64,
    /// RTP packets that reached `rtph264depay2`, over all RECORD sessions.
    pub packets: AtomicU64,
    /// The depayloader of each RECORD media prepared so far.
    pub depayloaders: Mutex<Vec<gst::Element>>,
}

/// Adds the RECORD mount: the client's payloader feeds `rtph264depay2` (`depay0`, the name
/// gst-rtsp-server looks for in a RECORD media), then the decoder.
fn add_record_mount(mounts: &gst_rtsp_server::RTSPMountPoints, recorded: &Arc<Recorded>) {
    let factory = gst_rtsp_server::RTSPMediaFactory::new();
    factory.set_transport_mode(gst_rtsp_server::RTSPTransportMode::RECORD);
    factory.set_launch(
        "( rtph264depay2 name=depay0 ! avdec_h264 ! fakesink name=recorded sync=false async=false )",
    );
    let recorded = recorded.clone();
    factory.connect_media_configure(move |_, media| {
        let Some(bin) = media.element().downcast_ref::<gst::Bin>().cloned() else {
            return;
        };
        if let Some(depay) = bin.by_name("depay0") {
            let r = recorded.clone();
            let pad = depay.static_pad("sink").unwrap();
            pad.add_probe(
                gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
                move |_, info| {
                    let n = match &info.data {
                        Some(gst::PadProbeData::BufferList(l)) => l.len() as u64,
                        _ => 1,
                    };
                    r.packets.fetch_add(n, Ordering::Relaxed);
                    gst::PadProbeReturn::Ok
                },
            );
            recorded.depayloaders.lock().unwrap().push(depay);
        }
        let recorded = recorded.clone();
        if let Some(pad) = bin.by_name("recorded").and_then(|s| s.static_pad("sink")) {
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                recorded.frames.fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            });
        }
    });
    mounts.add_factory(RECORD_PATH, factory);
}

/// A server listening on 127.0.0.1:`port`, attached to `context` (the caller runs a main
/// loop on it).
pub fn server(
    port: u16,
    context: Option<&glib::MainContext>,
) -> (glib::SourceId, Payloaders, Arc<Recorded>) {
    let server = gst_rtsp_server::RTSPServer::new();
    server.set_address("127.0.0.1");
    server.set_service(&port.to_string());
    let mounts = server.mount_points().expect("mount points");
    let payloaders: Payloaders = Arc::default();
    for (path, launch) in STREAMS {
        let factory = gst_rtsp_server::RTSPMediaFactory::new();
        factory.set_launch(&format!("( {launch} )"));
        factory.set_shared(true);
        let payloaders = payloaders.clone();
        factory.connect_media_configure(move |_, media| {
            if let Some(pay) = media
                .element()
                .downcast_ref::<gst::Bin>()
                .and_then(|b| b.by_name("pay0"))
            {
                payloaders.lock().unwrap().push((path.to_string(), pay));
            }
        });
        mounts.add_factory(path, factory);
    }
    let recorded = Arc::new(Recorded::default());
    add_record_mount(&mounts, &recorded);
    let id = server.attach(context).expect("server attached");
    (id, payloaders, recorded)
}

/// A server running on a main loop of its own thread, stopped when dropped.
pub struct RunningServer {
    /// The port it listens on.
    pub port: u16,
    /// The payloaders of the media prepared so far.
    pub payloaders: Payloaders,
    /// What the RECORD mount received.
    pub recorded: Arc<Recorded>,
    main_loop: glib::MainLoop,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    /// Starts a server on a free port.
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free TCP port");
        let context = glib::MainContext::new();
        let main_loop = glib::MainLoop::new(Some(&context), false);
        let (tx, rx) = std::sync::mpsc::channel();
        let l = main_loop.clone();
        let thread = std::thread::spawn(move || {
            context
                .with_thread_default(|| {
                    let (id, payloaders, recorded) = server(port, Some(&context));
                    tx.send((payloaders, recorded)).unwrap();
                    l.run();
                    // The source belongs to `context`, not to the default context that
                    // `SourceId::remove` looks in.
                    if let Some(source) = context.find_source_by_id(&id) {
                        source.destroy();
                    }
                })
                .unwrap();
        });
        let (payloaders, recorded) = rx.recv().unwrap();
        RunningServer {
            port,
            payloaders,
            recorded,
            main_loop,
            thread: Some(thread),
        }
    }

    /// The URL of a mount path.
    pub fn url(&self, path: &str) -> String {
        format!("rtsp://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.main_loop.quit();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
