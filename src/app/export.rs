//! Exports from the Edit area: the edited face as PNG or JPEG at a chosen size, or pasted back into the
//! original photo ([`crate::face::paste`]) when the base is a real photo. Files are written atomically
//! ([`crate::imaging::export::save_atomic`]) on a thread; an existing file is never replaced without the
//! user saying so.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};

use eframe::egui;
use image::RgbImage;

use super::Intent;
use super::state::{ExportFormat, UiState};
use crate::face::geometry::Affine;
use crate::face::paste::{PasteOptions, paste_back};
use crate::imaging::export::save_atomic;
use crate::imaging::load::load_photo;
use crate::photoset::ALIGNED_SIZE;

/// The sub-folder of a project that exports go to by default.
pub const EXPORTS_DIR: &str = "exports";

/// What to write.
#[derive(Clone, Debug, PartialEq)]
pub enum ExportKind {
    /// The face alone, resized to a square of this side.
    Face {
        /// Side in pixels.
        size: u32,
    },
    /// The image as given (a contact sheet).
    AsIs,
    /// The face pasted into the photo it was aligned from.
    PasteBack {
        /// The original photo.
        photo: PathBuf,
        /// The alignment's map from an [`ALIGNED_SIZE`] square to the photo.
        to_photo: Affine,
    },
}

/// One export: the face, what to make of it, and where to write it.
#[derive(Clone, Debug)]
pub struct ExportRequest {
    /// The edited face.
    pub face: RgbImage,
    /// What to write.
    pub kind: ExportKind,
    /// The file (its extension picks the format).
    pub path: PathBuf,
}

/// Writes an export; errors name the file.
pub fn write_export(request: &ExportRequest) -> Result<(), String> {
    let image = match &request.kind {
        ExportKind::Face { size } => {
            let size = (*size).clamp(16, 8192);
            image::imageops::resize(&request.face, size, size, image::imageops::FilterType::Lanczos3)
        }
        ExportKind::AsIs => request.face.clone(),
        ExportKind::PasteBack { photo, to_photo } => {
            let photo = load_photo(photo).map_err(|e| e.to_string())?;
            paste_back(&photo.image, &request.face, to_photo, ALIGNED_SIZE, &PasteOptions::default())
        }
    };
    save_atomic(&image, &request.path).map_err(|e| e.to_string())
}

/// A contact sheet of a slider sweep: the faces in one row, `tile` pixels each, with each requested value
/// written under its face.
pub fn sweep_sheet(faces: &[(f32, RgbImage)], tile: u32) -> RgbImage {
    use crate::imaging::grid::{GridLayout, grid};
    use crate::imaging::label::{draw_text, text_height, text_width};
    let layout = GridLayout::new(faces.len(), Some(faces.len().max(1) as u32), tile, 8);
    let images: Vec<RgbImage> = faces.iter().map(|(_, f)| f.clone()).collect();
    let tiles = grid(&images, layout);
    let scale = 2;
    let band = text_height(scale) + 8;
    let mut sheet = RgbImage::from_pixel(tiles.width(), tiles.height() + band, image::Rgb([255, 255, 255]));
    image::imageops::replace(&mut sheet, &tiles, 0, 0);
    for (i, (value, _)) in faces.iter().enumerate() {
        let text = format!("{value:.2}");
        let x = layout.gap + i as u32 * (tile + layout.gap) + tile.saturating_sub(text_width(&text, scale)) / 2;
        draw_text(&mut sheet, x, tiles.height(), &text, scale, image::Rgb([30, 30, 30]));
    }
    sheet
}

/// The first `face-NNN.EXT` in `dir` that does not exist yet.
pub fn next_free_name(dir: &Path, stem: &str, format: ExportFormat) -> PathBuf {
    (1..10_000).map(|n| dir.join(format!("{stem}-{n:03}.{}", format.extension()))).find(|p| !p.exists()).unwrap_or_else(|| dir.join(format!("{stem}.{}", format.extension())))
}

/// `path` with the extension of `format` (other extensions are replaced).
pub fn with_format(path: &Path, format: ExportFormat) -> PathBuf {
    let current = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match (format, current.as_deref()) {
        (ExportFormat::Jpeg, Some("jpg" | "jpeg")) | (ExportFormat::Png, Some("png")) => path.to_path_buf(),
        _ => path.with_extension(format.extension()),
    }
}

/// Runtime state of the Export section.
#[derive(Default)]
pub struct ExportArea {
    /// The file name typed or proposed.
    pub path: String,
    /// An export waiting for the user to allow replacing an existing file.
    pub pending_overwrite: Option<ExportRequest>,
    running: Option<Receiver<(PathBuf, Result<(), String>)>>,
    /// An export waiting for its face to be drawn at full resolution (true: paste back into the photo).
    awaiting_face: Option<bool>,
    /// The name [`ExportArea::propose`] put in the field last.
    proposed: Option<String>,
    /// The last file written.
    pub last_written: Option<PathBuf>,
    /// The slider a sweep runs over.
    pub sweep_attribute: Option<crate::prior::organize::Attribute>,
}

