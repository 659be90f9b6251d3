//! One interface over every generator ([`FaceGenerator`]) and the generator the workflows hold
//! ([`Generator`]: the embedded DCGAN or a user's StyleGAN2 checkpoint), with where it came from
//! ([`ModelSource`], saved in a project so that a tuned generator can be rebuilt and compared with its
//! untuned start).
//!
//! The workflows (anchors, tuning, organization, projection, editing, evaluation) compare generated faces
//! with photos at [`FACE_SIZE`] pixels, where the loss and attribute networks work: [`FaceGenerator::faces`].
//! What is shown and exported comes from [`FaceGenerator::render`] at up to the model's full resolution.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::dcgan::Dcgan64;
use super::render::DcganRenderer;
use super::latent::normal_latents;
use super::stylegan2::{Latents, Noise, StyleGan2};
use super::weights::{DEFAULT_MODEL_NAME, WeightsError, dcgan_from_bytes, dcgan_to_bytes, default_dcgan};

/// Side in pixels of the faces the workflows compare with photos (the loss and attribute networks' input).
pub const FACE_SIZE: usize = 64;
/// Largest side a StyleGAN2 is run at while tuning, projecting and editing; larger models stop their
/// synthesis here (the coarse image of the skip architecture), which bounds memory and time.
pub const WORK_SIDE: usize = 256;
/// Rows of z mapped to estimate the mean w when a checkpoint does not carry one.
const MEAN_LATENT_SAMPLES: usize = 4096;

/// The latent space the workflows use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LatentKind {
    /// A standard-normal z fed to the network directly (DCGAN).
    Z,
    /// StyleGAN2's intermediate w, the same for every layer (MyStyle's anchors live here).
    W,
}

/// What every generator offers the workflows.
pub trait FaceGenerator {
    /// A human-readable name with the resolution.
    fn name(&self) -> String;
    /// Output side in pixels (square).
    fn resolution(&self) -> usize;
    /// The latent space of [`FaceGenerator::faces`] and [`FaceGenerator::render`].
    fn latent_kind(&self) -> LatentKind;
    /// Values per latent.
    fn latent_dim(&self) -> usize;
    /// The device the weights live on.
    fn device(&self) -> Device;
    /// Faces [N, 3, FACE_SIZE, FACE_SIZE] in [-1, 1] from latents [N, latent_dim]: what tuning, projection
    /// and editing compare with photos. Differentiable.
    fn faces(&self, latents: Tensor<2>) -> Tensor<4>;
    /// Images [N, 3, s, s] in [-1, 1] for display and export: s is the largest output side the network has
    /// up to `max_side` (StyleGAN2 stops its synthesis at that layer), or its resolution when it has no
    /// smaller output (the DCGAN).
    fn render(&self, latents: Tensor<2>, max_side: usize) -> Tensor<4>;
    /// `count` latents from the generator's own distribution; latent `i` depends only on (`seed`, `i`).
    fn random_latents(&self, seed: u64, count: usize) -> Tensor<2>;
    /// A penalty [N] per latent that is 0 where the generator was trained and grows away from it (keeps
    /// inversions in-distribution).
    fn latent_penalty(&self, latents: Tensor<2>) -> Tensor<1>;
}

/// A StyleGAN2 driven in W: fixed noise, the mean w for truncation and penalties, synthesis stopped at
/// [`WORK_SIDE`] for [`FaceGenerator::faces`].
#[derive(Module, Debug)]
pub struct StyleGan2Face {
    /// The network.
    pub net: StyleGan2,
    /// The mean w [1, style_dim] (the checkpoint's `latent_avg`, or estimated by mapping many z).
    pub w_avg: Tensor<2>,
    /// The spread of w around its mean (root mean square per value), to scale the latent penalty.
    pub w_spread: f32,
}

