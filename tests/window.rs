//! The editor window under Xvfb: a real X server, a real window, screenshots taken from the X server
//! (ImageMagick `import`) and checked for content. A fresh start shows a face of the generator; a
//! personalized project (a few fixture photos, a short budget) reopens with its photos, the editor and
//! its sliders, and a screenshot of each area is kept under `$CARGO_TARGET_TMPDIR/window*/`.
//! Needs `Xvfb` and `import` (Debian: xvfb, imagemagick), which the README's test command installs.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Stops the child process when dropped (SIGTERM, so Xvfb removes its lock and socket; SIGKILL if it
/// lingers), so a failing test leaves no X server or window behind.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        for _ in 0..50 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn require(tool: &str, package: &str) {
    let found = Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().map(|o| o.status.success());
    assert!(found.unwrap_or(false), "`{tool}` is missing: install the Debian package {package} (see README)");
}

fn start_xvfb() -> (Killed, String) {
    require("Xvfb", "xvfb");
    let display = (90..190).find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() && !Path::new(&format!("/tmp/.X{n}-lock")).exists()).expect("a free X display number");
    let server = Command::new("Xvfb")
        .args([format!(":{display}").as_str(), "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Xvfb");
    let socket = format!("/tmp/.X11-unix/X{display}");
    for _ in 0..100 {
        if Path::new(&socket).exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(Path::new(&socket).exists(), "Xvfb did not start on :{display}");
    (Killed(server), format!(":{display}"))
}

/// Parses "face drawn at x=.. y=.. w=.. h=.. points, pixels_per_point=.." into a pixel rectangle.
fn parse_face_rect(line: &str) -> Option<[u32; 4]> {
    let field = |name: &str| -> Option<f32> {
        let start = line.find(&format!("{name}="))? + name.len() + 1;
        line[start..].split([' ', ',']).next()?.parse().ok()
    };
    let ppp = field("pixels_per_point")?;
    Some(["x", "y", "w", "h"].map(|k| field(k).map(|v| (v * ppp).round() as u32)).map(Option::unwrap))
}

/// One X server at a time: display numbers are picked by looking for free ones.
static X_SERVER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A private home for the app (its remembered state and default project folder) and an XDG runtime folder.
fn app_home(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let home = dir.join("home");
    let runtime = dir.join("xdg-runtime");
    std::fs::create_dir_all(home.join("data")).unwrap();
    std::fs::create_dir_all(&runtime).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    (home, runtime)
}

/// Starts the app on `display`; its log lines (also echoed as `app: ...`) arrive on the receiver.
fn start_app(display: &str, home: &Path, runtime: &Path) -> (Killed, mpsc::Receiver<String>) {
    let mut app = Command::new(env!("CARGO_BIN_EXE_mystyle"))
        .args(["--backend", "cpu"])
        .env("DISPLAY", display)
        .env_remove("WAYLAND_DISPLAY")
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_RUNTIME_DIR", runtime)
        .env("RUST_LOG", "warn,mystyle=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mystyle");
    let stderr = app.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("app: {line}");
            let _ = tx.send(line);
        }
    });
    (Killed(app), rx)
}

/// Waits for a log line containing each of `wanted` (in any order); returns them in the order asked.
fn wait_for_lines(rx: &mpsc::Receiver<String>, wanted: &[&str], limit: Duration) -> Vec<String> {
    let deadline = std::time::Instant::now() + limit;
    let mut found: Vec<Option<String>> = vec![None; wanted.len()];
    while found.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = rx.recv_timeout(left).unwrap_or_else(|_| panic!("the window never logged {wanted:?} (see app: lines above)"));
        for (slot, w) in found.iter_mut().zip(wanted) {
            if slot.is_none() && line.contains(w) {
                *slot = Some(line.clone());
            }
        }
    }
    found.into_iter().map(Option::unwrap).collect()
}

/// Captures the window into `path` and reads it back.
fn screenshot(display: &str, path: &Path) -> image::RgbImage {
    let status = Command::new("import").args(["-display", display, "-window", mystyle::app::WINDOW_TITLE]).arg(path).status().expect("run import");
    assert!(status.success(), "import could not capture the window");
    println!("screenshot: {}", path.display());
    let img = image::open(path).expect("the screenshot is a readable image").to_rgb8();
    assert!(img.width() >= 720 && img.height() >= 480, "window is {}x{}", img.width(), img.height());
    img
}

/// Checks that the face in `rect` of the screenshot is a picture, not a flat area.
fn assert_face(img: &image::RgbImage, [x, y, w, h]: [u32; 4]) {
    assert!(x + w <= img.width() && y + h <= img.height(), "face rect {x},{y} {w}x{h} outside {:?}", img.dimensions());
    assert!(w >= 200, "the face is drawn only {w} px wide");
    let face = image::imageops::crop_imm(img, x, y, w, h).to_image();
    let luma = face.pixels().map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64);
    let (_, spread) = common::mean_std(luma);
    let mut colours: Vec<[u8; 3]> = face.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    println!("face area: luminance std {spread:.1}, {} distinct colours", colours.len());
    assert!(spread > 20.0, "the face area is nearly uniform (luminance std {spread:.1})");
    assert!(colours.len() > 300, "the face area has only {} colours", colours.len());
}

