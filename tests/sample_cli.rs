//! `mystyle sample` writes a deterministic grid of real (non-constant, distinct) faces.

mod common;

use std::path::Path;
use std::process::Command;

fn sample(out: &Path, seed: u64, count: u32) {
    let status = Command::new(env!("CARGO_BIN_EXE_mystyle"))
        .args(["--backend", "cpu", "sample", "--count", &count.to_string(), "--seed", &seed.to_string(), "--out"])
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "mystyle sample failed: {status}");
}

/// The 64x64 tiles of a grid with a 2-pixel gap.
fn tiles(img: &image::RgbImage, cols: u32, rows: u32) -> Vec<image::RgbImage> {
    (0..rows * cols)
        .map(|i| image::imageops::crop_imm(img, 2 + (i % cols) * 66, 2 + (i / cols) * 66, 64, 64).to_image())
        .collect()
}

#[test]
fn sample_is_deterministic_and_draws_distinct_faces() {
    let dir = common::scratch("sample_cli");
    let (a, b, c) = (dir.join("a.png"), dir.join("b.png"), dir.join("c.png"));
    sample(&a, 7, 16);
    sample(&b, 7, 16);
    sample(&c, 8, 16);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "same seed, different files");

    let grid = image::open(&a).expect("a valid PNG").to_rgb8();
    assert_eq!(grid.dimensions(), (4 * 66 + 2, 4 * 66 + 2), "4x4 grid of 64px faces with 2px gaps");
    let faces = tiles(&grid, 4, 4);
    for (i, face) in faces.iter().enumerate() {
        let (_, spread) = common::mean_std(face.as_raw().iter().map(|&v| v as f64));
        assert!(spread > 20.0, "face {i} is nearly constant (std {spread:.1})");
    }
    for i in 0..faces.len() {
        for j in i + 1..faces.len() {
            let diff: f64 = faces[i].as_raw().iter().zip(faces[j].as_raw()).map(|(&x, &y)| (x as f64 - y as f64).abs()).sum::<f64>()
                / faces[i].as_raw().len() as f64;
            assert!(diff > 5.0, "faces {i} and {j} are nearly identical (mean abs diff {diff:.1})");
        }
    }
    let other = image::open(&c).unwrap().to_rgb8();
    assert_ne!(other.as_raw(), grid.as_raw(), "a different seed gave the same grid");
}

#[test]
fn odd_counts_make_a_near_square_grid() {
    let dir = common::scratch("sample_cli_odd");
    let out = dir.join("five.png");
    sample(&out, 1, 5);
    let grid = image::open(&out).unwrap().to_rgb8();
    assert_eq!(grid.dimensions(), (3 * 66 + 2, 2 * 66 + 2));
}

#[test]
fn an_unwritable_output_is_a_clear_error() {
    let dir = common::scratch("sample_cli_err");
    let out = dir.join("missing-folder").join("grid.png");
    let output = Command::new(env!("CARGO_BIN_EXE_mystyle"))
        .args(["--backend", "cpu", "sample", "--count", "1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("grid.png"), "{stderr}");
}
