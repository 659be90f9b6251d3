//! How long personalizing will take with a given generator, before starting: the job's own tuning and
//! inversion steps are timed on the device on one face, and the job's work is counted in them (every
//! anchor step, every tuned photo and step). BENCHMARKS.md compares the estimate with measured runs.

use std::time::Instant;

use burn::tensor::{Device, Tensor};

use burn::module::Module;

use super::invert::{InversionSettings, invert};
use super::job::Budget;
use super::loss::{IDENTITY_EVERY, ReconstructionLoss};
use super::tune::{Tuner, TuningSettings};
use crate::generator::{FACE_SIZE, FaceGenerator, ModelSource};

/// A time estimate for one personalize job.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// The model's name and resolution.
    pub model: String,
    /// Its output side in pixels.
    pub resolution: usize,
    /// Seconds per face per tuning step at the job's batch (forward, loss, backward, update), from the timings.
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
/// plain device; the timing runs on its autodiff form). Loads the model and the loss networks, then times
/// the job's own code on random faces: tuning steps of one and of two faces without, and of one face with,
/// the sampled identity term (after a warm-up step), and inversions of one and two steps of the budget's
/// starts. That costs about a dozen face-steps (about a minute for a 1024 px StyleGAN2 on 2 CPU cores).
pub fn estimate(model: &ModelSource, photos: usize, budget: &Budget, memory_bytes: f64, device: &Device) -> anyhow::Result<Estimate> {
    let device = device.clone().autodiff();
    let generator = model.load(&device)?;
    let loss = ReconstructionLoss::load(&device)?;
    let target = Tensor::<4>::full([1, 3, FACE_SIZE, FACE_SIZE], 0.5, &device);
    let anchors = generator.random_latents(0, 2).detach();
    let timed = |tuner: &mut Tuner| {
        let started = Instant::now();
        tuner.step(&loss);
        started.elapsed().as_secs_f64()
    };
    let tuner = |batch: usize, first_step: usize| {
        let settings = TuningSettings { batch, steps: usize::MAX, patience: usize::MAX, ..budget.tuning.clone() };
        let rows = anchors.clone().narrow(0, 0, batch);
        Tuner::new(generator.clone(), rows, target.clone().repeat_dim(0, batch), &settings, 0, first_step)
    };
    let mut plain = tuner(1, 0);
    plain.step(&loss);
    let plain_seconds = timed(&mut plain);
    // A step of two photos: what each further photo in a batch adds (the optimizer's update does not grow).
    let per_further_photo = (timed(&mut tuner(2, 0)) - plain_seconds).max(plain_seconds / 4.0);
    let identity_seconds = timed(&mut tuner(1, IDENTITY_EVERY - 1));
    // An inversion also draws its starts and scores them at the end: the step is the difference between a
    // two-step and a one-step run.
    let frozen = generator.clone().freeze();
    let inversion = |steps: usize| {
        let started = Instant::now();
        invert(&frozen, &loss, target.clone(), &InversionSettings { steps, ..budget.inversion.clone() }, 0);
        started.elapsed().as_secs_f64()
    };
    let one = inversion(1);
    let inversion_step = (inversion(2) - one).max(one / 3.0);

    let every = IDENTITY_EVERY as f64;
    let identity_extra = (identity_seconds - plain_seconds).max(0.0) / every;
    let starts = budget.inversion.starts.max(1) as f64;
    let batch = generator.tuning_batch(budget.tuning.batch, memory_bytes);
    let faces = batch.min(photos.max(1)) as f64;
    let step = plain_seconds + per_further_photo * (faces - 1.0) + identity_extra * faces;
    Ok(Estimate {
        model: generator.name(),
        resolution: generator.resolution(),
        face_step_seconds: step / faces,
        batch,
        anchors_seconds: (photos * budget.inversion.steps) as f64 * (inversion_step + starts * identity_extra),
        tuning_seconds: step * budget.tuning.steps as f64,
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
