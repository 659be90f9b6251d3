//! The Photos area, headless (egui_kittest driving the real app on the CPU backend): dropped files and
//! folders import in the background with badges and hover reasons, include/exclude, and bad-inputs rows
//! 18-20 at the GUI level (huge photos dropped at once, a folder with sidecars and a link loop, no file
//! dialog). Every wait runs frames and checks that none takes long: the window never freezes.

mod common;
#[path = "ui_support.rs"]
mod support;

use std::time::Duration;

use egui_kittest::kittest::Queryable;
use mystyle::photoset::PhotoStatus;
use support::{app, drop_files, open, said, wait_until};

fn fixture(person: &str, name: &str) -> std::path::PathBuf {
    common::fixture(&format!("openpeople/{person}/{name}.jpg"))
}

/// The slowest frame allowed while workers run (no rendering here: layout and event handling only).
const FRAME_LIMIT: Duration = Duration::from_millis(250);

fn status_of(app: &mystyle::app::StudioApp, file: &str) -> PhotoStatus {
    let photos = &app.session().project.photos;
    photos.iter().find(|p| p.entry.path.ends_with(file)).unwrap_or_else(|| panic!("{file} not imported: {photos:#?}")).entry.status
}

#[test]
fn dropped_files_and_a_folder_import_with_badges_reasons_and_a_skip_summary() {
    let dir = common::scratch("ui-photos-badges");
    let copy = dir.join("copy of happy.jpg");
    std::fs::copy(fixture("P002", "happy"), &copy).unwrap();
    let broken = dir.join("broken.jpg");
    std::fs::write(&broken, b"not a jpeg at all").unwrap();
    // Row 19: a folder with a sidecar file, a nested folder and a link back up (a loop).
    let folder = dir.join("more");
    std::fs::create_dir_all(folder.join("nested")).unwrap();
    std::fs::copy(fixture("P002", "studio_portrait"), folder.join("nested/portrait.jpg")).unwrap();
    std::fs::write(folder.join("notes.txt"), b"sidecar").unwrap();
    std::fs::write(folder.join("nested/portrait.xmp"), b"<x:xmpmeta/>").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&folder, folder.join("nested/loop")).unwrap();

    let mut h = open(&dir, None);
    let dropped = vec![fixture("P002", "neutral"), fixture("P002", "happy"), copy, fixture("P002", "sad"), fixture("P005", "neutral"), broken, folder];
    drop_files(&mut h, &dropped);
    assert!(app(&h).importing(), "the drop did not start an import");
    let slowest = wait_until(&mut h, "the import", Duration::from_secs(300), |a| !a.importing() && a.session().project.photos.len() == 7);
    assert!(slowest < FRAME_LIMIT, "a frame took {slowest:?} during the import");

    let a = app(&h);
    assert_eq!(status_of(a, "neutral.jpg"), PhotoStatus::Ok);
    assert_eq!(status_of(a, "copy of happy.jpg"), PhotoStatus::Duplicate);
    assert_eq!(status_of(a, "broken.jpg"), PhotoStatus::Unreadable);
    assert_eq!(status_of(a, "portrait.jpg"), PhotoStatus::Ok);
    let p005 = a.session().project.photos.iter().find(|p| p.entry.path.to_string_lossy().contains("P005")).unwrap();
    assert_eq!(p005.entry.status, PhotoStatus::OtherPerson);
    assert!(said(a, "skipped") && said(a, "notes.txt") && said(a, "portrait.xmp"), "no skip summary: {:#?}", a.messages());
    assert!(said(a, "imported 7 photo(s)"), "{:#?}", a.messages());
    // Thumbnails were written into the project.
    let thumbs = a.session().folder.join(mystyle::project::THUMBNAILS_DIR);
    assert!(std::fs::read_dir(&thumbs).map(|d| d.count()).unwrap_or(0) >= 5, "no thumbnails in {}", thumbs.display());

    // Badges on screen, and a reason on hover.
    for badge in ["duplicate", "other person", "unreadable"] {
        assert!(h.query_by_label(badge).is_some(), "no '{badge}' badge on screen");
    }
    assert!(h.query_all_by_label("ok").count() >= 4, "fewer than four 'ok' badges");
    h.get_by_label("other person").hover();
    h.run_steps(3);
    assert!(h.query_by_label_contains("looks like another person").is_some(), "hovering the badge shows no reason");

    // Include the other person, leave a good photo out: the choice is kept and counted.
    let a = app(&h);
    let other = a.session().project.photos.iter().position(|p| p.entry.status == PhotoStatus::OtherPerson).unwrap();
    let neutral = a.session().project.photos.iter().position(|p| p.entry.path.ends_with("P002/neutral.jpg")).unwrap();
    let used_before = (0..7).filter(|&i| a.session().included(i)).count();
    support::app_mut(&mut h).apply(mystyle::app::Intent::SetIncluded(other, true));
    support::app_mut(&mut h).apply(mystyle::app::Intent::SetIncluded(neutral, false));
    h.step();
    let s = app(&h).session();
    assert!(s.included(other) && !s.included(neutral));
    assert_eq!((0..7).filter(|&i| s.included(i)).count(), used_before);
    assert!(s.is_dirty(), "a changed choice is an unsaved change");
    // Autosave writes it a few seconds later, without being asked.
    wait_until(&mut h, "the autosave", Duration::from_secs(30), |a| !a.session().is_dirty());
    let saved = mystyle::project::Project::open(&app(&h).session().folder).unwrap();
    assert_eq!((saved.photos[other].included, saved.photos[neutral].included), (Some(true), Some(false)));
}

