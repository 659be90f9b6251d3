//! The command line: `mystyle` opens the editor window, `mystyle sample` writes a grid of faces.
//! Both call the same library as the GUI.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::attributes::AttributeModels;
use crate::backend::{self, BackendChoice, ComputeBackend};
use crate::face::detect::FaceDetector;
use crate::generator::{DcganRenderer, sample_faces};
use crate::generator::weights::{DEFAULT_MODEL_NAME, default_dcgan};
use crate::imaging::export::save_atomic;
use crate::imaging::grid::{GridLayout, grid};
use crate::photoset::{GENERATOR_SIZE, ImportEvent, ImportJob, PhotoEntry, PhotoStatus, SetModels};
use crate::prior::job::{Budget, PersonalizeEvent, PersonalizeInput, PersonalizeJob};
use crate::prior::personal::PersonalPrior;
use crate::project::{Preset, Project, ProjectPhoto};

/// MyStyle Studio: learn one person's face from their photos, then edit portraits of them with sliders.
#[derive(Parser, Debug)]
#[command(name = "mystyle", about, disable_version_flag = true)]
pub struct Cli {
    /// Compute backend: auto uses a hardware GPU when there is one, otherwise the CPU.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto, global = true)]
    pub backend: BackendChoice,
    /// Print the version and the compute backend this machine would use, then exit.
    #[arg(short = 'V', long)]
    pub version: bool,
    /// What to do; without a command the editor window opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a grid of generated faces to an image file.
    Sample(SampleArgs),
    /// Import photos (files or folders) and report each one's face: status, box, pose, age, smile, hair, identity.
    Inspect(InspectArgs),
    /// Personalize the generator on one person's photos (files or folders) into a project folder.
    Personalize(PersonalizeArgs),
}

/// Arguments of `mystyle personalize`.
#[derive(Args, Debug)]
pub struct PersonalizeArgs {
    /// Photos or folders of the person.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The project folder to create or continue (for example ana.mystyle).
    #[arg(long)]
    pub out: PathBuf,
    /// Quality preset.
    #[arg(long, value_enum, default_value_t = PresetArg::Fast)]
    pub preset: PresetArg,
    /// Continue from the project's last checkpoint.
    #[arg(long)]
    pub resume: bool,
}

/// `--preset` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum PresetArg {
    /// Minutes on a laptop CPU.
    Fast,
    /// Longer, closer reconstructions.
    Balanced,
    /// The longest budget.
    Best,
}

/// Arguments of `mystyle inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Photos or folders (folders are searched recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write each chosen face, aligned, as PNGs into this folder (256 px for display, and the generator's size).
    #[arg(long)]
    pub aligned: Option<PathBuf>,
}

/// Arguments of `mystyle sample`.
#[derive(Args, Debug)]
pub struct SampleArgs {
    /// A personalized project (NAME.mystyle): sample the person from it instead of the default generator.
    pub project: Option<PathBuf>,
    /// Number of faces.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub count: u32,
    /// Random seed: the same seed gives the same faces.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Faces per row (default: a near-square grid).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub cols: Option<u32>,
    /// Scale each 64x64 face by this integer factor.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub scale: u32,
    /// Output image (.png or .jpg).
    #[arg(long)]
    pub out: PathBuf,
}

/// Gap in pixels between faces in a grid.
const GRID_GAP: u32 = 2;

/// Parses the command line and runs it.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if cli.version {
        println!("{}", version_report(cli.backend));
        return Ok(());
    }
    let backend = backend::select(cli.backend);
    if let Some(notice) = &backend.notice {
        log::warn!("{notice}");
    }
    log::info!("compute backend: {}", backend.describe());
    match cli.command {
        None => crate::app::run(backend),
        Some(Command::Sample(args)) => sample(&backend, &args),
        Some(Command::Inspect(args)) => inspect(&backend, &args),
        Some(Command::Personalize(args)) => personalize(&backend, &args),
    }
}

