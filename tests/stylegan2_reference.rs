//! The burn StyleGAN2 reproduces an independent implementation (PyPI `stylegan2-torch` 1.3.0, see
//! tools/build_stylegan2_fixture.py) on a tiny random 64 px generator saved as a rosinality `g_ema`
//! checkpoint: Z, W and W+ inputs and truncation, to 1e-3 per pixel on the CPU backend. The .pt and
//! its safetensors copy load to the same network; config-f has rosinality's parameter count; files
//! that are not StyleGAN2 generators are refused with errors that name the file and the problem.

mod common;

use std::collections::HashMap;
use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use mystyle::backend::{self, BackendChoice, BackendKind};
use mystyle::generator::stylegan2::{Latents, Noise, StyleGan2, StyleGan2Config, Truncation};

/// rosinality's g_ema at 1024 px, config-f (printed by tools/build_stylegan2_fixture.py, which
/// counts the package's parameters and checks them against model.py's layer list).
const CONFIG_F_PARAMETERS: usize = 30_370_060;

fn reference() -> HashMap<String, common::Array> {
    common::read_safetensors(&common::fixture("stylegan2/tiny_reference.safetensors"))
}

fn tensor<const D: usize>(array: &common::Array, device: &Device) -> Tensor<D> {
    let dims: [usize; D] = array.shape.clone().try_into().unwrap();
    Tensor::from_data(TensorData::new(array.values.clone(), dims), device)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
}

fn max_abs_diff<const D: usize>(t: Tensor<D>, expected: &common::Array) -> f32 {
    assert_eq!(t.dims().to_vec(), expected.shape);
    values(t).iter().zip(&expected.values).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}

fn load(name: &str, device: &Device) -> StyleGan2 {
    StyleGan2::from_checkpoint(&common::fixture(&format!("stylegan2/{name}")), device).unwrap()
}

fn explicit_noise(reference: &HashMap<String, common::Array>, model: &StyleGan2, device: &Device) -> Noise {
    Noise::Explicit((0..model.noise_shapes().len()).map(|i| tensor::<4>(&reference[&format!("noise_{i}")], device)).collect())
}

#[test]
fn tiny_checkpoint_matches_the_reference_for_z_w_and_w_plus() {
    let device = Device::flex();
    let reference = reference();
    let model = load("tiny_g_ema.pt", &device);
    assert_eq!(model.resolution(), 64);
    assert_eq!(model.style_dim(), 64);
    assert_eq!(model.n_latent(), 10);
    assert_eq!(model.config().channels, Some(vec![32, 32, 32, 24, 16]));
    let noise = explicit_noise(&reference, &model, &device);
    let z = tensor::<2>(&reference["z"], &device);
    let w = tensor::<2>(&reference["w"], &device);
    let (_, spread) = common::mean_std(reference["image_z"].values.iter().map(|&v| v as f64));
    assert!(spread > 0.1, "reference images look constant (std {spread})");

    let mapping = max_abs_diff(model.mapping(z.clone()), &reference["w"]);
    let from_z = max_abs_diff(model.forward(Latents::Z(z.clone()), None, &noise), &reference["image_z"]);
    let from_w = max_abs_diff(model.forward(Latents::W(w), None, &noise), &reference["image_w"]);
    let w_plus = tensor::<3>(&reference["w_plus"], &device);
    let from_w_plus = max_abs_diff(model.forward(Latents::WPlus(w_plus), None, &noise), &reference["image_w_plus"]);
    let stored_mean = StyleGan2::latent_avg_from_checkpoint(&common::fixture("stylegan2/tiny_g_ema.pt"), &device).unwrap();
    assert_eq!(max_abs_diff(stored_mean.expect("latent_avg"), &reference["trunc_mean"]), 0.0);
    let truncation = Truncation { psi: 0.7, mean: tensor::<2>(&reference["trunc_mean"], &device) };
    let truncated = max_abs_diff(model.forward(Latents::Z(z.clone()), Some(&truncation), &noise), &reference["image_trunc"]);
    println!(
        "max |burn - reference|: mapping {mapping:.2e}, Z {from_z:.2e}, W {from_w:.2e}, W+ {from_w_plus:.2e}, truncated {truncated:.2e}"
    );
    for (what, err) in [("mapping", mapping), ("Z", from_z), ("W", from_w), ("W+", from_w_plus), ("truncation", truncated)] {
        assert!(err <= 1e-3, "{what}: max per-pixel error {err}");
    }

    // The fixture's noise tensors are the checkpoint's noise buffers.
    let fixed = max_abs_diff(model.forward(Latents::Z(z.clone()), None, &Noise::Fixed), &reference["image_z"]);
    assert!(fixed <= 1e-3, "fixed noise buffers: {fixed}");
    // Random noise changes the image, but not much.
    let random = max_abs_diff(model.forward(Latents::Z(z), None, &Noise::Random), &reference["image_z"]);
    assert!(random > 1e-3, "random noise had no effect");
}

