// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The downstream allocator (issue 14, item 2): when downstream answers the ALLOCATION
//! query with an allocator of its own memory type, every access unit comes out in one memory
//! from it, from our depayloaders as from the C `rtph264depay`/`rtph265depay`; when
//! downstream proposes none, ours keep their zero-copy shared memories. A RECONFIGURE event
//! makes them ask again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;

mod common;

/// An allocator of a memory type of its own ("Rtp2TestMemory"), as a hardware decoder's
/// would be. Its memories are system memories handed over to it: the system allocator's
/// functions map, share and free them.
mod test_allocator {
    use gst::glib;

    glib::wrapper! {
        /// The test allocator.
        pub struct TestAllocator(ObjectSubclass<imp::TestAllocator>)
            @extends gst::Allocator, gst::Object;
    }

    impl Default for TestAllocator {
        fn default() -> Self {
            glib::Object::new()
        }
    }

    pub const MEMORY_TYPE: &str = "Rtp2TestMemory";

    fn system() -> gst::Allocator {
        gst::Allocator::find(Some("SystemMemory")).expect("the system memory allocator")
    }

    mod imp {
        use gst::glib;
        use gst::glib::translate::ToGlibPtr;
        use gst::prelude::*;
        use gst::subclass::prelude::*;

        #[derive(Default)]
        pub struct TestAllocator;

        #[glib::object_subclass]
        impl ObjectSubclass for TestAllocator {
            const NAME: &'static str = "Rtp2TestAllocator";
            type Type = super::TestAllocator;
            type ParentType = gst::Allocator;

            fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
                let system = super::system();
                let system: *const gst::ffi::GstAllocator = system.to_glib_none().0;
                // SAFETY (FFI): both pointers are live GstAllocator instances; the memory
                // functions are those of the system allocator, whose memories this one hands
                // out; the type name is a static C string.
                unsafe {
                    let this = obj.as_ptr() as *mut gst::ffi::GstAllocator;
                    (*this).mem_type = c"Rtp2TestMemory".as_ptr();
                    (*this).mem_map = (*system).mem_map;
                    (*this).mem_unmap = (*system).mem_unmap;
                    (*this).mem_copy = (*system).mem_copy;
                    (*this).mem_share = (*system).mem_share;
                    (*this).mem_is_span = (*system).mem_is_span;
                    (*this).mem_map_full = (*system).mem_map_full;
                    (*this).mem_unmap_full = (*system).mem_unmap_full;
                }
            }
        }

        impl ObjectImpl for TestAllocator {}
        impl GstObjectImpl for TestAllocator {}

        // SAFETY (FFI): alloc returns a valid memory owning one reference to this allocator;
        // free releases memories made by alloc through the system allocator that made them.
        unsafe impl AllocatorImpl for TestAllocator {
            /// # Safety
            ///
            /// That of [`AllocatorImpl::alloc`]: called by GStreamer with valid allocation
            /// parameters.
            unsafe fn alloc(
                &self,
                size: usize,
                params: &gst::AllocationParams,
            ) -> *mut gst::ffi::GstMemory {
                let system = super::system();
                let system: *mut gst::ffi::GstAllocator = system.to_glib_none().0;
                let this: *mut gst::ffi::GstAllocator =
                    self.obj().upcast_ref::<gst::Allocator>().to_glib_none().0;
                // SAFETY (FFI): a system memory, whose allocator reference is moved to this
                // allocator (the memory unrefs its allocator when freed).
                unsafe {
                    let memory =
                        gst::ffi::gst_allocator_alloc(system, size, params.as_ptr() as *mut _);
                    if memory.is_null() {
                        return memory;
                    }
                    gst::ffi::gst_object_unref((*memory).allocator as *mut _);
                    (*memory).allocator = gst::ffi::gst_object_ref(this as *mut _) as *mut _;
                    memory
                }
            }

            /// # Safety
            ///
            /// That of [`AllocatorImpl::free`]: `memory` was made by [`Self::alloc`] and is
            /// freed once.
            unsafe fn free(&self, memory: *mut gst::ffi::GstMemory) {
                let system = super::system();
                let system: *mut gst::ffi::GstAllocator = system.to_glib_none().0;
                // SAFETY (FFI): the system allocator's class frees the system memory struct.
                unsafe {
                    let class = (*(system as *mut glib::gobject_ffi::GTypeInstance)).g_class
                        as *const gst::ffi::GstAllocatorClass;
                    if let Some(free) = (*class).free {
                        free(system, memory);
                    }
                }
            }
        }
    }
}

