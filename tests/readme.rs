// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Every `gst-launch-1.0` line of README.md works as written, run by the real
//! `gst-launch-1.0` with the plugin in target/release (built by `cargo build --release`).
//! A receiver (`udpsrc`) line runs together with the sender line that follows it; a receiver
//! started with `-e` is stopped with SIGINT (Ctrl-C) once its sender is done.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The gst-launch commands of README.md's shell blocks, continuation lines joined.
fn readme_commands() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in readme.lines() {
        let line = line.trim();
        if current.is_empty() && !line.starts_with("gst-launch-1.0 ") {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    commands
}

/// Newest modification time of the files under `dir`.
fn newest(dir: &std::path::Path) -> std::time::SystemTime {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                newest(&path)
            } else {
                e.metadata().and_then(|m| m.modified()).unwrap()
            }
        })
        .max()
        .unwrap_or(std::time::UNIX_EPOCH)
}

/// target/release, holding the plugin that `cargo build --release` made from the current
/// sources (scripts/test.sh builds it before running the tests).
fn plugin_dir() -> PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/release");
    let so = dir.join("libgstrtp2.so");
    let built = std::fs::metadata(&so)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} missing: run `cargo build --release` first",
                so.display()
            )
        });
    let sources = newest(&root.join("src")).max(newest(&root.join("rtp2-core/src")));
    assert!(
        built >= sources,
        "{} is older than the sources: run `cargo build --release`",
        so.display()
    );
    dir
}

/// Starts `sh -c command` with the plugin on GST_PLUGIN_PATH and a private registry.
fn spawn(command: &str, registry: &std::path::Path) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("GST_PLUGIN_PATH", plugin_dir())
        .env("GST_REGISTRY", registry)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait(mut child: Child, timeout: Duration, what: &str) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut stderr);
            }
            assert!(status.success(), "`{what}` failed ({status}): {stderr}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`{what}` did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_gst_launch_line_of_the_readme_works() {
    let commands = readme_commands();
    assert!(
        commands.len() >= 3,
        "README has gst-launch lines: {commands:?}"
    );
    let dir = std::env::temp_dir().join(format!("rtp2-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let registry = dir.join("registry.bin");
    // Build the registry once, so that concurrent processes below do not race to write it.
    let status = Command::new("gst-inspect-1.0")
        .arg("rtpg722pay2")
        .env("GST_PLUGIN_PATH", plugin_dir())
        .env("GST_REGISTRY", &registry)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "gst-inspect-1.0 finds rtpg722pay2");
    let mut iter = commands.iter();
    let mut ran = 0;
    while let Some(command) = iter.next() {
        if command.contains("udpsrc") {
            let sender = iter
                .next()
                .expect("a sender line follows the receiver line");
            let receiver = spawn(command, &registry);
            std::thread::sleep(Duration::from_millis(1500));
            wait(spawn(sender, &registry), Duration::from_secs(60), sender);
            if command.starts_with("gst-launch-1.0 -e ") {
                // A receiver that runs until Ctrl-C, as the README tells the user.
                std::thread::sleep(Duration::from_secs(1));
                // `sh -c` runs gst-launch as its child: interrupt that one (the shell then
                // exits with gst-launch's status).
                let pid = receiver.id().to_string();
                let _ = Command::new("pkill").args(["-INT", "-P", &pid]).status();
            }
            wait(receiver, Duration::from_secs(30), command);
            ran += 2;
        } else {
            wait(spawn(command, &registry), Duration::from_secs(60), command);
            ran += 1;
        }
    }
    assert_eq!(ran, commands.len());
    let _ = std::fs::remove_dir_all(&dir);
}

/// README points to every example and every page of docs/, and every file it links exists.
#[test]
fn readme_points_to_every_example_and_doc() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for (dir, ext) in [("examples", "rs"), ("docs", "md")] {
        let mut found = 0;
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == ext) {
                let name = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
                assert!(readme.contains(&name), "README does not mention {name}");
                found += 1;
            }
        }
        assert!(found > 0, "no {dir}");
    }
    // Markdown links to files of the repository, `](path)`, from README and from docs/.
    let mut pages = vec![(root.clone(), readme)];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push((root.join("docs"), std::fs::read_to_string(&path).unwrap()));
        }
    }
    for (base, text) in &pages {
        for link in text.split("](").skip(1) {
            let target = link.split([')', '#']).next().unwrap();
            if !target.starts_with("http") && !target.is_empty() {
                assert!(
                    base.join(target).exists(),
                    "link to missing {target} in {base:?}"
                );
            }
        }
    }
}
