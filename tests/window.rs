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

/// Starts the app on `display` with `envs` added; its log lines (also echoed as `app: ...`) arrive in the
/// returned log.
fn start_app(display: &str, home: &Path, runtime: &Path, envs: &[(&str, &str)]) -> (Killed, AppLog) {
    let mut app = Command::new(env!("CARGO_BIN_EXE_mystyle"))
        .args(["--backend", "cpu"])
        .envs(envs.iter().copied())
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
    (Killed(app), AppLog { rx, seen: Vec::new() })
}

/// The app's log as it arrives, with every line seen so far (a line can be waited for after it came).
struct AppLog {
    rx: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl AppLog {
    /// Waits for a line containing each of `wanted` (in any order, seen before or not); returns them in the
    /// order asked.
    fn wait_for(&mut self, wanted: &[&str], limit: Duration) -> Vec<String> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let found: Vec<Option<String>> = wanted.iter().map(|w| self.seen.iter().find(|l| l.contains(w)).cloned()).collect();
            if found.iter().all(Option::is_some) {
                return found.into_iter().map(Option::unwrap).collect();
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self.rx.recv_timeout(left).unwrap_or_else(|_| panic!("the window never logged {wanted:?} (see app: lines above)"));
            self.seen.push(line);
        }
    }

    /// The newest line containing `wanted` among everything logged so far (waiting for a first one).
    fn latest(&mut self, wanted: &str, limit: Duration) -> String {
        self.wait_for(&[wanted], limit);
        self.seen.extend(self.rx.try_iter());
        self.seen.iter().rev().find(|l| l.contains(wanted)).cloned().unwrap()
    }
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
    let (app, mut log) = start_app(&display, &home, &runtime, &[]);
    log.wait_for(&["face drawn at"], Duration::from_secs(180));
    std::thread::sleep(Duration::from_millis(1500));
    let rect = parse_face_rect(&log.latest("face drawn at", Duration::ZERO)).expect("face rectangle in the log line");
    let img = screenshot(&display, &dir.join("window.png"));
    drop(app);
    assert_face(&img, rect);
}

/// A project of `names` of P003 imported through the library, as the window would, and saved.
fn imported_project(projects: &Path, names: &[&str]) -> mystyle::app::session::Session {
    let device = burn::tensor::Device::flex();
    let models = mystyle::photoset::SetModels {
        detector: mystyle::face::detect::FaceDetector::load(&device).unwrap(),
        attributes: mystyle::attributes::AttributeModels::load(&device).unwrap(),
    };
    let paths: Vec<_> = names.iter().map(|n| common::fixture(&format!("openpeople/P003/{n}.jpg"))).collect();
    let entries = mystyle::photoset::analyse_set(&paths, &models, |_, _| {});
    let mut session = mystyle::app::session::Session::untitled(projects);
    let folder = session.folder.clone();
    session.project.add_photos(&folder, entries).unwrap();
    session.save().unwrap();
    session
}

/// [`imported_project`], then personalized with a short budget through the library; returns the folder.
fn personalized_project(projects: &Path, names: &[&str]) -> std::path::PathBuf {
    use mystyle::prior::job::{PersonalizeEvent, PersonalizeInput, PersonalizeJob, TUNING_MEMORY_BYTES};
    let mut session = imported_project(projects, names);
    let folder = session.folder.clone();
    let chosen: Vec<usize> = (0..names.len()).filter(|&i| session.included(i)).collect();
    let photos = chosen.iter().map(|&i| session.project.photos[i].entry.face().unwrap().aligned_generator.clone()).collect();
    let budget = mystyle::app::short_budget(8);
    let input = PersonalizeInput { photos, project: folder.clone(), budget, resume: false, seed: 1, model: mystyle::generator::ModelSource::DefaultDcgan, memory_budget_bytes: TUNING_MEMORY_BYTES, mirror_profiles: false };
    let job = PersonalizeJob::spawn(input, burn::tensor::Device::flex(), || {});
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
    remember_project(&home, &folder);

    let _one = X_SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let (_xvfb, display) = start_xvfb();
    let (app, mut log) = start_app(&display, &home, &runtime, &[]);
    let lines = log.wait_for(&["editor ready", "face drawn at", "areas (points)"], Duration::from_secs(300));
    assert!(lines[0].contains(&format!("{} photo(s)", names.len())), "{}", lines[0]);
    std::thread::sleep(Duration::from_millis(2000));
    let rect = parse_face_rect(&log.latest("face drawn at", Duration::ZERO)).expect("face rectangle in the log line");
    let areas = log.latest("areas (points)", Duration::ZERO);
    let img = screenshot(&display, &dir.join("window.png"));
    drop(app);
    assert_face(&img, rect);
    let ppp: f32 = lines[1].rsplit('=').next().unwrap().trim().parse().unwrap();
    let photos = save_areas(&img, &areas, ppp, &dir, "").remove(0);
    assert!(colourful_pixels(&photos) > 8 * 3000, "the photos area shows too few thumbnails");
}

