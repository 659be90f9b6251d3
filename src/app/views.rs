//! The window's areas: Photos (left), Personalize (right), Edit (centre) and the status bar.
//! Each draws from state it is given and reports what the user asked for as [`Intent`]s.

use eframe::egui::{self, Color32, RichText};

use super::{FaceView, Intent, Status, UiState};
use crate::generator::ModelSource;
use crate::generator::weights::DEFAULT_MODEL_NAME;
use crate::preview::ESTIMATE_PHOTOS;

/// Largest size the face is drawn at, in points.
const MAX_FACE_SIZE: f32 = 512.0;

/// The top bar with the Model menu: the embedded DCGAN, or a StyleGAN2 checkpoint (native dialog, or a
/// typed path), with the loaded model's resolution and a personalize time estimate.
pub fn menu_bar(ui: &mut egui::Ui, status: &mut Status, intents: &mut Vec<Intent>) {
    egui::Panel::top("menu").show(ui, |ui| {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("Model", |ui| {
                if ui.button(format!("Default: {DEFAULT_MODEL_NAME}")).clicked() {
                    intents.push(Intent::LoadModel(ModelSource::DefaultDcgan));
                    ui.close();
                }
                if ui.button("Open StyleGAN2 checkpoint…").on_hover_text("rosinality .pt (g_ema) or safetensors").clicked() {
                    intents.push(Intent::ChooseCheckpoint);
                    ui.close();
                }
                ui.separator();
                ui.label("Or type a checkpoint path:");
                ui.horizontal(|ui| {
                    let field = ui.add(egui::TextEdit::singleline(&mut status.typed_path).hint_text("/path/to/stylegan2.pt").desired_width(260.0));
                    let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    if (ui.button("Load").clicked() || entered) && !status.typed_path.trim().is_empty() {
                        intents.push(Intent::LoadModel(ModelSource::checkpoint(std::path::Path::new(status.typed_path.trim()))));
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

/// The bottom bar: backend, model, render time and the newest message.
pub fn status_bar(ui: &mut egui::Ui, status: &Status, face: &FaceView) {
    egui::Panel::bottom("status").show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.label(format!("Backend: {}", status.backend));
            ui.separator();
            match &status.model {
                Some(model) => ui.label(format!("Model: {model}")),
                None => ui.label("Model: loading…"),
            };
            if face.shown_seed.is_some() {
                ui.separator();
                ui.label(format!("last frame {:.0} ms", face.millis));
            }
            if let Some(message) = status.messages.last() {
                ui.separator();
                ui.label(RichText::new(message).color(Color32::from_rgb(230, 180, 60)))
                    .on_hover_text(status.messages.join("\n"));
            }
        });
    });
}

/// The Photos area, where the person's photos will be listed.
pub fn photos_panel(ui: &mut egui::Ui) {
    egui::Panel::left("photos").default_size(250.0).resizable(true).show(ui, |ui| {
        ui.heading("Photos");
        ui.separator();
        ui.label("The photos of the person you personalize for will be listed here.");
        ui.weak("Photo import is not available in this version yet.");
    });
}

/// The Personalize area, where tuning will be started and watched.
pub fn personalize_panel(ui: &mut egui::Ui) {
    egui::Panel::right("personalize").default_size(260.0).resizable(true).show(ui, |ui| {
        ui.heading("Personalize");
        ui.separator();
        ui.label("Tuning the generator on the person's photos will run here, with progress and previews.");
        ui.weak("Personalization is not available in this version yet; the editor draws faces from the default generator.");
    });
}

/// The Edit area: the face, and the controls that change it.
pub fn edit_area(ui: &mut egui::Ui, face: &mut FaceView, state: &UiState, intents: &mut Vec<Intent>) {
    egui::CentralPanel::default().show(ui, |ui| {
        ui.heading("Edit");
        ui.separator();
        ui.horizontal(|ui| {
            if ui.button("Resample").on_hover_text("Draw another face from the generator").clicked() {
                intents.push(Intent::Resample);
            }
            let mut seed = state.seed;
            ui.label("Seed");
            if ui.add(egui::DragValue::new(&mut seed)).changed() {
                intents.push(Intent::ShowSeed(seed));
            }
            if face.busy {
                ui.spinner();
            }
        });
        ui.add_space(8.0);
        let side = ui.available_width().min(ui.available_height()).clamp(64.0, MAX_FACE_SIZE);
        ui.vertical_centered(|ui| match &face.texture {
            Some(texture) => {
                let response = ui.add(egui::Image::new(texture).fit_to_exact_size(egui::vec2(side, side)));
                if !face.logged {
                    face.logged = true;
                    let r = response.rect;
                    log::info!(
                        "face drawn at x={:.0} y={:.0} w={:.0} h={:.0} points, pixels_per_point={}",
                        r.min.x,
                        r.min.y,
                        r.width(),
                        r.height(),
                        ui.ctx().pixels_per_point()
                    );
                }
            }
            None => {
                ui.allocate_ui(egui::vec2(side, side), |ui| {
                    ui.centered_and_justified(|ui| ui.spinner());
                });
            }
        });
    });
}
