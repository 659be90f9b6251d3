//! The open project: its folder, its [`Project`] description, which photos the personalized prior was
//! tuned on and the edit on screen (`editor.json`, the window's own file in the folder), and whether there
//! are unsaved changes.
//! Re-aligning the faces of a reopened project (the aligned images are not stored) runs on a thread.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::edit::EditPoint;
use crate::atomic::write_atomic;
use crate::face::align::align;
use crate::imaging::load::load_photo;
use crate::photoset::{ALIGNED_SIZE, GENERATOR_SIZE};
use crate::project::Project;

/// The window's file in a project folder: which photos the prior was tuned on, in anchor order, and the edit.
pub const EDITOR_FILE: &str = "editor.json";
/// Unsaved changes are written at most this long after they were made.
pub const AUTOSAVE_AFTER: Duration = Duration::from_secs(5);
/// Extension of project folders.
pub const PROJECT_EXTENSION: &str = "mystyle";

/// What `editor.json` holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EditorFile {
    /// Indices into the project's photos of the faces tuning learned from, in anchor order.
    pub tuned_photos: Vec<usize>,
    /// The edit on screen when the project was last saved (its base and requested values), shown again when
    /// the project is reopened.
    pub edit: Option<EditPoint>,
}

/// An open project.
pub struct Session {
    /// The project folder (created on the first save).
    pub folder: PathBuf,
    /// The project description.
    pub project: Project,
    /// The window's own per-project file.
    pub editor: EditorFile,
    dirty: Option<Instant>,
}

impl Session {
    /// A new empty project in a fresh `Untitled N.mystyle` folder name under `dir` (nothing is written yet).
    pub fn untitled(dir: &Path) -> Self {
        let n = (1..).find(|n| !dir.join(format!("Untitled {n}.{PROJECT_EXTENSION}")).exists()).unwrap_or(1);
        let name = format!("Untitled {n}");
        Self { folder: dir.join(format!("{name}.{PROJECT_EXTENSION}")), project: Project::new(name), editor: EditorFile::default(), dirty: None }
    }

    /// Opens the project in `folder`; errors name the file.
    pub fn open(folder: &Path) -> Result<Self, String> {
        let project = Project::open(folder).map_err(|e| e.to_string())?;
        let path = folder.join(EDITOR_FILE);
        let editor = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?,
            Err(_) => EditorFile::default(),
        };
        Ok(Self { folder: folder.to_path_buf(), project, editor, dirty: None })
    }

    /// Writes `project.json` and `editor.json` atomically.
    pub fn save(&mut self) -> Result<(), String> {
        self.project.save(&self.folder).map_err(|e| e.to_string())?;
        let path = self.folder.join(EDITOR_FILE);
        let json = serde_json::to_vec_pretty(&self.editor).map_err(|e| format!("{}: {e}", path.display()))?;
        write_atomic(&path, &json).map_err(|e| format!("{}: {e}", path.display()))?;
        self.dirty = None;
        Ok(())
    }

    /// Marks the project as changed.
    pub fn touch(&mut self) {
        self.dirty.get_or_insert_with(Instant::now);
    }

    /// True when there are unsaved changes.
    pub fn is_dirty(&self) -> bool {
        self.dirty.is_some()
    }

    /// True when unsaved changes are older than [`AUTOSAVE_AFTER`].
    pub fn autosave_due(&self) -> bool {
        self.dirty.is_some_and(|t| t.elapsed() >= AUTOSAVE_AFTER)
    }

    /// Whether photo `i` is used for tuning: the user's choice, else whether its status is ok.
    pub fn included(&self, i: usize) -> bool {
        self.project.photos.get(i).is_some_and(|p| p.included.unwrap_or(p.entry.status == crate::photoset::PhotoStatus::Ok) && p.entry.face().is_some())
    }

    /// True when the folder holds a personalized prior with sliders.
    pub fn is_personalized(&self) -> bool {
        self.folder.join("generator.safetensors").is_file() && self.folder.join(crate::prior::organize::CONTROLS_FILE).is_file()
    }

    /// True when a personalize job left a checkpoint to resume from.
    pub fn has_checkpoint(&self) -> bool {
        self.folder.join("checkpoints").join("latest.json").is_file()
    }

    /// The project photo behind anchor `anchor`, when the tuned set is known.
    pub fn photo_of_anchor(&self, anchor: usize) -> Option<usize> {
        self.editor.tuned_photos.get(anchor).copied()
    }
}

/// Faces re-aligned from a photo on disk: (photo index, aligned face, face at the generator's size).
pub type Realigned = (usize, Result<(RgbImage, RgbImage), String>);

/// Re-aligns the chosen face of each listed photo (index, file, landmarks) on a thread: decoding and
/// resampling only, no network. `wake` is called after each photo.
pub fn realign(photos: Vec<(usize, PathBuf, [[f32; 2]; 5])>, wake: impl Fn() + Send + 'static) -> Receiver<Realigned> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("realign".into())
        .spawn(move || {
            for (i, path, landmarks) in photos {
                let points = landmarks.map(|p| [p[0] as f64, p[1] as f64]);
                let result = load_photo(&path)
                    .map(|photo| (align(&photo.image, &points, ALIGNED_SIZE).image, align(&photo.image, &points, GENERATOR_SIZE).image))
                    .map_err(|e| e.to_string());
                if tx.send((i, result)).is_err() {
                    return;
                }
                wake();
            }
        })
        .expect("spawning a thread only fails when the OS is out of resources");
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untitled_names_skip_existing_folders_and_saving_round_trips() {
        let dir = std::env::temp_dir().join(format!("mystyle-session-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut first = Session::untitled(&dir);
        assert!(first.folder.ends_with("Untitled 1.mystyle"));
        first.editor.tuned_photos = vec![2, 0];
        first.touch();
        assert!(first.is_dirty() && !first.autosave_due());
        first.save().unwrap();
        assert!(!first.is_dirty());
        let second = Session::untitled(&dir);
        assert!(second.folder.ends_with("Untitled 2.mystyle"));
        let back = Session::open(&first.folder).unwrap();
        assert_eq!(back.editor.tuned_photos, vec![2, 0]);
        assert_eq!(back.project.name, "Untitled 1");
        assert!(!back.is_personalized() && !back.has_checkpoint());
        let err = Session::open(&dir.join("missing.mystyle")).err().unwrap();
        assert!(err.contains("project.json"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
