// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The caps query on the input of `rtph264pay2` and `rtph265pay2`: downstream's RTP caps
//! (`profile-level-id`; `profile-id`, `tier-flag`, `level-id`) become `profile`, `tier` and
//! `level` constraints on the elementary stream, as the C payloaders answer, so that an
//! encoder upstream negotiates what the receiver decodes (how `webrtcbin` makes x264enc
//! produce constrained baseline for a browser). The mapping itself is
//! [`rtp2_core::encoder_caps`].

use gst::prelude::*;
use rtp2_core::encoder_caps::{H264Allowed, h264_allowed, h265_allowed};

use crate::base::pay::{RtpBasePay2, RtpBasePay2Ext};

/// One structure of the constraints, and whether an unconstrained structure must follow.
type Constraints = (gst::Structure, bool);

/// A string field, or a list when there are several values.
fn set_names(s: &mut gst::Structure, field: &str, names: &[&'static str]) {
    match names {
        [] => {}
        [one] => s.set(field, *one),
        many => s.set(field, gst::List::new(many.iter().copied())),
    }
}

/// H.264 constraints of one downstream structure (RFC 6184 §8.1 `profile-level-id`).
pub fn h264_constraints(rtp: &gst::StructureRef) -> Constraints {
    let mut s = gst::Structure::new_empty("video/x-h264");
    let id = rtp.get::<&str>("profile-level-id").ok();
    match h264_allowed(id) {
        H264Allowed::Limited { profiles, levels } => {
            set_names(&mut s, "profile", &profiles);
            set_names(&mut s, "level", &levels);
            (s, false)
        }
        H264Allowed::Invalid => {
            s.set("profile", "constrained-baseline");
            (s, false)
        }
        // Unspecified: constrained baseline first (the RFC default), then anything.
        _ => {
            s.set("profile", "constrained-baseline");
            (s, true)
        }
    }
}

/// H.265 constraints of one downstream structure (RFC 7798 §7.1).
pub fn h265_constraints(rtp: &gst::StructureRef) -> Constraints {
    let field = |name: &str| rtp.get::<&str>(name).ok();
    let allowed = h265_allowed(field("profile-id"), field("tier-flag"), field("level-id"));
    let mut s = gst::Structure::new_empty("video/x-h265");
    if let Some(profile) = allowed.profile {
        s.set("profile", profile);
    }
    if let Some(tier) = allowed.tier {
        s.set("tier", tier);
    }
    if let Some(levels) = allowed.levels {
        set_names(&mut s, "level", &levels);
    }
    (s, false)
}

/// Answers a caps query on the payloader's sink pad with the template caps restricted by
/// what downstream's RTP caps allow (`constraints` maps one of their structures); returns
/// false for other queries.
pub fn answer_caps_query(
    obj: &RtpBasePay2,
    query: &mut gst::QueryRef,
    constraints: fn(&gst::StructureRef) -> Constraints,
) -> bool {
    let gst::QueryViewMut::Caps(q) = query.view_mut() else {
        return false;
    };
    let template = obj.sink_pad().pad_template_caps();
    let allowed = obj.src_pad().peer_query_caps(None);
    let caps = if allowed.is_any() {
        template
    } else if allowed.is_empty() {
        allowed
    } else {
        let mut wanted = gst::Caps::new_empty();
        let mut unconstrained = None;
        for rtp in allowed.iter() {
            let (s, also_any) = constraints(rtp);
            if also_any {
                unconstrained = Some(gst::Structure::new_empty(s.name().as_str()));
            }
            wanted.merge_structure(s);
        }
        if let Some(s) = unconstrained {
            wanted.merge_structure(s);
        }
        wanted.intersect(&template)
    };
    let caps = match q.filter() {
        Some(filter) => filter.intersect_with_mode(&caps, gst::CapsIntersectMode::First),
        None => caps,
    };
    gst::log!(crate::CAT, obj = obj, "Input caps query: {caps}");
    q.set_result(&caps);
    true
}