impl ExportArea {
    /// True while an export waits for its face or is being written.
    pub fn running(&self) -> bool {
        self.running.is_some() || self.awaiting_face.is_some()
    }

    /// An export (`paste_back`: into the photo) now waits for its face to be drawn at full resolution.
    pub fn await_face(&mut self, paste_back: bool) {
        self.awaiting_face = Some(paste_back);
    }

    /// The export that was waiting for its face, if any (no longer waiting).
    pub fn take_awaiting(&mut self) -> Option<bool> {
        self.awaiting_face.take()
    }

    /// Proposes a fresh file name in the project's exports folder.
    pub fn propose(&mut self, folder: &Path, format: ExportFormat) {
        self.path = next_free_name(&folder.join(EXPORTS_DIR), "face", format).display().to_string();
        self.proposed = Some(self.path.clone());
    }

    /// The file to write: the path in the field, with `format`'s extension; a pasted-back photo gets its own
    /// fresh name (`pasted-NNN`) where the field still holds the proposed face name.
    pub fn target(&self, format: ExportFormat, paste_back: bool) -> PathBuf {
        let path = with_format(Path::new(self.path.trim()), format);
        match (&self.proposed, path.parent()) {
            (Some(proposed), Some(dir)) if paste_back && proposed == &self.path => next_free_name(dir, "pasted", format),
            _ => path,
        }
    }

