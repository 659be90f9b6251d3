//! The window's frame around the areas: the menu bar (Project and Model menus), the status bar with the
//! backend, the model and the newest message, the log, the overlay shown while files are dragged over the
//! window, and the question asked when the window is closed during tuning. Each draws from state it is
//! given and reports what the user asked for as [`Intent`]s.

use std::path::PathBuf;

use eframe::egui::{self, Color32, RichText};

use super::Intent;
use super::dialog::Purpose;
use super::session::Session;
use crate::generator::ModelSource;
use crate::generator::weights::DEFAULT_MODEL_NAME;
use crate::prior::estimate::Estimate;
use crate::preview::ESTIMATE_PHOTOS;

/// Messages kept in the log at most.
pub const MAX_MESSAGES: usize = 500;

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
    pub loading: Option<ModelSource>,
    /// How long personalizing would take with the model in use.
    pub estimate: Option<Estimate>,
    /// The checkpoint path typed into the Model menu (for when no file dialog is available).
    pub typed_checkpoint: String,
    /// The project path typed into the Project menu.
    pub typed_project: String,
    /// Messages for the user (fallbacks, errors, results), newest last; never blocking.
    pub messages: Vec<String>,
    /// Whether the log panel is open.
    pub show_log: bool,
}

impl Status {
    /// Adds a message to the log (and the application log).
    pub fn push(&mut self, message: impl Into<String>) {
        let message = message.into();
        log::info!("{message}");
        self.messages.push(message);
        if self.messages.len() > MAX_MESSAGES {
            self.messages.remove(0);
        }
    }
}

/// The top bar: the Project menu (New, Open, Save, recent projects, Quit) and the Model menu (the embedded
/// DCGAN, or a StyleGAN2 checkpoint by dialog or typed path), with the loaded model's resolution.
pub fn menu_bar(ui: &mut egui::Ui, status: &mut Status, recent: &[PathBuf], intents: &mut Vec<Intent>) {
    egui::Panel::top("menu").show(ui, |ui| {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("Project", |ui| {
                if ui.button("New").clicked() {
                    intents.push(Intent::NewProject);
                    ui.close();
                }
                if ui.button("Open…").clicked() {
                    intents.push(Intent::ChooseFiles(Purpose::Project));
                    ui.close();
                }
                ui.horizontal(|ui| {
                    ui.add(egui::TextEdit::singleline(&mut status.typed_project).hint_text("/path/to/name.mystyle").desired_width(220.0));
                    if ui.button("Open").clicked() && !status.typed_project.trim().is_empty() {
                        intents.push(Intent::OpenProject(PathBuf::from(status.typed_project.trim())));
                        ui.close();
                    }
                });
                if ui.add(egui::Button::new("Save").shortcut_text("Ctrl+S")).clicked() {
                    intents.push(Intent::SaveProject);
                    ui.close();
                }
                if !recent.is_empty() {
                    ui.separator();
                    ui.weak("Recent");
                    for path in recent {
                        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
                        if ui.button(name).on_hover_text(path.display().to_string()).clicked() {
                            intents.push(Intent::OpenProject(path.clone()));
                            ui.close();
                        }
                    }
                }
                ui.separator();
                if ui.add(egui::Button::new("Quit").shortcut_text("Ctrl+Q")).clicked() {
                    intents.push(Intent::Quit);
                    ui.close();
                }
            });
            ui.menu_button("Model", |ui| {
                if ui.button(format!("Default: {DEFAULT_MODEL_NAME}")).clicked() {
                    intents.push(Intent::LoadModel(ModelSource::DefaultDcgan));
                    ui.close();
                }
                if ui.button("Open StyleGAN2 checkpoint…").on_hover_text("rosinality .pt (g_ema) or safetensors").clicked() {
                    intents.push(Intent::ChooseFiles(Purpose::Checkpoint));
                    ui.close();
                }
                ui.separator();
                ui.horizontal(|ui| {
                    let label = ui.label("Checkpoint path");
                    let field = ui
                        .add(egui::TextEdit::singleline(&mut status.typed_checkpoint).hint_text("/path/to/stylegan2.pt").desired_width(260.0))
                        .labelled_by(label.id);
                    let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    if (ui.button("Load").clicked() || entered) && !status.typed_checkpoint.trim().is_empty() {
                        intents.push(Intent::LoadModel(ModelSource::checkpoint(std::path::Path::new(status.typed_checkpoint.trim()))));
                        ui.close();
                    }
                });
                ui.separator();
                model_summary(ui, status);
            });
            ui.separator();
            model_summary(ui, status);
        });
    });
}

