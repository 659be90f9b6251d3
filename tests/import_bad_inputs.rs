//! Rows of ../shared/research/bad-inputs.md at the import stage (1-7, 13, 19, 24, 25), each on a
//! synthesized input, asserting the behaviour that row expects.

mod common;

use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageEncoder, Rgb, RgbImage};
use mystyle::imaging::export::save_atomic;
use mystyle::imaging::load::{ImportError, MAX_MEGAPIXELS, load_photo};
use mystyle::imaging::scan::scan;

/// An upright test picture whose four quadrants have distinct colours, so any rotation or flip shows.
fn quadrants(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| match (x < w / 2, y < h / 2) {
        (true, true) => Rgb([220, 30, 30]),
        (false, true) => Rgb([30, 200, 30]),
        (true, false) => Rgb([30, 30, 220]),
        (false, false) => Rgb([230, 230, 40]),
    })
}

fn quadrant_colours(img: &RgbImage) -> [[u8; 3]; 4] {
    let (w, h) = img.dimensions();
    [(w / 4, h / 4), (3 * w / 4, h / 4), (w / 4, 3 * h / 4), (3 * w / 4, 3 * h / 4)].map(|(x, y)| img.get_pixel(x, y).0)
}

fn close(a: [[u8; 3]; 4], b: [[u8; 3]; 4]) -> bool {
    a.iter().flatten().zip(b.iter().flatten()).all(|(x, y)| (*x as i32 - *y as i32).abs() <= 12)
}

fn jpeg_with_orientation(img: &RgbImage, orientation: u8) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut bytes, 95);
    encoder.set_exif_metadata(common::exif_orientation_block(orientation as u16)).unwrap();
    encoder.write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::Rgb8).unwrap();
    bytes
}

/// The stored pixels of a photo that displays as `upright` under EXIF `orientation`.
fn stored_for(upright: &RgbImage, orientation: u8) -> RgbImage {
    let inverse = match orientation {
        6 => 8,
        8 => 6,
        other => other,
    };
    let mut img = DynamicImage::ImageRgb8(upright.clone());
    img.apply_orientation(Orientation::from_exif(inverse).unwrap());
    img.to_rgb8()
}

#[test]
fn row01_exif_orientation_is_applied_for_all_eight_values() {
    let dir = common::scratch("row01");
    let upright = quadrants(64, 32);
    for orientation in 1..=8u8 {
        let path = dir.join(format!("o{orientation}.jpg"));
        std::fs::write(&path, jpeg_with_orientation(&stored_for(&upright, orientation), orientation)).unwrap();
        let photo = load_photo(&path).unwrap();
        assert_eq!(photo.exif_orientation, orientation);
        assert_eq!(photo.image.dimensions(), (64, 32), "orientation {orientation}: not upright");
        assert!(
            close(quadrant_colours(&photo.image), quadrant_colours(&upright)),
            "orientation {orientation}: quadrants {:?}",
            quadrant_colours(&photo.image)
        );
    }
}

#[test]
fn row02_export_after_orientation_3_is_upright_without_a_stale_tag() {
    let dir = common::scratch("row02");
    let upright = quadrants(48, 32);
    let path = dir.join("upside-down.jpg");
    std::fs::write(&path, jpeg_with_orientation(&stored_for(&upright, 3), 3)).unwrap();
    let photo = load_photo(&path).unwrap();
    let exported = dir.join("exported.jpg");
    save_atomic(&photo.image, &exported).unwrap();
    let again = load_photo(&exported).unwrap();
    assert_eq!(again.exif_orientation, 1, "the export carries an orientation tag");
    assert!(close(quadrant_colours(&again.image), quadrant_colours(&upright)));
}

