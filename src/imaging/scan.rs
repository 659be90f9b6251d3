//! Finding photos in what the user dropped or named: files are taken as given; folders are walked
//! recursively (following symbolic links, each real folder visited once, so link loops end), keeping
//! only files whose content is an image and listing everything skipped with the reason.

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::load::sniff_format;

/// Bytes read from each file in a folder to recognise images by content.
const SNIFF_BYTES: usize = 64;

/// What a scan found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Scan {
    /// Files to import, in a stable order (as given; folder contents sorted by name).
    pub files: Vec<PathBuf>,
    /// Paths left out, each with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

impl Scan {
    /// One line for the user, for example "42 photos found; 3 files skipped".
    pub fn summary(&self) -> String {
        format!("{} photos found; {} files skipped", self.files.len(), self.skipped.len())
    }
}

/// Collects the photos under `paths` (files or folders).
pub fn scan(paths: &[PathBuf]) -> Scan {
    let mut out = Scan::default();
    let mut visited = HashSet::new();
    let mut seen_files = HashSet::new();
    for path in paths {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut visited, &mut seen_files, &mut out),
            // Named files are always attempted, so that a non-image gets its own clear error at import.
            Ok(_) => add_file(path, &mut seen_files, &mut out),
            Err(e) => out.skipped.push((path.clone(), format!("cannot read: {e}"))),
        }
    }
    out
}

fn add_file(path: &Path, seen_files: &mut HashSet<PathBuf>, out: &mut Scan) {
    let key = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if seen_files.insert(key) {
        out.files.push(path.to_path_buf());
    } else {
        out.skipped.push((path.to_path_buf(), "already listed (the same file twice)".into()));
    }
}

fn walk(dir: &Path, visited: &mut HashSet<PathBuf>, seen_files: &mut HashSet<PathBuf>, out: &mut Scan) {
    let real = match fs::canonicalize(dir) {
        Ok(real) => real,
        Err(e) => return out.skipped.push((dir.to_path_buf(), format!("cannot open folder: {e}"))),
    };
    if !visited.insert(real) {
        return out.skipped.push((dir.to_path_buf(), "folder already visited (a link loop or a repeated folder)".into()));
    }
    let mut entries: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).collect(),
        Err(e) => return out.skipped.push((dir.to_path_buf(), format!("cannot open folder: {e}"))),
    };
    entries.sort();
    for path in entries {
        match fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk(&path, visited, seen_files, out),
            Ok(_) => match looks_like_image(&path) {
                Ok(()) => add_file(&path, seen_files, out),
                Err(reason) => out.skipped.push((path, reason)),
            },
            Err(e) => out.skipped.push((path, format!("cannot read: {e}"))),
        }
    }
}

/// Whether a file's first bytes are an image we can decode; otherwise why not.
fn looks_like_image(path: &Path) -> Result<(), String> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    fs::File::open(path)
        .and_then(|f| f.take(SNIFF_BYTES as u64).read_to_end(&mut head))
        .map_err(|e| format!("cannot read: {e}"))?;
    if head.is_empty() {
        return Err("empty file".into());
    }
    match sniff_format(&head) {
        Ok(_) => Ok(()),
        Err(Some(format)) => Err(format!("{format} is not supported")),
        Err(None) => Err("not an image".into()),
    }
}