impl StyleGan2Face {
    /// Wraps `net`; `w_avg` is the checkpoint's mean w if it has one.
    pub fn new(net: StyleGan2, w_avg: Option<Tensor<2>>) -> Self {
        let dim = net.style_dim();
        let device = net.device();
        let z = Tensor::<2>::from_data(TensorData::new(normal_latents(0x5EED, 512, dim), [512, dim]), &device);
        let sample = net.mapping(z);
        // Constants: no autodiff history (on an autodiff device, a history would be consumed by the first
        // backward pass that used it).
        let w_avg = w_avg.unwrap_or_else(|| net.mean_latent(MEAN_LATENT_SAMPLES, 0x3EA7)).detach();
        let spread: f32 = (sample - w_avg.clone()).powf_scalar(2.0).mean().sqrt().into_scalar();
        Self { net, w_avg, w_spread: spread.max(1e-6) }
    }

    fn w_plus(&self, w: Tensor<2>) -> Tensor<3> {
        self.net.w_plus(Latents::W(w), None)
    }
}

impl FaceGenerator for StyleGan2Face {
    fn name(&self) -> String {
        format!("StyleGAN2 {0}x{0}", self.net.resolution())
    }
    fn resolution(&self) -> usize {
        self.net.resolution()
    }
    fn latent_kind(&self) -> LatentKind {
        LatentKind::W
    }
    fn latent_dim(&self) -> usize {
        self.net.style_dim()
    }
    fn device(&self) -> Device {
        self.net.device()
    }
    fn faces(&self, latents: Tensor<2>) -> Tensor<4> {
        let side = self.resolution().min(WORK_SIDE);
        let image = self.net.synthesis_up_to(self.w_plus(latents), &Noise::Fixed, side);
        resize_to_face(image)
    }
    fn render(&self, latents: Tensor<2>, max_side: usize) -> Tensor<4> {
        self.net.synthesis_up_to(self.w_plus(latents), &Noise::Fixed, max_side).clamp(-1.0, 1.0)
    }
    fn random_latents(&self, seed: u64, count: usize) -> Tensor<2> {
        let dim = self.latent_dim();
        let z = Tensor::<2>::from_data(TensorData::new(normal_latents(seed, count, dim), [count, dim]), &self.device());
        self.net.mapping(z).detach()
    }
    fn latent_penalty(&self, latents: Tensor<2>) -> Tensor<1> {
        let n = latents.dims()[0];
        ((latents - self.w_avg.clone()) / self.w_spread).powf_scalar(2.0).mean_dim(1).reshape([n])
    }
}

impl FaceGenerator for Dcgan64 {
    fn name(&self) -> String {
        DEFAULT_MODEL_NAME.to_string()
    }
    fn resolution(&self) -> usize {
        Dcgan64::RESOLUTION
    }
    fn latent_kind(&self) -> LatentKind {
        LatentKind::Z
    }
    fn latent_dim(&self) -> usize {
        Dcgan64::latent_dim(self)
    }
    fn device(&self) -> Device {
        Dcgan64::device(self)
    }
    fn faces(&self, latents: Tensor<2>) -> Tensor<4> {
        self.forward(latents)
    }
    fn render(&self, latents: Tensor<2>, _max_side: usize) -> Tensor<4> {
        self.forward(latents)
    }
    fn random_latents(&self, seed: u64, count: usize) -> Tensor<2> {
        let dim = self.latent_dim();
        Tensor::from_data(TensorData::new(normal_latents(seed, count, dim), [count, dim]), &self.device())
    }
    /// The Gaussian shell: (|z|^2 / dim - 1)^2.
    fn latent_penalty(&self, latents: Tensor<2>) -> Tensor<1> {
        let n = latents.dims()[0];
        (latents.powf_scalar(2.0).mean_dim(1).reshape([n]) - 1.0).powf_scalar(2.0)
    }
}

