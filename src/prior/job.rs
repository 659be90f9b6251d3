//! The personalize job (MyStyle): on a worker thread, project every aligned photo into the generator's
//! latent space (anchors), then tune the generator on (anchor, photo) pairs. It reports typed events
//! (progress with ETA, losses, preview reconstructions, checkpoints, rollbacks, warnings, the end), honours
//! cancellation between steps (well under a second on the default model), checkpoints every N steps and
//! resumes from the last checkpoint, and rolls a NaN or diverging loss back to the last good state with a
//! lower learning rate.
//!
//! Before tuning, every face's attributes are measured (on the 64-pixel face, as the editor measures
//! generated faces). With organization on (MyStyle++, the default) the anchors train with the generator
//! under the organization loss ([`super::organize`]); either way the job ends by writing the sliders'
//! calibrated directions to `controls.json` (organized axes, or the MyStyle baseline's fitted directions).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use image::RgbImage;

use super::checkpoint::{self, JobState};
use super::invert::{InversionSettings, invert};
use super::loss::ReconstructionLoss;
use super::organize::{Attribute, CONTROLS_FILE, Controls, OrganizationPlan};
use super::tune::{Tuner, TuningSettings};
use crate::atomic::write_atomic;
use crate::attributes::crop::aligned_template_points;
use crate::attributes::{AttributeModels, image_tensor};
use crate::generator::{FaceGenerator, ModelSource};
use crate::imaging::export::save_atomic;
use crate::imaging::tensor_to_images;
use crate::project::Preset;

/// The project sub-folder holding the faces that tuning learns from, `NNN.png` in anchor order.
pub const FACES_DIR: &str = "faces";
/// Fewer photos than this get a warning (MyStyle works from about ten).
pub const RECOMMENDED_PHOTOS: usize = 10;
/// A step whose loss is this many times the smoothed loss before it counts as diverging (batch-to-batch
/// variation of a healthy run stays well below it).
const DIVERGENCE_FACTOR: f32 = 2.5;
/// A smoothed loss this many times its best, for [`RISING_STEPS`] steps in a row, counts as diverging too.
const RISE_FACTOR: f32 = 1.5;
/// See [`RISE_FACTOR`].
const RISING_STEPS: usize = 5;
/// Learning-rate factor after a rollback.
const ROLLBACK_FACTOR: f64 = 0.1;
/// Rollbacks allowed before the job gives up.
const MAX_ROLLBACKS: usize = 8;
/// Steps between in-memory snapshots of the last good generator (taken only while the loss is healthy).
const SNAPSHOT_EVERY: usize = 10;

/// Faces turned at least this much (degrees of yaw) are mirrored when [`PersonalizeInput::mirror_profiles`] is on.
pub const MIRROR_MIN_YAW: f32 = 15.0;

/// Memory for a tuning step's activations by default: a quarter of a 24 GB machine.
pub const TUNING_MEMORY_BYTES: f64 = 6e9;

/// How much work each stage does.
#[derive(Clone, Debug, PartialEq)]
pub struct Budget {
    /// Anchor inversion per photo.
    pub inversion: InversionSettings,
    /// Generator tuning.
    pub tuning: TuningSettings,
    /// Steps between checkpoints on disk.
    pub checkpoint_every: usize,
    /// Steps between preview reconstructions.
    pub preview_every: usize,
    /// Organize the anchors (MyStyle++); off gives the MyStyle baseline (fixed anchors, fitted directions).
    pub organize: bool,
}

impl Budget {
    /// The budget of a quality preset (Fast finishes in minutes on a 2-core CPU with the default model).
    pub fn for_preset(preset: Preset) -> Self {
        let (starts, inversion_steps, tuning_steps) = match preset {
            Preset::Fast => (2, 60, 300),
            Preset::Balanced => (4, 150, 800),
            Preset::Best => (6, 300, 2000),
        };
        Self {
            inversion: InversionSettings { starts, steps: inversion_steps, ..Default::default() },
            tuning: TuningSettings { steps: tuning_steps, learning_rate: 1e-3, ..Default::default() },
            checkpoint_every: 50,
            preview_every: 25,
            organize: true,
        }
    }

