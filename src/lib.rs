// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtp2`: GStreamer RTP payloaders and depayloaders built on two shared base classes,
//! [`basepay::RtpBasePay2`] and [`basedepay::RtpBaseDepay2`].
//!
//! The codec logic itself (RTP header, framing, NAL packetization) lives in the
//! GStreamer-free `rtp2-core` crate; the modules here are the element glue.

use std::sync::LazyLock;

use gst::glib;

pub mod baseaudiopay;
pub mod basedepay;
pub mod basepay;
pub mod g722;
pub mod g729;
pub mod h264;
pub mod h265;
mod hdrext;
pub mod nalvideo;

/// The debug category of the plugin (`GST_DEBUG=rtp2:6`).
pub(crate) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "rtp2",
        gst::DebugColorFlags::empty(),
        Some("RTP payloaders and depayloaders (gst-plugin-rtp2)"),
    )
});

/// Registers every element of this plugin with `plugin`.
fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    g722::pay::register(plugin)?;
    g722::depay::register(plugin)?;
    g729::pay::register(plugin)?;
    g729::depay::register(plugin)?;
    h264::pay::register(plugin)?;
    h264::depay::register(plugin)?;
    h265::pay::register(plugin)?;
    h265::depay::register(plugin)?;
    Ok(())
}

gst::plugin_define!(
    rtp2,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MPL",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
