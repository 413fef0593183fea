// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! GObject implementation of `rtph265depay2`: the shared NAL video depayloader
//! ([`crate::nalvideo::depay::NalDepayElement`]) with the H.265 codec description.

crate::nalvideo::depay::nal_depay_imp!(
    RtpH265Depay,
    crate::h265::H265Codec,
    "GstRtp2H265Depay",
    "H265",
    "7798"
);
