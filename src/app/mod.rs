//! The editor window (eframe/egui): import photos, personalize, edit with sliders, export. It holds no
//! model logic: every model runs in the library's workers ([`ImportJob`](crate::photoset::ImportJob),
//! [`PersonalizeJob`], [`EditJob`](crate::prior::edit::EditJob), [`PreviewWorker`]) on their own threads,
//! and the UI thread only polls their event channels. State is kept in three parts: what the window
//! remembers between runs ([`UiState`], serde), the open project ([`session::Session`], saved in the
//! project folder), and runtime resources (workers, textures). Views draw from them and return
//! [`Intent`]s, which [`StudioApp::apply`] carries out after the frame.

pub mod dialog;
pub mod edit;
pub mod export;
pub mod frames;
pub mod personalize;
pub mod photos;
pub mod session;
mod state;
pub mod views;

use std::path::PathBuf;

use eframe::egui;
use image::RgbImage;

use crate::backend::ComputeBackend;
use crate::generator::ModelSource;
use crate::photoset::PhotoEntry;
use crate::preview::{PreviewEvent, PreviewRequest, PreviewWorker};
use crate::prior::edit::Base;
use crate::prior::job::{Budget, PersonalizeInput, PersonalizeJob, TUNING_MEMORY_BYTES};
use crate::prior::organize::Attribute;
use crate::project::Preset;
pub use state::{ExportFormat, UiState};

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
            .with_min_inner_size([720.0, 480.0])
            .with_drag_and_drop(true),
        renderer,
        persist_window: true,
        ..Default::default()
    };
    eframe::run_native(
        "mystyle",
        options,
        Box::new(move |cc| {
            let state: UiState = cc.storage.and_then(|s| eframe::get_value(s, eframe::APP_KEY)).unwrap_or_default();
            Ok(Box::new(StudioApp::new(backend, state, cc.egui_ctx.clone(), AppOptions::from_env())))
        }),
    )
}

/// Choices made when the window is built rather than by the user.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    /// Where new projects are created (default: [`default_projects_dir`]).
    pub projects_dir: Option<PathBuf>,
    /// A fixed personalize budget in place of the preset's (short runs for tests and demonstrations).
    pub budget: Option<Budget>,
}

/// Environment variable: personalize with this many tuning steps (and a short inversion) instead of the
/// preset's, for demonstrations and the window test.
pub const TUNING_STEPS_VAR: &str = "MYSTYLE_TUNING_STEPS";

impl AppOptions {
    /// The options the window starts with: defaults, and a short personalize budget when
    /// [`TUNING_STEPS_VAR`] holds a number of steps.
    pub fn from_env() -> Self {
        let budget = std::env::var(TUNING_STEPS_VAR).ok().and_then(|v| v.trim().parse::<usize>().ok()).map(short_budget);
        Self { budget, ..Default::default() }
    }
}

/// A personalize budget of `tuning_steps` steps with a four-step inversion: seconds, not minutes.
pub fn short_budget(tuning_steps: usize) -> Budget {
    let mut budget = Budget { checkpoint_every: 4, preview_every: 4, ..Budget::short(4, tuning_steps.max(1), 2) };
    budget.tuning.patience = 1000;
    budget
}

/// `$XDG_DATA_HOME/mystyle/projects`, else `~/.local/share/mystyle/projects`, else one in the temporary folder.
pub fn default_projects_dir() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    data.join("mystyle").join("projects")
}

