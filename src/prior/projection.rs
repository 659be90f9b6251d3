//! Projection of a new photo into P_beta (MyStyle section 3): the photo's latent is sought only among the
//! mixes sum_i a_i w_i of the anchors with coefficients in the dilated hull, so the result is a face of
//! the person even when the photo is degraded or unlike the training photos. The coefficients are
//! optimized with Adam on the reconstruction loss and projected back into P_beta after every step
//! (projected gradient descent). Several starts run side by side: the anchors' centroid and the anchors
//! that reconstruct the photo best.
//!
//! MyStyle's per-layer variant gives every generator layer its own coefficients; the default DCGAN takes
//! its latent at a single layer, so for it the single set of coefficients is the whole variant.

use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Tensor, TensorData};

use super::loss::{LossWeights, ReconstructionLoss};
use super::space::{BETA, mix, project_coefficients};
use crate::generator::{FaceGenerator, Generator};

/// How a projection runs.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectionSettings {
    /// Starts besides the centroid: the anchors with the lowest loss on the photo.
    pub anchor_starts: usize,
    /// Adam steps.
    pub steps: usize,
    /// Adam learning rate on the coefficients.
    pub learning_rate: f64,
    /// Weights of the loss terms.
    pub weights: LossWeights,
    /// Dilation of the anchors' hull.
    pub beta: f32,
}

impl Default for ProjectionSettings {
    fn default() -> Self {
        Self { anchor_starts: 3, steps: 100, learning_rate: 0.02, weights: LossWeights::default(), beta: BETA }
    }
}

/// The result of a projection.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// Coefficients over the anchors, inside P_beta.
    pub coefficients: Vec<f32>,
    /// The latent they give.
    pub latent: Vec<f32>,
    /// Its reconstruction loss.
    pub loss: f32,
}

#[derive(Module, Debug)]
struct Coefficients {
    a: Param<Tensor<2>>,
}

/// Projects `target` [1,3,64,64] (values in [0, 1]) into P_beta of `anchors` under `generator` (frozen).
/// The generator, the loss's networks and the target must share one autodiff device.
pub fn project_into_space(
    generator: &Generator,
    loss: &ReconstructionLoss,
    anchors: &[Vec<f32>],
    target: Tensor<4>,
    settings: &ProjectionSettings,
) -> Projection {
    let device = target.device();
    let (n, dim) = (anchors.len(), generator.latent_dim());
    let w = Tensor::<2>::from_data(TensorData::new(anchors.concat(), [n, dim]), &device);
    let evaluate = |latents: Tensor<2>, weights: LossWeights| {
        let count = latents.dims()[0];
        let images = (generator.faces(latents) + 1.0) / 2.0;
        loss.reconstruction(images, target.clone().repeat_dim(0, count), weights)
    };
    let values = |t: Tensor<1>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();

    // Starts: the centroid, then the anchors that already reconstruct the photo best.
    let per_anchor = values(evaluate(w.clone(), settings.weights).detach());
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| per_anchor[i].total_cmp(&per_anchor[j]));
    let mut starts = vec![vec![1.0 / n as f32; n]];
    for &i in order.iter().take(settings.anchor_starts.min(n)) {
        let mut one_hot = vec![0.0; n];
        one_hot[i] = 1.0;
        starts.push(one_hot);
    }
    let s = starts.len();
    let to_param = |rows: Vec<f32>, id| {
        Param::initialized(id, Tensor::<2>::from_data(TensorData::new(rows, [s, n]), &device).require_grad())
    };
    let mut coefficients = Coefficients { a: to_param(starts.concat(), burn::module::ParamId::new()) };
    let mut optimizer = AdamConfig::new().init();
    for step in 0..settings.steps {
        let total = evaluate(coefficients.a.val().matmul(w.clone()), settings.weights.at_step(step)).sum();
        let grads = GradientsParams::from_grads(total.backward(), &coefficients);
        coefficients = optimizer.step(settings.learning_rate, coefficients, grads);
        // Back into P_beta, keeping the parameter's id so Adam keeps its moments.
        let id = coefficients.a.id;
        let rows = coefficients.a.val().into_data().try_to_vec::<f32>().unwrap_or_default();
        let projected: Vec<f32> = rows.chunks(n).flat_map(|row| project_coefficients(row, settings.beta)).collect();
        coefficients.a = to_param(projected, id);
    }
    let rows = coefficients.a.val().detach();
    let losses = values(evaluate(rows.clone().matmul(w), settings.weights).detach());
    let best = losses.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i);
    let all = rows.into_data().try_to_vec::<f32>().unwrap_or_default();
    let coefficients = all[best * n..(best + 1) * n].to_vec();
    Projection { latent: mix(anchors, &coefficients), coefficients, loss: losses.get(best).copied().unwrap_or(f32::NAN) }
}
