// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The test network of tests/timing_ptp.rs: network namespaces made with `ip netns`, each
//! with one veth interface `eth0` on a bridge in a hub namespace, addressed in
//! 10.77.22.0/24 and reachable from nowhere else. Removed (with every process the test
//! started in them) on drop.

use std::process::{Child, ChildStdin, Command, Stdio};

/// The prefix of the test network's addresses; host `n` is `{SUBNET}.{n}`.
pub const SUBNET: &str = "10.77.22";

/// Runs `ip args`; panics saying what failed (namespaces need root and a kernel that allows
/// them).
pub fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("`ip` (Debian package iproute2) is needed to make the test network");
    assert!(
        out.status.success(),
        "PTP test network: `ip {}` failed: {} (network namespaces need root, \
         CAP_NET_ADMIN and /var/run/netns)",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// Namespaces `<prefix>-hub` (the bridge) and one per host; host `i` (0-based) gets address
/// `{SUBNET}.{i + 1}`.
pub struct Network {
    pub hosts: Vec<String>,
    hub: String,
    children: Vec<(usize, Child)>,
}

impl Network {
    pub fn new(host_names: &[&str]) -> Network {
        let prefix = format!("rtp2ptp{}", std::process::id());
        let hub = format!("{prefix}-hub");
        let mut network = Network {
            hosts: Vec::new(),
            hub: hub.clone(),
            children: Vec::new(),
        };
        ip(&["netns", "add", &hub]);
        ip(&["-n", &hub, "link", "add", "br0", "type", "bridge"]);
        // No IGMP snooping: PTP's multicast reaches every port without a querier.
        ip(&[
            "-n",
            &hub,
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        ip(&["-n", &hub, "link", "set", "br0", "up"]);
        for (i, name) in host_names.iter().enumerate() {
            let ns = format!("{prefix}-{name}");
            ip(&["netns", "add", &ns]);
            network.hosts.push(ns.clone());
            let port = format!("p{i}");
            ip(&[
                "-n", &hub, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
                &ns,
            ]);
            ip(&["-n", &hub, "link", "set", &port, "master", "br0", "up"]);
            let address = format!("{SUBNET}.{}/24", i + 1);
            ip(&["-n", &ns, "addr", "add", &address, "dev", "eth0"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
            // PTP event and general messages go to 224.0.1.129 out of eth0.
            ip(&["-n", &ns, "route", "add", "224.0.0.0/4", "dev", "eth0"]);
        }
        network
    }

    /// Starts `program args` in host namespace `host` (index) with stdin piped, stdout to
    /// `stdout` and stderr to `stderr`.
    pub fn spawn(
        &mut self,
        host: usize,
        program: &str,
        args: &[&str],
        envs: &[(&str, String)],
        stdout: Stdio,
        stderr: std::fs::File,
    ) -> &mut Child {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.hosts[host], program])
            .args(args)
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} in {}: {e}", self.hosts[host]));
        self.children.push((host, child));
        &mut self.children.last_mut().unwrap().1
    }

    /// The stdin of the process started in host `host`.
    pub fn child_stdin(&mut self, host: usize) -> &mut ChildStdin {
        let (_, child) = self.children.iter_mut().find(|(h, _)| *h == host).unwrap();
        child.stdin.as_mut().unwrap()
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in self.hosts.iter().chain([&self.hub]) {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}
