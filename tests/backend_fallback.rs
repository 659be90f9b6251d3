//! With every graphics adapter hidden, asking for wgpu still produces faces, on the CPU backend, and says so.

mod common;

use std::process::{Command, Output};

/// Environment that hides all adapters from the Vulkan loader and from EGL/GL (glvnd), the two graphics
/// APIs wgpu uses on Linux: both are pointed at driver manifests that do not exist.
fn without_adapters(cmd: &mut Command) -> &mut Command {
    cmd.env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
        .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
        .env("__EGL_VENDOR_LIBRARY_FILENAMES", "/nonexistent/egl.json")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
}

fn run(cmd: &mut Command) -> Output {
    let output = cmd.output().unwrap();
    assert!(output.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

#[test]
fn forced_wgpu_without_adapters_falls_back_to_cpu_and_still_draws_faces() {
    let dir = common::scratch("backend_fallback");
    let (fallback, cpu) = (dir.join("fallback.png"), dir.join("cpu.png"));
    let exe = env!("CARGO_BIN_EXE_mystyle");
    let output = run(without_adapters(Command::new(exe).args(["--backend", "wgpu", "sample", "--count", "4", "--seed", "3", "--out"]).arg(&fallback)));
    let log = String::from_utf8_lossy(&output.stderr).to_string() + &String::from_utf8_lossy(&output.stdout);
    assert!(log.contains("wgpu unavailable"), "the fallback was not reported: {log}");
    assert!(log.contains("CPU (burn flex"), "the CPU backend was not named: {log}");

    run(Command::new(exe).args(["--backend", "cpu", "sample", "--count", "4", "--seed", "3", "--out"]).arg(&cpu));
    let (a, b) = (image::open(&fallback).unwrap().to_rgb8(), image::open(&cpu).unwrap().to_rgb8());
    assert_eq!(a.dimensions(), (134, 134));
    assert_eq!(a.as_raw(), b.as_raw(), "the fallback did not draw the CPU backend's faces");
    let (_, spread) = common::mean_std(a.as_raw().iter().map(|&v| v as f64));
    assert!(spread > 20.0, "the fallback image is nearly constant");
}

#[test]
fn version_reports_backend_and_adapters() {
    let exe = env!("CARGO_BIN_EXE_mystyle");
    let output = run(without_adapters(Command::new(exe).args(["--backend", "wgpu", "--version"])));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with(&format!("mystyle {}", env!("CARGO_PKG_VERSION"))), "{text}");
    assert!(text.contains("backend: CPU (burn flex"), "{text}");
    assert!(text.contains("wgpu adapters: none"), "{text}");
    assert!(text.contains("note: wgpu unavailable"), "{text}");
}
