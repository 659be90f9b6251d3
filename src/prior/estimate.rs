//! How long personalizing will take with a given generator, before starting: one training step on one
//! face (generator forward, reconstruction loss, backward) is timed on the device, and the job's work is
//! counted in such face-steps (every anchor start and step, every tuned photo and step). On the default
//! DCGAN this predicts the measured Fast preset within about 10% (BENCHMARKS.md).

use std::time::Instant;

use burn::tensor::{Device, Tensor};

use super::job::Budget;
use super::loss::ReconstructionLoss;
use crate::generator::{FACE_SIZE, FaceGenerator, ModelSource};

/// A time estimate for one personalize job.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// The model's name and resolution.
    pub model: String,
    /// Its output side in pixels.
    pub resolution: usize,
    /// Seconds per face per optimizer step (forward, loss and backward), as timed.
    pub face_step_seconds: f64,
    /// Photos tuned per step (after the memory limit).
    pub batch: usize,
    /// Seconds for the anchors (inverting every photo).
    pub anchors_seconds: f64,
    /// Seconds for tuning.
    pub tuning_seconds: f64,
}

impl Estimate {
    /// Both stages together.
    pub fn total_seconds(&self) -> f64 {
        self.anchors_seconds + self.tuning_seconds
    }

    /// "about 7 min (anchors 3 min, tuning 4 min; 0.08 s per face-step, batch 8)".
    pub fn describe(&self) -> String {
        format!(
            "estimated time {} (anchors {}, tuning {}; {:.2} s per face-step, batch {})",
            duration(self.total_seconds()),
            duration(self.anchors_seconds),
            duration(self.tuning_seconds),
            self.face_step_seconds,
            self.batch
        )
    }
}

/// A rounded human duration: "45 s", "7 min", "2.5 h".
pub fn duration(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else if seconds < 5400.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// Estimates personalizing `photos` photos with the generator of `model` and `budget` on `device` (the
/// plain device; the timing runs on its autodiff form). Loads the model and the loss networks.
pub fn estimate(model: &ModelSource, photos: usize, budget: &Budget, memory_bytes: f64, device: &Device) -> anyhow::Result<Estimate> {
    let device = device.clone().autodiff();
    let generator = model.load(&device)?.for_tuning();
    let loss = ReconstructionLoss::load(&device)?;
    let target = Tensor::<4>::full([1, 3, FACE_SIZE, FACE_SIZE], 0.5, &device);
    let mut best = f64::INFINITY;
    for seed in 0..2 {
        let latent = generator.random_latents(seed, 1).detach().require_grad();
        let started = Instant::now();
        let face = (generator.faces(latent) + 1.0) / 2.0;
        let total = loss.reconstruction(face, target.clone(), budget.tuning.weights.at_step(1)).mean();
        let _gradients = total.backward();
        best = best.min(started.elapsed().as_secs_f64());
    }
    let batch = generator.tuning_batch(budget.tuning.batch, memory_bytes);
    let inversion = &budget.inversion;
    Ok(Estimate {
        model: generator.name(),
        resolution: generator.resolution(),
        face_step_seconds: best,
        batch,
        anchors_seconds: best * (photos * inversion.starts.max(1) * inversion.steps) as f64,
        tuning_seconds: best * (budget.tuning.steps * batch.min(photos.max(1))) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(42.4), "42 s");
        assert_eq!(duration(420.0), "7 min");
        assert_eq!(duration(9000.0), "2.5 h");
    }
}
