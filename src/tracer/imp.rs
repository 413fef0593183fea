// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The tracer object: parameters, the registry and HTTP endpoint, and the hooks that feed
//! the per-pad state.

use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use prometheus_client::registry::Registry;

use super::elements::WatchedElements;
use super::metrics::Families;
use super::pad::PadProbe;
use super::server::MetricsServer;

pub(super) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "rtp-metrics",
        gst::DebugColorFlags::empty(),
        Some("rtp-metrics tracer (Prometheus endpoint)"),
    )
});

const DEFAULT_ADDRESS: &str = "127.0.0.1";
const DEFAULT_PORT: i32 = 9464;
const DEFAULT_MAX_STREAMS: i32 = 1000;

#[derive(Debug, Clone)]
struct Settings {
    address: String,
    port: i32,
    max_streams: i32,
    /// OTLP/HTTP receiver base URL; `None`: no export.
    #[cfg(feature = "otlp")]
    otlp_endpoint: Option<String>,
    #[cfg(feature = "otlp")]
    otlp_interval: i32,
}

#[cfg(feature = "otlp")]
const DEFAULT_OTLP_INTERVAL: i32 = 10;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            address: DEFAULT_ADDRESS.into(),
            port: DEFAULT_PORT,
            max_streams: DEFAULT_MAX_STREAMS,
            #[cfg(feature = "otlp")]
            otlp_endpoint: None,
            #[cfg(feature = "otlp")]
            otlp_interval: DEFAULT_OTLP_INTERVAL,
        }
    }
}

/// Everything set up in `constructed`.
#[derive(Debug)]
struct Running {
    families: Arc<Families>,
    watched: Arc<WatchedElements>,
    server: Mutex<Option<MetricsServer>>,
    bound_port: u32,
    #[cfg(feature = "otlp")]
    otlp: Mutex<Option<super::otlp::OtlpExporter>>,
}

/// The `rtp-metrics` tracer.
#[derive(Debug, Default)]
pub struct RtpMetricsTracer {
    settings: Mutex<Settings>,
    running: OnceLock<Running>,
}

#[glib::object_subclass]
impl ObjectSubclass for RtpMetricsTracer {
    const NAME: &'static str = "GstRtp2MetricsTracer";
    type Type = super::RtpMetricsTracer;
    type ParentType = gst::Tracer;
}

