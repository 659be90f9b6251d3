//! Measuring a face: age in years, smile (P(happy)) and mouth openness, yaw and pitch in degrees (from the
//! FaceMesh landmarks), hair amount and length (from face parsing), and a 128-d identity embedding.
//!
//! Every estimator takes a face tensor [N,3,H,W] (RGB in [0, 1]; an aligned photo or a generated face)
//! plus five landmarks in its pixel coordinates, crops what its network expects with a differentiable
//! warp ([`crop`]), and returns tensors, so that the slider editor can differentiate attributes with
//! respect to a generated face. [`AttributeModels::measure`] wraps them into plain numbers for one face.

pub mod attribute;
pub mod crop;

pub use attribute::Attribute;

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::face::align::FivePoints;
use crate::nets::{self, NetError};
use crop::{AGE_CROP, CropBox, EXPRESSION_CROP, IDENTITY_CROP, MESH_CROP, template_crop, warp};

/// FER2013 class index of "happy".
pub const HAPPY: usize = 3;
/// Face-parsing class index of hair.
pub const HAIR_CLASS: usize = 17;
/// Input size of face parsing: the exported network has its upsampling sizes fixed for 512 x 512.
pub const PARSING_SIZE: usize = 512;
/// FaceMesh reads pitch about 8 degrees low on frontal faces; this is added back.
pub(crate) const PITCH_OFFSET_DEGREES: f32 = 8.0;

/// What was measured on one face, in real units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attributes {
    /// Estimated age in years.
    pub age: f32,
    /// Probability of a happy expression, 0..1.
    pub smile: f32,
    /// Inner-lip gap over face height (0 closed, about 0.1 wide open).
    pub mouth_open: f32,
    /// Head yaw in degrees; positive when the face turns toward the image's left.
    pub yaw: f32,
    /// Head pitch in degrees; positive when the face tilts up.
    pub pitch: f32,
    /// Share of the aligned square that is hair, 0..1.
    pub hair_amount: f32,
    /// How far the hair reaches down: lowest hair row minus the chin row, in face heights (negative above the chin).
    pub hair_length: f32,
    /// How much of the eyes, glasses and mouth the face parsing sees.
    pub visible: Visibility,
    /// L2-normalized identity embedding (SFace, 128-d); compare by dot product.
    pub identity: Vec<f32>,
}

/// Shares of the aligned square that face parsing labels eyes, glasses, and mouth or lips: dark
/// sunglasses show as glasses with no eyes, a mask as no mouth.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Visibility {
    /// Eyes (classes 4 and 5).
    pub eyes: f32,
    /// Glasses (class 6).
    pub glasses: f32,
    /// Mouth and lips (classes 11 to 13).
    pub mouth: f32,
}

impl Visibility {
    fn from_classes(classes: &[u8]) -> Self {
        let n = classes.len().max(1) as f32;
        let share = |f: fn(u8) -> bool| classes.iter().filter(|&&c| f(c)).count() as f32 / n;
        Self { eyes: share(|c| c == 4 || c == 5), glasses: share(|c| c == 6), mouth: share(|c| (11..=13).contains(&c)) }
    }

    /// Eyes hidden behind dark glasses: much glasses, no eyes. (Open eyes cover about 0.4% of the square.)
    pub fn eyes_hidden(&self) -> bool {
        self.glasses > 0.01 && self.eyes < 0.0006
    }

    /// Mouth covered (a mask, a hand): no mouth or lips at all. (A visible mouth covers about 1% of the square.)
    pub fn mouth_hidden(&self) -> bool {
        self.mouth < 0.0008
    }
}

/// The attribute networks, loaded once on the chosen device.
pub struct AttributeModels {
    age: nets::age::Model,
    expression: nets::expression::Model,
    mesh: nets::face_mesh::Model,
    parsing: nets::face_parsing::Model,
    identity: nets::sface::Model,
    device: Device,
}

impl AttributeModels {
    /// Loads every attribute network on `device`.
    pub fn load(device: &Device) -> Result<Self, NetError> {
        Ok(Self {
            age: nets::age(device)?,
            expression: nets::expression(device)?,
            mesh: nets::face_mesh(device)?,
            parsing: nets::face_parsing(device)?,
            identity: nets::sface(device)?,
            device: device.clone(),
        })
    }

