//! Writing images to disk atomically ([`crate::atomic`]): a crash or a full disk never leaves a
//! half-written image.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use crate::atomic::write_atomic;

use image::{ImageFormat, RgbImage};

/// Errors while exporting; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The file name has no extension we can encode (PNG or JPEG).
    #[error("{path}: unsupported export format (use .png, .jpg or .jpeg)")]
    Format {
        /// The requested file.
        path: PathBuf,
    },
    /// Creating, writing or renaming the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The requested file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The encoder failed.
    #[error("{path}: cannot encode: {source}")]
    Encode {
        /// The requested file.
        path: PathBuf,
        /// The encoder's error.
        source: image::ImageError,
    },
}

/// Saves `img` as PNG or JPEG (chosen by the extension) through a temporary file and a rename.
pub fn save_atomic(img: &RgbImage, path: &Path) -> Result<(), ExportError> {
    let format = match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("png") => ImageFormat::Png,
        Some("jpg" | "jpeg") => ImageFormat::Jpeg,
        _ => return Err(ExportError::Format { path: path.to_path_buf() }),
    };
    let mut encoded = Cursor::new(Vec::new());
    img.write_to(&mut encoded, format).map_err(|source| ExportError::Encode { path: path.to_path_buf(), source })?;
    write_atomic(path, encoded.get_ref()).map_err(|source| ExportError::Io { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn writes_png_and_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("mystyle-export-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let img = RgbImage::from_fn(8, 4, |x, y| image::Rgb([x as u8 * 30, y as u8 * 60, 7]));
        let path = dir.join("out.png");
        save_atomic(&img, &path).unwrap();
        assert_eq!(image::open(&path).unwrap().to_rgb8(), img);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        assert!(matches!(save_atomic(&img, &dir.join("out.xyz")), Err(ExportError::Format { .. })));
        let missing = dir.join("no/such/folder/out.png");
        let err = save_atomic(&img, &missing).unwrap_err().to_string();
        assert!(err.contains("out.png"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
