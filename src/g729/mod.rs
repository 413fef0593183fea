// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! G.729 over RTP (RFC 3551 §4.5.6, with G.729 Annex B comfort noise): `rtpg729pay2` and
//! `rtpg729depay2`.

pub mod depay;
pub mod pay;