    /// The device the networks run on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Identity embeddings [N,128], L2-normalized.
    pub fn identity(&self, face: Tensor<4>, points: &FivePoints) -> Tensor<2> {
        let crop = warp(face, &crop_or_identity(points, 112, IDENTITY_CROP), 112) * 255.0;
        let e = self.identity.forward(crop);
        let norm = e.clone().powf_scalar(2.0).sum_dim(1).sqrt().clamp_min(1e-6);
        e / norm
    }

    /// Expression probabilities [N,7]: angry, disgust, fear, happy, sad, surprise, neutral.
    pub fn expression(&self, face: Tensor<4>, points: &FivePoints) -> Tensor<2> {
        let crop = warp(face, &crop_or_identity(points, 64, EXPRESSION_CROP), 64);
        let [n, _, h, w] = crop.dims();
        let weights = Tensor::<1>::from_floats([0.299, 0.587, 0.114], &crop.device()).reshape([1, 3, 1, 1]);
        let grey = (crop * weights).sum_dim(1).reshape([n, 1, h, w]);
        self.expression.forward(grey * 2.0 - 1.0)
    }

    /// Age in years [N]: the expectation over the network's 81 age buckets.
    pub fn age(&self, face: Tensor<4>, points: &FivePoints) -> Tensor<1> {
        let crop = warp(face, &crop_or_identity(points, 64, AGE_CROP), 64) * 255.0;
        let mean = Tensor::<1>::from_floats([122.782, 117.001, 104.298], &crop.device()).reshape([1, 3, 1, 1]);
        let p = self.age.forward((crop - mean) / 256.0);
        let buckets: Vec<f32> = std::iter::once(0.25).chain((1..81).map(|k| k as f32)).collect();
        let w = Tensor::<1>::from_data(TensorData::new(buckets, [81]), &p.device()).reshape([1, 81]);
        (p * w).sum_dim(1).reshape([-1])
    }

    /// FaceMesh landmarks [N,468,3] in the coordinates of a 192 x 192 crop, and the crop's map to the face image.
    pub fn mesh(&self, face: Tensor<4>, points: &FivePoints) -> (Tensor<3>, crate::face::geometry::Affine) {
        let to_face = crop_or_identity(points, 192, MESH_CROP);
        let (mesh, _presence) = self.mesh.forward(warp(face, &to_face, 192));
        let n = mesh.dims()[0];
        (mesh.reshape([n, 468, 3]), to_face)
    }

    /// Face-parsing logits [N,19,S,S] over the whole face image, resampled to the parsing size.
    pub fn parsing_logits(&self, face: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = face.dims();
        let to_face = crate::face::geometry::Affine {
            m: [w as f64 / PARSING_SIZE as f64, 0.0, 0.0, 0.0, h as f64 / PARSING_SIZE as f64, 0.0],
        };
        let x = warp(face, &to_face, PARSING_SIZE);
        let device = x.device();
        let mean = Tensor::<1>::from_floats([0.485, 0.456, 0.406], &device).reshape([1, 3, 1, 1]);
        let std = Tensor::<1>::from_floats([0.229, 0.224, 0.225], &device).reshape([1, 3, 1, 1]);
        self.parsing.forward((x - mean) / std)
    }

    /// Hair-class probabilities [N,S,S] from parsing logits.
    pub fn hair_probability(logits: Tensor<4>) -> Tensor<3> {
        let [n, _, h, w] = logits.dims();
        softmax(logits, 1).slice([0..n, HAIR_CLASS..HAIR_CLASS + 1, 0..h, 0..w]).reshape([n, h, w])
    }

    /// The most likely class of every pixel of the first face, from parsing logits.
    pub fn parsing_classes(logits: Tensor<4>) -> Vec<u8> {
        let classes = logits.argmax(1);
        classes.into_data().convert::<i64>().as_slice::<i64>().map(|c| c.iter().map(|&v| v as u8).collect()).unwrap_or_default()
    }