impl ObjectImpl for RtpMetricsTracer {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            #[allow(unused_mut)]
            let mut props = vec![
                glib::ParamSpecString::builder("address")
                    .nick("Address")
                    .blurb("IP address the /metrics endpoint listens on")
                    .default_value(Some(DEFAULT_ADDRESS))
                    .construct()
                    .build(),
                // Signed: `GST_TRACERS` parameters parse as `gint`.
                glib::ParamSpecInt::builder("port")
                    .minimum(0)
                    .nick("Port")
                    .blurb("TCP port of the /metrics endpoint (0: pick a free port and log it)")
                    .maximum(65535)
                    .default_value(DEFAULT_PORT)
                    .construct()
                    .build(),
                glib::ParamSpecInt::builder("max-streams")
                    .nick("Maximum streams")
                    .blurb("Cap on per-stream series (pad, SSRC, PT); streams beyond it are counted in rtp2_refused_streams_total")
                    .minimum(1)
                    .default_value(DEFAULT_MAX_STREAMS)
                    .construct()
                    .build(),
                glib::ParamSpecUInt::builder("bound-port")
                    .nick("Bound port")
                    .blurb("TCP port the endpoint listens on (0 when it could not listen)")
                    .maximum(65535)
                    .read_only()
                    .build(),
            ];
            #[cfg(feature = "otlp")]
            props.extend([
                glib::ParamSpecString::builder("otlp-endpoint")
                    .nick("OTLP endpoint")
                    .blurb("OTLP/HTTP receiver to push metrics to, e.g. http://127.0.0.1:4318 (POSTs to /v1/metrics); unset: no export")
                    .construct()
                    .build(),
                glib::ParamSpecInt::builder("otlp-interval")
                    .nick("OTLP interval")
                    .blurb("Seconds between two OTLP exports")
                    .minimum(1)
                    .maximum(3600)
                    .default_value(DEFAULT_OTLP_INTERVAL)
                    .construct()
                    .build(),
            ]);
            props
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        match pspec.name() {
            "address" => {
                s.address = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| DEFAULT_ADDRESS.into())
            }
            "port" => s.port = value.get().unwrap_or(DEFAULT_PORT),
            "max-streams" => s.max_streams = value.get().unwrap_or(DEFAULT_MAX_STREAMS),
            #[cfg(feature = "otlp")]
            "otlp-endpoint" => s.otlp_endpoint = value.get::<Option<String>>().ok().flatten(),
            #[cfg(feature = "otlp")]
            "otlp-interval" => s.otlp_interval = value.get().unwrap_or(DEFAULT_OTLP_INTERVAL),
            _ => {}
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        match pspec.name() {
            "address" => s.address.to_value(),
            "port" => s.port.to_value(),
            "max-streams" => s.max_streams.to_value(),
            #[cfg(feature = "otlp")]
            "otlp-endpoint" => s.otlp_endpoint.to_value(),
            #[cfg(feature = "otlp")]
            "otlp-interval" => s.otlp_interval.to_value(),
            "bound-port" => self.running.get().map_or(0, |r| r.bound_port).to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        let settings = self
            .settings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let families = Families::new(settings.max_streams.max(1) as u64);
        let watched = Arc::new(WatchedElements::default());
        let mut registry = Registry::with_prefix("rtp2");
        families.register(&mut registry);
        registry.register_collector(Box::new(watched.clone()));
        let registry = Arc::new(registry);

        let port = settings.port.clamp(0, 65535) as u16;
        #[cfg(feature = "otlp")]
        let otlp = self.start_otlp(&settings, &registry);
        let server = match MetricsServer::start(&settings.address, port, registry) {
            Ok(server) => {
                gst::info!(
                    CAT,
                    imp = self,
                    "serving metrics on http://{}:{}/metrics",
                    settings.address,
                    server.port
                );
                if port == 0 {
                    eprintln!(
                        "rtp-metrics: serving metrics on http://{}:{}/metrics",
                        settings.address, server.port
                    );
                }
                Some(server)
            }
            Err(err) => {
                // The pipeline keeps running; only the endpoint is missing.
                gst::error!(CAT, imp = self, "rtp-metrics: port {port}: {err}");
                eprintln!(
                    "rtp-metrics: {err} (port {port} taken or not allowed?); metrics are NOT served, pipelines run on"
                );
                None
            }
        };
        let bound_port = server.as_ref().map_or(0, |s| u32::from(s.port));
        let _ = self.running.set(Running {
            families,
            watched,
            server: Mutex::new(server),
            bound_port,
            #[cfg(feature = "otlp")]
            otlp: Mutex::new(otlp),
        });

        super::hooks::register(&self.obj());
        use TracerHook::*;
        for hook in [
            PadPushEventPre,
            PadLinkPost,
            PadUnlinkPost,
            ElementNew,
            ElementRemovePad,
            // Not needed for itself (rare, does nothing here): GStreamer keeps the hooks in
            // one GLib hash table keyed by hook name, which starts with 8 buckets and grows
            // only when full; every hook point of every push, ref and unref looks its name
            // up, and most names are absent. With the 7 hooks above it is 7/8 full and an
            // absent name's look-up probes most of the table; an 8th name makes it grow to
            // 16 buckets, where such look-ups end at once (see docs/telemetry.md, "Measured
            // cost": about 60 ns per G.722 packet less with tracing on).
            ElementChangeStatePost,
        ] {
            self.register_hook(hook);
        }
    }