#[test]
fn row03_grey_one_bit_and_sixteen_bit_become_rgb8_scaled() {
    let dir = common::scratch("row03");
    // 8-bit greyscale JPEG.
    let grey = image::GrayImage::from_fn(16, 16, |x, _| image::Luma([(x * 16) as u8]));
    let grey_path = dir.join("grey.jpg");
    DynamicImage::ImageLuma8(grey).save(&grey_path).unwrap();
    let photo = load_photo(&grey_path).unwrap();
    let p = photo.image.get_pixel(8, 8);
    assert!(p[0] == p[1] && p[1] == p[2] && (p[0] as i32 - 128).abs() < 10, "{p:?}");

    // 1-bit PNG: a black-and-white checkerboard row pattern (bits 1010... = white, black, ...).
    let one_bit = dir.join("one-bit.png");
    std::fs::write(&one_bit, common::raw_png(8, 2, 1, 0, &[vec![0b1010_1010], vec![0b0101_0101]])).unwrap();
    let photo = load_photo(&one_bit).unwrap();
    assert_eq!(photo.image.get_pixel(0, 0).0, [255, 255, 255]);
    assert_eq!(photo.image.get_pixel(1, 0).0, [0, 0, 0]);
    assert_eq!(photo.image.get_pixel(0, 1).0, [0, 0, 0]);

    // 16-bit RGB PNG: 0x00FF must scale to 1 (truncating the high byte would give 0), 0xFFFF to 255.
    let deep = dir.join("deep.png");
    let row: Vec<u8> = [0x00FFu16, 0x8080, 0xFFFF, 0x0000, 0x0000, 0x0000].iter().flat_map(|v| v.to_be_bytes()).collect();
    std::fs::write(&deep, common::raw_png(2, 1, 16, 2, &[row])).unwrap();
    let photo = load_photo(&deep).unwrap();
    assert_eq!(photo.image.get_pixel(0, 0).0, [1, 128, 255]);
    assert!(photo.notes.iter().any(|n| n.contains("8 bits")), "{:?}", photo.notes);
}

#[test]
fn row04_alpha_is_composited_over_neutral_grey() {
    let dir = common::scratch("row04");
    let rgba = image::RgbaImage::from_fn(4, 1, |x, _| match x {
        0 => image::Rgba([200, 10, 10, 255]),
        1 => image::Rgba([200, 10, 10, 0]),
        2 => image::Rgba([255, 255, 255, 128]),
        _ => image::Rgba([0, 0, 0, 0]),
    });
    let path = dir.join("transparent.png");
    rgba.save(&path).unwrap();
    let photo = load_photo(&path).unwrap();
    assert_eq!(photo.image.get_pixel(0, 0).0, [200, 10, 10], "opaque pixels change");
    assert_eq!(photo.image.get_pixel(1, 0).0, [128, 128, 128], "transparent pixel not neutral");
    let half = photo.image.get_pixel(2, 0).0[0];
    assert!((190..=193).contains(&half), "half-transparent white over grey gave {half}");
    assert!(photo.notes.iter().any(|n| n.contains("transparent")));

    let la = image::GrayAlphaImage::from_fn(2, 1, |x, _| image::LumaA([40, if x == 0 { 255 } else { 0 }]));
    let path = dir.join("grey-alpha.png");
    la.save(&path).unwrap();
    let photo = load_photo(&path).unwrap();
    assert_eq!(photo.image.get_pixel(0, 0).0, [40, 40, 40]);
    assert_eq!(photo.image.get_pixel(1, 0).0, [128, 128, 128]);
}

#[test]
fn row05_damaged_files_each_get_a_named_error_and_the_rest_imports() {
    let dir = common::scratch("row05");
    let good = jpeg_with_orientation(&quadrants(64, 64), 1);
    std::fs::write(dir.join("a-good.jpg"), &good).unwrap();
    std::fs::write(dir.join("b-truncated.jpg"), &good[..good.len() * 6 / 10]).unwrap();
    let noise: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(dir.join("c-random.jpg"), &noise).unwrap();
    std::fs::write(dir.join("d-empty.jpg"), b"").unwrap();
    std::fs::write(dir.join("e-good.jpg"), &good).unwrap();

    let files: Vec<PathBuf> = ["a-good", "b-truncated", "c-random", "d-empty", "e-good"].iter().map(|n| dir.join(format!("{n}.jpg"))).collect();
    let results: Vec<_> = scan(&files).files.iter().map(|f| load_photo(f)).collect();
    assert_eq!(results.len(), 5);
    assert!(results[0].is_ok() && results[4].is_ok(), "good photos must import next to bad ones");
    let messages: Vec<String> = results[1..4].iter().map(|r| r.as_ref().unwrap_err().to_string()).collect();
    assert!(matches!(results[1], Err(ImportError::Damaged { .. })), "{}", messages[0]);
    assert!(messages[0].contains("b-truncated.jpg") && messages[0].contains("cut short"), "{}", messages[0]);
    assert!(matches!(results[2], Err(ImportError::NotAnImage { .. })), "{}", messages[1]);
    assert!(messages[1].contains("c-random.jpg"), "{}", messages[1]);
    assert!(matches!(results[3], Err(ImportError::Empty { .. })), "{}", messages[2]);
    assert!(messages[2].contains("d-empty.jpg") && messages[2].contains("empty"), "{}", messages[2]);
}

