//! Face generators and their weights. The embedded default is a 64x64 DCGAN ([`Dcgan64`]);
//! latent vectors are drawn by [`latent::normal_latents`] so that a seed always gives the same faces.

pub mod dcgan;
pub mod latent;
pub mod render;
pub mod stylegan2;
pub mod weights;

pub use dcgan::{Dcgan64, DcganConfig};
pub use render::DcganRenderer;

use burn::tensor::{Device, Tensor};
use image::RgbImage;

use crate::imaging::{ImagingError, tensor_to_images};

/// Faces rendered per forward pass when sampling many, to bound memory.
const SAMPLE_BATCH: usize = 16;

/// `count` faces from `seed`: face `i` comes from latent `i` of [`latent::normal_latents`], so the
/// same seed gives the same faces, and a larger count keeps the first ones.
pub fn sample_faces(
    model: &DcganRenderer,
    seed: u64,
    count: usize,
    device: &Device,
) -> Result<Vec<RgbImage>, ImagingError> {
    let dim = model.latent_dim();
    let z = latent::normal_latents(seed, count, dim);
    let mut faces = Vec::with_capacity(count);
    for (chunk_index, chunk) in z.chunks(SAMPLE_BATCH * dim).enumerate() {
        let n = chunk.len() / dim;
        let latents = Tensor::<2>::from_data(burn::tensor::TensorData::new(chunk.to_vec(), [n, dim]), device);
        faces.extend(tensor_to_images(model.forward(latents))?);
        log::debug!("sampled faces {}..{}", chunk_index * SAMPLE_BATCH, chunk_index * SAMPLE_BATCH + n);
    }
    Ok(faces)
}
