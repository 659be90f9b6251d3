//! The Edit area. Before a project is personalized it shows random faces of the generator (the preview
//! worker); afterwards it edits the person's faces on [`EditJob`]'s thread: a base (a photo of the set,
//! the mean, a random sample, or a point between two photos), sliders for age, smile, yaw, pitch and hair
//! in real units with the measured value beside each requested one, Reset, undo/redo and a before/after
//! toggle. Every frame the worker sends is drawn as it arrives, so the face follows a moving slider.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver};

use eframe::egui::{self, RichText};
use image::RgbImage;

use super::Intent;
use crate::face::geometry::Affine;
use crate::photoset::{ImportEvent, ImportJob};
use crate::prior::edit::{Base, EditEvent, EditJob, EditRequest, Editor, Targets};
use crate::prior::organize::{Attribute, Controls};
use crate::prior::personal::PersonalPrior;

/// Largest size the face is drawn at, in points.
pub const MAX_FACE_SIZE: f32 = 512.0;
/// Side of a base thumbnail, in points.
const BASE_THUMB: f32 = 40.0;

/// Where an edit starts and what it asks for: one step of the undo history.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EditPoint {
    /// The base.
    pub base: Base,
    /// The requested values.
    pub targets: Targets,
}

impl Default for EditPoint {
    /// The first photo, unedited: where an editor starts without a saved edit.
    fn default() -> Self {
        Self { base: Base::Anchor(0), targets: Targets::default() }
    }
}

/// Undo/redo over edit points.
#[derive(Clone, Debug)]
pub struct History {
    points: Vec<EditPoint>,
    at: usize,
}

impl History {
    /// A history holding only `first`.
    pub fn new(first: EditPoint) -> Self {
        Self { points: vec![first], at: 0 }
    }

    /// The point the history is at.
    pub fn current(&self) -> &EditPoint {
        &self.points[self.at]
    }

    /// Records `point` after the current one (dropping what could be redone); a point equal to the current
    /// one is not recorded twice.
    pub fn record(&mut self, point: EditPoint) {
        if *self.current() != point {
            self.points.truncate(self.at + 1);
            self.points.push(point);
            self.at += 1;
        }
    }

    /// Steps back; the point to show, if there was one.
    pub fn undo(&mut self) -> Option<&EditPoint> {
        (self.at > 0).then(|| {
            self.at -= 1;
            &self.points[self.at]
        })
    }

    /// Steps forward again; the point to show, if there was one.
    pub fn redo(&mut self) -> Option<&EditPoint> {
        (self.at + 1 < self.points.len()).then(|| {
            self.at += 1;
            &self.points[self.at]
        })
    }

    /// True when there is something to undo.
    pub fn can_undo(&self) -> bool {
        self.at > 0
    }

    /// True when there is something to redo.
    pub fn can_redo(&self) -> bool {
        self.at + 1 < self.points.len()
    }
}

/// A random face of the generator, shown before a project is personalized.
#[derive(Default)]
pub struct RandomFace {
    /// The texture of the newest face.
    pub texture: Option<egui::TextureHandle>,
    /// Seed of the face on screen.
    pub shown_seed: Option<u64>,
    /// Render time of the face on screen, in milliseconds.
    pub millis: f64,
    /// True while a request is outstanding.
    pub busy: bool,
}

/// What the editor's loader hands to the window: the sliders and the faces the prior was tuned on.
struct Setup {
    controls: Controls,
    faces: Vec<RgbImage>,
}

/// Steps of a slider sweep (a contact sheet from one end of the slider to the other).
pub const SWEEP_STEPS: usize = 7;

/// A slider sweep being rendered, one request per value.
struct Sweep {
    attribute: Attribute,
    values: Vec<f32>,
    faces: Vec<(f32, RgbImage)>,
}

/// A new photo of the person on its way to becoming a base: its face is found and aligned (an import of
/// that one file), then projected into the person's space by an editor of its own on a thread.
enum NewPhoto {
    Importing(PathBuf, ImportJob),
    Projecting(PathBuf, Affine, Receiver<Result<Vec<f32>, String>>),
}

