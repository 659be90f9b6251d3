//! How well a personalized prior knows its person, against the untuned generator it started from:
//! reconstruction PSNR and identity similarity on the training photos (each from its anchor), on held-out
//! photos (projected into P_beta for the tuned prior; freely inverted into the whole latent space for the
//! untuned generator, the best it can do), and the identity of random samples. And attribute control:
//! sweeps of each slider across its range, scored by the rank correlation of requested and measured
//! values, their mean error, and identity drift (the lowest identity similarity to the person along the
//! sweep).

use burn::tensor::{Device, Tensor, TensorData};
use image::RgbImage;
use serde::Serialize;

use super::invert::{InversionSettings, invert};
use super::loss::ReconstructionLoss;
use super::personal::PersonalPrior;
use super::projection::{ProjectionSettings, project_into_space};
use crate::attributes::image_tensor;
use crate::generator::{FaceGenerator, Generator};
use crate::imaging::tensor_to_images;

/// Mean scores over a set of photos.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Scores {
    /// Mean reconstruction PSNR in dB (pixel values in [0, 1]).
    pub psnr_db: f64,
    /// Mean cosine similarity of the identity embeddings of reconstruction and photo.
    pub identity: f64,
}

/// Tuned against untuned on one set of photos.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// Photos scored.
    pub photos: usize,
    /// The personalized prior.
    pub tuned: Scores,
    /// The generator before tuning.
    pub untuned: Scores,
}

/// Identity of random samples: mean cosine similarity of each sample's embedding with the person's (the
/// normalized mean embedding of the training photos).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SampleIdentity {
    /// Samples drawn from each generator.
    pub samples: usize,
    /// Samples of P_beta drawn by the tuned generator.
    pub tuned: f64,
    /// Samples of the untuned generator (standard normal latents).
    pub untuned: f64,
}

/// A PSNR in dB and identity similarity per face, between `outputs` and `targets` (64 px, in [0, 1]).
pub fn scores_per_face(loss: &ReconstructionLoss, outputs: Tensor<4>, targets: Tensor<4>) -> Vec<(f64, f64)> {
    let n = outputs.dims()[0];
    let mse = (outputs.clone() - targets.clone()).powf_scalar(2.0).reshape([n as i32, -1]).mean_dim(1).reshape([n]);
    let similarity = loss.identity_distance(outputs, targets).neg() + 1.0;
    let to_vec = |t: Tensor<1>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
    to_vec(mse)
        .into_iter()
        .zip(to_vec(similarity))
        .map(|(m, s)| (10.0 * (1.0 / (m as f64).max(1e-12)).log10(), s as f64))
        .collect()
}

fn mean_scores(per_face: &[(f64, f64)]) -> Scores {
    let n = per_face.len().max(1) as f64;
    Scores {
        psnr_db: per_face.iter().map(|s| s.0).sum::<f64>() / n,
        identity: per_face.iter().map(|s| s.1).sum::<f64>() / n,
    }
}

fn faces_tensor(faces: &[RgbImage], device: &Device) -> Tensor<4> {
    Tensor::cat(faces.iter().map(|f| image_tensor(f, device)).collect(), 0)
}

fn draw(generator: &Generator, latents: &[Vec<f32>]) -> Tensor<4> {
    let dim = generator.latent_dim();
    let z = Tensor::<2>::from_data(TensorData::new(latents.concat(), [latents.len(), dim]), &generator.device());
    (generator.faces(z) + 1.0) / 2.0
}

/// Training photos (`faces[i]` is the photo of anchor `i`): each reconstructed from its anchor by the tuned
/// and by the untuned generator (the anchors were found with the untuned one).
pub fn training(prior: &PersonalPrior, untuned: &Generator, loss: &ReconstructionLoss, faces: &[RgbImage]) -> Comparison {
    let n = faces.len().min(prior.anchors.len());
    let targets = faces_tensor(&faces[..n], &prior.generator.device());
    let anchors = &prior.anchors[..n];
    Comparison {
        photos: n,
        tuned: mean_scores(&scores_per_face(loss, draw(&prior.generator, anchors), targets.clone())),
        untuned: mean_scores(&scores_per_face(loss, draw(untuned, anchors), targets)),
    }
}

/// Held-out photos: projected into P_beta under the tuned generator, and inverted into the untuned
/// generator's whole latent space. Everything must be on one autodiff device. Also returns the tuned
/// reconstructions, for a look.
pub fn held_out(
    prior: &PersonalPrior,
    untuned: &Generator,
    loss: &ReconstructionLoss,
    faces: &[RgbImage],
    projection: &ProjectionSettings,
    inversion: &InversionSettings,
) -> anyhow::Result<(Comparison, Vec<RgbImage>)> {
    let device = prior.generator.device();
    let (mut tuned, mut untuned_scores, mut shown) = (Vec::new(), Vec::new(), Vec::new());
    for (i, face) in faces.iter().enumerate() {
        let target = image_tensor(face, &device);
        let p = project_into_space(&prior.generator, loss, &prior.anchors, target.clone(), projection);
        let output = draw(&prior.generator, &[p.latent]).detach();
        tuned.extend(scores_per_face(loss, output.clone(), target.clone()));
        shown.extend(tensor_to_images(output * 2.0 - 1.0)?);
        let free = invert(untuned, loss, target.clone(), inversion, 1000 + i as u64);
        untuned_scores.extend(scores_per_face(loss, draw(untuned, &[free.latent]).detach(), target));
    }
    let comparison = Comparison { photos: faces.len(), tuned: mean_scores(&tuned), untuned: mean_scores(&untuned_scores) };
    Ok((comparison, shown))
}

