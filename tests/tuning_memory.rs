//! Bad-inputs row 16: a long tuning run's memory plateaus. In a test binary of its own, so that the
//! process's resident memory is this run's alone.

use burn::tensor::{Device, Tensor, TensorData};
use mystyle::generator::latent::normal_latents;
use mystyle::generator::ModelSource;
use mystyle::prior::loss::ReconstructionLoss;
use mystyle::prior::tune::{Tuner, TuningSettings};

fn resident_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() / 1024.0
}

#[test]
fn row16_memory_plateaus_over_a_long_tuning_run() {
    let device = Device::flex().autodiff();
    let n = 12;
    let photos = Tensor::<4>::random([n, 3, 64, 64], burn::tensor::Distribution::Uniform(0.0, 1.0), &device);
    let anchors = Tensor::<2>::from_data(TensorData::new(normal_latents(5, n, 100), [n, 100]), &device);
    let loss = ReconstructionLoss::load(&device).unwrap();
    let settings = TuningSettings { steps: usize::MAX, batch: 8, learning_rate: 1e-3, patience: usize::MAX, ..Default::default() };
    let mut tuner = Tuner::new(ModelSource::DefaultDcgan.load(&device).unwrap(), anchors, photos, &settings, 2, 0);
    let mut resident = Vec::new();
    for step in 1..=240 {
        assert!(tuner.step(&loss).loss.is_finite());
        if step % 40 == 0 {
            resident.push(resident_mb());
        }
    }
    println!("resident MB every 40 steps: {resident:?}");
    // After the first 80 steps (allocator pools warm), the resident size moves up and down by a few tens of
    // MB as the allocator returns and takes pages; the last two samples may not lie more than 64 MB above
    // the two after warm-up (a leak of one batch's activations per step would add well over 1 GB).
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let growth = mean(&resident[4..]) - mean(&resident[1..3]);
    assert!(growth < 64.0, "memory grew {growth:.1} MB from steps 80-120 to 200-240: {resident:?}");
}