/// What the user asked for during a frame, applied after drawing.
#[derive(Clone, Debug, PartialEq)]
pub enum Intent {
    /// Draw a new random face (before personalizing).
    Resample,
    /// Draw the random face of this seed.
    ShowSeed(u64),
    /// Load another generator (the Model menu).
    LoadModel(ModelSource),
    /// Open a native file dialog.
    ChooseFiles(dialog::Purpose),
    /// Start a new, empty project.
    NewProject,
    /// Open the project in this folder.
    OpenProject(PathBuf),
    /// Save the project (Ctrl+S).
    SaveProject,
    /// Import these files and folders.
    Import(Vec<PathBuf>),
    /// Stop the running import.
    CancelImport,
    /// Use photo `i` for personalizing or not.
    SetIncluded(usize, bool),
    /// Choose the personalize preset.
    SetPreset(Preset),
    /// Start personalizing (from the last checkpoint when `resume`).
    StartPersonalize {
        /// Continue from the last checkpoint.
        resume: bool,
    },
    /// Stop personalizing after the current step.
    CancelPersonalize,
    /// Request a value for an attribute (`None`: as the base has it).
    SetTarget(Attribute, Option<f32>),
    /// Record the current edit in the undo history (a slider was released).
    CommitEdit,
    /// Edit from another base.
    SetBase(Base),
    /// Edit from another base while it is being chosen (a mix dragged); recorded by [`Intent::CommitEdit`].
    PreviewBase(Base),
    /// Edit from a new photo of the person (not one of the set), projected into the person's space.
    OpenBasePhoto(PathBuf),
    /// Edit from a new random face of the person.
    RandomBase,
    /// Undo the last edit (Ctrl+Z).
    Undo,
    /// Redo (Ctrl+Shift+Z).
    Redo,
    /// Clear every slider.
    ResetEdit,
    /// Export the face on screen, or paste it back into its photo.
    Export {
        /// Paste into the original photo instead of writing the face alone.
        paste_back: bool,
    },
    /// Export a contact sheet of the face across one slider's range.
    ExportSweep(Attribute),
    /// The answer to "replace the existing file?".
    ConfirmOverwrite(bool),
    /// Choose the export format.
    SetExportFormat(ExportFormat),
    /// Choose the exported face's side in pixels.
    SetExportSize(u32),
    /// Close the window (Project > Quit, Ctrl+Q), as the window's close button does: during personalizing
    /// the user is asked first; unsaved changes are saved.
    Quit,
    /// Closing during personalizing: stop, checkpoint, then close.
    StopAndQuit,
    /// Closing during personalizing: keep the window open and the job running.
    KeepRunning,
}

/// Where closing the window stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closing {
    /// Not closing.
    No,
    /// Asking whether to stop personalizing.
    Asking,
    /// Waiting for the job to checkpoint and stop.
    Stopping,
}

/// The application: persisted state, the open project and runtime resources, kept apart.
pub struct StudioApp {
    state: UiState,
    options: AppOptions,
    backend: ComputeBackend,
    ctx: egui::Context,
    session: session::Session,
    photos: photos::PhotosArea,
    personalize: personalize::PersonalizeArea,
    /// The photos (project indices) of the running personalize job, in anchor order.
    tuning_photos: Vec<usize>,
    editor: Option<edit::PersonEditor>,
    random: edit::RandomFace,
    random_image: Option<RgbImage>,
    export: export::ExportArea,
    status: views::Status,
    preview: PreviewWorker,
    dialog: Option<dialog::Dialog>,
    closing: Closing,
    /// Where the face was drawn when last logged (the window test reads the log to find it on screen).
    face_rect: Option<egui::Rect>,
    frame_times: frames::FrameTimes,
    /// Whole frames as eframe times them (UI, tessellation and painting), in the real window.
    painted_times: frames::FrameTimes,
    /// What the frame-time statistics are measuring now ("personalizing", "dragging"), if anything.
    measuring: Option<&'static str>,
    /// Widgets whose place on the screen was logged, with the place.
    logged_widgets: Vec<(&'static str, egui::Rect)>,
}

impl StudioApp {
    /// Builds the app on `backend` with the remembered `state`: reopens the last project (or starts an
    /// untitled one) and starts the preview worker.
    pub fn new(backend: ComputeBackend, state: UiState, ctx: egui::Context, options: AppOptions) -> Self {
        let mut status = views::Status { backend: backend.describe(), ..Default::default() };
        if let Some(notice) = &backend.notice {
            status.push(notice.clone());
        }
        let wake = ctx.clone();
        let preview = PreviewWorker::spawn(backend.clone(), move || wake.request_repaint());
        let projects_dir = options.projects_dir.clone().unwrap_or_else(default_projects_dir);
        let session = match state.last_project.as_deref().filter(|p| p.join(crate::project::PROJECT_FILE).is_file()) {
            Some(folder) => session::Session::open(folder).unwrap_or_else(|e| {
                status.push(format!("the last project could not be opened: {e}"));
                session::Session::untitled(&projects_dir)
            }),
            None => session::Session::untitled(&projects_dir),
        };
        let model = state.model.clone();
        let mut app = Self {
            state,
            options,
            backend,
            ctx,
            session,
            photos: Default::default(),
            personalize: Default::default(),
            tuning_photos: Vec::new(),
            editor: None,
            random: Default::default(),
            random_image: None,
            export: Default::default(),
            status,
            preview,
            dialog: None,
            closing: Closing::No,
            face_rect: None,
            frame_times: Default::default(),
            painted_times: Default::default(),
            measuring: None,
            logged_widgets: Vec::new(),
        };
        if model != ModelSource::DefaultDcgan {
            app.apply(Intent::LoadModel(model));
        }
        app.apply(Intent::ShowSeed(app.state.seed));
        app.project_changed();
        app
    }

