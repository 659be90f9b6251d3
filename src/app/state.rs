//! What the window remembers between runs (stored by eframe's persistence).

use serde::{Deserialize, Serialize};

use crate::generator::ModelSource;

/// Persisted UI state.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct UiState {
    /// Seed of the face shown in the Edit area.
    pub seed: u64,
    /// The generator in use (the Model menu); loaded again at the next start.
    pub model: ModelSource,
}

impl Default for UiState {
    fn default() -> Self {
        Self { seed: 7, model: ModelSource::DefaultDcgan }
    }
}

impl UiState {
    /// The seed after `seed`: a fixed scramble, so Resample walks through unrelated faces reproducibly.
    pub fn next_seed(&self) -> u64 {
        self.seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407) >> 16
    }
}
