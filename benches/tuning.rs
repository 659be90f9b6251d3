//! Cost of personalization: tuning throughput (photos per second at batch 8) and per-step time on 20 faces,
//! memory along a long run (it must plateau), and the wall time of the whole Fast preset (anchors, then
//! tuning): burn on the CPU backend and on wgpu, side by side with the same tuning loop in PyTorch on the
//! CPU (tools/bench_tuning_torch.py, run from here when python3 has torch and the ONNX folder from
//! tools/build_face_models.py exists).
//!
//!     cargo bench --bench tuning        # MYSTYLE_BENCH_STEPS=300 (the Fast preset's tuning steps)
//!     MYSTYLE_BENCH_MODEL=ffhq.pt MYSTYLE_BENCH_STEPS=8 cargo bench --bench tuning
//!                                       # tuning steps of a StyleGAN2 checkpoint: step time, memory
//!
//! Each configuration runs in its own process. The faces are 20 openpeople P006 fixtures, aligned; the
//! latents are fixed normal vectors (the cost of a step does not depend on them).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use burn::tensor::{Tensor, TensorData};
use image::RgbImage;
use mystyle::attributes::image_tensor;
use mystyle::backend::{self, BackendChoice, BackendKind, ComputeBackend};
use mystyle::face::detect::FaceDetector;
use mystyle::photoset::aligned_faces;
use mystyle::generator::latent::normal_latents;
use mystyle::generator::ModelSource;
use mystyle::generator::FaceGenerator;
use mystyle::prior::job::{Budget, PersonalizeEvent, PersonalizeInput, PersonalizeJob, TUNING_MEMORY_BYTES};
use mystyle::prior::loss::ReconstructionLoss;
use mystyle::prior::tune::{Tuner, TuningSettings};
use mystyle::project::Preset;

const PHOTOS: usize = 20;
const BATCH: usize = 8;

fn faces(backend: &ComputeBackend) -> Vec<RgbImage> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/openpeople/P006"));
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir).expect("fixtures").filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    let detector = FaceDetector::load(&backend.device).expect("detector");
    let mut faces = aligned_faces(&paths, &detector, 64);
    faces.truncate(PHOTOS);
    faces
}

fn rss_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Tuning steps in this process: prints "key value" lines.
fn run_steps(backend: &ComputeBackend, steps: usize) {
    let device = backend.device.clone().autodiff();
    let faces = faces(backend);
    let n = faces.len();
    let photos = Tensor::cat(faces.iter().map(|f| image_tensor(f, &device)).collect(), 0);
    let model = model_source();
    let generator = model.load(&device).expect("generator");
    let anchors = if model == ModelSource::DefaultDcgan {
        Tensor::<2>::from_data(TensorData::new(normal_latents(0, n, 100), [n, 100]), &device)
    } else {
        generator.random_latents(0, n)
    };
    let batch = generator.tuning_batch(BATCH, TUNING_MEMORY_BYTES);
    let loss = ReconstructionLoss::load(&device).expect("loss networks");
    let settings = TuningSettings { steps: usize::MAX, batch, learning_rate: 1e-3, patience: usize::MAX, ..Default::default() };
    let mut tuner = Tuner::new(generator, anchors, photos, &settings, 1, 0);
    for _ in 0..3 {
        tuner.step(&loss);
    }
    let (mut times, mut rss) = (Vec::new(), Vec::new());
    let started = Instant::now();
    let first = tuner.step(&loss).loss;
    let mut last = first;
    for i in 1..=steps {
        let t = Instant::now();
        last = tuner.step(&loss).loss;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        if i % (steps / 4).max(1) == 0 {
            rss.push(format!("{i}:{:.0}", rss_mb("VmRSS:")));
        }
    }
    let wall = started.elapsed().as_secs_f64();
    // Steps with the sampled identity term cost more: the mean is the throughput.
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!("photos {n}\nsteps {steps}\nmean_step_ms {mean:.1}\nmedian_step_ms {:.1}\nmax_step_ms {:.1}", quantile(times.clone(), 0.5), quantile(times, 1.0));
    println!("photos_per_s {:.2}\nwall_s {wall:.1}\nfirst_loss {first:.4}\nlast_loss {last:.4}\nbatch {batch}", batch as f64 / (mean / 1e3));
    println!("rss_by_step {}\npeak_rss_mb {:.0}", rss.join(","), rss_mb("VmHWM:"));
}

/// The whole Fast preset (anchors and tuning) through the personalize job, in this process.
fn run_fast_preset(backend: &ComputeBackend) {
    let faces = faces(backend);
    let project = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-fast.mystyle");
    let _ = std::fs::remove_dir_all(&project);
    let input = PersonalizeInput { photos: faces, project, budget: Budget::for_preset(Preset::Fast), resume: false, seed: 1, model: mystyle::generator::ModelSource::DefaultDcgan, memory_budget_bytes: mystyle::prior::job::TUNING_MEMORY_BYTES, mirror_profiles: false };
    let started = Instant::now();
    let job = PersonalizeJob::spawn(input, backend.device.clone(), || {});
    let mut anchors_s = f64::NAN;
    while let Some(event) = job.wait() {
        match event {
            PersonalizeEvent::Stage("tuning") => anchors_s = started.elapsed().as_secs_f64(),
            PersonalizeEvent::Finished { steps, loss } => {
                println!("fast_anchors_s {anchors_s:.1}\nfast_wall_s {:.1}\nfast_steps {steps}\nfast_loss {loss:.4}", started.elapsed().as_secs_f64());
                println!("fast_peak_rss_mb {:.0}", rss_mb("VmHWM:"));
            }
            PersonalizeEvent::Failed(m) => panic!("the job failed: {m}"),
            _ => {}
        }
    }
}

