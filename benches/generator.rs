//! Generator forward latency, batch 1 and 16: burn on the CPU backend (flex) and on wgpu (any adapter,
//! Mesa's software Vulkan included), side by side with the same network in PyTorch on the CPU
//! (tools/bench_torch.py, run from here when python3 with torch is installed).
//!
//!     cargo bench --bench generator            # MYSTYLE_BENCH_ITERS=30 by default
//!
//! Each figure is forward + read-back to the host (burn is lazy; PyTorch is synchronous), after warm-up.

use std::process::Command;
use std::time::Instant;

use burn::tensor::{Tensor, TensorData};
use mystyle::backend::{self, BackendChoice, BackendKind, ComputeBackend};
use mystyle::generator::latent::normal_latents;
use mystyle::generator::DcganRenderer;
use mystyle::generator::weights::default_dcgan;

#[derive(Clone)]
struct Row {
    implementation: String,
    batch: usize,
    median_ms: f64,
    p90_ms: f64,
}

fn time_burn(backend: &ComputeBackend, iters: usize) -> Vec<Row> {
    let (name, device) = (backend.describe(), &backend.device);
    let model = DcganRenderer::new(&default_dcgan(device).expect("embedded weights"), backend.parallel_parts());
    [1usize, 16]
        .into_iter()
        .map(|batch| {
            let z = Tensor::<2>::from_data(TensorData::new(normal_latents(0, batch, 100), [batch, 100]), device);
            let run = || model.forward(z.clone()).into_data();
            let warm = Instant::now();
            for _ in 0..3 {
                run();
            }
            eprintln!("{name} batch {batch}: warm-up {:.2} s", warm.elapsed().as_secs_f64());
            let n = if batch == 1 { iters } else { (iters / 3).max(5) };
            let mut times: Vec<f64> = (0..n)
                .map(|_| {
                    let start = Instant::now();
                    run();
                    start.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            times.sort_by(f64::total_cmp);
            Row { implementation: name.clone(), batch, median_ms: times[n / 2], p90_ms: times[(9 * (n - 1)) / 10] }
        })
        .collect()
}

fn time_torch(iters: usize) -> Vec<Row> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/bench_torch.py");
    let output = match Command::new("python3").arg(script).args(["--iters", &iters.to_string()]).output() {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            eprintln!("PyTorch reference skipped: {}", String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or(""));
            return Vec::new();
        }
        Err(e) => {
            eprintln!("PyTorch reference skipped: python3: {e}");
            return Vec::new();
        }
    };
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .map(|v| Row {
            implementation: format!("PyTorch {} CPU ({} threads)", v["version"].as_str().unwrap_or("?"), v["threads"]),
            batch: v["batch"].as_u64().unwrap_or(0) as usize,
            median_ms: v["median_ms"].as_f64().unwrap_or(f64::NAN),
            p90_ms: v["p90_ms"].as_f64().unwrap_or(f64::NAN),
        })
        .collect()
}

fn main() {
    let iters = std::env::var("MYSTYLE_BENCH_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let mut rows = time_burn(&ComputeBackend::cpu(), iters);
    let gpu = backend::select(BackendChoice::Wgpu);
    match &gpu.kind {
        BackendKind::Wgpu(_) => rows.extend(time_burn(&gpu, iters)),
        BackendKind::Cpu => eprintln!("wgpu skipped: {}", gpu.notice.unwrap_or_default()),
    }
    let torch = time_torch(iters);
    rows.extend(torch.iter().cloned());

    println!("\nDCGAN 64x64 forward latency (ms), {iters} iterations at batch 1");
    println!("| implementation | batch | median ms | p90 ms | per face ms | vs PyTorch CPU (median) |");
    println!("|---|---|---|---|---|---|");
    for row in &rows {
        let reference = torch.iter().find(|t| t.batch == row.batch).map(|t| t.median_ms);
        let ratio = reference.map_or("n/a".to_string(), |r| format!("{:.2}x", row.median_ms / r));
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {} |",
            row.implementation,
            row.batch,
            row.median_ms,
            row.p90_ms,
            row.median_ms / row.batch as f64,
            ratio
        );
    }
}
