//! The Personalize area: the preset, Start / Resume / Cancel, the stage with a progress bar and the time
//! left, a live loss plot, and preview reconstructions next to the photos they reconstruct. The job runs
//! on [`PersonalizeJob`]'s thread and keeps running while the user works in the other areas.

use eframe::egui::{self, RichText};
use egui_plot::{Legend, Line, Plot};
use image::RgbImage;

use super::Intent;
use super::session::Session;
use crate::prior::job::{PersonalizeEvent, PersonalizeJob};
use crate::project::Preset;

/// Side of a preview in the area, in points.
const PREVIEW: f32 = 56.0;

/// How the last job ended.
#[derive(Clone, Debug, PartialEq)]
pub enum JobEnd {
    /// The prior is ready in the project folder.
    Finished {
        /// Tuning steps taken.
        steps: usize,
        /// Final smoothed loss.
        loss: f32,
    },
    /// Stopped on request (a checkpoint holds the progress).
    Cancelled {
        /// Tuning steps done.
        step: usize,
    },
    /// The job could not go on.
    Failed(String),
}

/// Runtime state of the Personalize area.
#[derive(Default)]
pub struct PersonalizeArea {
    job: Option<PersonalizeJob>,
    /// The stage in progress ("measuring", "anchors", "tuning").
    pub stage: Option<&'static str>,
    /// Units done, in all, and the seconds left.
    pub progress: Option<(usize, usize, f64)>,
    /// (step, reconstruction loss) of every tuning step seen.
    pub losses: Vec<[f64; 2]>,
    /// (step, organization loss) once an attribute is organized.
    pub organization_losses: Vec<[f64; 2]>,
    previews: Vec<egui::TextureHandle>,
    photos: Vec<egui::TextureHandle>,
    /// Which attributes get an organized axis (one line), once known.
    pub organization: Option<String>,
    /// How the last job ended.
    pub end: Option<JobEnd>,
    cancelling: bool,
    /// Where the Start button was drawn in the last frame.
    pub start_rect: Option<egui::Rect>,
}

