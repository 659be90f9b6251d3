//! The reconstruction loss that anchors and tuning minimize: pixel error, a perceptual term and an
//! identity term.
//!
//! LPIPS needs a pretrained VGG/AlexNet that cannot be had offline, so the perceptual term compares faces
//! through the feature maps of a shipped face network instead: the age network, a ResNet trained on face
//! chips whose native input is 64 x 64 (the default generator's resolution, so no resampling), taken after
//! its first four ReLU stages. As in LPIPS, each feature map is normalized to unit length along channels and
//! the squared differences are averaged over space and summed over stages. Faces of the same person that
//! differ by blur or a shift move these features far more than a uniform brightness change with the same
//! pixel error (tests/perceptual_loss.rs), which is what keeps reconstructions sharp.
//!
//! The identity term is one minus the cosine of the SFace embeddings of the two faces (MyStyle uses the
//! same kind of term). Generated faces carry no detected landmarks, so SFace sees them through the crop
//! of a typical face in the aligned frame ([`aligned_template_points`]): the alignment puts every face's
//! eyes and mouth close to those points, and the same crop is used for the output and its target.

use burn::tensor::{Device, Tensor};

use crate::attributes::crop::{IDENTITY_CROP, aligned_template_points, template_crop, warp};
use crate::nets::{self, NetError};

/// Weights of the perceptual and identity terms against pixel mean squared error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossWeights {
    /// Weight of the perceptual distance.
    pub perceptual: f32,
    /// Weight of the identity distance (1 - cosine similarity).
    pub identity: f32,
}

impl Default for LossWeights {
    fn default() -> Self {
        Self { perceptual: 0.5, identity: 0.1 }
    }
}

/// Optimizer steps between identity terms (see [`LossWeights::at_step`]).
pub const IDENTITY_EVERY: usize = 8;

impl LossWeights {
    /// The weights for optimizer step `step` (from 0): the identity term only every [`IDENTITY_EVERY`]-th
    /// step, at that many times its weight. SFace's forward and backward pass costs about eight times the
    /// rest of a tuning step on the CPU (1.49 s against 0.16 s for a batch of 8, burn-flex), so the term is
    /// sampled rather than paid every step; on average it weighs the same.
    pub fn at_step(self, step: usize) -> Self {
        if step % IDENTITY_EVERY == IDENTITY_EVERY - 1 {
            Self { identity: self.identity * IDENTITY_EVERY as f32, ..self }
        } else {
            Self { identity: 0.0, ..self }
        }
    }
}

/// The reconstruction loss, its networks loaded once (frozen) on the chosen device.
pub struct ReconstructionLoss {
    features: nets::age::Model,
    identity: nets::sface::Model,
}

impl ReconstructionLoss {
    /// Loads the feature and identity networks on `device`.
    pub fn load(device: &Device) -> Result<Self, NetError> {
        Ok(Self { features: nets::age(device)?, identity: nets::sface(device)? })
    }

    /// Perceptual distance [N] between faces `a` and `b` [N,3,64,64] with values in [0, 1].
    pub fn distance(&self, a: Tensor<4>, b: Tensor<4>) -> Tensor<1> {
        let (fa, fb) = (self.features(a), self.features(b));
        let n = fa[0].dims()[0];
        fa.into_iter()
            .zip(fb)
            .map(|(x, y)| {
                let d = (unit_channels(x) - unit_channels(y)).powf_scalar(2.0).sum_dim(1);
                d.mean_dim(2).mean_dim(3).reshape([n])
            })
            .reduce(|acc, d| acc + d)
            .expect("four feature stages")
    }

    /// SFace embeddings [N,128] (unit length) of aligned faces [N,3,S,S] with values in [0, 1].
    pub fn embeddings(&self, faces: Tensor<4>) -> Tensor<2> {
        let size = faces.dims()[2];
        let to_face = template_crop(&aligned_template_points(size as f64), 112, IDENTITY_CROP)
            .expect("the template points are not degenerate");
        let e = self.identity.forward(warp(faces, &to_face, 112) * 255.0);
        let norm = e.clone().powf_scalar(2.0).sum_dim(1).sqrt().clamp_min(1e-6);
        e / norm
    }

    /// Identity distance [N]: one minus the cosine similarity of the faces' embeddings.
    pub fn identity_distance(&self, a: Tensor<4>, b: Tensor<4>) -> Tensor<1> {
        let n = a.dims()[0];
        let both = self.embeddings(Tensor::cat(vec![a, b], 0));
        let (ea, eb) = (both.clone().slice([0..n]), both.slice([n..2 * n]));
        (ea * eb).sum_dim(1).reshape([n]).neg() + 1.0
    }

    /// Pixel mean squared error plus the weighted perceptual and identity distances, per face [N].
    pub fn reconstruction(&self, output: Tensor<4>, target: Tensor<4>, weights: LossWeights) -> Tensor<1> {
        let n = output.dims()[0];
        let mse = (output.clone() - target.clone()).powf_scalar(2.0).reshape([n as i32, -1]).mean_dim(1).reshape([n]);
        let mut total = mse + self.distance(output.clone(), target.clone()) * weights.perceptual;
        if weights.identity != 0.0 {
            total = total + self.identity_distance(output, target) * weights.identity;
        }
        total
    }

    fn features(&self, x: Tensor<4>) -> [Tensor<4>; 4] {
        let mean = Tensor::<1>::from_floats([122.782, 117.001, 104.298], &x.device()).reshape([1, 3, 1, 1]);
        self.features.features((x * 255.0 - mean) / 256.0)
    }
}

/// Each pixel's feature vector scaled to unit length (LPIPS normalization).
fn unit_channels(f: Tensor<4>) -> Tensor<4> {
    let norm = f.clone().powf_scalar(2.0).sum_dim(1).sqrt() + 1e-10;
    f / norm
}
