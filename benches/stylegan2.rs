//! StyleGAN2 config-f latency at 256 and 1024 px, batch 1, from w with fixed noise: forward, and forward +
//! backward (loss = mean of the squared image, gradients to every weight and to w), on burn's CPU
//! backend and on wgpu (any adapter), side by side with the same random-weight network in PyTorch on the
//! CPU (tools/bench_stylegan2_torch.py, stylegan2-torch 1.3.0; run when python3 with torch is
//! installed, or with MYSTYLE_PYTHON pointing at such an interpreter).
//!
//!     cargo bench --bench stylegan2     # MYSTYLE_BENCH_ITERS=3 and MYSTYLE_SG2_RESOLUTIONS=256,1024 by default
//!
//! Each figure is the median of the iterations after one warm-up, including the read-back to the host.

use std::process::Command;
use std::time::Instant;

use burn::tensor::{Device, Tensor};
use mystyle::backend::{self, BackendChoice, BackendKind, ComputeBackend};
use mystyle::generator::stylegan2::{Latents, Noise, StyleGan2Config};

struct Row {
    implementation: String,
    resolution: usize,
    pass: &'static str,
    median_ms: f64,
    min_ms: f64,
}

fn median_min(mut times: Vec<f64>) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[0])
}

fn time_burn(name: &str, device: &Device, resolution: usize, iters: usize) -> Vec<Row> {
    let net = StyleGan2Config::new().with_resolution(resolution).init(device);
    let w = net.mapping(Tensor::random([1, 512], burn::tensor::Distribution::Normal(0.0, 1.0), device));
    let forward = || net.forward(Latents::W(w.clone()), None, &Noise::Fixed).into_data();
    let autodiff = device.clone().autodiff();
    let trained = StyleGan2Config::new().with_resolution(resolution).init(&autodiff);
    let backward = || {
        let w = Tensor::<2>::from_data(w.clone().into_data(), &autodiff).require_grad();
        let image = trained.forward(Latents::W(w.clone()), None, &Noise::Fixed);
        let grads = image.powf_scalar(2.0).mean().backward();
        w.grad(&grads).map(|g| g.into_data())
    };
    let mut rows = Vec::new();
    for pass in ["forward", "forward+backward"] {
        let run = |p: &str| if p == "forward" { drop(forward()) } else { drop(backward()) };
        let warm = Instant::now();
        run(pass);
        eprintln!("{name} {resolution} px {pass}: warm-up {:.1} s", warm.elapsed().as_secs_f64());
        let times = (0..iters)
            .map(|_| {
                let start = Instant::now();
                run(pass);
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        let (median_ms, min_ms) = median_min(times);
        rows.push(Row { implementation: name.to_string(), resolution, pass, median_ms, min_ms });
    }
    rows
}

fn time_torch(resolutions: &[usize], iters: usize) -> Vec<Row> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/bench_stylegan2_torch.py");
    let python = std::env::var("MYSTYLE_PYTHON").unwrap_or_else(|_| "python3".into());
    let list = resolutions.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let output = match Command::new(&python).arg(script).args(["--resolutions", &list, "--iters", &iters.to_string()]).output() {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            eprintln!("PyTorch reference skipped: {}", String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or(""));
            return Vec::new();
        }
        Err(e) => {
            eprintln!("PyTorch reference skipped: {python}: {e}");
            return Vec::new();
        }
    };
    // Lines: `torch-cpu <resolution> <forward|forward+backward> median_ms=<x> min_ms=<y> params=<n>`.
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let parts: Vec<&str> = line.split_whitespace().collect();
            if parts.first() != Some(&"torch-cpu") || parts.len() < 5 {
                return None;
            }
            let value = |key: &str| parts.iter().find_map(|p| p.strip_prefix(key)).and_then(|v| v.parse::<f64>().ok());
            Some(Row {
                implementation: "PyTorch CPU (stylegan2-torch, 2 threads)".into(),
                resolution: parts[1].parse().ok()?,
                pass: if parts[2] == "forward" { "forward" } else { "forward+backward" },
                median_ms: value("median_ms=")?,
                min_ms: value("min_ms=")?,
            })
        })
        .collect()
}

fn main() {
    let iters = std::env::var("MYSTYLE_BENCH_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let resolutions: Vec<usize> = std::env::var("MYSTYLE_SG2_RESOLUTIONS")
        .unwrap_or_else(|_| "256,1024".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let cpu = ComputeBackend::cpu();
    let mut rows = Vec::new();
    for &r in &resolutions {
        rows.extend(time_burn(&cpu.describe(), &cpu.device, r, iters));
    }
    let gpu = backend::select(BackendChoice::Wgpu);
    match &gpu.kind {
        BackendKind::Wgpu(_) if std::env::var_os("MYSTYLE_BENCH_WGPU").is_some() => {
            for &r in &resolutions {
                rows.extend(time_burn(&gpu.describe(), &gpu.device, r, iters));
            }
        }
        BackendKind::Wgpu(_) => eprintln!("wgpu skipped: set MYSTYLE_BENCH_WGPU=1 (software Vulkan takes minutes per pass)"),
        BackendKind::Cpu => eprintln!("wgpu skipped: {}", gpu.notice.clone().unwrap_or_default()),
    }
    let torch = time_torch(&resolutions, iters);
    println!("\nStyleGAN2 config-f latency, batch 1, median of {iters} (ms)");
    println!("| implementation | resolution | pass | median ms | min ms | vs PyTorch CPU (median) |");
    println!("|---|---|---|---|---|---|");
    for row in rows.iter().chain(&torch) {
        let reference = torch.iter().find(|t| t.resolution == row.resolution && t.pass == row.pass).map(|t| t.median_ms);
        let ratio = reference.map_or("n/a".to_string(), |r| format!("{:.2}x", row.median_ms / r));
        println!("| {} | {} | {} | {:.0} | {:.0} | {} |", row.implementation, row.resolution, row.pass, row.median_ms, row.min_ms, ratio);
    }
}