/// Area-averages images to [`FACE_SIZE`] (sides are powers of two at least that large).
fn resize_to_face(image: Tensor<4>) -> Tensor<4> {
    let side = image.dims()[2];
    if side <= FACE_SIZE {
        return image;
    }
    let k = side / FACE_SIZE;
    avg_pool2d(image, AvgPoolOptions::new([k, k]))
}

/// The generator the workflows hold.
#[derive(Module, Debug)]
pub enum Generator {
    /// The embedded 64x64 DCGAN (or a tuned copy).
    Dcgan(Dcgan64),
    /// A StyleGAN2 from a user's checkpoint (or a tuned copy).
    StyleGan2(StyleGan2Face),
}

impl Generator {
    fn inner(&self) -> &dyn FaceGenerator {
        match self {
            Self::Dcgan(g) => g,
            Self::StyleGan2(g) => g,
        }
    }

    /// Only what tuning may change keeps gradients: the whole DCGAN (its batch-norm statistics are fixed
    /// buffers), StyleGAN2's synthesis network (the mapping is frozen: the anchors live in W).
    pub fn for_tuning(self) -> Self {
        match self {
            Self::Dcgan(g) => Self::Dcgan(g),
            Self::StyleGan2(mut g) => {
                g.net.style = g.net.style.into_iter().map(|layer| layer.no_grad()).collect();
                Self::StyleGan2(g)
            }
        }
    }

    /// The weights as safetensors bytes (burn's key layout), read back by [`ModelSource::load_tuned`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, WeightsError> {
        match self {
            Self::Dcgan(g) => dcgan_to_bytes(g),
            Self::StyleGan2(g) => {
                let fail = |reason: String| WeightsError::Load { source_name: "the generator in memory".into(), reason };
                let mut store = SafetensorsStore::from_bytes(None);
                g.net.save_into(&mut store).map_err(|e| fail(e.to_string()))?;
                store.get_bytes().map_err(|e| fail(e.to_string()))
            }
        }
    }

    /// Multiply-adds of one [`FaceGenerator::faces`] pass per image, roughly (for time and memory estimates).
    pub fn work_per_face(&self) -> f64 {
        match self {
            Self::Dcgan(_) => 0.12e9,
            Self::StyleGan2(g) => {
                let config = g.net.config();
                let channels = config.channel_table();
                let side_limit = g.resolution().min(WORK_SIDE);
                let mut macs = 0.0;
                let mut prev = channels[0];
                for (level, &c) in channels.iter().enumerate() {
                    let side = 4usize << level;
                    if side > side_limit {
                        break;
                    }
                    let convs = if level == 0 { (prev * c) as f64 } else { (prev * c + c * c) as f64 };
                    macs += convs * 9.0 * (side * side) as f64;
                    prev = c;
                }
                macs
            }
        }
    }

    /// Bytes of activations one face needs in a training step (forward kept for backward), roughly.
    pub fn training_bytes_per_face(&self) -> f64 {
        match self {
            Self::Dcgan(_) => 8e6,
            Self::StyleGan2(g) => {
                let channels = g.net.config().channel_table();
                let side_limit = g.resolution().min(WORK_SIDE);
                let floats: f64 = channels
                    .iter()
                    .enumerate()
                    .filter(|(level, _)| (4usize << level) <= side_limit)
                    .map(|(level, &c)| (c * (4usize << level).pow(2)) as f64)
                    .sum();
                // Two convolutions per level, each keeping its input, modulated output, noise, bias and
                // activation for the backward pass.
                floats * 2.0 * 6.0 * 4.0
            }
        }
    }

    /// The tuning batch that fits in `memory_bytes` of activations, at most `requested`, at least 1.
    pub fn tuning_batch(&self, requested: usize, memory_bytes: f64) -> usize {
        ((memory_bytes / self.training_bytes_per_face()) as usize).clamp(1, requested.max(1))
    }
}

