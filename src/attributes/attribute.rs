//! The attributes a slider controls, and their differentiable estimates on generated faces (the edit
//! engine pulls these toward the requested values).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::{AttributeModels, Attributes, HAPPY, PITCH_OFFSET_DEGREES};
use crate::face::align::FivePoints;

/// An attribute a slider controls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Attribute {
    /// Head yaw in degrees (positive: the face turns toward the image's left).
    Yaw,
    /// Head pitch in degrees (positive: tilted up).
    Pitch,
    /// Probability of a happy expression, 0..1.
    Smile,
    /// Age in years.
    Age,
    /// Share of the aligned square that is hair, 0..1.
    Hair,
}

impl Attribute {
    /// Every attribute, in the order of the curriculum (the first is organized from the start).
    pub const ALL: [Attribute; 5] = [Attribute::Yaw, Attribute::Smile, Attribute::Pitch, Attribute::Age, Attribute::Hair];

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Attribute::Yaw => "yaw",
            Attribute::Pitch => "pitch",
            Attribute::Smile => "smile",
            Attribute::Age => "age",
            Attribute::Hair => "hair",
        }
    }

    /// The attribute of a name (as [`Attribute::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The value of this attribute in a measurement.
    pub fn of(self, a: &Attributes) -> f32 {
        match self {
            Attribute::Yaw => a.yaw,
            Attribute::Pitch => a.pitch,
            Attribute::Smile => a.smile,
            Attribute::Age => a.age,
            Attribute::Hair => a.hair_amount,
        }
    }

    /// A value formatted in its unit (degrees, smile in percent, years, hair share).
    pub fn format(self, value: f32) -> String {
        match self {
            Attribute::Yaw | Attribute::Pitch => format!("{value:+.1}°"),
            Attribute::Smile => format!("{:.0}%", value * 100.0),
            Attribute::Age => format!("{value:.1} y"),
            Attribute::Hair => format!("{value:.3}"),
        }
    }

    /// The narrowest bin width tried (official: 5 degrees for pose, 2 years for age).
    pub fn base_bin_width(self) -> f32 {
        match self {
            Attribute::Yaw | Attribute::Pitch => 5.0,
            Attribute::Smile => 0.1,
            Attribute::Age => 2.0,
            Attribute::Hair => 0.02,
        }
    }

    /// The values the attribute can physically take (slider ranges are clipped to them).
    pub fn bounds(self) -> (f32, f32) {
        match self {
            Attribute::Yaw => (-90.0, 90.0),
            Attribute::Pitch => (-60.0, 60.0),
            Attribute::Smile | Attribute::Hair => (0.0, 1.0),
            Attribute::Age => (0.0, 100.0),
        }
    }
}

impl AttributeModels {
    /// `attribute` of faces [N,3,H,W] (values in [0, 1]) with landmarks `points`, as a tensor [N] in real
    /// units that carries gradients to the faces. Same estimators as [`AttributeModels::measure`].
    pub fn estimate(&self, attribute: Attribute, face: Tensor<4>, points: &FivePoints) -> Tensor<1> {
        match attribute {
            Attribute::Smile => self.expression(face, points).narrow(1, HAPPY, 1).reshape([-1]),
            Attribute::Age => self.age(face, points),
            Attribute::Yaw | Attribute::Pitch => {
                let (mesh, _) = self.mesh(face, points);
                let [yaw, pitch] = pose_degrees(mesh);
                if attribute == Attribute::Yaw { yaw } else { pitch }
            }
            Attribute::Hair => {
                let hair = Self::hair_probability(self.parsing_logits(face));
                let n = hair.dims()[0];
                hair.reshape([n as i32, -1]).mean_dim(1).reshape([n])
            }
        }
    }
}

/// Yaw and pitch in degrees [N] from FaceMesh landmarks [N,468,3], differentiably: the same face normal
/// as [`super::pose_and_mouth`].
fn pose_degrees(mesh: Tensor<3>) -> [Tensor<1>; 2] {
    let n = mesh.dims()[0];
    let point = |i: usize| mesh.clone().narrow(1, i, 1).reshape([n, 3]);
    let across = point(263) - point(33);
    let down = point(152) - point(10);
    let c = |t: &Tensor<2>, k: usize| t.clone().narrow(1, k, 1).reshape([n]);
    let nx = c(&across, 1) * c(&down, 2) - c(&across, 2) * c(&down, 1);
    let ny = c(&across, 2) * c(&down, 0) - c(&across, 0) * c(&down, 2);
    let nz = c(&across, 0) * c(&down, 1) - c(&across, 1) * c(&down, 0);
    let degrees = 180.0 / std::f32::consts::PI;
    [nx.atan2(nz.clone()) * degrees, ny.atan2(nz) * degrees + PITCH_OFFSET_DEGREES]
}
