//! The Photos area: drop files or folders, Add photos (native dialog) or type a path; the import runs on
//! [`ImportJob`]'s thread with a progress bar; a grid of face thumbnails with each photo's status badge,
//! its measured attributes, a hover text with the reason, and a checkbox to include or exclude it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;

use eframe::egui::{self, Color32, RichText};
use image::RgbImage;

use super::Intent;
use super::session::{Realigned, Session};
use crate::photoset::{ImportEvent, ImportJob, PhotoEntry, PhotoStatus};

/// Side of a thumbnail in the grid, in points.
const THUMB: f32 = 96.0;

/// Runtime state of the Photos area.
#[derive(Default)]
pub struct PhotosArea {
    import: Option<ImportJob>,
    /// Photos analysed so far by the running import, and how many in all.
    progress: Option<(usize, usize)>,
    /// The running import's photos as analysed one by one (statuses of the whole set come at the end).
    pending: Vec<PhotoEntry>,
    realign: Option<Receiver<Realigned>>,
    thumbs: HashMap<usize, egui::TextureHandle>,
    /// The path typed into the field under the grid (for when no file dialog is available).
    pub typed_path: String,
}

/// The colour of a status badge.
pub fn badge_colour(status: PhotoStatus) -> Color32 {
    match status {
        PhotoStatus::Ok => Color32::from_rgb(70, 160, 90),
        PhotoStatus::Duplicate | PhotoStatus::ExtremePose | PhotoStatus::Occluded => Color32::from_rgb(200, 150, 40),
        PhotoStatus::OtherPerson | PhotoStatus::TooSmall | PhotoStatus::NoFace => Color32::from_rgb(200, 100, 50),
        PhotoStatus::Unreadable => Color32::from_rgb(190, 60, 60),
    }
}

/// One line of the measured attributes of a photo's chosen face.
pub fn attribute_line(entry: &PhotoEntry) -> Option<String> {
    let a = &entry.face()?.attributes;
    Some(format!("age {:.0} · smile {:.0}% · yaw {:+.0}° · pitch {:+.0}° · hair {:.2}", a.age, a.smile * 100.0, a.yaw, a.pitch, a.hair_amount))
}

impl PhotosArea {
    /// True while an import runs.
    pub fn importing(&self) -> bool {
        self.import.is_some()
    }

    /// Photos analysed so far by the running import, and how many in all (0 until the files are found).
    pub fn progress(&self) -> Option<(usize, usize)> {
        self.progress
    }

    /// True while the faces of a reopened project are being re-aligned.
    pub fn realigning(&self) -> bool {
        self.realign.is_some()
    }

    /// Starts importing `paths` (files or folders) on the import thread.
    pub fn start_import(&mut self, paths: Vec<PathBuf>, device: burn::tensor::Device, ctx: egui::Context) {
        let load = move || -> Result<crate::photoset::SetModels, crate::nets::NetError> {
            Ok(crate::photoset::SetModels {
                detector: crate::face::detect::FaceDetector::load(&device)?,
                attributes: crate::attributes::AttributeModels::load(&device)?,
            })
        };
        self.pending.clear();
        self.progress = Some((0, 0));
        self.import = Some(ImportJob::spawn(paths, load, move || ctx.request_repaint()));
    }

    /// Asks the running import to stop after the photo in progress.
    pub fn cancel_import(&self) {
        if let Some(job) = &self.import {
            job.cancel();
        }
    }

