//! Any bytes as a load scenario file: planned alone, it must return a load plan or
//! diagnostics, never panic, overflow the stack or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("golive-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("scenario.yaml");
    if std::fs::write(&path, data).is_ok() {
        let _ = golive::plan::plan_scenario(&path, None);
    }
});
