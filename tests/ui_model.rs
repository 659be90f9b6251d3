//! The Model menu, headless (egui_kittest driving the real app on the CPU backend): a StyleGAN2
//! checkpoint typed into the menu loads in the background (the window keeps drawing), the bar shows its
//! name and resolution and then the personalize time estimate; a file that is not a StyleGAN2 is refused
//! with its name in the message and the model in use stays; the default DCGAN comes back from the menu.

mod common;
#[path = "ui_support.rs"]
mod support;

use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use mystyle::app::Intent;
use mystyle::generator::ModelSource;
use support::{app, app_mut, open, said, wait_until};

#[test]
fn a_checkpoint_loads_from_the_model_menu_with_its_resolution_and_an_estimate() {
    let dir = common::scratch("ui-model");
    let mut h = open(&dir, None);
    wait_until(&mut h, "the default model", Duration::from_secs(60), |_| true);

    // Typed into the menu's path field (no file dialog needed), then Load.
    h.get_by_label("Model").click();
    h.run_steps(2);
    let checkpoint = common::fixture("stylegan2/tiny_g_ema.safetensors");
    h.get_by_role_and_label(Role::TextInput, "Checkpoint path").focus();
    h.step();
    h.get_by_role_and_label(Role::TextInput, "Checkpoint path").type_text(&checkpoint.to_string_lossy());
    h.step();
    h.get_by_label("Load").click();
    let slowest = wait_until(&mut h, "the checkpoint", Duration::from_secs(120), |a| a.state().model == ModelSource::checkpoint(&checkpoint));
    assert!(slowest < Duration::from_millis(250), "a frame took {slowest:?} while the model loaded");
    wait_until(&mut h, "the estimate", Duration::from_secs(120), |_| true);
    let mut shown = false;
    for _ in 0..200 {
        h.step();
        if h.query_by_label_contains("StyleGAN2 64x64 (64x64 px)").is_some() && h.query_by_label_contains("personalizing 20 photos").is_some() {
            shown = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(shown, "the bar does not show the model with its resolution and the estimate; messages {:#?}", app(&h).messages());

    // Not a StyleGAN2: refused, named, and the checkpoint stays in use.
    let wrong = common::fixture("dcgan_reference.safetensors");
    app_mut(&mut h).apply(Intent::LoadModel(ModelSource::checkpoint(&wrong)));
    wait_until(&mut h, "the refusal", Duration::from_secs(60), |a| said(a, "dcgan_reference.safetensors"));
    assert_eq!(app(&h).state().model, ModelSource::checkpoint(&checkpoint));

    // Back to the default.
    app_mut(&mut h).apply(Intent::LoadModel(ModelSource::DefaultDcgan));
    wait_until(&mut h, "the default model again", Duration::from_secs(60), |a| a.state().model == ModelSource::DefaultDcgan);
}
