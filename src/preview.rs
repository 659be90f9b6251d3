//! The face-preview worker: a background thread that owns the generator and renders faces on request,
//! so the UI thread never waits on a model. It also loads another model (the Model menu) and times it
//! for a personalize estimate. It talks through typed channels: requests in, events out.
//! Requests are coalesced (only the newest is rendered); dropping the handle cancels what is queued and
//! ends the thread after the face in progress.
//! A backend that fails mid-run (a panicking or lost GPU driver) is replaced by the CPU backend.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::time::Instant;

use image::RgbImage;

use crate::backend::{ComputeBackend, panic_message};
use crate::generator::model::Renderer;
use crate::generator::{FaceGenerator, Generator, ModelSource, sample_faces};
use crate::prior::estimate::{Estimate, estimate};
use crate::prior::job::{Budget, TUNING_MEMORY_BYTES};
use crate::project::Preset;

/// Largest side of the faces shown (larger models are drawn from their coarser layers).
pub const PREVIEW_SIDE: usize = 256;
/// Photos assumed by the personalize estimate shown when a model is loaded.
pub const ESTIMATE_PHOTOS: usize = 20;

/// What the UI asks the worker for.
#[derive(Clone, Debug, PartialEq)]
pub enum PreviewRequest {
    /// Render the first face of `seed`.
    Sample {
        /// The seed of the latent vector.
        seed: u64,
    },
    /// Load another generator; the current one stays until it has loaded.
    Load(ModelSource),
}

/// What the worker reports back.
#[derive(Clone, Debug)]
pub enum PreviewEvent {
    /// The model is loaded and ready on the named backend.
    Ready {
        /// The model's display name.
        model: String,
        /// Its output side in pixels.
        resolution: usize,
        /// Where it came from.
        source: ModelSource,
        /// The backend it runs on.
        backend: String,
    },
    /// How long personalizing [`ESTIMATE_PHOTOS`] photos with the Fast preset would take with the model
    /// just loaded (sent after [`PreviewEvent::Ready`] for a model other than the default).
    Estimate(Estimate),
    /// The backend was replaced by the CPU backend after a failure.
    BackendChanged {
        /// The new backend.
        backend: String,
        /// What failed.
        reason: String,
    },
    /// A rendered face.
    Face {
        /// The seed it was rendered from.
        seed: u64,
        /// The face.
        image: RgbImage,
        /// Time to render, in milliseconds.
        millis: f64,
    },
    /// A model could not be loaded; the one in use stays.
    LoadFailed {
        /// The model asked for.
        source: ModelSource,
        /// Why it failed (names the file).
        reason: String,
    },
    /// A request failed; the worker keeps running.
    Failed(String),
}

/// Handle to the running preview worker.
pub struct PreviewWorker {
    requests: Sender<PreviewRequest>,
    events: Receiver<PreviewEvent>,
}

impl PreviewWorker {
    /// Starts the worker on `backend`; `wake` is called after every event (for example to repaint the UI).
    pub fn spawn(backend: ComputeBackend, wake: impl Fn() + Send + 'static) -> Self {
        let (requests, request_rx) = mpsc::channel();
        let (event_tx, events) = mpsc::channel();
        std::thread::Builder::new()
            .name("preview".into())
            .spawn(move || {
                let emit = |event| {
                    let sent = event_tx.send(event).is_ok();
                    wake();
                    sent
                };
                run(backend, &request_rx, emit);
            })
            .expect("spawning a thread only fails when the OS is out of resources");
        Self { requests, events }
    }

    /// Asks for a face; an older request that has not started yet is dropped in its favour.
    pub fn request(&self, request: PreviewRequest) {
        // A closed channel means the worker has stopped; its last event already said why.
        let _ = self.requests.send(request);
    }

    /// Events that have arrived since the last call, without waiting.
    pub fn poll(&self) -> Vec<PreviewEvent> {
        self.events.try_iter().collect()
    }

    /// Waits for the next event (for the command line and tests); `None` when the worker has stopped.
    pub fn wait(&self) -> Option<PreviewEvent> {
        self.events.recv().ok()
    }
}

/// A loaded generator and its renderer.
struct Loaded {
    generator: Generator,
    renderer: Renderer,
    source: ModelSource,
}

impl Loaded {
    fn faces(&self, seed: u64) -> Result<Vec<RgbImage>, crate::imaging::ImagingError> {
        sample_faces(&self.generator, &self.renderer, seed, 1, PREVIEW_SIDE)
    }

    fn ready(&self, backend: &ComputeBackend) -> PreviewEvent {
        PreviewEvent::Ready {
            model: self.generator.name(),
            resolution: self.generator.resolution(),
            source: self.source.clone(),
            backend: backend.describe(),
        }
    }
}

fn load(backend: &ComputeBackend, source: &ModelSource) -> Result<Loaded, String> {
    catch_unwind(AssertUnwindSafe(|| {
        let generator = source.load(&backend.device).map_err(|e| format!("{e:#}"))?;
        let renderer = Renderer::new(&generator, backend.parallel_parts());
        Ok(Loaded { generator, renderer, source: source.clone() })
    }))
        .unwrap_or_else(|panic| Err(format!("the backend panicked while loading the model: {}", panic_message(&panic))))
}

