// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! H.264 over RTP (RFC 6184): `rtph264pay2` and `rtph264depay2`.

pub mod depay;
pub mod pay;
