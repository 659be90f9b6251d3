//! The edit engine behind the sliders (MyStyle++ section 2.6, adapted as method.md section 3 says): a base
//! latent, and per attribute a requested value in real units. An edit first sets each requested
//! attribute's coordinate along its slider direction to the calibrated coordinate of the value (instant:
//! frame 0), then runs a few gradient steps on the latent that pull the differentiable estimators toward
//! the requested values, while an identity term keeps the face's SFace embedding at the base's and a
//! P_beta term keeps the rest of the latent inside the person's space (the squared distance to the
//! nearest point of P_beta, measured across the slider directions, which stay free). Every step yields a
//! frame. The same engine renders random samples and interpolations between photos: they are bases.
//!
//! [`EditJob`] runs an [`Editor`] on a worker thread: requests are coalesced (a newer request supersedes
//! the one being worked on at its next step), and every frame and the end of each request are typed events.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};

use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::loss::ReconstructionLoss;
use super::organize::{Attribute, Controls};
use super::personal::PersonalPrior;
use super::space::{BETA, project_coefficients, sample_coefficients};
use crate::attributes::AttributeModels;
use crate::attributes::crop::aligned_template_points;
use crate::face::align::FivePoints;
use crate::generator::{FACE_SIZE, FaceGenerator, Generator};
use crate::imaging::tensor_to_images;

/// Requested values per attribute, in real units; `None` leaves the attribute as the base has it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    values: [Option<f32>; 5],
}

impl Targets {
    fn index(attribute: Attribute) -> usize {
        Attribute::ALL.iter().position(|a| *a == attribute).expect("every attribute is in ALL")
    }

    /// The requested value of `attribute`.
    pub fn get(&self, attribute: Attribute) -> Option<f32> {
        self.values[Self::index(attribute)]
    }

    /// Requests `value` for `attribute` (`None`: as the base has it).
    pub fn set(&mut self, attribute: Attribute, value: Option<f32>) {
        self.values[Self::index(attribute)] = value;
    }

    /// This request with `attribute` set to `value`.
    pub fn with(mut self, attribute: Attribute, value: f32) -> Self {
        self.set(attribute, Some(value));
        self
    }

    /// The requested attributes and values.
    pub fn requested(&self) -> Vec<(Attribute, f32)> {
        Attribute::ALL.into_iter().filter_map(|a| self.get(a).map(|v| (a, v))).collect()
    }
}

/// Where an edit starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Base {
    /// The anchor of training photo `i`.
    Anchor(usize),
    /// The mean of the anchors.
    Mean,
    /// A random sample of P_beta (a mix of three anchors) for a seed.
    Sample(u64),
    /// Between two anchors: `(1 - t) w_a + t w_b`.
    Between(usize, usize, f32),
    /// Any latent (for example a new photo projected into P_beta).
    Latent(Vec<f32>),
}

/// How much each edit refines, and the weights of its terms.
#[derive(Clone, Debug, PartialEq)]
pub struct EditSettings {
    /// Gradient steps after the coordinates are set (each yields a frame).
    pub refine_steps: usize,
    /// Adam learning rate on the latent.
    pub learning_rate: f64,
    /// Weight of the identity term (1 - cosine to the base's embedding).
    pub identity_weight: f32,
    /// Weight of the squared distance to P_beta across the slider directions.
    pub space_weight: f32,
    /// Largest side of the frames shown (models larger than this are drawn at this preview size; the
    /// refinement itself always works on the faces the estimators read).
    pub preview_side: usize,
}

impl Default for EditSettings {
    fn default() -> Self {
        Self { refine_steps: 4, learning_rate: 0.05, identity_weight: 2.0, space_weight: 0.02, preview_side: 256 }
    }
}

/// The scale of an attribute's error in the refinement loss: an error of this much costs 1.
pub fn error_scale(attribute: Attribute) -> f32 {
    match attribute {
        Attribute::Yaw | Attribute::Pitch => 10.0,
        Attribute::Smile => 0.25,
        Attribute::Age => 8.0,
        Attribute::Hair => 0.05,
    }
}

/// One rendered frame of an edit.
#[derive(Clone, Debug)]
pub struct EditFrame {
    /// 0 after the coordinates are set, then one per refinement step.
    pub step: usize,
    /// The face.
    pub image: RgbImage,
    /// Its latent.
    pub latent: Vec<f32>,
    /// The requested attributes as the estimators read this face (empty for frame 0, which is not measured).
    pub measured: Vec<(Attribute, f32)>,
}

