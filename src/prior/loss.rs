//! The reconstruction loss that anchors and tuning minimize: pixel error plus a perceptual term.
//!
//! LPIPS needs a pretrained VGG/AlexNet that cannot be had offline, so the perceptual term compares faces
//! through the feature maps of a shipped face network instead: the age network, a ResNet trained on face
//! chips whose native input is 64 x 64 (the default generator's resolution, so no resampling), taken after
//! its first four ReLU stages. As in LPIPS, each feature map is normalized to unit length along channels and
//! the squared differences are averaged over space and summed over stages. Faces of the same person that
//! differ by blur or a shift move these features far more than a uniform brightness change with the same
//! pixel error (tests/perceptual_loss.rs), which is what keeps reconstructions sharp.

use burn::tensor::{Device, Tensor};

use crate::nets::{self, NetError};

/// The perceptual distance, loaded once on the chosen device.
pub struct PerceptualLoss {
    net: nets::age::Model,
}

impl PerceptualLoss {
    /// Loads the feature network (frozen) on `device`.
    pub fn load(device: &Device) -> Result<Self, NetError> {
        Ok(Self { net: nets::age(device)? })
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

    /// Pixel mean squared error plus `weight` times the perceptual distance, per face [N].
    pub fn reconstruction(&self, output: Tensor<4>, target: Tensor<4>, weight: f32) -> Tensor<1> {
        let n = output.dims()[0];
        let mse = (output.clone() - target.clone()).powf_scalar(2.0).reshape([n as i32, -1]).mean_dim(1).reshape([n]);
        mse + self.distance(output, target) * weight
    }

    fn features(&self, x: Tensor<4>) -> [Tensor<4>; 4] {
        let mean = Tensor::<1>::from_floats([122.782, 117.001, 104.298], &x.device()).reshape([1, 3, 1, 1]);
        self.net.features((x * 255.0 - mean) / 256.0)
    }
}

/// Each pixel's feature vector scaled to unit length (LPIPS normalization).
fn unit_channels(f: Tensor<4>) -> Tensor<4> {
    let norm = f.clone().powf_scalar(2.0).sum_dim(1).sqrt() + 1e-10;
    f / norm
}
