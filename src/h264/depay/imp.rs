// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! GObject implementation of `rtph264depay2`: the shared NAL video depayloader
//! ([`crate::nalvideo::depay::NalDepayElement`]) with the H.264 codec description.

crate::nalvideo::depay::nal_depay_imp!(
    RtpH264Depay,
    crate::h264::H264Codec,
    "GstRtp2H264Depay",
    "H264",
    "6184"
);
