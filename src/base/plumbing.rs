// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! What the three base classes (`pay`, `depay`, `filter`) need alike to be GObject classes
//! with virtual methods and pads: the class-structure look-up, pad functions that turn a
//! panic into an error instead of unwinding into C, and the subclassing glue (the
//! `…ImplExt` trait and the `IsSubclassable` impl) written once as [`subclass_plumbing!`].

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

type FlowResult = Result<gst::FlowSuccess, gst::FlowError>;

/// The class structure (virtual method table) of the most derived class of `imp`'s
/// instance, for the lifetime of the process.
pub(crate) fn vfuncs_of<T>(imp: &T) -> &'static T::Class
where
    T: ObjectSubclass,
    glib::Class<T::Type>: AsRef<T::Class>,
{
    let obj = imp.obj();
    let class: &T::Class = obj.class().as_ref();
    // SAFETY: the class structure of a static GType is allocated once and never freed, so
    // it outlives the borrow of `obj`.
    unsafe { &*(class as *const T::Class) }
}

/// The pad template `name` of a base class's concrete subclass (`kind`: "payloader", …); a
/// subclass without it is a programming error of that subclass.
pub(crate) fn pad_template(
    klass: &glib::Class<gst::Element>,
    name: &str,
    kind: &str,
) -> gst::PadTemplate {
    klass
        .pad_template(name)
        .unwrap_or_else(|| panic!("{kind} class has no '{name}' pad template"))
}

/// Default `set_sink_caps` of a base class whose concrete subclass must implement it.
pub(crate) fn caps_not_handled(obj: &impl IsA<gst::Element>, caps: &gst::Caps) -> bool {
    gst::error!(
        crate::CAT,
        obj = obj,
        "{} does not handle caps {caps}",
        obj.type_().name()
    );
    false
}

/// Default of the per-input virtual method (`handle_buffer`, `handle_packet`) of a base
/// class whose concrete subclass must implement it.
pub(crate) fn input_not_handled(obj: &impl IsA<gst::Element>, vfunc: &str) -> FlowResult {
    gst::error!(
        crate::CAT,
        obj = obj,
        "{} has no {vfunc}",
        obj.type_().name()
    );
    Err(gst::FlowError::NotSupported)
}

/// Adds a base class's two pads to its element (from `constructed`).
pub(crate) fn add_pads(element: &impl IsA<gst::Element>, sink_pad: &gst::Pad, src_pad: &gst::Pad) {
    if let Err(err) = element.add_pad(sink_pad).and(element.add_pad(src_pad)) {
        gst::error!(crate::CAT, obj = element, "Cannot add pads: {err}");
    }
}

/// Pad functions that run a method of the element's implementation `T`; a panic in it posts
/// an error and returns the fallback (`FlowError::Error`, `false`) instead of unwinding
/// into GStreamer (`catch_panic_pad_function`). Generic over the function, so that the
/// method is called directly (and may be inlined), as in a hand-written pad function.
pub(crate) trait GuardedPadFunctions: Sized {
    /// Chain function.
    fn guarded_chain<T, F>(self, f: F) -> Self
    where
        T: ElementImpl,
        F: Fn(&T, gst::Buffer) -> FlowResult + Send + Sync + 'static;
    /// Chain-list function.
    fn guarded_chain_list<T, F>(self, f: F) -> Self
    where
        T: ElementImpl,
        F: Fn(&T, gst::BufferList) -> FlowResult + Send + Sync + 'static;
    /// Event function.
    fn guarded_event<T, F>(self, f: F) -> Self
    where
        T: ElementImpl,
        F: Fn(&T, gst::Event) -> bool + Send + Sync + 'static;
    /// Query function.
    fn guarded_query<T, F>(self, f: F) -> Self
    where
        T: ElementImpl,
        F: Fn(&T, &mut gst::QueryRef) -> bool + Send + Sync + 'static;
}

impl GuardedPadFunctions for gst::PadBuilder<gst::Pad> {
    fn guarded_chain<T, F>(self, f: F) -> Self
    where
        T: ElementImpl,
        F: Fn(&T, gst::Buffer) -> FlowResult + Send + Sync + 'static,
    {
        self.chain_function(move |_pad, parent, buffer| {
            T::catch_panic_pad_function(parent, || Err(gst::FlowError::Error), |imp| f(imp, buffer))
        })
    }

    fn guarded_chain_list<T, F>(self, f: F) -> Self
    where
        T: ElementImpl,
        F: Fn(&T, gst::BufferList) -> FlowResult + Send + Sync + 'static,
    {
        self.chain_list_function(move |_pad, parent, list| {
            T::catch_panic_pad_function(parent, || Err(gst::FlowError::Error), |imp| f(imp, list))
        })
    }

