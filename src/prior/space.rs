//! P_beta, the personalized latent space of MyStyle: latents sum_i a_i w_i over the anchors w_i with
//! sum_i a_i = 1 and a_i >= -beta (the anchors' convex hull, slightly dilated). Coefficients are kept
//! inside it by Euclidean projection; samples are random convex mixes of three random anchors.

use crate::generator::latent::SplitMix64;

/// MyStyle's dilation of the convex hull.
pub const BETA: f32 = 0.03;

/// The closest coefficients to `a` (Euclidean) with sum 1 and every entry at least `-beta`.
pub fn project_coefficients(a: &[f32], beta: f32) -> Vec<f32> {
    let n = a.len();
    if n == 0 {
        return Vec::new();
    }
    // Shift by beta: b = a + beta must be >= 0 and sum to z = 1 + n beta (a scaled simplex).
    let z = 1.0 + n as f64 * beta as f64;
    let b: Vec<f64> = a.iter().map(|&v| v as f64 + beta as f64).collect();
    let mut sorted = b.clone();
    sorted.sort_by(|x, y| y.total_cmp(x));
    let (mut cumulative, mut theta) = (0.0, 0.0);
    for (j, u) in sorted.iter().enumerate() {
        cumulative += u;
        let t = (cumulative - z) / (j + 1) as f64;
        if u - t > 0.0 {
            theta = t;
        }
    }
    b.iter().map(|v| ((v - theta).max(0.0) - beta as f64) as f32).collect()
}

/// Whether `a` lies in P_beta (within `tolerance`).
pub fn contains(a: &[f32], beta: f32, tolerance: f32) -> bool {
    (a.iter().sum::<f32>() - 1.0).abs() <= tolerance && a.iter().all(|&v| v >= -beta - tolerance)
}

/// Coefficients of a random sample: a uniform (Dirichlet(1,1,1)) mix of three distinct random anchors
/// (all of them when there are fewer than three). The same seed gives the same sample.
pub fn sample_coefficients(anchors: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64(seed ^ 0x5DEE_CE66_D1CE_4E5B);
    let mut chosen: Vec<usize> = Vec::new();
    while chosen.len() < anchors.min(3) {
        let i = ((rng.uniform() * anchors as f64) as usize).min(anchors - 1);
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    let weights: Vec<f64> = chosen.iter().map(|_| -rng.uniform().ln()).collect();
    let total: f64 = weights.iter().sum();
    let mut a = vec![0.0f32; anchors];
    for (i, w) in chosen.iter().zip(weights) {
        a[*i] = (w / total) as f32;
    }
    a
}

/// The latent sum_i a_i w_i.
pub fn mix(anchors: &[Vec<f32>], coefficients: &[f32]) -> Vec<f32> {
    let dim = anchors.first().map_or(0, Vec::len);
    let mut out = vec![0.0f32; dim];
    for (w, &a) in anchors.iter().zip(coefficients) {
        out.iter_mut().zip(w).for_each(|(o, v)| *o += a * v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_lands_in_the_dilated_hull_and_keeps_points_inside() {
        let inside = [0.5, 0.52, -0.02];
        let kept = project_coefficients(&inside, BETA);
        assert!(kept.iter().zip(inside).all(|(a, b)| (a - b).abs() < 1e-6), "{kept:?}");
        for a in [vec![3.0, -2.0, 0.5], vec![-1.0, -1.0, -1.0, -1.0], vec![0.2, 0.2, 0.2], vec![10.0]] {
            let p = project_coefficients(&a, BETA);
            assert!(contains(&p, BETA, 1e-5), "{a:?} -> {p:?}");
            // Optimality: no point of a small grid of feasible points is closer to `a`.
            let d = |x: &[f32]| x.iter().zip(&a).map(|(u, v)| (u - v).powi(2)).sum::<f32>();
            for i in 0..a.len() {
                for j in 0..a.len() {
                    let mut q = p.clone();
                    q[i] += 0.01;
                    q[j] -= 0.01;
                    if contains(&q, BETA, 1e-6) {
                        assert!(d(&q) >= d(&p) - 1e-5, "{q:?} beats {p:?} for {a:?}");
                    }
                }
            }
        }
        // A far-off point is pulled to a vertex, dilated by beta.
        let p = project_coefficients(&[5.0, 0.0, 0.0], BETA);
        assert!((p[0] - 1.06).abs() < 1e-5 && (p[1] + 0.03).abs() < 1e-5, "{p:?}");
    }

    #[test]
    fn samples_mix_three_anchors_reproducibly() {
        let a = sample_coefficients(10, 42);
        assert_eq!(a, sample_coefficients(10, 42));
        assert_ne!(a, sample_coefficients(10, 43));
        assert_eq!(a.iter().filter(|&&v| v > 0.0).count(), 3);
        assert!(contains(&a, 0.0, 1e-5));
        assert_eq!(sample_coefficients(2, 1).iter().filter(|&&v| v > 0.0).count(), 2);
        let anchors = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        assert_eq!(mix(&anchors, &[0.25, 0.75]), vec![0.25, 0.75]);
    }
}
