// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Content-based A/V synchronisation measurement: the sender's test sources get a white
//! frame (a flash) and the start of a 1 kHz tone (a beep) at the same running time every
//! period; the receiver finds them at its sinks and the offset is the difference of their
//! running times.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;

/// Audio sample rate of the test source (G.722 codes 16 kHz audio).
pub const AUDIO_RATE: u64 = 16_000;
/// How long each beep lasts.
const BEEP: Duration = Duration::from_millis(100);
/// Luma of the flash (white, I420 video range) and the threshold that detects it.
const FLASH_LUMA: u8 = 235;
const FLASH_THRESHOLD: u64 = 128;
/// Sample magnitude that detects the beep (the tone's amplitude is 16000).
const BEEP_THRESHOLD: i16 = 4000;

pub fn running_time(pad: &gst::Pad, pts: Option<gst::ClockTime>) -> Option<u64> {
    let segment = pad.sticky_event::<gst::event::Segment>(0)?;
    let segment = segment.segment().downcast_ref::<gst::ClockTime>()?.clone();
    segment.to_running_time(pts).map(|t| t.nseconds())
}

/// Whitens the luma plane of the I420 frame starting at or after each multiple of `period`
/// (the first frame of each period) on `pad` (a black `videotestsrc`); returns the distance
/// of each flashed frame's start from its multiple of the period (the same for every one
/// when the frame rate divides the period: the live source's first PTS is not 0).
pub fn flash_every(
    pad: &gst::Pad,
    period: Duration,
    width: usize,
    height: usize,
) -> Arc<Mutex<Vec<u64>>> {
    let phases = Arc::new(Mutex::new(Vec::new()));
    let p = phases.clone();
    let period = period.as_nanos() as u64;
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let Some(gst::PadProbeData::Buffer(buffer)) = info.data.as_mut() else {
            return gst::PadProbeReturn::Ok;
        };
        let (Some(running), Some(duration)) = (running_time(pad, buffer.pts()), buffer.duration())
        else {
            return gst::PadProbeReturn::Ok;
        };
        let phase = running % period;
        if phase < duration.nseconds()
            && let Ok(mut map) = buffer.make_mut().map_writable()
        {
            let luma = (width * height).min(map.len());
            map[..luma].fill(FLASH_LUMA);
            p.lock().unwrap().push(phase);
        }
        gst::PadProbeReturn::Ok
    });
    phases
}

/// Writes a 1 kHz tone (amplitude 16000, starting at its peak) into the S16 mono samples on
/// `pad` (a silent `audiotestsrc`) from each multiple of `period`, for [`BEEP`].
pub fn beep_every(pad: &gst::Pad, period: Duration) {
    let period_samples = period.as_nanos() as u64 * AUDIO_RATE / 1_000_000_000;
    let beep_samples = BEEP.as_nanos() as u64 * AUDIO_RATE / 1_000_000_000;
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let Some(gst::PadProbeData::Buffer(buffer)) = info.data.as_mut() else {
            return gst::PadProbeReturn::Ok;
        };
        let Some(running) = running_time(pad, buffer.pts()) else {
            return gst::PadProbeReturn::Ok;
        };
        // The running time of a sample is a whole number of samples at 16 kHz here.
        let first = (running * AUDIO_RATE + 500_000_000) / 1_000_000_000;
        if let Ok(mut map) = buffer.make_mut().map_writable() {
            for (i, sample) in map.chunks_exact_mut(2).enumerate() {
                let in_period = (first + i as u64) % period_samples;
                if in_period < beep_samples {
                    let t = in_period as f64 / AUDIO_RATE as f64;
                    let v = (16000.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).cos()) as i16;
                    sample.copy_from_slice(&v.to_le_bytes());
                }
            }
        }
        gst::PadProbeReturn::Ok
    });
}

/// When the receiver's sinks saw flashes and beeps (ns): the buffers' running times and the
/// clock's running time at rendering.
#[derive(Debug, Default, Clone)]
pub struct Detections {
    /// (running time of the buffer, running time it was rendered at)
    pub flashes: Vec<(u64, u64)>,
    /// (running time of the first loud sample, running time it was rendered at)
    pub beeps: Vec<(u64, u64)>,
}

fn rendered_at(sink: &gst::Element) -> Option<u64> {
    let now = sink.clock()?.time();
    Some(now.nseconds().saturating_sub(sink.base_time()?.nseconds()))
}

/// Finds flashes at a `fakesink signal-handoffs=true` of decoded I420 video, once per
/// `period`.
pub fn detect_flashes(
    sink: &gst::Element,
    period: Duration,
    width: usize,
    height: usize,
    into: Arc<Mutex<Detections>>,
) {
    let min_gap = period.as_nanos() as u64 / 2;
    sink.connect("handoff", false, move |args| {
        let sink = args[0].get::<gst::Element>().unwrap();
        let buffer = args[1].get::<gst::Buffer>().unwrap();
        let pad = args[2].get::<gst::Pad>().unwrap();
        let rendered = rendered_at(&sink);
        let (Some(running), Some(rendered), Ok(map)) = (
            running_time(&pad, buffer.pts()),
            rendered,
            buffer.map_readable(),
        ) else {
            return None;
        };
        let luma = &map[..(width * height).min(map.len())];
        let sampled: Vec<u64> = luma.iter().step_by(64).map(|&y| u64::from(y)).collect();
        let mean = sampled.iter().sum::<u64>() / sampled.len().max(1) as u64;
        let mut d = into.lock().unwrap();
        if mean > FLASH_THRESHOLD && d.flashes.last().is_none_or(|&(t, _)| running > t + min_gap) {
            d.flashes.push((running, rendered));
        }
        None
    });
}