/// The generator tuned: the embedded DCGAN, or the StyleGAN2 checkpoint in MYSTYLE_BENCH_MODEL.
fn model_source() -> ModelSource {
    std::env::var_os("MYSTYLE_BENCH_MODEL").map_or(ModelSource::DefaultDcgan, |p| ModelSource::checkpoint(Path::new(&p)))
}

type Values = Vec<(String, String)>;

fn parse(text: &str) -> Values {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.to_string()))
        })
        .collect()
}

fn main() {
    let steps: usize = std::env::var("MYSTYLE_BENCH_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    if let Ok(mode) = std::env::var("MYSTYLE_BENCH_MODE") {
        let choice = if std::env::var("MYSTYLE_BENCH_BACKEND").as_deref() == Ok("wgpu") { BackendChoice::Wgpu } else { BackendChoice::Cpu };
        let backend = backend::select(choice);
        return if mode == "fast" { run_fast_preset(&backend) } else { run_steps(&backend, steps) };
    }
    let me = std::env::current_exe().expect("own path");
    let run = |mode: &str, choice: &str, steps: usize| {
        eprintln!("burn {choice}: {mode} ({steps} steps) ...");
        let out = Command::new(&me)
            .env("MYSTYLE_BENCH_MODE", mode)
            .env("MYSTYLE_BENCH_BACKEND", choice)
            .env("MYSTYLE_BENCH_STEPS", steps.to_string())
            .output()
            .expect("run the benchmark process");
        if !out.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
        parse(&String::from_utf8_lossy(&out.stdout))
    };
    let mut rows: Vec<(String, Values)> = Vec::new();
    if model_source() != ModelSource::DefaultDcgan {
        // A user's StyleGAN2: its tuning steps on the CPU only (memory and time per step at the chosen batch).
        let v = run("steps", "cpu", steps);
        println!("\n{} tuning on {PHOTOS} faces (batch {} after the memory limit)", model_source(), v.iter().find(|(k, _)| k == "batch").map_or("?", |(_, b)| b));
        for (k, x) in &v {
            println!("{k}: {x}");
        }
        return;
    }
    let mut cpu = run("steps", "cpu", steps);
    cpu.extend(run("fast", "cpu", 0));
    rows.push((format!("burn {}", ComputeBackend::cpu().describe()), cpu));
    let wgpu = backend::select(BackendChoice::Wgpu);
    match &wgpu.kind {
        // A software adapter is far slower; a few steps give its per-step cost.
        BackendKind::Wgpu(_) => rows.push((format!("burn {}", wgpu.describe()), run("steps", "wgpu", 12))),
        BackendKind::Cpu => eprintln!("wgpu skipped: {}", wgpu.notice.clone().unwrap_or_default()),
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/bench_tuning_torch.py");
    let faces_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-tuning-faces");
    std::fs::create_dir_all(&faces_dir).expect("faces folder");
    for (i, face) in faces(&ComputeBackend::cpu()).iter().enumerate() {
        face.save(faces_dir.join(format!("{i:03}.png"))).expect("write face");
    }
    match Command::new("python3").arg(script).args(["--steps", &steps.to_string(), "--photos"]).arg(&faces_dir).output() {
        Ok(out) if out.status.success() => {
            let mut values = Values::new();
            let mut label = String::from("PyTorch CPU");
            for v in String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()) {
                label = v["impl"].as_str().unwrap_or("PyTorch CPU").to_string();
                for (k, x) in v.as_object().into_iter().flatten() {
                    let shown = match x {
                        serde_json::Value::Object(map) => map.iter().map(|(s, r)| format!("{s}:{r}")).collect::<Vec<_>>().join(","),
                        other => other.to_string(),
                    };
                    values.push((if k == "rss_mb_by_step" { "rss_by_step".into() } else { k.clone() }, shown));
                }
            }
            rows.push((label, values));
        }
        Ok(out) => eprintln!("PyTorch reference skipped: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")),
        Err(e) => eprintln!("PyTorch reference skipped: {e}"),
    }
    let get = |values: &Values, key: &str| values.iter().find(|(k, _)| k == key).map_or("n/a".to_string(), |(_, v)| v.clone());
    let reference = rows.iter().find(|(l, _)| l.starts_with("pytorch") || l.starts_with("PyTorch")).map(|(_, v)| get(v, "mean_step_ms"));
    println!("\nTuning on {PHOTOS} faces, batch {BATCH} (median over the timed steps after 3 warm-up steps)");
    println!("| implementation | steps timed | mean step ms | median step ms | slowest step ms | photos/s | vs PyTorch (mean) | RSS MB by step | peak RSS MB | Fast preset wall s (anchors s) |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (label, v) in &rows {
        let ratio = match (get(v, "mean_step_ms").parse::<f64>(), reference.as_deref().map(str::parse::<f64>)) {
            (Ok(m), Some(Ok(r))) => format!("{:.2}x", m / r),
            _ => "n/a".into(),
        };
        println!(
            "| {label} | {} | {} | {} | {} | {} | {ratio} | {} | {} | {} ({}) |",
            get(v, "steps"),
            get(v, "mean_step_ms"),
            get(v, "median_step_ms"),
            get(v, "max_step_ms"),
            get(v, "photos_per_s"),
            get(v, "rss_by_step"),
            get(v, "peak_rss_mb"),
            get(v, "fast_wall_s"),
            get(v, "fast_anchors_s")
        );
    }
}