    /// Measures one face given as an RGB image and its landmarks in that image's pixels.
    pub fn measure(&self, image: &RgbImage, points: &FivePoints) -> Attributes {
        let face = image_tensor(image, &self.device);
        let scalar = |t: Tensor<1>| t.into_data().as_slice::<f32>().map(|s| s[0]).unwrap_or(f32::NAN);
        let smile_and_all = self.expression(face.clone(), points);
        let smile = scalar(smile_and_all.slice([0..1, HAPPY..HAPPY + 1]).reshape([1]));
        let age = scalar(self.age(face.clone(), points));
        let (mesh, _) = self.mesh(face.clone(), points);
        let mesh = mesh.into_data().as_slice::<f32>().map(|m| m.to_vec()).unwrap_or_default();
        let (yaw, pitch, mouth_open) = pose_and_mouth(&mesh);
        let logits = self.parsing_logits(face.clone());
        let hair = Self::hair_probability(logits.clone()).into_data().as_slice::<f32>().map(|h| h.to_vec()).unwrap_or_default();
        let (hair_amount, hair_length) = hair_stats(&hair, PARSING_SIZE, points, image.height() as f64);
        let visible = Visibility::from_classes(&Self::parsing_classes(logits));
        let identity = self.identity(face, points).into_data().as_slice::<f32>().map(|e| e.to_vec()).unwrap_or_default();
        Attributes { age, smile, mouth_open, yaw, pitch, hair_amount, hair_length, visible, identity }
    }
}

/// A face image as a tensor [1,3,H,W] in [0, 1].
pub fn image_tensor(image: &RgbImage, device: &Device) -> Tensor<4> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut chw = vec![0.0f32; 3 * w * h];
    for (x, y, p) in image.enumerate_pixels() {
        for c in 0..3 {
            chw[c * w * h + y as usize * w + x as usize] = p[c] as f32 / 255.0;
        }
    }
    Tensor::from_data(TensorData::new(chw, [1, 3, h, w]), device)
}

/// Landmarks that cannot define a crop (all in one place) fall back to the whole image.
fn crop_or_identity(points: &FivePoints, out: usize, region: CropBox) -> crate::face::geometry::Affine {
    template_crop(points, out, region).unwrap_or(crate::face::geometry::Affine::IDENTITY)
}

/// Yaw and pitch (degrees) and mouth openness from a FaceMesh result (468 x 3, crop pixels):
/// n = (p263 - p33) x (p152 - p10); yaw = atan2(n_x, n_z), pitch = atan2(n_y, n_z) + offset.
pub fn pose_and_mouth(mesh: &[f32]) -> (f32, f32, f32) {
    if mesh.len() < 468 * 3 {
        return (f32::NAN, f32::NAN, f32::NAN);
    }
    let p = |i: usize| [mesh[3 * i], mesh[3 * i + 1], mesh[3 * i + 2]];
    let sub = |a: [f32; 3], b: [f32; 3]| [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    let across = sub(p(263), p(33));
    let down = sub(p(152), p(10));
    let n = [
        across[1] * down[2] - across[2] * down[1],
        across[2] * down[0] - across[0] * down[2],
        across[0] * down[1] - across[1] * down[0],
    ];
    let yaw = n[0].atan2(n[2]).to_degrees();
    let pitch = n[1].atan2(n[2]).to_degrees() + PITCH_OFFSET_DEGREES;
    let face_height = (down[0].powi(2) + down[1].powi(2)).sqrt().max(1e-6);
    let gap = sub(p(14), p(13));
    let mouth_open = (gap[0].powi(2) + gap[1].powi(2)).sqrt() / face_height;
    (yaw, pitch, mouth_open)
}

/// Hair amount (mean hair probability) and length (lowest row where hair is likely, relative to the chin,
/// in face heights) from a hair-probability map of `size` x `size` over an image `image_height` tall.
fn hair_stats(hair: &[f32], size: usize, points: &FivePoints, image_height: f64) -> (f32, f32) {
    if hair.len() < size * size {
        return (f32::NAN, f32::NAN);
    }
    let amount = hair.iter().sum::<f32>() / (size * size) as f32;
    let eye_y = (points[0][1] + points[1][1]) / 2.0;
    let mouth_y = (points[3][1] + points[4][1]) / 2.0;
    let chin_y = mouth_y + 0.6 * (mouth_y - eye_y);
    let face_height = ((chin_y - eye_y) * 1.6).max(1e-6);
    let min_pixels = (size / 64).max(1);
    let lowest = (0..size).rev().find(|&r| hair[r * size..(r + 1) * size].iter().filter(|&&p| p > 0.5).count() >= min_pixels);
    let length = match lowest {
        Some(r) => (((r as f64 + 0.5) / size as f64 * image_height - chin_y) / face_height) as f32,
        None => f32::NAN,
    };
    (amount, length)
}
