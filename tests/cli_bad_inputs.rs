//! Mistakes a user makes on the command line end with one clear line naming the file or folder, exit code
//! 1, and nothing left behind: a checkpoint that does not exist or is not one (refused before any photo is
//! imported), a folder without photos, a project that does not exist, an export into a missing folder.

mod common;

use std::path::Path;
use std::process::Command;

/// Runs `mystyle --backend cpu ARGS` in `dir`; returns (exit code, stderr).
fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mystyle")).current_dir(dir).args(["--backend", "cpu"]).args(args).env("RUST_LOG", "error").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn error_line(stderr: &str) -> &str {
    stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("no error line in: {stderr}"))
}

#[test]
fn bad_command_line_inputs_fail_with_one_clear_line_and_leave_nothing_behind() {
    let dir = common::scratch("cli-bad-inputs");
    let photos = common::fixture("openpeople/P006");
    let photos = photos.to_str().unwrap();
    std::fs::write(dir.join("notes.pt"), b"just some notes").unwrap();
    std::fs::create_dir_all(dir.join("empty")).unwrap();

    let (code, err) = run(&dir, &["personalize", photos, "--model", "missing.pt", "--out", "a.mystyle"]);
    assert_eq!(code, 1, "{err}");
    assert!(error_line(&err).contains("missing.pt") && !err.contains("analysed"), "the checkpoint was not refused first: {err}");
    let (code, err) = run(&dir, &["personalize", photos, "--model", "notes.pt", "--out", "b.mystyle", "--estimate"]);
    assert_eq!(code, 1, "{err}");
    assert!(error_line(&err).contains("notes.pt") && error_line(&err).contains("neither a PyTorch checkpoint"), "{err}");
    let (code, err) = run(&dir, &["personalize", "empty", "--out", "c.mystyle"]);
    assert_eq!(code, 1, "{err}");
    assert!(error_line(&err).contains("no usable photos in empty"), "{err}");
    let (code, err) = run(&dir, &["edit", "nosuch.mystyle", "--from", "mean", "--age", "30", "--out", "x.png"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(error_line(&err), "error: nosuch.mystyle: no such project folder");
    let (code, err) = run(&dir, &["inspect", "no_such_folder"]);
    assert_eq!(code, 1, "{err}");
    assert!(error_line(&err).contains("no photos found in no_such_folder"), "{err}");
    let (code, err) = run(&dir, &["sample", "--out", "/nonexistent-folder/x.png"]);
    assert_eq!(code, 1, "{err}");
    let line = error_line(&err);
    assert_eq!(line.matches("No such file or directory").count(), 1, "the reason is repeated: {line}");
    for left in ["a.mystyle", "b.mystyle", "c.mystyle", "nosuch.mystyle"] {
        assert!(!dir.join(left).exists(), "{left} was left behind");
    }
}
