//! Per-photo cost of import -> detect -> align -> measure, for a 12-megapixel and a 50-megapixel JPEG,
//! with each run's peak memory: burn on the CPU backend and on wgpu, side by side with the same networks
//! run by onnxruntime in Python (tools/bench_face_ort.py, run from here when python3 has onnxruntime and
//! the ONNX folder from tools/build_face_models.py exists).
//!
//!     cargo bench --bench face_pipeline        # MYSTYLE_BENCH_ITERS=3 by default
//!
//! Each configuration runs in its own process, so its peak resident memory (VmHWM) is its own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use image::{Rgb, RgbImage, imageops};
use mystyle::attributes::AttributeModels;
use mystyle::backend::{self, BackendChoice, BackendKind, ComputeBackend};
use mystyle::face::align::align;
use mystyle::face::detect::FaceDetector;
use mystyle::imaging::load::load_photo;
use mystyle::photoset::ALIGNED_SIZE;

const STAGES: [&str; 5] = ["decode", "detect", "align", "attributes", "total"];

/// Writes the two test photos: a face pasted off-centre on a grey gradient.
fn make_photos(dir: &Path) -> Vec<PathBuf> {
    let face = image::open(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/openpeople/P001/studio_portrait.jpg"))
        .expect("fixture")
        .to_rgb8();
    [("photo_12mp.jpg", 4000u32, 3000u32, 1200u32), ("photo_50mp.jpg", 8688, 5792, 2400)]
        .into_iter()
        .map(|(name, w, h, side)| {
            let path = dir.join(name);
            if !path.exists() {
                let mut canvas = RgbImage::from_fn(w, h, |x, y| Rgb([(90 + x * 60 / w) as u8, (100 + y * 40 / h) as u8, 110]));
                let big = imageops::resize(&face, side, side, imageops::FilterType::Lanczos3);
                imageops::overlay(&mut canvas, &big, (w as f64 * 0.6) as i64, (h as f64 * 0.2) as i64);
                canvas.save(&path).expect("write test photo");
            }
            path
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// One configuration in this process: prints "stage median_ms" lines and the peak memory.
fn run_single(photo: &Path, backend: &ComputeBackend, iters: usize) {
    let detector = FaceDetector::load(&backend.device).expect("detector");
    let models = AttributeModels::load(&backend.device).expect("attribute networks");
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); STAGES.len()];
    for i in 0..=iters {
        let t0 = Instant::now();
        let decoded = load_photo(photo).expect("photo");
        let t1 = Instant::now();
        let faces = detector.detect(&decoded.image);
        let t2 = Instant::now();
        let face = faces.first().expect("a face");
        let points = face.points();
        let aligned = align(&decoded.image, &points, ALIGNED_SIZE);
        let inv = aligned.to_photo.inverse().expect("invertible");
        let t3 = Instant::now();
        let attributes = models.measure(&aligned.image, &points.map(|p| inv.apply(p)));
        let t4 = Instant::now();
        assert!(attributes.age.is_finite());
        if i > 0 {
            // the first pass warms caches (and compiles kernels on wgpu)
            for (k, d) in [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0].into_iter().enumerate() {
                times[k].push(d.as_secs_f64() * 1e3);
            }
        }
    }
    for (stage, t) in STAGES.iter().zip(times) {
        println!("{stage} {:.1}", median(t));
    }
    println!("peak_rss_mb {:.0}", peak_rss_mb());
}

struct Row {
    implementation: String,
    photo: String,
    values: Vec<(String, f64)>,
}

fn parse(implementation: &str, photo: &str, text: &str) -> Row {
    let values = text
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect();
    Row { implementation: implementation.into(), photo: photo.into(), values }
}

fn main() {
    let iters: usize = std::env::var("MYSTYLE_BENCH_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    if let Ok(photo) = std::env::var("MYSTYLE_BENCH_PHOTO") {
        let choice = if std::env::var("MYSTYLE_BENCH_BACKEND").as_deref() == Ok("wgpu") { BackendChoice::Wgpu } else { BackendChoice::Cpu };
        return run_single(Path::new(&photo), &backend::select(choice), iters);
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-photos");
    std::fs::create_dir_all(&dir).expect("bench folder");
    let photos = make_photos(&dir);
    let me = std::env::current_exe().expect("own path");
    let wgpu = backend::select(BackendChoice::Wgpu);
    let mut rows = Vec::new();
    for photo in &photos {
        let name = photo.file_name().unwrap().to_string_lossy().into_owned();
        let mut configs = vec![("cpu", ComputeBackend::cpu().describe(), iters)];
        match &wgpu.kind {
            BackendKind::Wgpu(_) => configs.push(("wgpu", wgpu.describe(), 1)),
            BackendKind::Cpu => eprintln!("wgpu skipped: {}", wgpu.notice.clone().unwrap_or_default()),
        }
        for (choice, label, n) in configs {
            eprintln!("burn {label}: {name} ...");
            let out = Command::new(&me)
                .env("MYSTYLE_BENCH_PHOTO", photo)
                .env("MYSTYLE_BENCH_BACKEND", choice)
                .env("MYSTYLE_BENCH_ITERS", n.to_string())
                .output()
                .expect("run the benchmark process");
            rows.push(parse(&format!("burn {label}"), &name, &String::from_utf8_lossy(&out.stdout)));
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/bench_face_ort.py");
        match Command::new("python3").arg(script).arg("--photo").arg(photo).args(["--iters", &iters.to_string()]).output() {
            Ok(out) if out.status.success() => {
                let mut text = String::new();
                let mut label = String::from("onnxruntime");
                for v in String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()) {
                    label = v["impl"].as_str().unwrap_or("onnxruntime").to_string();
                    let value = v.get("median_ms").or(v.get("value")).and_then(|x| x.as_f64()).unwrap_or(f64::NAN);
                    text.push_str(&format!("{} {value}\n", v["stage"].as_str().unwrap_or("?")));
                }
                rows.push(parse(&label, &name, &text));
            }
            Ok(out) => eprintln!("onnxruntime reference skipped: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")),
            Err(e) => eprintln!("onnxruntime reference skipped: {e}"),
        }
    }
    println!("\nFace pipeline per photo (median ms over {iters} runs after a warm-up; wgpu: 1 run), peak memory of the process");
    println!("| implementation | photo | decode | detect | align | attributes | total | peak RSS MB | total vs onnxruntime |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for row in &rows {
        let get = |k: &str| row.values.iter().find(|(n, _)| n == k).map_or(f64::NAN, |(_, v)| *v);
        let reference = rows
            .iter()
            .find(|r| r.photo == row.photo && r.implementation.starts_with("onnxruntime"))
            .and_then(|r| r.values.iter().find(|(n, _)| n == "total").map(|(_, v)| *v));
        let ratio = reference.map_or("n/a".into(), |r| format!("{:.2}x", get("total") / r));
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} | {} |",
            row.implementation,
            row.photo,
            get("decode"),
            get("detect"),
            get("align"),
            get("attributes"),
            get("total"),
            get("peak_rss_mb"),
            ratio
        );
    }
}