impl FaceGenerator for Generator {
    fn name(&self) -> String {
        self.inner().name()
    }
    fn resolution(&self) -> usize {
        self.inner().resolution()
    }
    fn latent_kind(&self) -> LatentKind {
        self.inner().latent_kind()
    }
    fn latent_dim(&self) -> usize {
        self.inner().latent_dim()
    }
    fn device(&self) -> Device {
        self.inner().device()
    }
    fn faces(&self, latents: Tensor<2>) -> Tensor<4> {
        self.inner().faces(latents)
    }
    fn render(&self, latents: Tensor<2>, max_side: usize) -> Tensor<4> {
        self.inner().render(latents, max_side)
    }
    fn random_latents(&self, seed: u64, count: usize) -> Tensor<2> {
        self.inner().random_latents(seed, count)
    }
    fn latent_penalty(&self, latents: Tensor<2>) -> Tensor<1> {
        self.inner().latent_penalty(latents)
    }
}

/// An inference-only view of a [`Generator`] for drawing many faces: the DCGAN's folded, multi-threaded
/// [`DcganRenderer`], or the generator itself.
pub enum Renderer {
    /// The DCGAN with batch norm folded in.
    Dcgan(DcganRenderer),
    /// Any other generator, drawn through [`FaceGenerator::render`].
    Generic(Generator),
}

impl Renderer {
    /// A renderer of `generator`; `parallel_parts` as in [`DcganRenderer::new`].
    pub fn new(generator: &Generator, parallel_parts: usize) -> Self {
        match generator {
            Generator::Dcgan(g) => Self::Dcgan(DcganRenderer::new(g, parallel_parts)),
            other => Self::Generic(other.clone()),
        }
    }

    /// Images [N, 3, s, s] in [-1, 1], s = min(resolution, `max_side`).
    pub fn render(&self, latents: Tensor<2>, max_side: usize) -> Tensor<4> {
        match self {
            Self::Dcgan(r) => r.forward(latents),
            Self::Generic(g) => g.render(latents, max_side),
        }
    }
}

/// Where a project's generator came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelSource {
    /// The embedded 64x64 DCGAN.
    #[default]
    DefaultDcgan,
    /// A rosinality-format StyleGAN2 checkpoint (`.pt` or safetensors) on disk.
    StyleGan2 {
        /// The checkpoint file.
        checkpoint: PathBuf,
    },
}

/// The file in a project folder that names its [`ModelSource`]; projects without it use the DCGAN.
pub const MODEL_FILE: &str = "model.json";

impl ModelSource {
    /// A checkpoint file chosen by the user, by its absolute path when it exists (a project remembers it,
    /// and later commands may run from another folder).
    pub fn checkpoint(path: &Path) -> Self {
        Self::StyleGan2 { checkpoint: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()) }
    }

    /// Loads the untuned generator on `device`.
    pub fn load(&self, device: &Device) -> anyhow::Result<Generator> {
        Ok(match self {
            Self::DefaultDcgan => Generator::Dcgan(default_dcgan(device)?),
            Self::StyleGan2 { checkpoint } => {
                let net = StyleGan2::from_checkpoint(checkpoint, device)?;
                let w_avg = StyleGan2::latent_avg_from_checkpoint(checkpoint, device)?;
                Generator::StyleGan2(StyleGan2Face::new(net, w_avg))
            }
        })
    }

    /// Loads tuned weights (written by [`Generator::to_bytes`]) over this source's architecture.
    pub fn load_tuned(&self, bytes: Vec<u8>, source_name: &str, device: &Device) -> anyhow::Result<Generator> {
        match self.load(device)? {
            Generator::Dcgan(_) => Ok(Generator::Dcgan(dcgan_from_bytes(bytes, source_name, device)?)),
            Generator::StyleGan2(mut face) => {
                let fail = |reason: String| WeightsError::Load { source_name: source_name.to_string(), reason };
                let mut store = SafetensorsStore::from_bytes(Some(bytes));
                let result = face.net.load_from(&mut store).map_err(|e| fail(e.to_string()))?;
                if !result.missing.is_empty() || !result.errors.is_empty() {
                    return Err(fail(format!("missing tensors {:?}; errors {:?}", result.missing, result.errors)).into());
                }
                Ok(Generator::StyleGan2(face))
            }
        }
    }

    /// The model source saved in `project` (the DCGAN when none is saved).
    pub fn of_project(project: &Path) -> anyhow::Result<Self> {
        let path = project.join(MODEL_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::DefaultDcgan),
            Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
        }
    }

    /// Saves this source into `project` (atomically).
    pub fn save_to_project(&self, project: &Path) -> anyhow::Result<()> {
        let path = project.join(MODEL_FILE);
        let json = serde_json::to_vec_pretty(self).expect("a model source serializes");
        crate::atomic::write_atomic(&path, &json).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}

