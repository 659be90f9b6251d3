//! StyleGAN2 generator (Karras et al. 2020) as laid out by rosinality's stylegan2-pytorch, so that
//! its `g_ema` checkpoints load directly ([`StyleGan2::from_checkpoint`]).
//!
//! Mapping: z [N, style_dim] -> PixelNorm -> `n_mlp` equalized linear layers (lr_mul 0.01, leaky
//! ReLU 0.2 times sqrt 2) -> w. Synthesis: a learned 4x4 constant, then per resolution a modulated
//! 3x3 convolution (the first of each resolution upsamples by a stride-2 transposed convolution
//! and a [1,3,3,1] blur), noise, bias and activation, and a modulated 1x1 ToRGB whose outputs are
//! summed through FIR-upsampled skips. W+ has `n_latent = 2 log2(resolution) - 2` rows.

mod checkpoint;
pub mod layers;
mod source;

use std::path::PathBuf;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor, TensorData};

use layers::{ConstantInput, EqualLinear, StyledConv, ToRgb};
use source::{Init, WeightSource};

use super::latent::normal_latents;

/// Errors while loading a StyleGAN2 checkpoint; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum StyleGan2Error {
    /// The file could not be read as a PyTorch or safetensors file.
    #[error("cannot read StyleGAN2 checkpoint {file}: {reason}")]
    Read {
        /// The file.
        file: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The file holds tensors, but not those of a rosinality StyleGAN2 generator.
    #[error("{file} is not a rosinality StyleGAN2 generator (g_ema): {reason}")]
    NotStyleGan2 {
        /// The file.
        file: String,
        /// What is missing or wrong.
        reason: String,
    },
    /// A tensor the architecture needs is not in the file.
    #[error("{file}: tensor {name} is missing")]
    MissingTensor {
        /// The file.
        file: String,
        /// The rosinality key.
        name: String,
    },
    /// A tensor has another shape than the architecture read from the file needs.
    #[error("{file}: tensor {name} has shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        /// The file.
        file: String,
        /// The rosinality key.
        name: String,
        /// Shape the architecture needs.
        expected: Vec<usize>,
        /// Shape in the file.
        found: Vec<usize>,
    },
}

/// Shape of a StyleGAN2 generator. The defaults are rosinality's 1024 px config-f
/// (channel multiplier 2, 8 mapping layers, style 512: 30,370,060 parameters).
#[derive(Config, Debug)]
pub struct StyleGan2Config {
    /// Output resolution in pixels: a power of two from 4 to 1024.
    #[config(default = 1024)]
    pub resolution: usize,
    /// Size of z, w and the style vectors.
    #[config(default = 512)]
    pub style_dim: usize,
    /// Number of mapping layers.
    #[config(default = 8)]
    pub n_mlp: usize,
    /// rosinality's channel multiplier for 64 px and up (config-f: 2).
    #[config(default = 2)]
    pub channel_multiplier: usize,
    /// Learning-rate multiplier of the mapping layers.
    #[config(default = 0.01)]
    pub lr_mlp: f64,
    /// Channels per resolution 4, 8, ..., `resolution`, overriding rosinality's table (for narrow
    /// generators such as test fixtures, or checkpoints trained with other widths).
    pub channels: Option<Vec<usize>>,
}

impl StyleGan2Config {
    /// log2 of the resolution; panics unless it is a power of two from 4 to 1024.
    fn log_size(&self) -> usize {
        let r = self.resolution;
        assert!(r.is_power_of_two() && (4..=1024).contains(&r), "StyleGAN2 resolution must be a power of two from 4 to 1024, not {r}");
        r.trailing_zeros() as usize
    }