#[test]
fn wgpu_backend_matches_the_reference_where_an_adapter_exists() {
    let chosen = backend::select(BackendChoice::Wgpu);
    let BackendKind::Wgpu(adapter) = &chosen.kind else {
        println!("no usable wgpu adapter here ({:?}); the wgpu comparison did not run", chosen.notice);
        return;
    };
    let device = &chosen.device;
    let reference = reference();
    let model = load("tiny_g_ema.pt", device);
    let noise = explicit_noise(&reference, &model, device);
    let w_plus = tensor::<3>(&reference["w_plus"], device);
    let err = max_abs_diff(model.forward(Latents::WPlus(w_plus), None, &noise), &reference["image_w_plus"]);
    println!("wgpu on {adapter}: max |burn - reference| = {err:.2e} (W+)");
    assert!(err <= 1e-3, "max per-pixel error {err} on {adapter}");
}

#[test]
fn pt_and_safetensors_copies_load_the_same_generator() {
    let device = Device::flex();
    let reference = reference();
    let from_pt = load("tiny_g_ema.pt", &device);
    let from_safetensors = load("tiny_g_ema.safetensors", &device);
    let z = tensor::<2>(&reference["z"], &device);
    let a = values(from_pt.forward(Latents::Z(z.clone()), None, &Noise::Fixed));
    let b = values(from_safetensors.forward(Latents::Z(z), None, &Noise::Fixed));
    let diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
    println!("max |pt - safetensors| = {diff:.2e}");
    assert_eq!(diff, 0.0);
    assert_eq!(from_pt.num_params(), from_safetensors.num_params());
}

#[test]
fn gradients_reach_w_plus_and_the_weights_under_autodiff() {
    let device = Device::flex().autodiff();
    let reference = reference();
    let model = load("tiny_g_ema.pt", &device);
    let w_plus = tensor::<3>(&reference["w_plus"], &device).require_grad();
    let image = model.forward(Latents::WPlus(w_plus.clone()), None, &Noise::Fixed);
    let grads = image.powf_scalar(2.0).mean().backward();
    let grad = values(w_plus.grad(&grads).expect("W+ has a gradient"));
    assert!(grad.iter().all(|g| g.is_finite()) && grad.iter().any(|g| *g != 0.0));
    let weight_grad = model.conv1.conv.weight.grad(&grads).expect("conv1 weight has a gradient");
    assert!(values(weight_grad).iter().any(|g| *g != 0.0));
}

#[test]
fn config_f_has_rosinality_parameter_count() {
    let config = StyleGan2Config::new();
    assert_eq!(config.channel_table(), [512, 512, 512, 512, 512, 256, 128, 64, 32]);
    let model = config.init(&Device::flex());
    assert_eq!(model.num_params(), CONFIG_F_PARAMETERS);
    assert_eq!(model.n_latent(), 18);
    assert_eq!(model.convs.len(), 16);
    assert_eq!(model.noises.len(), 17);
    println!("config-f: {} parameters", model.num_params());
}