#[test]
fn photos_dropped_later_are_judged_with_the_whole_set() {
    let dir = common::scratch("ui-photos-again");
    let mut h = open(&dir, None);
    // One photo alone is the person by default.
    drop_files(&mut h, &[fixture("P005", "neutral")]);
    wait_until(&mut h, "the first import", Duration::from_secs(300), |a| !a.importing() && a.session().project.photos.len() == 1);
    assert_eq!(status_of(app(&h), "neutral.jpg"), PhotoStatus::Ok);
    // Two photos of someone else follow: the set is now theirs, and the first photo is another person.
    drop_files(&mut h, &[fixture("P003", "happy"), fixture("P003", "sad")]);
    wait_until(&mut h, "the second import", Duration::from_secs(300), |a| !a.importing() && a.session().project.photos.len() == 3);
    let a = app(&h);
    assert_eq!(a.session().project.photos[0].entry.status, PhotoStatus::OtherPerson, "{:#?}", a.messages());
    assert!(said(a, "photo 1 is now other person"), "the change was not told: {:#?}", a.messages());
    assert!(!a.session().included(0));
    // A copy of a photo already in the project, dropped with a new one.
    let copy = dir.join("happy again.jpg");
    std::fs::copy(fixture("P003", "happy"), &copy).unwrap();
    drop_files(&mut h, &[copy, fixture("P003", "neutral")]);
    wait_until(&mut h, "the third import", Duration::from_secs(300), |a| !a.importing() && a.session().project.photos.len() == 5);
    let a = app(&h);
    assert_eq!(status_of(a, "happy again.jpg"), PhotoStatus::Duplicate);
    assert_eq!(status_of(a, "P003/neutral.jpg"), PhotoStatus::Ok);
    assert_eq!(a.session().project.photos[0].entry.status, PhotoStatus::OtherPerson);
    let i = a.session().project.photos.iter().position(|p| p.entry.path.ends_with("happy again.jpg")).unwrap();
    let reason = &a.session().project.photos[i].entry.reason;
    assert!(reason.contains("same photo as happy.jpg"), "{reason}");
    assert!(!a.session().included(i), "a duplicate is used for personalizing by default");
    assert!(said(a, "imported 2 photo(s)") && said(a, "1 duplicate") && said(a, "1 ok"), "{:#?}", a.messages());
}

#[test]
fn cancelling_an_import_keeps_the_photos_analysed_so_far() {
    let dir = common::scratch("ui-photos-cancel");
    let mut h = open(&dir, None);
    let folders: Vec<_> = ["P001", "P002", "P003"].iter().map(|p| common::fixture(&format!("openpeople/{p}"))).collect();
    drop_files(&mut h, &folders);
    wait_until(&mut h, "the first analysed photo", Duration::from_secs(300), |a| a.import_progress().is_some_and(|(done, _)| done >= 1));
    let (_, total) = app(&h).import_progress().unwrap();
    h.get_by_label("Cancel").click();
    wait_until(&mut h, "the cancellation", Duration::from_secs(60), |a| !a.importing());
    let a = app(&h);
    let kept = a.session().project.photos.len();
    assert!(said(a, "import cancelled; kept"), "{:#?}", a.messages());
    assert!(kept >= 1 && kept < total, "{kept} of {total} photos kept after cancelling");
}