/// Seconds as "1 h 02 min", "3 min 20 s" or "12 s".
pub fn format_eta(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

fn texture(ctx: &egui::Context, name: String, image: &RgbImage) -> egui::TextureHandle {
    let colour = egui::ColorImage::from_rgb([image.width() as usize, image.height() as usize], image.as_raw());
    ctx.load_texture(name, colour, egui::TextureOptions::NEAREST)
}

impl PersonalizeArea {
    /// True while a job runs.
    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    /// Starts `job` on `photos` (the aligned faces it learns from, shown beside the previews).
    pub fn start(&mut self, job: PersonalizeJob, photos: &[RgbImage], ctx: &egui::Context) {
        *self = Self { job: Some(job), ..Default::default() };
        self.photos = photos.iter().enumerate().map(|(i, p)| texture(ctx, format!("tuned-photo-{i}"), p)).collect();
    }

    /// Asks the job to stop after the step in progress (it writes a checkpoint).
    pub fn cancel(&mut self) {
        if let Some(job) = &self.job {
            job.cancel();
            self.cancelling = true;
        }
    }

    /// Takes the job's events. Returns log messages, and how the job ended when it ended in this call.
    pub fn poll(&mut self, ctx: &egui::Context) -> (Vec<String>, Option<JobEnd>) {
        let Some(job) = &self.job else { return (Vec::new(), None) };
        let (mut log, mut ended) = (Vec::new(), None);
        for event in job.poll() {
            match event {
                PersonalizeEvent::Stage(stage) => {
                    self.stage = Some(stage);
                    self.progress = None;
                }
                PersonalizeEvent::Organization { organized, skipped } => {
                    let names: Vec<&str> = organized.iter().map(|o| o.0.name()).collect();
                    let mut line = format!("organized: {}", if names.is_empty() { "none".into() } else { names.join(", ") });
                    for (attribute, why) in &skipped {
                        log.push(format!("{} gets no organized axis: {why}", attribute.name()));
                    }
                    if !skipped.is_empty() {
                        line.push_str(&format!(" ({} left out, see the log)", skipped.len()));
                    }
                    self.organization = Some(line);
                }
                PersonalizeEvent::Progress { done, total, eta_seconds } => self.progress = Some((done, total, eta_seconds)),
                PersonalizeEvent::Loss { step, value, organization } => {
                    if value.is_finite() {
                        self.losses.push([step as f64, value as f64]);
                    }
                    if let Some(o) = organization.filter(|o| o.is_finite()) {
                        self.organization_losses.push([step as f64, o as f64]);
                    }
                }
                PersonalizeEvent::Preview(images) => {
                    for (i, image) in images.iter().enumerate() {
                        let colour = egui::ColorImage::from_rgb([image.width() as usize, image.height() as usize], image.as_raw());
                        match self.previews.get_mut(i) {
                            Some(t) => t.set(colour, egui::TextureOptions::NEAREST),
                            None => self.previews.push(texture(ctx, format!("preview-{i}"), image)),
                        }
                    }
                }
                PersonalizeEvent::Checkpoint(path) => log::info!("checkpoint written: {}", path.display()),
                PersonalizeEvent::RolledBack { step, learning_rate, reason } => {
                    log.push(format!("step {step}: {reason}; rolled back to the last good state, learning rate now {learning_rate:.1e}"))
                }
                PersonalizeEvent::Warning(message) => log.push(message),
                PersonalizeEvent::Finished { steps, loss } => ended = Some(JobEnd::Finished { steps, loss }),
                PersonalizeEvent::Cancelled { step } => ended = Some(JobEnd::Cancelled { step }),
                PersonalizeEvent::Failed(message) => ended = Some(JobEnd::Failed(message)),
            }
        }
        if let Some(end) = &ended {
            log.push(match end {
                JobEnd::Finished { steps, loss } => format!("personalized: {steps} tuning steps, final loss {loss:.4}"),
                JobEnd::Cancelled { step } => format!("personalizing cancelled at step {step}; Resume continues from the checkpoint"),
                JobEnd::Failed(message) => format!("personalizing failed: {message}"),
            });
            self.job = None;
            self.cancelling = false;
            self.end = ended.clone();
        }
        (log, ended)
    }

    /// Draws the area.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: &Session, ready_photos: usize, intents: &mut Vec<Intent>) {
        ui.heading("Personalize");
        ui.separator();
        let mut preset = session.project.settings.preset;
        ui.horizontal(|ui| {
            ui.label("Preset");
            ui.add_enabled_ui(!self.running(), |ui| {
                egui::ComboBox::from_id_salt("preset").selected_text(format!("{preset:?}")).show_ui(ui, |ui| {
                    for p in [Preset::Fast, Preset::Balanced, Preset::Best] {
                        ui.selectable_value(&mut preset, p, format!("{p:?}"));
                    }
                });
            });
        });
        if preset != session.project.settings.preset {
            intents.push(Intent::SetPreset(preset));
        }
        ui.horizontal(|ui| {
            if self.running() {
                let label = if self.cancelling { "Cancelling…" } else { "Cancel" };
                if ui.add_enabled(!self.cancelling, egui::Button::new(label)).on_hover_text("Stop after the current step; a checkpoint is saved").clicked() {
                    intents.push(Intent::CancelPersonalize);
                }
                ui.spinner();
            } else {
                let start = ui.add_enabled(ready_photos > 0, egui::Button::new("Start")).on_hover_text(format!("Personalize on the {ready_photos} photo(s) in use"));
                self.start_rect = Some(start.rect);
                if start.clicked() {
                    intents.push(Intent::StartPersonalize { resume: false });
                }
                if ui.add_enabled(session.has_checkpoint() && ready_photos > 0, egui::Button::new("Resume")).on_hover_text("Continue from the last checkpoint").clicked() {
                    intents.push(Intent::StartPersonalize { resume: true });
                }
            }
        });
        if session.is_personalized() && !self.running() && self.end.is_none() {
            ui.weak("This project is personalized: the Edit area uses its prior. Start again to redo it.");
        }
        if ready_photos == 0 && !self.running() {
            ui.weak("Add photos with a face (status ok, or ticked) to personalize.");
        }
        if let Some(stage) = self.stage.filter(|_| self.running()) {
            let (fraction, text) = match self.progress {
                Some((done, total, eta)) => (done as f32 / total.max(1) as f32, format!("{stage}: {done}/{total}, {} left", format_eta(eta))),
                None => (0.0, format!("{stage}…")),
            };
            ui.add(egui::ProgressBar::new(fraction).text(text));
        }
        match &self.end {
            Some(JobEnd::Finished { steps, loss }) if !self.running() => {
                ui.label(RichText::new(format!("Done: {steps} steps, loss {loss:.4}")).color(egui::Color32::from_rgb(90, 170, 100)));
            }
            Some(JobEnd::Cancelled { step }) if !self.running() => {
                ui.label(format!("Cancelled at step {step}."));
            }
            Some(JobEnd::Failed(message)) if !self.running() => {
                ui.label(RichText::new(format!("Failed: {message}")).color(egui::Color32::from_rgb(220, 90, 80)));
            }
            _ => {}
        }
        if let Some(line) = &self.organization {
            ui.weak(line);
        }
        if !self.losses.is_empty() {
            // Headroom above the curves for the legend, so that it never hides them.
            let top = self.losses.iter().chain(&self.organization_losses).map(|p| p[1]).fold(0.0, f64::max);
            Plot::new("loss")
                .height(140.0)
                .legend(Legend::default())
                .include_y(0.0)
                .include_y(top * 1.45)
                .allow_scroll(false)
                .allow_zoom(false)
                .allow_drag(false)
                .x_axis_label("step")
                .show(ui, |plot| {
                    plot.line(Line::new("reconstruction", self.losses.clone()));
                    if !self.organization_losses.is_empty() {
                        plot.line(Line::new("organization", self.organization_losses.clone()));
                    }
                });
        }
        if !self.previews.is_empty() {
            ui.label("Photo and its reconstruction");
            egui::ScrollArea::vertical().id_salt("previews").show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    for (i, preview) in self.previews.iter().enumerate() {
                        let size = egui::vec2(2.0 * PREVIEW + 16.0, PREVIEW + 12.0);
                        ui.allocate_ui_with_layout(size, egui::Layout::left_to_right(egui::Align::Center), |ui| {
                            if let Some(photo) = self.photos.get(i) {
                                ui.add(egui::Image::new(photo).fit_to_exact_size(egui::vec2(PREVIEW, PREVIEW)));
                            }
                            ui.add(egui::Image::new(preview).fit_to_exact_size(egui::vec2(PREVIEW, PREVIEW)));
                        });
                    }
                });
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_left_read_naturally() {
        assert_eq!(format_eta(12.4), "12 s");
        assert_eq!(format_eta(200.0), "3 min 20 s");
        assert_eq!(format_eta(3720.0), "1 h 02 min");
        assert_eq!(format_eta(-3.0), "0 s");
    }
}
