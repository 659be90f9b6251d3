//! The personalize job: cancel and resume give the same result as an uninterrupted run; a diverging
//! loss is rolled back and reported; too few photos and a blank photo get warnings, never NaN
//! (bad-inputs rows 14 and 15).

mod common;

use std::path::Path;

use burn::tensor::Device;
use image::RgbImage;
use mystyle::prior::invert::InversionSettings;
use mystyle::prior::job::{Budget, PersonalizeEvent, PersonalizeInput, PersonalizeJob};
use mystyle::prior::tune::TuningSettings;

fn photos(names: &[&str]) -> Vec<RgbImage> {
    common::faces("P006", names)
}

fn small_budget(steps: usize, learning_rate: f64) -> Budget {
    Budget {
        inversion: InversionSettings { starts: 1, steps: 20, ..Default::default() },
        tuning: TuningSettings { steps, batch: 3, learning_rate, patience: 1000, ..Default::default() },
        checkpoint_every: 10,
        preview_every: 10,
        organize: true,
    }
}

/// Runs a job to its end, cancelling once `cancel_at` steps are done; returns every event.
fn run(project: &Path, photos: Vec<RgbImage>, budget: Budget, resume: bool, cancel_at: Option<usize>) -> Vec<PersonalizeEvent> {
    let input = PersonalizeInput { photos, project: project.to_path_buf(), budget, resume, seed: 9, model: mystyle::generator::ModelSource::DefaultDcgan, memory_budget_bytes: mystyle::prior::job::TUNING_MEMORY_BYTES, mirror_profiles: false };
    let job = PersonalizeJob::spawn(input, Device::flex(), || {});
    let mut events = Vec::new();
    while let Some(event) = job.wait() {
        if let (Some(at), PersonalizeEvent::Loss { step, .. }) = (cancel_at, &event) {
            if *step >= at {
                job.cancel();
            }
        }
        events.push(event);
    }
    events
}

fn final_loss(events: &[PersonalizeEvent]) -> f32 {
    match events.last() {
        Some(PersonalizeEvent::Finished { loss, .. }) => *loss,
        other => panic!("the job did not finish: {other:?}"),
    }
}

#[test]
fn cancel_then_resume_matches_an_uninterrupted_run() {
    let faces = photos(&["neutral", "happy", "sad", "front_view", "studio_portrait"]);
    let (a, b) = (common::scratch("job_straight"), common::scratch("job_resumed"));
    let straight = run(&a, faces.clone(), small_budget(40, 1e-3), false, None);
    let straight_loss = final_loss(&straight);
    assert!(straight.iter().any(|e| matches!(e, PersonalizeEvent::Preview(images) if images.len() == 4)));
    assert!(a.join("generator.safetensors").exists() && a.join("anchors.json").exists());
    samples_look_like_the_person(&a, &faces);

    let cancelled = run(&b, faces.clone(), small_budget(40, 1e-3), false, Some(15));
    let step = match cancelled.last() {
        Some(PersonalizeEvent::Cancelled { step }) => *step,
        other => panic!("not cancelled: {other:?}"),
    };
    assert!((15..40).contains(&step), "cancelled at {step}");
    let resumed = run(&b, faces, small_budget(40, 1e-3), true, None);
    assert!(!resumed.iter().any(|e| matches!(e, PersonalizeEvent::Stage("anchors"))), "resume recomputed the anchors");
    let resumed_loss = final_loss(&resumed);
    println!("final loss: uninterrupted {straight_loss:.4}, cancelled at {step} and resumed {resumed_loss:.4}");
    assert!((resumed_loss - straight_loss).abs() < 0.25 * straight_loss, "{resumed_loss} vs {straight_loss}");
}

#[test]
fn a_diverging_loss_is_rolled_back_with_a_lower_learning_rate() {
    // A learning rate far too high makes the loss explode: the job must notice, roll back and recover.
    let faces = photos(&["neutral", "happy", "sad"]);
    let project = common::scratch("job_diverge");
    let events = run(&project, faces, small_budget(60, 2.0), false, None);
    let rollbacks: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            PersonalizeEvent::RolledBack { learning_rate, .. } => Some(*learning_rate),
            _ => None,
        })
        .collect();
    let losses: Vec<f32> = events.iter().filter_map(|e| match e { PersonalizeEvent::Loss { value, .. } => Some(*value), _ => None }).collect();
    println!("rollbacks to learning rates {rollbacks:?}; losses {losses:?}");
    assert!(!rollbacks.is_empty(), "no rollback reported");
    assert!(rollbacks.windows(2).all(|w| w[1] < w[0]));
    let loss = final_loss(&events);
    assert!(loss.is_finite(), "final loss {loss}");
    assert!(loss < losses[0], "the job did not recover: final loss {loss}, first {}", losses[0]);
}