    /// The remembered state.
    pub fn state(&self) -> &UiState {
        &self.state
    }

    /// The open project.
    pub fn session(&self) -> &session::Session {
        &self.session
    }

    /// True while an import runs or a reopened project's faces are being re-aligned.
    pub fn importing(&self) -> bool {
        self.photos.importing() || self.photos.realigning()
    }

    /// Photos analysed so far by the running import, and how many in all.
    pub fn import_progress(&self) -> Option<(usize, usize)> {
        self.photos.progress()
    }

    /// The Personalize area's state (job progress, losses, how the last job ended).
    pub fn personalize(&self) -> &personalize::PersonalizeArea {
        &self.personalize
    }

    /// The personalized editor, once the project is personalized.
    pub fn editor(&self) -> Option<&edit::PersonEditor> {
        self.editor.as_ref()
    }

    /// The Export section's state.
    pub fn export(&self) -> &export::ExportArea {
        &self.export
    }

    /// How long the last frames' UI work took.
    pub fn frame_times(&self) -> &frames::FrameTimes {
        &self.frame_times
    }

    /// Starts the frame-time statistics afresh (to measure one phase).
    pub fn reset_frame_times(&mut self) {
        self.frame_times.clear();
    }

    /// Every message shown to the user so far, oldest first.
    pub fn messages(&self) -> &[String] {
        &self.status.messages
    }

    /// Project photos that personalizing would use now (included, with a face aligned in memory).
    fn ready_photos(&self) -> Vec<usize> {
        (0..self.session.project.photos.len())
            .filter(|&i| self.session.included(i) && self.session.project.photos[i].entry.face().is_some_and(|f| f.aligned_generator.width() > 0))
            .collect()
    }

