//! MyStyle tuning end to end on one openpeople person: after inverting the aligned faces (anchors) and
//! tuning the generator on them, reconstructions are much closer to the photos than the untuned
//! generator's from the same anchors.

mod common;

use std::ops::ControlFlow;

use burn::module::Module;

use burn::tensor::{Device, Tensor, TensorData};
use mystyle::attributes::image_tensor;
use mystyle::generator::{FaceGenerator, ModelSource};
use mystyle::prior::invert::{InversionSettings, invert};
use mystyle::prior::loss::ReconstructionLoss;
use mystyle::prior::tune::{TuningSettings, tune};

fn psnr(a: Tensor<4>, b: Tensor<4>) -> f32 {
    let mse: f32 = (a - b).powf_scalar(2.0).mean().into_scalar();
    10.0 * (1.0 / mse).log10()
}

#[test]
fn tuned_generator_reconstructs_the_person_better_than_the_untuned_one() {
    let device = Device::flex().autodiff();
    let names = ["neutral", "happy", "sad", "angry", "surprised", "smug", "front_view", "studio_portrait"];
    let faces: Vec<Tensor<4>> = common::faces("P001", &names).iter().map(|f| image_tensor(f, &device)).collect();
    let photos = Tensor::cat(faces.clone(), 0);
    let loss = ReconstructionLoss::load(&device).unwrap();
    let frozen = ModelSource::DefaultDcgan.load(&device).unwrap().freeze();
    let inversion = InversionSettings { starts: 2, steps: 40, ..Default::default() };
    let latents: Vec<f32> = faces.iter().enumerate().flat_map(|(i, f)| invert(&frozen, &loss, f.clone(), &inversion, i as u64).latent).collect();
    let anchors = Tensor::<2>::from_data(TensorData::new(latents, [names.len(), 100]), &device);

    let untuned = ModelSource::DefaultDcgan.load(&device).unwrap();
    let before = psnr((untuned.faces(anchors.clone()) + 1.0) / 2.0, photos.clone());
    let mut losses = Vec::new();
    let settings = TuningSettings { steps: 80, batch: 4, learning_rate: 1e-3, ..Default::default() };
    let (tuned, steps) = tune(untuned, anchors.clone(), photos.clone(), &loss, &settings, 1, |s| {
        losses.push(s.loss);
        ControlFlow::Continue(())
    });
    let after = psnr((tuned.faces(anchors) + 1.0) / 2.0, photos);
    println!("PSNR over {} photos: untuned {before:.1} dB -> tuned {after:.1} dB after {steps} steps; loss {:.3} -> {:.3}", names.len(), losses[0], losses[losses.len() - 1]);
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(after > before + 3.0, "tuning gained only {:.1} dB", after - before);
}
