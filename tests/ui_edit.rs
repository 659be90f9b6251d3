//! The Personalize, Edit and Export areas, headless (egui_kittest driving the real app on the CPU backend
//! with short budgets): start, cancel and resume a job; closing during tuning asks, then checkpoints;
//! personalize, move a slider and see the face change, undo and redo, export (PNG, JPEG, pasted back into
//! the photo, asking before overwriting), reopen the project; bad-inputs rows 21-23 at the GUI level.

mod common;
#[path = "ui_support.rs"]
mod support;

use std::path::PathBuf;
use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use mystyle::app::personalize::JobEnd;
use mystyle::app::{Intent, StudioApp};
use mystyle::prior::invert::InversionSettings;
use mystyle::prior::job::Budget;
use mystyle::prior::organize::Attribute;
use mystyle::prior::tune::TuningSettings;
use support::{App, app, app_mut, drop_files, open, said, wait_until};

const MINUTES: Duration = Duration::from_secs(600);

fn budget(tuning_steps: usize) -> Budget {
    Budget {
        inversion: InversionSettings { starts: 1, steps: 4, ..Default::default() },
        tuning: TuningSettings { steps: tuning_steps, batch: 2, learning_rate: 1e-3, patience: 1000, ..Default::default() },
        checkpoint_every: 4,
        preview_every: 4,
        organize: true,
    }
}

fn photos(names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|n| common::fixture(&format!("openpeople/P003/{n}.jpg"))).collect()
}

fn import(h: &mut App, names: &[&str]) {
    drop_files(h, &photos(names));
    let n = names.len();
    wait_until(h, "the import", MINUTES, |a| !a.importing() && a.session().project.photos.len() == n);
}

/// Clicks the widget labelled `label` and runs frames until what it opened is drawn (a new window or
/// modal is measured, invisibly, in its first frame).
fn click(h: &mut App, label: &str) {
    h.get_by_label(label).click();
    h.run_steps(3);
}

fn tuning_started(a: &StudioApp) -> bool {
    a.personalize().running() && a.personalize().stage == Some("tuning") && !a.personalize().losses.is_empty()
}

#[test]
fn a_job_starts_cancels_and_resumes_from_its_checkpoint() {
    let dir = common::scratch("ui-edit-cancel");
    let mut h = open(&dir, Some(budget(5000)));
    click(&mut h, "Start");
    assert!(!app(&h).personalize().running(), "Start works without photos");
    import(&mut h, &["neutral", "happy", "sad"]);
    click(&mut h, "Start");
    assert!(app(&h).personalize().running(), "Start did not start a job: {:#?}", app(&h).messages());
    let slowest = wait_until(&mut h, "tuning steps", MINUTES, tuning_started);
    assert!(slowest < Duration::from_millis(250), "a frame took {slowest:?} while the job ran");
    // UI frame time while the job tunes (frames at about 60 per second, as a window would draw them).
    app_mut(&mut h).reset_frame_times();
    for _ in 0..120 {
        h.step();
        std::thread::sleep(Duration::from_millis(16));
    }
    let times = app(&h).frame_times();
    println!("UI frame time while tuning: {}", times.describe());
    assert!(app(&h).personalize().running(), "the job ended before its frame times were measured");
    assert!(times.quantile(0.99) < Duration::from_millis(20), "UI frames while tuning: {}", times.describe());
    click(&mut h, "Cancel");
    wait_until(&mut h, "the cancellation", Duration::from_secs(60), |a| !a.personalize().running());
    let a = app(&h);
    assert!(matches!(a.personalize().end, Some(JobEnd::Cancelled { step }) if step > 0), "{:?}", a.personalize().end);
    assert!(a.session().has_checkpoint(), "no checkpoint after cancelling");
    let stopped_at = a.personalize().losses.last().unwrap()[0];

    click(&mut h, "Resume");
    wait_until(&mut h, "resumed tuning", MINUTES, tuning_started);
    let resumed_from = app(&h).personalize().losses[0][0];
    assert!(resumed_from >= stopped_at - 4.0, "resumed at step {resumed_from}, stopped at {stopped_at}: not from the checkpoint");

    // Closing the window during tuning asks first; "Stop and close" checkpoints and closes.
    h.input_mut().viewports.entry(egui::ViewportId::ROOT).or_default().events.push(egui::ViewportEvent::Close);
    h.run_steps(2);
    assert!(app(&h).personalize().running(), "closing stopped the job without asking");
    assert!(h.query_by_label("Personalizing is running").is_some(), "no question on close");
    click(&mut h, "Stop and close");
    wait_until(&mut h, "the job to stop on close", Duration::from_secs(60), |a| !a.personalize().running());
    assert!(matches!(app(&h).personalize().end, Some(JobEnd::Cancelled { .. })));
    assert!(app(&h).session().has_checkpoint() && !app(&h).session().is_dirty());
}

