//! Reading photos: decode by content (never by file name), apply the EXIF orientation, convert every
//! colour type to RGB8, and refuse what cannot be read with a message naming the file and the reason.
//!
//! Supported: JPEG, PNG, WebP, BMP, TIFF, GIF (first frame). HEIC and AVIF are recognised and refused
//! with a "not supported" message. Memory is bounded: images over [`MAX_MEGAPIXELS`] are refused before
//! they are decoded, and decoders may not allocate more than [`MAX_DECODE_BYTES`].

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

/// Largest photo accepted, in megapixels (a 50 MP camera frame is well inside).
pub const MAX_MEGAPIXELS: f64 = 250.0;

/// Most memory a decoder may allocate for one photo.
pub const MAX_DECODE_BYTES: u64 = 2 << 30;

/// Grey level that transparent areas are composited over.
const NEUTRAL_BACKGROUND: f32 = 128.0;

/// A decoded photo, upright and in RGB8.
#[derive(Clone, Debug)]
pub struct Photo {
    /// Where it was read from.
    pub path: PathBuf,
    /// The pixels, with the EXIF orientation applied.
    pub image: RgbImage,
    /// The format found in the file's content.
    pub format: ImageFormat,
    /// The EXIF orientation that was applied (1 = none), as the EXIF value 1-8.
    pub exif_orientation: u8,
    /// Things the user should know about how the photo was read (first frame of an animation, alpha
    /// composited, 16-bit reduced), in plain words.
    pub notes: Vec<String>,
    /// FNV-1a hash of the file's bytes, to recognise the same file imported twice.
    pub content_hash: u64,
}

/// Why a photo could not be read; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read from disk.
    #[error("{path}: cannot read the file: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file has no bytes.
    #[error("{path}: the file is empty (0 bytes)")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A known image format that this version cannot decode.
    #[error("{path}: {format} photos are not supported; convert it to JPEG or PNG first")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The format's name.
        format: String,
    },
    /// The content is not an image format we know.
    #[error("{path}: not an image (the content matches no supported format)")]
    NotAnImage {
        /// The file.
        path: PathBuf,
    },
    /// The image is damaged or cut short.
    #[error("{path}: damaged {format} file: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The format found in the content.
        format: String,
        /// What the decoder reported.
        reason: String,
    },
    /// The image is larger than we accept.
    #[error("{path}: too large ({width}x{height}, {megapixels:.0} megapixels; the limit is {MAX_MEGAPIXELS:.0})")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Size in megapixels.
        megapixels: f64,
    },
}

/// Reads and decodes one photo.
pub fn load_photo(path: &Path) -> Result<Photo, ImportError> {
    let bytes = fs::read(path).map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
    decode_photo(path, &bytes)
}

/// Decodes a photo from its bytes; `path` is only used for messages and the result.
pub fn decode_photo(path: &Path, bytes: &[u8]) -> Result<Photo, ImportError> {
    let path_buf = path.to_path_buf();
    if bytes.is_empty() {
        return Err(ImportError::Empty { path: path_buf });
    }
    let format = sniff_format(bytes).map_err(|sniffed| match sniffed {
        Some(format) => ImportError::Unsupported { path: path_buf.clone(), format },
        None => ImportError::NotAnImage { path: path_buf.clone() },
    })?;
    let damaged = |reason: String| ImportError::Damaged { path: path_buf.clone(), format: format_name(format), reason };
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(damaged("the file is cut short (no end-of-image marker after the image data)".into()));
    }

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| damaged(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    let megapixels = width as f64 * height as f64 / 1e6;
    if megapixels > MAX_MEGAPIXELS {
        return Err(ImportError::TooLarge { path: path_buf, width, height, megapixels });
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| damaged(e.to_string()))?;
    image.apply_orientation(orientation);

    let mut notes = Vec::new();
    if is_animated(format, bytes) {
        notes.push(format!("animated {}: the first frame is used", format_name(format)));
    }
    let image = to_rgb8(image, &mut notes);
    Ok(Photo {
        path: path_buf,
        image,
        format,
        exif_orientation: orientation.to_exif(),
        notes,
        content_hash: fnv1a(bytes),
    })
}

/// The format of `bytes` by content. `Err(Some(name))` for a recognised but unsupported format,
/// `Err(None)` for anything else.
pub fn sniff_format(bytes: &[u8]) -> Result<ImageFormat, Option<String>> {
    if let Some(name) = unsupported_container(bytes) {
        return Err(Some(name.to_string()));
    }
    match image::guess_format(bytes) {
        Ok(
            format @ (ImageFormat::Jpeg
            | ImageFormat::Png
            | ImageFormat::WebP
            | ImageFormat::Bmp
            | ImageFormat::Tiff
            | ImageFormat::Gif),
        ) => Ok(format),
        Ok(other) => Err(Some(format_name(other))),
        Err(_) => Err(None),
    }
}

/// HEIF-family containers (HEIC, AVIF) from phones: an ISO-BMFF `ftyp` box with an image brand.
fn unsupported_container(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() < 12 || &bytes[4..8] != b"ftyp" {
        return None;
    }
    match &bytes[8..12] {
        b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"hevm" | b"hevs" | b"mif1" | b"msf1" => Some("HEIC/HEIF"),
        b"avif" | b"avis" => Some("AVIF"),
        _ => None,
    }
}

fn format_name(format: ImageFormat) -> String {
    format!("{format:?}").to_uppercase()
}

/// A JPEG is complete when an end-of-image marker follows the last start-of-scan marker. Decoders
/// silently fill a cut-short JPEG with grey, so this is checked before decoding.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    let last_end = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9]);
    matches!((last_scan, last_end), (Some(scan), Some(end)) if end > scan)
}

fn is_animated(format: ImageFormat, bytes: &[u8]) -> bool {
    match format {
        ImageFormat::Gif => image::codecs::gif::GifDecoder::new(Cursor::new(bytes))
            .map(|d| image::AnimationDecoder::into_frames(d).take(2).count() > 1)
            .unwrap_or(false),
        ImageFormat::WebP => {
            image::codecs::webp::WebPDecoder::new(Cursor::new(bytes)).map(|d| d.has_animation()).unwrap_or(false)
        }
        _ => false,
    }
}

/// Converts any colour type to RGB8: grey is replicated, 16-bit and float are scaled (not truncated),
/// and transparency is composited over a neutral grey.
fn to_rgb8(image: DynamicImage, notes: &mut Vec<String>) -> RgbImage {
    let deep = matches!(
        image,
        DynamicImage::ImageLuma16(_)
            | DynamicImage::ImageLumaA16(_)
            | DynamicImage::ImageRgb16(_)
            | DynamicImage::ImageRgba16(_)
            | DynamicImage::ImageRgb32F(_)
            | DynamicImage::ImageRgba32F(_)
    );
    if deep {
        notes.push("high bit depth: reduced to 8 bits per channel".into());
    }
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba32f();
    if rgba.pixels().all(|p| p[3] >= 1.0) {
        return image.to_rgb8();
    }
    notes.push("transparent areas are shown over a neutral grey".into());
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y);
        let a = p[3].clamp(0.0, 1.0);
        image::Rgb([0, 1, 2].map(|c| (p[c].clamp(0.0, 1.0) * 255.0 * a + NEUTRAL_BACKGROUND * (1.0 - a)).round() as u8))
    })
}

/// FNV-1a, 64 bit: a stable hash (unlike std's), so it can be stored in project files.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}