#[test]
fn row06_heic_and_avif_are_refused_by_name_not_skipped() {
    let dir = common::scratch("row06");
    for (name, brand, format) in [("phone.heic", b"heic", "HEIC"), ("phone.avif", b"avif", "AVIF")] {
        let mut bytes = vec![0, 0, 0, 24];
        bytes.extend(b"ftyp");
        bytes.extend(brand);
        bytes.extend([0; 12]);
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        let err = load_photo(&path).unwrap_err();
        assert!(matches!(err, ImportError::Unsupported { .. }), "{err}");
        let message = err.to_string();
        assert!(message.contains(name) && message.contains(format) && message.contains("not supported"), "{message}");
    }
    // In a folder they are listed as skipped with the same reason, never silently dropped.
    let found = scan(&[dir.clone()]);
    assert!(found.files.is_empty());
    assert_eq!(found.skipped.len(), 2);
    assert!(found.skipped.iter().all(|(_, why)| why.contains("not supported")), "{:?}", found.skipped);
}

#[test]
fn row07_non_ascii_names_and_long_paths_import() {
    let dir = common::scratch("row07");
    let mut deep = dir.join("写真フォルダ 📷");
    while deep.as_os_str().len() < 300 {
        deep = deep.join("a-rather-long-folder-name-for-testing");
    }
    std::fs::create_dir_all(&deep).unwrap();
    let path = deep.join("李さん 😀.jpg");
    std::fs::write(&path, jpeg_with_orientation(&quadrants(32, 32), 1)).unwrap();
    assert!(path.as_os_str().len() > 260);
    let found = scan(&[dir.clone()]);
    assert_eq!(found.files, vec![path.clone()]);
    let photo = load_photo(&found.files[0]).unwrap();
    assert!(photo.path.display().to_string().ends_with("李さん 😀.jpg"));
}

#[test]
fn row13_fifty_megapixels_decode_and_oversized_headers_are_refused_before_decoding() {
    let dir = common::scratch("row13");
    let big = RgbImage::from_fn(8688, 5792, |x, y| Rgb([(x % 251) as u8, (y % 241) as u8, 90]));
    let path = dir.join("fifty-megapixels.jpg");
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, 80).write_image(big.as_raw(), 8688, 5792, image::ExtendedColorType::Rgb8).unwrap();
    drop(big);
    std::fs::write(&path, bytes).unwrap();
    assert_eq!(load_photo(&path).unwrap().image.dimensions(), (8688, 5792));

    // A PNG claiming 40000x40000 pixels (1600 MP) with almost no pixel data: refused by size before decoding.
    let huge = dir.join("huge.png");
    std::fs::write(&huge, common::raw_png(40_000, 40_000, 8, 2, &[vec![0; 30]])).unwrap();
    let err = load_photo(&huge).unwrap_err();
    assert!(matches!(err, ImportError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains(&format!("{MAX_MEGAPIXELS:.0}")), "{err}");
}

