// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Chromium as a headless process: found on PATH (or `$CHROMIUM`), started with a fresh
//! profile and the flags that keep it off the network and let WebRTC run on loopback, and
//! driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: Chromium reads
//! NUL-terminated JSON commands on fd 3 and writes replies on fd 4) for screenshots and a
//! clean shutdown. The pipe needs no WebSocket client and no port.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use serde_json::{Value, json};

/// What a machine without Chromium is told.
pub const INSTALL_HINT: &str = "Chromium is needed for the browser tests: run \
     `bash scripts/install-deps.sh` (Debian 12: `apt-get install chromium`), or point \
     $CHROMIUM at a Chromium binary";

/// The flags every run gets: headless as root, fake camera and microphone granted without a
/// prompt, loopback ICE candidates allowed and not hidden behind mDNS names, autoplay without
/// a gesture, and no background traffic to Google hosts.
const BASE_FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--allow-loopback-in-peer-connection",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-default-browser-check",
    "--no-first-run",
    "--disable-gpu",
    "--disable-quic",
    "--remote-debugging-pipe",
];

/// The Chromium binary: `$CHROMIUM`, else `chromium` or `chromium-browser` on PATH.
pub fn binary() -> Result<PathBuf, String> {
    find_binary(
        std::env::var_os("CHROMIUM"),
        &std::env::var_os("PATH").unwrap_or_default(),
    )
}

fn find_binary(
    chromium: Option<std::ffi::OsString>,
    path: &std::ffi::OsStr,
) -> Result<PathBuf, String> {
    if let Some(chromium) = chromium {
        let chromium = PathBuf::from(chromium);
        return if chromium.is_file() {
            Ok(chromium)
        } else {
            Err(format!(
                "$CHROMIUM={} is not a file. {INSTALL_HINT}",
                chromium.display()
            ))
        };
    }
    std::env::split_paths(path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| format!("no chromium on PATH. {INSTALL_HINT}"))
}

/// A running headless Chromium. Dropping it closes the browser (and kills it if it does not
/// close within two seconds) and removes its profile.
pub struct Chromium {
    child: Child,
    profile: PathBuf,
    commands: Mutex<File>,
    replies: Mutex<mpsc::Receiver<Value>>,
    next_id: AtomicU64,
}

