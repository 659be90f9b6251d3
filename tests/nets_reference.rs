//! Each face network's burn output equals onnxruntime's on a real face crop to 1e-3
//! (inputs and references from tools/net_reference.py), and gradients reach the input image.

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use mystyle::nets;

/// The fixture image as a [1,3,H,W] tensor of 0..255 values (RGB).
fn input(net: &str, device: &Device) -> Tensor<4> {
    let img = image::open(common::fixture(&format!("nets/{net}_input.png"))).unwrap().to_rgb8();
    let (w, h) = img.dimensions();
    let (w, h) = (w as usize, h as usize);
    let mut chw = vec![0.0f32; 3 * w * h];
    for (x, y, p) in img.enumerate_pixels() {
        for c in 0..3 {
            chw[c * w * h + y as usize * w + x as usize] = p[c] as f32;
        }
    }
    Tensor::from_data(TensorData::new(chw, [1, 3, h, w]), device)
}

fn reference(net: &str) -> std::collections::HashMap<String, common::Array> {
    common::read_safetensors(&common::fixture(&format!("nets/{net}_output.safetensors")))
}

fn max_diff(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len());
    got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().as_slice::<f32>().unwrap().to_vec()
}

fn assert_close(net: &str, what: &str, got: &[f32], want: &[f32]) {
    let d = max_diff(got, want);
    println!("{net} {what}: max |burn - onnxruntime| = {d:.2e}");
    assert!(d <= 1e-3, "{net} {what}: max difference {d}");
}

#[test]
fn yunet_matches_onnxruntime() {
    let device = Device::flex();
    let model = nets::yunet(&device).unwrap();
    let x = input("yunet", &device).flip([1]); // RGB -> BGR
    let (c8, c16, c32, o8, o16, o32, b8, b16, b32, k8, k16, k32) = model.forward(x);
    let want = reference("yunet");
    for (name, t) in [("cls_8", c8), ("cls_16", c16), ("cls_32", c32), ("obj_8", o8), ("obj_16", o16), ("obj_32", o32), ("bbox_8", b8), ("bbox_16", b16), ("bbox_32", b32), ("kps_8", k8), ("kps_16", k16), ("kps_32", k32)] {
        assert_close("yunet", name, &values(t), &want[name].values);
    }
}

#[test]
fn sface_matches_onnxruntime() {
    let device = Device::flex();
    let got = values(nets::sface(&device).unwrap().forward(input("sface", &device)));
    assert_close("sface", "fc1", &got, &reference("sface")["fc1"].values);
}

#[test]
fn age_matches_onnxruntime() {
    let device = Device::flex();
    let mean = Tensor::<1>::from_floats([122.782, 117.001, 104.298], &device).reshape([1, 3, 1, 1]);
    let x = (input("age", &device) - mean) / 256.0;
    let got = values(nets::age(&device).unwrap().forward(x));
    assert_close("age", "probabilities", &got, &reference("age")["probabilities"].values);
}

#[test]
fn expression_matches_onnxruntime() {
    let device = Device::flex();
    let grey = input("expression", &device).slice([0..1, 0..1, 0..64, 0..64]);
    let got = values(nets::expression(&device).unwrap().forward(grey / 127.5 - 1.0));
    assert_close("expression", "probabilities", &got, &reference("expression")["probabilities"].values);
}

#[test]
fn face_mesh_matches_onnxruntime() {
    let device = Device::flex();
    let (mesh, presence) = nets::face_mesh(&device).unwrap().forward(input("face_mesh", &device) / 255.0);
    let want = reference("face_mesh");
    // Mesh coordinates are in crop pixels (0..192): 1e-3 relative to that scale.
    let d = max_diff(&values(mesh), &want["mesh"].values);
    println!("face_mesh mesh: max |burn - onnxruntime| = {d:.2e} px");
    assert!(d <= 192.0 * 1e-3, "mesh differs by {d} px");
    assert_close("face_mesh", "presence", &values(presence), &want["presence"].values);
}

#[test]
fn face_parsing_matches_onnxruntime() {
    let device = Device::flex();
    let mean = Tensor::<1>::from_floats([0.485, 0.456, 0.406], &device).reshape([1, 3, 1, 1]);
    let std = Tensor::<1>::from_floats([0.229, 0.224, 0.225], &device).reshape([1, 3, 1, 1]);
    let x = (input("face_parsing", &device) / 255.0 - mean) / std;
    let logits = nets::face_parsing(&device).unwrap().forward(x);
    let [_, classes, h, w] = logits.dims();
    let sub = values(logits.clone().reshape([classes, h / 8, 8, w / 8, 8]).slice([0..classes, 0..h / 8, 0..1, 0..w / 8, 0..1]));
    assert_close("face_parsing", "logits (every 8th pixel)", &sub, &reference("face_parsing")["logits_every_8th"].values);
    let argmax = values(logits.argmax(1).float().reshape([h / 4, 4, w / 4, 4]).slice([0..h / 4, 0..1, 0..w / 4, 0..1]));
    let want = &reference("face_parsing")["argmax"].values;
    let agree = argmax.iter().zip(want).filter(|(a, b)| a == b).count() as f64 / want.len() as f64;
    println!("face_parsing: class agreement {:.4}", agree);
    assert!(agree > 0.999, "class maps agree on only {agree:.4}");
}

#[test]
fn gradients_reach_the_input_image() {
    let device = Device::flex().autodiff();
    let x = (input("expression", &device).slice([0..1, 0..1, 0..64, 0..64]) / 127.5 - 1.0).require_grad();
    let model = nets::expression(&device).unwrap();
    let happy = model.forward(x.clone()).slice([0..1, 3..4]).sum();
    let grads = happy.backward();
    let g = values(x.grad(&grads).expect("a gradient for the input"));
    assert!(g.iter().all(|v| v.is_finite()));
    let norm: f32 = g.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!(norm > 1e-6, "gradient is zero");
}
