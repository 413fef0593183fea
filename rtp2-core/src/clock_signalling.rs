// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RFC 7273 clock signalling: the `a=ts-refclk` (§4) and `a=mediaclk` (§5) attribute values
//! that tell a receiver which network clock the sender's RTP timestamps follow, as AES67 and
//! SMPTE ST 2110 require. In GStreamer caps they are the `a-ts-refclk` and `a-mediaclk`
//! fields, which `rtpjitterbuffer rfc7273-sync=true` reads.

use crate::time::ns_to_clock;
use std::fmt;

/// A timestamp reference clock (RFC 7273 §4.8 `ts-refclk` values this crate writes and reads).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReferenceClock {
    /// An IEEE 1588-2008 (PTPv2) clock (§4.3 `ptp-server`): the grandmaster's EUI-64 clock
    /// identity and the PTP domain number.
    Ptp2008 {
        /// The grandmaster clock identity, most significant byte first.
        grandmaster: u64,
        /// The PTP domain (0 to 127 in IEEE 1588-2008).
        domain: u8,
    },
    /// An NTP server (§4.3 `ntp-server`): host name or address, and UDP port.
    Ntp {
        /// Host name, IPv4 address or IPv6 address (without brackets).
        host: String,
        /// UDP port, 123 by default.
        port: u16,
    },
    /// The sender's own clock, not traceable to any other (§4.8 `local`).
    Local,
}

/// The default NTP port (RFC 5905 §7), left out of `ntp=` values.
pub const NTP_PORT: u16 = 123;

impl fmt::Display for ReferenceClock {
    /// The `ts-refclk` attribute value, e.g. `ptp=IEEE1588-2008:39-A7-94-FF-FE-07-CB-D0:0`.
    /// The domain is always written (AES67 §8.2 examples do; receivers that take it as
    /// optional read it too); the NTP port only when it is not 123; an IPv6 host is put in
    /// brackets (RFC 3986 §3.2.2 `IP-literal`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReferenceClock::Ptp2008 {
                grandmaster,
                domain,
            } => {
                f.write_str("ptp=IEEE1588-2008:")?;
                for (i, byte) in grandmaster.to_be_bytes().iter().enumerate() {
                    if i > 0 {
                        f.write_str("-")?;
                    }
                    write!(f, "{byte:02X}")?;
                }
                write!(f, ":{domain}")
            }
            ReferenceClock::Ntp { host, port } => {
                let bracketed = host.contains(':');
                match (bracketed, *port == NTP_PORT) {
                    (false, true) => write!(f, "ntp={host}"),
                    (false, false) => write!(f, "ntp={host}:{port}"),
                    (true, true) => write!(f, "ntp=[{host}]"),
                    (true, false) => write!(f, "ntp=[{host}]:{port}"),
                }
            }
            ReferenceClock::Local => f.write_str("local"),
        }
    }
}

impl ReferenceClock {
    /// Reads a `ts-refclk` value of one of the forms [`ReferenceClock`] knows; `None` for
    /// other clock sources (GPS, traceable NTP or PTP, other PTP versions) and malformed ones.
    pub fn parse(value: &str) -> Option<Self> {
        if value == "local" {
            return Some(ReferenceClock::Local);
        }
        if let Some(rest) = value.strip_prefix("ptp=IEEE1588-2008:") {
            let (gmid, domain) = match rest.split_once(':') {
                Some((gmid, domain)) => (gmid, domain.parse::<u8>().ok()?),
                None => (rest, 0),
            };
            return Some(ReferenceClock::Ptp2008 {
                grandmaster: parse_eui64(gmid)?,
                domain,
            });
        }
        let server = value.strip_prefix("ntp=")?;
        if server.starts_with("/traceable/") || server.is_empty() {
            return None;
        }
        let (host, port) = if let Some(literal) = server.strip_prefix('[') {
            let (host, after) = literal.split_once(']')?;
            // Brackets enclose an IPv6 literal only (RFC 3986 §3.2.2); a bracketed name
            // would be written back without them and read as something else.
            if !host.contains(':') {
                return None;
            }
            match after {
                "" => (host, NTP_PORT),
                _ => (host, after.strip_prefix(':')?.parse().ok()?),
            }
        } else {
            match server.split_once(':') {
                Some((host, port)) => (host, port.parse().ok()?),
                None => (server, NTP_PORT),
            }
        };
        // A host name or an address; brackets only around an IPv6 literal, never inside.
        if host.is_empty() || host.contains(['[', ']']) {
            return None;
        }
        Some(ReferenceClock::Ntp {
            host: host.to_owned(),
            port,
        })
    }
}

