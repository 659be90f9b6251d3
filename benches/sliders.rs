//! Slider frame latency (issue 5): a scripted drag of the yaw slider across its range, then of the smile
//! slider, on a personalized project of the default model. Reported per frame kind, p50 and p95:
//! - "set" frames: the organized coordinate set and the face rendered (what the window shows at once);
//! - "refine" frames: one gradient step through the estimators, identity and P_beta terms, and the render;
//! - a whole request (set + the default 4 refinement steps).
//!
//!     cargo bench --bench sliders     # MYSTYLE_BENCH_PROJECT=ana.mystyle to use a project of yours
//!
//! Without MYSTYLE_BENCH_PROJECT, a project is personalized once from the openpeople P003 fixtures with a
//! short budget and kept under target/. Each backend runs in its own process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use burn::tensor::Device;
use mystyle::backend::{self, BackendChoice, BackendKind, ComputeBackend};
use mystyle::face::detect::FaceDetector;
use mystyle::photoset::aligned_faces;
use mystyle::prior::edit::{Base, Editor, Targets};
use mystyle::prior::job::{Budget, PersonalizeEvent, PersonalizeInput, PersonalizeJob};
use mystyle::prior::organize::Attribute;

fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn make_project(project: &Path) {
    if project.join("controls.json").exists() {
        return;
    }
    eprintln!("personalizing a bench project into {} ...", project.display());
    let detector = FaceDetector::load(&Device::flex()).expect("detector");
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/openpeople/P003"));
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir).expect("fixtures").filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    let photos = aligned_faces(&paths, &detector, 64);
    let budget = Budget::short(40, 160, 6);
    let input = PersonalizeInput { photos, project: project.to_path_buf(), budget, resume: false, seed: 5, model: mystyle::generator::ModelSource::DefaultDcgan, memory_budget_bytes: mystyle::prior::job::TUNING_MEMORY_BYTES, mirror_profiles: false };
    let job = PersonalizeJob::spawn(input, Device::flex(), || {});
    while let Some(event) = job.wait() {
        if let PersonalizeEvent::Failed(m) = event {
            panic!("personalizing the bench project failed: {m}");
        }
    }
}

/// The drag in this process: prints "key value" lines.
fn run(backend: &ComputeBackend, project: &Path, positions: usize) {
    let device = backend.device.clone().autodiff();
    let editor = Editor::open(project, &device).expect("editor");
    let base = editor.base_latent(&Base::Mean).expect("base");
    // Warm-up (first use allocates and, on wgpu, compiles shaders).
    let _ = editor.edit(&base, &Targets::default().with(Attribute::Yaw, 0.0), |_| std::ops::ControlFlow::Continue(()));
    let (mut set, mut refine, mut whole) = (Vec::new(), Vec::new(), Vec::new());
    for attribute in [Attribute::Yaw, Attribute::Smile] {
        let Some(slider) = editor.controls().slider(attribute) else { continue };
        let (lo, hi) = slider.calibration.range;
        for i in 0..positions {
            let value = lo + (hi - lo) * i as f32 / (positions - 1).max(1) as f32;
            let started = Instant::now();
            let mut last = started;
            editor
                .edit(&base, &Targets::default().with(attribute, value), |frame| {
                    let now = Instant::now();
                    let ms = (now - last).as_secs_f64() * 1e3;
                    if frame.step == 0 { set.push(ms) } else { refine.push(ms) }
                    last = now;
                    std::ops::ControlFlow::Continue(())
                })
                .expect("edit");
            whole.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    for (name, v) in [("set", set), ("refine", refine), ("request", whole)] {
        println!("{name}_n {}\n{name}_p50 {:.1}\n{name}_p95 {:.1}", v.len(), quantile(v.clone(), 0.5), quantile(v, 0.95));
    }
}

fn main() {
    let project = std::env::var_os("MYSTYLE_BENCH_PROJECT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-sliders.mystyle"));
    if let Ok(choice) = std::env::var("MYSTYLE_BENCH_BACKEND") {
        let backend = backend::select(if choice == "wgpu" { BackendChoice::Wgpu } else { BackendChoice::Cpu });
        let positions = std::env::var("MYSTYLE_BENCH_POSITIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(15);
        return run(&backend, &project, positions);
    }
    make_project(&project);
    let me = std::env::current_exe().expect("own path");
    let child = |choice: &str, positions: usize| {
        eprintln!("burn {choice}: {positions} slider positions per attribute ...");
        let out = Command::new(&me)
            .env("MYSTYLE_BENCH_BACKEND", choice)
            .env("MYSTYLE_BENCH_POSITIONS", positions.to_string())
            .env("MYSTYLE_BENCH_PROJECT", &project)
            .output()
            .expect("run the benchmark process");
        if !out.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once(' ').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect::<Vec<_>>()
    };
    let mut rows = vec![(format!("burn {}", ComputeBackend::cpu().describe()), child("cpu", 15))];
    let wgpu = backend::select(BackendChoice::Wgpu);
    match &wgpu.kind {
        BackendKind::Wgpu(_) => rows.push((format!("burn {}", wgpu.describe()), child("wgpu", 3))),
        BackendKind::Cpu => eprintln!("wgpu skipped: {}", wgpu.notice.clone().unwrap_or_default()),
    }
    let get = |v: &[(String, String)], k: &str| v.iter().find(|(key, _)| key == k).map_or("n/a".to_string(), |(_, x)| x.clone());
    println!("\nSlider frame latency, default model (yaw then smile dragged across their ranges), ms");
    println!("| implementation | set frames (n) | set p50 | set p95 | refine frames (n) | refine p50 | refine p95 | request p50 | request p95 |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (label, v) in &rows {
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} | {} | {} |",
            get(v, "set_n"),
            get(v, "set_p50"),
            get(v, "set_p95"),
            get(v, "refine_n"),
            get(v, "refine_p50"),
            get(v, "refine_p95"),
            get(v, "request_p50"),
            get(v, "request_p95")
        );
    }
}
