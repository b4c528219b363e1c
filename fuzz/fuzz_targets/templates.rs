//! Message templates as tenants write them, filled with values as users supply them
//! (names, places, browsers). Filling never panics, and an HTML-escaped value never
//! brings a `<` of its own into the output.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (template, value) = text.split_once('\u{0}').unwrap_or((&text, "<b>"));
    let mut values = BTreeMap::new();
    values.insert("code", value.to_owned());
    values.insert("user", value.to_owned());
    let plain = countersign_core::delivery::providers::fill(template, &values, countersign_core::delivery::providers::no_escape);
    let _ = plain;
    let template_lt = template.matches('<').count();
    let html = countersign_core::delivery::providers::fill(template, &values, countersign_core::delivery::providers::html_escape);
    assert!(html.matches('<').count() <= template_lt, "an escaped value added a '<'");
});
