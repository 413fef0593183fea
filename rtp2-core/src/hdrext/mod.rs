// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RTP header extension elements (RFC 8285): several small extensions share the one
//! RFC 3550 §5.3.1 extension block, either in the one-byte form (profile 0xBEDE, ids 1–14,
//! 1–16 bytes each, §4.2) or the two-byte form (profile 0x100X, ids 1–255, 0–255 bytes, §4.3).
//! Padding bytes (0) may appear between elements; the block is padded to 32 bits.
//!
//! The submodules hold the wire formats of single elements (the data bytes after the
//! id/length header) for the extensions WebRTC uses, each behind the id-agnostic
//! [`HeaderExtensionFormat`] trait that also lets an application define its own.

use std::fmt;

pub mod abs_capture_time;
pub mod abs_send_time;
pub mod csrc_audio_level;
pub mod cvo;
mod format;
pub mod playout_delay;
#[cfg(test)]
mod proptests;
pub mod toffset;
pub mod video_content_type;
pub mod video_timing;

pub use format::{FormatError, HeaderExtensionFormat, KNOWN_URIS, decode_any};

/// "defined by profile" value of the one-byte form (RFC 8285 §4.2).
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// "defined by profile" value of the two-byte form, with 4 application bits left at 0
/// (RFC 8285 §4.3: 0x100 followed by appbits).
pub const TWO_BYTE_PROFILE: u16 = 0x1000;

/// The two element layouts of RFC 8285.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtensionForm {
    /// 4-bit id, 4-bit length-minus-one (§4.2).
    OneByte,
    /// 8-bit id, 8-bit length (§4.3).
    TwoByte,
}

impl ExtensionForm {
    /// The form a received block uses, from its profile field; `None` for other profiles
    /// (an RFC 3550 extension that is not RFC 8285).
    pub fn from_profile(profile: u16) -> Option<Self> {
        if profile == ONE_BYTE_PROFILE {
            Some(Self::OneByte)
        } else if profile & 0xfff0 == TWO_BYTE_PROFILE {
            Some(Self::TwoByte)
        } else {
            None
        }
    }

    /// The profile field to write for this form.
    pub fn profile(self) -> u16 {
        match self {
            Self::OneByte => ONE_BYTE_PROFILE,
            Self::TwoByte => TWO_BYTE_PROFILE,
        }
    }

    /// The smallest form that can carry an element with this id and data length: one-byte
    /// for ids 1–14 and 1–16 bytes, else two-byte for ids 1–255 and 0–255 bytes.
    pub fn for_element(id: u8, len: usize) -> Option<Self> {
        if (1..=14).contains(&id) && (1..=16).contains(&len) {
            Some(Self::OneByte)
        } else if id >= 1 && len <= 255 {
            Some(Self::TwoByte)
        } else {
            None
        }
    }
}

/// One element: an id (mapped to a URI by SDP `a=extmap`, RFC 8285 §5) and its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionElement<'a> {
    /// Local identifier.
    pub id: u8,
    /// Element data.
    pub data: &'a [u8],
}

/// Errors in reading or writing elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HdrExtError {
    /// The block's profile is neither 0xBEDE nor 0x100X.
    UnknownProfile(u16),
    /// An element's length runs past the end of the block.
    ElementPastEnd {
        /// Id of the element.
        id: u8,
        /// Byte offset of the element in the block.
        offset: usize,
    },
    /// An id the form cannot carry.
    IdOutOfRange {
        /// The id.
        id: u8,
        /// The form of the block.
        form: ExtensionForm,
    },
    /// A data length the form cannot carry.
    LengthOutOfRange {
        /// The data length.
        len: usize,
        /// The form of the block.
        form: ExtensionForm,
    },
}

impl fmt::Display for HdrExtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownProfile(p) => {
                write!(f, "header extension profile {p:#06x} is not RFC 8285")
            }
            Self::ElementPastEnd { id, offset } => {
                write!(
                    f,
                    "header extension element id {id} at byte {offset} runs past the end"
                )
            }
            Self::IdOutOfRange { id, form } => write!(f, "id {id} does not fit the {form:?} form"),
            Self::LengthOutOfRange { len, form } => {
                write!(f, "{len} bytes do not fit the {form:?} form")
            }
        }
    }
}

impl std::error::Error for HdrExtError {}