/// Edits faces of one personalized prior.
pub struct Editor {
    generator: Generator,
    tuned: Generator,
    anchors: Vec<Vec<f32>>,
    controls: Controls,
    models: AttributeModels,
    loss: ReconstructionLoss,
    points: FivePoints,
    /// Refinement settings.
    pub settings: EditSettings,
    space_step: f32,
    /// How far outside P_beta one slider at either end of the anchors' coordinates puts the anchors' mean,
    /// the farthest of all sliders: no edit is allowed to leave P_beta farther.
    outside_limit: f32,
    device: Device,
}

impl Editor {
    /// An editor of `prior` with its `controls`; everything runs on `device` (an autodiff device).
    pub fn new(prior: PersonalPrior, controls: Controls, device: &Device) -> anyhow::Result<Self> {
        if controls.mean.len() != prior.generator.latent_dim() {
            anyhow::bail!("the controls do not fit the generator ({} vs {} latent values)", controls.mean.len(), prior.generator.latent_dim());
        }
        let models = AttributeModels::load(device)?;
        let loss = ReconstructionLoss::load(device)?;
        let size = FACE_SIZE as f64;
        let largest = largest_gram_eigenvalue(&prior.anchors);
        let space_step = 0.5 / largest.max(1e-6);
        let outside_limit = controls
            .sliders
            .iter()
            .flat_map(|s| {
                // The ends of the anchors' own coordinates (the slider's range less its margin).
                let (lo, hi) = s.calibration.coordinates;
                let inset = (hi - lo) * super::organize::RANGE_MARGIN / (1.0 + 2.0 * super::organize::RANGE_MARGIN);
                [lo + inset, hi - inset].map(|c| (s, c))
            })
            .map(|(s, c)| {
                let end: Vec<f32> = controls.mean.iter().zip(&s.direction).map(|(m, d)| m + c * d).collect();
                outside_space(&prior.anchors, &end, space_step)
            })
            .fold(0.0, f32::max);
        Ok(Self {
            tuned: prior.generator.clone(),
            generator: prior.generator.freeze(),
            anchors: prior.anchors,
            controls,
            models,
            loss,
            points: aligned_template_points(size),
            settings: EditSettings::default(),
            space_step,
            outside_limit,
            device: device.clone(),
        })
    }

