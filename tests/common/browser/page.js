// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

// The browser side of the harness: answers GStreamer's offer (or offers), sends its camera and
// microphone where the offer asks to receive, plays what it receives, and posts
// getStats() (plus per-packet audio levels when encoded insertable streams are on) to
// the server twice a second. It also draws the statistics on the page.
'use strict';

const page = { errors: [], log: [], ice: '', connection: '', metadataKeys: null };
let newLevels = [];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (text) => { page.log.push(text); if (page.log.length > 40) page.log.shift(); };
window.addEventListener('error', (e) => page.errors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) => page.errors.push(String(e.reason)));

async function getJson(path, tries) {
  for (let i = 0; i < tries; i++) {
    const response = await fetch(path).catch(() => null);
    if (response && response.status === 200) return response.json();
    await sleep(100);
  }
  throw new Error(`${path}: nothing after ${tries} tries`);
}

// The direction attribute of every m-section of an SDP, by mid.
function directions(sdp) {
  const out = {};
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    const mid = /a=mid:(\S+)/.exec(section);
    const dir = /a=(sendrecv|sendonly|recvonly|inactive)/.exec(section);
    if (mid) out[mid[1]] = { kind: section.split(' ')[0], dir: dir ? dir[1] : 'sendrecv' };
  }
  return out;
}

// With encoded insertable streams every sender and receiver must pass its frames through;
// receivers of audio also note each packet's audio level (RFC 6464, from the header
// extension) as Chromium exposes it in the frame metadata.
function passFrames(endpoint, kind) {
  const { readable, writable } = endpoint.createEncodedStreams();
  const transform = new TransformStream({
    transform(frame, controller) {
      if (kind === 'audio' && endpoint instanceof RTCRtpReceiver) {
        const metadata = frame.getMetadata();
        if (!page.metadataKeys) page.metadataKeys = Object.keys(metadata);
        if (typeof metadata.audioLevel === 'number') {
          newLevels.push([performance.now(), metadata.audioLevel]);
        }
      }
      controller.enqueue(frame);
    },
  });
  readable.pipeThrough(transform).pipeTo(writable).catch((e) => page.errors.push(String(e)));
}

// The camera track with every frame marked as rotated by `degrees` clockwise (the WebCodecs
// VideoFrame rotation, what a phone camera reports): libwebrtc then sends the frames as they
// are with the rotation in the CVO header extension when it is negotiated.
function rotated(track, degrees) {
  const processor = new MediaStreamTrackProcessor({ track });
  const generator = new MediaStreamTrackGenerator({ kind: 'video' });
  const rotate = new TransformStream({
    transform(frame, controller) {
      const out = new VideoFrame(frame, { rotation: degrees });
      frame.close();
      controller.enqueue(out);
    },
  });
  processor.readable.pipeThrough(rotate).pipeTo(generator.writable)
    .catch((e) => page.errors.push(`rotate: ${e}`));
  return generator;
}

function attach(track) {
  if (track.kind === 'video') {
    document.getElementById('remote').srcObject = new MediaStream([track]);
  } else {
    // Chromium decodes remote audio only for a track that plays somewhere.
    const audio = new Audio();
    audio.autoplay = true;
    audio.srcObject = new MediaStream([track]);
    document.body.appendChild(audio);
    audio.play().catch((e) => page.errors.push(`audio play: ${e}`));
  }
}

const shown = {
  video: ['framesDecoded', 'framesReceived', 'keyFramesDecoded', 'framesDropped', 'freezeCount',
    'packetsReceived', 'packetsLost', 'nackCount', 'pliCount', 'frameWidth', 'frameHeight',
    'framesPerSecond', 'jitter'],
  audio: ['totalSamplesReceived', 'concealedSamples', 'packetsReceived', 'packetsLost',
    'audioLevel', 'jitter'],
  out: ['framesEncoded', 'packetsSent', 'bytesSent', 'nackCount', 'pliCount', 'encoderImplementation'],
};

function draw(stats) {
  const lines = [`ICE ${page.ice}, connection ${page.connection}`];
  for (const s of stats) {
    let keys = null;
    if (s.type === 'inbound-rtp') keys = shown[s.kind];
    if (s.type === 'outbound-rtp') keys = shown.out;
    if (!keys) continue;
    const codec = stats.find((c) => c.id === s.codecId);
    lines.push(`${s.type} ${s.kind} ${codec ? codec.mimeType : ''}`);
    for (const k of keys) if (s[k] !== undefined) lines.push(`  ${k.padEnd(22)} ${s[k]}`);
  }
  if (page.errors.length) lines.push(`errors: ${page.errors.join('; ')}`);
  document.getElementById('stats').textContent = lines.join('\n');
}

