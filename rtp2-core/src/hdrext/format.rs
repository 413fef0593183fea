// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The id-agnostic trait every single-element wire format implements: the element's data
//! bytes (RFC 8285 §4.2/§4.3, after the id and length) to a value and back. The id and the
//! one-/two-byte header are the block writer's business ([`super::ExtensionWriter`]).

use std::fmt;

use super::ExtensionForm;

/// Why an element's data could not be decoded or encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    /// The data length is not one the format defines.
    BadLength {
        /// The length found.
        len: usize,
    },
    /// A field holds a value the format reserves or forbids.
    BadValue,
    /// The output slice is shorter than [`HeaderExtensionFormat::encoded_len`].
    OutputTooShort,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadLength { len } => write!(f, "element data of {len} bytes has no meaning"),
            Self::BadValue => write!(f, "element data holds a reserved value"),
            Self::OutputTooShort => write!(f, "output too short for the element"),
        }
    }
}

impl std::error::Error for FormatError {}

/// One header extension's element data: decoded from and encoded to the bytes after the
/// element header, whatever id SDP `a=extmap` (RFC 8285 §5) gave it.
///
/// Implementors give the URI and the sizes; [`Self::fits`] then says which element forms
/// can carry a value (one-byte: 1–16 bytes, two-byte: 0–255 bytes, RFC 8285 §4.2/§4.3).
pub trait HeaderExtensionFormat: Sized {
    /// The URI of `a=extmap` that names the extension.
    const URI: &'static str;
    /// The largest data length the format writes: what a payloader reserves.
    const MAX_LEN: usize;

    /// Reads a value from an element's data; never panics on any input.
    fn decode(data: &[u8]) -> Result<Self, FormatError>;

    /// How many data bytes [`Self::encode`] writes for this value.
    fn encoded_len(&self) -> usize;

    /// Writes the value to the start of `out`, returning the number of bytes written.
    fn encode(&self, out: &mut [u8]) -> Result<usize, FormatError>;

    /// Whether an element of `form` can carry this value.
    fn fits(&self, form: ExtensionForm) -> bool {
        let len = self.encoded_len();
        match form {
            ExtensionForm::OneByte => (1..=16).contains(&len),
            ExtensionForm::TwoByte => len <= 255,
        }
    }

    /// The value encoded into a new vector.
    fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0; self.encoded_len()];
        let n = self
            .encode(&mut out)
            .expect("encode writes encoded_len bytes");
        out.truncate(n);
        out
    }
}

/// Checks `out` can hold `len` bytes: the common first step of `encode`.
pub(crate) fn output(out: &mut [u8], len: usize) -> Result<&mut [u8], FormatError> {
    out.get_mut(..len).ok_or(FormatError::OutputTooShort)
}

/// Decodes `data` with the format whose URI is `uri`, returning its `Debug` text: for tools
/// and fuzzing that see URIs at run time. `None` for a URI this crate has no format for.
pub fn decode_any(uri: &str, data: &[u8]) -> Option<Result<String, FormatError>> {
    use super::*;
    fn dbg<T: HeaderExtensionFormat + fmt::Debug>(data: &[u8]) -> Result<String, FormatError> {
        T::decode(data).map(|v| format!("{v:?}"))
    }
    Some(match uri {
        cvo::VideoOrientation::URI => dbg::<cvo::VideoOrientation>(data),
        abs_send_time::AbsSendTime::URI => dbg::<abs_send_time::AbsSendTime>(data),
        playout_delay::PlayoutDelay::URI => dbg::<playout_delay::PlayoutDelay>(data),
        toffset::TransmissionOffset::URI => dbg::<toffset::TransmissionOffset>(data),
        abs_capture_time::AbsCaptureTime::URI => dbg::<abs_capture_time::AbsCaptureTime>(data),
        video_content_type::VideoContentType::URI => {
            dbg::<video_content_type::VideoContentType>(data)
        }
        video_timing::VideoTiming::URI => dbg::<video_timing::VideoTiming>(data),
        csrc_audio_level::CsrcAudioLevels::URI => dbg::<csrc_audio_level::CsrcAudioLevels>(data),
        _ => return None,
    })
}

/// Every URI [`decode_any`] knows.
pub const KNOWN_URIS: [&str; 8] = [
    super::cvo::VideoOrientation::URI,
    super::abs_send_time::AbsSendTime::URI,
    super::playout_delay::PlayoutDelay::URI,
    super::toffset::TransmissionOffset::URI,
    super::abs_capture_time::AbsCaptureTime::URI,
    super::video_content_type::VideoContentType::URI,
    super::video_timing::VideoTiming::URI,
    super::csrc_audio_level::CsrcAudioLevels::URI,
];
