//! Face detection with YuNet on a bounded copy of the photo: the photo is scaled to fit 640 x 640
//! (so a 50-megapixel photo costs no more than a small one), and boxes and landmarks are mapped back
//! to full-resolution photo pixels.

use burn::tensor::{Device, Tensor, TensorData};
use image::{RgbImage, imageops};

use super::yunet_decode::{Detection, StrideOutput, decode};
use crate::nets::{self, NetError};

/// YuNet's input size.
pub const INPUT_SIZE: usize = 640;
/// Lowest score kept as a face.
pub const MIN_SCORE: f32 = 0.6;

/// The face detector, loaded once on the chosen device.
pub struct FaceDetector {
    model: nets::yunet::Model,
    device: Device,
}

impl FaceDetector {
    /// Loads YuNet on `device`.
    pub fn load(device: &Device) -> Result<Self, NetError> {
        Ok(Self { model: nets::yunet(device)?, device: device.clone() })
    }

    /// Faces in `photo`, best first, in photo pixels.
    pub fn detect(&self, photo: &RgbImage) -> Vec<Detection> {
        let (w, h) = photo.dimensions();
        let scale = INPUT_SIZE as f32 / w.max(h) as f32;
        let (sw, sh) = (((w as f32 * scale).round() as u32).clamp(1, 640), ((h as f32 * scale).round() as u32).clamp(1, 640));
        let small = if scale < 1.0 {
            imageops::thumbnail(photo, sw, sh)
        } else {
            imageops::resize(photo, sw, sh, imageops::FilterType::Triangle)
        };
        // Letterbox at the top-left of a black square, BGR, 0..255.
        let n = INPUT_SIZE * INPUT_SIZE;
        let mut bgr = vec![0.0f32; 3 * n];
        for (x, y, p) in small.enumerate_pixels() {
            let i = y as usize * INPUT_SIZE + x as usize;
            bgr[i] = p[2] as f32;
            bgr[n + i] = p[1] as f32;
            bgr[2 * n + i] = p[0] as f32;
        }
        let input = Tensor::<4>::from_data(TensorData::new(bgr, [1, 3, INPUT_SIZE, INPUT_SIZE]), &self.device);
        let (c8, c16, c32, o8, o16, o32, b8, b16, b32, k8, k16, k32) = self.model.forward(input);
        let host = |t: Tensor<3>| t.into_data().as_slice::<f32>().map(|s| s.to_vec()).unwrap_or_default();
        let [c8, c16, c32, o8, o16, o32, b8, b16, b32, k8, k16, k32] =
            [c8, c16, c32, o8, o16, o32, b8, b16, b32, k8, k16, k32].map(host);
        let outputs = [
            StrideOutput { stride: 8, cls: &c8, obj: &o8, bbox: &b8, kps: &k8 },
            StrideOutput { stride: 16, cls: &c16, obj: &o16, bbox: &b16, kps: &k16 },
            StrideOutput { stride: 32, cls: &c32, obj: &o32, bbox: &b32, kps: &k32 },
        ];
        let (sx, sy) = (sw as f32 / w as f32, sh as f32 / h as f32);
        decode(&outputs, INPUT_SIZE, 1.0, MIN_SCORE)
            .into_iter()
            .map(|mut d| {
                // Undo the (per-axis, after rounding) scaling.
                d.bbox = [d.bbox[0] / sx, d.bbox[1] / sy, d.bbox[2] / sx, d.bbox[3] / sy];
                for p in &mut d.landmarks {
                    *p = [p[0] / sx, p[1] / sy];
                }
                d
            })
            .collect()
    }
}
