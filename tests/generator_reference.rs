//! The burn DCGAN reproduces the original network (the package's weights run by onnxruntime, with
//! torch cross-checked, see tools/build_assets.py) to 1e-4 per pixel, on the CPU backend and on wgpu,
//! both as the trainable module and as the folded renderer the app draws with.

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use mystyle::backend::{self, BackendChoice, BackendKind, ComputeBackend};
use mystyle::generator::DcganRenderer;
use mystyle::generator::weights::default_dcgan;

/// Largest per-pixel difference to the reference, for the module and for the renderer.
fn max_error_against_reference(backend: &ComputeBackend) -> [f32; 2] {
    let device = &backend.device;
    let fixture = common::read_safetensors(&common::fixture("dcgan_reference.safetensors"));
    let (z, reference) = (&fixture["z"], &fixture["images"]);
    assert_eq!(z.shape, [4, 100]);
    assert_eq!(reference.shape, [4, 3, 64, 64]);
    // The reference is a real face image, not a constant: guard against a degenerate fixture.
    let (_, spread) = common::mean_std(reference.values.iter().map(|&v| v as f64));
    assert!(spread > 0.2, "reference images look constant (std {spread})");
    let model = default_dcgan(device).expect("embedded weights load");
    let renderer = DcganRenderer::new(&model, backend.parallel_parts().max(2));
    let latents = Tensor::<2>::from_data(TensorData::new(z.values.clone(), [4, 100]), device);
    [model.forward(latents.clone()), renderer.forward(latents)].map(|out| {
        assert_eq!(out.dims(), [4, 3, 64, 64]);
        let values = out.into_data().as_slice::<f32>().unwrap().to_vec();
        values.iter().zip(&reference.values).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
    })
}

#[test]
fn cpu_backend_matches_the_original_network() {
    let [module, renderer] = max_error_against_reference(&ComputeBackend::cpu());
    println!("flex: max |burn - reference| = {module:.2e} (module), {renderer:.2e} (renderer)");
    assert!(module <= 1e-4, "module: max per-pixel error {module}");
    assert!(renderer <= 1e-4, "renderer: max per-pixel error {renderer}");
}

#[test]
fn wgpu_backend_matches_the_original_network_where_an_adapter_exists() {
    let chosen = backend::select(BackendChoice::Wgpu);
    let BackendKind::Wgpu(adapter) = &chosen.kind else {
        println!("no usable wgpu adapter here ({:?}); the wgpu comparison did not run", chosen.notice);
        return;
    };
    let [module, renderer] = max_error_against_reference(&chosen);
    println!("wgpu on {adapter}: max |burn - reference| = {module:.2e} (module), {renderer:.2e} (renderer)");
    assert!(module <= 1e-4, "module: max per-pixel error {module} on {adapter}");
    assert!(renderer <= 1e-4, "renderer: max per-pixel error {renderer} on {adapter}");
}

#[test]
fn wrong_weights_are_refused_with_the_file_name() {
    let dir = common::scratch("wrong_weights");
    let path = dir.join("not-a-model.safetensors");
    std::fs::write(&path, b"this is not a safetensors file").unwrap();
    let err = mystyle::generator::weights::dcgan_from_file(&path, &Device::flex()).unwrap_err().to_string();
    assert!(err.contains("not-a-model.safetensors"), "{err}");
}