#[test]
fn small_random_generators_produce_images_of_their_resolution() {
    let device = Device::flex();
    for resolution in [32usize, 128] {
        let channels = (0..=resolution.trailing_zeros() as usize - 2).map(|i| 16 >> (i / 3)).collect::<Vec<_>>();
        let model = StyleGan2Config::new()
            .with_resolution(resolution)
            .with_style_dim(16)
            .with_n_mlp(2)
            .with_channels(Some(channels))
            .init(&device);
        let mean = model.mean_latent(64, 3);
        let truncation = Truncation { psi: 0.5, mean };
        let z = Tensor::<2>::from_data(TensorData::new(mystyle::generator::latent::normal_latents(1, 2, 16), [2, 16]), &device);
        let image = model.forward(Latents::Z(z), Some(&truncation), &Noise::Random);
        assert_eq!(image.dims(), [2, 3, resolution, resolution]);
        assert!(values(image).iter().all(|v| v.is_finite()));
    }
}

fn error_for(path: &Path) -> String {
    StyleGan2::from_checkpoint(path, &Device::flex()).unwrap_err().to_string()
}

#[test]
fn truncated_and_foreign_files_are_refused_with_the_problem_named() {
    let dir = common::scratch("stylegan2_bad_files");
    let bytes = std::fs::read(common::fixture("stylegan2/tiny_g_ema.pt")).unwrap();
    let truncated = dir.join("truncated_g_ema.pt");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = error_for(&truncated);
    println!("truncated: {err}");
    assert!(err.contains("truncated_g_ema.pt") && err.contains("cannot read"), "{err}");

    let bytes = std::fs::read(common::fixture("stylegan2/tiny_g_ema.safetensors")).unwrap();
    let truncated = dir.join("truncated_g_ema.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() - 1000]).unwrap();
    let err = error_for(&truncated);
    println!("truncated safetensors: {err}");
    assert!(err.contains("truncated_g_ema.safetensors"), "{err}");

    let dcgan = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dcgan_digiface64.safetensors");
    let err = error_for(&dcgan);
    println!("dcgan: {err}");
    assert!(err.contains("dcgan_digiface64.safetensors") && err.contains("not a rosinality StyleGAN2"), "{err}");

    let text = dir.join("notes.pt");
    std::fs::write(&text, "hello").unwrap();
    let err = error_for(&text);
    assert!(err.contains("notes.pt") && err.contains("neither"), "{err}");
}

#[test]
fn a_missing_or_misshapen_tensor_is_named() {
    let dir = common::scratch("stylegan2_edited");
    let tensors = common::read_safetensors(&common::fixture("stylegan2/tiny_g_ema.safetensors"));
    let missing = dir.join("missing.safetensors");
    write_safetensors(&missing, tensors.iter().filter(|(k, _)| *k != "convs.3.noise.weight"));
    let err = error_for(&missing);
    println!("missing: {err}");
    assert!(err.contains("missing.safetensors") && err.contains("convs.3.noise.weight") && err.contains("missing"), "{err}");

    let misshapen = dir.join("misshapen.safetensors");
    let bad = common::Array { shape: vec![16, 64], values: vec![0.0; 16 * 64] };
    write_safetensors(
        &misshapen,
        tensors.iter().map(|(k, v)| if k == "convs.2.conv.modulation.weight" { (k, &bad) } else { (k, v) }),
    );
    let err = error_for(&misshapen);
    println!("misshapen: {err}");
    assert!(err.contains("convs.2.conv.modulation.weight") && err.contains("[16, 64]"), "{err}");
}

/// A float32 safetensors file of `tensors` (8-byte header length, JSON header, raw data).
fn write_safetensors<'a>(path: &Path, tensors: impl Iterator<Item = (&'a String, &'a common::Array)>) {
    let (mut header, mut data) = (serde_json::Map::new(), Vec::new());
    for (name, array) in tensors {
        let start = data.len();
        data.extend(array.values.iter().flat_map(|v| v.to_le_bytes()));
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": array.shape, "data_offsets": [start, data.len()]}),
        );
    }
    let mut header = serde_json::to_vec(&header).unwrap();
    header.resize(header.len().div_ceil(8) * 8, b' ');
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header);
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}
