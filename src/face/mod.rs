//! Faces in photos: geometry, and FFHQ-style alignment with the inverse map kept for pasting back.

pub mod align;
pub mod detect;
pub mod geometry;
pub mod paste;
pub mod yunet_decode;
