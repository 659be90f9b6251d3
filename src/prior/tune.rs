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

/// Fine-tunes `generator` (on an autodiff device) so that `anchors` [N, latent_dim] reproduce `photos`
/// [N,3,64,64] (values in [0, 1]). `on_step` sees every step and may stop the tuning. Returns the tuned
/// generator and the number of steps taken.
pub fn tune(
    mut generator: Dcgan64,
    anchors: Tensor<2>,
    photos: Tensor<4>,
    loss: &PerceptualLoss,
    settings: &TuningSettings,
    seed: u64,
    mut on_step: impl FnMut(TuningStep) -> ControlFlow<()>,
) -> (Dcgan64, usize) {
    let n = anchors.dims()[0];
    let batch = settings.batch.clamp(1, n.max(1));
    let device = anchors.device();
    let mut optimizer = AdamConfig::new().init();
    let mut rng = SplitMix64(seed);
    let (mut smoothed, mut best, mut since_best) = (f32::NAN, f32::INFINITY, 0);
    let mut taken = 0;
    for step in 1..=settings.steps {
        let picks: Vec<i64> = (0..batch).map(|_| ((rng.uniform() * n as f64) as i64).min(n as i64 - 1)).collect();
        let index = Tensor::<1, burn::tensor::Int>::from_data(TensorData::new(picks, [batch]), &device);
        let z = anchors.clone().select(0, index.clone());
        let target = photos.clone().select(0, index);
        let output = (generator.forward(z) + 1.0) / 2.0;
        let value = loss.reconstruction(output, target, settings.perceptual_weight).mean();
        let current: f32 = value.clone().into_scalar();
        let grads = GradientsParams::from_grads(value.backward(), &generator);
        generator = optimizer.step(settings.learning_rate, generator, grads);
        taken = step;
        smoothed = if smoothed.is_nan() { current } else { 0.9 * smoothed + 0.1 * current };
        if smoothed < best * 0.99 {
            best = smoothed;
            since_best = 0;
        } else {
            since_best += 1;
        }
        if on_step(TuningStep { step, loss: current }).is_break() || since_best >= settings.patience {
            break;
        }
    }
    (generator, taken)
}
