//! A personalized prior as saved by the personalize job: the tuned generator and the anchors. Samples are
//! random convex mixes of three anchors ([`super::space`]) drawn by the tuned generator.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use image::RgbImage;

use super::job::FACES_DIR;
use super::space::{mix, sample_coefficients};
use crate::generator::model::Renderer;
use crate::generator::{FaceGenerator, Generator, ModelSource};
use crate::imaging::tensor_to_images;

/// The tuned generator and the person's anchors.
pub struct PersonalPrior {
    /// The tuned generator.
    pub generator: Generator,
    /// Where the untuned generator came from.
    pub model: ModelSource,
    /// One latent per photo.
    pub anchors: Vec<Vec<f32>>,
}

impl PersonalPrior {
    /// Loads `generator.safetensors` (over the architecture of the project's [`ModelSource`]) and
    /// `anchors.json` from a project folder.
    pub fn load(project: &Path, device: &Device) -> anyhow::Result<Self> {
        if !project.is_dir() {
            anyhow::bail!("{}: no such project folder", project.display());
        }
        let weights_path = project.join("generator.safetensors");
        let weights = std::fs::read(&weights_path)
            .map_err(|e| anyhow::anyhow!("{}: {e} (has the project been personalized?)", weights_path.display()))?;
        let model = ModelSource::of_project(project)?;
        let generator = model.load_tuned(weights, &weights_path.display().to_string(), device)?;
        let anchors_path = project.join("anchors.json");
        let text = std::fs::read(&anchors_path).map_err(|e| anyhow::anyhow!("{}: {e}", anchors_path.display()))?;
        let anchors: Vec<Vec<f32>> = serde_json::from_slice(&text).map_err(|e| anyhow::anyhow!("{}: {e}", anchors_path.display()))?;
        if anchors.is_empty() || anchors.iter().any(|a| a.len() != generator.latent_dim()) {
            anyhow::bail!("{}: the anchors do not fit the generator", anchors_path.display());
        }
        Ok(Self { generator, model, anchors })
    }

    /// The faces the prior was tuned on (`faces/NNN.png` of a project folder), in anchor order.
    pub fn training_faces(project: &Path) -> anyhow::Result<Vec<RgbImage>> {
        let dir = project.join(FACES_DIR);
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| anyhow::anyhow!("{}: {e} (has the project been personalized?)", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "png"))
            .collect();
        paths.sort();
        paths.iter().map(|p| Ok(image::open(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?.to_rgb8())).collect()
    }

    /// `count` samples from P_beta (sample `i` uses seed `seed + i`) at up to `max_side` pixels, drawn with
    /// `parallel_parts` as in [`Renderer::new`].
    pub fn sample(&self, seed: u64, count: usize, max_side: usize, parallel_parts: usize) -> anyhow::Result<Vec<RgbImage>> {
        let dim = self.generator.latent_dim();
        let latents: Vec<f32> = (0..count as u64)
            .flat_map(|i| mix(&self.anchors, &sample_coefficients(self.anchors.len(), seed.wrapping_add(i))))
            .collect();
        let device = self.generator.device();
        let z = Tensor::<2>::from_data(TensorData::new(latents, [count, dim]), &device);
        Ok(tensor_to_images(Renderer::new(&self.generator, parallel_parts).render(z, max_side))?)
    }
}
