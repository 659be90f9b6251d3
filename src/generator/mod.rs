//! Face generators and their weights: the embedded 64x64 DCGAN ([`Dcgan64`]) and a user's StyleGAN2
//! ([`stylegan2::StyleGan2`]), both behind [`FaceGenerator`] as a [`Generator`]. Latent vectors are drawn
//! from [`latent::normal_latents`] so that a seed always gives the same faces.

pub mod dcgan;
pub mod latent;
pub mod model;
pub mod render;
pub mod stylegan2;
pub mod weights;

pub use dcgan::{Dcgan64, DcganConfig};
pub use model::{FACE_SIZE, FaceGenerator, Generator, LatentKind, ModelSource};
pub use render::DcganRenderer;

use image::RgbImage;

use crate::imaging::{ImagingError, tensor_to_images};
use model::Renderer;


/// Faces rendered per forward pass when sampling many, to bound memory.
const SAMPLE_BATCH: usize = 16;

/// `count` faces of `generator` from `seed` at up to `max_side` pixels, drawn by `renderer` (made from the
/// same generator): face `i` comes from latent `i` of [`FaceGenerator::random_latents`], so the same seed
/// gives the same faces, and a larger count keeps the first ones.
pub fn sample_faces(
    generator: &Generator,
    renderer: &Renderer,
    seed: u64,
    count: usize,
    max_side: usize,
) -> Result<Vec<RgbImage>, ImagingError> {
    let latents = generator.random_latents(seed, count);
    let mut faces = Vec::with_capacity(count);
    for start in (0..count).step_by(SAMPLE_BATCH) {
        let n = SAMPLE_BATCH.min(count - start);
        faces.extend(tensor_to_images(renderer.render(latents.clone().narrow(0, start, n), max_side))?);
        log::debug!("sampled faces {start}..{}", start + n);
    }
    Ok(faces)
}