/// The personalized editor's runtime state.
pub struct PersonEditor {
    job: EditJob,
    setup: Option<Receiver<Setup>>,
    /// True once the editor is loaded and takes requests.
    pub ready: bool,
    /// The sliders.
    pub controls: Option<Controls>,
    faces: Vec<egui::TextureHandle>,
    /// The edit on screen (or asked for).
    pub point: EditPoint,
    /// Undo/redo.
    pub history: History,
    next_id: u64,
    sent: Option<u64>,
    before_request: Option<u64>,
    /// The newest frame of the newest request.
    pub image: Option<RgbImage>,
    texture: Option<egui::TextureHandle>,
    /// What the estimators read on the newest frame.
    pub measured: Vec<(Attribute, f32)>,
    latent: Option<Vec<f32>>,
    before: Option<(Base, egui::TextureHandle)>,
    /// Show the base without the edit.
    pub show_before: bool,
    /// While the pointer drags across the face: the share of its width (from the left) that shows the base,
    /// the rest the edit.
    pub wipe: Option<f32>,
    /// Frames drawn so far.
    pub frames: u64,
    /// Between-two-photos choice: photo numbers a and b (from 1), and the mix.
    pub between: (usize, usize, f32),
    sample_seed: u64,
    sweep: Option<Sweep>,
    finished_sweep: Option<(Attribute, Vec<(f32, RgbImage)>)>,
    folder: PathBuf,
    device: burn::tensor::Device,
    new_photo: Option<NewPhoto>,
    /// The latent of a projected new photo, with its file and alignment (for pasting back).
    pub projected: Option<(Vec<f32>, PathBuf, Affine)>,
    /// The path typed for a new base photo (when no file dialog is available).
    pub typed_photo: String,
    /// Where the first slider was drawn in the last frame.
    pub first_slider_rect: Option<egui::Rect>,
    /// The full-resolution render asked for an export, and its result once drawn.
    rendering: Option<u64>,
    rendered: Option<RgbImage>,
    /// The training photos' file names, in anchor order.
    photo_names: Vec<String>,
}

/// Nearest-neighbour magnification (crisp pixels), smooth minification.
pub fn crisp() -> egui::TextureOptions {
    egui::TextureOptions { magnification: egui::TextureFilter::Nearest, ..egui::TextureOptions::LINEAR }
}

fn colour_image(image: &RgbImage) -> egui::ColorImage {
    egui::ColorImage::from_rgb([image.width() as usize, image.height() as usize], image.as_raw())
}

impl PersonEditor {
    /// Starts the editor of the personalized project in `folder` on `device` at `start` (the edit saved with
    /// the project; else the first photo, unedited); models load on the worker. `photo_names` name the
    /// training photos in anchor order (for the base picker's hover texts).
    pub fn open(folder: PathBuf, device: burn::tensor::Device, ctx: egui::Context, start: Option<EditPoint>, photo_names: Vec<String>) -> Self {
        let (tx, setup) = mpsc::channel();
        let (loader_folder, loader_device) = (folder.clone(), device.clone());
        let job = EditJob::spawn(
            move || {
                let editor = Editor::open(&loader_folder, &loader_device.autodiff())?;
                let faces = PersonalPrior::training_faces(&loader_folder).unwrap_or_default();
                let _ = tx.send(Setup { controls: editor.controls().clone(), faces });
                Ok(editor)
            },
            move || ctx.request_repaint(),
        );
        let point = start.unwrap_or_default();
        Self {
            job,
            setup: Some(setup),
            ready: false,
            controls: None,
            faces: Vec::new(),
            history: History::new(point.clone()),
            point,
            next_id: 0,
            sent: None,
            before_request: None,
            image: None,
            texture: None,
            measured: Vec::new(),
            latent: None,
            before: None,
            show_before: false,
            wipe: None,
            frames: 0,
            between: (1, 2, 0.5),
            sample_seed: 1,
            sweep: None,
            finished_sweep: None,
            folder,
            device,
            new_photo: None,
            projected: None,
            typed_photo: String::new(),
            first_slider_rect: None,
            rendering: None,
            rendered: None,
            photo_names,
        }
    }

    /// Number of photos (anchors) the prior was tuned on, once known.
    pub fn photo_count(&self) -> usize {
        self.faces.len()
    }

    /// True while a request is being worked on.
    pub fn busy(&self) -> bool {
        self.sent.is_some() || self.sweep.is_some()
    }

