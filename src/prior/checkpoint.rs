//! Checkpoints of a personalize job, for resuming: `checkpoints/step-NNNNNN/` holds the generator's weights
//! and the job state (step, learning rate, anchors), and `checkpoints/latest.json` names the newest complete
//! one. Every file is written atomically and the pointer moves last, so a crash while writing leaves the
//! previous checkpoint in place and loadable.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::organize::OrganizationPlan;
use crate::atomic::write_atomic;
use crate::generator::{Generator, ModelSource};

/// The job state saved with the weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobState {
    /// Tuning steps done.
    pub step: usize,
    /// The learning rate in use (lowered by rollbacks).
    pub learning_rate: f64,
    /// The anchors (one latent per photo).
    pub anchors: Vec<Vec<f32>>,
    /// The job's seed (batch order continues from `step`).
    pub seed: u64,
    /// The organization decided before tuning (MyStyle++), kept so that a resumed run follows it.
    #[serde(default)]
    pub organization: Option<OrganizationPlan>,
}

/// A checkpoint could not be written or read; messages name the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The checkpoint's content is unusable.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Serialize, Deserialize)]
struct Latest {
    dir: String,
}

fn folder_of(project: &Path) -> PathBuf {
    project.join("checkpoints")
}

/// Saves a checkpoint through `write` (normally [`write_atomic`]; tests inject failures).
pub fn save_with(
    project: &Path,
    state: &JobState,
    generator: &Generator,
    write: impl Fn(&Path, &[u8]) -> std::io::Result<()>,
) -> Result<PathBuf, CheckpointError> {
    let root = folder_of(project);
    let name = format!("step-{:06}", state.step);
    let dir = root.join(&name);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CheckpointError::Io { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let weights = generator.to_bytes().map_err(|e| CheckpointError::Invalid { path: dir.clone(), reason: e.to_string() })?;
    let weights_path = dir.join("generator.safetensors");
    write(&weights_path, &weights).map_err(io(&weights_path))?;
    let state_path = dir.join("state.json");
    write(&state_path, &serde_json::to_vec(state).expect("job state serializes")).map_err(io(&state_path))?;
    let latest = root.join("latest.json");
    write(&latest, &serde_json::to_vec(&Latest { dir: name.clone() }).expect("pointer serializes")).map_err(io(&latest))?;
    // Older checkpoints are no longer needed; failing to remove them is harmless.
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if file_name.starts_with("step-") && file_name != name {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    Ok(dir)
}

/// Saves a checkpoint with atomic writes.
pub fn save(project: &Path, state: &JobState, generator: &Generator) -> Result<PathBuf, CheckpointError> {
    save_with(project, state, generator, write_atomic)
}

/// The newest complete checkpoint, if any, with its generator (of `model`'s architecture) loaded on `device`.
pub fn load_latest(project: &Path, model: &ModelSource, device: &Device) -> Result<Option<(JobState, Generator)>, CheckpointError> {
    let root = folder_of(project);
    let latest = root.join("latest.json");
    let bytes = match std::fs::read(&latest) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(CheckpointError::Io { path: latest, source }),
    };
    let invalid = |path: &Path, reason: String| CheckpointError::Invalid { path: path.to_path_buf(), reason };
    let pointer: Latest = serde_json::from_slice(&bytes).map_err(|e| invalid(&latest, e.to_string()))?;
    let dir = root.join(pointer.dir);
    let state_path = dir.join("state.json");
    let state_bytes = std::fs::read(&state_path).map_err(|source| CheckpointError::Io { path: state_path.clone(), source })?;
    let state: JobState = serde_json::from_slice(&state_bytes).map_err(|e| invalid(&state_path, e.to_string()))?;
    let weights_path = dir.join("generator.safetensors");
    let weights = std::fs::read(&weights_path).map_err(|source| CheckpointError::Io { path: weights_path.clone(), source })?;
    let generator = model.load_tuned(weights, &weights_path.display().to_string(), device).map_err(|e| invalid(&weights_path, e.to_string()))?;
    Ok(Some((state, generator)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::FaceGenerator;

    #[test]
    fn a_crash_while_writing_keeps_the_previous_checkpoint_loadable() {
        let project = std::env::temp_dir().join(format!("mystyle-ckpt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&project);
        let device = Device::flex();
        let generator = ModelSource::DefaultDcgan.load(&device).unwrap();
        let first = JobState { step: 10, learning_rate: 1e-3, anchors: vec![vec![0.5; 100]], seed: 3, organization: None };
        save(&project, &first, &generator).unwrap();
        // The next checkpoint dies while writing its state (the weights are already on disk).
        let second = JobState { step: 20, ..first.clone() };
        let failing = |path: &Path, bytes: &[u8]| {
            if path.ends_with("state.json") {
                return Err(std::io::Error::other("killed mid-write"));
            }
            write_atomic(path, bytes)
        };
        let err = save_with(&project, &second, &generator, failing).unwrap_err();
        assert!(err.to_string().contains("state.json"), "{err}");
        let (state, loaded) = load_latest(&project, &ModelSource::DefaultDcgan, &device).unwrap().expect("the previous checkpoint");
        assert_eq!(state, first);
        // Same weights: the same faces from the same latents (serialized bytes may order metadata differently).
        let z = burn::tensor::Tensor::<2>::from_data(
            burn::tensor::TensorData::new(crate::generator::latent::normal_latents(4, 2, 100), [2, 100]),
            &device,
        );
        let diff: f32 = (loaded.faces(z.clone()) - generator.faces(z)).abs().max().into_scalar();
        assert_eq!(diff, 0.0, "the loaded weights differ from the saved ones");
        std::fs::remove_dir_all(&project).unwrap();
    }
}
