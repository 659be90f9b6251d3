//! The editor window (eframe/egui). It holds no model logic: faces come from the
//! [`PreviewWorker`](crate::preview::PreviewWorker), and drawing code returns [`Intent`]s that are
//! applied after the frame.

mod state;
mod views;

use eframe::egui;

use crate::backend::ComputeBackend;
use crate::generator::ModelSource;
use crate::prior::estimate::Estimate;
use crate::preview::{PreviewEvent, PreviewRequest, PreviewWorker};
pub use state::UiState;

/// Window title; also how screenshot tools find the window.
pub const WINDOW_TITLE: &str = "MyStyle Studio";

/// Opens the editor window and runs it until it is closed. The renderer follows the compute backend
/// (wgpu next to a wgpu device, OpenGL next to the CPU backend); if it cannot start, the other one is tried.
pub fn run(backend: ComputeBackend) -> anyhow::Result<()> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        anyhow::bail!(
            "cannot open the window: no display (neither DISPLAY nor WAYLAND_DISPLAY is set); \
             run it in a desktop session, under Xvfb, or use the command-line tools (mystyle --help)"
        );
    }
    let first = if backend.is_cpu() { eframe::Renderer::Glow } else { eframe::Renderer::Wgpu };
    let second = if backend.is_cpu() { eframe::Renderer::Wgpu } else { eframe::Renderer::Glow };
    match launch(backend.clone(), first) {
        Ok(()) => Ok(()),
        Err(first_error) => {
            log::warn!("the {first:?} renderer failed ({first_error}); trying {second:?}");
            launch(backend, second).map_err(|e| anyhow::anyhow!("cannot open the window: {first_error}; then: {e}"))
        }
    }
}

fn launch(backend: ComputeBackend, renderer: eframe::Renderer) -> Result<(), eframe::Error> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(WINDOW_TITLE)
            .with_inner_size([1180.0, 760.0])
            .with_min_inner_size([720.0, 480.0]),
        renderer,
        persist_window: true,
        ..Default::default()
    };
    eframe::run_native(
        "mystyle",
        options,
        Box::new(move |cc| {
            let state: UiState = cc.storage.and_then(|s| eframe::get_value(s, eframe::APP_KEY)).unwrap_or_default();
            Ok(Box::new(StudioApp::new(backend, state, cc.egui_ctx.clone())))
        }),
    )
}

/// What the user asked for during a frame, applied after drawing.
#[derive(Clone, Debug, PartialEq)]
pub enum Intent {
    /// Draw a new random face.
    Resample,
    /// Draw the face of this seed.
    ShowSeed(u64),
    /// Load another generator (the Model menu).
    LoadModel(ModelSource),
    /// Ask for a StyleGAN2 checkpoint with the native file dialog, then load it.
    ChooseCheckpoint,
}

/// Runtime state of the face view (not persisted).
#[derive(Default)]
pub struct FaceView {
    /// The texture of the newest face.
    pub texture: Option<egui::TextureHandle>,
    /// Seed of the face on screen.
    pub shown_seed: Option<u64>,
    /// Render time of the face on screen, in milliseconds.
    pub millis: f64,
    /// True while a request is outstanding.
    pub busy: bool,
    /// Whether the first drawn face has been logged (tests read the log to find it on screen).
    pub logged: bool,
}

/// Status-bar content.
#[derive(Default)]
pub struct Status {
    /// The compute backend in use.
    pub backend: String,
    /// The model in use, once loaded.
    pub model: Option<String>,
    /// Its output side in pixels.
    pub resolution: Option<usize>,
    /// A model being loaded, shown until it is ready.
    pub loading: Option<String>,
    /// How long personalizing would take with the model in use.
    pub estimate: Option<Estimate>,
    /// The checkpoint path typed into the Model menu (for when no file dialog is available).
    pub typed_path: String,
    /// Messages for the user (fallbacks, errors), newest last; never blocking.
    pub messages: Vec<String>,
}

/// The application: persisted state, runtime resources and the worker handle, kept apart.
pub struct StudioApp {
    state: UiState,
    face: FaceView,
    status: Status,
    worker: PreviewWorker,
}

impl StudioApp {
    fn new(backend: ComputeBackend, state: UiState, ctx: egui::Context) -> Self {
        let mut status = Status { backend: backend.describe(), ..Default::default() };
        status.messages.extend(backend.notice.clone());
        let worker = PreviewWorker::spawn(backend, move || ctx.request_repaint());
        let model = state.model.clone();
        let mut app = Self { state, face: FaceView::default(), status, worker };
        if model != ModelSource::DefaultDcgan {
            app.apply(Intent::LoadModel(model));
        }
        app.apply(Intent::ShowSeed(app.state.seed));
        app
    }

    fn apply(&mut self, intent: Intent) {
        let seed = match intent {
            Intent::Resample => self.state.next_seed(),
            Intent::ShowSeed(seed) => seed,
            Intent::LoadModel(source) => {
                self.status.loading = Some(source.to_string());
                self.status.estimate = None;
                self.worker.request(PreviewRequest::Load(source));
                self.state.seed
            }
            Intent::ChooseCheckpoint => {
                let picked = rfd::FileDialog::new()
                    .set_title("Open a StyleGAN2 checkpoint")
                    .add_filter("StyleGAN2 checkpoint", &["pt", "pth", "safetensors"])
                    .pick_file();
                match picked {
                    Some(path) => return self.apply(Intent::LoadModel(ModelSource::checkpoint(&path))),
                    None => return,
                }
            }
        };
        self.state.seed = seed;
        self.face.busy = true;
        self.worker.request(PreviewRequest::Sample { seed });
    }

    fn handle_events(&mut self, ctx: &egui::Context) {
        for event in self.worker.poll() {
            match event {
                PreviewEvent::Ready { model, resolution, source, backend } => {
                    self.status.model = Some(model);
                    self.status.resolution = Some(resolution);
                    self.status.backend = backend;
                    if self.status.loading.take().is_some() {
                        self.state.model = source;
                        self.status.messages.push(format!("loaded {}", self.state.model));
                    }
                }
                PreviewEvent::Estimate(estimate) => {
                    self.status.estimate = Some(estimate);
                }
                PreviewEvent::BackendChanged { backend, reason } => {
                    self.status.messages.push(format!("{reason}; now using {backend}"));
                    self.status.backend = backend;
                }
                PreviewEvent::Face { seed, image, millis } => {
                    let size = [image.width() as usize, image.height() as usize];
                    let pixels = egui::ColorImage::from_rgb(size, image.as_raw());
                    self.face.texture = Some(ctx.load_texture("face", pixels, egui::TextureOptions::LINEAR));
                    self.face.shown_seed = Some(seed);
                    self.face.millis = millis;
                    self.face.busy = seed != self.state.seed;
                }
                PreviewEvent::Failed(message) => {
                    self.face.busy = false;
                    if self.status.loading.take().is_some() && self.state.model != ModelSource::DefaultDcgan && self.status.model.is_none() {
                        self.state.model = ModelSource::DefaultDcgan;
                    }
                    self.status.messages.push(message);
                }
            }
        }
    }
}

impl eframe::App for StudioApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.handle_events(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let mut intents = Vec::new();
        views::menu_bar(ui, &mut self.status, &mut intents);
        views::status_bar(ui, &self.status, &self.face);
        views::photos_panel(ui);
        views::personalize_panel(ui);
        views::edit_area(ui, &mut self.face, &self.state, &mut intents);
        for intent in intents {
            self.apply(intent);
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.state);
    }
}
