//! The layers of the StyleGAN2 generator, after rosinality's stylegan2-pytorch `model.py`.
//! Field names follow rosinality's so that a module path (`conv1.conv.modulation.weight`) reads
//! like the checkpoint key it was loaded from. Weights keep rosinality's raw values: the
//! equalized-learning-rate scales are applied in `forward`.

use std::f32::consts::SQRT_2;

use burn::module::{Module, Param};
use burn::tensor::activation::leaky_relu;
use burn::tensor::module::{conv2d, conv_transpose2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Tensor, TensorData};

use super::StyleGan2Error;
use super::source::{Init, WeightSource};

/// Slope of the leaky ReLU for negative inputs.
const NEGATIVE_SLOPE: f64 = 0.2;
/// Added under the square root of the demodulation, as in rosinality's code.
const DEMOD_EPS: f64 = 1e-8;
/// The separable FIR filter of StyleGAN2's blur and upsampling.
const FIR: [f32; 4] = [1.0, 3.0, 3.0, 1.0];

/// Leaky ReLU (slope 0.2) times sqrt(2), rosinality's `fused_leaky_relu` after its bias.
pub fn scaled_leaky_relu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    leaky_relu(x, NEGATIVE_SLOPE).mul_scalar(SQRT_2)
}

/// The 2D FIR kernel `outer(k, k) / sum * gain` as a [1, 1, 4, 4] convolution weight.
fn fir_kernel(gain: f32, device: &Device) -> Tensor<4> {
    let sum: f32 = FIR.iter().sum::<f32>().powi(2);
    let values = FIR.iter().flat_map(|a| FIR.iter().map(move |b| a * b * gain / sum)).collect::<Vec<_>>();
    Tensor::from_data(TensorData::new(values, [1, 1, 4, 4]), device)
}

/// Runs a single-channel operation on every channel of `x` by folding channels into the batch.
fn per_channel(x: Tensor<4>, op: impl FnOnce(Tensor<4>) -> Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let y = op(x.reshape([n * c, 1, h, w]));
    let [_, _, oh, ow] = y.dims();
    y.reshape([n, c, oh, ow])
}

/// rosinality's `Blur` after a stride-2 transposed 3x3 convolution: FIR filter (gain 4), padding 1.
fn blur(x: Tensor<4>, kernel: Tensor<4>) -> Tensor<4> {
    per_channel(x, |x| conv2d(x, kernel, None, ConvOptions::new([1, 1], [1, 1], [1, 1], 1)))
}

/// rosinality's `Upsample` (upfirdn2d, up 2, pad (2, 1)), written as the equivalent transposed
/// convolution with stride 2 and padding 1: [N, C, H, W] -> [N, C, 2H, 2W].
fn upsample(x: Tensor<4>, kernel: Tensor<4>) -> Tensor<4> {
    per_channel(x, |x| conv_transpose2d(x, kernel, None, ConvTransposeOptions::new([2, 2], [1, 1], [0, 0], [1, 1], 1)))
}

/// Fully connected layer with equalized learning rate (rosinality's `EqualLinear`).
#[derive(Module, Debug)]
pub struct EqualLinear {
    /// Raw weight [out, in] (PyTorch layout).
    pub weight: Param<Tensor<2>>,
    /// Raw bias [out].
    pub bias: Param<Tensor<1>>,
    /// 1/sqrt(in) * lr_mul.
    scale: f32,
    /// Learning-rate multiplier applied to the bias.
    lr_mul: f32,
    /// Whether a scaled leaky ReLU follows (mapping layers) or not (modulation).
    activate: bool,
}

impl EqualLinear {
    /// Builds the layer `prefix` (`prefix.weight`, `prefix.bias`) from `source`.
    pub(crate) fn build(
        source: &mut WeightSource,
        prefix: &str,
        [dim_in, dim_out]: [usize; 2],
        lr_mul: f32,
        bias_init: f32,
        activate: bool,
    ) -> Result<Self, StyleGan2Error> {
        let weight_init = Init::Normal(1.0 / lr_mul);
        Ok(Self {
            weight: source.param(&format!("{prefix}.weight"), &[dim_out, dim_in], [dim_out, dim_in], weight_init)?,
            bias: source.param(&format!("{prefix}.bias"), &[dim_out], [dim_out], Init::Constant(bias_init))?,
            scale: lr_mul / (dim_in as f32).sqrt(),
            lr_mul,
            activate,
        })
    }