use test_allocator::{MEMORY_TYPE, TestAllocator};

/// RTP packets of `frames` frames of x264enc or x265enc, made by the C payloader (MTU 600:
/// fragmented and single NAL unit packets).
fn rtp_packets(codec: &str, frames: u32) -> common::video::Stream {
    let (encoder, pay) = match codec {
        "h264" => ("x264enc", "rtph264pay"),
        _ => ("x265enc", "rtph265pay"),
    };
    let collected = common::run_collect(
        &format!(
            "videotestsrc num-buffers={frames} pattern=ball ! \
             video/x-raw,width=320,height=240,format=I420,framerate=30/1 ! {encoder} ! \
             {pay} mtu=600 ! appsink name=sink sync=false"
        ),
        "sink",
        Duration::from_secs(120),
    );
    assert!(
        collected.buffers.len() > frames as usize,
        "packets of {codec}"
    );
    common::video::Stream {
        buffers: collected.buffers,
        caps: collected.caps.expect("RTP caps"),
    }
}

/// Whether the pad probe answers ALLOCATION queries with the test allocator.
type Proposal = Arc<Mutex<Option<TestAllocator>>>;

/// Runs `packets` through `depay` in a harness whose downstream asks for byte-stream access
/// units and answers ALLOCATION queries with `proposal` (read at each query). After `switch_at`
/// packets, `then` is applied to the proposal and a RECONFIGURE event goes upstream.
fn depayload(
    depay: &str,
    packets: &common::video::Stream,
    proposal: &Proposal,
    switch_at: Option<(usize, Option<TestAllocator>)>,
) -> Vec<gst::Buffer> {
    depayload_aligned(depay, packets, proposal, switch_at, "au")
}

/// [`depayload`] with downstream asking for `alignment` (`au` or `nal`).
fn depayload_aligned(
    depay: &str,
    packets: &common::video::Stream,
    proposal: &Proposal,
    switch_at: Option<(usize, Option<TestAllocator>)>,
    alignment: &str,
) -> Vec<gst::Buffer> {
    let mut h = gst_check::Harness::new(depay);
    let media = packets
        .caps
        .structure(0)
        .unwrap()
        .get::<&str>("encoding-name");
    let media = if media == Ok("H265") {
        "video/x-h265"
    } else {
        "video/x-h264"
    };
    h.set_sink_caps_str(&format!(
        "{media},stream-format=byte-stream,alignment={alignment}"
    ));
    let p = proposal.clone();
    h.element().unwrap().static_pad("src").unwrap().add_probe(
        gst::PadProbeType::QUERY_DOWNSTREAM,
        move |_, info| {
            let Some(query) = info.query_mut() else {
                return gst::PadProbeReturn::Ok;
            };
            let gst::QueryViewMut::Allocation(q) = query.view_mut() else {
                return gst::PadProbeReturn::Ok;
            };
            if let Some(allocator) = p.lock().unwrap().as_ref() {
                q.add_allocation_param(Some(allocator), gst::AllocationParams::default());
            }
            gst::PadProbeReturn::Handled
        },
    );
    h.set_src_caps(packets.caps.clone());
    let mut switch_at = switch_at;
    let mut outputs = Vec::new();
    for (i, packet) in packets.buffers.iter().enumerate() {
        if let Some((at, _)) = &switch_at
            && *at == i
        {
            let (_, then) = switch_at.take().unwrap();
            *proposal.lock().unwrap() = then;
            assert!(h.push_upstream_event(gst::event::Reconfigure::new()));
        }
        h.push(packet.clone()).unwrap();
        while let Some(b) = h.try_pull() {
            outputs.push(b);
        }
    }
    h.push_event(gst::event::Eos::new());
    while let Some(b) = h.try_pull() {
        outputs.push(b);
    }
    outputs
}

/// Whether every memory of `buffer` comes from the test allocator.
fn from_test_allocator(buffer: &gst::Buffer) -> bool {
    buffer.iter_memories().all(|m| {
        m.allocator()
            .is_some_and(|a| a.memory_type() == MEMORY_TYPE && a.is::<TestAllocator>())
    })
}

fn bytes(buffers: &[gst::Buffer]) -> Vec<Vec<u8>> {
    buffers
        .iter()
        .map(|b| b.map_readable().unwrap().to_vec())
        .collect()
}

