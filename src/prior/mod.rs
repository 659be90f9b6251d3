//! The personalized prior: the space spanned by the person's anchors ([`space`]) and the reconstruction
//! loss that projection and tuning minimize ([`loss`]).

pub mod checkpoint;
pub mod invert;
pub mod job;
pub mod loss;
pub mod personal;
pub mod space;
pub mod tune;
