//! Tuning (MyStyle): the generator's weights are fine-tuned so that each anchor reproduces its photo.
//! Batches of (anchor, photo) pairs, Adam, the reconstruction loss; batch norm keeps its stored statistics
//! (set when the DCGAN is built), so only the convolutions and the norms' scales and shifts move. Tuning
//! stops early when the loss has not improved for `patience` steps, or when `on_step` says so.
//!
//! With an [`OrganizationPlan`] (MyStyle++) the anchors train too, with their own Adam, and the
//! organization loss ([`organization_loss`]) over all anchors joins each step's loss once its attributes'
//! curriculum steps are reached.

use std::ops::ControlFlow;

use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Tensor, TensorData};

use super::loss::{LossWeights, ReconstructionLoss};
use super::organize::{OrganizationPlan, organization_loss};
use crate::generator::{FaceGenerator, Generator};
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
    /// Weights of the loss terms.
    pub weights: LossWeights,
    /// Stop when the smoothed loss has not improved by 1% for this many steps.
    pub patience: usize,
    /// Weight of the organization loss when the anchors are organized.
    pub organization_weight: f32,
    /// Adam learning rate of organized anchors. (MyStyle++ trains them at the generator's 3e-4 over
    /// 4000 passes; a few hundred steps at that rate move a coordinate by a fraction of a unit, far less than
    /// the organization asks, so the anchors get a rate of their own.)
    pub anchor_learning_rate: f64,
}

impl Default for TuningSettings {
    fn default() -> Self {
        Self { steps: 300, batch: 8, learning_rate: 3e-4, weights: LossWeights::default(), patience: 60, organization_weight: 1.0, anchor_learning_rate: 0.02 }
    }
}

/// Progress of one step, for callbacks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TuningStep {
    /// Step number, from 1.
    pub step: usize,
    /// Mean reconstruction loss of this step's batch.
    pub loss: f32,
    /// The organization loss over all anchors, once an attribute is active.
    pub organization: Option<f32>,
}

/// The anchors as a trainable parameter.
#[derive(Module, Debug)]
struct AnchorParams {
    w: Param<Tensor<2>>,
}

/// Anchors being organized: the plan and the anchors' optimizer.
struct Organizing {
    plan: OrganizationPlan,
    optimizer: burn::optim::ModuleOptimizer,
}

/// What a rollback returns to: the generator and the anchors.
#[derive(Clone, Debug)]
pub struct TunerState {
    /// The generator.
    pub generator: Generator,
    /// The anchors [N, latent_dim].
    pub anchors: Tensor<2>,
}