async function report(pc) {
  const stats = [...(await pc.getStats()).values()];
  const sources = pc.getReceivers().filter((r) => r.track.kind === 'audio')
    .flatMap((r) => r.getSynchronizationSources());
  // The size the page shows the received video at (after a CVO rotation).
  const remote = document.getElementById('remote');
  page.remoteVideo = { width: remote.videoWidth, height: remote.videoHeight };
  page.ice = pc.iceConnectionState;
  page.connection = pc.connectionState;
  document.getElementById('state').textContent = pc.connectionState;
  draw(stats);
  const levels = newLevels;
  newLevels = [];
  const body = JSON.stringify({ now: performance.now(), stats, levels, sources, page });
  await fetch('/stats', { method: 'POST', body }).catch(() => {});
}

// GStreamer offers: send the local track of each kind the offer asks to receive, answer.
async function answer(pc, local, insertable) {
  document.getElementById('state').textContent = 'waiting for the offer';
  const offer = await getJson('/offer', 1200);
  await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
  await addCandidates(pc, offer.candidates);
  const wanted = directions(offer.sdp);
  for (const t of pc.getTransceivers()) {
    const m = wanted[t.mid];
    if (!m || (m.dir !== 'recvonly' && m.dir !== 'sendrecv')) continue;
    const track = local.getTracks().find((tr) => tr.kind === m.kind);
    if (!track) continue;
    t.direction = m.dir === 'recvonly' ? 'sendonly' : 'sendrecv';
    await t.sender.replaceTrack(track);
    if (insertable) passFrames(t.sender, m.kind);
  }
  await pc.setLocalDescription(await pc.createAnswer());
  await gathered(pc);
  await fetch('/answer', { method: 'POST', body: pc.localDescription.sdp });
}

// The browser offers: one transceiver per local track (`direction`), then GStreamer answers.
async function offer(pc, local, direction, insertable) {
  for (const track of local.getTracks()) {
    const t = pc.addTransceiver(track, { direction, streams: [local] });
    if (insertable) passFrames(t.sender, track.kind);
  }
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  await fetch('/browser-offer', { method: 'POST', body: pc.localDescription.sdp });
  document.getElementById('state').textContent = 'waiting for the answer';
  const answer = await getJson('/gst-answer', 1200);
  await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  await addCandidates(pc, answer.candidates);
}

async function addCandidates(pc, candidates) {
  for (const c of candidates) {
    await pc.addIceCandidate({ candidate: c.candidate, sdpMLineIndex: c.mline })
      .catch((e) => log(`candidate ${c.candidate}: ${e}`));
  }
}

// Non-trickle: the description is sent once ICE gathering is complete (at most 5 s).
async function gathered(pc) {
  for (let i = 0; i < 100 && pc.iceGatheringState !== 'complete'; i++) await sleep(50);
}

async function main() {
  document.getElementById('ua').textContent = navigator.userAgent.match(/Chrom\S+/)?.[0] ?? 'browser';
  const config = await getJson('/config', 100);
  const insertable = !!config.insertable;
  // What this browser can send and receive (codecs with their fmtp, header extensions):
  // field trials such as FlexFEC show up here.
  page.capabilities = {};
  for (const side of ['sender', 'receiver']) {
    const cls = side === 'sender' ? RTCRtpSender : RTCRtpReceiver;
    for (const kind of ['audio', 'video']) page.capabilities[`${side}-${kind}`] = cls.getCapabilities(kind);
  }
  // The fake camera and microphone under test; a person's browser may refuse them, and the
  // call then goes on receive-only.
  const local = await navigator.mediaDevices.getUserMedia({
    audio: true, video: { width: 320, height: 240, frameRate: 15 },
  }).catch((e) => { page.errors.push(`getUserMedia: ${e}`); return new MediaStream(); });
  if (config.rotateVideo) {
    for (const track of local.getVideoTracks()) {
      local.removeTrack(track);
      local.addTrack(rotated(track, config.rotateVideo));
    }
  }
  document.getElementById('local').srcObject = local;
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', encodedInsertableStreams: insertable });
  pc.ontrack = (e) => {
    if (insertable) passFrames(e.receiver, e.track.kind);
    attach(e.track);
  };
  if (config.browserOffers) {
    await offer(pc, local, config.offerDirection || 'sendrecv', insertable);
  } else {
    await answer(pc, local, insertable);
  }
  for (;;) {
    await report(pc).catch((e) => page.errors.push(`stats: ${e}`));
    await sleep(500);
  }
}

main().catch((e) => {
  page.errors.push(String(e));
  document.getElementById('state').textContent = `failed: ${e}`;
  fetch('/stats', { method: 'POST', body: JSON.stringify({ now: performance.now(), stats: [], levels: [], page }) });
});