/// The face on screen, once the editor is idle.
fn settled(h: &mut App, what: &str) -> image::RgbImage {
    wait_until(h, what, MINUTES, |a| a.editor().is_some_and(|e| e.ready && !e.busy() && e.image.is_some()));
    app(h).editor().unwrap().image.clone().unwrap()
}

fn difference(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| x.abs_diff(*y) as f64).sum::<f64>() / a.as_raw().len() as f64
}

fn slider_label(attribute: Attribute) -> &'static str {
    match attribute {
        Attribute::Age => "Age",
        Attribute::Smile => "Expression (smile)",
        Attribute::Yaw => "Yaw",
        Attribute::Pitch => "Pitch",
        Attribute::Hair => "Hair",
    }
}

fn export_and_wait(h: &mut App, button: &str) -> PathBuf {
    let before = app(h).export().last_written.clone();
    click(h, button);
    wait_until(h, "the export", MINUTES, |a| !a.export().running() && a.export().last_written != before);
    app(h).export().last_written.clone().unwrap()
}

fn set_export_path(h: &mut App, path: &std::path::Path) {
    let field = h.get_by_role_and_label(Role::TextInput, "File");
    field.focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.step();
    h.get_by_role_and_label(Role::TextInput, "File").type_text(&path.display().to_string());
    h.step();
}