/// `mystyle --version`: the version, the backend that would be used and the adapters seen.
fn version_report(choice: BackendChoice) -> String {
    let chosen = backend::select(choice);
    let adapters = backend::list_adapters();
    let adapters = if adapters.is_empty() {
        "none".to_string()
    } else {
        adapters.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    };
    let mut report = format!(
        "mystyle {}\nbackend: {}\nwgpu adapters: {adapters}\ndefault model: {DEFAULT_MODEL_NAME}",
        env!("CARGO_PKG_VERSION"),
        chosen.describe()
    );
    if let Some(notice) = chosen.notice {
        report.push_str(&format!("\nnote: {notice}"));
    }
    report
}

fn sample(backend: &ComputeBackend, args: &SampleArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let faces = match &args.project {
        Some(project) => PersonalPrior::load(project, &backend.device)?.sample(args.seed, args.count as usize, backend.parallel_parts())?,
        None => {
            let model = DcganRenderer::new(&default_dcgan(&backend.device)?, backend.parallel_parts());
            sample_faces(&model, args.seed, args.count as usize, &backend.device)?
        }
    };
    let layout = GridLayout::new(faces.len(), args.cols, 64 * args.scale, GRID_GAP);
    let sheet = grid(&faces, layout);
    save_atomic(&sheet, &args.out)?;
    println!(
        "wrote {} ({} face{}, {}x{} grid, {}x{} px) on {} in {:.2} s",
        args.out.display(),
        faces.len(),
        if faces.len() == 1 { "" } else { "s" },
        layout.cols,
        layout.rows,
        sheet.width(),
        sheet.height(),
        backend.describe(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Imports photos on the import job, with a progress line; returns the analysed set and the skipped paths.
fn import(backend: &ComputeBackend, paths: &[PathBuf]) -> anyhow::Result<(Vec<PhotoEntry>, Vec<(PathBuf, String)>)> {
    let device = backend.device.clone();
    let load = move || -> Result<SetModels, crate::nets::NetError> {
        Ok(SetModels { detector: FaceDetector::load(&device)?, attributes: AttributeModels::load(&device)? })
    };
    let job = ImportJob::spawn(paths.to_vec(), load, || {});
    let mut skipped = Vec::new();
    let entries = loop {
        match job.wait() {
            Some(ImportEvent::Scanned { skipped: s, .. }) => skipped = s,
            Some(ImportEvent::Photo { done, total, .. }) => eprint!("\ranalysed {done}/{total} photos"),
            Some(ImportEvent::Finished(entries) | ImportEvent::Cancelled(entries)) => break entries,
            Some(ImportEvent::Failed(message)) => anyhow::bail!(message),
            None => anyhow::bail!("the import stopped unexpectedly"),
        }
    };
    eprintln!();
    Ok((entries, skipped))
}

fn inspect(backend: &ComputeBackend, args: &InspectArgs) -> anyhow::Result<()> {
    let (entries, skipped) = import(backend, &args.paths)?;
    if let Some(dir) = &args.aligned {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (i, entry) in entries.iter().enumerate() {
            if let Some(face) = entry.face() {
                let stem = entry.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                save_atomic(&face.aligned, &dir.join(format!("{i:03}_{stem}.png")))?;
                save_atomic(&face.aligned_generator, &dir.join(format!("{i:03}_{stem}_{GENERATOR_SIZE}px.png")))?;
            }
        }
        eprintln!("aligned faces written to {}", dir.display());
    }
    if args.json {
        let skipped: Vec<_> = skipped.iter().map(|(p, why)| serde_json::json!({"path": p, "reason": why})).collect();
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"photos": entries, "skipped": skipped}))?);
        return Ok(());
    }
    println!(
        "{:<28} {:<13} {:>19} {:>6} {:>6} {:>5} {:>6} {:>5} {:>6}  reason",
        "file", "status", "box x,y,w,h", "yaw", "pitch", "age", "smile", "hair", "ident"
    );
    let shown = |path: &std::path::Path| -> String {
        let relative = args.paths.iter().filter(|root| root.is_dir()).find_map(|root| path.strip_prefix(root).ok());
        let name = relative.map_or_else(|| path.display().to_string(), |r| r.display().to_string());
        let count = name.chars().count();
        if count <= 28 { name } else { format!("…{}", name.chars().skip(count - 27).collect::<String>()) }
    };
    for entry in &entries {
        let name = shown(&entry.path);
        match entry.face() {
            Some(face) => {
                let [x, y, w, h] = face.detection.bbox.map(|v| v.round() as i64);
                let a = &face.attributes;
                println!(
                    "{:<28} {:<13} {:>19} {:>6.1} {:>6.1} {:>5.1} {:>6.2} {:>5.2} {:>6.2}  {}",
                    name,
                    entry.status.label(),
                    format!("{x},{y},{w},{h}"),
                    a.yaw,
                    a.pitch,
                    a.age,
                    a.smile,
                    a.hair_amount,
                    entry.identity_agreement.unwrap_or(f32::NAN),
                    entry.reason
                );
            }
            None => println!("{:<28} {:<13} {:>19} {:>6} {:>6} {:>5} {:>6} {:>5} {:>6}  {}", name, entry.status.label(), "-", "-", "-", "-", "-", "-", "-", entry.reason),
        }
    }
    for (path, why) in &skipped {
        println!("{:<28} {:<13} {:>19} {:>6} {:>6} {:>5} {:>6} {:>5} {:>6}  {why}", shown(path), "skipped", "-", "-", "-", "-", "-", "-", "-");
    }
    println!("{} photos analysed; {} files skipped", entries.len(), skipped.len());
    Ok(())
}

