//! Fast inference for the DCGAN: what the editor and `sample` use to draw faces.
//!
//! [`DcganRenderer`] is built from a [`Dcgan64`] (again after every weight change): batch norm is folded
//! into each transposed convolution (w' = w * gamma / sqrt(var + eps) per output channel, plus a bias), and
//! on a multi-core CPU the output channels of the large layers are split into one part per thread, run in
//! parallel. burn's CPU backend runs a batch-1 transposed convolution on a single thread, so this is what
//! brings the CPU path level with PyTorch (BENCHMARKS.md). Training keeps using [`Dcgan64::forward`].

use burn::tensor::activation::relu;
use burn::tensor::module::conv_transpose2d;
use burn::tensor::ops::ConvTransposeOptions;
use burn::tensor::Tensor;
use rayon::prelude::*;

use super::Dcgan64;

/// Layers with fewer multiply-adds than this (at batch 1) are not split: the split costs more than it saves.
const SPLIT_MIN_MACS: usize = 8_000_000;

/// One transposed convolution with its batch norm folded in, possibly split by output channel.
struct FoldedLayer {
    /// (weight [Cin, Cout_part, k, k], bias [Cout_part]) per part, in channel order.
    parts: Vec<(Tensor<4>, Tensor<1>)>,
    options: ConvTransposeOptions<2>,
}

impl FoldedLayer {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let run = |(w, b): &(Tensor<4>, Tensor<1>)| conv_transpose2d(x.clone(), w.clone(), Some(b.clone()), self.options.clone());
        match self.parts.as_slice() {
            [single] => run(single),
            parts => Tensor::cat(parts.par_iter().map(run).collect(), 1),
        }
    }
}

/// An inference-only copy of a [`Dcgan64`] (see the module documentation).
pub struct DcganRenderer {
    layers: Vec<FoldedLayer>,
    latent_dim: usize,
}

impl DcganRenderer {
    /// Folds `model` for inference. `threads` is how many parts the large layers are split into: the CPU
    /// backend's thread count, or 1 on a GPU where one kernel already fills the device.
    pub fn new(model: &Dcgan64, threads: usize) -> Self {
        let mut layers = Vec::new();
        let mut spatial = 1; // input height (= width) of the current layer at batch 1
        for block in &model.blocks {
            let conv = &block.conv;
            let norm = &block.norm;
            let scale = norm.gamma.val() / (norm.running_var.value() + norm.epsilon).sqrt();
            let bias = norm.beta.val() - norm.running_mean.value() * scale.clone();
            let [_, cout] = conv.channels;
            let weight = conv.weight.val() * scale.reshape([1, cout as i32, 1, 1]);
            layers.push(fold(weight, bias, conv, spatial, threads));
            spatial = (spatial - 1) * conv.stride[0] + conv.kernel_size[0] - 2 * conv.padding[0];
        }
        let rgb = &model.to_rgb;
        let zeros = Tensor::zeros([rgb.channels[1]], &rgb.weight.device());
        layers.push(fold(rgb.weight.val(), zeros, rgb, spatial, threads));
        Self { layers, latent_dim: model.latent_dim() }
    }

    /// Same as [`Dcgan64::forward`]: images [N,3,64,64] in [-1, 1] from z [N, latent_dim].
    pub fn forward(&self, z: Tensor<2>) -> Tensor<4> {
        let [n, d] = z.dims();
        let mut x = z.reshape([n, d, 1, 1]);
        let (last, hidden) = self.layers.split_last().expect("a DCGAN has layers");
        for layer in hidden {
            x = relu(layer.forward(x));
        }
        last.forward(x).tanh()
    }

    /// Size of the latent vector z.
    pub fn latent_dim(&self) -> usize {
        self.latent_dim
    }
}

fn fold(
    weight: Tensor<4>,
    bias: Tensor<1>,
    conv: &burn::nn::conv::ConvTranspose2d,
    spatial: usize,
    threads: usize,
) -> FoldedLayer {
    let [cin, cout, kh, kw] = weight.dims();
    let macs = cin * cout * kh * kw * spatial * spatial;
    let parts = if macs >= SPLIT_MIN_MACS { threads.clamp(1, cout) } else { 1 };
    let device = weight.device();
    // Materialize each part as its own contiguous tensor once, so no forward pass copies weights.
    let owned = |t: Tensor<4>| Tensor::<4>::from_data(t.into_data(), &device);
    let owned_bias = |t: Tensor<1>| Tensor::<1>::from_data(t.into_data(), &device);
    let bounds: Vec<usize> = (0..=parts).map(|i| i * cout / parts).collect();
    let parts = bounds
        .windows(2)
        .map(|r| {
            (
                owned(weight.clone().slice([0..cin, r[0]..r[1], 0..kh, 0..kw])),
                owned_bias(bias.clone().slice([r[0]..r[1]])),
            )
        })
        .collect();
    let options = ConvTransposeOptions::new(conv.stride, conv.padding, conv.padding_out, conv.dilation, conv.groups);
    FoldedLayer { parts, options }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, TensorData};

    use super::*;
    use crate::generator::DcganConfig;
    use crate::generator::latent::normal_latents;

    #[test]
    fn renderer_matches_the_module_for_any_split() {
        let device = Device::flex();
        // Random weights and non-trivial batch-norm statistics, so that the folding is exercised.
        let mut model = DcganConfig::new().with_base_channels(8).init(&device);
        for block in &mut model.blocks {
            let c = block.norm.gamma.dims()[0];
            let vals = |offset: f32| TensorData::new((0..c).map(|i| offset + 0.1 * (i % 7) as f32).collect::<Vec<_>>(), [c]);
            block.norm.running_mean = burn::module::RunningState::new(Tensor::from_data(vals(-0.3), &device));
            block.norm.running_var = burn::module::RunningState::new(Tensor::from_data(vals(0.5), &device));
        }
        let z = Tensor::<2>::from_data(TensorData::new(normal_latents(1, 3, 100), [3, 100]), &device);
        let expected = model.forward(z.clone()).into_data();
        for threads in [1, 2, 3] {
            let got = DcganRenderer::new(&model, threads).forward(z.clone()).into_data();
            got.assert_approx_eq::<f32>(&expected, burn::tensor::Tolerance::absolute(1e-5));
        }
    }
}