    /// A short budget for tests and benchmarks: one inversion start of `inversion_steps`, `tuning_steps`
    /// steps of `batch` at a learning rate of 1e-3, organized, no checkpoints or previews.
    pub fn short(inversion_steps: usize, tuning_steps: usize, batch: usize) -> Self {
        Self {
            inversion: InversionSettings { starts: 1, steps: inversion_steps, ..Default::default() },
            tuning: TuningSettings { steps: tuning_steps, batch, learning_rate: 1e-3, ..Default::default() },
            checkpoint_every: 0,
            preview_every: 0,
            organize: true,
        }
    }
}

/// What to personalize.
pub struct PersonalizeInput {
    /// The person's faces, aligned at the generator's resolution.
    pub photos: Vec<RgbImage>,
    /// The project folder (checkpoints and results go here).
    pub project: PathBuf,
    /// Work per stage.
    pub budget: Budget,
    /// Continue from the last checkpoint when there is one.
    pub resume: bool,
    /// The generator to personalize (saved in the project as [`crate::generator::model::MODEL_FILE`]).
    pub model: ModelSource,
    /// Memory for a tuning step's activations; the batch shrinks to fit it (large StyleGAN2 models).
    pub memory_budget_bytes: f64,
    /// Also tune on mirrored copies of faces turned by at least [`MIRROR_MIN_YAW`] degrees.
    pub mirror_profiles: bool,
    /// Seed for the inversion starts and the batch order.
    pub seed: u64,
}

/// What the job reports.
#[derive(Debug)]
pub enum PersonalizeEvent {
    /// A stage began ("measuring", "anchors" or "tuning").
    Stage(&'static str),
    /// Which attributes get an organized axis, with the photos each could use, and which not (and why).
    Organization {
        /// Attribute, principal axis, photos in groups, and the step its loss switches on.
        organized: Vec<(Attribute, usize, usize, usize)>,
        /// Attributes left out, with the reason.
        skipped: Vec<(Attribute, String)>,
    },
    /// Progress within the stage, with an estimate of the time left.
    Progress {
        /// Units done (photos or steps).
        done: usize,
        /// Units in all.
        total: usize,
        /// Seconds left at the current pace.
        eta_seconds: f64,
    },
    /// A tuning step's loss.
    Loss {
        /// The step.
        step: usize,
        /// Its reconstruction loss.
        value: f32,
        /// Its organization loss, once an attribute is organized.
        organization: Option<f32>,
    },
    /// Reconstructions of the first photos from their anchors.
    Preview(Vec<RgbImage>),
    /// A checkpoint was written.
    Checkpoint(PathBuf),
    /// The loss went NaN or diverged; the generator was rolled back.
    RolledBack {
        /// The step where it happened.
        step: usize,
        /// The new, lower learning rate.
        learning_rate: f64,
        /// What was seen.
        reason: String,
    },
    /// Something the user should know (few photos, a photo left out).
    Warning(String),
    /// Done: results are in the project folder.
    Finished {
        /// Tuning steps taken.
        steps: usize,
        /// Smoothed final loss.
        loss: f32,
    },
    /// Stopped on request; a checkpoint holds the progress when tuning had begun.
    Cancelled {
        /// Tuning steps done.
        step: usize,
    },
    /// The job could not go on.
    Failed(String),
}

/// A running personalize job.
pub struct PersonalizeJob {
    events: Receiver<PersonalizeEvent>,
    cancel: Arc<AtomicBool>,
}

impl PersonalizeJob {
    /// Starts the job on `device` (it runs under autodiff on that device); `wake` is called after each event.
    pub fn spawn(input: PersonalizeInput, device: Device, wake: impl Fn() + Send + 'static) -> Self {
        let (tx, events) = mpsc::channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = cancel.clone();
        std::thread::Builder::new()
            .name("personalize".into())
            .spawn(move || {
                let send = |event: PersonalizeEvent| {
                    let _ = tx.send(event);
                    wake();
                };
                // A panic deep in a backend (a lost GPU, a bug) ends the job with a message, never silently;
                // the last checkpoint on disk stays resumable.
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(input, &device.autodiff(), &stop, &send)));
                match outcome {
                    Ok(Ok(())) => {}
                    Ok(Err(message)) => send(PersonalizeEvent::Failed(message)),
                    Err(panic) => send(PersonalizeEvent::Failed(format!(
                        "the personalize job crashed: {}; the last checkpoint is kept (resume to continue)",
                        crate::backend::panic_message(&panic)
                    ))),
                }
            })
            .expect("spawning a thread only fails when the OS is out of resources");
        Self { events, cancel }
    }

    /// Asks the job to stop after the step in progress.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Events since the last call, without waiting.
    pub fn poll(&self) -> Vec<PersonalizeEvent> {
        self.events.try_iter().collect()
    }

    /// Waits for the next event; `None` once the job has ended and every event was taken.
    pub fn wait(&self) -> Option<PersonalizeEvent> {
        self.events.recv().ok()
    }
}