fn mkfifo(path: &Path) -> Result<(), String> {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .map_err(|e| format!("mkfifo: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("mkfifo {} failed", path.display()))
}

impl Chromium {
    /// Starts Chromium on `url` with `extra_flags` (e.g. `--force-fieldtrials=...`) after
    /// the base flags, a `width`×`height` window, and its output in `log`.
    pub fn launch(
        url: &str,
        extra_flags: &[String],
        window: (u32, u32),
        log: &Path,
    ) -> Result<Chromium, String> {
        let binary = binary()?;
        static RUN: AtomicU64 = AtomicU64::new(0);
        let profile = std::env::temp_dir().join(format!(
            "rtp2-chromium-{}-{}",
            std::process::id(),
            RUN.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).map_err(|e| e.to_string())?;
        let (to_browser, from_browser) =
            (profile.join("devtools-in"), profile.join("devtools-out"));
        mkfifo(&to_browser)?;
        mkfifo(&from_browser)?;
        // Opened read-write, a FIFO never blocks on open, whatever Chromium does.
        let open = |p: &Path| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(p)
                .map_err(|e| format!("{}: {e}", p.display()))
        };
        let commands = open(&to_browser)?;
        let replies_file = open(&from_browser)?;
        if let Some(dir) = log.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let log_file = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut command = Command::new("sh");
        // The shell only gives Chromium the two pipe ends as fds 3 and 4, then becomes it.
        command
            .arg("-c")
            .arg("exec \"$0\" \"$@\" 3<\"$RTP2_DEVTOOLS_IN\" 4>\"$RTP2_DEVTOOLS_OUT\"")
            .arg(&binary)
            .args(BASE_FLAGS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--window-size={},{}", window.0, window.1))
            .args(extra_flags)
            .arg(url)
            .env("RTP2_DEVTOOLS_IN", &to_browser)
            .env("RTP2_DEVTOOLS_OUT", &from_browser)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
            .stderr(log_file);
        let child = command
            .spawn()
            .map_err(|e| format!("{}: {e}. {INSTALL_HINT}", binary.display()))?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(replies_file);
            let mut message = Vec::new();
            while reader.read_until(0, &mut message).is_ok_and(|n| n > 0) {
                message.pop();
                if let Ok(value) = serde_json::from_slice::<Value>(&message)
                    && tx.send(value).is_err()
                {
                    return;
                }
                message.clear();
            }
        });
        Ok(Chromium {
            child,
            profile,
            commands: Mutex::new(commands),
            replies: Mutex::new(rx),
            next_id: AtomicU64::new(1),
        })
    }

    /// Sends one DevTools command (to the browser, or to an attached page's `session`) and
    /// waits at most `timeout` for its reply's `result`.
    pub fn call(
        &self,
        method: &str,
        params: Value,
        session: Option<&str>,
        timeout: Duration,
    ) -> Result<Value, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let replies = self.replies.lock().unwrap();
        {
            let mut commands = self.commands.lock().unwrap();
            let mut bytes = serde_json::to_vec(&message).map_err(|e| e.to_string())?;
            bytes.push(0);
            commands
                .write_all(&bytes)
                .map_err(|e| format!("DevTools pipe: {e}"))?;
        }
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let reply = replies
                .recv_timeout(left)
                .map_err(|_| format!("no DevTools reply to {method} within {timeout:?}"))?;
            if reply["id"].as_u64() != Some(id) {
                continue;
            }
            if let Some(error) = reply.get("error") {
                return Err(format!("{method}: {error}"));
            }
            return Ok(reply["result"].clone());
        }
    }

    /// A PNG of the first page target, as Chromium renders it now.
    pub fn screenshot_png(&self) -> Result<Vec<u8>, String> {
        let t = Duration::from_secs(10);
        let targets = self.call("Target.getTargets", json!({}), None, t)?;
        let page = targets["targetInfos"]
            .as_array()
            .and_then(|all| all.iter().find(|info| info["type"] == "page"))
            .ok_or("no page target")?;
        let attached = self.call(
            "Target.attachToTarget",
            json!({ "targetId": page["targetId"], "flatten": true }),
            None,
            t,
        )?;
        let session = attached["sessionId"]
            .as_str()
            .ok_or("no DevTools session")?;
        let shot = self.call(
            "Page.captureScreenshot",
            json!({ "format": "png" }),
            Some(session),
            t,
        )?;
        base64_decode(shot["data"].as_str().ok_or("no screenshot data")?)
    }
}

/// Standard base64 (RFC 4648 §4), as DevTools sends binary data.
fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let value = |c: u8| -> Result<u32, String> {
        Ok(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(format!("not base64: {c:#x}")),
        }
        .into())
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut word = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            word |= value(c)? << (18 - 6 * i);
        }
        let bytes = word.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Ok(out)
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.call("Browser.close", json!({}), None, Duration::from_secs(2));
        for _ in 0..20 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_missing_chromium_says_how_to_install_it() {
        let empty = std::env::temp_dir().join("rtp2-no-chromium-here");
        let _ = std::fs::create_dir_all(&empty);
        for error in [
            super::find_binary(None, empty.as_os_str()).unwrap_err(),
            super::find_binary(Some(empty.join("chromium").into()), "".as_ref()).unwrap_err(),
        ] {
            assert!(error.contains("scripts/install-deps.sh"), "{error}");
            assert!(error.contains("apt-get install chromium"), "{error}");
        }
    }

    #[test]
    fn base64_of_rfc4648_vectors() {
        for (text, bytes) in [
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9vYmFy", "foobar"),
        ] {
            assert_eq!(super::base64_decode(text).unwrap(), bytes.as_bytes());
        }
    }
}
