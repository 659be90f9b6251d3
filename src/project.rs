//! Project folders (`NAME.mystyle/`): a versioned `project.json` (serde) with the photos, their statuses
//! and measurements, the user's choices and the settings. Written atomically; a project written by a newer
//! version of the app is refused with a clear message rather than misread. Beside it: `thumbnails/` (a small
//! picture of each photo's face, written on import), and after personalization `faces/` (the faces tuning
//! learned from), `anchors.json`, `generator.safetensors` and `checkpoints/` ([`crate::prior`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::imaging::export::{ExportError, save_atomic};
use crate::photoset::PhotoEntry;

/// The project-file format this version writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The project description inside the folder.
pub const PROJECT_FILE: &str = "project.json";
/// The sub-folder of face thumbnails.
pub const THUMBNAILS_DIR: &str = "thumbnails";
/// Side of a thumbnail in pixels.
pub const THUMBNAIL_SIZE: u32 = 128;

/// How thoroughly to personalize.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// Minutes on a laptop CPU.
    #[default]
    Fast,
    /// Longer, closer reconstructions.
    Balanced,
    /// The longest budget.
    Best,
}

/// Settings stored with a project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Tuning budget.
    pub preset: Preset,
    /// Organize the anchors so that principal directions mean attributes (MyStyle++).
    pub organize: bool,
    /// The generator the project was personalized from.
    pub generator: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self { preset: Preset::Fast, organize: true, generator: crate::generator::weights::DEFAULT_MODEL_NAME.into() }
    }
}

/// One photo of the project: what import found, and the user's override.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProjectPhoto {
    /// The analysed photo.
    pub entry: PhotoEntry,
    /// The user's choice: `Some(true)` to use a flagged photo anyway, `Some(false)` to leave a good one out.
    #[serde(default)]
    pub included: Option<bool>,
    /// The face's thumbnail, relative to the project folder (none when the photo has no face).
    #[serde(default)]
    pub thumbnail: Option<PathBuf>,
}

/// Everything `project.json` holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Project {
    /// Format version ([`FORMAT_VERSION`] when written by this app).
    pub version: u32,
    /// Display name.
    pub name: String,
    /// The photos, in import order.
    pub photos: Vec<ProjectPhoto>,
    /// Settings.
    #[serde(default)]
    pub settings: Settings,
}

/// Why a project could not be opened or saved; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not a valid project description.
    #[error("{path}: not a valid project file: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Written by a newer version of the app.
    #[error("{path}: this project was saved by a newer version of MyStyle Studio (format {found}; this version reads up to {supported}); update the app to open it")]
    TooNew {
        /// The file.
        path: PathBuf,
        /// The file's format version.
        found: u64,
        /// The newest version this app reads.
        supported: u32,
    },
    /// A thumbnail could not be written.
    #[error(transparent)]
    Thumbnail(#[from] ExportError),
}

impl Project {
    /// An empty project.
    pub fn new(name: impl Into<String>) -> Self {
        Self { version: FORMAT_VERSION, name: name.into(), photos: Vec::new(), settings: Settings::default() }
    }

    /// Appends analysed photos, writing a thumbnail of each one's chosen face into `folder`'s
    /// [`THUMBNAILS_DIR`] (the project file itself is written by [`Project::save`]).
    pub fn add_photos(&mut self, folder: &Path, entries: impl IntoIterator<Item = PhotoEntry>) -> Result<(), ProjectError> {
        let dir = folder.join(THUMBNAILS_DIR);
        std::fs::create_dir_all(&dir).map_err(|source| ProjectError::Io { path: dir.clone(), source })?;
        for entry in entries {
            let thumbnail = match entry.face() {
                Some(face) => {
                    let relative = Path::new(THUMBNAILS_DIR).join(format!("{:03}.jpg", self.photos.len()));
                    let small = image::imageops::resize(&face.aligned, THUMBNAIL_SIZE, THUMBNAIL_SIZE, image::imageops::FilterType::Triangle);
                    save_atomic(&small, &folder.join(&relative))?;
                    Some(relative)
                }
                None => None,
            };
            self.photos.push(ProjectPhoto { entry, included: None, thumbnail });
        }
        Ok(())
    }

