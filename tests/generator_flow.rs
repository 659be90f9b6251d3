//! The whole flow (personalize -> organize -> edit -> export, then reopen) through the one generator
//! interface, on the embedded DCGAN and on a small StyleGAN2 checkpoint (the golden-test fixture, random
//! weights checked against stylegan2-torch in tests/stylegan2_reference.rs). Mechanics only: a tiny
//! budget, so the faces are not good; what is checked is that every stage runs on either generator, the
//! tuned weights are saved and read back exactly, and the export is a real image at the model's size.

mod common;

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use image::RgbImage;
use mystyle::generator::{FaceGenerator, ModelSource};
use mystyle::imaging::export::save_atomic;
use mystyle::prior::edit::{Base, EditEvent, EditJob, EditRequest, Editor, Targets};
use mystyle::prior::job::{Budget, PersonalizeEvent, PersonalizeInput, PersonalizeJob, TUNING_MEMORY_BYTES};
use mystyle::prior::organize::Attribute;
use mystyle::prior::personal::PersonalPrior;

/// Six photos of openpeople P006 with different expressions, aligned at 64 px.
fn faces() -> Vec<RgbImage> {
    common::faces("P006", &["neutral", "happy", "sad", "surprised", "smug", "angry"])
}

fn tiny_budget() -> Budget {
    let mut budget = Budget { checkpoint_every: 4, preview_every: 4, ..Budget::short(4, 8, 2) };
    budget.tuning.patience = 1000;
    budget
}

/// Personalizes, edits and exports with `model`; returns the exported image.
fn flow(model: ModelSource, name: &str) -> RgbImage {
    let project = common::scratch(name).join("person.mystyle");
    let input = PersonalizeInput {
        photos: faces(),
        project: project.clone(),
        budget: tiny_budget(),
        resume: false,
        seed: 2,
        model: model.clone(),
        memory_budget_bytes: TUNING_MEMORY_BYTES,
        mirror_profiles: false,
    };
    let job = PersonalizeJob::spawn(input, Device::flex(), || {});
    let (mut previews, mut finished) = (0, false);
    while let Some(event) = job.wait() {
        match event {
            PersonalizeEvent::Preview(images) => {
                previews += 1;
                assert!(images.iter().all(|i| i.width() == 64), "previews are the 64 px faces tuning compares");
            }
            PersonalizeEvent::Finished { steps, loss } => {
                assert_eq!(steps, 8);
                assert!(loss.is_finite());
                finished = true;
            }
            PersonalizeEvent::Failed(message) => panic!("{name}: the job failed: {message}"),
            _ => {}
        }
    }
    assert!(finished && previews == 2, "{name}: finished {finished}, {previews} previews");
    assert_eq!(ModelSource::of_project(&project).unwrap(), model, "the project remembers its model");
    for file in ["generator.safetensors", "anchors.json", "controls.json", "model.json"] {
        assert!(project.join(file).is_file(), "{name}: {file} missing");
    }

    let device = Device::flex().autodiff();
    let prior = PersonalPrior::load(&project, &device).unwrap();
    let untuned = model.load(&device).unwrap();
    // Tuning changed the weights, and the saved ones are read back exactly.
    let dim = prior.generator.latent_dim();
    let w = Tensor::<2>::from_data(TensorData::new(prior.anchors[0].clone(), [1, dim]), &device);
    let moved: f32 = (prior.generator.faces(w.clone()) - untuned.faces(w.clone())).abs().max().into_scalar();
    assert!(moved > 1e-4, "{name}: tuning left the generator unchanged");

    let mut editor = Editor::open(&project, &device).unwrap();
    editor.settings.refine_steps = 2;
    let base = editor.base_latent(&Base::Mean).unwrap();
    let targets = Targets::default().with(Attribute::Smile, 0.8).with(Attribute::Age, 40.0);
    let mut frames = Vec::new();
    let latent = editor
        .edit(&base, &targets, |frame| {
            frames.push(frame);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(frames.len(), 4, "{name}: frame 0, two refinement frames and the last");
    assert!(latent.iter().all(|v| v.is_finite()));
    assert_ne!(latent, base, "{name}: the edit moved the latent");
    let preview_side = (prior.generator.resolution().min(editor.settings.preview_side)) as u32;
    assert!(frames.iter().all(|f| f.image.width() == preview_side), "{name}: frames at the preview size");

    let exported = editor.render_at(&latent, usize::MAX).unwrap();
    let out = project.parent().unwrap().join("edited.png");
    save_atomic(&exported, &out).unwrap();
    let read = image::open(&out).unwrap().to_rgb8();
    assert_eq!(read, exported, "{name}: the export is the rendered face");
    assert_eq!(read.width() as usize, prior.generator.resolution());

    // Reopened, the project draws the same face from the same latent.
    let again = Editor::open(&project, &device).unwrap();
    assert_eq!(again.render_at(&latent, usize::MAX).unwrap(), exported, "{name}: reopening changed the face");

    // The edit worker (what the window uses) draws slider frames at a preview size and, asked in the middle
    // of an edit, the full-size face an export is made from.
    let opened = project.clone();
    let job = EditJob::spawn(
        move || {
            let mut editor = Editor::open(&opened, &Device::flex().autodiff())?;
            editor.settings.preview_side = 32;
            editor.settings.refine_steps = 3;
            Ok(editor)
        },
        || {},
    );
    job.request(EditRequest { id: 1, base: Base::Mean, targets: targets.clone() });
    job.render(2, latent.clone(), usize::MAX);
    let (mut frame_sides, mut rendered, mut done) = (Vec::new(), None, false);
    while !(done && rendered.is_some()) {
        match job.wait().expect("the edit worker ended early") {
            EditEvent::Frame { id: 1, frame } => frame_sides.push(frame.image.width()),
            EditEvent::Done { id: 1, .. } => done = true,
            EditEvent::Rendered { id: 2, image } => rendered = Some(image),
            EditEvent::Failed { id, message } => panic!("{name}: request {id} failed: {message}"),
            EditEvent::LoadFailed(message) => panic!("{name}: {message}"),
            _ => {}
        }
    }
    // Every frame at the size the editor draws at a 32 px preview (StyleGAN2 stops its synthesis there; the
    // DCGAN has only its 64 px output).
    editor.settings.preview_side = 32;
    let preview = editor.render(&latent).unwrap().width();
    assert_eq!(preview, if matches!(model, ModelSource::DefaultDcgan) { 64 } else { 32 }, "{name}");
    assert!(!frame_sides.is_empty() && frame_sides.iter().all(|&s| s == preview), "{name}: frames {frame_sides:?}");
    assert_eq!(rendered.unwrap(), exported, "{name}: the worker's full-size render is the export");
    read
}

fn spread(image: &RgbImage) -> f64 {
    let v = image.as_raw();
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
    (v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
}

#[test]
fn the_whole_flow_runs_on_the_dcgan() {
    let face = flow(ModelSource::DefaultDcgan, "flow-dcgan");
    assert!(spread(&face) > 10.0, "a flat export");
}

#[test]
fn the_whole_flow_runs_on_a_small_stylegan2_checkpoint() {
    // The safetensors copy carries no mean w, so the generator estimates it (the .pt is read in
    // tests/stylegan2_reference.rs).
    let checkpoint = common::fixture("stylegan2/tiny_g_ema.safetensors");
    let face = flow(ModelSource::checkpoint(Path::new(&checkpoint)), "flow-stylegan2");
    assert!(spread(&face) > 1.0, "a flat export");
}