/// The model in use, its resolution, and how long personalizing would take (or that it is loading).
fn model_summary(ui: &mut egui::Ui, status: &Status) {
    if let Some(loading) = &status.loading {
        ui.spinner();
        ui.label(format!("loading {loading}…"));
        return;
    }
    if let (Some(model), Some(resolution)) = (&status.model, status.resolution) {
        ui.label(format!("{model} ({resolution}x{resolution} px)"));
    }
    if let Some(estimate) = &status.estimate {
        ui.label(RichText::new(format!("personalizing {ESTIMATE_PHOTOS} photos (Fast): {}", estimate.describe())).weak())
            .on_hover_text("Timed on this machine: one training step on one face, times the work of the Fast preset");
    }
}

/// The bottom bar: backend, model, project, render time, the UI's frame time (p99), the newest message and
/// the log toggle.
pub fn status_bar(ui: &mut egui::Ui, status: &mut Status, session: &Session, last_frame_ms: Option<f64>, frames: &super::frames::FrameTimes) {
    egui::Panel::bottom("status").show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.label(format!("Backend: {}", status.backend));
            ui.separator();
            match (&status.model, status.resolution) {
                (Some(model), Some(r)) => ui.label(format!("Model: {model}, {r}x{r} px")),
                _ => ui.label("Model: loading…"),
            };
            ui.separator();
            let unsaved = if session.is_dirty() { " (unsaved)" } else { "" };
            ui.label(format!("Project: {}{unsaved}", session.project.name)).on_hover_text(session.folder.display().to_string());
            if let Some(ms) = last_frame_ms {
                ui.separator();
                ui.label(format!("last face {ms:.0} ms"));
            }
            if !frames.is_empty() {
                ui.separator();
                ui.weak(format!("UI {:.0} ms", frames.quantile(0.99).as_secs_f64() * 1000.0)).on_hover_text(format!("UI work per frame: {}", frames.describe()));
            }
            ui.separator();
            ui.toggle_value(&mut status.show_log, format!("Log ({})", status.messages.len()));
            if let Some(message) = status.messages.last() {
                ui.label(RichText::new(message).color(Color32::from_rgb(230, 180, 60))).on_hover_text("Open the log for every message");
            }
        });
    });
    if status.show_log {
        egui::Panel::bottom("log").resizable(true).default_size(140.0).show(ui, |ui| {
            egui::ScrollArea::vertical().stick_to_bottom(true).auto_shrink([false, false]).show(ui, |ui| {
                for message in &status.messages {
                    ui.label(message);
                }
            });
        });
    }
}

/// A translucent layer naming what will be imported while files are dragged over the window.
pub fn drop_overlay(ctx: &egui::Context) {
    let hovered: Vec<String> = ctx.input(|i| {
        i.raw.hovered_files.iter().map(|f| f.path.as_ref().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "a file".into())).collect()
    });
    if hovered.is_empty() {
        return;
    }
    let painter = ctx.layer_painter(egui::LayerId::new(egui::Order::Foreground, egui::Id::unique("drop-overlay")));
    let rect = ctx.content_rect();
    painter.rect_filled(rect, 0.0, Color32::from_black_alpha(170));
    let names = if hovered.len() > 3 { format!("{}, … ({} items)", hovered[..3].join(", "), hovered.len()) } else { hovered.join(", ") };
    painter.text(rect.center(), egui::Align2::CENTER_CENTER, format!("Drop to import photos\n{names}"), egui::FontId::proportional(22.0), Color32::WHITE);
}

/// The question asked when the window is closed while a personalize job runs.
pub fn close_question(ctx: &egui::Context, stopping: bool, intents: &mut Vec<Intent>) {
    egui::Modal::new(egui::Id::unique("close-during-tuning")).show(ctx, |ui| {
        ui.heading("Personalizing is running");
        if stopping {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("saving a checkpoint, then closing…");
            });
            return;
        }
        ui.label("Closing now stops it after the current step and saves a checkpoint; Resume continues from there.");
        ui.horizontal(|ui| {
            if ui.button("Stop and close").clicked() {
                intents.push(Intent::StopAndQuit);
            }
            if ui.button("Keep personalizing").clicked() {
                intents.push(Intent::KeepRunning);
            }
        });
    });
}