    /// Channels at resolutions 4, 8, ..., `resolution`: [`Self::channels`] or rosinality's table
    /// {4..32: 512, 64: 256 cm, 128: 128 cm, 256: 64 cm, 512: 32 cm, 1024: 16 cm}.
    pub fn channel_table(&self) -> Vec<usize> {
        let levels = self.log_size() - 1;
        if let Some(channels) = &self.channels {
            assert_eq!(channels.len(), levels, "one channel count per resolution 4..={}", self.resolution);
            return channels.clone();
        }
        let cm = self.channel_multiplier;
        (2..=self.log_size()).map(|log| if log <= 5 { 512 } else { (512 >> (log - 5)) * cm }).collect()
    }

    /// W+ rows: 2 log2(resolution) - 2.
    pub fn n_latent(&self) -> usize {
        self.log_size() * 2 - 2
    }

    /// Builds the generator with random weights (rosinality's initialization) on `device`.
    /// Panics on an invalid resolution or channel list.
    pub fn init(&self, device: &Device) -> StyleGan2 {
        self.build(&mut WeightSource::random(device)).expect("random initialization cannot fail")
    }

    /// Builds every layer from `source`, naming each tensor by its rosinality key.
    fn build(&self, source: &mut WeightSource) -> Result<StyleGan2, StyleGan2Error> {
        let (dim, channels) = (self.style_dim, self.channel_table());
        let lr = self.lr_mlp as f32;
        let style = (1..=self.n_mlp)
            .map(|i| EqualLinear::build(source, &format!("style.{i}"), [dim, dim], lr, 0.0, true))
            .collect::<Result<Vec<_>, _>>()?;
        let input = ConstantInput::build(source, "input", channels[0])?;
        let conv1 = StyledConv::build(source, "conv1", [channels[0], channels[0]], dim, false)?;
        let to_rgb1 = ToRgb::build(source, "to_rgb1", channels[0], dim, false)?;
        let (mut convs, mut to_rgbs) = (Vec::new(), Vec::new());
        for (i, pair) in channels.windows(2).enumerate() {
            convs.push(StyledConv::build(source, &format!("convs.{}", 2 * i), [pair[0], pair[1]], dim, true)?);
            convs.push(StyledConv::build(source, &format!("convs.{}", 2 * i + 1), [pair[1], pair[1]], dim, false)?);
            to_rgbs.push(ToRgb::build(source, &format!("to_rgbs.{i}"), pair[1], dim, true)?);
        }
        let noises = noise_shapes(self.log_size())
            .into_iter()
            .enumerate()
            .map(|(i, shape)| source.optional_tensor(&format!("noises.noise_{i}"), &shape, shape, Init::Normal(1.0)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StyleGan2 { style, input, conv1, to_rgb1, convs, to_rgbs, noises, style_dim: dim, resolution: self.resolution })
    }
}

/// Shapes [1, 1, s, s] of rosinality's fixed noise buffers for a generator of 2^`log_size` px.
fn noise_shapes(log_size: usize) -> Vec<[usize; 4]> {
    (0..(log_size - 2) * 2 + 1).map(|i| 1usize << ((i + 5) / 2)).map(|s| [1, 1, s, s]).collect()
}

/// What the generator is driven by.
#[derive(Debug, Clone)]
pub enum Latents {
    /// z [N, style_dim], mapped to w.
    Z(Tensor<2>),
    /// One w [N, style_dim] per image, used for every layer.
    W(Tensor<2>),
    /// W+ [N, n_latent, style_dim]: one w per layer.
    WPlus(Tensor<3>),
}

/// The per-pixel noise of the synthesis layers.
#[derive(Debug, Clone)]
pub enum Noise {
    /// The generator's fixed noise buffers (rosinality `randomize_noise=False`): deterministic.
    Fixed,
    /// Fresh standard-normal noise for every image and call (rosinality's default).
    Random,
    /// One tensor per layer, [N or 1, 1, s, s] with the sizes of [`StyleGan2::noise_shapes`].
    Explicit(Vec<Tensor<4>>),
}

/// The truncation trick: w = mean + psi (w - mean).
#[derive(Debug, Clone)]
pub struct Truncation {
    /// 1 keeps w, 0 gives the mean face.
    pub psi: f32,
    /// The mean w [1, style_dim] (see [`StyleGan2::mean_latent`]).
    pub mean: Tensor<2>,
}

/// A StyleGAN2 generator in rosinality's layout. Module paths match the checkpoint keys except
/// that the mapping layers `style.1..=n_mlp` are `style.0..n_mlp` here.
#[derive(Module, Debug)]
pub struct StyleGan2 {
    /// Mapping network layers.
    pub style: Vec<EqualLinear>,
    /// The learned 4x4 constant.
    pub input: ConstantInput,
    /// The 4x4 styled convolution.
    pub conv1: StyledConv,
    /// The 4x4 ToRGB.
    pub to_rgb1: ToRgb,
    /// Two styled convolutions per resolution 8..: the first upsamples.
    pub convs: Vec<StyledConv>,
    /// One ToRGB per resolution 8...
    pub to_rgbs: Vec<ToRgb>,
    /// Fixed noise buffers [1, 1, s, s] (constants, not parameters).
    pub noises: Vec<Tensor<4>>,
    /// Size of z and w.
    style_dim: usize,
    /// Output size in pixels.
    resolution: usize,
}

impl StyleGan2 {
    /// Loads the `g_ema` generator of a rosinality checkpoint (`.pt`, a dict with `g_ema`, or a
    /// bare state dict) or a safetensors file with the same keys. The architecture (resolution,
    /// channels, mapping depth, style size) is read from the tensor shapes.
    pub fn from_checkpoint(path: &std::path::Path, device: &Device) -> Result<Self, StyleGan2Error> {
        let mut map = checkpoint::read(path)?;
        let config = checkpoint::infer_config(&map)?;
        let model = config.build(&mut WeightSource::checkpoint(&mut map, device))?;
        let unused: Vec<_> = map.tensors.keys().filter(|k| !k.ends_with(".kernel") && *k != checkpoint::LATENT_AVG).collect();
        if !unused.is_empty() {
            log::warn!("{}: {} tensors not used: {unused:?}", map.file, unused.len());
        }
        Ok(model)
    }

