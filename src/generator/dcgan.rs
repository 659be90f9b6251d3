//! The default generator: the 64x64 DCGAN of `gan-face-generate` 1.1.1 (trained on DigiFace-1M).
//! z [N,100] ~ N(0, I) -> ConvTranspose(k4,s1,p0) 100->512, then ConvTranspose(k4,s2,p1)
//! 512->256->128->64 (each with BatchNorm + ReLU), then ConvTranspose(k4,s2,p1) 64->3 + tanh:
//! an image [N,3,64,64] in [-1, 1]. No biases. BatchNorm always uses its stored statistics.

use burn::module::Module;
use burn::nn::conv::{ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::config::Config;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// Shape of the DCGAN (the published network uses the defaults).
#[derive(Config, Debug)]
pub struct DcganConfig {
    /// Latent size (nz).
    #[config(default = 100)]
    pub latent_dim: usize,
    /// Feature maps of the last hidden layer (ngf); the first has 8x as many.
    #[config(default = 64)]
    pub base_channels: usize,
    /// Image channels (nc).
    #[config(default = 3)]
    pub image_channels: usize,
}

/// One upsampling stage: transposed convolution, batch norm (inference statistics), ReLU.
#[derive(Module, Debug)]
pub struct UpBlock {
    pub(crate) conv: ConvTranspose2d,
    pub(crate) norm: BatchNorm,
}

impl UpBlock {
    fn new(channels_in: usize, channels_out: usize, first: bool, device: &Device) -> Self {
        let (stride, padding) = if first { (1, 0) } else { (2, 1) };
        let conv = ConvTranspose2dConfig::new([channels_in, channels_out], [4, 4])
            .with_stride([stride, stride])
            .with_padding([padding, padding])
            .with_bias(false)
            .init(device);
        let mut norm = BatchNormConfig::new(channels_out).init(device);
        // Always normalize with the stored statistics, also on an autodiff device during tuning: the
        // generator is fine-tuned on batches of a few photos of one person, whose batch statistics would
        // wreck the pretrained network.
        norm.training = norm.training.with_value(false);
        Self { conv, norm }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.norm.forward(self.conv.forward(x)))
    }
}

/// The 64x64 DCGAN generator as a burn module.
#[derive(Module, Debug)]
pub struct Dcgan64 {
    pub(crate) blocks: Vec<UpBlock>,
    pub(crate) to_rgb: ConvTranspose2d,
}

impl DcganConfig {
    /// Builds the network with untrained weights on `device` (load trained ones with
    /// [`crate::generator::weights`]).
    pub fn init(&self, device: &Device) -> Dcgan64 {
        let ngf = self.base_channels;
        let widths = [self.latent_dim, ngf * 8, ngf * 4, ngf * 2, ngf];
        let blocks = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| UpBlock::new(w[0], w[1], i == 0, device))
            .collect();
        let to_rgb = ConvTranspose2dConfig::new([ngf, self.image_channels], [4, 4])
            .with_stride([2, 2])
            .with_padding([1, 1])
            .with_bias(false)
            .init(device);
        Dcgan64 { blocks, to_rgb }
    }
}

impl Dcgan64 {
    /// Output resolution in pixels (square).
    pub const RESOLUTION: usize = 64;

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.to_rgb.weight.device()
    }

    /// Size of the latent vector z.
    pub fn latent_dim(&self) -> usize {
        self.blocks[0].conv.weight.shape().dims::<4>()[0]
    }

    /// Generates images [N,3,64,64] in [-1, 1] from latents z [N, latent_dim].
    pub fn forward(&self, z: Tensor<2>) -> Tensor<4> {
        let [n, d] = z.dims();
        let mut x = z.reshape([n, d, 1, 1]);
        for block in &self.blocks {
            x = block.forward(x);
        }
        self.to_rgb.forward(x).tanh()
    }
}