/// Iterator over the elements of a block. Padding bytes are skipped; in the one-byte form
/// id 15 ends parsing (RFC 8285 §4.2); an element running past the end yields one error and
/// ends the iteration.
#[derive(Debug, Clone)]
pub struct ExtensionElements<'a> {
    form: ExtensionForm,
    data: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Iterator for ExtensionElements<'a> {
    type Item = Result<ExtensionElement<'a>, HdrExtError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let &first = self.data.get(self.pos)?;
            if first == 0 {
                self.pos += 1;
                continue;
            }
            let (id, len, header) = match self.form {
                ExtensionForm::OneByte => {
                    let id = first >> 4;
                    if id == 15 {
                        self.done = true;
                        return None;
                    }
                    (id, usize::from(first & 0x0f) + 1, 1)
                }
                ExtensionForm::TwoByte => match self.data.get(self.pos + 1) {
                    Some(&len) => (first, usize::from(len), 2),
                    None => {
                        self.done = true;
                        return Some(Err(HdrExtError::ElementPastEnd {
                            id: first,
                            offset: self.pos,
                        }));
                    }
                },
            };
            let start = self.pos + header;
            let Some(data) = self.data.get(start..start + len) else {
                self.done = true;
                return Some(Err(HdrExtError::ElementPastEnd {
                    id,
                    offset: self.pos,
                }));
            };
            self.pos = start + len;
            return Some(Ok(ExtensionElement { id, data }));
        }
        None
    }
}

/// The elements of an extension block with this `profile`.
pub fn parse_elements(profile: u16, data: &[u8]) -> Result<ExtensionElements<'_>, HdrExtError> {
    let form = ExtensionForm::from_profile(profile).ok_or(HdrExtError::UnknownProfile(profile))?;
    Ok(ExtensionElements {
        form,
        data,
        pos: 0,
        done: false,
    })
}

/// The header bytes of one element of `len` data bytes with this `id` in `form` (the first
/// `n` bytes of the array: 1 in the one-byte form, 2 in the two-byte form), checking that the
/// form can carry it (RFC 8285 §4.2, §4.3). For writers that place elements themselves.
pub fn element_header(
    form: ExtensionForm,
    id: u8,
    len: usize,
) -> Result<([u8; 2], usize), HdrExtError> {
    match form {
        ExtensionForm::OneByte => {
            if !(1..=14).contains(&id) {
                return Err(HdrExtError::IdOutOfRange { id, form });
            }
            if !(1..=16).contains(&len) {
                return Err(HdrExtError::LengthOutOfRange { len, form });
            }
            Ok(([(id << 4) | (len as u8 - 1), 0], 1))
        }
        ExtensionForm::TwoByte => {
            if id == 0 {
                return Err(HdrExtError::IdOutOfRange { id, form });
            }
            let len8 =
                u8::try_from(len).map_err(|_| HdrExtError::LengthOutOfRange { len, form })?;
            Ok(([id, len8], 2))
        }
    }
}

/// Builds an extension block element by element.
#[derive(Debug, Clone)]
pub struct ExtensionWriter {
    form: ExtensionForm,
    buf: Vec<u8>,
    elements: usize,
}

impl ExtensionWriter {
    /// An empty block of the given form.
    pub fn new(form: ExtensionForm) -> Self {
        ExtensionWriter {
            form,
            buf: Vec::new(),
            elements: 0,
        }
    }

    /// The form of this block.
    pub fn form(&self) -> ExtensionForm {
        self.form
    }

    /// Appends an element, checking that the form can carry it.
    pub fn push(&mut self, id: u8, data: &[u8]) -> Result<(), HdrExtError> {
        let (header, n) = element_header(self.form, id, data.len())?;
        self.buf.extend_from_slice(&header[..n]);
        self.buf.extend_from_slice(data);
        self.elements += 1;
        Ok(())
    }

    /// True when no element was pushed.
    pub fn is_empty(&self) -> bool {
        self.elements == 0
    }

