// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The HTTP endpoint on 127.0.0.1 that serves the page and carries the signalling: the page
//! polls `GET /config` and `GET /offer` (404 until there is one), posts its answer to
//! `POST /answer` (or, when it offers, posts `POST /browser-offer` and polls
//! `GET /gst-answer`) and its `getStats()` reports to `POST /stats` twice a second. One thread
//! serves it; the test side reads and writes [`Exchange`].

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The page and its script, served as `/` and `/page.js`.
const PAGE_HTML: &str = include_str!("page.html");
const PAGE_JS: &str = include_str!("page.js");

/// How many stats reports are kept (two a second: a minute of history).
const REPORTS_KEPT: usize = 120;

/// What the page and the test exchange.
#[derive(Default)]
pub struct Exchange {
    /// Options for the page (`GET /config`).
    pub config: Value,
    /// The offer and the ICE candidates of our side (`GET /offer`), once ready.
    pub offer: Option<Value>,
    /// The page's answer SDP (`POST /answer`).
    pub answer: Option<String>,
    /// The page's offer SDP when it offers (`POST /browser-offer`).
    pub browser_offer: Option<String>,
    /// webrtcbin's answer and candidates to the page's offer (`GET /gst-answer`).
    pub gst_answer: Option<Value>,
    /// The page's reports, oldest first: `{ "stats": [...], "levels": [...], "page": {...} }`.
    pub reports: Vec<Value>,
    /// Per-packet audio levels read by the page's encoded-frame transform, as
    /// `[page time in ms, level]`, all of them since the start.
    pub levels: Vec<(f64, f64)>,
}

/// The server: the exchange, a condition variable signalled on every post, and the port.
pub struct Signalling {
    /// The shared state, with a condition variable notified when the page posts.
    pub exchange: Arc<(Mutex<Exchange>, Condvar)>,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    server: Arc<tiny_http::Server>,
}

impl Signalling {
    /// Listens on 127.0.0.1 (a free port) and serves from a thread until dropped.
    pub fn start(config: Value) -> Result<Signalling, String> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or("no TCP address")?;
        let server = Arc::new(server);
        let exchange = Arc::new((
            Mutex::new(Exchange {
                config,
                ..Default::default()
            }),
            Condvar::new(),
        ));
        let (s, e) = (server.clone(), exchange.clone());
        std::thread::spawn(move || {
            for request in s.incoming_requests() {
                serve(request, &e);
            }
        });
        Ok(Signalling {
            exchange,
            port,
            server,
        })
    }

    /// The page's address.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Waits at most `timeout` until `ready` returns something from the exchange.
    pub fn wait<T>(
        &self,
        timeout: Duration,
        mut ready: impl FnMut(&Exchange) -> Option<T>,
    ) -> Option<T> {
        let (lock, posted) = &*self.exchange;
        let deadline = Instant::now() + timeout;
        let mut exchange = lock.lock().unwrap();
        loop {
            if let Some(value) = ready(&exchange) {
                return Some(value);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            exchange = posted.wait_timeout(exchange, left).unwrap().0;
        }
    }
}

impl Drop for Signalling {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn respond(request: tiny_http::Request, status: u16, content_type: &str, body: String) {
    let header = tiny_http::Header::from_bytes("Content-Type", content_type).unwrap();
    let response = tiny_http::Response::from_string(body)
        .with_status_code(status)
        .with_header(header);
    let _ = request.respond(response);
}

fn serve(mut request: tiny_http::Request, exchange: &(Mutex<Exchange>, Condvar)) {
    let mut body = String::new();
    // A stats report is some ten kilobytes; anything past 8 MiB is not the page's.
    let limit = 8 << 20;
    let read = std::io::Read::read_to_string(
        &mut std::io::Read::take(request.as_reader(), limit as u64 + 1),
        &mut body,
    );
    if read.is_err() || body.len() > limit {
        return respond(request, 400, "text/plain", "bad body".into());
    }
    let (lock, posted) = exchange;
    let method = request.method().as_str().to_owned();
    let path = request.url().to_owned();
    let json = "application/json";
    match (method.as_str(), path.as_str()) {
        ("GET", "/") => respond(request, 200, "text/html; charset=utf-8", PAGE_HTML.into()),
        ("GET", "/page.js") => respond(request, 200, "text/javascript", PAGE_JS.into()),
        ("GET", "/config") => {
            let config = lock.lock().unwrap().config.to_string();
            respond(request, 200, json, config)
        }
        ("GET", "/offer") => match lock.lock().unwrap().offer.clone() {
            Some(offer) => respond(request, 200, json, offer.to_string()),
            None => respond(request, 404, "text/plain", "no offer yet".into()),
        },
        ("POST", "/answer") => {
            lock.lock().unwrap().answer = Some(body);
            posted.notify_all();
            respond(request, 200, "text/plain", String::new())
        }
        ("POST", "/browser-offer") => {
            lock.lock().unwrap().browser_offer = Some(body);
            posted.notify_all();
            respond(request, 200, "text/plain", String::new())
        }
        ("GET", "/gst-answer") => match lock.lock().unwrap().gst_answer.clone() {
            Some(answer) => respond(request, 200, json, answer.to_string()),
            None => respond(request, 404, "text/plain", "no answer yet".into()),
        },
        ("POST", "/stats") => {
            let Ok(mut report) = serde_json::from_str::<Value>(&body) else {
                return respond(request, 400, "text/plain", "not JSON".into());
            };
            let mut e = lock.lock().unwrap();
            if let Some(levels) = report.get_mut("levels").map(Value::take)
                && let Some(levels) = levels.as_array()
            {
                e.levels.extend(
                    levels
                        .iter()
                        .filter_map(|l| Some((l.get(0)?.as_f64()?, l.get(1)?.as_f64()?))),
                );
            }
            e.reports.push(report);
            if e.reports.len() > REPORTS_KEPT {
                e.reports.remove(0);
            }
            drop(e);
            posted.notify_all();
            respond(request, 200, "text/plain", String::new())
        }
        _ => respond(request, 404, "text/plain", "not found".into()),
    }
}
