//! The personalized prior: anchors found by inversion ([`invert`]), the generator tuned on them ([`tune`],
//! driven by the background [`job`]), the space spanned by the anchors ([`space`]) with projection of new
//! photos into it ([`projection`]), the loss all of them minimize ([`loss`]), and the result as loaded from
//! a project ([`personal`]) and measured ([`evaluate`]). MyStyle++: the anchors organized so that principal
//! axes mean attributes, with calibrated sliders ([`organize`]), and the edit engine that moves them
//! ([`edit`]).

pub mod checkpoint;
pub mod edit;
pub mod estimate;
pub mod evaluate;
pub mod invert;
pub mod job;
pub mod loss;
pub mod organize;
pub mod personal;
pub mod projection;
pub mod space;
pub mod tune;
