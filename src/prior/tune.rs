//! Tuning (MyStyle): the generator's weights are fine-tuned so that each anchor reproduces its photo.
//! Batches of (anchor, photo) pairs, Adam, the reconstruction loss; batch norm keeps its stored statistics
//! (set when the DCGAN is built), so only the convolutions and the norms' scales and shifts move. Tuning
//! stops early when the loss has not improved for `patience` steps, or when `on_step` says so.

use std::ops::ControlFlow;

use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Tensor, TensorData};

use super::loss::PerceptualLoss;
use crate::generator::Dcgan64;
use crate::generator::latent::SplitMix64;

/// How tuning runs.
#[derive(Clone, Debug, PartialEq)]
pub struct TuningSettings {
    /// Most optimizer steps.
    pub steps: usize,
    /// Pairs per step.
    pub batch: usize,
    /// Adam learning rate (MyStyle: 3e-4).
    pub learning_rate: f64,
    /// Weight of the perceptual term against pixel MSE.
    pub perceptual_weight: f32,
    /// Stop when the smoothed loss has not improved by 1% for this many steps.
    pub patience: usize,
}

impl Default for TuningSettings {
    fn default() -> Self {
        Self { steps: 300, batch: 8, learning_rate: 3e-4, perceptual_weight: 0.5, patience: 60 }
    }
}

/// Progress of one step, for callbacks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TuningStep {
    /// Step number, from 1.
    pub step: usize,
    /// Mean loss of this step's batch.
    pub loss: f32,
}

/// A tuning run that advances one step at a time, so that a caller (the personalize job) can report,
/// checkpoint, roll back or stop between steps.
pub struct Tuner {
    /// The generator being tuned (on an autodiff device).
    pub generator: Dcgan64,
    optimizer: burn::optim::ModuleOptimizer,
    anchors: Tensor<2>,
    photos: Tensor<4>,
    rng: SplitMix64,
    /// The current learning rate (lowered after a rollback).
    pub learning_rate: f64,
    settings: TuningSettings,
    smoothed: f32,
    smoothed_before_step: f32,
    best: f32,
    since_best: usize,
    /// Steps taken so far.
    pub step: usize,
}

impl Tuner {
    /// Starts tuning `generator` so that `anchors` [N, latent_dim] reproduce `photos` [N,3,64,64] in [0, 1].
    /// `first_step` continues the step count (and the batch order) of a resumed run.
    pub fn new(generator: Dcgan64, anchors: Tensor<2>, photos: Tensor<4>, settings: &TuningSettings, seed: u64, first_step: usize) -> Self {
        let mut rng = SplitMix64(seed);
        for _ in 0..first_step * settings.batch {
            rng.uniform();
        }
        Self {
            generator,
            optimizer: AdamConfig::new().init(),
            anchors,
            photos,
            rng,
            learning_rate: settings.learning_rate,
            settings: settings.clone(),
            smoothed: f32::NAN,
            smoothed_before_step: f32::NAN,
            best: f32::INFINITY,
            since_best: 0,
            step: first_step,
        }
    }

    /// One optimizer step on a random batch; returns its loss (possibly not finite: the caller decides).
    pub fn step(&mut self, loss: &PerceptualLoss) -> TuningStep {
        let n = self.anchors.dims()[0];
        let batch = self.settings.batch.clamp(1, n.max(1));
        let device = self.anchors.device();
        let picks: Vec<i64> = (0..batch).map(|_| ((self.rng.uniform() * n as f64) as i64).min(n as i64 - 1)).collect();
        let index = Tensor::<1, burn::tensor::Int>::from_data(TensorData::new(picks, [batch]), &device);
        let z = self.anchors.clone().select(0, index.clone());
        let target = self.photos.clone().select(0, index);
        let output = (self.generator.forward(z) + 1.0) / 2.0;
        let value = loss.reconstruction(output, target, self.settings.perceptual_weight).mean();
        let current: f32 = value.clone().into_scalar();
        self.step += 1;
        self.smoothed_before_step = self.smoothed;
        if current.is_finite() {
            let grads = GradientsParams::from_grads(value.backward(), &self.generator);
            let generator = self.generator.clone();
            self.generator = self.optimizer.step(self.learning_rate, generator, grads);
            self.smoothed = if self.smoothed.is_nan() { current } else { 0.9 * self.smoothed + 0.1 * current };
            if self.smoothed < self.best * 0.99 {
                self.best = self.smoothed;
                self.since_best = 0;
            } else {
                self.since_best += 1;
            }
        }
        TuningStep { step: self.step, loss: current }
    }

    /// Whether the loss has stopped improving (no 1% gain of the smoothed loss for `patience` steps).
    pub fn converged(&self) -> bool {
        self.since_best >= self.settings.patience
    }

    /// Replaces the generator with an earlier good state and lowers the learning rate (after a NaN or a
    /// diverging loss); the optimizer's moments restart.
    pub fn roll_back(&mut self, generator: Dcgan64, learning_rate_factor: f64) {
        self.generator = generator;
        self.optimizer = AdamConfig::new().init();
        self.learning_rate *= learning_rate_factor;
        // The smoothed loss returns to its value before the bad step, so a repeat divergence is caught at once.
        self.smoothed = self.smoothed_before_step;
        self.since_best = 0;
    }

    /// The smoothed loss (exponential moving average), `NaN` before the first finite step.
    pub fn smoothed_loss(&self) -> f32 {
        self.smoothed
    }
}

/// Tunes for at most `settings.steps` steps, stopping early on convergence or when `on_step` breaks.
/// Returns the tuned generator and the number of steps taken. (The personalize job drives a [`Tuner`]
/// itself, to checkpoint and roll back.)
pub fn tune(
    generator: Dcgan64,
    anchors: Tensor<2>,
    photos: Tensor<4>,
    loss: &PerceptualLoss,
    settings: &TuningSettings,
    seed: u64,
    mut on_step: impl FnMut(TuningStep) -> ControlFlow<()>,
) -> (Dcgan64, usize) {
    let mut tuner = Tuner::new(generator, anchors, photos, settings, seed, 0);
    while tuner.step < settings.steps {
        let step = tuner.step(loss);
        if on_step(step).is_break() || tuner.converged() {
            break;
        }
    }
    (tuner.generator, tuner.step)
}