/// An EUI-64 written as eight hexadecimal byte pairs joined by `-` (RFC 7273 §4.3 `EUI64`).
fn parse_eui64(text: &str) -> Option<u64> {
    let mut id = 0u64;
    let mut count = 0;
    for pair in text.split('-') {
        if pair.len() != 2 {
            return None;
        }
        id = (id << 8) | u64::from(u8::from_str_radix(pair, 16).ok()?);
        count += 1;
    }
    (count == 8).then_some(id)
}

/// A media clock (RFC 7273 §5 `mediaclk` values this crate writes and reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaClock {
    /// The RTP clock is the reference clock itself (§5.2): `offset` is the RTP timestamp at
    /// the reference clock's epoch, so the RTP timestamp of media sampled at reference time
    /// `t` is `offset + t × clock_rate` modulo 2³².
    Direct {
        /// The RTP timestamp at the reference clock's epoch.
        offset: u32,
    },
    /// The media clock is the sender's own, not derived from the reference clock (§5.1).
    Sender,
}

impl fmt::Display for MediaClock {
    /// The `mediaclk` attribute value: `direct=<offset>` or `sender`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaClock::Direct { offset } => write!(f, "direct={offset}"),
            MediaClock::Sender => f.write_str("sender"),
        }
    }
}

impl MediaClock {
    /// Reads `direct=<offset>`, `direct` (offset 0, §5.2) or `sender`; `None` for other
    /// forms, and for a `rate=` parameter (a media clock running at another rate than the
    /// RTP clock, which a receiver cannot take as the RTP clock).
    pub fn parse(value: &str) -> Option<Self> {
        if value == "sender" {
            return Some(MediaClock::Sender);
        }
        let rest = value.strip_prefix("direct")?;
        if rest.is_empty() {
            return Some(MediaClock::Direct { offset: 0 });
        }
        let digits = rest.strip_prefix('=')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(MediaClock::Direct {
            offset: digits.parse().ok()?,
        })
    }
}

/// The `direct=` offset of a sender whose RTP timestamps are `rtp_at_running_zero` plus the
/// running time in ticks, on a pipeline whose clock (the reference clock) read `base_time_ns`
/// at running time 0: the RTP timestamp that media sampled at the clock's epoch would have,
/// `rtp_at_running_zero − base_time × clock_rate` modulo 2³² (RFC 7273 §5.2).
pub fn direct_offset(rtp_at_running_zero: u32, base_time_ns: u64, clock_rate: u32) -> u32 {
    rtp_at_running_zero.wrapping_sub(ns_to_clock(base_time_ns, clock_rate) as u32)
}

/// The RTP timestamp of media sampled at reference clock time `clock_time_ns` under
/// `mediaclk:direct=offset` (RFC 7273 §5.2): what a receiver predicts from the signalling.
pub fn rtp_timestamp_at(clock_time_ns: u64, clock_rate: u32, offset: u32) -> u32 {
    offset.wrapping_add(ns_to_clock(clock_time_ns, clock_rate) as u32)
}

#[cfg(test)]
#[path = "clock_signalling_tests.rs"]
mod tests;
