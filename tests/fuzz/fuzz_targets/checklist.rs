//! Any bytes as a checklist file: reading, deserialising and planning must return a
//! plan or diagnostics, never panic, overflow the stack or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("golive-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("checklist.yaml");
    if std::fs::write(&path, data).is_ok() {
        let _ = golive::plan::plan_file(&path);
    }
});
