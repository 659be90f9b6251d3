//! 2-D affine maps between image coordinates, and the similarity transform that best maps one set of
//! points onto another (Umeyama's least-squares solution, as dlib and InsightFace use for face chips).

/// An affine map p -> A p + t, with A = [[a, b], [c, d]].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Affine {
    /// Row-major 2x3 matrix [a, b, tx, c, d, ty].
    pub m: [f64; 6],
}

impl Affine {
    /// The identity map.
    pub const IDENTITY: Affine = Affine { m: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0] };

    /// Applies the map to a point.
    pub fn apply(&self, [x, y]: [f64; 2]) -> [f64; 2] {
        let m = &self.m;
        [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]]
    }

    /// The inverse map; `None` when the map is singular.
    pub fn inverse(&self) -> Option<Affine> {
        let [a, b, tx, c, d, ty] = self.m;
        let det = a * d - b * c;
        if det.abs() < 1e-12 || !det.is_finite() {
            return None;
        }
        let (ia, ib, ic, id) = (d / det, -b / det, -c / det, a / det);
        Some(Affine { m: [ia, ib, -(ia * tx + ib * ty), ic, id, -(ic * tx + id * ty)] })
    }

    /// `self` after `first`: p -> self(first(p)).
    pub fn compose(&self, first: &Affine) -> Affine {
        let [a, b, tx, c, d, ty] = self.m;
        let [e, f, ux, g, h, uy] = first.m;
        Affine { m: [a * e + b * g, a * f + b * h, a * ux + b * uy + tx, c * e + d * g, c * f + d * h, c * ux + d * uy + ty] }
    }

    /// How much the map scales lengths (the square root of the determinant's magnitude).
    pub fn scale(&self) -> f64 {
        (self.m[0] * self.m[4] - self.m[1] * self.m[3]).abs().sqrt()
    }
}

/// The similarity transform (rotation, uniform scale, translation; no reflection) that maps `src` onto
/// `dst` with the least squared error. `None` when the source points coincide.
pub fn similarity(src: &[[f64; 2]], dst: &[[f64; 2]]) -> Option<Affine> {
    assert_eq!(src.len(), dst.len(), "point sets differ in length");
    let n = src.len() as f64;
    let mean = |pts: &[[f64; 2]]| pts.iter().fold([0.0, 0.0], |acc, p| [acc[0] + p[0] / n, acc[1] + p[1] / n]);
    let (ms, md) = (mean(src), mean(dst));
    // With complex numbers s = x + iy, the best similarity is d = z s + t with z = sum(conj(s') d') / sum(|s'|^2).
    let (mut num_re, mut num_im, mut den) = (0.0, 0.0, 0.0);
    for (s, d) in src.iter().zip(dst) {
        let (sx, sy) = (s[0] - ms[0], s[1] - ms[1]);
        let (dx, dy) = (d[0] - md[0], d[1] - md[1]);
        num_re += sx * dx + sy * dy;
        num_im += sx * dy - sy * dx;
        den += sx * sx + sy * sy;
    }
    if den < 1e-12 {
        return None;
    }
    let (a, b) = (num_re / den, num_im / den);
    let tx = md[0] - (a * ms[0] - b * ms[1]);
    let ty = md[1] - (b * ms[0] + a * ms[1]);
    Some(Affine { m: [a, -b, tx, b, a, ty] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_recovers_a_known_transform_and_inverts() {
        let truth = Affine { m: [0.8, -0.6, 10.0, 0.6, 0.8, -4.0] }; // scale 1, rotation ~36.9 degrees
        let src = [[0.0, 0.0], [10.0, 0.0], [0.0, 5.0], [7.0, 9.0], [3.0, -2.0]];
        let dst: Vec<[f64; 2]> = src.iter().map(|&p| truth.apply(p)).collect();
        let fit = similarity(&src, &dst).unwrap();
        for (a, b) in fit.m.iter().zip(truth.m) {
            assert!((a - b).abs() < 1e-9, "{fit:?}");
        }
        let back = fit.inverse().unwrap().compose(&fit);
        for (a, b) in back.m.iter().zip(Affine::IDENTITY.m) {
            assert!((a - b).abs() < 1e-9);
        }
        assert!((fit.scale() - 1.0).abs() < 1e-9);
        assert!(similarity(&[[1.0, 1.0], [1.0, 1.0]], &[[0.0, 0.0], [2.0, 2.0]]).is_none());
    }
}
