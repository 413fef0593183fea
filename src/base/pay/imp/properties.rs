// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Payloader: properties and action signals.

use super::*;

impl ObjectImpl for RtpBasePay2 {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecUInt::builder("mtu")
                    .nick("MTU")
                    .blurb("Maximum size of one packet")
                    .minimum(28)
                    .default_value(DEFAULT_MTU)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("pt")
                    .nick("payload type")
                    .blurb("The payload type of the packets")
                    .maximum(0x7f)
                    .default_value(DEFAULT_PT)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("ssrc")
                    .nick("SSRC")
                    .blurb("The SSRC of the packets (default == random)")
                    .default_value(RANDOM_U32)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("timestamp-offset")
                    .nick("Timestamp Offset")
                    .blurb("Offset to add to all outgoing timestamps (default = random)")
                    .default_value(RANDOM_U32)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecInt::builder("seqnum-offset")
                    .nick("Sequence number Offset")
                    .blurb("Offset to add to all outgoing seqnum (-1 = random)")
                    .minimum(-1)
                    .maximum(0xffff)
                    .default_value(-1)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("seqnum")
                    .nick("Sequence number")
                    .blurb("The RTP sequence number of the last processed packet")
                    .maximum(0xffff)
                    .read_only()
                    .build(),
                glib::ParamSpecUInt::builder("timestamp")
                    .nick("Timestamp")
                    .blurb("The RTP timestamp of the last processed packet")
                    .read_only()
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb("Various statistics")
                    .read_only()
                    .build(),
                glib::ParamSpecBoolean::builder("source-info")
                    .nick("RTP source information")
                    .blurb("Write CSRC based on buffer meta RTP source information")
                    .default_value(false)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("scale-rtptime")
                    .nick("Scale RTP time")
                    .blurb("Whether the RTP timestamp should be scaled with the rate (speed)")
                    .default_value(true)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("perfect-rtptime")
                    .nick("Perfect RTP Time")
                    .blurb("Generate perfect RTP timestamps when possible")
                    .default_value(true)
                    .mutable_playing()
                    .build(),
                crate::base::extensions::auto_header_extension_pspec(),
                crate::base::extensions::extensions_pspec(),
                glib::ParamSpecBoolean::builder("buffer-list")
                    .nick("Buffer List")
                    .blurb("Push the packets made from one input buffer as one buffer list")
                    .default_value(true)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecInt64::builder("min-ptime")
                    .nick("Min packet time")
                    .blurb("Minimum duration of the packet data in ns (can't go above MTU)")
                    .minimum(0)
                    .default_value(0)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecInt64::builder("max-ptime")
                    .nick("Max packet time")
                    .blurb(
                        "Maximum duration of the packet data in ns (-1 = audio: 20 ms, or the \
                         ptime/maxptime of downstream caps; unused by video payloaders)",
                    )
                    .minimum(-1)
                    .default_value(-1)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecInt64::builder("ptime-multiple")
                    .nick("Packet time multiple")
                    .blurb("Force buffers to be multiples of this duration in ns (0 disables)")
                    .minimum(0)
                    .default_value(0)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("onvif-no-rate-control")
                    .nick("ONVIF no rate control")
                    .blurb(
                        "Enable ONVIF Rate-Control=no timestamping mode: RTP time from the \
                         stream time of the segment instead of the running time",
                    )
                    .default_value(false)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("use-buffer-pool")
                    .nick("Use buffer pool")
                    .blurb(
                        "Reuse packet buffers and their header memory through the lock-free \
                         pool (counted in stats: pool-hits, pool-misses)",
                    )
                    .default_value(true)
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn signals() -> &'static [glib::subclass::Signal] {
        static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> = LazyLock::new(|| {
            crate::base::extensions::signals::<RtpBasePay2, _>(
                |obj: &crate::base::pay::RtpBasePay2| &obj.imp().extensions,
                true,
            )
        });
        SIGNALS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        match pspec.name() {
            "mtu" => settings.mtu = value.get().unwrap_or(DEFAULT_MTU),
            "pt" => {
                settings.pt = value.get().unwrap_or(DEFAULT_PT);
                lock(&self.state).pt = settings.pt as u8;
            }
            "ssrc" => settings.ssrc = value.get().unwrap_or(RANDOM_U32),
            "timestamp-offset" => settings.timestamp_offset = value.get().unwrap_or(RANDOM_U32),
            "seqnum-offset" => settings.seqnum_offset = value.get().unwrap_or(-1),
            "source-info" => settings.source_info = value.get().unwrap_or(false),
            "scale-rtptime" => settings.scale_rtptime = value.get().unwrap_or(true),
            "perfect-rtptime" => settings.perfect_rtptime = value.get().unwrap_or(true),
            "auto-header-extension" => settings.auto_header_extension = value.get().unwrap_or(true),
            "buffer-list" => settings.buffer_list = value.get().unwrap_or(true),
            "use-buffer-pool" => settings.use_buffer_pool = value.get().unwrap_or(true),
            "min-ptime" => settings.min_ptime = value.get().unwrap_or(0),
            "max-ptime" => settings.max_ptime = value.get().unwrap_or(-1),
            "ptime-multiple" => settings.ptime_multiple = value.get().unwrap_or(0),
            "onvif-no-rate-control" => {
                settings.onvif_no_rate_control = value.get().unwrap_or(false)
            }
            other => gst::warning!(crate::CAT, imp = self, "No writable property {other}"),
        }
        // The streaming thread reads the settings from the state (one lock per packet).
        lock(&self.state).input_settings = *settings;
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = lock(&self.settings);
        match pspec.name() {
            "mtu" => settings.mtu.to_value(),
            "pt" => settings.pt.to_value(),
            "ssrc" => settings.ssrc.to_value(),
            "timestamp-offset" => settings.timestamp_offset.to_value(),
            "seqnum-offset" => settings.seqnum_offset.to_value(),
            "seqnum" => u32::from(lock(&self.state).last_seqnum).to_value(),
            "timestamp" => lock(&self.state).last_timestamp.to_value(),
            "stats" => {
                drop(settings);
                self.stats().to_value()
            }
            "source-info" => settings.source_info.to_value(),
            "scale-rtptime" => settings.scale_rtptime.to_value(),
            "perfect-rtptime" => settings.perfect_rtptime.to_value(),
            "auto-header-extension" => settings.auto_header_extension.to_value(),
            "extensions" => lock(&self.extensions).to_value_array().to_value(),
            "buffer-list" => settings.buffer_list.to_value(),
            "use-buffer-pool" => settings.use_buffer_pool.to_value(),
            "min-ptime" => settings.min_ptime.to_value(),
            "max-ptime" => settings.max_ptime.to_value(),
            "ptime-multiple" => settings.ptime_multiple.to_value(),
            "onvif-no-rate-control" => settings.onvif_no_rate_control.to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        add_pads(&*self.obj(), &self.sink_pad, &self.src_pad);
    }
}
