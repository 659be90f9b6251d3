//! Differentiable crops: each network sees the face through its own crop geometry, defined from the five
//! landmarks by a similarity transform onto the standard 5-point ArcFace template, and resampled from the
//! face tensor with `grid_sample` (bilinear), so gradients flow back to the face image.

use burn::tensor::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
use burn::tensor::{Tensor, TensorData};

use crate::face::align::{FivePoints, ffhq_square};
use crate::face::geometry::{Affine, similarity};

/// The ArcFace 5-point template in a 112 x 112 crop (InsightFace), image order as [`FivePoints`].
pub const ARCFACE_TEMPLATE: FivePoints = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

/// A square crop in the ArcFace template's 112 x 112 frame: top-left corner and side, in template pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CropBox {
    /// Left edge.
    pub x0: f64,
    /// Top edge.
    pub y0: f64,
    /// Side length.
    pub side: f64,
}

/// SFace's own crop: the template square.
pub const IDENTITY_CROP: CropBox = CropBox { x0: 0.0, y0: 0.0, side: 112.0 };
/// The face box YuNet draws around a frontal face, measured on the openpeople fixtures in template pixels
/// (about x 16..95, y 6..121), made square and enlarged 10%: the crop the expression network was trained on.
pub const EXPRESSION_CROP: CropBox = CropBox { x0: 2.2, y0: 10.0, side: 107.0 };
/// dlib's 5-point face chip with padding 0.2 (its mean face: eye centres 0.526 of the chip's unpadded width
/// apart, 0.221 from its top), expressed in template pixels: the crop the age network was trained on.
pub const AGE_CROP: CropBox = CropBox { x0: 9.7, y0: 23.4, side: 93.8 };
/// MediaPipe's FaceMesh region: the face box made square and enlarged 1.5x.
pub const MESH_CROP: CropBox = CropBox { x0: -17.3, y0: -9.5, side: 146.0 };

/// Where the ArcFace template's five points (a typical face) land in a `size` x `size` FFHQ-aligned image.
/// Aligned faces have their landmarks close to these points; generated faces, which have no detected
/// landmarks, are cropped for the networks through them.
pub fn aligned_template_points(size: f64) -> FivePoints {
    let (corner, ex, ey) = ffhq_square(&ARCFACE_TEMPLATE);
    let along = |d: [f64; 2], e: [f64; 2]| (d[0] * e[0] + d[1] * e[1]) / (e[0] * e[0] + e[1] * e[1]);
    ARCFACE_TEMPLATE.map(|p| {
        let d = [p[0] - corner[0], p[1] - corner[1]];
        [along(d, ex) * size, along(d, ey) * size]
    })
}

/// The map from crop pixels (size `out` x `out`) to face-image pixels for the crop `region` of a face with
/// these landmarks. `None` when the landmarks are degenerate.
pub fn template_crop(points: &FivePoints, out: usize, region: CropBox) -> Option<Affine> {
    let template_to_face = similarity(points, &ARCFACE_TEMPLATE)?.inverse()?;
    let s = region.side / out as f64;
    let crop_to_template = Affine { m: [s, 0.0, region.x0, 0.0, s, region.y0] };
    Some(template_to_face.compose(&crop_to_template))
}

/// Resamples `face` [N,C,H,W] into an `out` x `out` crop whose pixel (u, v) shows face pixel
/// `to_face(u, v)` (pixel corners at integers). Outside the face image, its border is repeated.
pub fn warp(face: Tensor<4>, to_face: &Affine, out: usize) -> Tensor<4> {
    let [n, _, h, w] = face.dims();
    let mut grid = Vec::with_capacity(out * out * 2);
    for v in 0..out {
        for u in 0..out {
            let [x, y] = to_face.apply([u as f64 + 0.5, v as f64 + 0.5]);
            grid.push((2.0 * x / w as f64 - 1.0) as f32);
            grid.push((2.0 * y / h as f64 - 1.0) as f32);
        }
    }
    let grid = Tensor::<4>::from_data(TensorData::new(grid, [1, out, out, 2]), &face.device()).repeat_dim(0, n);
    let options = GridSampleOptions::new(InterpolateMode::Bilinear).with_padding_mode(GridSamplePaddingMode::Border);
    face.grid_sample_2d(grid, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn template_points_map_onto_themselves_and_warp_translates() {
        let crop = template_crop(&ARCFACE_TEMPLATE, 112, IDENTITY_CROP).unwrap();
        for (a, b) in crop.m.iter().zip(Affine::IDENTITY.m) {
            assert!((a - b).abs() < 1e-9, "{crop:?}");
        }
        // A 56px crop of a 224px region centred on the template: its centre is the template's centre.
        let wide = template_crop(&ARCFACE_TEMPLATE, 56, CropBox { x0: -56.0, y0: -56.0, side: 224.0 }).unwrap();
        let c = wide.apply([28.0, 28.0]);
        assert!((c[0] - 56.0).abs() < 1e-9 && (c[1] - 56.0).abs() < 1e-9);

        // Warping a ramp by a one-pixel shift reads the neighbouring column.
        let device = Device::flex();
        let ramp: Vec<f32> = (0..8 * 8).map(|i| (i % 8) as f32).collect();
        let face = Tensor::<4>::from_data(TensorData::new(ramp, [1, 1, 8, 8]), &device);
        let shift = Affine { m: [1.0, 0.0, 1.0, 0.0, 1.0, 0.0] };
        let out = warp(face, &shift, 4).into_data();
        assert_eq!(out.as_slice::<f32>().unwrap()[..4], [1.0, 2.0, 3.0, 4.0]);
    }
}
