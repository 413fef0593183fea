// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! [`rtp_header_extension!`](crate::rtp_header_extension): the GObject element type of an
//! [`ExtensionBehaviour`](super::ExtensionBehaviour), in one macro call.

/// Defines a header extension element from an
/// [`ExtensionBehaviour`](crate::hdrext::ExtensionBehaviour): a module `$module` holding the
/// GObject type `$wrapper` (GType name `$gtype`) and `register(plugin)`, which
/// registers the factory with rank MARGINAL so that `auto-header-extension`,
/// `request-extension` and webrtcbin find it by URI.
#[macro_export]
macro_rules! rtp_header_extension {
    ($module:ident, $wrapper:ident, $gtype:literal, $behaviour:ty) => {
        /// The element type and its registration.
        pub mod $module {
            use gst::glib;

            glib::wrapper! {
                /// The header extension element.
                pub struct $wrapper(ObjectSubclass<imp::Ext>)
                    @extends gst_rtp::RTPHeaderExtension, gst::Element, gst::Object;
            }

            /// The element's `read` and `write`, for our base classes to call directly.
            pub const DIRECT: $crate::hdrext::DirectCalls = $crate::hdrext::DirectCalls {
                read: imp::read_direct,
                write: imp::write_direct,
            };

            /// Registers the element and its custom meta.
            pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
                $crate::hdrext::register_meta(
                    <$behaviour as $crate::hdrext::ExtensionBehaviour>::FACTORY,
                );
                gst::Element::register(
                    Some(plugin),
                    <$behaviour as $crate::hdrext::ExtensionBehaviour>::FACTORY,
                    gst::Rank::MARGINAL,
                    <$wrapper as glib::prelude::StaticType>::static_type(),
                )
            }

            mod imp {
                use gst::glib;
                use gst::prelude::*;
                use gst::subclass::prelude::*;
                use gst_rtp::subclass::prelude::*;
                use rtp2_core::hdrext::HeaderExtensionFormat;

                use $crate::hdrext::{ExtensionBehaviour, ExtensionState};

                type B = $behaviour;

                #[derive(Default)]
                pub struct Ext(ExtensionState<B>);

                /// What the `read` vfunc does, called by our base classes without the
                /// GObject call (its checks and trampolines cost more than the read);
                /// `false` if `ext` is not this element.
                pub fn read_direct(
                    ext: &gst_rtp::RTPHeaderExtension,
                    data: &[u8],
                    output: &mut gst::BufferRef,
                ) -> bool {
                    let Some(ext) = ext.downcast_ref::<super::$wrapper>() else {
                        return false;
                    };
                    ext.imp().0.read(ext.upcast_ref(), data, output);
                    true
                }

                /// What the `write` vfunc does, likewise; `None` if `ext` is not this
                /// element.
                pub fn write_direct(
                    ext: &gst_rtp::RTPHeaderExtension,
                    input: &gst::BufferRef,
                    flags: gst_rtp::RTPHeaderExtensionFlags,
                    output: &gst::BufferRef,
                    data: &mut [u8],
                ) -> Option<usize> {
                    let ext = ext.downcast_ref::<super::$wrapper>()?;
                    Some(
                        ext.imp()
                            .0
                            .write(ext.upcast_ref(), input, flags, output, data),
                    )
                }

                #[glib::object_subclass]
                impl ObjectSubclass for Ext {
                    const NAME: &'static str = $gtype;
                    type Type = super::$wrapper;
                    type ParentType = gst_rtp::RTPHeaderExtension;
                }

                impl ObjectImpl for Ext {
                    fn properties() -> &'static [glib::ParamSpec] {
                        static PROPS: std::sync::OnceLock<Vec<glib::ParamSpec>> =
                            std::sync::OnceLock::new();
                        PROPS.get_or_init(|| {
                            let mut v = B::properties();
                            v.push($crate::hdrext::stats_pspec());
                            v
                        })
                    }

                    fn set_property(
                        &self,
                        _id: usize,
                        value: &glib::Value,
                        pspec: &glib::ParamSpec,
                    ) {
                        self.0
                            .behaviour
                            .lock()
                            .unwrap()
                            .set_property(pspec.name(), value);
                    }

                    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
                        if pspec.name() == "stats" {
                            return self.0.stats().to_value();
                        }
                        self.0.behaviour.lock().unwrap().property(pspec.name())
                    }
                }

                impl GstObjectImpl for Ext {}

                impl ElementImpl for Ext {
                    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
                        static META: std::sync::OnceLock<gst::subclass::ElementMetadata> =
                            std::sync::OnceLock::new();
                        Some(META.get_or_init(|| {
                            gst::subclass::ElementMetadata::with_additional(
                                B::LONG_NAME,
                                "Network/Extension/RTPHeader",
                                B::DESCRIPTION,
                                "gst-plugin-rtp2",
                                &[(
                                    "RTP-Header-Extension-URI",
                                    <B as ExtensionBehaviour>::Format::URI,
                                )],
                            )
                        }))
                    }
                }

                impl RTPHeaderExtensionImpl for Ext {
                    const URI: &'static str = <B as ExtensionBehaviour>::Format::URI;

                    fn supported_flags(&self) -> gst_rtp::RTPHeaderExtensionFlags {
                        self.0.supported_flags()
                    }

                    fn max_size(&self, _input: &gst::BufferRef) -> usize {
                        <B as ExtensionBehaviour>::Format::MAX_LEN
                    }

                    fn write(
                        &self,
                        input: &gst::BufferRef,
                        flags: gst_rtp::RTPHeaderExtensionFlags,
                        output: &gst::BufferRef,
                        data: &mut [u8],
                    ) -> Result<usize, gst::LoggableError> {
                        Ok(self
                            .0
                            .write(self.obj().upcast_ref(), input, flags, output, data))
                    }

                    fn read(
                        &self,
                        _flags: gst_rtp::RTPHeaderExtensionFlags,
                        data: &[u8],
                        output: &mut gst::BufferRef,
                    ) -> Result<(), gst::LoggableError> {
                        self.0.read(self.obj().upcast_ref(), data, output);
                        Ok(())
                    }
                }
            }
        }
    };
}