/// Makes the app reopen `folder` at its next start (eframe's storage: RON, the app's state under "app").
fn remember_project(home: &Path, folder: &Path) {
    let state = format!("(last_project:Some(\"{}\"))", folder.display());
    let ron = format!("{{\"app\":\"{}\"}}", state.replace('\\', "\\\\").replace('"', "\\\""));
    std::fs::create_dir_all(home.join("data/mystyle")).unwrap();
    std::fs::write(home.join("data/mystyle/app.ron"), ron).unwrap();
}

/// Saves the photos, personalize and edit areas of a screenshot as `NAME{suffix}.png` in `dir`; returns them.
fn save_areas(img: &image::RgbImage, areas_line: &str, ppp: f32, dir: &Path, suffix: &str) -> Vec<image::RgbImage> {
    ["photos", "personalize", "edit"]
        .iter()
        .map(|name| {
            let [x, y, w, h] = parse_area(areas_line, name, ppp);
            let (w, h) = (w.min(img.width() - x), h.min(img.height() - y));
            let crop = image::imageops::crop_imm(img, x, y, w, h).to_image();
            let path = dir.join(format!("{name}{suffix}.png"));
            crop.save(&path).unwrap();
            println!("{name} area: {w}x{h} px, {} coloured pixels, {}", colourful_pixels(&crop), path.display());
            crop
        })
        .collect()
}

/// Synthetic pointer input through the X server's XTEST extension, spoken directly over the display's
/// socket (X11 protocol, little-endian; no client library needed).
struct XInput {
    socket: std::os::unix::net::UnixStream,
    opcode: u8,
    root: u32,
}

