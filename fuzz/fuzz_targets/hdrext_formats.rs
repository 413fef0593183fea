// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Every header extension wire format of `rtp2_core::hdrext` (CVO, abs-send-time,
//! playout-delay, toffset, abs-capture-time, video-content-type, video-timing,
//! csrc-audio-level): no panic on any element data, what decodes re-encodes within the
//! format's size and encoding is a fixed point. The first byte picks the format (or, when
//! ≥ 0x80, parses the rest as a one-byte-form block and decodes every element with the
//! format its id picks, and as an RTP packet whose abs-send-time element id
//! `first byte & 15` is restamped in place).

#![no_main]

use libfuzzer_sys::fuzz_target;
use rtp2_core::hdrext::abs_capture_time::AbsCaptureTime;
use rtp2_core::hdrext::abs_send_time::{AbsSendTime, restamp};
use rtp2_core::hdrext::csrc_audio_level::CsrcAudioLevels;
use rtp2_core::hdrext::cvo::VideoOrientation;
use rtp2_core::hdrext::playout_delay::PlayoutDelay;
use rtp2_core::hdrext::toffset::TransmissionOffset;
use rtp2_core::hdrext::video_content_type::VideoContentType;
use rtp2_core::hdrext::video_timing::VideoTiming;
use rtp2_core::hdrext::{HeaderExtensionFormat, ONE_BYTE_PROFILE, parse_elements};

fn check<T: HeaderExtensionFormat>(data: &[u8]) {
    if let Ok(v) = T::decode(data) {
        let bytes = v.to_vec();
        assert!(bytes.len() <= T::MAX_LEN);
        let again = T::decode(&bytes).expect("what we encode decodes");
        assert_eq!(again.to_vec(), bytes);
    }
}

fn check_one(which: u8, data: &[u8]) {
    match which % 8 {
        0 => check::<VideoOrientation>(data),
        1 => check::<AbsSendTime>(data),
        2 => check::<PlayoutDelay>(data),
        3 => check::<TransmissionOffset>(data),
        4 => check::<AbsCaptureTime>(data),
        5 => check::<VideoContentType>(data),
        6 => check::<VideoTiming>(data),
        _ => check::<CsrcAudioLevels>(data),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    if which < 0x80 {
        check_one(which, rest);
    } else {
        if let Ok(elements) = parse_elements(ONE_BYTE_PROFILE, rest) {
            for e in elements.flatten() {
                check_one(e.id, e.data);
            }
        }
        // The same bytes as a whole RTP packet: restamping changes at most 3 bytes.
        let mut packet = rest.to_vec();
        if restamp(&mut packet, which & 0x0f, AbsSendTime::from_raw(0x12_3456)) {
            let changed = packet.iter().zip(rest).filter(|(a, b)| a != b).count();
            assert!(changed <= 3);
        } else {
            assert_eq!(packet, rest);
        }
    }
});