    /// Opens the prior and the controls of a personalized project folder on `device` (autodiff).
    pub fn open(project: &std::path::Path, device: &Device) -> anyhow::Result<Self> {
        let prior = PersonalPrior::load(project, device)?;
        let path = project.join(super::organize::CONTROLS_FILE);
        let text = std::fs::read(&path).map_err(|e| anyhow::anyhow!("{}: {e} (personalize the project again to get sliders)", path.display()))?;
        let controls: Controls = serde_json::from_slice(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Self::new(prior, controls, device)
    }

    /// Projects a new aligned face ([`FACE_SIZE`] px) of the person into P_beta and gives the generator a short
    /// pivotal tuning (`pivot_steps` steps on that one photo around its latent), which the editor then
    /// uses; returns the latent, the base for editing the photo. `pivot_steps` 0 keeps the generator.
    pub fn project_photo(&mut self, face: &RgbImage, settings: &super::projection::ProjectionSettings, pivot_steps: usize) -> anyhow::Result<Vec<f32>> {
        let target = crate::attributes::image_tensor(face, &self.device);
        let projected = super::projection::project_into_space(&self.generator, &self.loss, &self.anchors, target.clone(), settings);
        if pivot_steps > 0 {
            let dim = projected.latent.len();
            let anchor = Tensor::<2>::from_data(TensorData::new(projected.latent.clone(), [1, dim]), &self.device);
            let tuning = super::tune::TuningSettings { steps: pivot_steps, batch: 1, learning_rate: 3e-4, patience: usize::MAX, ..Default::default() };
            let (tuned, _) = super::tune::tune(self.tuned.clone(), anchor, target, &self.loss, &tuning, 0, |_| ControlFlow::Continue(()));
            self.generator = tuned.freeze();
        }
        Ok(projected.latent)
    }

    /// Goes back to the personalized generator after [`Editor::project_photo`].
    pub fn reset_generator(&mut self) {
        self.generator = self.tuned.clone().freeze();
    }

    /// The sliders.
    pub fn controls(&self) -> &Controls {
        &self.controls
    }

    /// The anchors.
    pub fn anchors(&self) -> &[Vec<f32>] {
        &self.anchors
    }

    /// The generator in use.
    pub fn generator(&self) -> &Generator {
        &self.generator
    }

    /// The latent of a base.
    pub fn base_latent(&self, base: &Base) -> anyhow::Result<Vec<f32>> {
        let n = self.anchors.len();
        let anchor = |i: usize| self.anchors.get(i).cloned().ok_or_else(|| anyhow::anyhow!("anchor {i} does not exist (the project has {n})"));
        Ok(match base {
            Base::Anchor(i) => anchor(*i)?,
            Base::Mean => super::space::mix(&self.anchors, &vec![1.0 / n as f32; n]),
            Base::Sample(seed) => super::space::mix(&self.anchors, &sample_coefficients(n, *seed)),
            Base::Between(a, b, t) => {
                let (wa, wb) = (anchor(*a)?, anchor(*b)?);
                wa.iter().zip(&wb).map(|(x, y)| (1.0 - t) * x + t * y).collect()
            }
            Base::Latent(w) if w.len() == self.controls.mean.len() => w.clone(),
            Base::Latent(w) => anyhow::bail!("a latent of {} values for a generator of {}", w.len(), self.controls.mean.len()),
        })
    }

    /// `latent` with each requested attribute's coordinate set to the calibrated coordinate of its value
    /// (attributes without a slider are left to the refinement). Directions that are not orthogonal are
    /// settled by a few passes.
    /// Several sliders near their ends at once can reach a corner that no photo supports (where the generator
    /// draws noise): the latent is then drawn back toward P_beta until it lies no farther outside than one
    /// slider at the end of the anchors' coordinates takes the anchors' mean ([`Editor::outside_limit`]);
    /// the refinement steps then pull the measured values toward the requested ones within that bound.
    pub fn set_coordinates(&self, latent: &[f32], targets: &Targets) -> Vec<f32> {
        let mut z = latent.to_vec();
        let requested: Vec<_> = targets.requested().into_iter().filter_map(|(a, v)| self.controls.slider(a).map(|s| (s, v))).collect();
        if requested.is_empty() {
            return z;
        }
        for _pass in 0..3 {
            for (slider, value) in &requested {
                let goal = slider.calibration.coordinate_for(*value);
                let now = self.controls.coordinate(slider, &z);
                z.iter_mut().zip(&slider.direction).for_each(|(w, d)| *w += (goal - now) * d);
            }
        }
        let n = self.anchors.len();
        self.hold_near_space(&mut z, vec![1.0 / n as f32; n]);
        z
    }

    /// Draws `latent` toward its nearest point of P_beta (searched from `coefficients`) until it lies no
    /// farther outside than [`Editor::outside_limit`]. Returns the nearest point's coefficients, the point,
    /// and whether the latent was moved.
    fn hold_near_space(&self, latent: &mut [f32], coefficients: Vec<f32>) -> (Vec<f32>, Vec<f32>, bool) {
        let coefficients = nearest_in_space(&self.anchors, latent, coefficients, self.space_step);
        let nearest = super::space::mix(&self.anchors, &coefficients);
        let outside = distance(&nearest, latent);
        let held = outside > self.outside_limit;
        if held {
            let keep = self.outside_limit / outside;
            latent.iter_mut().zip(&nearest).for_each(|(z, p)| *z = p + (*z - p) * keep);
        }
        (coefficients, nearest, held)
    }

    /// How far `latent` lies outside P_beta (0 inside; the distance to the nearest point found).
    pub fn distance_to_space(&self, latent: &[f32]) -> f32 {
        outside_space(&self.anchors, latent, self.space_step)
    }

    /// The farthest any edit may put a face outside P_beta: as far as one slider at either end of the
    /// anchors' coordinates puts the anchors' mean, the farthest of all sliders.
    pub fn outside_limit(&self) -> f32 {
        self.outside_limit
    }

    /// The face of a latent as shown: at the model's resolution, or [`EditSettings::preview_side`] when
    /// that is smaller.
    pub fn render(&self, latent: &[f32]) -> anyhow::Result<RgbImage> {
        self.render_at(latent, self.settings.preview_side)
    }

    /// The face of a latent at up to `max_side` pixels (exports use the full resolution).
    pub fn render_at(&self, latent: &[f32], max_side: usize) -> anyhow::Result<RgbImage> {
        let z = Tensor::<2>::from_data(TensorData::new(latent.to_vec(), [1, latent.len()]), &self.device);
        Ok(tensor_to_images(self.generator.render(z, max_side).detach())?.remove(0))
    }

    /// The face of a latent as the estimators read it ([`FACE_SIZE`] px).
    pub fn face(&self, latent: &[f32]) -> anyhow::Result<RgbImage> {
        let z = Tensor::<2>::from_data(TensorData::new(latent.to_vec(), [1, latent.len()]), &self.device);
        Ok(tensor_to_images(self.generator.faces(z).detach())?.remove(0))
    }

    /// Every attribute of the face of a latent, as [`AttributeModels::measure`] reads it.
    pub fn measure(&self, latent: &[f32]) -> anyhow::Result<crate::attributes::Attributes> {
        Ok(self.models.measure(&self.face(latent)?, &self.points))
    }

    /// The frame shown for latent `z` whose estimator face is `face` (in [0, 1]): the face itself when the
    /// model is no larger and fits the preview size, else a render at the preview size (as frame 0 is).
    fn frame_image(&self, z: Tensor<2>, face: &Tensor<4>) -> anyhow::Result<RgbImage> {
        let image = if self.generator.resolution() <= FACE_SIZE.min(self.settings.preview_side) {
            face.clone().detach() * 2.0 - 1.0
        } else {
            self.generator.render(z.detach(), self.settings.preview_side).detach()
        };
        Ok(tensor_to_images(image)?.remove(0))
    }

    /// The normalized mean SFace embedding of `faces` (64 px): "the person".
    pub fn person_embedding(&self, faces: &[RgbImage]) -> Vec<f32> {
        let batch = Tensor::cat(faces.iter().map(|f| crate::attributes::image_tensor(f, &self.device)).collect(), 0);
        let mean = self.loss.embeddings(batch).mean_dim(0);
        let v = mean.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        v.iter().map(|x| x / norm).collect()
    }

    /// The SFace embedding (unit length) of a face image.
    pub fn embedding(&self, face: &RgbImage) -> Vec<f32> {
        let e = self.loss.embeddings(crate::attributes::image_tensor(face, &self.device));
        e.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default()
    }

    /// Edits `base` toward `targets`: frame 0 with the coordinates set, then one frame per refinement step
    /// and a last one for the final latent. `on_frame` may stop the edit (a newer request); returns the
    /// latent reached.
    pub fn edit(&self, base: &[f32], targets: &Targets, mut on_frame: impl FnMut(EditFrame) -> ControlFlow<()>) -> anyhow::Result<Vec<f32>> {
        let start = self.set_coordinates(base, targets);
        let first = EditFrame { step: 0, image: self.render(&start)?, latent: start.clone(), measured: Vec::new() };
        if on_frame(first).is_break() {
            return Ok(start);
        }
        let requested = targets.requested();
        if requested.is_empty() || self.settings.refine_steps == 0 {
            return Ok(start);
        }
        let dim = start.len();
        let device = &self.device;
        let z_set = Tensor::<2>::from_data(TensorData::new(start.clone(), [1, dim]), device);
        let base_face = (self.generator.faces(Tensor::<2>::from_data(TensorData::new(base.to_vec(), [1, dim]), device)) + 1.0) / 2.0;
        let base_identity = self.loss.embeddings(base_face.detach()).detach();
        // Slider directions of the requested attributes, orthonormalized: the P_beta term ignores them.
        let free = orthonormal(requested.iter().filter_map(|(a, _)| self.controls.slider(*a).map(|s| s.direction.clone())).collect());
        let mut offset = Offset { d: Param::from_tensor(Tensor::<2>::zeros([1, dim], device)) };
        let mut optimizer = AdamConfig::new().init();
        let mut coefficients = vec![1.0 / self.anchors.len() as f32; self.anchors.len()];
        let mut latent = start.clone();
        for step in 1..=self.settings.refine_steps + 1 {
            // This step's latent and its nearest point of P_beta (which the P_beta term below uses too). The
            // estimators' gradients can lead away from every photo (into noise): the latent is held within
            // the distance of P_beta that the coordinates are ([`Editor::set_coordinates`]).
            latent = (z_set.clone() + offset.d.val()).into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
            let (found, nearest, held) = self.hold_near_space(&mut latent, coefficients);
            coefficients = found;
            if held {
                let held: Vec<f32> = latent.iter().zip(&start).map(|(z, s)| z - s).collect();
                offset = Offset { d: offset.d.map(|_| Tensor::<2>::from_data(TensorData::new(held, [1, dim]), device).require_grad()) };
            }
            let z = z_set.clone() + offset.d.val();
            let face = (self.generator.faces(z.clone()) + 1.0) / 2.0;
            let estimates: Vec<(Attribute, f32, Tensor<1>)> =
                requested.iter().map(|(a, v)| (*a, *v, self.models.estimate(*a, face.clone(), &self.points))).collect();
            let measured: Vec<(Attribute, f32)> =
                estimates.iter().map(|(a, _, e)| (*a, e.clone().into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default()[0])).collect();
            let frame = EditFrame { step, image: self.frame_image(z.clone(), &face)?, latent: latent.clone(), measured };
            if on_frame(frame).is_break() || step > self.settings.refine_steps {
                break;
            }
            let mut total = Tensor::<1>::zeros([1], device);
            for (attribute, value, estimate) in estimates {
                total = total + ((estimate - value) / error_scale(attribute)).powf_scalar(2.0);
            }
            let identity = (self.loss.embeddings(face) * base_identity.clone()).sum_dim(1).reshape([1]).neg() + 1.0;
            total = total + identity * self.settings.identity_weight;
            // Squared distance to P_beta (the nearest point held fixed: its gradient is exact), across the
            // slider directions.
            let mut residual: Vec<f32> = latent.iter().zip(&nearest).map(|(z, p)| z - p).collect();
            for d in &free {
                let along: f32 = residual.iter().zip(d).map(|(r, v)| r * v).sum();
                residual.iter_mut().zip(d).for_each(|(r, v)| *r -= along * v);
            }
            // d/dz of |P r|^2 with P the projection across the free directions is 2 P r: a linear term with
            // that gradient stands in for it.
            let gradient = Tensor::<2>::from_data(TensorData::new(residual.iter().map(|r| 2.0 * r).collect::<Vec<f32>>(), [1, dim]), device);
            total = total + (z * gradient).sum() * self.settings.space_weight;
            let grads = GradientsParams::from_grads(total.backward(), &offset);
            offset = optimizer.step(self.settings.learning_rate, offset, grads);
        }
        Ok(latent)
    }
}

#[derive(Module, Debug)]
struct Offset {
    d: Param<Tensor<2>>,
}

/// Gram-Schmidt on `vectors` (dropping any that depend on earlier ones).
fn orthonormal(vectors: Vec<Vec<f32>>) -> Vec<Vec<f32>> {
    let mut out: Vec<Vec<f32>> = Vec::new();
    for mut v in vectors {
        for u in &out {
            let along: f32 = v.iter().zip(u).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(u).for_each(|(a, b)| *a -= along * b);
        }
        let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt();
        if norm > 1e-4 {
            out.push(v.iter().map(|a| a / norm).collect());
        }
    }
    out
}

/// The largest eigenvalue of the anchors' Gram matrix A A^T (power iteration), which bounds the step of
/// [`nearest_in_space`].
fn largest_gram_eigenvalue(anchors: &[Vec<f32>]) -> f32 {
    let n = anchors.len();
    let mut x = vec![1.0f32; n];
    let mut value = 0.0;
    for _ in 0..50 {
        let w = super::space::mix(anchors, &x);
        let y: Vec<f32> = anchors.iter().map(|a| a.iter().zip(&w).map(|(p, q)| p * q).sum()).collect();
        let norm = y.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        value = norm / x.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        x = y.iter().map(|v| v / norm).collect();
    }
    value
}

/// Coefficients of the point of P_beta nearest to `latent`, by projected gradient descent from `start`.
pub fn nearest_in_space(anchors: &[Vec<f32>], latent: &[f32], start: Vec<f32>, step: f32) -> Vec<f32> {
    let mut a = project_coefficients(&start, BETA);
    for _ in 0..40 {
        let residual: Vec<f32> = super::space::mix(anchors, &a).iter().zip(latent).map(|(p, z)| p - z).collect();
        let gradient: Vec<f32> = anchors.iter().map(|w| 2.0 * w.iter().zip(&residual).map(|(x, r)| x * r).sum::<f32>()).collect();
        a = project_coefficients(&a.iter().zip(&gradient).map(|(v, g)| v - step * g).collect::<Vec<f32>>(), BETA);
    }
    a
}

/// How far `latent` lies from its nearest point of P_beta (as [`nearest_in_space`] finds it from the
/// anchors' mean).
fn outside_space(anchors: &[Vec<f32>], latent: &[f32], step: f32) -> f32 {
    let n = anchors.len();
    distance(&super::space::mix(anchors, &nearest_in_space(anchors, latent, vec![1.0 / n as f32; n], step)), latent)
}

/// Euclidean distance of two latents.
fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f32>().sqrt()
}