/// Finds beep onsets at a `fakesink signal-handoffs=true` of decoded S16 mono audio at
/// [`AUDIO_RATE`], once per `period`.
pub fn detect_beeps(sink: &gst::Element, period: Duration, into: Arc<Mutex<Detections>>) {
    let min_gap = period.as_nanos() as u64 / 2;
    sink.connect("handoff", false, move |args| {
        let sink = args[0].get::<gst::Element>().unwrap();
        let buffer = args[1].get::<gst::Buffer>().unwrap();
        let pad = args[2].get::<gst::Pad>().unwrap();
        let rendered = rendered_at(&sink);
        let (Some(running), Some(rendered), Ok(map)) = (
            running_time(&pad, buffer.pts()),
            rendered,
            buffer.map_readable(),
        ) else {
            return None;
        };
        let loud = map
            .chunks_exact(2)
            .position(|s| i16::from_le_bytes([s[0], s[1]]).saturating_abs() > BEEP_THRESHOLD);
        if let Some(i) = loud {
            let offset = i as u64 * 1_000_000_000 / AUDIO_RATE;
            let mut d = into.lock().unwrap();
            if d.beeps
                .last()
                .is_none_or(|&(t, _)| running + offset > t + min_gap)
            {
                d.beeps.push((running + offset, rendered + offset));
            }
        }
        None
    });
}

/// A/V offsets (video minus audio, ns) of the flashes at or after `from` (receiver running
/// time), each paired with the nearest beep (within half a period).
#[derive(Debug, Default)]
pub struct Offsets {
    /// The flashes' running times.
    pub flashes: Vec<u64>,
    /// From the buffers' running times.
    pub running: Vec<i64>,
    /// From the rendering times.
    pub rendered: Vec<i64>,
}

pub fn offsets(d: &Detections, from: u64, period: Duration) -> Offsets {
    let half = period.as_nanos() as i64 / 2;
    let mut o = Offsets::default();
    for &(tv, rv) in d.flashes.iter().filter(|(t, _)| *t >= from) {
        let nearest = d
            .beeps
            .iter()
            .min_by_key(|(ta, _)| (tv as i64 - *ta as i64).abs());
        if let Some(&(ta, ra)) = nearest {
            let offset = tv as i64 - ta as i64;
            if offset.abs() < half {
                o.flashes.push(tv);
                o.running.push(offset);
                o.rendered.push(rv as i64 - ra as i64);
            }
        }
    }
    o
}

/// The CNAMEs of the SDES chunks of an RTCP compound packet (RFC 3550 §6.5: packet type
/// 202, chunks of an SSRC and items ending with a null item, each chunk padded to 32 bits;
/// CNAME is item type 1).
pub fn sdes_cnames(rtcp: &[u8]) -> Vec<String> {
    let mut cnames = Vec::new();
    let mut off = 0;
    while off + 4 <= rtcp.len() {
        let count = rtcp[off] & 0x1f;
        let pt = rtcp[off + 1];
        let end = (off + (usize::from(u16::from_be_bytes([rtcp[off + 2], rtcp[off + 3]])) + 1) * 4)
            .min(rtcp.len());
        if pt == 202 {
            let mut p = off + 4;
            for _ in 0..count {
                p += 4;
                while p < end {
                    let kind = rtcp[p];
                    if kind == 0 {
                        p = (p + 4) & !3;
                        break;
                    }
                    let Some(&len) = rtcp.get(p + 1) else { break };
                    let text = rtcp.get(p + 2..p + 2 + usize::from(len)).unwrap_or(&[]);
                    if kind == 1 {
                        cnames.push(String::from_utf8_lossy(text).into_owned());
                    }
                    p += 2 + usize::from(len);
                }
            }
        }
        off = end.max(off + 4);
    }
    cnames
}

/// Records the first CNAME sent on each of `pads` (RTCP source pads of a sender).
pub fn first_cnames(pads: &[gst::Pad]) -> Arc<Mutex<Vec<Option<String>>>> {
    let cnames = Arc::new(Mutex::new(vec![None; pads.len()]));
    for (i, pad) in pads.iter().enumerate() {
        let c = cnames.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(gst::PadProbeData::Buffer(b)) = &info.data
                && let Ok(map) = b.map_readable()
                && let Some(cname) = sdes_cnames(&map).into_iter().next()
            {
                c.lock().unwrap()[i].get_or_insert(cname);
            }
            gst::PadProbeReturn::Ok
        });
    }
    cnames
}