impl XInput {
    fn connect(display: &str) -> Self {
        use std::io::{Read, Write};
        let path = format!("/tmp/.X11-unix/X{}", display.trim_start_matches(':'));
        let mut socket = std::os::unix::net::UnixStream::connect(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        socket.write_all(&[b'l', 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        let mut head = [0u8; 8];
        socket.read_exact(&mut head).unwrap();
        assert_eq!(head[0], 1, "the X server refused the connection");
        let mut setup = vec![0u8; u16::from_le_bytes([head[6], head[7]]) as usize * 4];
        socket.read_exact(&mut setup).unwrap();
        // QueryExtension("XTEST"): 8-byte header, the name padded to 4 bytes.
        let mut query = vec![98u8, 0, 4, 0, 5, 0, 0, 0];
        query.extend(b"XTEST\0\0\0");
        socket.write_all(&query).unwrap();
        let mut reply = [0u8; 32];
        socket.read_exact(&mut reply).unwrap();
        assert!(reply[0] == 1 && reply[8] == 1, "the X server has no XTEST extension");
        // The first screen's root window: after the 32-byte fixed part, the vendor string (padded to 4
        // bytes) and 8 bytes per pixmap format.
        let vendor = u16::from_le_bytes([setup[16], setup[17]]) as usize;
        let screen = 32 + vendor.div_ceil(4) * 4 + 8 * setup[21] as usize;
        let root = u32::from_le_bytes(setup[screen..screen + 4].try_into().unwrap());
        Self { socket, opcode: reply[9], root }
    }

    /// Gives the keyboard focus to the top-level window under the pointer (Xvfb has no window manager to
    /// do it): QueryPointer on the root, then SetInputFocus on the child it names.
    fn focus_under_pointer(&mut self) {
        use std::io::{Read, Write};
        let mut query = vec![38u8, 0, 2, 0];
        query.extend(self.root.to_le_bytes());
        self.socket.write_all(&query).unwrap();
        let mut reply = [0u8; 32];
        self.socket.read_exact(&mut reply).unwrap();
        assert_eq!(reply[0], 1, "QueryPointer failed: {reply:?}");
        let child = u32::from_le_bytes(reply[12..16].try_into().unwrap());
        assert_ne!(child, 0, "no window under the pointer");
        let mut focus = vec![42u8, 1, 3, 0];
        focus.extend(child.to_le_bytes());
        focus.extend(0u32.to_le_bytes());
        self.socket.write_all(&focus).unwrap();
        self.socket.flush().unwrap();
    }

    /// XTestFakeInput (36 bytes): event type, detail (button), and for motion the root position.
    fn fake(&mut self, kind: u8, detail: u8, x: i16, y: i16) {
        use std::io::Write;
        let mut request = [0u8; 36];
        request[..4].copy_from_slice(&[self.opcode, 2, 9, 0]);
        request[4] = kind;
        request[5] = detail;
        request[24..26].copy_from_slice(&x.to_le_bytes());
        request[26..28].copy_from_slice(&y.to_le_bytes());
        self.socket.write_all(&request).unwrap();
        self.socket.flush().unwrap();
    }

    fn move_to(&mut self, [x, y]: [f32; 2]) {
        self.fake(6, 0, x.round() as i16, y.round() as i16);
    }

    fn button(&mut self, down: bool) {
        self.fake(if down { 4 } else { 5 }, 1, 0, 0);
    }

    /// A key pressed or released, by X keycode (Xvfb's default keymap: 37 Control_L, 24 q).
    fn key(&mut self, keycode: u8, down: bool) {
        self.fake(if down { 2 } else { 3 }, keycode, 0, 0);
    }

    fn click(&mut self, at: [f32; 2]) {
        self.move_to(at);
        std::thread::sleep(Duration::from_millis(150));
        self.button(true);
        std::thread::sleep(Duration::from_millis(80));
        self.button(false);
    }
}

/// The rectangle of a "widget NAME at x=.. y=.. w=.. h=.." log line, in points.
fn widget_rect(line: &str) -> [f32; 4] {
    let field = |name: &str| -> f32 {
        let start = line.find(&format!(" {name}=")).unwrap_or_else(|| panic!("no {name} in {line}")) + name.len() + 2;
        line[start..].split(' ').next().unwrap().parse().unwrap()
    };
    ["x", "y", "w", "h"].map(field)
}

/// The p50 and p99 in milliseconds after `label` ("UI frame time while dragging: p50 1.2 ms, p99 3.4 ms ...").
fn quantiles(line: &str, label: &str) -> (f64, f64) {
    let rest = &line[line.find(label).unwrap_or_else(|| panic!("no {label} in {line}")) + label.len()..];
    let number = |key: &str| -> f64 { rest[rest.find(key).unwrap() + key.len()..].trim_start().split(' ').next().unwrap().parse().unwrap() };
    (number("p50"), number("p99"))
}

#[test]
fn the_whole_flow_runs_in_a_real_window_and_frame_times_are_measured() {
    require("import", "imagemagick");
    let dir = common::scratch("window-flow");
    let (home, runtime) = app_home(&dir);
    let names = ["neutral", "happy", "sad", "angry", "playful", "shocked", "pensive", "front_view"];
    let folder = imported_project(&home.join("data/mystyle/projects"), &names).folder;
    remember_project(&home, &folder);

    let _one = X_SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let (_xvfb, display) = start_xvfb();
    let steps = "24";
    let (app, mut log) = start_app(&display, &home, &runtime, &[(mystyle::app::TUNING_STEPS_VAR, steps)]);
    let lines = log.wait_for(&["widget Start at", "face drawn at", "areas (points)"], Duration::from_secs(300));
    let ppp: f32 = lines[1].rsplit('=').next().unwrap().trim().parse().unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let [x, y, w, h] = widget_rect(&log.latest("widget Start at", Duration::ZERO));
    let mut input = XInput::connect(&display);
    std::thread::sleep(Duration::from_millis(500));
    input.click([(x + w / 2.0) * ppp, (y + h / 2.0) * ppp]);
    log.wait_for(&["personalizing on 8 photo(s)"], Duration::from_secs(30));
    // Mid-tuning: progress, loss plot and previews in the Personalize area.
    log.wait_for(&["checkpoint written"], Duration::from_secs(300));
    let img = screenshot(&display, &dir.join("window-tuning.png"));
    save_areas(&img, &log.latest("areas (points)", Duration::ZERO), ppp, &dir, "-tuning");
    let done = log.wait_for(&[&format!("personalized: {steps} tuning steps"), "UI frame time while personalizing", "widget first slider at"], Duration::from_secs(300));
    std::thread::sleep(Duration::from_millis(1500));
    let slider = log.latest("widget first slider at", Duration::ZERO);
    let img = screenshot(&display, &dir.join("window-personalized.png"));
    save_areas(&img, &log.latest("areas (points)", Duration::ZERO), ppp, &dir, "-personalized");

    // Drag the first slider from one end to the other, as a hand would, for about two seconds.
    let [x, y, w, h] = widget_rect(&slider);
    let (left, right, middle) = ((x + 4.0) * ppp, (x + w - 4.0) * ppp, (y + h / 2.0) * ppp);
    input.move_to([left, middle]);
    std::thread::sleep(Duration::from_millis(150));
    input.button(true);
    for i in 1..=50 {
        std::thread::sleep(Duration::from_millis(40));
        input.move_to([left + (right - left) * i as f32 / 50.0, middle]);
    }
    std::thread::sleep(Duration::from_millis(100));
    input.button(false);
    let dragged = log.wait_for(&["UI frame time while dragging"], Duration::from_secs(60)).remove(0);
    std::thread::sleep(Duration::from_millis(3000));
    let before = image::open(dir.join("window-personalized.png")).unwrap().to_rgb8();
    let img = screenshot(&display, &dir.join("window-edited.png"));
    let face = parse_face_rect(&log.latest("face drawn at", Duration::ZERO)).unwrap();
    save_areas(&img, &log.latest("areas (points)", Duration::ZERO), ppp, &dir, "-edited");
    // Ctrl+Q closes the window; eframe then stores the window's place and size and the app's state (the
    // open project) for the next start.
    input.focus_under_pointer();
    std::thread::sleep(Duration::from_millis(300));
    for (key, down) in [(37, true), (24, true), (24, false), (37, false)] {
        input.key(key, down);
        std::thread::sleep(Duration::from_millis(60));
    }
    let mut app = app;
    let exited = (0..300).find_map(|_| {
        std::thread::sleep(Duration::from_millis(100));
        app.0.try_wait().unwrap()
    });
    assert!(exited.is_some_and(|s| s.success()), "Ctrl+Q did not close the window: {exited:?}");
    let remembered = std::fs::read_to_string(home.join("data/mystyle/app.ron")).unwrap();
    assert!(remembered.contains("\"window\"") && remembered.contains(&folder.display().to_string()), "{remembered}");

    let (tune50, tune99) = quantiles(&done[1], "UI frame time while personalizing:");
    let (drag50, drag99) = quantiles(&dragged, "UI frame time while dragging:");
    println!("UI frame time (UI work), real window, CPU backend: tuning p50 {tune50} ms p99 {tune99} ms; dragging p50 {drag50} ms p99 {drag99} ms");
    println!("{}\n{dragged}", done[1]);
    if let Some(whole) = dragged.split("whole frames").nth(1) {
        println!("whole frames while dragging (UI, tessellation, painting):{whole}");
    }
    assert!(tune99 < 20.0 && drag99 < 20.0, "the window's UI work is slow: {} / {dragged}", done[1]);
    let whole99 = |line: &str| line.split("whole frames").nth(1).map(|w| quantiles(w, "").1);
    for line in [done[1].as_str(), dragged.as_str()] {
        if let Some(p99) = whole99(line) {
            assert!(p99 < 50.0, "whole frames are slow: {line}");
        }
    }
    // The drag moved the slider: the face on screen changed.
    let [fx, fy, fw, fh] = face;
    let crop = |i: &image::RgbImage| image::imageops::crop_imm(i, fx, fy, fw, fh).to_image();
    let (a, b) = (crop(&before), crop(&img));
    let change = a.as_raw().iter().zip(b.as_raw()).map(|(p, q)| p.abs_diff(*q) as f64).sum::<f64>() / a.as_raw().len() as f64;
    println!("face change after the drag: {change:.1} levels");
    assert!(change > 2.0, "dragging the slider left the face unchanged ({change:.1} levels)");
}