    /// [N, in] -> [N, out].
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let weight = self.weight.val().mul_scalar(self.scale).transpose();
        let bias = self.bias.val().mul_scalar(self.lr_mul).unsqueeze_dim::<2>(0);
        let out = x.matmul(weight) + bias;
        if self.activate { scaled_leaky_relu(out) } else { out }
    }
}

/// Modulated convolution (rosinality's `ModulatedConv2d`). The style scales the input channels
/// and the demodulation scales the output channels, which equals convolving with the modulated,
/// demodulated per-sample weights, without a grouped convolution.
#[derive(Module, Debug)]
pub struct ModulatedConv2d {
    /// Raw weight [out, in, k, k] (rosinality stores [1, out, in, k, k]).
    pub weight: Param<Tensor<4>>,
    /// Affine map from w to the per-input-channel style (bias initialized to 1).
    pub modulation: EqualLinear,
    /// 1/sqrt(in * k * k).
    scale: f32,
    /// Normalize each output channel to unit expected variance.
    demodulate: bool,
    /// FIR kernel of the blur after the stride-2 transposed convolution, for upsampling layers.
    blur: Option<Tensor<4>>,
}

impl ModulatedConv2d {
    /// Builds `prefix.weight` and `prefix.modulation` from `source`.
    pub(crate) fn build(
        source: &mut WeightSource,
        prefix: &str,
        [channels_in, channels_out]: [usize; 2],
        kernel: usize,
        style_dim: usize,
        demodulate: bool,
        upsample: bool,
    ) -> Result<Self, StyleGan2Error> {
        let torch_shape = [1, channels_out, channels_in, kernel, kernel];
        let dims = [channels_out, channels_in, kernel, kernel];
        let modulation_prefix = format!("{prefix}.modulation");
        Ok(Self {
            weight: source.param(&format!("{prefix}.weight"), &torch_shape, dims, Init::Normal(1.0))?,
            modulation: EqualLinear::build(source, &modulation_prefix, [style_dim, channels_in], 1.0, 1.0, false)?,
            scale: 1.0 / ((channels_in * kernel * kernel) as f32).sqrt(),
            demodulate,
            blur: upsample.then(|| fir_kernel(4.0, source.device())),
        })
    }

    /// x [N, in, H, W] styled by w [N, style_dim] -> [N, out, H, W] (or 2H x 2W when upsampling).
    pub fn forward(&self, x: Tensor<4>, w: Tensor<2>) -> Tensor<4> {
        let [n, channels_in, _, _] = x.dims();
        let style = self.modulation.forward(w);
        let weight = self.weight.val().mul_scalar(self.scale);
        let [channels_out, _, k, _] = weight.dims();
        let x = x * style.clone().reshape([n, channels_in, 1, 1]);
        let out = match &self.blur {
            Some(kernel) => {
                let options = ConvTransposeOptions::new([2, 2], [0, 0], [0, 0], [1, 1], 1);
                blur(conv_transpose2d(x, weight.clone().swap_dims(0, 1), None, options), kernel.clone())
            }
            None => conv2d(x, weight.clone(), None, ConvOptions::new([1, 1], [k / 2, k / 2], [1, 1], 1)),
        };
        if !self.demodulate {
            return out;
        }
        // sum over in, k, k of (scale * w * s)^2 = s^2 @ (sum over k, k of (scale * w)^2)^T
        let energy = weight.powf_scalar(2.0).sum_dim(3).sum_dim(2).reshape([channels_out, channels_in]);
        let demod = style.powf_scalar(2.0).matmul(energy.transpose()).add_scalar(DEMOD_EPS).sqrt().recip();
        out * demod.reshape([n, channels_out, 1, 1])
    }
}

/// Per-pixel noise times a learned strength (rosinality's `NoiseInjection`).
#[derive(Module, Debug)]
pub struct NoiseInjection {
    /// Strength [1].
    pub weight: Param<Tensor<1>>,
}

impl NoiseInjection {
    /// x [N, C, H, W] + weight * noise [N or 1, 1, H, W].
    pub fn forward(&self, x: Tensor<4>, noise: Tensor<4>) -> Tensor<4> {
        x + noise * self.weight.val().reshape([1, 1, 1, 1])
    }
}

/// Bias then scaled leaky ReLU (rosinality's `FusedLeakyReLU`).
#[derive(Module, Debug)]
pub struct FusedLeakyRelu {
    /// Bias [C].
    pub bias: Param<Tensor<1>>,
}

