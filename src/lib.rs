// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtp2`: GStreamer RTP payloaders and depayloaders built on two shared base classes,
//! [`basepay::RtpBasePay2`] and [`basedepay::RtpBaseDepay2`].
//!
//! The codec logic itself (RTP header, framing, NAL packetization) lives in the
//! GStreamer-free `rtp2-core` crate; the modules here are the element glue.

use gst::glib;

/// Registers every element of this plugin with `plugin`.
fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    let _ = plugin;
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