    /// The mean w [1, style_dim] stored in a checkpoint as `latent_avg` (converted official
    /// weights have it; rosinality's training checkpoints do not), for [`Truncation`].
    pub fn latent_avg_from_checkpoint(path: &std::path::Path, device: &Device) -> Result<Option<Tensor<2>>, StyleGan2Error> {
        let Some(raw) = checkpoint::read_latent_avg(path)? else { return Ok(None) };
        let dim = raw.values.len();
        Ok(Some(Tensor::from_data(TensorData::new(raw.values, [1, dim]), device)))
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.input.input.device()
    }

    /// Output resolution in pixels (square).
    pub fn resolution(&self) -> usize {
        self.resolution
    }

    /// Size of z and w.
    pub fn style_dim(&self) -> usize {
        self.style_dim
    }

    /// Number of W+ rows (2 log2(resolution) - 2).
    pub fn n_latent(&self) -> usize {
        self.convs.len() + 2
    }

    /// Shapes of the per-layer noise tensors [1, 1, s, s].
    pub fn noise_shapes(&self) -> Vec<[usize; 4]> {
        noise_shapes(self.resolution.trailing_zeros() as usize)
    }

    /// The configuration that builds a generator of this shape.
    pub fn config(&self) -> StyleGan2Config {
        let mut channels = vec![self.input.input.dims()[1]];
        channels.extend(self.to_rgbs.iter().map(|t| t.conv.weight.dims()[1]));
        StyleGan2Config::new()
            .with_resolution(self.resolution)
            .with_style_dim(self.style_dim)
            .with_n_mlp(self.style.len())
            .with_channels(Some(channels))
    }

    /// The mapping network: z [N, style_dim] -> w [N, style_dim].
    pub fn mapping(&self, z: Tensor<2>) -> Tensor<2> {
        let normalized = z.clone() * z.powf_scalar(2.0).mean_dim(1).add_scalar(1e-8).sqrt().recip();
        self.style.iter().fold(normalized, |x, layer| layer.forward(x))
    }

