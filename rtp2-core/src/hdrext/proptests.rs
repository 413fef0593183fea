// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Properties of every wire format: what encodes decodes to itself, and no input panics.

use proptest::prelude::*;

use super::abs_capture_time::AbsCaptureTime;
use super::abs_send_time::AbsSendTime;
use super::csrc_audio_level::CsrcAudioLevels;
use super::cvo::VideoOrientation;
use super::playout_delay::{MAX_UNITS, PlayoutDelay};
use super::toffset::{MAX_OFFSET, MIN_OFFSET, TransmissionOffset};
use super::video_content_type::VideoContentType;
use super::video_timing::VideoTiming;
use super::{ExtensionForm, HeaderExtensionFormat, KNOWN_URIS, decode_any};

fn identity<T: HeaderExtensionFormat + PartialEq + std::fmt::Debug>(v: T) {
    let bytes = v.to_vec();
    assert_eq!(bytes.len(), v.encoded_len());
    assert!(bytes.len() <= T::MAX_LEN);
    assert!(v.fits(ExtensionForm::TwoByte));
    assert_eq!(T::decode(&bytes).unwrap(), v);
}

proptest! {
    #[test]
    fn encode_decode_identity(
        c in any::<bool>(), f in any::<bool>(), r in 0u8..4,
        ast in 0u32..(1 << 24),
        (min, max) in (0..=MAX_UNITS).prop_flat_map(|min| (Just(min), min..=MAX_UNITS)),
        off in MIN_OFFSET..=MAX_OFFSET,
        ntp in any::<u64>(), clock in proptest::option::of(any::<i64>()),
        ss in any::<bool>(),
        flags in proptest::option::of(any::<u8>()), d in any::<[u16; 6]>(),
        levels in proptest::collection::vec(0u8..128, 1..=15),
    ) {
        identity(VideoOrientation { back_camera: c, flip: f, quarter_turns: r });
        identity(AbsSendTime::from_raw(ast));
        identity(PlayoutDelay { min, max });
        identity(TransmissionOffset(off));
        identity(AbsCaptureTime { ntp_timestamp: ntp, clock_offset: clock });
        identity(VideoContentType { screenshare: ss });
        identity(VideoTiming {
            flags: Some(flags.unwrap_or(0)),
            encode_start_ms: d[0], encode_finish_ms: d[1], packetization_finish_ms: d[2],
            pacer_exit_ms: d[3], network_ms: d[4], network2_ms: d[5],
        });
        identity(CsrcAudioLevels(levels));
    }

    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        for uri in KNOWN_URIS {
            if let Some(Ok(text)) = decode_any(uri, &data) {
                prop_assert!(!text.is_empty());
            }
        }
    }
}
