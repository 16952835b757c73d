//! Locating (and building) the example binaries that process tests run.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// `target/<profile>`, the directory holding this test's `deps/`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent() // deps
        .and_then(|d| d.parent())
        .expect("test binary in target/<profile>/deps")
        .to_path_buf()
}

/// The path of example `name`, next to this test's binary
/// (`target/<profile>/examples`). `cargo test --test X` does not build
/// examples, so the first call for each name builds it (a no-op when it is
/// up to date).
pub fn example(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let dir = profile_dir();
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|b| b == name) {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--quiet", "--example", name, "--manifest-path"])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
        if name.starts_with("async_") || name == "load" {
            cmd.args(["--features", "tokio"]);
        } else if name == "axum_chat" || name == "hyper_server" {
            cmd.args(["--features", "hyper"]);
        }
        if cfg!(feature = "rustls") {
            // As the tests were built: the examples' --tls-cert flags work.
            cmd.args(["--features", "rustls"]);
        }
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        if let Some(target) = dir.parent() {
            if target.join("CACHEDIR.TAG").exists() {
                cmd.env("CARGO_TARGET_DIR", target);
            }
        }
        match cmd.output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "building the {name} example failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("cannot run cargo: {e}"),
        }
        built.push(name.to_string());
    }
    let bin = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "no {name} example at {}", bin.display());
    bin
}