fn personalize(backend: &ComputeBackend, args: &PersonalizeArgs) -> anyhow::Result<()> {
    let preset = match args.preset {
        PresetArg::Fast => Preset::Fast,
        PresetArg::Balanced => Preset::Balanced,
        PresetArg::Best => Preset::Best,
    };
    let (entries, _) = import(backend, &args.paths)?;
    let mut project = Project::new(args.out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
    project.settings.preset = preset;
    project.photos = entries.iter().cloned().map(|entry| ProjectPhoto { entry, included: None }).collect();
    for entry in entries.iter().filter(|e| e.status != PhotoStatus::Ok) {
        eprintln!("left out {}: {} ({})", entry.path.display(), entry.status.label(), entry.reason);
    }
    let photos: Vec<_> = entries.iter().filter(|e| e.status == PhotoStatus::Ok).filter_map(|e| e.face()).map(|f| f.aligned_generator.clone()).collect();
    project.save(&args.out)?;
    let input = PersonalizeInput { photos, project: args.out.clone(), budget: Budget::for_preset(preset), resume: args.resume, seed: 1 };
    let job = PersonalizeJob::spawn(input, backend.device.clone(), || {});
    while let Some(event) = job.wait() {
        match event {
            PersonalizeEvent::Stage(stage) => eprintln!("\n{stage}:"),
            PersonalizeEvent::Progress { done, total, eta_seconds } => eprint!("\r  {done}/{total}  about {eta_seconds:.0} s left   "),
            PersonalizeEvent::Warning(message) => eprintln!("\nwarning: {message}"),
            PersonalizeEvent::RolledBack { step, learning_rate, reason } => {
                eprintln!("\nstep {step}: {reason}; rolled back, learning rate now {learning_rate:.2e}")
            }
            PersonalizeEvent::Finished { steps, loss } => {
                println!("\npersonalized {} in {steps} tuning steps (loss {loss:.4})", args.out.display());
                return Ok(());
            }
            PersonalizeEvent::Cancelled { step } => anyhow::bail!("cancelled at step {step}; continue with --resume"),
            PersonalizeEvent::Failed(message) => anyhow::bail!(message),
            PersonalizeEvent::Loss { .. } | PersonalizeEvent::Preview(_) | PersonalizeEvent::Checkpoint(_) => {}
        }
    }
    anyhow::bail!("the personalize job stopped unexpectedly")
}
