//! The command line: `mystyle` opens the editor window; `sample`, `inspect`, `personalize` and `eval` run
//! the same library as the GUI from a terminal.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use burn::module::Module;
use clap::{Args, Parser, Subcommand};

use crate::attributes::AttributeModels;
use crate::backend::{self, BackendChoice, ComputeBackend};
use crate::face::detect::FaceDetector;
use crate::generator::model::Renderer;
use crate::generator::weights::DEFAULT_MODEL_NAME;
use crate::generator::{ModelSource, sample_faces};
use crate::imaging::export::save_atomic;
use crate::imaging::grid::{GridLayout, grid};
use crate::photoset::{GENERATOR_SIZE, ImportEvent, ImportJob, PhotoEntry, PhotoStatus, SetModels};
use crate::prior::job::{Budget, PersonalizeEvent, PersonalizeInput, PersonalizeJob};
use crate::prior::evaluate;
use crate::prior::loss::ReconstructionLoss;
use crate::prior::personal::PersonalPrior;
use crate::prior::projection::ProjectionSettings;
use crate::project::{Preset, Project};

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
    /// Measure a personalized project against the untuned generator: reconstruction PSNR and identity
    /// similarity on its training photos, on held-out photos, and the identity of random samples.
    Eval(EvalArgs),
    /// Edit a face of the person with the sliders' values (in real units) and write it.
    Edit(EditArgs),
    /// Sweep one slider across its range and write the faces as a strip, each with the requested value
    /// (grey) and the measured one (white) under it.
    Sweep(SweepArgs),
}

/// Where an edit starts, from `--from`: `mean`, `anchor:N`, `sample:SEED`, or a photo of the person.
#[derive(Clone, Debug)]
pub enum FromArg {
    /// The anchors' mean.
    Mean,
    /// Training photo N's anchor (0-based, in `faces/` order).
    Anchor(usize),
    /// A random sample of P_beta.
    Sample(u64),
    /// A new photo: projected into P_beta, with a short pivotal tuning.
    Photo(PathBuf),
}

fn parse_from(text: &str) -> Result<FromArg, String> {
    if text == "mean" {
        return Ok(FromArg::Mean);
    }
    if let Some(n) = text.strip_prefix("anchor:") {
        return n.parse().map(FromArg::Anchor).map_err(|_| format!("anchor:N needs a number, not {n:?}"));
    }
    if let Some(n) = text.strip_prefix("sample:") {
        return n.parse().map(FromArg::Sample).map_err(|_| format!("sample:SEED needs a number, not {n:?}"));
    }
    Ok(FromArg::Photo(PathBuf::from(text)))
}

/// The slider values of `mystyle edit`.
#[derive(Args, Debug, Clone)]
pub struct SliderArgs {
    /// Age in years.
    #[arg(long, allow_hyphen_values = true)]
    pub age: Option<f32>,
    /// Smile: probability of a happy expression, 0 to 1.
    #[arg(long, allow_hyphen_values = true)]
    pub smile: Option<f32>,
    /// Head yaw in degrees (positive: the face turns toward the image's left).
    #[arg(long, allow_hyphen_values = true)]
    pub yaw: Option<f32>,
    /// Head pitch in degrees (positive: tilted up).
    #[arg(long, allow_hyphen_values = true)]
    pub pitch: Option<f32>,
    /// Hair amount: the share of the aligned square that is hair, 0 to 1.
    #[arg(long, allow_hyphen_values = true)]
    pub hair: Option<f32>,
}