    fn guarded_event<T, F>(self, f: F) -> Self
    where
        T: ElementImpl,
        F: Fn(&T, gst::Event) -> bool + Send + Sync + 'static,
    {
        self.event_function(move |_pad, parent, event| {
            T::catch_panic_pad_function(parent, || false, |imp| f(imp, event))
        })
    }

    fn guarded_query<T, F>(self, f: F) -> Self
    where
        T: ElementImpl,
        F: Fn(&T, &mut gst::QueryRef) -> bool + Send + Sync + 'static,
    {
        self.query_function(move |_pad, parent, query| {
            T::catch_panic_pad_function(parent, || false, |imp| f(imp, query))
        })
    }
}

/// The implementation `T` of `obj`, for the class trampolines: [`subclass_plumbing!`]
/// installs them only on classes of `T` (and its subclasses), so every instance that reaches
/// them is a `T::Type`.
pub(crate) fn imp_of<T: ObjectSubclass>(obj: &impl IsA<glib::Object>) -> &T {
    match obj.dynamic_cast_ref::<T::Type>() {
        Some(o) => o.imp(),
        None => unreachable!("vfunc of {} called on another type", T::NAME),
    }
}

/// The subclassing glue of a base class, from the list of its virtual methods: the public
/// `…ImplExt` trait (a `parent_…` method per virtual method, running the parent class's
/// implementation, and `parent_vfuncs`), and `IsSubclassable`, whose `class_init` fills
/// the class structure with trampolines into the subclass's `…Impl` and copies its consts.
///
/// ```ignore
/// subclass_plumbing! {
///     base: RtpBaseFilter2, class: Class, imp: RtpBaseFilter2Impl, ext: RtpBaseFilter2ImplExt,
///     consts: [],
///     vfuncs: [
///         fn start / parent_start() -> Result<(), gst::ErrorMessage>;
///         fn flush / parent_flush();
///     ]
/// }
/// ```
macro_rules! subclass_plumbing {
    (
        base: $base:ident, class: $class:ty, imp: $imp:ident, ext: $ext:ident,
        consts: [$($field:ident = $const:ident),* $(,)?],
        vfuncs: [$(
            fn $vfunc:ident / $parent:ident ($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?;
        )*] $(,)?
    ) => {
        /// Calls into the parent class's implementation, for subclasses that override a
        /// method and still want the inherited behaviour.
        pub trait $ext: $imp {
            $(
                #[doc = concat!(
                    "Runs the parent class's `", stringify!($vfunc), "` (the base class default)."
                )]
                fn $parent(&self, $($arg: $ty),*) $(-> $ret)? {
                    (self.parent_vfuncs().$vfunc)(self.obj().upcast_ref(), $($arg),*)
                }
            )*

            /// The parent class structure's virtual method table.
            fn parent_vfuncs(&self) -> &'static $class {
                let data = Self::type_data();
                // SAFETY: the parent class of any subclass of this base class is the base
                // class or one of its subclasses, whose class structures all start with
                // its class structure (`#[repr(C)]`); class structures live for the rest
                // of the process.
                unsafe { &*(data.as_ref().parent_class() as *const $class) }
            }
        }

        impl<T: $imp> $ext for T {}

        // SAFETY: the class structure of the base class is its `imp::Class` (`#[repr(C)]`,
        // parent class first), which every subclass's class structure starts with;
        // `class_init` chains up first and then only sets function pointers and consts of
        // this class structure.
        unsafe impl<T: $imp> IsSubclassable<T> for $base {
            fn class_init(class: &mut glib::Class<Self>) {
                Self::parent_class_init::<T>(class);
                let klass = class.as_mut();
                $(klass.$field = T::$const;)*
                $(
                    klass.$vfunc = |obj, $($arg),*| {
                        $crate::base::plumbing::imp_of::<T>(obj).$vfunc($($arg),*)
                    };
                )*
            }
        }
    };
}

pub(crate) use subclass_plumbing;

/// `Deref` of a base class's class structure (`#[repr(C)]`, first field `parent`, a
/// `GstElementClass`) to `glib::Class<gst::Element>`, so that pad templates and the other
/// element class methods can be read from it.
macro_rules! element_class_deref {
    ($class:ty) => {
        impl std::ops::Deref for $class {
            type Target = glib::Class<gst::Element>;
            fn deref(&self) -> &Self::Target {
                // SAFETY: `parent` is the first field of this `#[repr(C)]` struct and
                // `glib::Class<gst::Element>` is a transparent wrapper of `GstElementClass`.
                unsafe { &*(&self.parent as *const _ as *const glib::Class<gst::Element>) }
            }
        }
    };
}

pub(crate) use element_class_deref;