#[cfg(unix)]
#[test]
fn row19_folders_are_walked_with_loop_protection_and_a_summary() {
    let dir = common::scratch("row19");
    let nested = dir.join("trip/day 1");
    std::fs::create_dir_all(&nested).unwrap();
    let jpg = jpeg_with_orientation(&quadrants(32, 32), 1);
    std::fs::write(dir.join("top.jpg"), &jpg).unwrap();
    std::fs::write(nested.join("IMG_0001.JPG"), &jpg).unwrap();
    std::fs::write(nested.join("no-extension"), &jpg).unwrap(); // found by content
    std::fs::write(nested.join("IMG_0001.xmp"), "<x:xmpmeta/>").unwrap();
    std::fs::write(nested.join("notes.txt"), "sidecar").unwrap();
    std::os::unix::fs::symlink(&dir, nested.join("loop")).unwrap();

    let found = scan(&[dir.clone()]);
    let names: Vec<String> = found.files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["top.jpg", "IMG_0001.JPG", "no-extension"]);
    let skipped: Vec<(String, &str)> = found
        .skipped
        .iter()
        .map(|(p, why)| (p.file_name().unwrap().to_string_lossy().into_owned(), why.as_str()))
        .collect();
    assert!(skipped.iter().any(|(n, why)| n == "IMG_0001.xmp" && *why == "not an image"), "{skipped:?}");
    assert!(skipped.iter().any(|(n, why)| n == "notes.txt" && *why == "not an image"), "{skipped:?}");
    assert!(skipped.iter().any(|(n, why)| n == "loop" && why.contains("already visited")), "{skipped:?}");
    assert_eq!(found.summary(), "3 photos found; 3 files skipped");
}

#[test]
fn row24_animated_gif_uses_the_first_frame_and_says_so() {
    let dir = common::scratch("row24");
    let path = dir.join("animated.gif");
    let frames = [Rgb([200u8, 20, 20]), Rgb([20, 20, 200])].map(|c| {
        image::Frame::new(DynamicImage::ImageRgb8(RgbImage::from_pixel(8, 8, c)).to_rgba8())
    });
    {
        let file = std::fs::File::create(&path).unwrap();
        let mut encoder = image::codecs::gif::GifEncoder::new(file);
        encoder.encode_frames(frames).unwrap();
    }
    let photo = load_photo(&path).unwrap();
    let p = photo.image.get_pixel(4, 4).0;
    assert!(p[0] > 150 && p[2] < 80, "not the first frame: {p:?}");
    assert!(photo.notes.iter().any(|n| n.contains("first frame")), "{:?}", photo.notes);
}

#[test]
fn row25_the_same_photo_twice_is_listed_once_and_copies_share_a_hash() {
    let dir = common::scratch("row25");
    let jpg = jpeg_with_orientation(&quadrants(32, 32), 1);
    let (a, b) = (dir.join("a.jpg"), dir.join("copy of a.jpg"));
    std::fs::write(&a, &jpg).unwrap();
    std::fs::write(&b, &jpg).unwrap();
    let found = scan(&[a.clone(), a.clone(), b.clone()]);
    assert_eq!(found.files, vec![a.clone(), b.clone()]);
    assert!(found.skipped[0].1.contains("same file"));
    let (pa, pb) = (load_photo(&a).unwrap(), load_photo(&b).unwrap());
    assert_eq!(pa.content_hash, pb.content_hash, "byte-identical copies must be recognisable");
    let other = load_photo(&write_other(&dir)).unwrap();
    assert_ne!(other.content_hash, pa.content_hash);
}

fn write_other(dir: &Path) -> PathBuf {
    let path = dir.join("other.jpg");
    std::fs::write(&path, jpeg_with_orientation(&quadrants(40, 32), 1)).unwrap();
    path
}

#[test]
fn every_supported_format_decodes_by_content_whatever_the_name() {
    let dir = common::scratch("formats");
    let upright = quadrants(48, 32);
    let formats = [
        ("webp", image::ImageFormat::WebP),
        ("bmp", image::ImageFormat::Bmp),
        ("tiff", image::ImageFormat::Tiff),
        ("png", image::ImageFormat::Png),
        ("gif", image::ImageFormat::Gif),
    ];
    for (name, format) in formats {
        // Saved under a misleading name: the content decides.
        let path = dir.join(format!("{name}-photo.jpg"));
        DynamicImage::ImageRgb8(upright.clone()).save_with_format(&path, format).unwrap();
        let photo = load_photo(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(photo.format, format);
        assert!(close(quadrant_colours(&photo.image), quadrant_colours(&upright)), "{name}: {:?}", quadrant_colours(&photo.image));
    }
}