/// A request to an [`EditJob`].
#[derive(Clone, Debug, PartialEq)]
pub struct EditRequest {
    /// Numbers requests; events carry it.
    pub id: u64,
    /// Where to start.
    pub base: Base,
    /// The requested values.
    pub targets: Targets,
}

/// What an [`EditJob`] reports.
#[derive(Debug)]
pub enum EditEvent {
    /// The editor is loaded and takes requests.
    Ready,
    /// The editor could not be loaded; the job has ended.
    LoadFailed(String),
    /// A frame of request `id`.
    Frame {
        /// The request.
        id: u64,
        /// The frame.
        frame: EditFrame,
    },
    /// Request `id` is complete (never sent for a superseded request).
    Done {
        /// The request.
        id: u64,
        /// The latent reached.
        latent: Vec<f32>,
    },
    /// The face of a latent at the size asked by [`EditJob::render`] (exports at the full resolution).
    Rendered {
        /// The render's number, as given.
        id: u64,
        /// The face.
        image: RgbImage,
    },
    /// Request `id` could not be carried out.
    Failed {
        /// The request.
        id: u64,
        /// Why.
        message: String,
    },
}

/// What an [`EditJob`]'s worker is asked to do.
enum Work {
    /// An edit (coalesced: only the newest waiting is worked on).
    Edit(EditRequest),
    /// One face drawn at a size (never dropped; drawn as soon as the worker sees it).
    Render {
        /// Its number.
        id: u64,
        /// The latent.
        latent: Vec<f32>,
        /// Largest side.
        max_side: usize,
    },
}