    /// Forgets the thumbnails (another project was opened) and re-aligns the faces of `session`'s photos that
    /// have none in memory (a reopened project), on a thread.
    pub fn project_changed(&mut self, session: &Session, ctx: &egui::Context) {
        self.thumbs.clear();
        let missing: Vec<_> = session
            .project
            .photos
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.entry.face().filter(|f| f.aligned_generator.width() == 0).map(|f| (i, p.entry.path.clone(), f.detection.landmarks)))
            .collect();
        let ctx = ctx.clone();
        self.realign = (!missing.is_empty()).then(|| super::session::realign(missing, move || ctx.request_repaint()));
    }

    /// Takes the import's and the re-alignment's events; finished photos go into `session`. Messages for the
    /// log are returned.
    pub fn poll(&mut self, session: &mut Session) -> Vec<String> {
        let mut log = Vec::new();
        if let Some(rx) = &self.realign {
            loop {
                match rx.try_recv() {
                    Ok((i, Ok((aligned, generator)))) => {
                        if let Some(face) = session.project.photos.get_mut(i).and_then(|p| p.entry.chosen.and_then(|c| p.entry.faces.get_mut(c))) {
                            face.aligned = aligned;
                            face.aligned_generator = generator;
                        }
                    }
                    Ok((i, Err(message))) => log.push(format!("photo {} could not be read again: {message}", i + 1)),
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                        self.realign = None;
                        break;
                    }
                }
            }
        }
        let Some(job) = &self.import else { return log };
        let mut done = None;
        for event in job.poll() {
            match event {
                ImportEvent::Scanned { total, skipped } => {
                    self.progress = Some((0, total));
                    if total == 0 {
                        log.push("no photos found in what was dropped".into());
                    }
                    if !skipped.is_empty() {
                        let list: Vec<String> = skipped.iter().take(5).map(|(p, why)| format!("{}: {why}", p.display())).collect();
                        log.push(format!("{} item(s) skipped: {}{}", skipped.len(), list.join("; "), if skipped.len() > 5 { "; …" } else { "" }));
                    }
                }
                ImportEvent::Photo { done, total, entry } => {
                    self.progress = Some((done, total));
                    self.pending.push(*entry);
                }
                ImportEvent::Finished(entries) => done = Some((entries, false)),
                ImportEvent::Cancelled(entries) => done = Some((entries, true)),
                ImportEvent::Failed(message) => {
                    log.push(format!("import failed: {message}"));
                    done = Some((Vec::new(), true));
                }
            }
        }
        if let Some((entries, cancelled)) = done {
            self.import = None;
            self.progress = None;
            self.pending.clear();
            if !entries.is_empty() {
                let first_new = session.project.photos.len();
                if let Err(e) = session.project.add_photos(&session.folder, entries) {
                    log.push(format!("thumbnails could not be written: {e}"));
                }
                // Who the person is, and which photos repeat earlier ones, is decided over the whole set.
                match session.project.decide_set(&session.folder) {
                    Ok(changed) => {
                        for i in &changed {
                            self.thumbs.remove(i);
                        }
                        let earlier: Vec<String> = changed
                            .iter()
                            .filter(|&&i| i < first_new)
                            .map(|&i| format!("photo {} is now {}", i + 1, session.project.photos[i].entry.status.label()))
                            .collect();
                        if !earlier.is_empty() {
                            log.push(format!("with the new photos, the set was judged again: {}", earlier.join(", ")));
                        }
                    }
                    Err(e) => log.push(format!("thumbnails could not be written: {e}")),
                }
                let added = &session.project.photos[first_new..];
                let mut counts: Vec<(PhotoStatus, usize)> = Vec::new();
                for p in added {
                    match counts.iter_mut().find(|(s, _)| *s == p.entry.status) {
                        Some((_, n)) => *n += 1,
                        None => counts.push((p.entry.status, 1)),
                    }
                }
                let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {}", s.label())).collect();
                let verb = if cancelled { "import cancelled; kept" } else { "imported" };
                log.push(format!("{verb} {} photo(s): {}", added.len(), summary.join(", ")));
                session.touch();
            }
        }
        log
    }

    fn thumbnail(&mut self, ctx: &egui::Context, session: &Session, i: usize) -> Option<egui::TextureHandle> {
        if let Some(t) = self.thumbs.get(&i) {
            return Some(t.clone());
        }
        let photo = session.project.photos.get(i)?;
        let image: RgbImage = match photo.entry.face() {
            Some(face) if face.aligned.width() > 0 => {
                image::imageops::resize(&face.aligned, THUMB as u32, THUMB as u32, image::imageops::FilterType::Triangle)
            }
            _ => image::open(session.folder.join(photo.thumbnail.as_ref()?)).ok()?.to_rgb8(),
        };
        let colour = egui::ColorImage::from_rgb([image.width() as usize, image.height() as usize], image.as_raw());
        let texture = ctx.load_texture(format!("thumb-{i}"), colour, egui::TextureOptions::LINEAR);
        self.thumbs.insert(i, texture.clone());
        Some(texture)
    }

    /// Draws the area.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: &Session, intents: &mut Vec<Intent>) {
        ui.horizontal(|ui| {
            ui.heading("Photos");
            let n = session.project.photos.len();
            let used = (0..n).filter(|&i| session.included(i)).count();
            ui.weak(format!("{used} of {n} used"));
        });
        ui.horizontal_wrapped(|ui| {
            if ui.button("Add photos…").on_hover_text("Choose photos with the file dialog (or drop files and folders onto the window)").clicked() {
                intents.push(Intent::ChooseFiles(super::dialog::Purpose::Photos));
            }
            if ui.button("Add folder…").clicked() {
                intents.push(Intent::ChooseFiles(super::dialog::Purpose::PhotoFolder));
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("Path");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let add = ui.button("Add");
                let field = egui::TextEdit::singleline(&mut self.typed_path).hint_text("or type a file or folder path").desired_width(ui.available_width());
                let field = ui.add(field).labelled_by(label.id);
                let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if (add.clicked() || entered) && !self.typed_path.trim().is_empty() {
                    intents.push(Intent::Import(vec![PathBuf::from(self.typed_path.trim())]));
                    self.typed_path.clear();
                }
            });
        });
        if let Some((done, total)) = self.progress {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("Cancel").on_hover_text("Stop after the photo in progress; the photos analysed so far are kept").clicked() {
                    intents.push(Intent::CancelImport);
                }
                let fraction = if total > 0 { done as f32 / total as f32 } else { 0.0 };
                let text = if total == 0 { "finding photos and loading the face networks…".to_string() } else { format!("analysed {done} of {total}") };
                ui.add(egui::ProgressBar::new(fraction).text(text).desired_width(ui.available_width()));
            });
        }
        if self.realign.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.weak("reading the photos again…");
            });
        }
        ui.separator();
        let ctx = ui.ctx().clone();
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            if session.project.photos.is_empty() && self.pending.is_empty() {
                ui.add_space(20.0);
                ui.vertical_centered(|ui| {
                    ui.label("Drop photos or folders of one person here.");
                    ui.weak("About 10 to 50 photos work best: different expressions, poses and lighting.");
                });
            }
            ui.horizontal_wrapped(|ui| {
                for i in 0..session.project.photos.len() {
                    let texture = self.thumbnail(&ctx, session, i);
                    let photo = &session.project.photos[i];
                    let mut included = session.included(i);
                    let has_face = photo.entry.face().is_some();
                    let name = photo.entry.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    let mut hover = format!("{name}\nstatus: {}", photo.entry.status.label());
                    if !photo.entry.reason.is_empty() {
                        hover.push_str(&format!("\n{}", photo.entry.reason));
                    }
                    if let Some(line) = attribute_line(&photo.entry) {
                        hover.push_str(&format!("\n{line}"));
                    }
                    ui.allocate_ui_with_layout(egui::vec2(THUMB, THUMB + 44.0), egui::Layout::top_down(egui::Align::Min), |ui| {
                        ui.set_width(THUMB);
                        match &texture {
                            Some(t) => {
                                ui.add(egui::Image::new(t).fit_to_exact_size(egui::vec2(THUMB, THUMB)).corner_radius(4.0).sense(egui::Sense::hover())).on_hover_text(&hover);
                            }
                            None => {
                                let (rect, response) = ui.allocate_exact_size(egui::vec2(THUMB, THUMB), egui::Sense::hover());
                                response.on_hover_text(&hover);
                                ui.painter().rect_filled(rect, 4.0, ui.visuals().faint_bg_color);
                                ui.painter().text(rect.center(), egui::Align2::CENTER_CENTER, "no face", egui::FontId::proportional(12.0), ui.visuals().weak_text_color());
                            }
                        }
                        ui.horizontal(|ui| {
                            let status = photo.entry.status;
                            ui.label(RichText::new(status.label()).small().strong().color(Color32::WHITE).background_color(badge_colour(status))).on_hover_text(&hover);
                            if ui.add_enabled(has_face, egui::Checkbox::new(&mut included, "")).on_hover_text("Use this photo for personalizing").changed() {
                                intents.push(Intent::SetIncluded(i, included));
                            }
                        });
                        if let Some(face) = photo.entry.face() {
                            let a = &face.attributes;
                            ui.label(RichText::new(format!("{:.0} y · {:.0}% · {:+.0}°", a.age, a.smile * 100.0, a.yaw.round() + 0.0)).small().weak()).on_hover_text(&hover);
                        }
                    });
                }
                for entry in &self.pending {
                    ui.allocate_ui_with_layout(egui::vec2(THUMB, THUMB + 44.0), egui::Layout::top_down(egui::Align::Min), |ui| {
                        ui.set_width(THUMB);
                        let (rect, _) = ui.allocate_exact_size(egui::vec2(THUMB, THUMB), egui::Sense::hover());
                        ui.painter().rect_filled(rect, 4.0, ui.visuals().faint_bg_color);
                        ui.weak(entry.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
                    });
                }
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_a_distinct_label_and_a_coloured_badge() {
        let all = [
            PhotoStatus::Ok,
            PhotoStatus::Unreadable,
            PhotoStatus::NoFace,
            PhotoStatus::TooSmall,
            PhotoStatus::OtherPerson,
            PhotoStatus::Duplicate,
            PhotoStatus::ExtremePose,
            PhotoStatus::Occluded,
        ];
        let mut labels: Vec<&str> = all.iter().map(|s| s.label()).collect();
        labels.dedup();
        assert_eq!(labels.len(), all.len());
        assert!(all.iter().filter(|s| **s != PhotoStatus::Ok).all(|s| badge_colour(*s) != badge_colour(PhotoStatus::Ok)));
    }
}
