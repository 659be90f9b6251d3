//! End to end on one openpeople person: personalize on 16 of P006's photos with a short budget, then
//! `mystyle eval` the project with two held-out photos. Tuned reconstructions beat the untuned generator's
//! by a clear margin on PSNR and identity, and random samples of P_beta are closer in identity to the
//! person than samples of the untuned generator.

mod common;

use burn::tensor::Device;
use image::RgbImage;
use mystyle::prior::job::{Budget, FACES_DIR, PersonalizeEvent, PersonalizeInput, PersonalizeJob};

/// Held out from tuning; the profile views are left out (extreme poses, which import flags).
const HELD_OUT: [&str; 2] = ["pensive", "amateur_selfie"];

fn training_faces() -> Vec<RgbImage> {
    common::all_faces("P006", |stem| !HELD_OUT.contains(&stem) && !stem.ends_with("_view"))
}

fn number(v: &serde_json::Value, path: &[&str]) -> f64 {
    path.iter().fold(v, |v, k| &v[*k]).as_f64().unwrap_or_else(|| panic!("{path:?} missing in {v}"))
}

#[test]
fn tuned_prior_beats_the_untuned_generator_and_eval_reports_it() {
    let faces = training_faces();
    assert_eq!(faces.len(), 16);
    let project = common::scratch("e2e.mystyle");
    let budget = Budget { checkpoint_every: 50, ..Budget::short(40, 150, 6) };
    let input = PersonalizeInput { photos: faces, project: project.clone(), budget, resume: false, seed: 3, model: mystyle::generator::ModelSource::DefaultDcgan, memory_budget_bytes: mystyle::prior::job::TUNING_MEMORY_BYTES, mirror_profiles: false };
    let job = PersonalizeJob::spawn(input, Device::flex(), || {});
    let mut finished = false;
    while let Some(event) = job.wait() {
        match event {
            PersonalizeEvent::Finished { .. } => finished = true,
            PersonalizeEvent::Failed(m) => panic!("{m}"),
            _ => {}
        }
    }
    assert!(finished);
    assert_eq!(std::fs::read_dir(project.join(FACES_DIR)).unwrap().count(), 16);

    let held_out: Vec<_> = HELD_OUT.iter().map(|n| common::fixture(&format!("openpeople/P006/{n}.jpg"))).collect();
    let show = project.join("holdout.png");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mystyle"))
        .args(["--backend", "cpu", "eval"])
        .arg(&project)
        .arg("--holdout")
        .args(&held_out)
        .args(["--samples", "24", "--sweep-steps", "0", "--json", "--show"])
        .arg(&show)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("{report:#}");

    let (tuned_psnr, untuned_psnr) = (number(&report, &["training", "tuned", "psnr_db"]), number(&report, &["training", "untuned", "psnr_db"]));
    let (tuned_id, untuned_id) = (number(&report, &["training", "tuned", "identity"]), number(&report, &["training", "untuned", "identity"]));
    assert!(tuned_psnr > untuned_psnr + 2.0, "training PSNR: tuned {tuned_psnr} vs untuned {untuned_psnr}");
    assert!(tuned_id > untuned_id + 0.1, "training identity: tuned {tuned_id} vs untuned {untuned_id}");

    let (tuned_samples, untuned_samples) = (number(&report, &["samples", "tuned"]), number(&report, &["samples", "untuned"]));
    assert!(tuned_samples > untuned_samples + 0.1, "sample identity: P_beta {tuned_samples} vs untuned {untuned_samples}");

    assert_eq!(number(&report, &["holdout", "photos"]), 2.0);
    let (held_tuned_id, held_untuned_id) = (number(&report, &["holdout", "tuned", "identity"]), number(&report, &["holdout", "untuned", "identity"]));
    assert!(held_tuned_id > held_untuned_id, "held-out identity: P_beta {held_tuned_id} vs free inversion {held_untuned_id}");
    assert_eq!(image::open(&show).unwrap().to_rgb8().dimensions(), (2 * 66 + 2, 2 * 66 + 2));
}