/// Identity of `count` random samples of each generator against the person in `faces`.
pub fn sample_identity(prior: &PersonalPrior, untuned: &Generator, loss: &ReconstructionLoss, faces: &[RgbImage], count: usize, seed: u64) -> SampleIdentity {
    let device = prior.generator.device();
    let person = loss.embeddings(faces_tensor(faces, &device)).mean_dim(0);
    let person = person.clone() / person.powf_scalar(2.0).sum().sqrt().clamp_min(1e-6).reshape([1, 1]);
    let similarity = |samples: Tensor<4>| -> f64 {
        let e = loss.embeddings(samples.detach());
        let s = (e * person.clone()).sum_dim(1).mean();
        s.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default().first().copied().unwrap_or(f32::NAN) as f64
    };
    let tuned_latents: Vec<Vec<f32>> = (0..count as u64)
        .map(|i| super::space::mix(&prior.anchors, &super::space::sample_coefficients(prior.anchors.len(), seed.wrapping_add(i))))
        .collect();
    let dim = untuned.latent_dim();
    let random = untuned.random_latents(seed, count).into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
    let untuned_latents: Vec<Vec<f32>> = random.chunks(dim).map(<[f32]>::to_vec).collect();
    SampleIdentity {
        samples: count,
        tuned: similarity(draw(&prior.generator, &tuned_latents)),
        untuned: similarity(draw(untuned, &untuned_latents)),
    }
}

/// How well one slider controls its attribute over a sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Control {
    /// The attribute.
    pub attribute: super::organize::Attribute,
    /// Requested values, evenly across the slider's range.
    pub requested: Vec<f32>,
    /// The attribute measured on each edited face.
    pub measured: Vec<f32>,
    /// Spearman rank correlation of requested and measured.
    pub rank_correlation: f64,
    /// Mean absolute error between requested and measured, in the attribute's units.
    pub mean_error: f64,
    /// Lowest identity similarity to the person along the sweep.
    pub lowest_identity: f64,
    /// The edited faces.
    #[serde(skip)]
    pub frames: Vec<RgbImage>,
}

/// Sweeps `attribute`'s slider over `steps` values across its range from `base`, editing each with
/// `editor`, and scores the sweep against the measured values; identity is compared with `person` (an
/// embedding, see [`super::edit::Editor::person_embedding`]). `None` when the attribute has no slider.
pub fn sweep(
    editor: &super::edit::Editor,
    attribute: super::organize::Attribute,
    steps: usize,
    base: &[f32],
    person: &[f32],
) -> anyhow::Result<Option<Control>> {
    let Some(slider) = editor.controls().slider(attribute) else { return Ok(None) };
    let (lo, hi) = slider.calibration.range;
    let steps = steps.max(2);
    let requested: Vec<f32> = (0..steps).map(|i| lo + (hi - lo) * i as f32 / (steps - 1) as f32).collect();
    let (mut measured, mut frames, mut lowest) = (Vec::new(), Vec::new(), f64::INFINITY);
    for &value in &requested {
        let targets = super::edit::Targets::default().with(attribute, value);
        let latent = editor.edit(base, &targets, |_| std::ops::ControlFlow::Continue(()))?;
        let attributes = editor.measure(&latent)?;
        measured.push(attribute.of(&attributes));
        let e = editor.embedding(&editor.face(&latent)?);
        lowest = lowest.min(e.iter().zip(person).map(|(a, b)| (a * b) as f64).sum::<f64>());
        frames.push(editor.render(&latent)?);
    }
    let mean_error = requested.iter().zip(&measured).map(|(r, m)| (r - m).abs() as f64).sum::<f64>() / steps as f64;
    Ok(Some(Control { attribute, rank_correlation: spearman(&requested, &measured), mean_error, lowest_identity: lowest, requested, measured, frames }))
}

/// Spearman's rank correlation (average ranks for ties); 0 when either side is constant.
pub fn spearman(a: &[f32], b: &[f32]) -> f64 {
    let ranks = |v: &[f32]| -> Vec<f64> {
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
        let mut r = vec![0.0; v.len()];
        let mut i = 0;
        while i < order.len() {
            let mut j = i;
            while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
                j += 1;
            }
            for k in i..=j {
                r[order[k]] = (i + j) as f64 / 2.0;
            }
            i = j + 1;
        }
        r
    };
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let (va, vb): (f64, f64) = (ra.iter().map(|x| (x - ma).powi(2)).sum(), rb.iter().map(|y| (y - mb).powi(2)).sum());
    if va <= 0.0 || vb <= 0.0 { 0.0 } else { cov / (va * vb).sqrt() }
}

/// The person's own same-person level: the mean identity similarity between pairs of their training
/// faces (an edit that stays above it still looks like them).
pub fn same_person_level(editor: &super::edit::Editor, faces: &[RgbImage]) -> f64 {
    let e: Vec<Vec<f32>> = faces.iter().map(|f| editor.embedding(f)).collect();
    let (mut total, mut pairs) = (0.0, 0);
    for i in 0..e.len() {
        for j in i + 1..e.len() {
            total += e[i].iter().zip(&e[j]).map(|(a, b)| (a * b) as f64).sum::<f64>();
            pairs += 1;
        }
    }
    if pairs == 0 { f64::NAN } else { total / pairs as f64 }
}

#[cfg(test)]
mod tests {
    #[test]
    fn spearman_of_monotone_reversed_and_tied_sequences() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!((super::spearman(&a, &[2.0, 4.0, 8.0, 16.0, 32.0]) - 1.0).abs() < 1e-12);
        assert!((super::spearman(&a, &[5.0, 4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(super::spearman(&a, &[1.0; 5]), 0.0);
        let r = super::spearman(&a, &[1.0, 3.0, 2.0, 4.0, 5.0]);
        assert!((r - 0.9).abs() < 1e-12, "{r}");
    }
}
