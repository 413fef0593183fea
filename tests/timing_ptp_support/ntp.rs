// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! An NTPv4 server on 127.0.0.1 for tests/timing_rfc7273.rs (RFC 5905 §7.3 server replies
//! with the system time), and a `GstNtpClock` synchronised to it.

use gst::prelude::*;
use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Seconds from the NTP epoch (1900) to the Unix epoch (RFC 5905 §6).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// An NTPv4 server on 127.0.0.1 answering client requests with the system time, until dropped
/// (at most 120 s).
pub struct NtpServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn ntp_now() -> [u8; 8] {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let seconds = now.as_secs() + NTP_UNIX_OFFSET;
    let fraction = (u64::from(now.subsec_nanos()) << 32) / 1_000_000_000;
    (((seconds & 0xffff_ffff) << 32) | fraction).to_be_bytes()
}

impl NtpServer {
    pub fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind an NTP server on 127.0.0.1");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut request = [0u8; 512];
            while !stopped.load(Ordering::Relaxed) && Instant::now() < deadline {
                let Ok((len, from)) = socket.recv_from(&mut request) else {
                    continue;
                };
                let received = ntp_now();
                // A client request (mode 3) of at least the 48-byte header (RFC 5905 §7.3).
                if len < 48 || request[0] & 0x07 != 3 {
                    continue;
                }
                let mut reply = [0u8; 48];
                reply[0] = 0x24; // LI 0, version 4, mode 4 (server)
                reply[1] = 1; // stratum 1: a primary server
                reply[2] = request[2]; // poll
                reply[3] = (-20i8) as u8; // precision: about 1 µs
                reply[12..16].copy_from_slice(b"LOCL");
                reply[16..24].copy_from_slice(&received);
                reply[24..32].copy_from_slice(&request[40..48]); // origin: client's transmit
                reply[32..40].copy_from_slice(&received);
                reply[40..48].copy_from_slice(&ntp_now());
                let _ = socket.send_to(&reply, from);
            }
        });
        NtpServer {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for NtpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A GstNtpClock on `server`, synchronised (bounded wait).
pub fn synced_ntp_clock(server: &NtpServer) -> gst::Clock {
    let clock = gst_net::NtpClock::new(
        None,
        "127.0.0.1",
        i32::from(server.port),
        gst::ClockTime::ZERO,
    );
    clock
        .wait_for_sync(gst::ClockTime::from_seconds(10))
        .unwrap_or_else(|_| {
            panic!(
                "GstNtpClock did not synchronise to the test's NTP server on 127.0.0.1:{} in 10 s",
                server.port
            )
        });
    clock.upcast()
}
