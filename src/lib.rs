//! MyStyle Studio: learn one person's face from their own photos, then edit portraits of that person
//! with live sliders (an implementation of MyStyle++, a controllable personalized generative prior).
//!
//! The library is one pipeline; the GUI (`app`) and the command line (`cli`) only call it:
//! `imaging` (decode by content, EXIF, folders, export) -> `face` (detect, align, inverse map) ->
//! `attributes` (age, smile, pose, hair, identity on top of the `nets` converted from ONNX) ->
//! `photoset` (a person's photos: chosen face, statuses, the import job) -> `generator` (the face
//! generator and its weights) -> `preview` (a background worker that renders faces) -> `app` (egui)
//! and `cli` (clap).
//! The compute device is chosen once at start-up by [`backend::select`] and passed down.

pub mod app;
pub mod atomic;
pub mod attributes;
pub mod backend;
pub mod cli;
pub mod face;
pub mod generator;
pub mod imaging;
pub mod nets;
pub mod photoset;
pub mod preview;
pub mod prior;
pub mod project;