    /// The (profile, data) block padded with zeros to 32 bits, or `None` when empty.
    pub fn finish(mut self) -> Option<(u16, Vec<u8>)> {
        if self.elements == 0 {
            return None;
        }
        let padded = self.buf.len().div_ceil(4) * 4;
        self.buf.resize(padded, 0);
        Some((self.form.profile(), self.buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn collect(profile: u16, data: &[u8]) -> Vec<Result<(u8, Vec<u8>), HdrExtError>> {
        parse_elements(profile, data)
            .unwrap()
            .map(|e| e.map(|e| (e.id, e.data.to_vec())))
            .collect()
    }

    #[test]
    fn one_byte_form_from_rfc8285_layout() {
        // id 1 len 1, padding, id 2 len 3, then padding to a word.
        let data = [0x10, 0xaa, 0x00, 0x22, 1, 2, 3, 0x00];
        assert_eq!(
            collect(ONE_BYTE_PROFILE, &data),
            vec![Ok((1, vec![0xaa])), Ok((2, vec![1, 2, 3]))]
        );
    }

    #[test]
    fn one_byte_id_15_stops_parsing() {
        let data = [0x10, 0xaa, 0xf0, 0x20, 0xbb, 0, 0, 0];
        assert_eq!(collect(ONE_BYTE_PROFILE, &data), vec![Ok((1, vec![0xaa]))]);
    }

    #[test]
    fn two_byte_form_with_empty_element() {
        let data = [0x20, 0x00, 0x21, 0x02, 7, 8, 0, 0];
        // First byte 0x20 is id 32 with length 0 here (two-byte ids are not nibbles).
        assert_eq!(
            collect(0x1003, &data),
            vec![Ok((32, vec![])), Ok((33, vec![7, 8]))]
        );
    }

    #[test]
    fn element_past_end_is_an_error_then_stop() {
        assert_eq!(
            collect(ONE_BYTE_PROFILE, &[0x13, 1, 2]),
            vec![Err(HdrExtError::ElementPastEnd { id: 1, offset: 0 })]
        );
        assert_eq!(
            collect(TWO_BYTE_PROFILE, &[0x05]),
            vec![Err(HdrExtError::ElementPastEnd { id: 5, offset: 0 })],
            "an id byte without its length byte"
        );
        assert_eq!(
            collect(TWO_BYTE_PROFILE, &[0x05, 0x09, 1]),
            vec![Err(HdrExtError::ElementPastEnd { id: 5, offset: 0 })]
        );
    }

    #[test]
    fn unknown_profile_is_rejected() {
        assert_eq!(
            parse_elements(0x1234, &[]).unwrap_err(),
            HdrExtError::UnknownProfile(0x1234)
        );
    }

    #[test]
    fn forms_and_limits() {
        assert_eq!(
            ExtensionForm::for_element(1, 1),
            Some(ExtensionForm::OneByte)
        );
        assert_eq!(
            ExtensionForm::for_element(14, 16),
            Some(ExtensionForm::OneByte)
        );
        assert_eq!(
            ExtensionForm::for_element(15, 1),
            Some(ExtensionForm::TwoByte)
        );
        assert_eq!(
            ExtensionForm::for_element(1, 17),
            Some(ExtensionForm::TwoByte)
        );
        assert_eq!(
            ExtensionForm::for_element(1, 0),
            Some(ExtensionForm::TwoByte)
        );
        assert_eq!(ExtensionForm::for_element(0, 1), None);
        assert_eq!(ExtensionForm::for_element(1, 256), None);
        let mut w = ExtensionWriter::new(ExtensionForm::OneByte);
        assert!(w.push(15, &[1]).is_err());
        assert!(w.push(1, &[]).is_err());
        assert!(w.push(1, &[0; 17]).is_err());
        assert!(w.is_empty());
        assert!(w.finish().is_none());
        let mut w = ExtensionWriter::new(ExtensionForm::TwoByte);
        assert!(w.push(0, &[1]).is_err());
        assert!(w.push(1, &[0; 256]).is_err());
    }

    proptest! {
        #[test]
        fn writer_and_parser_round_trip(
            two_byte: bool,
            elements in proptest::collection::vec((1u8..=14, proptest::collection::vec(any::<u8>(), 1..=16)), 0..8),
        ) {
            let form = if two_byte { ExtensionForm::TwoByte } else { ExtensionForm::OneByte };
            let mut w = ExtensionWriter::new(form);
            for (id, data) in &elements {
                w.push(*id, data).unwrap();
            }
            match w.finish() {
                None => prop_assert!(elements.is_empty()),
                Some((profile, block)) => {
                    prop_assert_eq!(block.len() % 4, 0);
                    let back: Vec<(u8, Vec<u8>)> = parse_elements(profile, &block)
                        .unwrap()
                        .map(|e| e.map(|e| (e.id, e.data.to_vec())))
                        .collect::<Result<_, _>>()
                        .unwrap();
                    prop_assert_eq!(back, elements);
                }
            }
        }

        #[test]
        fn parser_never_panics(profile: u16, data in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(elements) = parse_elements(profile, &data) {
                prop_assert!(elements.count() <= data.len());
            }
        }
    }
}