/// An [`Editor`] on a worker thread that always works on the newest request.
pub struct EditJob {
    requests: Sender<Work>,
    events: Receiver<EditEvent>,
    cancel: Arc<AtomicBool>,
}

impl EditJob {
    /// Starts the worker, which first builds its editor with `load` (models are loaded on the worker, off
    /// the caller's thread); `wake` is called after each event (for example to repaint a window).
    pub fn spawn(load: impl FnOnce() -> anyhow::Result<Editor> + Send + 'static, wake: impl Fn() + Send + 'static) -> Self {
        let (requests, inbox) = mpsc::channel::<Work>();
        let (tx, events) = mpsc::channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = cancel.clone();
        std::thread::Builder::new()
            .name("edit".into())
            .spawn(move || {
                let send = |event: EditEvent| {
                    let _ = tx.send(event);
                    wake();
                };
                let editor = match load() {
                    Ok(editor) => editor,
                    Err(e) => return send(EditEvent::LoadFailed(format!("{e:#}"))),
                };
                send(EditEvent::Ready);
                let render = |id: u64, latent: &[f32], max_side: usize| match editor.render_at(latent, max_side) {
                    Ok(image) => send(EditEvent::Rendered { id, image }),
                    Err(e) => send(EditEvent::Failed { id, message: e.to_string() }),
                };
                // The next edit to work on; renders are drawn as soon as they are seen.
                let next_edit = |first: Option<Work>| -> Option<EditRequest> {
                    let mut pending = first;
                    loop {
                        match pending.take().or_else(|| inbox.recv().ok())? {
                            Work::Render { id, latent, max_side } => render(id, &latent, max_side),
                            Work::Edit(request) => return Some(request),
                        }
                    }
                };
                let mut next = next_edit(None);
                while let Some(mut request) = next.take() {
                    // Only the newest request waiting is worked on.
                    while let Ok(newer) = inbox.try_recv() {
                        match newer {
                            Work::Edit(newer) => request = newer,
                            Work::Render { id, latent, max_side } => render(id, &latent, max_side),
                        }
                    }
                    stop.store(false, Ordering::Relaxed);
                    let mut superseded = false;
                    let result = editor.base_latent(&request.base).and_then(|base| {
                        editor.edit(&base, &request.targets, |frame| {
                            send(EditEvent::Frame { id: request.id, frame });
                            match inbox.try_recv() {
                                Ok(Work::Render { id, latent, max_side }) => {
                                    render(id, &latent, max_side);
                                    ControlFlow::Continue(())
                                }
                                Ok(Work::Edit(newer)) => {
                                    next = Some(newer);
                                    superseded = true;
                                    ControlFlow::Break(())
                                }
                                Err(TryRecvError::Empty) if !stop.load(Ordering::Relaxed) => ControlFlow::Continue(()),
                                Err(_) => {
                                    superseded = true;
                                    ControlFlow::Break(())
                                }
                            }
                        })
                    });
                    match result {
                        Ok(latent) if !superseded => send(EditEvent::Done { id: request.id, latent }),
                        Ok(_) => {}
                        Err(e) => send(EditEvent::Failed { id: request.id, message: e.to_string() }),
                    }
                    if next.is_none() {
                        next = next_edit(None);
                    }
                }
            })
            .expect("spawning a thread only fails when the OS is out of resources");
        Self { requests, events, cancel }
    }