#[test]
fn row14_one_photo_and_a_blank_photo_warn_and_never_produce_nan() {
    let one = run(&common::scratch("job_one"), photos(&["neutral"]), small_budget(10, 1e-3), false, None);
    assert!(one.iter().any(|e| matches!(e, PersonalizeEvent::Warning(w) if w.contains("only 1 usable photo"))));
    assert!(final_loss(&one).is_finite());

    let mut three = photos(&["neutral", "happy"]);
    three.insert(1, RgbImage::new(64, 64)); // all black
    let events = run(&common::scratch("job_black"), three, small_budget(10, 1e-3), false, None);
    assert!(events.iter().any(|e| matches!(e, PersonalizeEvent::Warning(w) if w.contains("photo 2") && w.contains("all black"))));
    assert!(events.iter().all(|e| !matches!(e, PersonalizeEvent::Loss { value, .. } if !value.is_finite())));
    assert!(final_loss(&events).is_finite());

    let none = run(&common::scratch("job_none"), vec![RgbImage::new(64, 64)], small_budget(10, 1e-3), false, None);
    assert!(matches!(none.last(), Some(PersonalizeEvent::Failed(m)) if m.contains("no usable photos")), "{:?}", none.last());
}

/// Samples of the personalized prior are closer (perceptual distance) to the person's photos than samples
/// of the untuned generator, and `mystyle sample PROJECT` writes them.
fn samples_look_like_the_person(project: &Path, faces: &[RgbImage]) {
    use mystyle::attributes::image_tensor;
    use mystyle::prior::loss::ReconstructionLoss;
    use mystyle::prior::personal::PersonalPrior;
    let device = Device::flex();
    let prior = PersonalPrior::load(project, &device).unwrap();
    let personal = prior.sample(3, 6, 64, 2).unwrap();
    let generator = mystyle::generator::ModelSource::DefaultDcgan.load(&device).unwrap();
    let renderer = mystyle::generator::model::Renderer::new(&generator, 2);
    let untuned = mystyle::generator::sample_faces(&generator, &renderer, 3, 6, 64).unwrap();
    let loss = ReconstructionLoss::load(&device).unwrap();
    // Mean over samples of the distance to the nearest photo of the person.
    let nearest = |samples: &[RgbImage]| {
        samples
            .iter()
            .map(|s| {
                faces
                    .iter()
                    .map(|f| loss.distance(image_tensor(s, &device), image_tensor(f, &device)).into_scalar::<f32>())
                    .fold(f32::INFINITY, f32::min)
            })
            .sum::<f32>()
            / samples.len() as f32
    };
    let (p, u) = (nearest(&personal), nearest(&untuned));
    println!("distance to the person's nearest photo: personalized samples {p:.3}, untuned samples {u:.3}");
    assert!(p < 0.8 * u, "personalized samples {p} vs untuned {u}");

    let out = project.join("samples.png");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_mystyle"))
        .args(["--backend", "cpu", "sample"])
        .arg(project)
        .args(["--count", "4", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(image::open(&out).unwrap().to_rgb8().dimensions(), (2 * 66 + 2, 2 * 66 + 2));
}

#[test]
fn turned_faces_are_also_used_mirrored_when_asked() {
    let faces = photos(&["neutral", "left_view", "happy"]);
    let project = common::scratch("job_mirrored");
    let input = PersonalizeInput {
        photos: faces.clone(),
        project: project.clone(),
        budget: Budget::short(2, 2, 2),
        resume: false,
        seed: 9,
        model: mystyle::generator::ModelSource::DefaultDcgan,
        memory_budget_bytes: mystyle::prior::job::TUNING_MEMORY_BYTES,
        mirror_profiles: true,
    };
    let job = PersonalizeJob::spawn(input, Device::flex(), || {});
    let mut warnings = Vec::new();
    let mut finished = false;
    while let Some(event) = job.wait() {
        match event {
            PersonalizeEvent::Warning(w) => warnings.push(w),
            PersonalizeEvent::Finished { .. } => finished = true,
            PersonalizeEvent::Failed(m) => panic!("{m}"),
            _ => {}
        }
    }
    assert!(finished);
    assert!(warnings.iter().any(|w| w.starts_with("1 turned face(s) also used mirrored")), "{warnings:?}");
    // Only the profile view (yaw about 60 degrees) is mirrored; it joins the faces and the anchors.
    let saved = mystyle::prior::personal::PersonalPrior::training_faces(&project).unwrap();
    assert_eq!(saved.len(), 4);
    assert_eq!(saved[3], image::imageops::flip_horizontal(&faces[1]));
    let anchors: Vec<Vec<f32>> = serde_json::from_slice(&std::fs::read(project.join("anchors.json")).unwrap()).unwrap();
    assert_eq!(anchors.len(), 4);
}
