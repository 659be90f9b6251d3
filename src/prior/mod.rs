//! The personalized prior: the space spanned by the person's anchors (and, in later steps, projection,
//! tuning and organization).

pub mod space;