fn run(mut backend: ComputeBackend, requests: &Receiver<PreviewRequest>, emit: impl Fn(PreviewEvent) -> bool) {
    let mut model = match load(&backend, &ModelSource::DefaultDcgan) {
        Ok(model) => model,
        Err(reason) if !backend.is_cpu() => {
            backend = ComputeBackend::cpu();
            emit(PreviewEvent::BackendChanged { backend: backend.describe(), reason: reason.clone() });
            match load(&backend, &ModelSource::DefaultDcgan) {
                Ok(model) => model,
                Err(reason) => {
                    emit(PreviewEvent::Failed(reason));
                    return;
                }
            }
        }
        Err(reason) => {
            emit(PreviewEvent::Failed(reason));
            return;
        }
    };
    if !emit(model.ready(&backend)) {
        return;
    }
    let mut pending = Vec::new();
    while let Some(request) = newest(requests, &mut pending) {
        let seed = match request {
            PreviewRequest::Sample { seed } => seed,
            PreviewRequest::Load(source) => {
                match load(&backend, &source) {
                    Ok(loaded) => {
                        model = loaded;
                        if !emit(model.ready(&backend)) {
                            return;
                        }
                        let budget = Budget::for_preset(Preset::Fast);
                        match estimate(&source, ESTIMATE_PHOTOS, &budget, TUNING_MEMORY_BYTES, &backend.device) {
                            Ok(estimate) => emit(PreviewEvent::Estimate(estimate)),
                            Err(e) => emit(PreviewEvent::Failed(format!("cannot estimate the personalize time: {e:#}"))),
                        };
                    }
                    Err(reason) => {
                        emit(PreviewEvent::LoadFailed { source, reason });
                    }
                }
                continue;
            }
        };
        let started = Instant::now();
        let rendered = catch_unwind(AssertUnwindSafe(|| model.faces(seed)));
        let event = match rendered {
            Ok(Ok(mut faces)) => {
                PreviewEvent::Face { seed, image: faces.remove(0), millis: started.elapsed().as_secs_f64() * 1e3 }
            }
            Ok(Err(e)) => PreviewEvent::Failed(e.to_string()),
            Err(panic) if !backend.is_cpu() => {
                let reason = format!("the GPU backend failed: {}", panic_message(&panic));
                backend = ComputeBackend::cpu();
                match load(&backend, &model.source) {
                    Ok(cpu_model) => model = cpu_model,
                    Err(e) => {
                        emit(PreviewEvent::Failed(e));
                        return;
                    }
                }
                emit(PreviewEvent::BackendChanged { backend: backend.describe(), reason });
                match model.faces(seed) {
                    Ok(mut faces) => PreviewEvent::Face {
                        seed,
                        image: faces.remove(0),
                        millis: started.elapsed().as_secs_f64() * 1e3,
                    },
                    Err(e) => PreviewEvent::Failed(e.to_string()),
                }
            }
            Err(panic) => PreviewEvent::Failed(format!("rendering failed: {}", panic_message(&panic))),
        };
        if !emit(event) {
            return;
        }
    }
}

/// Blocks for the next request, then collapses the queue: a model load (the newest) comes first, then the
/// newest face; `None` once the UI has gone.
fn newest(requests: &Receiver<PreviewRequest>, pending: &mut Vec<PreviewRequest>) -> Option<PreviewRequest> {
    if pending.is_empty() {
        pending.push(requests.recv().ok()?);
    }
    loop {
        match requests.try_recv() {
            Ok(newer) => pending.push(newer),
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Disconnected) => return None,
        }
    }
    let load = pending.iter().rposition(|r| matches!(r, PreviewRequest::Load(_)));
    let sample = pending.iter().rposition(|r| matches!(r, PreviewRequest::Sample { .. }));
    let next = match (load, sample) {
        (Some(l), Some(s)) => {
            let sample = pending[s].clone();
            let load = pending[l].clone();
            *pending = vec![sample];
            load
        }
        (Some(l), None) => {
            let load = pending[l].clone();
            pending.clear();
            load
        }
        (None, Some(s)) => {
            let sample = pending[s].clone();
            pending.clear();
            sample
        }
        (None, None) => return None,
    };
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_newest_request_only() {
        let worker = PreviewWorker::spawn(ComputeBackend::cpu(), || {});
        assert!(matches!(worker.wait(), Some(PreviewEvent::Ready { .. })));
        for seed in 0..20 {
            worker.request(PreviewRequest::Sample { seed });
        }
        let mut seeds = Vec::new();
        while seeds.last() != Some(&19) {
            match worker.wait() {
                Some(PreviewEvent::Face { seed, image, .. }) => {
                    assert_eq!(image.dimensions(), (64, 64));
                    seeds.push(seed);
                }
                other => panic!("unexpected event {other:?}"),
            }
        }
        // The first request may start before the others arrive; everything queued behind it collapses.
        assert!(seeds.len() <= 2, "rendered {seeds:?}");
    }
}
