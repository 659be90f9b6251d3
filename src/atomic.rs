//! Atomic file writes: the bytes go to a temporary file beside the target, are flushed to disk, and the
//! temporary file is renamed over the target. A crash, a full disk or a failing writer never leaves a
//! half-written file, and the previous version stays intact until the rename.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically. Errors carry the operating system's reason; callers add the name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// Like [`write_atomic`], with the content produced by `write` (which may fail; then nothing changes).
pub fn write_atomic_with(path: &Path, write: impl FnOnce(&mut File) -> std::io::Result<()>) -> std::io::Result<()> {
    let tmp = temporary_name(path);
    let result = (|| {
        let mut file = File::create(&tmp)?;
        write(&mut file)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn temporary_name(path: &Path) -> PathBuf {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dir.join(format!(".{name}.{}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_writer_keeps_the_previous_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("mystyle-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        write_atomic(&path, b"version 1").unwrap();
        let failed = write_atomic_with(&path, |f| {
            f.write_all(b"half of vers")?;
            Err(std::io::Error::other("disk full"))
        });
        assert_eq!(failed.unwrap_err().to_string(), "disk full");
        assert_eq!(fs::read(&path).unwrap(), b"version 1");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "a temporary file was left behind");
        write_atomic(&path, b"version 2").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"version 2");
        fs::remove_dir_all(&dir).unwrap();
    }
}