    fn dispose(&self) {
        if let Some(r) = self.running.get()
            && let Some(mut server) = r.server.lock().unwrap_or_else(|e| e.into_inner()).take()
        {
            server.stop();
        }
        #[cfg(feature = "otlp")]
        if let Some(r) = self.running.get()
            && let Some(mut otlp) = r.otlp.lock().unwrap_or_else(|e| e.into_inner()).take()
        {
            otlp.stop();
        }
    }
}

impl GstObjectImpl for RtpMetricsTracer {}

#[cfg(feature = "otlp")]
impl RtpMetricsTracer {
    /// Starts the OTLP exporter when `otlp-endpoint` is set; a bad endpoint is reported and
    /// the pipelines run on without it.
    fn start_otlp(
        &self,
        settings: &Settings,
        registry: &Arc<Registry>,
    ) -> Option<super::otlp::OtlpExporter> {
        let endpoint = settings
            .otlp_endpoint
            .as_deref()
            .filter(|e| !e.is_empty())?;
        let interval = std::time::Duration::from_secs(settings.otlp_interval.max(1) as u64);
        match super::otlp::OtlpExporter::start(endpoint, interval, registry.clone()) {
            Ok(exporter) => {
                gst::info!(
                    CAT,
                    imp = self,
                    "exporting OTLP metrics to {}",
                    exporter.url
                );
                Some(exporter)
            }
            Err(err) => {
                gst::error!(CAT, imp = self, "{err}");
                eprintln!("rtp-metrics: {err}; metrics are NOT exported over OTLP");
                None
            }
        }
    }
}

/// The families of the `rtp-metrics` tracer at `tracer` (`None` before it is set up).
///
/// # Safety
/// `tracer` is a live `rtp-metrics` tracer, which stays alive while the result is used.
#[inline]
pub(super) unsafe fn families_of<'a>(
    tracer: *mut glib::gobject_ffi::GObject,
) -> Option<&'a Arc<Families>> {
    use glib::translate::FromGlibPtrBorrow;
    // SAFETY: per the contract; the families live in the tracer's instance data, which does
    // not move.
    unsafe {
        let obj = glib::Object::from_glib_borrow(tracer);
        let imp = obj.unsafe_cast_ref::<super::RtpMetricsTracer>().imp();
        let families = &imp.running.get()?.families;
        Some(&*(families as *const Arc<Families>))
    }
}

impl RtpMetricsTracer {
    /// A push of `n` buffers on a pad that is not idle (the hooks call this out of line).
    #[inline]
    pub(super) fn push<'a, I: Iterator<Item = &'a gst::BufferRef>>(
        &self,
        probe: &PadProbe,
        ts: u64,
        pad: &gst::Pad,
        n: u64,
        buffers: impl FnOnce() -> I,
    ) {
        if let Some(r) = self.running.get() {
            probe.on_push(ts, pad, &r.families, n, buffers);
        }
    }
}

impl TracerImpl for RtpMetricsTracer {
    const USE_STRUCTURE_PARAMS: bool = true;

    fn pad_push_event_pre(&self, _ts: u64, pad: &gst::Pad, event: &gst::Event) {
        if let (Some(_), gst::EventView::Caps(c)) = (self.running.get(), event.view()) {
            PadProbe::get(pad).set_caps(c.caps());
        }
    }

    fn pad_link_post(
        &self,
        _ts: u64,
        src: &gst::Pad,
        _sink: &gst::Pad,
        _result: Result<gst::PadLinkSuccess, gst::PadLinkError>,
    ) {
        if self.running.get().is_some() {
            PadProbe::get(src).relink(src);
        }
    }

    fn pad_unlink_post(&self, _ts: u64, src: &gst::Pad, _sink: &gst::Pad, _success: bool) {
        if self.running.get().is_some() {
            PadProbe::get(src).relink(src);
        }
    }

    fn element_new(&self, _ts: u64, element: &gst::Element) {
        if let Some(r) = self.running.get() {
            r.watched.consider(element);
        }
    }

    fn element_remove_pad(&self, _ts: u64, _element: &gst::Element, pad: &gst::Pad) {
        if self.running.get().is_some() {
            PadProbe::get(pad).clear();
        }
    }
}