#[test]
fn personalize_edit_undo_export_and_reopen() {
    let dir = common::scratch("ui-edit-flow");
    let mut h = open(&dir, Some(budget(8)));
    import(&mut h, &["neutral", "happy", "sad", "angry", "playful", "shocked", "pensive", "front_view"]);
    click(&mut h, "Start");
    wait_until(&mut h, "personalizing", MINUTES, |a| matches!(a.personalize().end, Some(JobEnd::Finished { .. })));
    assert!(!app(&h).personalize().losses.is_empty(), "no loss reached the plot");
    let original = settled(&mut h, "the editor");
    let editor = app(&h).editor().unwrap();
    assert_eq!(editor.photo_count(), 8);
    let controls = editor.controls.clone().expect("sliders");
    let slider = controls.sliders.first().unwrap_or_else(|| panic!("no slider was learned: {:?}", controls.skipped));
    let attribute = slider.attribute;
    let (lo, hi) = slider.calibration.range;

    // Move a slider: the face changes and the measured value is shown beside the requested one.
    h.get_by_role_and_label(Role::Slider, slider_label(attribute)).set_value_accesskit(hi as f64);
    h.step();
    assert_eq!(app(&h).editor().unwrap().point.targets.get(attribute), Some(hi));
    let edited = settled(&mut h, "the edit");
    assert!(difference(&edited, &original) > 0.5, "moving the {} slider left the face unchanged", attribute.name());
    assert!(h.query_all_by_label_contains(", measured ").count() >= 1, "no measured value beside the slider");

    // Undo and redo with the keyboard.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.step();
    assert_eq!(app(&h).editor().unwrap().point.targets.get(attribute), None, "Ctrl+Z did not undo");
    let undone = settled(&mut h, "the undo");
    assert!(difference(&undone, &original) < 1.0, "undo did not bring the face back");
    h.key_press_modifiers(egui::Modifiers::COMMAND | egui::Modifiers::SHIFT, egui::Key::Z);
    h.step();
    assert_eq!(app(&h).editor().unwrap().point.targets.get(attribute), Some(hi), "Ctrl+Shift+Z did not redo");
    settled(&mut h, "the redo");
    click(&mut h, "Before");
    assert!(app(&h).editor().unwrap().show_before);
    click(&mut h, "Before");
    // Dragging across the face compares: the base left of the pointer, the edit right of it.
    let face = h.get_by_label("Face").rect();
    let at = |share: f32| egui::pos2(face.left() + share * face.width(), face.center().y);
    h.input_mut().events.push(egui::Event::PointerMoved(at(0.1)));
    h.step();
    h.input_mut().events.push(egui::Event::PointerButton { pos: at(0.1), button: egui::PointerButton::Primary, pressed: true, modifiers: Default::default() });
    h.step();
    for share in [0.2, 0.4, 0.6] {
        h.input_mut().events.push(egui::Event::PointerMoved(at(share)));
        h.step();
    }
    let wipe = app(&h).editor().unwrap().wipe.expect("no wipe while dragging across the face");
    assert!((wipe - 0.6).abs() < 0.02, "wipe at {wipe}, pointer at 0.6");
    h.input_mut().events.push(egui::Event::PointerButton { pos: at(0.6), button: egui::PointerButton::Primary, pressed: false, modifiers: Default::default() });
    h.run_steps(2);
    assert_eq!(app(&h).editor().unwrap().wipe, None, "the wipe stayed after the drag");

    // Between two photos: the mix is the base (and one undo step), the face changes; undo goes back.
    h.get_by_role_and_label(Role::Slider, "Interpolation").set_value_accesskit(0.25);
    h.step();
    assert_eq!(app(&h).editor().unwrap().point.base, mystyle::prior::edit::Base::Between(0, 1, 0.25));
    let mixed = settled(&mut h, "the mix");
    assert!(difference(&mixed, &edited) > 0.5, "the mix of two photos looks like photo 1");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.step();
    assert_eq!(app(&h).editor().unwrap().point.base, mystyle::prior::edit::Base::Anchor(0), "one undo did not leave the mix");
    settled(&mut h, "the undone mix");

    // Row 21: every slider at an extreme at once, then fast scrubbing: finite output, requests coalesced.
    let frames_before = app(&h).editor().unwrap().frames;
    app_mut(&mut h).reset_frame_times();
    for (k, s) in controls.sliders.iter().enumerate().cycle().take(40) {
        let (a, b) = s.calibration.range;
        h.get_by_role_and_label(Role::Slider, slider_label(s.attribute)).set_value_accesskit(if k % 2 == 0 { a } else { b } as f64);
        h.step();
        std::thread::sleep(Duration::from_millis(16));
    }
    let times = app(&h).frame_times();
    println!("UI frame time while scrubbing sliders: {}", times.describe());
    assert!(times.quantile(0.99) < Duration::from_millis(20), "UI frames while scrubbing: {}", times.describe());
    settled(&mut h, "the scrubbing");
    let e = app(&h).editor().unwrap();
    assert!(e.measured.iter().all(|(_, v)| v.is_finite()), "{:?}", e.measured);
    let frames = e.frames - frames_before;
    assert!(frames < 40 * 6, "{frames} frames for 40 requests: not coalesced");

    // Reset clears every slider.
    click(&mut h, "Reset");
    assert!(app(&h).editor().unwrap().point.targets.requested().is_empty());
    app_mut(&mut h).apply(Intent::SetTarget(attribute, Some(lo)));
    app_mut(&mut h).apply(Intent::CommitEdit);
    let face = settled(&mut h, "the edit to export");

    // Export: PNG at the chosen size, written atomically (no temporary file left).
    let png = export_and_wait(&mut h, "Export face");
    let read = image::open(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display())).to_rgb8();
    assert_eq!(read.dimensions(), (512, 512));
    let exports = png.parent().unwrap().to_path_buf();
    assert!(std::fs::read_dir(&exports).unwrap().all(|f| !f.unwrap().file_name().to_string_lossy().ends_with(".tmp")));

    // Row 22: an existing file is not replaced without asking.
    let proposed = PathBuf::from(app(&h).export().path.clone());
    std::fs::write(&proposed, b"keep me").unwrap();
    click(&mut h, "Export face");
    wait_until(&mut h, "the question before overwriting", MINUTES, |a| a.export().pending_overwrite.is_some() || !a.export().running());
    h.run_steps(3);
    assert!(app(&h).export().pending_overwrite.is_some(), "no question before overwriting: {:#?}", app(&h).messages());
    assert!(h.query_by_label("Replace the file?").is_some(), "the question is not on screen");
    click(&mut h, "Keep it");
    assert_eq!(std::fs::read(&proposed).unwrap(), b"keep me");
    assert!(said(app(&h), "not exported"));
    click(&mut h, "Export face");
    wait_until(&mut h, "the question before overwriting", MINUTES, |a| a.export().pending_overwrite.is_some());
    h.run_steps(3);
    click(&mut h, "Replace");
    wait_until(&mut h, "the replacing export", MINUTES, |a| !a.export().running() && a.export().last_written.as_deref() == Some(proposed.as_path()));
    assert!(image::open(&proposed).is_ok(), "the replaced file is not an image");
    // Row 22: an unwritable place gives the OS error with the file name.
    let blocker = dir.join("a-file");
    std::fs::write(&blocker, b"x").unwrap();
    set_export_path(&mut h, &blocker.join("face.png"));
    click(&mut h, "Export face");
    wait_until(&mut h, "the failing export", MINUTES, |a| said(a, "export failed"));
    assert!(said(app(&h), "a-file"), "{:#?}", app(&h).messages());

    // Row 23: JPEG export of the RGB face.
    set_export_path(&mut h, &exports.join("face.jpg"));
    click(&mut h, "JPEG");
    let jpg = export_and_wait(&mut h, "Export face");
    assert!(jpg.extension().unwrap() == "jpg");
    assert_eq!(image::ImageReader::open(&jpg).unwrap().with_guessed_format().unwrap().format(), Some(image::ImageFormat::Jpeg));

    // Pasted back into the photo of the base (photo 1 of the set): the photo's own size.
    assert_eq!(app(&h).editor().unwrap().point.base, mystyle::prior::edit::Base::Anchor(0));
    set_export_path(&mut h, &exports.join("pasted.png"));
    click(&mut h, "PNG");
    let pasted = export_and_wait(&mut h, "Paste into photo");
    let photo = image::open(&app(&h).session().project.photos[0].entry.path).unwrap();
    assert_eq!(image::open(&pasted).unwrap().to_rgb8().dimensions(), (photo.width(), photo.height()));
    assert!(face.width() > 0);

    // A sweep of the slider: a contact sheet of SWEEP_STEPS faces in a row.
    click(&mut h, "Export sweep");
    assert!(app(&h).editor().unwrap().sweep_progress().is_some(), "the sweep did not start: {:#?}", app(&h).messages());
    wait_until(&mut h, "the sweep", MINUTES, |a| a.export().last_written.as_ref().is_some_and(|p| p.to_string_lossy().contains("sweep-")) && !a.export().running());
    let sheet = image::open(app(&h).export().last_written.as_ref().unwrap()).unwrap();
    assert_eq!(sheet.width(), mystyle::app::edit::SWEEP_STEPS as u32 * (192 + 8) + 8);
    let after = settled(&mut h, "the edit after the sweep");
    assert!(difference(&after, &face) < 1.0, "the sweep did not go back to the edit on screen");

    // A new photo of the person (not one of the set) as the base, typed (no dialog here), then pasted back.
    let new_photo = common::fixture("openpeople/P003/smug.jpg");
    let field = h.get_by_role_and_label(Role::TextInput, "Photo path");
    field.focus();
    field.type_text(&new_photo.display().to_string());
    h.step();
    click(&mut h, "Open");
    assert!(app(&h).editor().unwrap().opening_photo(), "the new photo is not being opened: {:#?}", app(&h).messages());
    wait_until(&mut h, "the projected photo", MINUTES, |a| a.editor().is_some_and(|e| !e.opening_photo() && matches!(e.point.base, mystyle::prior::edit::Base::Latent(_))));
    settled(&mut h, "the projected base");
    set_export_path(&mut h, &exports.join("smug-edited.png"));
    let pasted = export_and_wait(&mut h, "Paste into photo");
    let photo = image::open(&new_photo).unwrap();
    assert_eq!(image::open(&pasted).unwrap().to_rgb8().dimensions(), (photo.width(), photo.height()));

    // Save, reopen: the photos come back with their faces, and the editor loads again at the same edit.
    let left = app(&h).editor().unwrap().history.current().clone();
    assert!(matches!(left.base, mystyle::prior::edit::Base::Latent(_)) && !left.targets.requested().is_empty(), "{left:?}");
    let shown = settled(&mut h, "the edit on screen");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.step();
    assert!(!app(&h).session().is_dirty());
    let folder = app(&h).session().folder.clone();
    app_mut(&mut h).apply(Intent::NewProject);
    h.step();
    assert!(app(&h).session().project.photos.is_empty() && app(&h).editor().is_none());
    app_mut(&mut h).apply(Intent::OpenProject(folder.clone()));
    wait_until(&mut h, "the reopened project", MINUTES, |a| !a.importing() && a.editor().is_some_and(|e| e.ready));
    let a = app(&h);
    assert_eq!(a.session().project.photos.len(), 8);
    assert!(a.session().project.photos.iter().all(|p| p.entry.face().is_some_and(|f| f.aligned_generator.width() == 64)));
    assert_eq!(a.state().recent[0], folder);
    assert_eq!(a.editor().unwrap().point, left, "the edit was not restored");
    let again = settled(&mut h, "the restored edit");
    assert!(difference(&again, &shown) < 1.0, "the restored edit draws another face");
    assert!(!app(&h).session().is_dirty(), "reopening made unsaved changes");
}
