//! Native file dialogs (`rfd`) on a thread, so the window keeps drawing while one is open. A dialog that
//! returns nothing almost at once was never shown (no desktop portal, no dialog program): that is told
//! apart from the user cancelling, and the user is pointed at drag and drop and the typed-path fields.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// A dialog that comes back empty faster than this was not shown at all.
pub const NOT_SHOWN_BELOW: Duration = Duration::from_millis(250);

/// What a dialog is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Photos (files) to import.
    Photos,
    /// A folder of photos to import.
    PhotoFolder,
    /// A new photo of the person to start editing from.
    BasePhoto,
    /// A StyleGAN2 checkpoint for the Model menu.
    Checkpoint,
    /// A project folder to open.
    Project,
}

/// How a dialog ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The user chose these paths.
    Chosen(Vec<PathBuf>),
    /// The user closed the dialog without choosing.
    Cancelled,
    /// No dialog could be shown on this system.
    Unavailable,
}

impl Outcome {
    /// Classifies a dialog's result by how long it was open.
    pub fn of(paths: Option<Vec<PathBuf>>, open_for: Duration) -> Self {
        match paths {
            Some(paths) if !paths.is_empty() => Outcome::Chosen(paths),
            _ if open_for < NOT_SHOWN_BELOW => Outcome::Unavailable,
            _ => Outcome::Cancelled,
        }
    }
}

/// An open dialog.
pub struct Dialog {
    /// What it is for.
    pub purpose: Purpose,
    result: Receiver<Outcome>,
}

impl Dialog {
    /// Opens the dialog for `purpose` on a thread; `wake` is called when it closes.
    pub fn open(purpose: Purpose, wake: impl Fn() + Send + 'static) -> Self {
        let (tx, result) = mpsc::channel();
        std::thread::Builder::new()
            .name("file-dialog".into())
            .spawn(move || {
                let started = Instant::now();
                let paths = match purpose {
                    Purpose::Photos => rfd::FileDialog::new()
                        .set_title("Add photos of the person")
                        .add_filter("Photos", &["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif", "heic", "avif"])
                        .add_filter("All files", &["*"])
                        .pick_files(),
                    Purpose::BasePhoto => rfd::FileDialog::new()
                        .set_title("Open a photo of the person to edit")
                        .add_filter("Photos", &["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"])
                        .pick_file()
                        .map(|p| vec![p]),
                    Purpose::PhotoFolder => rfd::FileDialog::new().set_title("Add a folder of photos").pick_folder().map(|p| vec![p]),
                    Purpose::Checkpoint => rfd::FileDialog::new()
                        .set_title("Open a StyleGAN2 checkpoint")
                        .add_filter("StyleGAN2 checkpoint", &["pt", "pth", "safetensors"])
                        .pick_file()
                        .map(|p| vec![p]),
                    Purpose::Project => rfd::FileDialog::new().set_title("Open a project folder (.mystyle)").pick_folder().map(|p| vec![p]),
                };
                let _ = tx.send(Outcome::of(paths, started.elapsed()));
                wake();
            })
            .expect("spawning a thread only fails when the OS is out of resources");
        Self { purpose, result }
    }

    /// The outcome once the dialog has closed.
    pub fn poll(&self) -> Option<Outcome> {
        self.result.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_empty_answer_means_no_dialog_and_a_slow_one_means_cancelled() {
        assert_eq!(Outcome::of(None, Duration::from_millis(5)), Outcome::Unavailable);
        assert_eq!(Outcome::of(None, Duration::from_secs(3)), Outcome::Cancelled);
        assert_eq!(Outcome::of(Some(vec![]), Duration::from_secs(3)), Outcome::Cancelled);
        let chosen = Outcome::of(Some(vec![PathBuf::from("a.jpg")]), Duration::from_millis(1));
        assert_eq!(chosen, Outcome::Chosen(vec![PathBuf::from("a.jpg")]));
    }
}