    /// Queues a request; it supersedes any request not yet done.
    pub fn request(&self, request: EditRequest) {
        let _ = self.requests.send(Work::Edit(request));
    }

    /// Asks for the face of `latent` at up to `max_side` pixels (for example the model's full resolution for
    /// an export, where slider frames use the preview size); answered by [`EditEvent::Rendered`] with `id`.
    pub fn render(&self, id: u64, latent: Vec<f32>, max_side: usize) {
        let _ = self.requests.send(Work::Render { id, latent, max_side });
    }

    /// Stops the request in progress at its next frame.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Events since the last call, without waiting.
    pub fn poll(&self) -> Vec<EditEvent> {
        self.events.try_iter().collect()
    }

    /// Waits for the next event; `None` once the worker has ended.
    pub fn wait(&self) -> Option<EditEvent> {
        self.events.recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_point_of_p_beta_is_the_point_itself_inside_and_on_the_hull_outside() {
        let anchors = vec![vec![0.0, 0.0], vec![1.0, 0.0], vec![0.0, 1.0]];
        let step = 0.5 / largest_gram_eigenvalue(&anchors);
        // Inside: the point is reproduced.
        let a = nearest_in_space(&anchors, &[0.2, 0.3], vec![1.0 / 3.0; 3], step);
        let p = super::super::space::mix(&anchors, &a);
        assert!((p[0] - 0.2).abs() < 1e-3 && (p[1] - 0.3).abs() < 1e-3, "{p:?}");
        // Far outside along the diagonal: the dilated hull's edge (x + y = 1 + 2 beta... within the dilation).
        let a = nearest_in_space(&anchors, &[3.0, 3.0], vec![1.0 / 3.0; 3], step);
        let p = super::super::space::mix(&anchors, &a);
        assert!((p[0] - p[1]).abs() < 1e-3 && p[0] > 0.5 && p[0] < 0.56, "{p:?}");
        assert!(super::super::space::contains(&a, BETA, 1e-4));
    }

    #[test]
    fn targets_and_orthonormal_directions() {
        let t = Targets::default().with(Attribute::Smile, 0.8).with(Attribute::Yaw, -10.0);
        assert_eq!(t.requested(), vec![(Attribute::Yaw, -10.0), (Attribute::Smile, 0.8)]);
        let o = orthonormal(vec![vec![2.0, 0.0, 0.0], vec![1.0, 1.0, 0.0], vec![3.0, 3.0, 0.0]]);
        assert_eq!(o.len(), 2);
        assert!((o[1][1] - 1.0).abs() < 1e-6 && o[1][0].abs() < 1e-6);
    }
}
