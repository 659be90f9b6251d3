//! Projection into the generator's latent space (anchors): a face the generator made is found again, and a
//! real face is reconstructed much better than by the random starts.

mod common;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use mystyle::attributes::image_tensor;
use mystyle::generator::latent::normal_latents;
use mystyle::generator::{FaceGenerator, Generator, ModelSource};
use mystyle::prior::invert::{InversionSettings, invert};
use mystyle::prior::loss::ReconstructionLoss;

fn psnr(a: &Tensor<4>, b: &Tensor<4>) -> f32 {
    let mse: f32 = (a.clone() - b.clone()).powf_scalar(2.0).mean().into_scalar();
    10.0 * (1.0 / mse).log10()
}

fn generate(model: &Generator, z: Vec<f32>, device: &Device) -> Tensor<4> {
    let dim = z.len();
    (model.faces(Tensor::from_data(TensorData::new(z, [1, dim]), device)) + 1.0) / 2.0
}

#[test]
fn inversion_recovers_generated_faces_and_fits_real_ones() {
    let device = Device::flex().autodiff();
    let generator = ModelSource::DefaultDcgan.load(&device).unwrap().freeze();
    let loss = ReconstructionLoss::load(&device).unwrap();
    let settings = InversionSettings { starts: 3, steps: 100, ..Default::default() };

    // A face the generator made from a known latent.
    let target = generate(&generator, normal_latents(5, 1, 100), &device).detach();
    let found = invert(&generator, &loss, target.clone(), &settings, 11);
    let recon = generate(&generator, found.latent.clone(), &device);
    let p = psnr(&recon, &target);
    println!("generated face: PSNR {p:.1} dB, losses per start {:?}", found.per_start);
    assert!(p > 22.0, "PSNR {p}"); // random starts reach about 12 dB
    assert!(found.per_start.iter().all(|&l| l >= found.loss));

    // A real face (openpeople P003), aligned to 64 px.
    let aligned = common::faces("P003", &["neutral"]).remove(0);
    let target = image_tensor(&aligned, &device);
    let start = (0..3).map(|i| psnr(&generate(&generator, normal_latents(11, 3, 100)[i * 100..(i + 1) * 100].to_vec(), &device), &target)).fold(f32::MIN, f32::max);
    let found = invert(&generator, &loss, target.clone(), &settings, 11);
    let recon = generate(&generator, found.latent, &device);
    let p = psnr(&recon, &target);
    let similarity = |x: Tensor<4>| 1.0 - loss.identity_distance(x, target.clone()).into_scalar::<f32>();
    let start_identity = (0..3)
        .map(|i| similarity(generate(&generator, normal_latents(11, 3, 100)[i * 100..(i + 1) * 100].to_vec(), &device)))
        .fold(f32::MIN, f32::max);
    let identity = similarity(recon);
    println!("real face: best random start PSNR {start:.1} dB, identity {start_identity:.2} -> inverted {p:.1} dB, identity {identity:.2}");
    // The loss trades a little pixel fit for identity (its identity term), so both must improve.
    assert!(p > start + 2.0, "inversion gained only {:.1} dB", p - start);
    assert!(identity > start_identity + 0.15, "identity {start_identity} -> {identity}");
}
