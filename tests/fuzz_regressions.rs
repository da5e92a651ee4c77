//! Replays every input the fuzz targets (tests/fuzz) ever crashed on, plus hand-written
//! hostile inputs, through the same entry points: each must end in a plan or diagnostics,
//! never a panic. A new crash found by `bash ci/fuzz.sh` is copied into
//! `tests/fuzz/regressions/<target>/` and so stays tested in every `cargo test`.

use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/regressions")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_file())
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).expect("read regression input"),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Hostile shapes every front end must survive, whatever the fuzzer has found so far.
fn hostile() -> Vec<(String, Vec<u8>)> {
    vec![
        ("empty".into(), Vec::new()),
        ("nul".into(), vec![0; 64]),
        ("not utf-8".into(), vec![0xff, 0xfe, b'a', 0x80]),
        (
            "bom".into(),
            b"\xef\xbb\xbfsystem: x\nphases: []\n".to_vec(),
        ),
        ("tab".into(), b"system:\t[\n".to_vec()),
        ("anchor loop".into(), b"a: &a [*a]\n".to_vec()),
        (
            "alias bomb".into(),
            b"a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: &d [*c, *c]\nphases: [*d]\n"
                .to_vec(),
        ),
        ("deep".into(), "[".repeat(400_000).into_bytes()),
        ("deep maps".into(), "a:\n ".repeat(50_000).into_bytes()),
    ]
}

fn replay(target: &str, run: impl Fn(&[u8])) {
    for (name, data) in inputs(target).into_iter().chain(hostile()) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&data)));
        assert!(outcome.is_ok(), "{target}: input `{name}` panicked");
    }
}

fn as_file(data: &[u8], name: &str, f: impl Fn(&Path)) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, data).expect("write input");
    f(&path);
}

#[test]
fn checklist_inputs_that_once_crashed_are_diagnosed() {
    replay("checklist", |data| {
        as_file(data, "checklist.yaml", |p| {
            let _ = golive::plan::plan_file(p);
        })
    });
}

#[test]
fn scenario_inputs_that_once_crashed_are_diagnosed() {
    replay("scenario", |data| {
        as_file(data, "scenario.yaml", |p| {
            let _ = golive::plan::plan_scenario(p, None);
        })
    });
}

#[test]
fn expression_inputs_that_once_crashed_are_diagnosed() {
    replay("expression", |data| {
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = golive::expr::parse(text);
        }
    });
}
