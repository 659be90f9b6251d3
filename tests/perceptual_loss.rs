//! The perceptual term ranks blurred or shifted faces as worse than a brightness change with the same
//! pixel error, and is zero for identical faces; its gradient reaches the image. The identity term, on
//! 64-pixel aligned faces, puts a person's own faces closer together than other people's.

mod common;

use burn::tensor::Device;
use image::{RgbImage, imageops};
use mystyle::attributes::image_tensor;
use mystyle::prior::loss::{LossWeights, ReconstructionLoss};

fn aligned_face(person: &str, name: &str) -> RgbImage {
    common::faces(person, &[name]).remove(0)
}

fn mse(a: &RgbImage, b: &RgbImage) -> f64 {
    a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| ((*x as f64 - *y as f64) / 255.0).powi(2)).sum::<f64>() / a.as_raw().len() as f64
}

/// The face made uniformly brighter so that its pixel error equals `target_mse`.
fn brighter_with_mse(face: &RgbImage, target_mse: f64) -> RgbImage {
    let mut best = face.clone();
    for delta in 1..=80i32 {
        best = imageops::brighten(face, delta);
        if mse(face, &best) >= target_mse {
            break;
        }
    }
    best
}

#[test]
fn blur_and_shift_rank_worse_than_an_equal_pixel_error_in_brightness() {
    let device = Device::flex();
    let loss = ReconstructionLoss::load(&device).unwrap();
    for (person, name) in [("P001", "neutral"), ("P004", "happy"), ("P005", "front_view")] {
        let face = aligned_face(person, name);
        let blurred = imageops::blur(&face, 1.2);
        let mut shifted = face.clone();
        imageops::replace(&mut shifted, &imageops::crop_imm(&face, 2, 0, 62, 64).to_image(), 0, 0);
        let d = |x: &RgbImage| {
            loss.distance(image_tensor(x, &device), image_tensor(&face, &device)).into_data().as_slice::<f32>().unwrap()[0]
        };
        assert!(d(&face) < 1e-6, "identical faces differ");
        for (what, degraded) in [("blur", &blurred), ("shift", &shifted)] {
            let bright = brighter_with_mse(&face, mse(&face, degraded));
            let (dd, db) = (d(degraded), d(&bright));
            println!("{person} {name}: {what} mse {:.4} perceptual {dd:.4}; brightness mse {:.4} perceptual {db:.4}", mse(&face, degraded), mse(&face, &bright));
            assert!(dd > 2.0 * db, "{person} {name}: {what} {dd} vs brightness {db}");
        }
    }
}

#[test]
fn reconstruction_loss_has_a_gradient_for_the_output() {
    let device = Device::flex().autodiff();
    let loss = ReconstructionLoss::load(&device).unwrap();
    let face = aligned_face("P002", "neutral");
    let target = image_tensor(&face, &device);
    let output = image_tensor(&imageops::blur(&face, 1.0), &device).require_grad();
    let grads = loss.reconstruction(output.clone(), target, LossWeights { perceptual: 1.0, identity: 1.0 }).sum().backward();
    let g = output.grad(&grads).unwrap().into_data().as_slice::<f32>().unwrap().to_vec();
    assert!(g.iter().all(|v| v.is_finite()) && g.iter().any(|v| v.abs() > 1e-9));
}

#[test]
fn identity_term_keeps_a_person_closer_to_themselves_than_to_others() {
    let device = Device::flex();
    let loss = ReconstructionLoss::load(&device).unwrap();
    let people = ["P001", "P002", "P003", "P004", "P005", "P006"];
    let faces: Vec<(RgbImage, RgbImage)> =
        people.iter().map(|p| (aligned_face(p, "neutral"), aligned_face(p, "happy"))).collect();
    let d = |a: &RgbImage, b: &RgbImage| {
        loss.identity_distance(image_tensor(a, &device), image_tensor(b, &device)).into_data().as_slice::<f32>().unwrap()[0]
    };
    for (i, (neutral, happy)) in faces.iter().enumerate() {
        assert!(d(neutral, neutral) < 1e-5);
        let own = d(neutral, happy);
        let nearest_other = faces.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, (other, _))| d(neutral, other)).fold(f32::INFINITY, f32::min);
        println!("{}: own {own:.3}, nearest other {nearest_other:.3}", people[i]);
        assert!(own < nearest_other, "{}: own {own} vs other {nearest_other}", people[i]);
        let mut shifted = neutral.clone();
        imageops::replace(&mut shifted, &imageops::crop_imm(neutral, 3, 0, 61, 64).to_image(), 0, 0);
        assert!(d(neutral, &shifted) > 1e-3, "{}: a shifted face has the same identity", people[i]);
    }
}
