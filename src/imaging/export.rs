//! Writing images to disk atomically: encode into a temporary file beside the target, flush it to disk,
//! then rename it over the target, so a crash or a full disk never leaves a half-written image.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

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
    let io_err = |source| ExportError::Io { path: path.to_path_buf(), source };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let file = File::create(&tmp).map_err(io_err)?;
        let mut writer = BufWriter::new(file);
        img.write_to(&mut writer, format).map_err(|source| ExportError::Encode { path: path.to_path_buf(), source })?;
        let file = writer.into_inner().map_err(|e| io_err(e.into_error()))?;
        file.sync_all().map_err(io_err)?;
        fs::rename(&tmp, path).map_err(io_err)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

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