/// A readable name for a source without loading it.
impl std::fmt::Display for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DefaultDcgan => write!(f, "{DEFAULT_MODEL_NAME}"),
            Self::StyleGan2 { checkpoint } => write!(f, "StyleGAN2 ({})", checkpoint.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::stylegan2::StyleGan2Config;

    #[test]
    fn a_checkpoint_is_remembered_by_its_absolute_path() {
        let relative = Path::new("tests/fixtures/stylegan2/tiny_g_ema.pt");
        let ModelSource::StyleGan2 { checkpoint } = ModelSource::checkpoint(relative) else { unreachable!() };
        assert!(checkpoint.is_absolute() && checkpoint.ends_with(relative), "{}", checkpoint.display());
        // A path that does not exist stays as given (loading it names it in the error).
        assert_eq!(ModelSource::checkpoint(Path::new("missing.pt")), ModelSource::StyleGan2 { checkpoint: "missing.pt".into() });
    }

    #[test]
    fn a_large_stylegan2_works_at_a_bounded_side_and_batch() {
        let device = Device::flex();
        let config = StyleGan2Config::new().with_resolution(128).with_style_dim(16).with_n_mlp(2).with_channels(Some(vec![8, 8, 8, 8, 8, 4]));
        let generator = Generator::StyleGan2(StyleGan2Face::new(config.init(&device), None));
        let w = generator.random_latents(1, 2);
        assert_eq!(w.dims(), [2, 16]);
        assert_eq!(generator.faces(w.clone()).dims(), [2, 3, FACE_SIZE, FACE_SIZE]);
        assert_eq!(generator.render(w.clone(), 32).dims(), [2, 3, 32, 32]);
        assert_eq!(generator.render(w.clone(), 4096).dims(), [2, 3, 128, 128]);
        // The 64 px face is the full 128 px image's 2x2 area average (the synthesis went to 128 px).
        let Generator::StyleGan2(face) = &generator else { unreachable!() };
        let full = face.net.forward(Latents::W(w.clone()), None, &Noise::Fixed);
        let pooled = avg_pool2d(full, AvgPoolOptions::new([2, 2]));
        let diff: f32 = (pooled - generator.faces(w.clone())).abs().max().into_scalar();
        assert!(diff < 1e-4, "faces differ from the pooled image by {diff}");
        // The mean w has (almost) no penalty; random w about 1.
        let at_mean: f32 = generator.latent_penalty(face.w_avg.clone()).into_scalar();
        let random: f32 = generator.latent_penalty(w).mean().into_scalar();
        assert!(at_mean < 1e-6 && (0.5..2.0).contains(&random), "penalties {at_mean} {random}");
        // Memory decides the batch: a budget for 3 faces gives 3, never 0, never more than asked.
        let per = generator.training_bytes_per_face();
        assert_eq!(generator.tuning_batch(8, per * 3.5), 3);
        assert_eq!(generator.tuning_batch(8, 1.0), 1);
        assert_eq!(generator.tuning_batch(2, per * 100.0), 2);
    }
}
