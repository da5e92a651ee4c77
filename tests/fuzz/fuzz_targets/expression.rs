//! Any text as a criterion or expectation (`p95 < 250ms`, `body.a[0] == "x"`): parsing
//! returns a comparison or an error, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = golive::expr::parse(text);
    }
});