/// A tuning run that advances one step at a time, so that a caller (the personalize job) can report,
/// checkpoint, roll back or stop between steps.
pub struct Tuner {
    /// The generator being tuned (on an autodiff device).
    pub generator: Generator,
    optimizer: burn::optim::ModuleOptimizer,
    anchors: AnchorParams,
    organizing: Option<Organizing>,
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
    pub fn new(generator: Generator, anchors: Tensor<2>, photos: Tensor<4>, settings: &TuningSettings, seed: u64, first_step: usize) -> Self {
        let mut rng = SplitMix64(seed);
        for _ in 0..first_step * settings.batch {
            rng.uniform();
        }
        Self {
            generator: generator.for_tuning(),
            optimizer: AdamConfig::new().init(),
            anchors: AnchorParams { w: Param::from_tensor(anchors.detach()) },
            organizing: None,
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

    /// Trains the anchors too, organized by `plan` (MyStyle++). Call before the first step.
    pub fn organize(mut self, plan: OrganizationPlan) -> Self {
        self.organizing = Some(Organizing { plan, optimizer: AdamConfig::new().init() });
        self
    }

    /// The current anchors, one row per photo.
    pub fn anchor_rows(&self) -> Vec<Vec<f32>> {
        let [n, dim] = self.anchors.w.val().dims();
        let flat = self.anchors.w.val().into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
        (0..n).map(|i| flat[i * dim..(i + 1) * dim].to_vec()).collect()
    }

    /// The current anchors as a tensor (no gradient).
    pub fn anchors(&self) -> Tensor<2> {
        self.anchors.w.val().detach()
    }

    /// One optimizer step on a random batch; returns its loss (possibly not finite: the caller decides).
    pub fn step(&mut self, loss: &ReconstructionLoss) -> TuningStep {
        let all = if self.organizing.is_some() { self.anchors.w.val() } else { self.anchors.w.val().detach() };
        let [n, _] = all.dims();
        let batch = self.settings.batch.clamp(1, n.max(1));
        let device = all.device();
        let picks: Vec<i64> = (0..batch).map(|_| ((self.rng.uniform() * n as f64) as i64).min(n as i64 - 1)).collect();
        let index = Tensor::<1, burn::tensor::Int>::from_data(TensorData::new(picks, [batch]), &device);
        let z = all.clone().select(0, index.clone());
        let target = self.photos.clone().select(0, index);
        let output = (self.generator.faces(z) + 1.0) / 2.0;
        // The reported loss leaves out the sampled identity term, so that steps stay comparable (the
        // divergence checks compare them); the gradient includes it.
        let weights = self.settings.weights.at_step(self.step);
        let base = loss.reconstruction(output.clone(), target.clone(), LossWeights { identity: 0.0, ..weights }).mean();
        let mut current: f32 = base.clone().into_scalar();
        let mut value = if weights.identity != 0.0 {
            let total = base + loss.identity_distance(output, target).mean() * weights.identity;
            let total_value: f32 = total.clone().into_scalar();
            if !total_value.is_finite() {
                current = total_value;
            }
            total
        } else {
            base
        };
        let mut organization = None;
        if let Some(organizing) = &self.organizing {
            if let Some(term) = organization_loss(&organizing.plan, all, self.step) {
                let term_value: f32 = term.clone().into_scalar();
                organization = Some(term_value);
                if !term_value.is_finite() {
                    current = term_value;
                }
                value = value + term * self.settings.organization_weight;
            }
        }
        self.step += 1;
        self.smoothed_before_step = self.smoothed;
        if current.is_finite() {
            let mut grads = value.backward();
            let generator_grads = GradientsParams::from_module(&mut grads, &self.generator);
            let generator = self.generator.clone();
            self.generator = self.optimizer.step(self.learning_rate, generator, generator_grads);
            if let Some(organizing) = self.organizing.as_mut() {
                let anchor_grads = GradientsParams::from_module(&mut grads, &self.anchors);
                let anchors = AnchorParams { w: self.anchors.w.clone() };
                let rate = self.settings.anchor_learning_rate * self.learning_rate / self.settings.learning_rate.max(1e-12);
                self.anchors = organizing.optimizer.step(rate, anchors, anchor_grads);
            }
            self.smoothed = if self.smoothed.is_nan() { current } else { 0.9 * self.smoothed + 0.1 * current };
            if self.smoothed < self.best * 0.99 {
                self.best = self.smoothed;
                self.since_best = 0;
            } else {
                self.since_best += 1;
            }
        }
        TuningStep { step: self.step, loss: current, organization }
    }

    /// The generator and anchors now, for a later [`Tuner::roll_back`].
    pub fn state(&self) -> TunerState {
        TunerState { generator: self.generator.clone(), anchors: self.anchors() }
    }

    /// Whether the loss has stopped improving (no 1% gain of the smoothed loss for `patience` steps).
    pub fn converged(&self) -> bool {
        self.since_best >= self.settings.patience
    }

    /// Returns to an earlier good state and lowers the learning rate (after a NaN or a diverging loss); the
    /// optimizers' moments restart.
    pub fn roll_back(&mut self, state: TunerState, learning_rate_factor: f64) {
        self.generator = state.generator;
        self.anchors = AnchorParams { w: Param::from_tensor(state.anchors) };
        self.optimizer = AdamConfig::new().init();
        if let Some(organizing) = self.organizing.as_mut() {
            organizing.optimizer = AdamConfig::new().init();
        }
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
    generator: Generator,
    anchors: Tensor<2>,
    photos: Tensor<4>,
    loss: &ReconstructionLoss,
    settings: &TuningSettings,
    seed: u64,
    mut on_step: impl FnMut(TuningStep) -> ControlFlow<()>,
) -> (Generator, usize) {
    let mut tuner = Tuner::new(generator, anchors, photos, settings, seed, 0);
    while tuner.step < settings.steps {
        let step = tuner.step(loss);
        if on_step(step).is_break() || tuner.converged() {
            break;
        }
    }
    (tuner.generator, tuner.step)
}
