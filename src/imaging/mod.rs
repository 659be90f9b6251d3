//! Pixels in and out: reading photos (by content, upright, RGB8), finding them in folders, generator
//! tensors to RGB images, contact-sheet grids, and atomic export.

pub mod export;
pub mod grid;
pub mod label;
pub mod load;
pub mod scan;

use burn::tensor::Tensor;
use image::RgbImage;

/// Errors when turning tensors into images.
#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    /// Reading the tensor back from the device failed.
    #[error("cannot read the generated images back from the device: {0}")]
    Readback(String),
    /// The tensor is not [N,3,H,W].
    #[error("expected images shaped [N,3,H,W], got {0:?}")]
    Shape(Vec<usize>),
}

/// Converts generator output [N,3,H,W] in [-1, 1] to RGB8 images (values outside are clamped).
pub fn tensor_to_images(images: Tensor<4>) -> Result<Vec<RgbImage>, ImagingError> {
    let [n, c, h, w] = images.dims();
    if c != 3 {
        return Err(ImagingError::Shape(vec![n, c, h, w]));
    }
    let data = images.try_into_data().map_err(|e| ImagingError::Readback(format!("{e:?}")))?;
    let values = data.as_slice::<f32>().map_err(|e| ImagingError::Readback(format!("{e:?}")))?;
    let plane = h * w;
    Ok((0..n)
        .map(|i| {
            let chw = &values[i * 3 * plane..(i + 1) * 3 * plane];
            RgbImage::from_fn(w as u32, h as u32, |x, y| {
                let p = y as usize * w + x as usize;
                image::Rgb([0, 1, 2].map(|ch| to_u8(chw[ch * plane + p])))
            })
        })
        .collect())
}

fn to_u8(v: f32) -> u8 {
    if v.is_nan() {
        return 0;
    }
    ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_minus_one_to_black_and_one_to_white() {
        assert_eq!(to_u8(-1.0), 0);
        assert_eq!(to_u8(1.0), 255);
        assert_eq!(to_u8(0.0), 128);
        assert_eq!(to_u8(5.0), 255);
        assert_eq!(to_u8(f32::NAN), 0);
    }
}