#[test]
fn window_opens_and_shows_a_face() {
    require("import", "imagemagick");
    let _one = X_SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = common::scratch("window");
    let (home, runtime) = app_home(&dir);
    let (_xvfb, display) = start_xvfb();
    let (app, rx) = start_app(&display, &home, &runtime);
    let line = wait_for_lines(&rx, &["face drawn at"], Duration::from_secs(180)).remove(0);
    let rect = parse_face_rect(&line).expect("face rectangle in the log line");
    std::thread::sleep(Duration::from_millis(1500));
    let img = screenshot(&display, &dir.join("window.png"));
    drop(app);
    assert_face(&img, rect);
}

/// Imports `names` of P003 and personalizes them with a short budget through the library, as the window
/// would; returns the project folder.
fn personalized_project(projects: &Path, names: &[&str]) -> std::path::PathBuf {
    use burn::tensor::Device;
    use mystyle::prior::job::{Budget, PersonalizeEvent, PersonalizeInput, PersonalizeJob, TUNING_MEMORY_BYTES};
    let device = Device::flex();
    let models = mystyle::photoset::SetModels {
        detector: mystyle::face::detect::FaceDetector::load(&device).unwrap(),
        attributes: mystyle::attributes::AttributeModels::load(&device).unwrap(),
    };
    let paths: Vec<_> = names.iter().map(|n| common::fixture(&format!("openpeople/P003/{n}.jpg"))).collect();
    let entries = mystyle::photoset::analyse_set(&paths, &models, |_, _| {});
    let mut session = mystyle::app::session::Session::untitled(projects);
    let folder = session.folder.clone();
    session.project.add_photos(&folder, entries).unwrap();
    let chosen: Vec<usize> = (0..names.len()).filter(|&i| session.included(i)).collect();
    let photos = chosen.iter().map(|&i| session.project.photos[i].entry.face().unwrap().aligned_generator.clone()).collect();
    let budget = Budget {
        inversion: mystyle::prior::invert::InversionSettings { starts: 1, steps: 4, ..Default::default() },
        tuning: mystyle::prior::tune::TuningSettings { steps: 8, batch: 2, learning_rate: 1e-3, patience: 1000, ..Default::default() },
        checkpoint_every: 4,
        preview_every: 4,
        organize: true,
    };
    let input = PersonalizeInput { photos, project: folder.clone(), budget, resume: false, seed: 1, model: mystyle::generator::ModelSource::DefaultDcgan, memory_budget_bytes: TUNING_MEMORY_BYTES };
    let job = PersonalizeJob::spawn(input, device, || {});
    while let Some(event) = job.wait() {
        if let PersonalizeEvent::Failed(message) = event {
            panic!("personalizing failed: {message}");
        }
    }
    session.editor.tuned_photos = chosen;
    session.save().unwrap();
    folder
}

/// Parses "NAME x=.. y=.. w=.. h=.." out of the areas log line, in pixels.
fn parse_area(line: &str, name: &str, ppp: f32) -> [u32; 4] {
    let start = line.find(&format!("{name} x=")).unwrap_or_else(|| panic!("no {name} in {line}")) + name.len() + 1;
    let fields: Vec<f32> = line[start..].split([';', ' ']).take(4).map(|f| f.split('=').nth(1).unwrap().parse().unwrap()).collect();
    [0, 1, 2, 3].map(|i| (fields[i] * ppp).round().max(0.0) as u32)
}

/// How many pixels have a clearly coloured (not grey) value: thumbnails and faces, not the UI's text.
fn colourful_pixels(img: &image::RgbImage) -> usize {
    img.pixels().filter(|p| p.0.iter().max().unwrap() - p.0.iter().min().unwrap() > 30).count()
}

#[test]
fn a_personalized_project_reopens_with_photos_editor_and_sliders_in_every_area() {
    require("import", "imagemagick");
    let dir = common::scratch("window-project");
    let (home, runtime) = app_home(&dir);
    let names = ["neutral", "happy", "sad", "angry", "playful", "shocked", "pensive", "front_view"];
    let folder = personalized_project(&home.join("data/mystyle/projects"), &names);
    // The window remembers the last project (eframe's storage: RON, the app's state under "app").
    let state = format!("(last_project:Some(\"{}\"))", folder.display());
    let ron = format!("{{\"app\":\"{}\"}}", state.replace('\\', "\\\\").replace('"', "\\\""));
    std::fs::create_dir_all(home.join("data/mystyle")).unwrap();
    std::fs::write(home.join("data/mystyle/app.ron"), ron).unwrap();

    let _one = X_SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let (_xvfb, display) = start_xvfb();
    let (app, rx) = start_app(&display, &home, &runtime);
    let lines = wait_for_lines(&rx, &["editor ready", "face drawn at", "areas (points)"], Duration::from_secs(300));
    assert!(lines[0].contains(&format!("{} photo(s)", names.len())), "{}", lines[0]);
    let rect = parse_face_rect(&lines[1]).expect("face rectangle in the log line");
    std::thread::sleep(Duration::from_millis(2000));
    let img = screenshot(&display, &dir.join("window.png"));
    drop(app);
    assert_face(&img, rect);
    let ppp: f32 = lines[1].rsplit('=').next().unwrap().trim().parse().unwrap();
    for name in ["photos", "personalize", "edit"] {
        let [x, y, w, h] = parse_area(&lines[2], name, ppp);
        let (w, h) = (w.min(img.width() - x), h.min(img.height() - y));
        let crop = image::imageops::crop_imm(&img, x, y, w, h).to_image();
        let path = dir.join(format!("{name}.png"));
        crop.save(&path).unwrap();
        println!("{name} area: {w}x{h} px, {} coloured pixels, {}", colourful_pixels(&crop), path.display());
        if name == "photos" {
            assert!(colourful_pixels(&crop) > 8 * 3000, "the photos area shows too few thumbnails");
        }
    }
}