/// Same packets into the C depayloaders and ours, downstream proposing the test allocator:
/// every access unit is one memory from it, for both, with the same bytes (H.264).
#[test]
fn proposed_allocator_is_used_like_the_c_depayloader() {
    common::init();
    let packets = rtp_packets("h264", 10);
    let allocator = TestAllocator::default();
    let proposal: Proposal = Arc::new(Mutex::new(Some(allocator)));
    let c = depayload("rtph264depay", &packets, &proposal, None);
    let ours = depayload("rtph264depay2", &packets, &proposal, None);
    assert_eq!(c.len(), 10, "C outputs one buffer per frame");
    let (ours_bytes, c_bytes) = (bytes(&ours), bytes(&c));
    assert!(ours_bytes[1..] == c_bytes[1..], "same access units");
    // C puts the sprop-parameter-sets of the caps in front of the first one, again.
    assert!(c_bytes[0].ends_with(&ours_bytes[0]));
    // C merges those parameter sets and the first unit into a new system memory: its other
    // outputs are compared.
    for (name, outputs) in [("rtph264depay", &c[1..]), ("rtph264depay2", &ours[..])] {
        for b in outputs {
            assert_eq!(b.n_memory(), 1, "{name}: one memory per access unit");
            assert!(from_test_allocator(b), "{name}: memory from the allocator");
        }
    }
    // H.265, same rule, as the C rtph265depay.
    let packets = rtp_packets("h265", 10);
    let c = depayload("rtph265depay", &packets, &proposal, None);
    let ours = depayload("rtph265depay2", &packets, &proposal, None);
    assert_eq!(ours.len(), 10);
    assert_eq!(c.len(), 10);
    for (name, outputs) in [("rtph265depay", &c[1..]), ("rtph265depay2", &ours[..])] {
        assert!(
            outputs
                .iter()
                .all(|b| b.n_memory() == 1 && from_test_allocator(b)),
            "{name} uses the proposed allocator"
        );
    }
}

/// No proposal: our outputs keep the packets' memories (several per access unit, none from
/// the test allocator). A RECONFIGURE event with a new proposal switches to it, and back.
#[test]
fn no_proposal_keeps_shared_memories_and_reconfigure_asks_again() {
    common::init();
    let packets = rtp_packets("h264", 10);
    let proposal: Proposal = Arc::new(Mutex::new(None));
    let outputs = depayload("rtph264depay2", &packets, &proposal, None);
    assert_eq!(outputs.len(), 10);
    assert!(outputs.iter().all(|b| !from_test_allocator(b)));
    assert!(
        outputs.iter().all(|b| b.n_memory() > 1),
        "shared memories: a start code memory and the NAL units' own"
    );

    let half = packets.buffers.len() / 2;
    let switched = depayload(
        "rtph264depay2",
        &packets,
        &proposal,
        Some((half, Some(TestAllocator::default()))),
    );
    assert!(bytes(&switched) == bytes(&outputs));
    let first_copied = switched
        .iter()
        .position(from_test_allocator)
        .expect("outputs after the RECONFIGURE use the new allocator");
    assert!(first_copied > 0, "outputs before it do not");
    assert!(switched[first_copied..].iter().all(from_test_allocator));

    // And back: a RECONFIGURE with no proposal returns to shared memories.
    let proposal: Proposal = Arc::new(Mutex::new(Some(TestAllocator::default())));
    let back = depayload("rtph264depay2", &packets, &proposal, Some((half, None)));
    assert!(from_test_allocator(&back[0]));
    assert!(!from_test_allocator(back.last().unwrap()));
}

/// NAL-aligned output: a packet that holds several NAL units (the STAP-A of SPS and PPS, and
/// every access unit's units once its end is known) leaves as a buffer list, whose buffers are
/// copied into the proposed allocator one by one: each NAL unit is one memory from it, and
/// together they are the bytes of the access units ours outputs in au alignment.
#[test]
fn proposed_allocator_is_used_for_nal_aligned_buffer_lists() {
    common::init();
    let packets = rtp_packets("h264", 10);
    let proposal: Proposal = Arc::new(Mutex::new(Some(TestAllocator::default())));
    let nals = depayload_aligned("rtph264depay2", &packets, &proposal, None, "nal");
    let aus = depayload("rtph264depay2", &packets, &proposal, None);
    assert!(
        nals.len() > aus.len(),
        "several NAL units per access unit: {}",
        nals.len()
    );
    for b in &nals {
        assert_eq!(b.n_memory(), 1, "one memory per NAL unit");
        assert!(from_test_allocator(b), "memory from the allocator");
    }
    assert_eq!(bytes(&nals).concat(), bytes(&aus).concat(), "same bytes");
}
