//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A float32 tensor read from a fixture: shape and values.
pub struct Array {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Reads every F32 tensor of a safetensors file (8-byte header length, JSON header, raw data).
pub fn read_safetensors(path: &Path) -> HashMap<String, Array> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    header
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(k, v)| {
            assert_eq!(v["dtype"], "F32", "{k}");
            let shape = v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
            let [a, b] = [0, 1].map(|i| v["data_offsets"][i].as_u64().unwrap() as usize);
            let values = data[a..b].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
            (k.clone(), Array { shape, values })
        })
        .collect()
}

/// The repository's fixture folder.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A fresh empty folder for one test's outputs, under cargo's per-target temporary folder.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The faces of openpeople person `person`'s photos `names` (file stems), aligned at 64 px, in that order.
pub fn faces(person: &str, names: &[&str]) -> Vec<image::RgbImage> {
    let paths: Vec<PathBuf> = names.iter().map(|n| fixture(&format!("openpeople/{person}/{n}.jpg"))).collect();
    aligned(&paths)
}

/// The faces of every photo of openpeople person `person` whose file stem passes `keep`, aligned at 64 px,
/// in name order.
pub fn all_faces(person: &str, keep: impl Fn(&str) -> bool) -> Vec<image::RgbImage> {
    let dir = fixture(&format!("openpeople/{person}"));
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.retain(|p| p.extension().is_some_and(|x| x == "jpg") && keep(&p.file_stem().unwrap().to_string_lossy()));
    paths.sort();
    aligned(&paths)
}

fn aligned(paths: &[PathBuf]) -> Vec<image::RgbImage> {
    let detector = mystyle::face::detect::FaceDetector::load(&burn::tensor::Device::flex()).unwrap();
    let faces = mystyle::photoset::aligned_faces(paths, &detector, 64);
    assert_eq!(faces.len(), paths.len(), "a fixture photo without a face");
    faces
}

/// Mean and standard deviation of a slice.
pub fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count() as f64;
    let mean = values.clone().sum::<f64>() / n;
    let var = values.map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// CRC-32 (PNG chunks).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A PNG written by hand (stored, uncompressed deflate), for bit depths and sizes that image's
/// encoder cannot produce: `rows` are the raw scanlines without filter bytes.
pub fn raw_png(width: u32, height: u32, bit_depth: u8, colour_type: u8, rows: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    };
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([bit_depth, colour_type, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    let raw: Vec<u8> = rows.iter().flat_map(|r| std::iter::once(0u8).chain(r.iter().copied())).collect();
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push((i + 1 == blocks.len()) as u8);
        let n = block.len() as u16;
        zlib.extend(n.to_le_bytes());
        zlib.extend((!n).to_le_bytes());
        zlib.extend(*block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + byte as u32) % 65521;
        b = (b + a) % 65521;
    }
    zlib.extend(((b << 16) | a).to_be_bytes());
    chunk(b"IDAT", &zlib);
    chunk(b"IEND", &[]);
    out
}

/// A minimal EXIF (TIFF) block holding only the Orientation tag, as JPEG encoders embed it.
pub fn exif_orientation_block(orientation: u16) -> Vec<u8> {
    let mut tiff = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes()); // first IFD right after the header
    tiff.extend(1u16.to_le_bytes()); // one entry
    tiff.extend(0x0112u16.to_le_bytes()); // Orientation
    tiff.extend(3u16.to_le_bytes()); // SHORT
    tiff.extend(1u32.to_le_bytes()); // count
    tiff.extend(orientation.to_le_bytes());
    tiff.extend([0, 0]); // value padding
    tiff.extend(0u32.to_le_bytes()); // no next IFD
    tiff
}