    /// The mean w of `count` mapped standard-normal z drawn from `seed`, [1, style_dim].
    pub fn mean_latent(&self, count: usize, seed: u64) -> Tensor<2> {
        let z = normal_latents(seed, count, self.style_dim);
        let z = Tensor::<2>::from_data(TensorData::new(z, [count, self.style_dim]), &self.device());
        self.mapping(z).mean_dim(0)
    }

    /// W+ [N, n_latent, style_dim] for `latents`, truncated if asked.
    pub fn w_plus(&self, latents: Latents, truncation: Option<&Truncation>) -> Tensor<3> {
        let rows = self.n_latent();
        let w_plus = match latents {
            Latents::Z(z) => self.mapping(z).unsqueeze_dim::<3>(1).repeat_dim(1, rows),
            Latents::W(w) => w.unsqueeze_dim::<3>(1).repeat_dim(1, rows),
            Latents::WPlus(w_plus) => w_plus,
        };
        match truncation {
            Some(t) => {
                let mean = t.mean.clone().unsqueeze_dim::<3>(0);
                (w_plus - mean.clone()).mul_scalar(t.psi) + mean
            }
            None => w_plus,
        }
    }

    /// Images [N, 3, resolution, resolution] (roughly in [-1, 1]) from `latents`.
    pub fn forward(&self, latents: Latents, truncation: Option<&Truncation>, noise: &Noise) -> Tensor<4> {
        self.synthesis(self.w_plus(latents, truncation), noise)
    }

    /// The synthesis network: W+ [N, n_latent, style_dim] -> images [N, 3, resolution, resolution].
    /// Panics if W+ has the wrong number of rows or explicit noise the wrong number of tensors.
    pub fn synthesis(&self, w_plus: Tensor<3>, noise: &Noise) -> Tensor<4> {
        self.synthesis_up_to(w_plus, noise, self.resolution)
    }

    /// The synthesis network stopped at `side` pixels (a power of two from 4 to the resolution): the
    /// ToRGB skip sum at that resolution, which is the coarse image the finer layers add detail to. Costs
    /// only the layers up to `side`; used for previews and for tuning large models at a lower resolution.
    pub fn synthesis_up_to(&self, w_plus: Tensor<3>, noise: &Noise, side: usize) -> Tensor<4> {
        let [n, rows, dim] = w_plus.dims();
        assert_eq!(rows, self.n_latent(), "W+ needs {} rows", self.n_latent());
        let levels = (side.clamp(4, self.resolution).trailing_zeros() as usize).saturating_sub(2);
        let w = |i: usize| w_plus.clone().narrow(1, i, 1).reshape([n, dim]);
        let noises = self.layer_noise(noise, n);
        let mut out = self.conv1.forward(self.input.forward(n), w(0), noises[0].clone());
        let mut skip = self.to_rgb1.forward(out.clone(), w(1), None);
        for (level, to_rgb) in self.to_rgbs.iter().enumerate().take(levels) {
            let i = 2 * level + 1;
            out = self.convs[2 * level].forward(out, w(i), noises[i].clone());
            out = self.convs[2 * level + 1].forward(out, w(i + 1), noises[i + 1].clone());
            skip = to_rgb.forward(out.clone(), w(i + 2), Some(skip));
        }
        skip
    }

    /// The noise tensor of every layer for a batch of `n`.
    fn layer_noise(&self, noise: &Noise, n: usize) -> Vec<Tensor<4>> {
        match noise {
            Noise::Fixed => self.noises.clone(),
            Noise::Explicit(noises) => {
                assert_eq!(noises.len(), self.noises.len(), "one noise tensor per layer");
                noises.clone()
            }
            Noise::Random => {
                let device = self.device();
                let normal = Distribution::Normal(0.0, 1.0);
                self.noise_shapes().into_iter().map(|[_, c, h, w]| Tensor::random([n, c, h, w], normal, &device)).collect()
            }
        }
    }
}
