//! Helpers for the headless UI tests (tests/ui_*.rs include this file with `#[path]`): the real
//! [`StudioApp`] in an egui_kittest harness on the CPU backend, files dropped onto it, and waiting on its
//! background work while frames keep running (with the slowest frame measured). It holds no test itself.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use mystyle::app::{AppOptions, StudioApp, UiState};
use mystyle::backend::ComputeBackend;
use mystyle::prior::job::Budget;

/// The harness type of these tests: the app is built in the first frame, with the harness's context.
pub type App = Harness<'static, Option<StudioApp>>;

/// A file dropped onto the window.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| format!("{}: {e}", self.0.display()))
    }
}

/// The app in a 1280x800 harness, creating projects under `dir`, with an optional fixed personalize budget.
pub fn open(dir: &Path, budget: Option<Budget>) -> App {
    let options = AppOptions { projects_dir: Some(dir.join("projects")), budget };
    let mut harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_accessibility_check(false)
        .build_ui_state(
            move |ui, app: &mut Option<StudioApp>| {
                app.get_or_insert_with(|| StudioApp::new(ComputeBackend::cpu(), UiState::default(), ui.ctx().clone(), options.clone())).frame(ui);
            },
            None,
        );
    harness.step();
    harness
}

/// The app inside the harness.
pub fn app(h: &App) -> &StudioApp {
    h.state().as_ref().expect("the app is built in the first frame")
}

/// The app inside the harness, to apply intents.
pub fn app_mut(h: &mut App) -> &mut StudioApp {
    h.state_mut().as_mut().expect("the app is built in the first frame")
}

/// Drops `paths` onto the window (as the window system delivers them) and runs a frame.
pub fn drop_files(h: &mut App, paths: &[PathBuf]) {
    for p in paths {
        h.input_mut().dropped_files.push(Arc::new(Dropped(p.clone())));
    }
    h.step();
}

/// Runs frames until `done` holds, at most `limit`; returns the slowest frame seen. Fails with the app's
/// messages when the time runs out.
pub fn wait_until(h: &mut App, what: &str, limit: Duration, done: impl Fn(&StudioApp) -> bool) -> Duration {
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    loop {
        let t = Instant::now();
        h.step();
        slowest = slowest.max(t.elapsed());
        if done(app(h)) {
            return slowest;
        }
        assert!(started.elapsed() < limit, "timed out after {limit:?} waiting for {what}; messages: {:#?}", app(h).messages());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// True when some message contains `text`.
pub fn said(app: &StudioApp, text: &str) -> bool {
    app.messages().iter().any(|m| m.contains(text))
}