    /// Writes `request` on a thread, or first asks when its file exists (unless `replace`).
    pub fn start(&mut self, request: ExportRequest, replace: bool, ctx: &egui::Context) {
        if request.path.exists() && !replace {
            self.pending_overwrite = Some(request);
            return;
        }
        let (tx, rx) = mpsc::channel();
        let ctx = ctx.clone();
        std::thread::Builder::new()
            .name("export".into())
            .spawn(move || {
                let result = request.path.parent().map_or(Ok(()), |d| std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))).and_then(|()| write_export(&request));
                let _ = tx.send((request.path, result));
                ctx.request_repaint();
            })
            .expect("spawning a thread only fails when the OS is out of resources");
        self.running = Some(rx);
    }

    /// The end of a running export, as a log message.
    pub fn poll(&mut self) -> Option<String> {
        let (path, result) = self.running.as_ref()?.try_recv().ok()?;
        self.running = None;
        Some(match result {
            Ok(()) => {
                let message = format!("exported {}", path.display());
                self.last_written = Some(path);
                message
            }
            Err(e) => format!("export failed: {e}"),
        })
    }

    /// Draws the section. `paste_back` tells whether the base is a real photo.
    pub fn ui(&mut self, ui: &mut egui::Ui, state: &UiState, has_face: bool, paste_back: bool, sweepable: &[crate::prior::organize::Attribute], intents: &mut Vec<Intent>) {
        ui.heading("Export");
        ui.separator();
        ui.horizontal(|ui| {
            let mut format = state.export_format;
            ui.radio_value(&mut format, ExportFormat::Png, "PNG");
            ui.radio_value(&mut format, ExportFormat::Jpeg, "JPEG");
            if format != state.export_format {
                intents.push(Intent::SetExportFormat(format));
                self.path = with_format(Path::new(&self.path), format).display().to_string();
            }
            let mut size = state.export_size;
            ui.label("size");
            if ui.add(egui::DragValue::new(&mut size).range(16..=4096).suffix(" px")).changed() {
                intents.push(Intent::SetExportSize(size));
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("File");
            ui.add(egui::TextEdit::singleline(&mut self.path).hint_text("file to write (.png or .jpg)").desired_width(f32::INFINITY)).labelled_by(label.id);
        });
        ui.horizontal_wrapped(|ui| {
            let can = has_face && !self.running() && !self.path.trim().is_empty();
            if ui.add_enabled(can, egui::Button::new("Export face")).clicked() {
                intents.push(Intent::Export { paste_back: false });
            }
            let paste = ui.add_enabled(can && paste_back, egui::Button::new("Paste into photo"));
            if paste.on_hover_text("Write the original photo with the edited face pasted back (base: a photo of the set, or a new photo)").clicked() {
                intents.push(Intent::Export { paste_back: true });
            }
            if self.running() {
                ui.spinner();
            }
        });
        if !sweepable.is_empty() {
            let mut attribute = self.sweep_attribute.filter(|a| sweepable.contains(a)).unwrap_or(sweepable[0]);
            ui.horizontal(|ui| {
                egui::ComboBox::from_id_salt("sweep").selected_text(attribute.name()).show_ui(ui, |ui| {
                    for a in sweepable {
                        ui.selectable_value(&mut attribute, *a, a.name());
                    }
                });
                let sweep = ui.add_enabled(!self.running(), egui::Button::new("Export sweep"));
                if sweep.on_hover_text("A contact sheet of the face across this slider's range").clicked() {
                    intents.push(Intent::ExportSweep(attribute));
                }
            });
            self.sweep_attribute = Some(attribute);
        }
        if let Some(path) = &self.last_written {
            ui.weak(format!("last: {}", path.display()));
        }
    }

    /// Asks whether to replace an existing file, while an export waits for the answer.
    pub fn overwrite_question(&self, ctx: &egui::Context, intents: &mut Vec<Intent>) {
        if let Some(request) = &self.pending_overwrite {
            let name = request.path.display().to_string();
            let modal = egui::Modal::new(egui::Id::unique("overwrite")).show(ctx, |ui| {
                ui.heading("Replace the file?");
                ui.label(format!("{name} already exists."));
                ui.horizontal(|ui| {
                    if ui.button("Replace").clicked() {
                        intents.push(Intent::ConfirmOverwrite(true));
                    }
                    if ui.button("Keep it").clicked() {
                        intents.push(Intent::ConfirmOverwrite(false));
                    }
                });
            });
            if modal.should_close() {
                intents.push(Intent::ConfirmOverwrite(false));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_photo_gets_its_own_name_unless_one_was_typed() {
        let dir = std::env::temp_dir().join(format!("mystyle-export-names-{}", std::process::id()));
        std::fs::create_dir_all(dir.join(EXPORTS_DIR)).unwrap();
        std::fs::write(dir.join(EXPORTS_DIR).join("pasted-001.png"), b"x").unwrap();
        let mut area = ExportArea::default();
        area.propose(&dir, ExportFormat::Png);
        assert!(area.path.ends_with("face-001.png"), "{}", area.path);
        assert_eq!(area.target(ExportFormat::Png, false), dir.join(EXPORTS_DIR).join("face-001.png"));
        assert_eq!(area.target(ExportFormat::Png, true), dir.join(EXPORTS_DIR).join("pasted-002.png"));
        assert_eq!(area.target(ExportFormat::Jpeg, true), dir.join(EXPORTS_DIR).join("pasted-001.jpg"));
        // A name the user typed is kept (only the extension follows the format).
        area.path = dir.join("mine.png").display().to_string();
        assert_eq!(area.target(ExportFormat::Png, true), dir.join("mine.png"));
        assert_eq!(area.target(ExportFormat::Jpeg, false), dir.join("mine.jpg"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_sweep_sheet_holds_every_face_in_a_row_with_its_value_below() {
        let faces: Vec<(f32, RgbImage)> = (0..3).map(|i| (i as f32 * 10.0, RgbImage::from_pixel(64, 64, image::Rgb([i * 100, 50, 50])))).collect();
        let sheet = sweep_sheet(&faces, 96);
        assert_eq!(sheet.width(), 3 * (96 + 8) + 8);
        assert!(sheet.height() > 96 + 16);
        assert_eq!(sheet.get_pixel(8 + 2 * 104 + 40, 8 + 40), &image::Rgb([200, 50, 50]));
        let band = (0..sheet.width()).flat_map(|x| (96 + 16..sheet.height()).map(move |y| (x, y)));
        assert!(band.into_iter().any(|(x, y)| sheet.get_pixel(x, y)[0] < 100), "no value written under the faces");
    }

    #[test]
    fn names_are_fresh_and_follow_the_format() {
        let dir = std::env::temp_dir().join(format!("mystyle-export-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = next_free_name(&dir, "face", ExportFormat::Png);
        assert!(first.ends_with("face-001.png"));
        std::fs::write(&first, b"x").unwrap();
        assert!(next_free_name(&dir, "face", ExportFormat::Png).ends_with("face-002.png"));
        assert_eq!(with_format(Path::new("a/b.png"), ExportFormat::Jpeg), Path::new("a/b.jpg"));
        assert_eq!(with_format(Path::new("a/b.JPEG"), ExportFormat::Jpeg), Path::new("a/b.JPEG"));
        assert_eq!(with_format(Path::new("a/b"), ExportFormat::Png), Path::new("a/b.png"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_face_is_written_at_the_chosen_size_in_either_format() {
        let dir = std::env::temp_dir().join(format!("mystyle-export-face-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let face = RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 90]));
        for name in ["f.png", "f.jpg"] {
            let path = dir.join(name);
            write_export(&ExportRequest { face: face.clone(), kind: ExportKind::Face { size: 200 }, path: path.clone() }).unwrap();
            assert_eq!(image::open(&path).unwrap().to_rgb8().dimensions(), (200, 200));
        }
        let err = write_export(&ExportRequest { face, kind: ExportKind::Face { size: 64 }, path: dir.join("f.gif") }).unwrap_err();
        assert!(err.contains("f.gif"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