    /// Asks the worker for the face on screen at the model's full resolution (slider frames of large models
    /// are drawn at a preview size); false when there is no face yet. See [`PersonEditor::take_rendered`].
    pub fn render_full(&mut self) -> bool {
        let Some(latent) = self.latent.clone() else { return false };
        self.next_id += 1;
        self.job.render(self.next_id, latent, usize::MAX);
        self.rendering = Some(self.next_id);
        self.rendered = None;
        true
    }

    /// True while the face asked for by [`PersonEditor::render_full`] is being drawn.
    pub fn rendering(&self) -> bool {
        self.rendering.is_some()
    }

    /// The full-resolution face asked for by [`PersonEditor::render_full`], once drawn.
    pub fn take_rendered(&mut self) -> Option<RgbImage> {
        self.rendered.take()
    }

    fn request(&mut self, base: Base, targets: Targets) -> u64 {
        self.next_id += 1;
        self.job.request(EditRequest { id: self.next_id, base, targets });
        self.sent = Some(self.next_id);
        self.next_id
    }

    /// Asks for the current point: first the base alone (the "before" face) when it is new, then the edit.
    pub fn refresh(&mut self) {
        if !self.ready {
            return;
        }
        self.sweep = None;
        let known = self.before.as_ref().is_some_and(|(b, _)| *b == self.point.base);
        if known {
            self.before_request = None;
            self.request(self.point.base.clone(), self.point.targets.clone());
        } else {
            let id = self.request(self.point.base.clone(), Targets::default());
            self.before_request = Some(id);
        }
    }

    /// Sets (or clears) one requested value and asks for the new face; the history records it on commit.
    pub fn set_target(&mut self, attribute: Attribute, value: Option<f32>) {
        self.point.targets.set(attribute, value);
        self.refresh();
    }

    /// Starts from another base (recorded in the history).
    pub fn set_base(&mut self, base: Base) {
        self.preview_base(base);
        self.commit();
    }

    /// Starts from another base without recording it yet (a mix being dragged; [`Self::commit`] records it).
    pub fn preview_base(&mut self, base: Base) {
        self.point.base = base;
        self.refresh();
    }

    /// Records the current point in the history (a slider was released).
    pub fn commit(&mut self) {
        self.history.record(self.point.clone());
    }

    /// Clears every requested value.
    pub fn reset(&mut self) {
        self.point.targets = Targets::default();
        self.commit();
        self.refresh();
    }

    /// Steps back in the history.
    pub fn undo(&mut self) {
        if let Some(point) = self.history.undo() {
            self.point = point.clone();
            self.refresh();
        }
    }

    /// Steps forward in the history.
    pub fn redo(&mut self) {
        if let Some(point) = self.history.redo() {
            self.point = point.clone();
            self.refresh();
        }
    }