impl FusedLeakyRelu {
    /// leaky_relu(x + bias, 0.2) * sqrt(2).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [channels] = self.bias.dims();
        scaled_leaky_relu(x + self.bias.val().reshape([1, channels, 1, 1]))
    }
}

/// Modulated 3x3 convolution, noise, bias and activation (rosinality's `StyledConv`).
#[derive(Module, Debug)]
pub struct StyledConv {
    /// The modulated convolution (upsampling for the first layer of each resolution).
    pub conv: ModulatedConv2d,
    /// Noise injection.
    pub noise: NoiseInjection,
    /// Bias and activation.
    pub activate: FusedLeakyRelu,
}

impl StyledConv {
    /// Builds the layer `prefix` (`prefix.conv.*`, `prefix.noise.weight`, `prefix.activate.bias`).
    pub(crate) fn build(
        source: &mut WeightSource,
        prefix: &str,
        channels: [usize; 2],
        style_dim: usize,
        upsample: bool,
    ) -> Result<Self, StyleGan2Error> {
        Ok(Self {
            conv: ModulatedConv2d::build(source, &format!("{prefix}.conv"), channels, 3, style_dim, true, upsample)?,
            noise: NoiseInjection {
                weight: source.param(&format!("{prefix}.noise.weight"), &[1], [1], Init::Constant(0.0))?,
            },
            activate: FusedLeakyRelu {
                bias: source.param(&format!("{prefix}.activate.bias"), &[channels[1]], [channels[1]], Init::Constant(0.0))?,
            },
        })
    }

    /// x [N, in, H, W] -> [N, out, H', W'] with style w [N, style_dim] and `noise` [N or 1, 1, H', W'].
    pub fn forward(&self, x: Tensor<4>, w: Tensor<2>, noise: Tensor<4>) -> Tensor<4> {
        self.activate.forward(self.noise.forward(self.conv.forward(x, w), noise))
    }
}

/// Modulated 1x1 convolution to RGB plus the upsampled skip image (rosinality's `ToRGB`).
#[derive(Module, Debug)]
pub struct ToRgb {
    /// Modulated 1x1 convolution without demodulation.
    pub conv: ModulatedConv2d,
    /// Bias [3] (rosinality stores [1, 3, 1, 1]).
    pub bias: Param<Tensor<1>>,
    /// FIR kernel (gain 4) that upsamples the previous resolution's image; `None` for `to_rgb1`.
    upsample: Option<Tensor<4>>,
}

impl ToRgb {
    /// Builds the layer `prefix` (`prefix.conv.*`, `prefix.bias`).
    pub(crate) fn build(
        source: &mut WeightSource,
        prefix: &str,
        channels_in: usize,
        style_dim: usize,
        upsample: bool,
    ) -> Result<Self, StyleGan2Error> {
        Ok(Self {
            conv: ModulatedConv2d::build(source, &format!("{prefix}.conv"), [channels_in, 3], 1, style_dim, false, false)?,
            bias: source.param(&format!("{prefix}.bias"), &[1, 3, 1, 1], [3], Init::Constant(0.0))?,
            upsample: upsample.then(|| fir_kernel(4.0, source.device())),
        })
    }

    /// RGB [N, 3, H, W] of features x [N, C, H, W], plus `skip` [N, 3, H/2, W/2] upsampled.
    pub fn forward(&self, x: Tensor<4>, w: Tensor<2>, skip: Option<Tensor<4>>) -> Tensor<4> {
        let out = self.conv.forward(x, w) + self.bias.val().reshape([1, 3, 1, 1]);
        match (skip, &self.upsample) {
            (Some(skip), Some(kernel)) => out + upsample(skip, kernel.clone()),
            (Some(skip), None) => out + skip,
            (None, _) => out,
        }
    }
}

/// The learned 4x4 start of the synthesis network (rosinality's `ConstantInput`).
#[derive(Module, Debug)]
pub struct ConstantInput {
    /// [1, C, 4, 4].
    pub input: Param<Tensor<4>>,
}

impl ConstantInput {
    /// Builds `prefix.input` [1, channels, 4, 4].
    pub(crate) fn build(source: &mut WeightSource, prefix: &str, channels: usize) -> Result<Self, StyleGan2Error> {
        let shape = [1, channels, 4, 4];
        Ok(Self { input: source.param(&format!("{prefix}.input"), &shape, shape, Init::Normal(1.0))? })
    }

    /// The constant repeated `batch` times.
    pub fn forward(&self, batch: usize) -> Tensor<4> {
        self.input.val().repeat_dim(0, batch)
    }
}
