// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Element glue shared by the H.264 and H.265 payloaders and depayloaders: the two codecs
//! differ only in what [`NalCodec`] describes (NAL header, parameter set kinds, codec data
//! and SDP fields), so the payloading ([`pay`]) and depayloading ([`depay`]) logic is written
//! once.

pub mod depay;
mod depay_element;
pub mod encoder_caps;
pub mod pay;
mod pay_element;
mod pay_flags;

use std::collections::BTreeMap;

use rtp2_core::naldepack::Depacketize;
use rtp2_core::nalpack::NalFormat;

/// What an H.264-like codec tells the shared element code.
pub trait NalCodec: Send + 'static {
    /// Header bytes for the shared packetizer.
    type Format: NalFormat + Send + std::fmt::Debug;
    /// The core depacketizer.
    type Depacketizer: Depacketize + std::fmt::Debug;
    /// `encoding-name` of the RTP caps.
    const ENCODING_NAME: &'static str;
    /// Media type of the elementary stream caps (`video/x-h264`).
    const MEDIA_TYPE: &'static str;
    /// `stream-format`s carrying length-prefixed NAL units with `codec_data`; the first one
    /// is the depayloader's default length-prefixed output.
    const LENGTH_PREFIXED: &'static [&'static str];
    /// The length-prefixed `stream-format`s the depayloader can output.
    const LENGTH_PREFIXED_OUTPUT: &'static [&'static str];
    /// Kinds of parameter sets (H.264: SPS, PPS; H.265: VPS, SPS, PPS), in stream order.
    const PARAM_SET_KINDS: usize;
    /// DELTA_UNIT on packets: `true` leaves only the first packet of a key input buffer
    /// without it (the C `rtph264pay`); `false` leaves every packet of a key input buffer
    /// without it.
    const KEY_FLAG_ON_FIRST_PACKET_ONLY: bool;

    /// NAL unit type from the first two bytes of a NAL unit.
    fn nal_type(header: [u8; 2]) -> u8;
    /// Index of the parameter set kind of a NAL unit type, if it is one.
    fn param_set_kind(nal_type: u8) -> Option<usize>;
    /// The id of a parameter set of this kind (several may coexist).
    fn param_set_id(kind: usize, nal: &[u8]) -> Option<u32>;
    /// True for the NAL unit types of pictures a decoder can start from (IDR, IRAP).
    fn is_keyframe(nal_type: u8) -> bool;
    /// NAL length size and parameter sets of a `codec_data` record.
    fn parse_codec_data(data: &[u8]) -> Result<(usize, Vec<Vec<u8>>), String>;
    /// A `codec_data` record with 4-byte lengths for these parameter sets.
    fn build_codec_data(sets: &ParamSets) -> Vec<u8>;
    /// Sets the SDP fields (profile, parameter sets) of the RTP caps.
    fn set_sdp_fields(sets: &ParamSets, s: &mut gst::StructureRef);
    /// Parameter sets signalled in RTP caps.
    fn sets_from_caps(s: &gst::StructureRef) -> Result<Vec<Vec<u8>>, String>;
    /// A depacketizer configured from the RTP caps.
    fn depacketizer_for_caps(s: &gst::StructureRef) -> Self::Depacketizer;
    /// The `profile`/`level` (H.265: and `tier`) caps fields of a parameter set NAL unit, when
    /// it is an SPS that names them.
    fn sps_caps_fields(nal: &[u8]) -> Option<LevelFields>;
    /// What is wrong in the RTP caps and is worked around (ignored values), for element
    /// warnings.
    fn caps_warnings(_s: &gst::StructureRef) -> Vec<String> {
        Vec::new()
    }
}

/// Caps fields of an SPS that decoders and muxers negotiate on (`profile`, `level`, H.265
/// `tier`), named as h264parse/h265parse name them, with the level_idc that ranks SPSs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LevelFields {
    /// level_idc of the SPS (H.264 §7.4.2.1.1; H.265 general_level_idc, §7.4.4).
    pub level_idc: u8,
    /// Field names and values.
    pub fields: Vec<(&'static str, &'static str)>,
}

/// The caps fields of the SPS with the highest level (the first of them when several have
/// it), as the C `rtph264depay` chooses them; empty without an SPS.
pub fn profile_level_fields<C: NalCodec>(sets: &ParamSets) -> Vec<(&'static str, &'static str)> {
    sets.all()
        .filter_map(|set| C::sps_caps_fields(set))
        .reduce(|best, f| {
            if f.level_idc > best.level_idc {
                f
            } else {
                best
            }
        })
        .map(|f| f.fields)
        .unwrap_or_default()
}

/// The parameter sets known for a stream, by kind and id.
#[derive(Debug, Clone, Default)]
pub struct ParamSets {
    kinds: Vec<BTreeMap<u32, Vec<u8>>>,
}

impl ParamSets {
    /// An empty store for `kinds` kinds of parameter sets.
    pub fn new(kinds: usize) -> Self {
        ParamSets {
            kinds: vec![BTreeMap::new(); kinds],
        }
    }

    /// Remembers a parameter set NAL unit; true when it is new or changed.
    pub fn cache<C: NalCodec>(&mut self, nal: &[u8]) -> bool {
        let Some(&[a, b]) = nal.first_chunk::<2>() else {
            return false;
        };
        let Some(kind) = C::param_set_kind(C::nal_type([a, b])) else {
            return false;
        };
        let Some(id) = C::param_set_id(kind, nal) else {
            return false;
        };
        let Some(map) = self.kinds.get_mut(kind) else {
            return false;
        };
        if map.get(&id).is_some_and(|old| old == nal) {
            return false;
        }
        map.insert(id, nal.to_vec());
        true
    }

    /// True when every kind has at least one set (a decoder can start).
    pub fn complete(&self) -> bool {
        self.kinds.iter().all(|k| !k.is_empty())
    }

    /// The sets of one kind, by id.
    pub fn of_kind(&self, kind: usize) -> impl Iterator<Item = &Vec<u8>> {
        self.kinds.get(kind).into_iter().flat_map(|k| k.values())
    }

    /// Every set, kinds in stream order.
    pub fn all(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.kinds.iter().flat_map(|k| k.values())
    }

    /// Bit mask with every kind set, to compare with [`ParamSets::kind_bit`] sums.
    pub fn all_kinds_mask(&self) -> u8 {
        ((1u16 << self.kinds.len()) - 1) as u8
    }

    /// The bit of a kind in a mask of kinds seen.
    pub fn kind_bit(kind: usize) -> u8 {
        1 << kind
    }
}

/// The first value of a string field that may be a list (negotiation of formats).
pub fn first_string(s: &gst::StructureRef, field: &str) -> Option<String> {
    if let Ok(v) = s.get::<String>(field) {
        return Some(v);
    }
    s.get::<gst::List>(field)
        .ok()
        .and_then(|l| l.first().and_then(|v| v.get::<String>().ok()))
}

/// An SDP number that may arrive as a string or an integer field.
pub fn caps_number(s: &gst::StructureRef, name: &str) -> Option<usize> {
    s.get::<&str>(name)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .or_else(|| {
            s.get::<i32>(name)
                .ok()
                .and_then(|v| usize::try_from(v).ok())
        })
}