    /// A new random sample of the person's space as the base.
    pub fn random_base(&mut self) {
        self.sample_seed = self.sample_seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407) >> 11;
        self.set_base(Base::Sample(self.sample_seed));
    }

    /// Renders the current edit at [`SWEEP_STEPS`] values of `attribute` across its slider's range, one
    /// after the other; false when the attribute has no slider. Any other edit stops the sweep.
    pub fn start_sweep(&mut self, attribute: Attribute) -> bool {
        let Some(slider) = self.controls.as_ref().and_then(|c| c.slider(attribute)) else { return false };
        let (lo, hi) = slider.calibration.range;
        let values = (0..SWEEP_STEPS).map(|i| lo + (hi - lo) * i as f32 / (SWEEP_STEPS - 1) as f32).collect();
        self.before_request = None;
        self.sweep = Some(Sweep { attribute, values, faces: Vec::new() });
        self.sweep_next();
        true
    }

    /// Progress of a running sweep: faces done and in all.
    pub fn sweep_progress(&self) -> Option<(usize, usize)> {
        self.sweep.as_ref().map(|s| (s.faces.len(), s.values.len()))
    }

    /// A finished sweep's attribute and (value, face) pairs, once.
    pub fn take_sweep(&mut self) -> Option<(Attribute, Vec<(f32, RgbImage)>)> {
        self.finished_sweep.take()
    }

    fn sweep_next(&mut self) {
        let Some(sweep) = &self.sweep else { return };
        match sweep.values.get(sweep.faces.len()).copied() {
            Some(value) => {
                let targets = self.point.targets.clone().with(sweep.attribute, value);
                let base = self.point.base.clone();
                self.request(base, targets);
            }
            None => {
                let done = self.sweep.take().map(|s| (s.attribute, s.faces));
                self.refresh();
                self.finished_sweep = done;
            }
        }
    }

    /// Makes a new photo of the person the base: finds and aligns its face, then projects it into the
    /// person's space (both on threads); the base changes when the projection is done.
    pub fn open_photo(&mut self, path: PathBuf, ctx: &egui::Context) {
        let device = self.device.clone();
        let load = move || -> Result<crate::photoset::SetModels, crate::nets::NetError> {
            Ok(crate::photoset::SetModels {
                detector: crate::face::detect::FaceDetector::load(&device)?,
                attributes: crate::attributes::AttributeModels::load(&device)?,
            })
        };
        let wake = ctx.clone();
        self.new_photo = Some(NewPhoto::Importing(path.clone(), ImportJob::spawn(vec![path], load, move || wake.request_repaint())));
    }

    /// True while a new base photo is being imported or projected.
    pub fn opening_photo(&self) -> bool {
        self.new_photo.is_some()
    }

    fn poll_new_photo(&mut self, ctx: &egui::Context, log: &mut Vec<String>) {
        match self.new_photo.take() {
            Some(NewPhoto::Importing(path, job)) => {
                let mut ended = None;
                for event in job.poll() {
                    match event {
                        ImportEvent::Finished(entries) | ImportEvent::Cancelled(entries) => ended = Some(Ok(entries)),
                        ImportEvent::Failed(message) => ended = Some(Err(message)),
                        _ => {}
                    }
                }
                let name = path.display().to_string();
                match ended {
                    None => self.new_photo = Some(NewPhoto::Importing(path, job)),
                    Some(Err(message)) => log.push(format!("{name}: {message}")),
                    Some(Ok(entries)) => match entries.first().and_then(|e| e.face().map(|f| (f.aligned_generator.clone(), f.to_photo))) {
                        None => {
                            let why = entries.first().map(|e| e.reason.clone()).unwrap_or_default();
                            log.push(format!("{name}: no usable face to start from ({why})"));
                        }
                        Some((face, to_photo)) => {
                            let (tx, rx) = mpsc::channel();
                            let (folder, device, wake) = (self.folder.clone(), self.device.clone(), ctx.clone());
                            std::thread::Builder::new()
                                .name("project-photo".into())
                                .spawn(move || {
                                    let projected = Editor::open(&folder, &device.autodiff())
                                        .and_then(|mut editor| editor.project_photo(&face, &crate::prior::projection::ProjectionSettings::default(), 0))
                                        .map_err(|e| format!("{e:#}"));
                                    let _ = tx.send(projected);
                                    wake.request_repaint();
                                })
                                .expect("spawning a thread only fails when the OS is out of resources");
                            self.new_photo = Some(NewPhoto::Projecting(path, to_photo, rx));
                        }
                    },
                }
            }
            Some(NewPhoto::Projecting(path, to_photo, rx)) => match rx.try_recv() {
                Ok(Ok(latent)) => {
                    log.push(format!("base: {} (projected into the person's space)", path.display()));
                    self.projected = Some((latent.clone(), path, to_photo));
                    self.set_base(Base::Latent(latent));
                }
                Ok(Err(message)) => log.push(format!("{}: could not be projected: {message}", path.display())),
                Err(mpsc::TryRecvError::Empty) => self.new_photo = Some(NewPhoto::Projecting(path, to_photo, rx)),
                Err(mpsc::TryRecvError::Disconnected) => log.push(format!("{}: the projection stopped", path.display())),
            },
            None => {}
        }
    }

    /// The photo file and alignment behind the base when it is a projected new photo.
    pub fn projected_photo(&self) -> Option<(PathBuf, Affine)> {
        let (latent, path, to_photo) = self.projected.as_ref()?;
        (self.point.base == Base::Latent(latent.clone())).then(|| (path.clone(), *to_photo))
    }

    /// Takes the worker's events; returns log messages.
    pub fn poll(&mut self, ctx: &egui::Context) -> Vec<String> {
        let mut log = Vec::new();
        self.poll_new_photo(ctx, &mut log);
        if let Some(setup) = self.setup.as_ref().and_then(|rx| rx.try_recv().ok()) {
            self.faces = setup.faces.iter().enumerate().map(|(i, f)| ctx.load_texture(format!("base-{i}"), colour_image(f), egui::TextureOptions::LINEAR)).collect();
            for (attribute, why) in &setup.controls.skipped {
                log.push(format!("no {} slider: {why}", attribute.name()));
            }
            let names: Vec<&str> = setup.controls.sliders.iter().map(|s| s.attribute.name()).collect();
            log.push(format!("editor ready: {} photo(s), sliders for {}", self.faces.len(), if names.is_empty() { "nothing".into() } else { names.join(", ") }));
            self.controls = Some(setup.controls);
            self.setup = None;
        }
        for event in self.job.poll() {
            match event {
                EditEvent::Ready => {
                    self.ready = true;
                    self.refresh();
                }
                EditEvent::LoadFailed(message) => log.push(format!("the editor could not be loaded: {message}")),
                EditEvent::Frame { id, frame } => {
                    if Some(id) != self.sent {
                        continue;
                    }
                    self.frames += 1;
                    let colour = colour_image(&frame.image);
                    match &mut self.texture {
                        Some(t) => t.set(colour.clone(), crisp()),
                        None => self.texture = Some(ctx.load_texture("edit-face", colour.clone(), crisp())),
                    }
                    if Some(id) == self.before_request && frame.step == 0 {
                        self.before = Some((self.point.base.clone(), ctx.load_texture("before-face", colour, crisp())));
                    }
                    if !frame.measured.is_empty() {
                        self.measured = frame.measured;
                    }
                    self.latent = Some(frame.latent);
                    self.image = Some(frame.image);
                }
                EditEvent::Done { id, latent } => {
                    if Some(id) != self.sent {
                        continue;
                    }
                    self.latent = Some(latent);
                    self.sent = None;
                    if let Some(sweep) = &mut self.sweep {
                        let value = sweep.values[sweep.faces.len()];
                        sweep.faces.push((value, self.image.clone().unwrap_or_default()));
                        self.sweep_next();
                        continue;
                    }
                    if self.before_request.take() == Some(id) && !self.point.targets.requested().is_empty() {
                        self.request(self.point.base.clone(), self.point.targets.clone());
                    }
                }
                EditEvent::Rendered { id, image } => {
                    if Some(id) == self.rendering {
                        self.rendering = None;
                        self.rendered = Some(image);
                    }
                }
                EditEvent::Failed { id, message } => {
                    if Some(id) == self.sent {
                        self.sent = None;
                    }
                    if Some(id) == self.rendering {
                        self.rendering = None;
                    }
                    log.push(format!("edit failed: {message}"));
                }
            }
        }
        log
    }

    /// The value a slider shows for `attribute`: the requested one, else the one the fit reads at the
    /// face on screen.
    fn slider_value(&self, controls: &Controls, attribute: Attribute) -> Option<(f32, (f32, f32))> {
        let slider = controls.slider(attribute)?;
        let range = slider.calibration.range;
        let read = self.latent.as_ref().map(|l| slider.calibration.value_at(controls.coordinate(slider, l)));
        let value = self.point.targets.get(attribute).or(read).unwrap_or((range.0 + range.1) / 2.0);
        Some((value.clamp(range.0.min(range.1), range.0.max(range.1)), range))
    }

    /// Draws the face, the base picker, the sliders and the edit buttons.
    pub fn ui(&mut self, ui: &mut egui::Ui, intents: &mut Vec<Intent>) -> Option<egui::Rect> {
        if !self.ready {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("loading the personalized editor…");
            });
            return None;
        }
        ui.horizontal_wrapped(|ui| {
            if ui.add_enabled(self.history.can_undo(), egui::Button::new("Undo")).on_hover_text("Ctrl+Z").clicked() {
                intents.push(Intent::Undo);
            }
            if ui.add_enabled(self.history.can_redo(), egui::Button::new("Redo")).on_hover_text("Ctrl+Shift+Z").clicked() {
                intents.push(Intent::Redo);
            }
            if ui.button("Reset").on_hover_text("Clear every slider").clicked() {
                intents.push(Intent::ResetEdit);
            }
            ui.toggle_value(&mut self.show_before, "Before").on_hover_text("Show the base face without the edit (or drag across the face to compare: the base left of the pointer, the edit right of it)");
            if self.busy() {
                ui.spinner();
            }
        });
        let face_rect = self.face_view(ui);
        ui.separator();
        self.sliders(ui, intents);
        ui.separator();
        self.base_picker(ui, intents);
        face_rect
    }

    fn face_view(&mut self, ui: &mut egui::Ui) -> Option<egui::Rect> {
        let texture = if self.show_before { self.before.as_ref().map(|(_, t)| t) } else { self.texture.as_ref() };
        let room = ui.available_width().min(ui.available_height() - 260.0).clamp(96.0, MAX_FACE_SIZE);
        let Some(texture) = texture else {
            ui.allocate_ui(egui::vec2(room, room), |ui| ui.centered_and_justified(|ui| ui.spinner()));
            return None;
        };
        let native = texture.size()[0] as f32;
        let side = if native <= room { (room / native).floor() * native } else { room };
        let image = egui::Image::new(texture).fit_to_exact_size(egui::vec2(side, side)).alt_text("Face").sense(egui::Sense::drag());
        let response = ui.vertical_centered(|ui| ui.add(image)).inner;
        let rect = response.rect;
        // Dragging across the face wipes between the base (left of the pointer) and the edit.
        self.wipe = None;
        if !self.show_before && response.dragged() {
            if let (Some(pointer), Some((_, before))) = (response.interact_pointer_pos(), &self.before) {
                let share = ((pointer.x - rect.left()) / rect.width()).clamp(0.0, 1.0);
                let split = rect.left() + share * rect.width();
                let left = egui::Rect::from_min_max(rect.min, egui::pos2(split, rect.bottom()));
                let uv = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(share, 1.0));
                ui.painter().image(before.id(), left, uv, egui::Color32::WHITE);
                ui.painter().vline(split, rect.y_range(), egui::Stroke::new(2.0, egui::Color32::WHITE));
                self.wipe = Some(share);
            }
        }
        Some(rect)
    }

    fn sliders(&mut self, ui: &mut egui::Ui, intents: &mut Vec<Intent>) {
        let Some(controls) = self.controls.clone() else { return };
        egui::Grid::new("sliders").num_columns(3).spacing([8.0, 6.0]).show(ui, |ui| {
            for attribute in [Attribute::Age, Attribute::Smile, Attribute::Yaw, Attribute::Pitch, Attribute::Hair] {
                let name = match attribute {
                    Attribute::Smile => "Expression (smile)".to_string(),
                    other => {
                        let n = other.name();
                        n[..1].to_uppercase() + &n[1..]
                    }
                };
                ui.label(&name);
                match self.slider_value(&controls, attribute) {
                    Some((mut value, (lo, hi))) => {
                        let response = ui.add(egui::Slider::new(&mut value, lo.min(hi)..=lo.max(hi)).show_value(false).text(""));
                        response.widget_info(|| egui::WidgetInfo::slider(true, value as f64, &name));
                        if controls.sliders.first().is_some_and(|s| s.attribute == attribute) {
                            self.first_slider_rect = Some(response.rect);
                        }
                        if response.changed() {
                            intents.push(Intent::SetTarget(attribute, Some(value)));
                        }
                        if response.drag_stopped() || (response.changed() && !response.dragged()) {
                            intents.push(Intent::CommitEdit);
                        }
                        let requested = self.point.targets.get(attribute);
                        let measured = self.measured.iter().find(|(a, _)| *a == attribute).map(|(_, v)| *v);
                        let text = match (requested, measured) {
                            (Some(r), Some(m)) => format!("{}, measured {}", attribute.format(r), attribute.format(m)),
                            (Some(r), None) => attribute.format(r),
                            (None, _) => format!("{} (as the base)", attribute.format(value)),
                        };
                        ui.label(RichText::new(text).monospace());
                    }
                    None => {
                        let why = controls.skipped.iter().find(|(a, _)| *a == attribute).map(|(_, w)| w.as_str()).unwrap_or("not learned from these photos");
                        ui.weak("no slider").on_hover_text(why);
                        ui.label("");
                    }
                }
                ui.end_row();
            }
        });
    }

    fn base_picker(&mut self, ui: &mut egui::Ui, intents: &mut Vec<Intent>) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Base:");
            if ui.selectable_label(self.point.base == Base::Mean, "Mean").clicked() {
                intents.push(Intent::SetBase(Base::Mean));
            }
            if ui.selectable_label(matches!(self.point.base, Base::Sample(_)), "Random").on_hover_text("A new random face of the person").clicked() {
                intents.push(Intent::RandomBase);
            }
            let new_photo = ui.add_enabled(self.new_photo.is_none(), egui::Button::new("New photo…").selected(matches!(self.point.base, Base::Latent(_))));
            if new_photo.on_hover_text("Start from another photo of the person (not one of the set)").clicked() {
                intents.push(Intent::ChooseFiles(super::dialog::Purpose::BasePhoto));
            }
            if self.new_photo.is_some() {
                ui.spinner();
                ui.weak("projecting the photo…");
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("Photo path");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let open = ui.add_enabled(self.new_photo.is_none(), egui::Button::new("Open"));
                let field = egui::TextEdit::singleline(&mut self.typed_photo).hint_text("or type the path of a new photo").desired_width(ui.available_width());
                ui.add(field).labelled_by(label.id);
                if open.clicked() && !self.typed_photo.trim().is_empty() {
                    intents.push(Intent::OpenBasePhoto(PathBuf::from(self.typed_photo.trim())));
                }
            });
        });
        egui::ScrollArea::horizontal().id_salt("bases").show(ui, |ui| {
            ui.horizontal(|ui| {
                for (i, face) in self.faces.iter().enumerate() {
                    let selected = self.point.base == Base::Anchor(i);
                    let button = egui::Button::image(egui::Image::new(face).fit_to_exact_size(egui::vec2(BASE_THUMB, BASE_THUMB))).selected(selected);
                    let name = self.photo_names.get(i).map(|n| format!(": {n}")).unwrap_or_default();
                    if ui.add(button).on_hover_text(format!("Photo {}{name}", i + 1)).clicked() {
                        intents.push(Intent::SetBase(Base::Anchor(i)));
                    }
                }
            });
        });
        let n = self.faces.len();
        if n >= 2 {
            ui.horizontal(|ui| {
                let (mut a, mut b, mut t) = self.between;
                ui.label("Between photo");
                let first = ui.add(egui::DragValue::new(&mut a).range(1..=n).speed(0.05));
                ui.label("and");
                let second = ui.add(egui::DragValue::new(&mut b).range(1..=n).speed(0.05));
                let slider = ui.add(egui::Slider::new(&mut t, 0.0..=1.0).show_value(false));
                slider.widget_info(|| egui::WidgetInfo::slider(true, t as f64, "Interpolation"));
                self.between = (a, b, t);
                if first.changed() || second.changed() || slider.changed() {
                    // While the mix is dragged the face follows; the history records where the drag ends.
                    intents.push(Intent::PreviewBase(Base::Between(a.clamp(1, n) - 1, b.clamp(1, n) - 1, t)));
                }
                let settled = |r: &egui::Response| (r.changed() && !r.dragged()) || r.drag_stopped();
                if settled(&first) || settled(&second) || settled(&slider) {
                    intents.push(Intent::CommitEdit);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(age: f32) -> EditPoint {
        EditPoint { base: Base::Mean, targets: Targets::default().with(Attribute::Age, age) }
    }

    #[test]
    fn undo_and_redo_walk_the_history_and_a_new_edit_drops_the_redo_branch() {
        let mut h = History::new(point(20.0));
        h.record(point(30.0));
        h.record(point(30.0));
        h.record(point(40.0));
        assert_eq!(h.undo(), Some(&point(30.0)));
        assert_eq!(h.undo(), Some(&point(20.0)));
        assert_eq!(h.undo(), None);
        assert_eq!(h.redo(), Some(&point(30.0)));
        h.record(point(50.0));
        assert!(!h.can_redo());
        assert_eq!(h.undo(), Some(&point(30.0)));
        assert_eq!(h.redo(), Some(&point(50.0)));
    }
}
