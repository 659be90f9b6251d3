//! What the window remembers between runs (stored by eframe's persistence): the model, the last and the
//! recent projects, and the export choices. Everything else lives in the project folder or is runtime.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::generator::ModelSource;

/// Projects listed in the Project menu's recent list at most.
pub const MAX_RECENT: usize = 8;

/// Image formats an edit can be exported to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportFormat {
    /// Lossless PNG.
    #[default]
    Png,
    /// JPEG (always written from RGB8).
    Jpeg,
}

impl ExportFormat {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Png => "png",
            ExportFormat::Jpeg => "jpg",
        }
    }
}

/// Persisted UI state.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct UiState {
    /// Seed of the random face shown in the Edit area before a project is personalized.
    pub seed: u64,
    /// The generator in use (the Model menu); loaded again at the next start.
    pub model: ModelSource,
    /// The project open when the window was last closed; opened again at start.
    pub last_project: Option<PathBuf>,
    /// Recently opened project folders, newest first.
    pub recent: Vec<PathBuf>,
    /// Export format.
    pub export_format: ExportFormat,
    /// Side of exported faces in pixels.
    pub export_size: u32,
}

impl Default for UiState {
    fn default() -> Self {
        Self {
            seed: 7,
            model: ModelSource::DefaultDcgan,
            last_project: None,
            recent: Vec::new(),
            export_format: ExportFormat::Png,
            export_size: 512,
        }
    }
}

impl UiState {
    /// The seed after `seed`: a fixed scramble, so Resample walks through unrelated faces reproducibly.
    pub fn next_seed(&self) -> u64 {
        self.seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407) >> 16
    }

    /// Records `folder` as the open project: first in the recent list (without repeats), and the one to
    /// reopen at the next start.
    pub fn remember_project(&mut self, folder: &Path) {
        self.recent.retain(|p| p != folder);
        self.recent.insert(0, folder.to_path_buf());
        self.recent.truncate(MAX_RECENT);
        self.last_project = Some(folder.to_path_buf());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_projects_are_newest_first_without_repeats_and_bounded() {
        let mut state = UiState::default();
        for i in 0..10 {
            state.remember_project(Path::new(&format!("/p/{i}.mystyle")));
        }
        state.remember_project(Path::new("/p/5.mystyle"));
        assert_eq!(state.recent.len(), MAX_RECENT);
        assert_eq!(state.recent[0], Path::new("/p/5.mystyle"));
        assert_eq!(state.recent.iter().filter(|p| p.ends_with("5.mystyle")).count(), 1);
        assert_eq!(state.last_project.as_deref(), Some(Path::new("/p/5.mystyle")));
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<UiState>(&json).unwrap(), state);
        // Older stored states (fewer fields) still load.
        let old: UiState = serde_json::from_str(r#"{"seed": 3}"#).unwrap();
        assert_eq!((old.seed, old.export_size), (3, 512));
    }
}