/// Arguments of `mystyle edit`.
#[derive(Args, Debug)]
pub struct EditArgs {
    /// The personalized project (NAME.mystyle).
    pub project: PathBuf,
    /// Start from `mean`, `anchor:N`, `sample:SEED` or a photo of the person.
    #[arg(long, default_value = "mean", value_parser = parse_from)]
    pub from: FromArg,
    /// The requested values.
    #[command(flatten)]
    pub sliders: SliderArgs,
    /// Refinement steps after the coordinates are set.
    #[arg(long, default_value_t = 4)]
    pub steps: usize,
    /// Write the face at least 64 times this many pixels wide (at the model's full resolution when larger).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub scale: u32,
    /// Output image (.png or .jpg).
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `mystyle sweep`.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The personalized project (NAME.mystyle).
    pub project: PathBuf,
    /// The slider: yaw, pitch, smile, age or hair.
    #[arg(long, value_parser = parse_attribute)]
    pub attr: crate::prior::organize::Attribute,
    /// Faces along the range.
    #[arg(long, default_value_t = 9, value_parser = clap::value_parser!(u32).range(2..=64))]
    pub steps: u32,
    /// Start from `mean`, `anchor:N`, `sample:SEED` or a photo of the person.
    #[arg(long, default_value = "mean", value_parser = parse_from)]
    pub from: FromArg,
    /// Scale each 64-pixel face by this integer factor.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub scale: u32,
    /// Output image (.png or .jpg).
    #[arg(long)]
    pub out: PathBuf,
}

fn parse_attribute(text: &str) -> Result<crate::prior::organize::Attribute, String> {
    crate::prior::organize::Attribute::from_name(text).ok_or_else(|| format!("{text:?} is not one of yaw, pitch, smile, age, hair"))
}

/// Arguments of `mystyle eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The personalized project (NAME.mystyle).
    pub project: PathBuf,
    /// Photos or folders of the same person that were not used for tuning: each is projected into P_beta.
    #[arg(long, num_args = 1..)]
    pub holdout: Vec<PathBuf>,
    /// Random samples drawn from each generator for the identity of samples.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub samples: u32,
    /// Also write the held-out photos beside their projections into this image (a two-row grid).
    #[arg(long)]
    pub show: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Faces per slider sweep for the attribute-control figures (0 leaves them out).
    #[arg(long, default_value_t = 7)]
    pub sweep_steps: usize,
    /// Another project of the same person made with the other `--method`, for attribute control side by side.
    #[arg(long)]
    pub compare: Option<PathBuf>,
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
    /// Slider directions: `organized` (MyStyle++: the anchors are organized so that principal axes mean
    /// attributes) or `fitted` (the MyStyle baseline: fixed anchors, a direction fitted to each attribute).
    #[arg(long, value_enum, default_value_t = MethodArg::Organized)]
    pub method: MethodArg,
    /// A StyleGAN2 checkpoint to personalize instead of the embedded DCGAN (rosinality `.pt` with
    /// `g_ema`, or safetensors with the same keys; NVIDIA pickles: convert with
    /// tools/convert_nvidia_stylegan2.py).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Import the photos, print the time estimate, and stop (nothing is written).
    #[arg(long)]
    pub estimate: bool,
    /// Also tune on photos flagged as extreme poses (profile views): they give the yaw slider its range,
    /// though the pose estimate saturates near 55 degrees.
    #[arg(long)]
    pub include_extreme_poses: bool,
    /// Also tune on mirrored copies of turned faces (15 degrees of yaw or more), so that the yaw slider has
    /// photos on both sides.
    #[arg(long)]
    pub mirror_profiles: bool,
}

/// `--method` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// MyStyle++: organized anchors.
    Organized,
    /// MyStyle: fixed anchors, fitted directions.
    Fitted,
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
    /// Scale each face by this integer factor.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub scale: u32,
    /// Largest side of each face before scaling (large models are drawn smaller, from their coarser layers).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(4..=1024))]
    pub max_side: u32,
    /// A StyleGAN2 checkpoint to sample instead of the embedded DCGAN (without a project).
    #[arg(long, conflicts_with = "project")]
    pub model: Option<PathBuf>,
    /// Output image (.png or .jpg).
    #[arg(long)]
    pub out: PathBuf,
}

