//! Anchors: a face is projected into the generator's latent space by optimization. Several random starts
//! are optimized together (one batch) with Adam on the reconstruction loss ([`super::loss`]) plus a weak
//! pull of each latent toward where the generator was trained ([`FaceGenerator::latent_penalty`]: the
//! Gaussian shell of the DCGAN's z, the neighbourhood of StyleGAN2's mean w); the start with the lowest
//! loss wins. Starts are drawn from the generator's own latent distribution.

use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::Tensor;

use super::loss::{LossWeights, ReconstructionLoss};
use crate::generator::{FaceGenerator, Generator};

/// How an inversion runs.
#[derive(Clone, Debug, PartialEq)]
pub struct InversionSettings {
    /// Random starts optimized side by side.
    pub starts: usize,
    /// Adam steps.
    pub steps: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Weights of the loss terms.
    pub weights: LossWeights,
    /// Weight of the latent penalty.
    pub shell_weight: f32,
}

impl Default for InversionSettings {
    fn default() -> Self {
        Self { starts: 4, steps: 150, learning_rate: 0.05, weights: LossWeights::default(), shell_weight: 1e-3 }
    }
}

/// The result of an inversion.
#[derive(Clone, Debug, PartialEq)]
pub struct Inversion {
    /// The best latent.
    pub latent: Vec<f32>,
    /// Its reconstruction loss.
    pub loss: f32,
    /// Final reconstruction loss of every start.
    pub per_start: Vec<f32>,
}

#[derive(Module, Debug)]
struct Latents {
    z: Param<Tensor<2>>,
}

/// Projects `target` [1,3,FACE_SIZE,FACE_SIZE] (values in [0, 1]) into the latent space of `generator`. Both networks
/// and the target must be on the same autodiff device; the generator should be frozen (only the latents
/// are optimized). `seed` makes the starts reproducible.
pub fn invert(
    generator: &Generator,
    loss: &ReconstructionLoss,
    target: Tensor<4>,
    settings: &InversionSettings,
    seed: u64,
) -> Inversion {
    let device = target.device();
    let (starts, dim) = (settings.starts.max(1), generator.latent_dim());
    let z0 = Tensor::<2>::from_data(generator.random_latents(seed, starts).into_data(), &device);
    let mut latents = Latents { z: Param::from_tensor(z0) };
    let mut optimizer = AdamConfig::new().init();
    let targets = target.repeat_dim(0, starts);
    let objective = |z: Tensor<2>, weights: LossWeights| {
        let images = (generator.faces(z.clone()) + 1.0) / 2.0;
        let reconstruction = loss.reconstruction(images, targets.clone(), weights);
        let penalty = generator.latent_penalty(z);
        (reconstruction.clone(), reconstruction + penalty * settings.shell_weight)
    };
    for step in 0..settings.steps {
        let (_, total) = objective(latents.z.val(), settings.weights.at_step(step));
        let grads = GradientsParams::from_grads(total.sum().backward(), &latents);
        latents = optimizer.step(settings.learning_rate, latents, grads);
    }
    let (reconstruction, _) = objective(latents.z.val(), settings.weights);
    let per_start: Vec<f32> = reconstruction.into_data().try_to_vec::<f32>().unwrap_or_default();
    let best = per_start.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i);
    let z = latents.z.val().slice([best..best + 1, 0..dim]).into_data().try_to_vec::<f32>().unwrap_or_default();
    Inversion { latent: z, loss: per_start.get(best).copied().unwrap_or(f32::NAN), per_start }
}