    /// Starts the editor of the open (personalized) project at `start`.
    fn open_editor(&mut self, start: Option<edit::EditPoint>) {
        let names = self
            .session
            .editor
            .tuned_photos
            .iter()
            .map(|&i| self.session.project.photos.get(i).and_then(|p| p.entry.path.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
            .collect();
        self.editor = Some(edit::PersonEditor::open(self.session.folder.clone(), self.backend.device.clone(), self.ctx.clone(), start, names));
    }

    fn project_changed(&mut self) {
        self.photos.project_changed(&self.session, &self.ctx);
        self.personalize = Default::default();
        self.editor = None;
        if self.session.is_personalized() {
            self.open_editor(self.session.editor.edit.clone());
        }
        self.export.propose(&self.session.folder, self.state.export_format);
        if self.session.folder.join(crate::project::PROJECT_FILE).is_file() {
            self.state.remember_project(&self.session.folder);
        }
    }

    fn save(&mut self) {
        match self.session.save() {
            Ok(()) => self.state.remember_project(&self.session.folder),
            Err(e) => self.status.push(format!("the project could not be saved: {e}")),
        }
    }

    fn switch_project(&mut self, next: Result<session::Session, String>) {
        if self.personalize.running() {
            return self.status.push("personalizing is running: cancel it before switching projects");
        }
        match next {
            Ok(next) => {
                if self.session.is_dirty() {
                    self.save();
                }
                self.session = next;
                self.project_changed();
                self.status.push(format!("project {}", self.session.folder.display()));
            }
            Err(e) => self.status.push(format!("cannot open the project: {e}")),
        }
    }

    /// Carries out one intent.
    pub fn apply(&mut self, intent: Intent) {
        match intent {
            Intent::Resample => {
                self.state.seed = self.state.next_seed();
                self.random.busy = true;
                self.preview.request(PreviewRequest::Sample { seed: self.state.seed });
            }
            Intent::ShowSeed(seed) => {
                self.state.seed = seed;
                self.random.busy = true;
                self.preview.request(PreviewRequest::Sample { seed });
            }
            Intent::LoadModel(source) => {
                self.status.loading = Some(source.clone());
                self.status.estimate = None;
                self.preview.request(PreviewRequest::Load(source));
            }
            Intent::ChooseFiles(purpose) => {
                if self.dialog.is_none() {
                    let ctx = self.ctx.clone();
                    self.dialog = Some(dialog::Dialog::open(purpose, move || ctx.request_repaint()));
                }
            }
            Intent::NewProject => {
                let dir = self.options.projects_dir.clone().unwrap_or_else(default_projects_dir);
                self.switch_project(Ok(session::Session::untitled(&dir)));
            }
            Intent::OpenProject(folder) => self.switch_project(session::Session::open(&folder)),
            Intent::SaveProject => {
                self.save();
                if !self.session.is_dirty() {
                    self.status.push(format!("saved {}", self.session.folder.display()));
                }
            }
            Intent::Import(paths) => {
                if self.photos.importing() {
                    self.status.push("an import is running: wait for it or cancel it first");
                } else {
                    self.photos.start_import(paths, self.backend.device.clone(), self.ctx.clone());
                }
            }
            Intent::CancelImport => self.photos.cancel_import(),
            Intent::SetIncluded(i, included) => {
                if let Some(photo) = self.session.project.photos.get_mut(i) {
                    photo.included = Some(included);
                    self.session.touch();
                }
            }
            Intent::SetPreset(preset) => {
                self.session.project.settings.preset = preset;
                self.session.touch();
            }
            Intent::StartPersonalize { resume } => self.start_personalize(resume),
            Intent::CancelPersonalize => self.personalize.cancel(),
            Intent::SetTarget(attribute, value) => {
                if let Some(editor) = &mut self.editor {
                    editor.set_target(attribute, value);
                }
            }
            Intent::CommitEdit => self.editor.iter_mut().for_each(|e| e.commit()),
            Intent::SetBase(base) => self.editor.iter_mut().for_each(|e| e.set_base(base.clone())),
            Intent::PreviewBase(base) => self.editor.iter_mut().for_each(|e| e.preview_base(base.clone())),
            Intent::RandomBase => self.editor.iter_mut().for_each(|e| e.random_base()),
            Intent::OpenBasePhoto(path) => match &mut self.editor {
                Some(editor) => editor.open_photo(path, &self.ctx),
                None => self.status.push("personalize the project first: a new photo is edited in the person's space"),
            },
            Intent::Undo => self.editor.iter_mut().for_each(|e| e.undo()),
            Intent::Redo => self.editor.iter_mut().for_each(|e| e.redo()),
            Intent::ResetEdit => self.editor.iter_mut().for_each(|e| e.reset()),
            Intent::Export { paste_back } => self.start_export(paste_back),
            Intent::ExportSweep(attribute) => {
                if !self.editor.as_mut().is_some_and(|e| e.start_sweep(attribute)) {
                    self.status.push(format!("no {} slider to sweep", attribute.name()));
                }
            }
            Intent::ConfirmOverwrite(replace) => {
                if let Some(request) = self.export.pending_overwrite.take() {
                    if replace {
                        self.export.start(request, true, &self.ctx);
                    } else {
                        self.status.push(format!("not exported: {} exists", request.path.display()));
                    }
                }
            }
            Intent::SetExportFormat(format) => self.state.export_format = format,
            Intent::SetExportSize(size) => self.state.export_size = size,
            Intent::Quit => self.ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            Intent::StopAndQuit => {
                self.closing = Closing::Stopping;
                self.personalize.cancel();
            }
            Intent::KeepRunning => self.closing = Closing::No,
        }
    }

    fn start_personalize(&mut self, resume: bool) {
        if self.personalize.running() {
            return;
        }
        let chosen = self.ready_photos();
        if chosen.is_empty() {
            return self.status.push("no photo to personalize on: add photos with a face (status ok, or ticked)");
        }
        self.save();
        let photos: Vec<RgbImage> = chosen.iter().filter_map(|&i| self.session.project.photos[i].entry.face().map(|f| f.aligned_generator.clone())).collect();
        let preset = self.session.project.settings.preset;
        let input = PersonalizeInput {
            photos: photos.clone(),
            project: self.session.folder.clone(),
            budget: self.options.budget.clone().unwrap_or_else(|| Budget::for_preset(preset)),
            resume,
            seed: 1,
            model: self.state.model.clone(),
            memory_budget_bytes: TUNING_MEMORY_BYTES,
            mirror_profiles: false,
        };
        let ctx = self.ctx.clone();
        let job = PersonalizeJob::spawn(input, self.backend.device.clone(), move || ctx.request_repaint());
        self.personalize.start(job, &photos, &self.ctx);
        self.tuning_photos = chosen;
        self.status.push(format!("personalizing on {} photo(s) ({preset:?}{})", photos.len(), if resume { ", resumed" } else { "" }));
    }

    /// Exports the face on screen: a personalized face is first drawn again at the model's full resolution
    /// on the edit worker ([`Self::finish_export`] runs when it arrives).
    fn start_export(&mut self, paste_back: bool) {
        if let Some(editor) = &mut self.editor {
            if editor.render_full() {
                self.export.await_face(paste_back);
                return;
            }
        }
        let face = match &self.editor {
            Some(editor) => editor.image.clone(),
            None => self.random_image.clone(),
        };
        let Some(face) = face else { return self.status.push("nothing to export yet: no face on screen") };
        self.finish_export(face, paste_back);
    }

    /// Writes `face` (or pastes it back) as the Export area says.
    fn finish_export(&mut self, face: RgbImage, paste_back: bool) {
        let path = self.export.target(self.state.export_format, paste_back);
        self.export.path = path.display().to_string();
        let kind = if paste_back {
            match self.paste_target() {
                Some((photo, to_photo)) => export::ExportKind::PasteBack { photo, to_photo },
                None => return self.status.push("paste-back needs a photo of the set as the base"),
            }
        } else {
            export::ExportKind::Face { size: self.state.export_size }
        };
        self.export.start(export::ExportRequest { face, kind, path }, false, &self.ctx);
    }

    /// The original photo and alignment behind the editor's base, when it is a photo of the set or a new
    /// photo of the person.
    fn paste_target(&self) -> Option<(PathBuf, crate::face::geometry::Affine)> {
        let editor = self.editor.as_ref()?;
        if let Some(projected) = editor.projected_photo() {
            return Some(projected);
        }
        let Base::Anchor(anchor) = editor.point.base else { return None };
        let entry: &PhotoEntry = &self.session.project.photos.get(self.session.photo_of_anchor(anchor)?)?.entry;
        Some((entry.path.clone(), entry.face()?.to_photo))
    }

    fn handle_events(&mut self, ctx: &egui::Context) {
        for event in self.preview.poll() {
            match event {
                PreviewEvent::Ready { model, resolution, source, backend } => {
                    self.status.model = Some(model);
                    self.status.resolution = Some(resolution);
                    self.status.backend = backend;
                    // The model now in use (the default first, at start-up, even when another is being loaded).
                    if self.status.loading.as_ref() == Some(&source) {
                        self.status.loading = None;
                        self.status.push(format!("loaded {source}"));
                    }
                    self.state.model = source;
                }
                PreviewEvent::Estimate(estimate) => self.status.estimate = Some(estimate),
                PreviewEvent::BackendChanged { backend, reason } => {
                    self.status.push(format!("{reason}; now using {backend}"));
                    self.status.backend = backend;
                }
                PreviewEvent::Face { seed, image, millis } => {
                    let pixels = egui::ColorImage::from_rgb([image.width() as usize, image.height() as usize], image.as_raw());
                    match &mut self.random.texture {
                        Some(t) => t.set(pixels, edit::crisp()),
                        None => self.random.texture = Some(ctx.load_texture("face", pixels, edit::crisp())),
                    }
                    self.random_image = Some(image);
                    self.random.shown_seed = Some(seed);
                    self.random.millis = millis;
                    self.random.busy = seed != self.state.seed;
                }
                PreviewEvent::LoadFailed { source, reason } => {
                    if self.status.loading.as_ref() == Some(&source) {
                        self.status.loading = None;
                    }
                    self.status.push(format!("cannot load {source}: {reason}; still using {}", self.state.model));
                }
                PreviewEvent::Failed(message) => {
                    self.random.busy = false;
                    self.status.push(message);
                }
            }
        }
        if let Some(outcome) = self.dialog.as_ref().and_then(|d| d.poll().map(|o| (d.purpose, o))) {
            self.dialog = None;
            match outcome {
                (purpose, dialog::Outcome::Chosen(paths)) => match purpose {
                    dialog::Purpose::Photos | dialog::Purpose::PhotoFolder => self.apply(Intent::Import(paths)),
                    dialog::Purpose::BasePhoto => self.apply(Intent::OpenBasePhoto(paths[0].clone())),
                    dialog::Purpose::Checkpoint => self.apply(Intent::LoadModel(ModelSource::checkpoint(&paths[0]))),
                    dialog::Purpose::Project => self.apply(Intent::OpenProject(paths[0].clone())),
                },
                (_, dialog::Outcome::Cancelled) => log::info!("file dialog cancelled"),
                (_, dialog::Outcome::Unavailable) => self.status.push(
                    "no file dialog is available on this system (no desktop portal or dialog program): drop files onto the window or type a path",
                ),
            }
        }
        for message in self.photos.poll(&mut self.session) {
            self.status.push(message);
        }
        let (messages, ended) = self.personalize.poll(ctx);
        for message in messages {
            self.status.push(message);
        }
        if let Some(end) = ended {
            if matches!(end, personalize::JobEnd::Finished { .. }) {
                self.session.editor.tuned_photos = std::mem::take(&mut self.tuning_photos);
                // A new prior: an edit of the old one means nothing to it.
                self.session.editor.edit = None;
                self.save();
                self.open_editor(None);
            }
            if self.closing == Closing::Stopping {
                self.save();
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
        if let Some(editor) = &mut self.editor {
            for message in editor.poll(ctx) {
                self.status.push(message);
            }
            if let Some((attribute, faces)) = editor.take_sweep() {
                let sheet = export::sweep_sheet(&faces, 192);
                let dir = self.session.folder.join(export::EXPORTS_DIR);
                let path = export::next_free_name(&dir, &format!("sweep-{}", attribute.name()), self.state.export_format);
                self.export.start(export::ExportRequest { face: sheet, kind: export::ExportKind::AsIs, path }, false, ctx);
            }
        }
        match self.editor.as_mut() {
            Some(editor) => {
                if let Some(face) = editor.take_rendered() {
                    if let Some(paste_back) = self.export.take_awaiting() {
                        self.finish_export(face, paste_back);
                    }
                } else if !editor.rendering() && self.export.take_awaiting().is_some() {
                    // The render failed (the editor logged why): nothing to wait for.
                    self.status.push("not exported: the face could not be drawn at full resolution");
                }
            }
            None => {
                if self.export.take_awaiting().is_some() {
                    self.status.push("not exported: the editor was closed");
                }
            }
        }
        if let Some(message) = self.export.poll() {
            self.status.push(message);
            self.export.propose(&self.session.folder, self.state.export_format);
        }
        // The edit recorded in the history is part of the project (saved with it, shown again on reopening).
        if let Some(point) = self.editor.as_ref().filter(|e| e.ready).map(|e| e.history.current()) {
            let saved = match &self.session.editor.edit {
                Some(saved) => saved == point,
                None => *point == edit::EditPoint::default(),
            };
            if !saved {
                self.session.editor.edit = Some(point.clone());
                self.session.touch();
            }
        }
        if self.session.autosave_due() {
            self.save();
        }
        if ctx.input(|i| i.viewport().close_requested()) {
            if self.personalize.running() && self.closing != Closing::Stopping {
                ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
                self.closing = Closing::Asking;
            } else if self.session.is_dirty() {
                self.save();
            }
        }
    }

    /// Keyboard shortcuts and dropped files, as intents.
    fn global_input(&self, ctx: &egui::Context, intents: &mut Vec<Intent>) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if !dropped.is_empty() {
            intents.push(Intent::Import(dropped));
        }
        ctx.input_mut(|i| {
            if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::S)) {
                intents.push(Intent::SaveProject);
            }
            if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::Q)) {
                intents.push(Intent::Quit);
            }
        });
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        ctx.input_mut(|i| {
            if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z)) {
                intents.push(Intent::Redo);
            } else if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::Z)) {
                intents.push(Intent::Undo);
            }
        });
    }

    /// One frame: events from the workers, then the window, then the intents it produced.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let started = std::time::Instant::now();
        let ctx = ui.ctx().clone();
        self.handle_events(&ctx);
        let mut intents = Vec::new();
        self.global_input(&ctx, &mut intents);
        views::menu_bar(ui, &mut self.status, &self.state.recent, &mut intents);
        let millis = self.editor.is_none().then_some(self.random.millis).filter(|_| self.random.shown_seed.is_some());
        views::status_bar(ui, &mut self.status, &self.session, millis, &self.frame_times);
        let photos_rect = egui::Panel::left("photos").default_size(330.0).size_range(220.0..=640.0).resizable(true).show(ui, |ui| {
            self.photos.ui(ui, &self.session, &mut intents);
        }).response.rect;
        let ready = self.ready_photos().len();
        let side_rect = egui::Panel::right("personalize").default_size(300.0).size_range(240.0..=520.0).resizable(true).show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                self.personalize.ui(ui, &self.session, ready, &mut intents);
                ui.add_space(12.0);
                let has_face = self.editor.as_ref().map_or(self.random_image.is_some(), |e| e.image.is_some());
                let paste = self.paste_target().is_some();
                let sweepable: Vec<Attribute> = self.editor.as_ref().and_then(|e| e.controls.as_ref()).map(|c| c.sliders.iter().map(|s| s.attribute).collect()).unwrap_or_default();
                self.export.ui(ui, &self.state, has_face, paste, &sweepable, &mut intents);
            });
        }).response.rect;
        egui::CentralPanel::default().show(ui, |ui| {
            ui.heading("Edit");
            ui.separator();
            let rect = match &mut self.editor {
                Some(editor) => editor.ui(ui, &mut intents),
                None => random_face_view(ui, &self.random, self.state.seed, &mut intents),
            };
            if let Some(r) = rect.filter(|r| self.face_rect != Some(*r)) {
                self.face_rect = Some(r);
                log::info!(
                    "face drawn at x={:.0} y={:.0} w={:.0} h={:.0} points, pixels_per_point={}",
                    r.min.x,
                    r.min.y,
                    r.width(),
                    r.height(),
                    ctx.pixels_per_point()
                );
                let edit = ui.max_rect();
                let area = |name: &str, r: egui::Rect| format!("{name} x={:.0} y={:.0} w={:.0} h={:.0}", r.min.x, r.min.y, r.width(), r.height());
                log::info!("areas (points): {}; {}; {}", area("photos", photos_rect), area("personalize", side_rect), area("edit", edit));
            }
        });
        self.export.overwrite_question(&ctx, &mut intents);
        if let Some(rect) = self.personalize.start_rect.take() {
            self.log_widget(&ctx, "Start", rect);
        }
        if let Some(rect) = self.editor.as_mut().and_then(|e| e.first_slider_rect.take()) {
            self.log_widget(&ctx, "first slider", rect);
        }
        views::drop_overlay(&ctx);
        if self.closing != Closing::No {
            views::close_question(&ctx, self.closing == Closing::Stopping, &mut intents);
        }
        for intent in intents {
            self.apply(intent);
        }
        self.frame_times.record(started.elapsed());
        self.measure_phases(&ctx);
    }

    /// Frame-time statistics per phase: while personalizing and while something is dragged (a slider), the
    /// statistics start afresh, and at the end of the phase they go to the log.
    fn measure_phases(&mut self, ctx: &egui::Context) {
        let phase = if ctx.dragged_id().is_some() {
            Some("dragging")
        } else if self.personalize.running() {
            Some("personalizing")
        } else {
            None
        };
        if phase == self.measuring {
            return;
        }
        if let Some(ended) = self.measuring {
            let mut line = format!("UI frame time while {ended}: {}", self.frame_times.describe());
            if !self.painted_times.is_empty() {
                line.push_str(&format!("; whole frames {}", self.painted_times.describe()));
            }
            log::info!("{line}");
        }
        self.frame_times.clear();
        self.painted_times.clear();
        self.measuring = phase;
    }

    /// Logs where a widget the window test drives is on the screen, each time it moves.
    fn log_widget(&mut self, ctx: &egui::Context, name: &'static str, rect: egui::Rect) {
        let origin = ctx.input(|i| i.viewport().inner_rect).map_or(egui::Pos2::ZERO, |r| r.min);
        let r = rect.translate(origin.to_vec2());
        match self.logged_widgets.iter_mut().find(|(n, _)| *n == name) {
            Some((_, last)) if *last == r => return,
            Some((_, last)) => *last = r,
            None => self.logged_widgets.push((name, r)),
        }
        log::info!("widget {name} at x={:.0} y={:.0} w={:.0} h={:.0} (screen points)", r.min.x, r.min.y, r.width(), r.height());
    }
}