    /// Makes the set-level decisions ([`crate::photoset::select`]) again over every photo, as after photos
    /// were added: who is the person and who is someone else, and which photos repeat an earlier one, are
    /// decided over the whole set rather than within one import. A photo whose chosen face changed gets its
    /// thumbnail written again into `folder`. Returns the photos whose status or chosen face changed.
    pub fn decide_set(&mut self, folder: &Path) -> Result<Vec<usize>, ProjectError> {
        let mut entries: Vec<PhotoEntry> = self.photos.iter().map(|p| p.entry.clone()).collect();
        crate::photoset::select(&mut entries);
        let mut changed = Vec::new();
        for (i, (photo, entry)) in self.photos.iter_mut().zip(entries).enumerate() {
            if photo.entry.status == entry.status && photo.entry.chosen == entry.chosen {
                photo.entry = entry;
                continue;
            }
            if photo.entry.chosen != entry.chosen {
                if let (Some(face), Some(thumbnail)) = (entry.face().filter(|f| f.aligned.width() > 0), &photo.thumbnail) {
                    let small = image::imageops::resize(&face.aligned, THUMBNAIL_SIZE, THUMBNAIL_SIZE, image::imageops::FilterType::Triangle);
                    save_atomic(&small, &folder.join(thumbnail))?;
                }
            }
            photo.entry = entry;
            changed.push(i);
        }
        Ok(changed)
    }

    /// Writes the project into `folder` (created if needed), atomically.
    pub fn save(&self, folder: &Path) -> Result<(), ProjectError> {
        let path = folder.join(PROJECT_FILE);
        let io = |source| ProjectError::Io { path: path.clone(), source };
        std::fs::create_dir_all(folder).map_err(io)?;
        let mut written = self.clone();
        written.version = FORMAT_VERSION;
        let json = serde_json::to_vec_pretty(&written).map_err(|e| ProjectError::Corrupt { path: path.clone(), reason: e.to_string() })?;
        write_atomic(&path, &json).map_err(io)
    }

    /// Reads the project in `folder`.
    pub fn open(folder: &Path) -> Result<Self, ProjectError> {
        let path = folder.join(PROJECT_FILE);
        let bytes = std::fs::read(&path).map_err(|source| ProjectError::Io { path: path.clone(), source })?;
        let corrupt = |reason: String| ProjectError::Corrupt { path: path.clone(), reason };
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        let found = value.get("version").and_then(serde_json::Value::as_u64).ok_or_else(|| corrupt("no format version".into()))?;
        if found > FORMAT_VERSION as u64 {
            return Err(ProjectError::TooNew { path, found, supported: FORMAT_VERSION });
        }
        serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photoset::PhotoStatus;

    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mystyle-project-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn sample_project() -> Project {
        let mut project = Project::new("Ana");
        project.settings.preset = Preset::Balanced;
        project.photos.push(ProjectPhoto {
            entry: PhotoEntry {
                path: PathBuf::from("/photos/写真 1.jpg"),
                status: PhotoStatus::ExtremePose,
                reason: "extreme head pose (yaw 61, pitch 2 degrees)".into(),
                notes: String::new(),
                faces: Vec::new(),
                chosen: None,
                identity_agreement: Some(0.8),
                content_hash: Some(0xDEAD_BEEF_0000_0001),
            },
            included: Some(true),
            thumbnail: Some(PathBuf::from("thumbnails/000.jpg")),
        });
        project
    }

    #[test]
    fn reopening_restores_everything() {
        let dir = folder("roundtrip");
        let project = sample_project();
        project.save(&dir).unwrap();
        let back = Project::open(&dir).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&project).unwrap());
        assert_eq!(back.settings.preset, Preset::Balanced);
        assert_eq!(back.photos[0].included, Some(true));
        assert_eq!(back.photos[0].thumbnail.as_deref(), Some(Path::new("thumbnails/000.jpg")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn newer_and_damaged_files_are_refused_with_the_file_name() {
        let dir = folder("refuse");
        sample_project().save(&dir).unwrap();
        let path = dir.join(PROJECT_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("\"version\": 1", "\"version\": 7", 1)).unwrap();
        let err = Project::open(&dir).unwrap_err();
        assert!(matches!(err, ProjectError::TooNew { found: 7, .. }), "{err}");
        assert!(err.to_string().contains("project.json") && err.to_string().contains("newer version"), "{err}");
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        let err = Project::open(&dir).unwrap_err();
        assert!(matches!(err, ProjectError::Corrupt { .. }) && err.to_string().contains("project.json"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
