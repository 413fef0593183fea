// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Depayloader: properties and action signals.

use super::*;

impl ObjectImpl for RtpBaseDepay2 {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                max_reorder_pspec(),
                glib::ParamSpecBoolean::builder("source-info")
                    .nick("RTP source information")
                    .blurb("Add RTP source information as buffer meta")
                    .default_value(false)
                    .mutable_playing()
                    .build(),
                crate::base::extensions::auto_header_extension_pspec(),
                crate::base::extensions::extensions_pspec(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb("Various statistics")
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn signals() -> &'static [glib::subclass::Signal] {
        static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> = LazyLock::new(|| {
            crate::base::extensions::signals::<RtpBaseDepay2, _>(
                |obj: &crate::base::depay::RtpBaseDepay2| &obj.imp().extensions,
                false,
            )
        });
        SIGNALS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        match pspec.name() {
            "max-reorder" => {
                let max_reorder = value.get::<i32>().unwrap_or(DEFAULT_MAX_REORDER as i32);
                settings.max_reorder = u32::try_from(max_reorder).unwrap_or(0);
                lock(&self.state)
                    .rtp_in
                    .set_max_reorder(settings.max_reorder);
            }
            "source-info" => {
                settings.source_info = value.get().unwrap_or(false);
                lock(&self.state)
                    .window
                    .set_source_info(settings.source_info);
            }
            "auto-header-extension" => settings.auto_header_extension = value.get().unwrap_or(true),
            other => gst::warning!(crate::CAT, imp = self, "No writable property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "max-reorder" => (lock(&self.settings).max_reorder as i32).to_value(),
            "source-info" => lock(&self.settings).source_info.to_value(),
            "auto-header-extension" => lock(&self.settings).auto_header_extension.to_value(),
            "extensions" => lock(&self.extensions).to_value_array().to_value(),
            "stats" => self.stats().to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        add_pads(&*self.obj(), &self.sink_pad, &self.src_pad);
    }
}
