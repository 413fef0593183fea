// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The sans-IO core of gst-plugin-rtp2: RTP packet logic with no GStreamer types, so that it
//! can be unit-tested, fuzzed, benchmarked and cross-built on its own. The GStreamer elements
//! of the `gstrtp2` crate are thin glue around it.
//!
//! - [`rtp`]: the RTP fixed header (RFC 3550 §5.1), reading and writing.
//! - [`hdrext`]: RFC 8285 header extension elements.
//! - [`hdrsimd`]: batch write/parse of fixed headers, SIMD chosen at run time (the only
//!   module with `unsafe`: intrinsics, each block with its safety argument).
//! - [`seqnum`]: sequence number classification and 64-bit extension of counters.
//! - [`time`]: nanoseconds ↔ RTP clock ticks.
//! - [`clock_signalling`]: RFC 7273 `ts-refclk` and `mediaclk` values (PTP, NTP clocks).
//! - [`latency`]: capture-to-output latency statistics in fixed memory.
//! - [`audio`]: packet time of constant-bitrate audio (RFC 3551 §4.5).
//! - [`g722`], [`g729`]: the audio payload formats of RFC 3551 §4.5.2 and §4.5.6.
//! - [`nal`]: NAL units in Annex B and length-prefixed streams (H.264, H.265).
//! - [`nalpack`], [`naldepack`]: the packetizer and the depacketizer parts H.264 and H.265
//!   share.
//! - [`h264`]: H.264 over RTP (RFC 6184).
//! - [`h265`]: H.265/HEVC over RTP (RFC 7798).
//! - [`fec`]: RED (RFC 2198) and ULPFEC (RFC 5109): payloads, masks, recovery window.
//! - [`encoder_caps`]: the profiles and levels a receiver's SDP parameters allow an encoder.

#![deny(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod audio;
mod bits;
pub mod clock_signalling;
pub mod encoder_caps;
pub mod fec;
mod fragments;
pub mod g722;
pub mod g729;
pub mod h264;
pub mod h265;
pub mod hdrext;
pub mod hdrsimd;
pub mod latency;
pub mod nal;
#[cfg(test)]
mod nal_roundtrip_tests;
pub mod naldepack;
pub mod nalpack;
pub mod rtp;
pub mod seqnum;
pub mod time;
