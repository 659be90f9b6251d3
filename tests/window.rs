//! The editor window opens under Xvfb and shows a face: a real X server, a real window, a screenshot
//! taken from the X server (ImageMagick `import`), and the face area checked for content.
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

#[test]
fn window_opens_and_shows_a_face() {
    require("import", "imagemagick");
    let dir = common::scratch("window");
    let home = dir.join("home");
    let runtime = dir.join("xdg-runtime");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&runtime).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let (_xvfb, display) = start_xvfb();

    let mut app = Command::new(env!("CARGO_BIN_EXE_mystyle"))
        .args(["--backend", "cpu"])
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        .env("HOME", &home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("RUST_LOG", "warn,mystyle=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mystyle");
    let stderr = app.stderr.take().unwrap();
    let app = Killed(app);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("app: {line}");
            if line.contains("face drawn at") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(180)).expect("the window never drew a face (see app: lines above)");
    let [x, y, w, h] = parse_face_rect(&line).expect("face rectangle in the log line");
    std::thread::sleep(Duration::from_millis(1500));

    let shot = dir.join("window.png");
    let status = Command::new("import")
        .args(["-display", &display, "-window", mystyle::app::WINDOW_TITLE])
        .arg(&shot)
        .status()
        .expect("run import");
    assert!(status.success(), "import could not capture the window");
    drop(app);
    println!("screenshot: {}", shot.display());

    let img = image::open(&shot).expect("the screenshot is a readable image").to_rgb8();
    assert!(img.width() >= 720 && img.height() >= 480, "window is {}x{}", img.width(), img.height());
    assert!(x + w <= img.width() && y + h <= img.height(), "face rect {x},{y} {w}x{h} outside {:?}", img.dimensions());
    assert!(w >= 200, "the face is drawn only {w} px wide");
    let face = image::imageops::crop_imm(&img, x, y, w, h).to_image();
    let luma = face.pixels().map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64);
    let (_, spread) = common::mean_std(luma);
    let mut colours: Vec<[u8; 3]> = face.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    println!("face area: luminance std {spread:.1}, {} distinct colours", colours.len());
    assert!(spread > 20.0, "the face area is nearly uniform (luminance std {spread:.1})");
    assert!(colours.len() > 300, "the face area has only {} colours", colours.len());
}
