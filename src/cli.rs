//! The command line: `mystyle` opens the editor window, `mystyle sample` writes a grid of faces.
//! Both call the same library as the GUI.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::backend::{self, BackendChoice, ComputeBackend};
use crate::generator::{DcganRenderer, sample_faces};
use crate::generator::weights::{DEFAULT_MODEL_NAME, default_dcgan};
use crate::imaging::export::save_atomic;
use crate::imaging::grid::{GridLayout, grid};

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
}

/// Arguments of `mystyle sample`.
#[derive(Args, Debug)]
pub struct SampleArgs {
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
    let model = DcganRenderer::new(&default_dcgan(&backend.device)?, backend.parallel_parts());
    let faces = sample_faces(&model, args.seed, args.count as usize, &backend.device)?;
    let layout = GridLayout::new(faces.len(), args.cols, 64 * args.scale, GRID_GAP);
    let sheet = grid(&faces, layout);
    save_atomic(&sheet, &args.out).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {} ({} faces, {}x{} grid, {}x{} px) on {} in {:.2} s",
        args.out.display(),
        faces.len(),
        layout.cols,
        layout.rows,
        sheet.width(),
        sheet.height(),
        backend.describe(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