#[test]
fn row18_a_panorama_and_a_50_megapixel_photo_import_while_the_window_keeps_drawing() {
    let dir = common::scratch("ui-photos-row18");
    let panorama = dir.join("panorama.png");
    image::RgbImage::from_fn(20000, 600, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, 90])).save(&panorama).unwrap();
    let big = dir.join("big.jpg");
    image::RgbImage::from_fn(8688, 5792, |x, y| image::Rgb([(x / 40 % 256) as u8, (y / 40 % 256) as u8, 120])).save(&big).unwrap();
    let mut h = open(&dir, None);
    drop_files(&mut h, &[panorama, big, fixture("P003", "neutral")]);
    let slowest = wait_until(&mut h, "the import", Duration::from_secs(300), |a| !a.importing() && a.session().project.photos.len() == 3);
    assert!(slowest < FRAME_LIMIT, "a frame took {slowest:?} while huge photos were decoded");
    let a = app(&h);
    assert_eq!(status_of(a, "panorama.png"), PhotoStatus::NoFace);
    assert_eq!(status_of(a, "big.jpg"), PhotoStatus::NoFace);
    assert_eq!(status_of(a, "neutral.jpg"), PhotoStatus::Ok);
    // Previews are small textures, never the photo itself.
    let largest = h.ctx.tex_manager().read().allocated().map(|(_, meta)| meta.size[0].max(meta.size[1])).max().unwrap_or(0);
    assert!(largest <= 2048, "a texture of {largest} px was uploaded");
}

#[test]
fn row20_without_a_file_dialog_the_user_is_told_and_typed_paths_still_import() {
    let dir = common::scratch("ui-photos-row20");
    let mut h = open(&dir, None);
    // No desktop portal or dialog program in the test environment: the dialog cannot be shown.
    h.get_by_label("Add photos…").click();
    wait_until(&mut h, "the dialog's answer", Duration::from_secs(60), |a| said(a, "no file dialog is available") || said(a, "cancelled"));
    assert!(said(app(&h), "no file dialog is available"), "an unavailable dialog was not told apart from a cancelled one: {:#?}", app(&h).messages());
    // The typed path works instead.
    let field = h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Path");
    field.focus();
    field.type_text(&fixture("P003", "happy").display().to_string());
    h.step();
    h.get_by_label("Add").click();
    h.step();
    wait_until(&mut h, "the typed import", Duration::from_secs(300), |a| !a.importing() && a.session().project.photos.len() == 1);
    assert_eq!(status_of(app(&h), "happy.jpg"), PhotoStatus::Ok);
}

/// Every piece of text painted in the last frame.
fn painted_text(h: &support::App) -> Vec<String> {
    fn collect(shape: &egui::Shape, out: &mut Vec<String>) {
        match shape {
            egui::Shape::Text(text) => out.push(text.galley.text().to_owned()),
            egui::Shape::Vec(shapes) => shapes.iter().for_each(|s| collect(s, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for clipped in &h.output().shapes {
        collect(&clipped.shape, &mut out);
    }
    out
}

#[test]
fn files_dragged_over_the_window_are_named_on_an_overlay() {
    let dir = common::scratch("ui-photos-hover");
    let mut h = open(&dir, None);
    let overlay = |h: &support::App| painted_text(h).into_iter().find(|t| t.starts_with("Drop to import photos"));
    h.step();
    assert_eq!(overlay(&h), None, "an overlay with nothing dragged");
    for name in ["a.jpg", "b.png", "holiday", "d.heic"] {
        h.input_mut().hovered_files.push(egui::HoveredFile { path: Some(dir.join(name)), ..Default::default() });
    }
    h.step();
    let text = overlay(&h).expect("no overlay while files are dragged over the window");
    assert!(text.contains("a.jpg, b.png, holiday") && text.contains("(4 items)"), "{text}");
    // Dragged away: gone, and nothing was imported.
    h.input_mut().hovered_files.clear();
    h.step();
    assert_eq!(overlay(&h), None);
    assert!(!app(&h).importing() && app(&h).session().project.photos.is_empty());
}


#[test]
fn quit_from_the_menu_or_ctrl_q_closes_the_window_as_its_close_button_does() {
    let dir = common::scratch("ui-photos-quit");
    let mut h = open(&dir, None);
    let closes = |h: &support::App| {
        h.output().viewport_output.get(&egui::ViewportId::ROOT).is_some_and(|v| v.commands.contains(&egui::ViewportCommand::Close))
    };
    h.step();
    assert!(!closes(&h));
    // Ctrl+Q in one frame (the harness would spread a queued key press over several frames, and only the
    // last frame's output can be read).
    h.input_mut().events.push(egui::Event::ModifiersChanged(egui::Modifiers::COMMAND));
    h.input_mut().events.push(egui::Event::Key { key: egui::Key::Q, physical_key: None, pressed: true, repeat: false, modifiers: egui::Modifiers::COMMAND });
    h.step();
    h.input_mut().events.push(egui::Event::ModifiersChanged(egui::Modifiers::NONE));
    assert!(closes(&h), "Ctrl+Q did not ask the window to close");
    h.step();
    assert!(!closes(&h));
    h.get_by_label("Project").click();
    h.run_steps(2);
    h.get_by_label("Quit Ctrl+Q").click();
    h.step();
    assert!(closes(&h), "Project > Quit did not ask the window to close");
}