/// Each face's attributes in [`Attribute::ALL`] order, measured on the 64-pixel face through the aligned
/// template's landmarks (the way the editor measures generated faces). Stops early when cancelled.
fn measure_labels(photos: &[&RgbImage], device: &Device, stop: &AtomicBool) -> Result<Vec<[f32; 5]>, String> {
    let models = AttributeModels::load(device).map_err(|e| e.to_string())?;
    let mut labels = Vec::with_capacity(photos.len());
    for photo in photos {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let points = aligned_template_points(photo.height() as f64);
        let measured = models.measure(photo, &points);
        labels.push(Attribute::ALL.map(|a| a.of(&measured)));
    }
    Ok(labels)
}

/// A photo that is (nearly) one flat colour, such as an all-black frame, carries no face to learn.
fn is_flat(photo: &RgbImage) -> bool {
    let values = photo.as_raw();
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = values.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    var.sqrt() < 3.0
}

fn run(input: PersonalizeInput, device: &Device, stop: &AtomicBool, send: &dyn Fn(PersonalizeEvent)) -> Result<(), String> {
    std::fs::create_dir_all(&input.project).map_err(|e| format!("{}: {e}", input.project.display()))?;
    let mut photos = Vec::new();
    for (i, photo) in input.photos.iter().enumerate() {
        if is_flat(photo) {
            send(PersonalizeEvent::Warning(format!("photo {} is a flat image (all black or blank) and is left out", i + 1)));
        } else {
            photos.push(photo);
        }
    }
    if photos.is_empty() {
        return Err("no usable photos: personalization needs at least one photo with a face".into());
    }
    if photos.len() < RECOMMENDED_PHOTOS {
        send(PersonalizeEvent::Warning(format!(
            "only {} usable photo(s): at least {RECOMMENDED_PHOTOS} are recommended; the result will follow these photos closely",
            photos.len()
        )));
    }
    send(PersonalizeEvent::Stage("measuring"));
    let mut labels = measure_labels(&photos, device, stop)?;
    // Mirrored copies of the turned faces, measured like the others, so that both directions of yaw have
    // photos (a person's photos often turn one way only; openpeople has one profile view per side).
    let yaw = Attribute::ALL.iter().position(|a| *a == Attribute::Yaw).expect("yaw is an attribute");
    let mirrored: Vec<RgbImage> = if input.mirror_profiles {
        photos.iter().zip(&labels).filter(|(_, l)| l[yaw].abs() >= MIRROR_MIN_YAW).map(|(p, _)| image::imageops::flip_horizontal(*p)).collect()
    } else {
        Vec::new()
    };
    if !mirrored.is_empty() {
        labels.extend(measure_labels(&mirrored.iter().collect::<Vec<_>>(), device, stop)?);
        send(PersonalizeEvent::Warning(format!("{} turned face(s) also used mirrored, so that yaw has photos on both sides", mirrored.len())));
        photos.extend(mirrored.iter());
    }
    if stop.load(Ordering::Relaxed) {
        send(PersonalizeEvent::Cancelled { step: 0 });
        return Ok(());
    }
    // The faces tuning learns from, in anchor order: `eval` and later edits read them back.
    let faces_dir = input.project.join(FACES_DIR);
    std::fs::create_dir_all(&faces_dir).map_err(|e| format!("{}: {e}", faces_dir.display()))?;
    for (i, photo) in photos.iter().enumerate() {
        save_atomic(photo, &faces_dir.join(format!("{i:03}.png"))).map_err(|e| e.to_string())?;
    }
    let loss = ReconstructionLoss::load(device).map_err(|e| e.to_string())?;
    let targets: Vec<Tensor<4>> = photos.iter().map(|p| image_tensor(p, device)).collect();
    let photo_batch = Tensor::cat(targets.clone(), 0);
    let budget = &input.budget;

    input.model.save_to_project(&input.project).map_err(|e| e.to_string())?;
    let resumed = if input.resume {
        checkpoint::load_latest(&input.project, &input.model, device).map_err(|e| e.to_string())?
    } else {
        None
    };
    let (state, generator) = match resumed {
        Some((state, generator)) if state.anchors.len() == photos.len() => (state, generator),
        Some(_) => return Err("the checkpoint was made from a different set of photos; start again without resuming".into()),
        None => {
            send(PersonalizeEvent::Stage("anchors"));
            let frozen = input.model.load(device).map_err(|e| e.to_string())?.freeze();
            let started = Instant::now();
            let mut anchors = Vec::with_capacity(targets.len());
            for (i, target) in targets.iter().enumerate() {
                if stop.load(Ordering::Relaxed) {
                    send(PersonalizeEvent::Cancelled { step: 0 });
                    return Ok(());
                }
                anchors.push(invert(&frozen, &loss, target.clone(), &budget.inversion, input.seed.wrapping_add(i as u64)).latent);
                let per = started.elapsed().as_secs_f64() / (i + 1) as f64;
                send(PersonalizeEvent::Progress { done: i + 1, total: targets.len(), eta_seconds: per * (targets.len() - i - 1) as f64 });
            }
            let organization = budget.organize.then(|| OrganizationPlan::new(&anchors, &labels, budget.tuning.steps));
            let state = JobState { step: 0, learning_rate: budget.tuning.learning_rate, anchors, seed: input.seed, organization };
            (state, input.model.load(device).map_err(|e| e.to_string())?)
        }
    };

    if let Some(plan) = &state.organization {
        send(PersonalizeEvent::Organization {
            organized: plan.organized.iter().map(|o| (o.attribute, o.axis, o.grouping.photos_used(), o.from_step)).collect(),
            skipped: plan.skipped.clone(),
        });
    }
    send(PersonalizeEvent::Stage("tuning"));
    let dim = state.anchors[0].len();
    let flat: Vec<f32> = state.anchors.iter().flatten().copied().collect();
    let anchors = Tensor::<2>::from_data(TensorData::new(flat, [state.anchors.len(), dim]), device);
    let mut settings = budget.tuning.clone();
    settings.learning_rate = state.learning_rate;
    let batch = generator.tuning_batch(settings.batch, input.memory_budget_bytes);
    if batch < settings.batch {
        send(PersonalizeEvent::Warning(format!(
            "{}: tuning {batch} photo(s) per step instead of {} to stay within {:.1} GB of memory",
            generator.name(),
            settings.batch,
            input.memory_budget_bytes / 1e9
        )));
        settings.batch = batch;
    }
    let mut tuner = Tuner::new(generator, anchors, photo_batch, &settings, state.seed, state.step);
    if let Some(plan) = &state.organization {
        tuner = tuner.organize(plan.clone());
    }
    let mut good = tuner.state();
    let (mut rollbacks, mut best_smoothed, mut rising) = (0, f32::INFINITY, 0);
    let started = Instant::now();
    let first_step = tuner.step;
    let save = |tuner: &Tuner| -> Result<PathBuf, String> {
        let job_state = JobState {
            step: tuner.step,
            learning_rate: tuner.learning_rate,
            anchors: tuner.anchor_rows(),
            seed: state.seed,
            organization: state.organization.clone(),
        };
        checkpoint::save(&input.project, &job_state, &tuner.generator).map_err(|e| e.to_string())
    };
    while tuner.step < settings.steps {
        if stop.load(Ordering::Relaxed) {
            send(PersonalizeEvent::Checkpoint(save(&tuner)?));
            send(PersonalizeEvent::Cancelled { step: tuner.step });
            return Ok(());
        }
        let before = tuner.smoothed_loss();
        let step = tuner.step(&loss);
        let jump = step.loss.is_finite() && before.is_finite() && step.loss > DIVERGENCE_FACTOR * before;
        let smoothed = tuner.smoothed_loss();
        rising = if smoothed > RISE_FACTOR * best_smoothed { rising + 1 } else { 0 };
        best_smoothed = best_smoothed.min(smoothed);
        if !step.loss.is_finite() || jump || rising >= RISING_STEPS {
            rising = 0;
            rollbacks += 1;
            if rollbacks > MAX_ROLLBACKS {
                return Err(format!("the loss keeps diverging after {MAX_ROLLBACKS} rollbacks (last: {})", step.loss));
            }
            tuner.roll_back(good.clone(), ROLLBACK_FACTOR);
            let reason = if step.loss.is_finite() { format!("loss {:.3} diverged", step.loss) } else { "loss is not a number".into() };
            send(PersonalizeEvent::RolledBack { step: step.step, learning_rate: tuner.learning_rate, reason });
            continue;
        }
        send(PersonalizeEvent::Loss { step: step.step, value: step.loss, organization: step.organization });
        let done = tuner.step - first_step;
        let per = started.elapsed().as_secs_f64() / done.max(1) as f64;
        send(PersonalizeEvent::Progress { done: tuner.step, total: settings.steps, eta_seconds: per * (settings.steps - tuner.step) as f64 });
        // Keep a snapshot of a healthy state only (never one taken while the loss is climbing).
        if tuner.step % SNAPSHOT_EVERY == 0 && tuner.smoothed_loss() <= 1.1 * best_smoothed {
            good = tuner.state();
        }
        if budget.preview_every > 0 && tuner.step % budget.preview_every == 0 {
            let n = tuner.anchors().dims()[0].min(4);
            let shown = tuner.generator.faces(tuner.anchors().slice([0..n, 0..dim])).detach();
            send(PersonalizeEvent::Preview(tensor_to_images(shown).map_err(|e| e.to_string())?));
        }
        if budget.checkpoint_every > 0 && tuner.step % budget.checkpoint_every == 0 {
            send(PersonalizeEvent::Checkpoint(save(&tuner)?));
        }
        if tuner.converged() {
            break;
        }
    }
    let weights = tuner.generator.to_bytes().map_err(|e| e.to_string())?;
    let weights_path = input.project.join("generator.safetensors");
    write_atomic(&weights_path, &weights).map_err(|e| format!("{}: {e}", weights_path.display()))?;
    let final_anchors = tuner.anchor_rows();
    let anchors_path = input.project.join("anchors.json");
    let anchors_json = serde_json::to_vec(&final_anchors).expect("anchors serialize");
    write_atomic(&anchors_path, &anchors_json).map_err(|e| format!("{}: {e}", anchors_path.display()))?;
    let controls = match &state.organization {
        Some(plan) => Controls::organized(plan, &final_anchors, &labels),
        None => Controls::fitted(&final_anchors, &labels),
    };
    let controls_path = input.project.join(CONTROLS_FILE);
    let controls_json = serde_json::to_vec_pretty(&controls).expect("controls serialize");
    write_atomic(&controls_path, &controls_json).map_err(|e| format!("{}: {e}", controls_path.display()))?;
    send(PersonalizeEvent::Checkpoint(save(&tuner)?));
    send(PersonalizeEvent::Finished { steps: tuner.step, loss: tuner.smoothed_loss() });
    Ok(())
}
