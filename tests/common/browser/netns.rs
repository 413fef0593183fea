// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Runs a test inside a private network namespace that has only `lo`, so that neither
//! Chromium nor libnice can gather a candidate on, or send a check to, any other interface.
//! The test binary re-executes itself under `unshare -n` for that one test (exact name),
//! with an environment variable that tells the child it is inside; the parent passes or
//! fails with the child, prints its output, and checks that the child really ran the test
//! body (a marker file), so a misspelt name cannot pass by running nothing.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const INSIDE: &str = "RTP2_BROWSER_NETNS_MARKER";

/// A browser test takes about 15 s; one that has not finished in two minutes is stuck.
const CHILD_TIMEOUT: Duration = Duration::from_secs(120);

/// Whether the caller should run the test body now: `true` inside the namespace. Outside,
/// runs `test` (its exact name in this binary) in a new namespace, panics if it fails, and
/// returns `false` (the body ran in the child). Browser tests run one at a time.
pub fn enter_private_network(test: &str) -> bool {
    if let Some(marker) = std::env::var_os(INSIDE) {
        std::fs::write(&marker, test).expect("write the namespace marker");
        return true;
    }
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let marker = std::env::temp_dir().join(format!("rtp2-netns-{}-{test}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let exe: PathBuf = std::env::current_exe().expect("own test binary");
    let mut child = Command::new("unshare")
        .args(["-n", "--", "sh", "-c"])
        .arg("PATH=\"$PATH:/usr/sbin:/sbin\"; ip link set lo up && exec \"$0\" \"$@\"")
        .arg(&exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(INSIDE, &marker)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run unshare (util-linux): {e}"));
    // Read both pipes while the child runs, so that it never blocks on a full one.
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + CHILD_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the test's child") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = (stdout.join().unwrap(), stderr.join().unwrap());
    print!("{}", String::from_utf8_lossy(&output.0));
    eprint!("{}", String::from_utf8_lossy(&output.1));
    let Some(status) = status else {
        panic!("{test} did not finish within {CHILD_TIMEOUT:?} in its network namespace: killed");
    };
    let stderr = String::from_utf8_lossy(&output.1);
    if !status.success()
        && (stderr.contains("unshare failed") || stderr.contains("Operation not permitted"))
    {
        panic!(
            "the browser tests run in a private network namespace (loopback only) and \
             `unshare -n` was refused: run them as root or with CAP_SYS_ADMIN ({})",
            stderr.trim()
        );
    }
    assert!(
        status.success(),
        "{test} failed inside its network namespace ({status})"
    );
    let ran = std::fs::read_to_string(&marker).ok();
    let _ = std::fs::remove_file(&marker);
    assert_eq!(
        ran.as_deref(),
        Some(test),
        "the child process did not run {test}"
    );
    false
}