/// The random face of the generator with Resample and the seed (before the project is personalized).
fn random_face_view(ui: &mut egui::Ui, face: &edit::RandomFace, seed: u64, intents: &mut Vec<Intent>) -> Option<egui::Rect> {
    ui.horizontal(|ui| {
        if ui.button("Resample").on_hover_text("Draw another face from the generator").clicked() {
            intents.push(Intent::Resample);
        }
        let mut seed = seed;
        ui.label("Seed");
        if ui.add(egui::DragValue::new(&mut seed)).changed() {
            intents.push(Intent::ShowSeed(seed));
        }
        if face.busy {
            ui.spinner();
        }
    });
    ui.weak("A face of the untuned generator. Personalize on your photos to edit your own face.");
    ui.add_space(8.0);
    let room = ui.available_width().min(ui.available_height()).clamp(64.0, edit::MAX_FACE_SIZE);
    ui.vertical_centered(|ui| match &face.texture {
        Some(texture) => {
            let native = texture.size()[0] as f32;
            let side = if native <= room { (room / native).floor() * native } else { room };
            Some(ui.add(egui::Image::new(texture).fit_to_exact_size(egui::vec2(side, side))).rect)
        }
        None => {
            ui.allocate_ui(egui::vec2(room, room), |ui| ui.centered_and_justified(|ui| ui.spinner()));
            None
        }
    })
    .inner
}

impl eframe::App for StudioApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        if let Some(seconds) = frame.info().cpu_usage {
            self.painted_times.record(std::time::Duration::from_secs_f32(seconds));
        }
        self.frame(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.session.is_dirty() {
            self.save();
        }
        eframe::set_value(storage, eframe::APP_KEY, &self.state);
    }
}
