// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The `image-orientation` tag ↔ video orientation (CVO, 3GPP TS 26.114 §7.4.5) header
//! extension, through the `rtphdrextcvo` custom meta that extension reads and writes.
//!
//! Payloader side: the last `image-orientation` tag seen on the sink pad is put, as that meta,
//! on every input buffer that has none while a CVO extension is configured; the extension
//! then writes it (on the last packet of key frames and of a change). Per input rather than a
//! property set when the tag arrives: a payloader holding earlier frames (aggregation) still
//! sends them with the orientation they had.
//!
//! Depayloader side: an output whose meta (filled by the extension's read) names another
//! orientation than the last one is preceded by a stream tag event with `image-orientation`
//! (the stream tags downstream already has, with that tag replaced), so that
//! `videoflip video-direction=auto` rotates.
//!
//! Both work with any extension element that reads and writes this meta (ours); the C base
//! classes do neither (see docs/header-extensions.md for what to do with C elements).

use gst::prelude::*;
use gst_rtp::prelude::*;

/// The custom meta (and factory) name of the CVO extension element.
pub(crate) const CVO_META: &str = "rtphdrextcvo";
/// The CVO extension's URI.
pub(crate) const CVO_URI: &str = "urn:3gpp:video-orientation";

/// The `image-orientation` value of a TAG event, if it has one.
pub(crate) fn orientation_of_tag_event(event: &gst::Event) -> Option<String> {
    match event.view() {
        gst::EventView::Tag(t) => t
            .tag()
            .get::<gst::tags::ImageOrientation>()
            .map(|v| v.get().to_owned()),
        _ => None,
    }
}

/// Whether one of `extensions` is a CVO extension (call on a snapshot, without lock).
pub(crate) fn has_cvo<'a>(
    mut extensions: impl Iterator<Item = &'a gst_rtp::RTPHeaderExtension>,
) -> bool {
    extensions.any(|e| e.uri().as_deref() == Some(CVO_URI))
}

/// `input` with the orientation meta, unless it has one already (an application's meta wins).
pub(crate) fn with_orientation_meta(mut input: gst::Buffer, orientation: &str) -> gst::Buffer {
    if gst::meta::CustomMeta::from_buffer(&input, CVO_META).is_ok() {
        return input;
    }
    // A shallow copy when someone else holds the buffer: the memories are shared.
    if let Ok(mut meta) = gst::meta::CustomMeta::add(input.make_mut(), CVO_META) {
        meta.mut_structure().set("orientation", orientation);
    }
    input
}

/// The orientation the CVO extension read into `output`'s meta, if any.
pub(crate) fn orientation_of_output(output: &gst::BufferRef) -> Option<String> {
    let meta = gst::meta::CustomMeta::from_buffer(output, CVO_META).ok()?;
    meta.structure()
        .get::<&str>("orientation")
        .ok()
        .map(str::to_owned)
}

/// The depayloader's memory of the orientation it announced, and a change to announce.
#[derive(Debug, Default)]
pub(crate) struct OrientationTags {
    last: Option<String>,
    /// The new orientation and the index of the first pending output that has it.
    due: Option<(usize, String)>,
}

impl OrientationTags {
    /// Notes the orientation of the pending output at `index`; a change is announced before
    /// it. Of several changes within one push, the last is announced.
    pub(crate) fn note(&mut self, orientation: String, index: usize) {
        if self.last.as_ref() != Some(&orientation) {
            self.last = Some(orientation.clone());
            self.due = Some((index, orientation));
        }
    }

    /// The change to announce before the pending output at the returned index, if any.
    pub(crate) fn take_due(&mut self) -> Option<(usize, String)> {
        self.due.take()
    }
}

/// A stream TAG event: the stream tags `pad` already sent, with `image-orientation` set.
pub(crate) fn tag_event(pad: &gst::Pad, orientation: &str) -> gst::Event {
    // Tag events are sticky per scope: at most a stream and a global one.
    let mut tags = (0..2)
        .filter_map(|i| pad.sticky_event::<gst::event::Tag>(i))
        .find_map(|e| match e.view() {
            gst::EventView::Tag(t) if t.tag().scope() == gst::TagScope::Stream => {
                Some(t.tag_owned())
            }
            _ => None,
        })
        .unwrap_or_default();
    tags.make_mut()
        .add::<gst::tags::ImageOrientation>(&orientation, gst::TagMergeMode::Replace);
    gst::event::Tag::new(tags)
}
