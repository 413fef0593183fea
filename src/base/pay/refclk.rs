// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RFC 7273 clock signalling of the payloader base class: when the pipeline clock is a
//! network clock (`GstPtpClock`, `GstNtpClock`), the RTP timestamps follow it (the RTP
//! timestamp of running time 0 is taken at the clock's base time), so the source caps say
//! which clock that is (`a-ts-refclk`) and where its epoch falls on the RTP timeline
//! (`a-mediaclk=direct=<offset>`), the fields `rtpjitterbuffer rfc7273-sync=true` and SDP
//! writers (gst-rtsp-server, AES67 senders) read. The strings are built in
//! [`rtp2_core::clock_signalling`]; this file only asks the clock what it is.

use gst::glib;
use gst::prelude::*;
use rtp2_core::clock_signalling::{MediaClock, ReferenceClock, direct_offset};

/// Caps field of the `a=ts-refclk` attribute (RFC 7273 §4).
pub(super) const TS_REFCLK_FIELD: &str = "a-ts-refclk";
/// Caps field of the `a=mediaclk` attribute (RFC 7273 §5).
pub(super) const MEDIACLK_FIELD: &str = "a-mediaclk";

/// The network clock the pipeline runs on and the base time it read at running time 0,
/// taken when the element goes to PLAYING (the pipeline distributes its clock and base time
/// then, before the elements change state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ClockSignal {
    reference: ReferenceClock,
    base_time: gst::ClockTime,
}

impl ClockSignal {
    /// The signal for `clock` at `base_time`; `None` when `clock` is not a PTP or NTP clock
    /// (the system clock, an audio sink's clock: nothing a receiver could share).
    pub(super) fn of(clock: &gst::Clock, base_time: gst::ClockTime) -> Option<Self> {
        let reference = reference_clock(clock)?;
        Some(ClockSignal {
            reference,
            base_time,
        })
    }

    /// Sets both fields in `caps` for RTP timestamps that are `rtp_at_running_zero` plus the
    /// running time at `clock_rate`.
    pub(super) fn set_fields(
        &self,
        caps: &mut gst::StructureRef,
        rtp_at_running_zero: u32,
        clock_rate: u32,
    ) {
        let offset = direct_offset(rtp_at_running_zero, self.base_time.nseconds(), clock_rate);
        caps.set(TS_REFCLK_FIELD, self.reference.to_string());
        caps.set(MEDIACLK_FIELD, MediaClock::Direct { offset }.to_string());
    }
}

/// Whether `clock` is an instance of the GType named `type_name` (the types of libgstnet,
/// which is loaded only when something made such a clock).
fn is_a(clock: &gst::Clock, type_name: &str) -> bool {
    glib::Type::from_name(type_name).is_some_and(|t| clock.type_().is_a(t))
}

/// The RFC 7273 reference clock `clock` stands for, from its properties.
fn reference_clock(clock: &gst::Clock) -> Option<ReferenceClock> {
    if is_a(clock, "GstPtpClock") {
        let grandmaster = clock.property::<u64>("grandmaster-clock-id");
        let domain = u8::try_from(clock.property::<u32>("domain")).ok()?;
        return Some(ReferenceClock::Ptp2008 {
            grandmaster,
            domain,
        });
    }
    if is_a(clock, "GstNtpClock") {
        let host = clock.property::<Option<String>>("address")?;
        let port = u16::try_from(clock.property::<i32>("port")).ok()?;
        return Some(ReferenceClock::Ntp { host, port });
    }
    None
}