/// The embedded DCGAN, or the StyleGAN2 checkpoint at `path`.
fn model_source(path: Option<&std::path::Path>) -> ModelSource {
    path.map_or(ModelSource::DefaultDcgan, ModelSource::checkpoint)
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
        Some(Command::Eval(args)) => eval(&backend, &args),
        Some(Command::Edit(args)) => edit(&backend, &args),
        Some(Command::Sweep(args)) => sweep(&backend, &args),
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
    let max_side = args.max_side as usize;
    let faces = match &args.project {
        Some(project) => PersonalPrior::load(project, &backend.device)?.sample(args.seed, args.count as usize, max_side, backend.parallel_parts())?,
        None => {
            let source = model_source(args.model.as_deref());
            let generator = source.load(&backend.device)?;
            let renderer = Renderer::new(&generator, backend.parallel_parts());
            sample_faces(&generator, &renderer, args.seed, args.count as usize, max_side)?
        }
    };
    let side = faces.first().map_or(64, |f| f.width());
    let layout = GridLayout::new(faces.len(), args.cols, side * args.scale, GRID_GAP);
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
    if entries.is_empty() {
        let why: Vec<String> = skipped.iter().take(3).map(|(p, why)| format!("{}: {why}", p.display())).collect();
        anyhow::bail!("no photos found in {}{}", listed(&args.paths), if why.is_empty() { String::new() } else { format!(" ({})", why.join("; ")) });
    }
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

/// Paths for a message: the first three, and how many more.
fn listed(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().take(3).map(|p| p.display().to_string()).collect();
    if paths.len() > 3 { format!("{} and {} more", shown.join(", "), paths.len() - 3) } else { shown.join(", ") }
}

fn personalize(backend: &ComputeBackend, args: &PersonalizeArgs) -> anyhow::Result<()> {
    let preset = match args.preset {
        PresetArg::Fast => Preset::Fast,
        PresetArg::Balanced => Preset::Balanced,
        PresetArg::Best => Preset::Best,
    };
    // A checkpoint that cannot be read fails now, before the photos are imported or anything is written.
    model_source(args.model.as_deref()).load(&backend.device)?;
    if args.resume && !args.out.join("checkpoints").join("latest.json").is_file() {
        eprintln!("note: {} has no checkpoint to resume from; starting from the beginning", args.out.display());
    }
    let (entries, _) = import(backend, &args.paths)?;
    let used = |e: &&PhotoEntry| e.status == PhotoStatus::Ok || (args.include_extreme_poses && e.status == PhotoStatus::ExtremePose);
    if !entries.iter().any(|e| used(&e) && e.face().is_some()) {
        let found: Vec<String> = entries.iter().take(3).map(|e| format!("{}: {}", e.path.display(), e.status.label())).collect();
        anyhow::bail!(
            "no usable photos in {}: personalization needs at least one photo with a face{}",
            listed(&args.paths),
            if found.is_empty() { " (no images found)".to_string() } else { format!(" ({})", found.join("; ")) }
        );
    }
    if args.estimate {
        let usable = entries.iter().filter(used).count();
        let budget = Budget { organize: args.method == MethodArg::Organized, ..Budget::for_preset(preset) };
        let estimate = crate::prior::estimate::estimate(&model_source(args.model.as_deref()), usable, &budget, crate::prior::job::TUNING_MEMORY_BYTES, &backend.device)?;
        log::debug!("{estimate:?}");
        println!("{}, {usable} usable photos, {:?} preset: {}", estimate.model, preset, estimate.describe());
        return Ok(());
    }
    let mut project = Project::new(args.out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
    project.settings.preset = preset;
    project.add_photos(&args.out, entries.iter().cloned())?;
    for entry in entries.iter().filter(|e| !used(e)) {
        eprintln!("left out {}: {} ({})", entry.path.display(), entry.status.label(), entry.reason);
    }
    let photos: Vec<_> = entries.iter().filter(used).filter_map(|e| e.face()).map(|f| f.aligned_generator.clone()).collect();
    project.save(&args.out)?;
    let budget = Budget { organize: args.method == MethodArg::Organized, ..Budget::for_preset(preset) };
    let model = model_source(args.model.as_deref());
    let estimate = crate::prior::estimate::estimate(&model, photos.len(), &budget, crate::prior::job::TUNING_MEMORY_BYTES, &backend.device)?;
    eprintln!("model: {}; {}", estimate.model, estimate.describe());
    let input = PersonalizeInput { photos, project: args.out.clone(), budget, resume: args.resume, seed: 1, model: model.clone(), memory_budget_bytes: crate::prior::job::TUNING_MEMORY_BYTES, mirror_profiles: args.mirror_profiles };
    let job = PersonalizeJob::spawn(input, backend.device.clone(), || {});
    while let Some(event) = job.wait() {
        match event {
            PersonalizeEvent::Stage(stage) => eprintln!("\n{stage}:"),
            PersonalizeEvent::Progress { done, total, eta_seconds } => eprint!("\r  {done}/{total}  about {eta_seconds:.0} s left   "),
            PersonalizeEvent::Warning(message) => eprintln!("\nwarning: {message}"),
            PersonalizeEvent::Organization { organized, skipped } => {
                eprintln!();
                for (attribute, axis, photos, from_step) in organized {
                    eprintln!("  {:<6} organized on axis {axis} from {photos} photos (from step {from_step})", attribute.name());
                }
                for (attribute, reason) in skipped {
                    eprintln!("  {:<6} not organized: {reason}", attribute.name());
                }
            }
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

fn eval(backend: &ComputeBackend, args: &EvalArgs) -> anyhow::Result<()> {
    let device = backend.device.clone().autodiff();
    let mut prior = PersonalPrior::load(&args.project, &device)?;
    prior.generator = prior.generator.freeze();
    let untuned = prior.model.load(&device)?.freeze();
    let loss = ReconstructionLoss::load(&device)?;
    let faces = PersonalPrior::training_faces(&args.project)?;
    let training = evaluate::training(&prior, &untuned, &loss, &faces);
    let samples = evaluate::sample_identity(&prior, &untuned, &loss, &faces, args.samples as usize, 0);
    let holdout = if args.holdout.is_empty() {
        None
    } else {
        let (entries, skipped) = import(backend, &args.holdout)?;
        for (path, why) in &skipped {
            eprintln!("skipped {}: {why}", path.display());
        }
        let mut held = Vec::new();
        for entry in &entries {
            match entry.face() {
                Some(face) if entry.status == PhotoStatus::Ok => held.push(face.aligned_generator.clone()),
                _ => eprintln!("left out {}: {} ({})", entry.path.display(), entry.status.label(), entry.reason),
            }
        }
        if held.is_empty() {
            anyhow::bail!("none of the held-out photos has a usable face");
        }
        let projection = ProjectionSettings::default();
        let inversion = Budget::for_preset(Preset::Balanced).inversion;
        let (comparison, projected) = evaluate::held_out(&prior, &untuned, &loss, &held, &projection, &inversion)?;
        if let Some(path) = &args.show {
            let pairs: Vec<_> = held.iter().cloned().chain(projected).collect();
            save_atomic(&grid(&pairs, GridLayout::new(pairs.len(), Some(held.len() as u32), 64, GRID_GAP)), path)?;
        }
        Some(comparison)
    };
    let mut control = Vec::new();
    if args.sweep_steps > 0 {
        for project in std::iter::once(&args.project).chain(args.compare.as_ref()) {
            control.push(attribute_control(&device, project, &faces, args.sweep_steps)?);
        }
    }
    if args.json {
        let report = serde_json::json!({
            "project": args.project, "training": training, "holdout": holdout, "samples": samples, "attribute_control": control,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("{:<30} {:>6} {:>12} {:>12} {:>14} {:>14}", "photos", "count", "PSNR tuned", "PSNR untuned", "ident. tuned", "ident. untuned");
    let row = |name: &str, c: &evaluate::Comparison| {
        println!(
            "{:<30} {:>6} {:>9.2} dB {:>9.2} dB {:>14.3} {:>14.3}",
            name, c.photos, c.tuned.psnr_db, c.untuned.psnr_db, c.tuned.identity, c.untuned.identity
        )
    };
    row("training (from anchors)", &training);
    if let Some(h) = &holdout {
        row("held out (P_beta vs free)", h);
    }
    println!(
        "identity of {} random samples to the person: tuned P_beta {:.3}, untuned generator {:.3}",
        samples.samples, samples.tuned, samples.untuned
    );
    for c in &control {
        println!(
            "\nattribute control, {} ({}): sweeps of {} faces from the anchors' mean; same-person identity level {:.3}",
            c["project"].as_str().unwrap_or(""),
            c["method"].as_str().unwrap_or(""),
            args.sweep_steps,
            c["same_person_level"].as_f64().unwrap_or(f64::NAN)
        );
        println!("{:<8} {:>16} {:>12} {:>16}  requested -> measured", "slider", "rank correlation", "mean error", "lowest identity");
        for s in c["sliders"].as_array().into_iter().flatten() {
            let values = |k: &str| s[k].as_array().map(|v| v.iter().map(|x| format!("{:.2}", x.as_f64().unwrap_or(f64::NAN))).collect::<Vec<_>>().join(" ")).unwrap_or_default();
            println!(
                "{:<8} {:>16.3} {:>12.3} {:>16.3}  [{}] -> [{}]",
                s["attribute"].as_str().unwrap_or(""),
                s["rank_correlation"].as_f64().unwrap_or(f64::NAN),
                s["mean_error"].as_f64().unwrap_or(f64::NAN),
                s["lowest_identity"].as_f64().unwrap_or(f64::NAN),
                values("requested"),
                values("measured")
            );
        }
        for s in c["skipped"].as_array().into_iter().flatten() {
            println!("{:<8} no slider: {}", s[0].as_str().unwrap_or(""), s[1].as_str().unwrap_or(""));
        }
    }
    Ok(())
}

/// Sweeps every slider of a project from the anchors' mean; JSON with the method and the figures.
fn attribute_control(device: &burn::tensor::Device, project: &std::path::Path, person_faces: &[image::RgbImage], steps: usize) -> anyhow::Result<serde_json::Value> {
    use crate::prior::edit::{Base, Editor};
    use crate::prior::organize::Attribute;
    let editor = Editor::open(project, device)?;
    let person = editor.person_embedding(person_faces);
    let base = editor.base_latent(&Base::Mean)?;
    let mut sliders = Vec::new();
    for attribute in Attribute::ALL {
        if let Some(c) = evaluate::sweep(&editor, attribute, steps, &base, &person)? {
            sliders.push(serde_json::to_value(&c)?);
        }
    }
    Ok(serde_json::json!({
        "project": project,
        "method": editor.controls().method,
        "same_person_level": evaluate::same_person_level(&editor, person_faces),
        "sliders": sliders,
        "skipped": editor.controls().skipped,
    }))
}

fn slider_targets(sliders: &SliderArgs) -> crate::prior::edit::Targets {
    use crate::prior::organize::Attribute;
    let mut targets = crate::prior::edit::Targets::default();
    for (attribute, value) in [
        (Attribute::Age, sliders.age),
        (Attribute::Smile, sliders.smile),
        (Attribute::Yaw, sliders.yaw),
        (Attribute::Pitch, sliders.pitch),
        (Attribute::Hair, sliders.hair),
    ] {
        targets.set(attribute, value);
    }
    targets
}

/// Opens a project's editor and the base latent of `--from` (a photo is imported, projected into P_beta
/// and given a short pivotal tuning).
fn editor_and_base(backend: &ComputeBackend, project: &std::path::Path, from: &FromArg) -> anyhow::Result<(crate::prior::edit::Editor, Vec<f32>)> {
    use crate::prior::edit::{Base, Editor};
    let mut editor = Editor::open(project, &backend.device.clone().autodiff())?;
    let base = match from {
        FromArg::Mean => editor.base_latent(&Base::Mean)?,
        FromArg::Anchor(i) => editor.base_latent(&Base::Anchor(*i))?,
        FromArg::Sample(seed) => editor.base_latent(&Base::Sample(*seed))?,
        FromArg::Photo(path) => {
            let (entries, _) = import(backend, std::slice::from_ref(path))?;
            let entry = entries.first().ok_or_else(|| anyhow::anyhow!("{}: not an image", path.display()))?;
            let face = entry.face().ok_or_else(|| anyhow::anyhow!("{}: {} ({})", path.display(), entry.status.label(), entry.reason))?;
            eprintln!("projecting {} into the person's space ...", path.display());
            editor.project_photo(&face.aligned_generator, &ProjectionSettings::default(), 40)?
        }
    };
    Ok((editor, base))
}

fn edit(backend: &ComputeBackend, args: &EditArgs) -> anyhow::Result<()> {
    let (mut editor, base) = editor_and_base(backend, &args.project, &args.from)?;
    editor.settings.refine_steps = args.steps;
    let targets = slider_targets(&args.sliders);
    for (attribute, value) in targets.requested() {
        match editor.controls().slider(attribute) {
            None => eprintln!("note: {} has no slider in this project; only the refinement steps move it", attribute.name()),
            Some(slider) => {
                let (lo, hi) = slider.calibration.range;
                // A value typed as the end shown (rounded) is not outside.
                let slack = 0.005 * (hi - lo).abs();
                if value < lo.min(hi) - slack || value > lo.max(hi) + slack {
                    eprintln!(
                        "note: {} {} is outside what this person's photos support ({} to {}); the face may not reach it",
                        attribute.name(),
                        attribute.format(value),
                        attribute.format(lo.min(hi)),
                        attribute.format(lo.max(hi))
                    );
                }
            }
        }
    }
    let latent = editor.edit(&base, &targets, |_| std::ops::ControlFlow::Continue(()))?;
    let face = editor.render_at(&latent, usize::MAX)?;
    let measured = editor.measure(&latent)?;
    let side = face.width().max(64 * args.scale);
    let big = image::imageops::resize(&face, side, side, image::imageops::FilterType::CatmullRom);
    save_atomic(&big, &args.out)?;
    println!("{:<8} {:>12} {:>12}", "slider", "requested", "measured");
    for attribute in crate::prior::organize::Attribute::ALL {
        let requested = targets.get(attribute).map_or("-".to_string(), |v| attribute.format(v));
        println!("{:<8} {:>12} {:>12}", attribute.name(), requested, attribute.format(attribute.of(&measured)));
    }
    println!("wrote {}", args.out.display());
    Ok(())
}

fn sweep(backend: &ComputeBackend, args: &SweepArgs) -> anyhow::Result<()> {
    use crate::imaging::label::{draw_text, text_height, text_width};
    let (editor, base) = editor_and_base(backend, &args.project, &args.from)?;
    let faces = PersonalPrior::training_faces(&args.project)?;
    let person = editor.person_embedding(&faces);
    let Some(control) = evaluate::sweep(&editor, args.attr, args.steps as usize, &base, &person)? else {
        let reason = editor.controls().skipped.iter().find(|(a, _)| *a == args.attr).map_or("no slider".to_string(), |(_, r)| r.clone());
        anyhow::bail!("{}: this project has no {} slider: {reason}", args.project.display(), args.attr.name());
    };
    let side = 64 * args.scale;
    let text_scale = (args.scale).clamp(1, 3);
    let line = text_height(text_scale) + 2 * text_scale;
    let (w, h) = (control.frames.len() as u32 * (side + GRID_GAP) + GRID_GAP, side + 2 * GRID_GAP + 2 * line);
    let mut strip = image::RgbImage::from_pixel(w, h, image::Rgb([24, 24, 24]));
    for (i, face) in control.frames.iter().enumerate() {
        let x = GRID_GAP + i as u32 * (side + GRID_GAP);
        let big = image::imageops::resize(face, side, side, image::imageops::FilterType::CatmullRom);
        image::imageops::replace(&mut strip, &big, x as i64, GRID_GAP as i64);
        for (row, (text, colour)) in
            [(args.attr.format(control.requested[i]), image::Rgb([150, 150, 150])), (args.attr.format(control.measured[i]), image::Rgb([255, 255, 255]))]
                .into_iter()
                .enumerate()
        {
            let tx = x + side.saturating_sub(text_width(&text, text_scale)) / 2;
            draw_text(&mut strip, tx, side + GRID_GAP + text_scale + row as u32 * line, &text, text_scale, colour);
        }
    }
    save_atomic(&strip, &args.out)?;
    println!(
        "{}: rank correlation {:.3}, mean error {:.3}, lowest identity to the person {:.3}",
        args.attr.name(),
        control.rank_correlation,
        control.mean_error,
        control.lowest_identity
    );
    for (r, m) in control.requested.iter().zip(&control.measured) {
        println!("  requested {:>9}  measured {:>9}", args.attr.format(*r), args.attr.format(*m));
    }
    println!("wrote {}", args.out.display());
    Ok(())
}
