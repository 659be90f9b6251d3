//! Pasting an edited face back into its photo: the aligned square is mapped back through the inverse of
//! the alignment ([`super::align::AlignedFace::to_photo`]), blended in under a feathered ellipse around
//! the face, and its colours are matched to the photo's in a band at the seam (mean and spread per
//! channel), so that a face that came out of the generator slightly warmer or darker does not leave a
//! visible edge.

use image::{Rgb, RgbImage};

use super::geometry::Affine;

/// How a face is pasted back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PasteOptions {
    /// Width of the soft edge as a share of the ellipse's radius (0: a hard edge).
    pub feather: f64,
    /// Match the face's colours to the photo's in the band around the seam.
    pub match_colour: bool,
}

impl Default for PasteOptions {
    fn default() -> Self {
        Self { feather: 0.2, match_colour: true }
    }
}

/// The ellipse covering the face in the aligned square, in coordinates where the square is [0, 1]²
/// (FFHQ places the eyes a little above the centre and the chin near the bottom).
const CENTRE: [f64; 2] = [0.5, 0.52];
/// Half-axes of the ellipse, same coordinates.
const RADII: [f64; 2] = [0.34, 0.40];

/// Elliptical distance of a point of the aligned square ([0, 1]² coordinates) from the face's centre:
/// below 1 inside the ellipse, 1 on its edge.
pub fn ellipse_distance(u: f64, v: f64) -> f64 {
    ((u - CENTRE[0]) / RADII[0]).hypot((v - CENTRE[1]) / RADII[1])
}

/// Weight of the pasted face at elliptical distance `d`: 1 well inside, 0 outside, a smooth step over the
/// last `feather` of the radius.
pub fn mask_weight(d: f64, feather: f64) -> f64 {
    if feather <= 0.0 {
        return if d < 1.0 { 1.0 } else { 0.0 };
    }
    let t = ((1.0 - d) / feather).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Pastes `face` (an aligned square of any size) into `photo`. `to_photo` maps the coordinates of an
/// aligned square of side `aligned_side` to photo pixels, as [`super::align::align`] returned it; the face
/// is scaled to that square first. Pixels outside the feathered ellipse keep the photo's values exactly.
pub fn paste_back(photo: &RgbImage, face: &RgbImage, to_photo: &Affine, aligned_side: u32, options: &PasteOptions) -> RgbImage {
    let mut out = photo.clone();
    let Some(to_aligned) = to_photo.inverse() else { return out };
    if face.width() == 0 || face.height() == 0 || photo.width() == 0 || photo.height() == 0 {
        return out;
    }
    let side = aligned_side as f64;
    // Photo pixels the square covers.
    let corners = [[0.0, 0.0], [side, 0.0], [0.0, side], [side, side]].map(|p| to_photo.apply(p));
    let (w, h) = (photo.width() as f64, photo.height() as f64);
    let x0 = corners.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min).floor().clamp(0.0, w) as u32;
    let y0 = corners.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min).floor().clamp(0.0, h) as u32;
    let x1 = corners.iter().map(|p| p[0]).fold(f64::NEG_INFINITY, f64::max).ceil().clamp(0.0, w) as u32;
    let y1 = corners.iter().map(|p| p[1]).fold(f64::NEG_INFINITY, f64::max).ceil().clamp(0.0, h) as u32;
    // Each covered pixel: its place in the square ([0, 1]²) and its elliptical distance.
    let place = |x: u32, y: u32| {
        let a = to_aligned.apply([x as f64 + 0.5, y as f64 + 0.5]);
        let (u, v) = (a[0] / side, a[1] / side);
        (u, v, ellipse_distance(u, v))
    };
    let sample = |u: f64, v: f64| bilinear_clamped(face, u * face.width() as f64, v * face.height() as f64);

    // Colour statistics of photo and face in the band around the seam.
    let mut transfer = [(1.0, 0.0); 3];
    if options.match_colour {
        let band = options.feather.max(0.1);
        let (mut photo_stats, mut face_stats) = ([Moments::default(); 3], [Moments::default(); 3]);
        for y in y0..y1 {
            for x in x0..x1 {
                let (u, v, d) = place(x, y);
                if (d - 1.0).abs() <= band && (0.0..=1.0).contains(&u) && (0.0..=1.0).contains(&v) {
                    let (p, f) = (photo.get_pixel(x, y), sample(u, v));
                    for c in 0..3 {
                        photo_stats[c].add(p[c] as f64);
                        face_stats[c].add(f[c]);
                    }
                }
            }
        }
        for c in 0..3 {
            if photo_stats[c].n > 0.0 {
                let gain = (photo_stats[c].std() / face_stats[c].std().max(1e-6)).clamp(0.5, 2.0);
                transfer[c] = (gain, photo_stats[c].mean() - gain * face_stats[c].mean());
            }
        }
    }

    for y in y0..y1 {
        for x in x0..x1 {
            let (u, v, d) = place(x, y);
            let weight = mask_weight(d, options.feather);
            if weight <= 0.0 {
                continue;
            }
            let f = sample(u, v);
            let p = *photo.get_pixel(x, y);
            let mixed = [0, 1, 2].map(|c| {
                let (gain, offset) = transfer[c];
                let face_value = (f[c] * gain + offset).clamp(0.0, 255.0);
                (weight * face_value + (1.0 - weight) * p[c] as f64).round().clamp(0.0, 255.0) as u8
            });
            out.put_pixel(x, y, Rgb(mixed));
        }
    }
    out
}

/// Running mean and spread.
#[derive(Clone, Copy, Default)]
struct Moments {
    n: f64,
    sum: f64,
    sum_sq: f64,
}

impl Moments {
    fn add(&mut self, v: f64) {
        self.n += 1.0;
        self.sum += v;
        self.sum_sq += v * v;
    }

    fn mean(&self) -> f64 {
        self.sum / self.n.max(1.0)
    }

    fn std(&self) -> f64 {
        (self.sum_sq / self.n.max(1.0) - self.mean().powi(2)).max(0.0).sqrt()
    }
}

/// Bilinear sample at continuous coordinates (pixel centres at +0.5), holding the edge pixels outside.
fn bilinear_clamped(img: &RgbImage, x: f64, y: f64) -> [f64; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (fx, fy) = (x - 0.5, y - 0.5);
    let (x0, y0) = (fx.floor(), fy.floor());
    let (tx, ty) = (fx - x0, fy - y0);
    let mut out = [0.0; 3];
    for (dy, wy) in [(0, 1.0 - ty), (1, ty)] {
        for (dx, wx) in [(0, 1.0 - tx), (1, tx)] {
            let px = img.get_pixel((x0 as i64 + dx).clamp(0, w - 1) as u32, (y0 as i64 + dy).clamp(0, h - 1) as u32);
            for c in 0..3 {
                out[c] += px[c] as f64 * wx * wy;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::align::{FivePoints, align};

    /// A smooth synthetic photo (slow colour waves): resampling it twice changes it by a level or so.
    fn photo() -> RgbImage {
        RgbImage::from_fn(360, 300, |x, y| {
            let (x, y) = (x as f64, y as f64);
            Rgb([
                (128.0 + 60.0 * (x / 37.0).sin()) as u8,
                (110.0 + 50.0 * (y / 41.0).cos()) as u8,
                (90.0 + 40.0 * ((x + y) / 53.0).sin()) as u8,
            ])
        })
    }

    fn points() -> FivePoints {
        let (cx, cy, d) = (170.0, 130.0, 22.0);
        [[cx - d, cy], [cx + d, cy], [cx, cy + 0.6 * d], [cx - 0.8 * d, cy + 1.2 * d], [cx + 0.8 * d, cy + 1.2 * d]]
    }

    /// Mean colour of `img` over the photo pixels whose elliptical distance lies in `range`.
    fn ring_mean(img: &RgbImage, to_photo: &Affine, side: u32, range: std::ops::Range<f64>) -> [f64; 3] {
        let inverse = to_photo.inverse().unwrap();
        let (mut sum, mut n) = ([0.0; 3], 0.0);
        for (x, y, p) in img.enumerate_pixels() {
            let a = inverse.apply([x as f64 + 0.5, y as f64 + 0.5]);
            if range.contains(&ellipse_distance(a[0] / side as f64, a[1] / side as f64)) {
                for c in 0..3 {
                    sum[c] += p[c] as f64;
                }
                n += 1.0;
            }
        }
        sum.map(|s| s / n)
    }

    #[test]
    fn pasting_the_aligned_crop_back_leaves_the_photo_unchanged() {
        let photo = photo();
        // As import keeps it: the map of the 256 px alignment, and the 64 px face the generator works at.
        let big = align(&photo, &points(), 256);
        let face = align(&photo, &points(), 64).image;
        let pasted = paste_back(&photo, &face, &big.to_photo, 256, &PasteOptions::default());
        let inverse = big.to_photo.inverse().unwrap();
        let (mut worst, mut total, mut inside) = (0u8, 0u64, 0u64);
        for (x, y, p) in pasted.enumerate_pixels() {
            let a = inverse.apply([x as f64 + 0.5, y as f64 + 0.5]);
            let d = ellipse_distance(a[0] / 256.0, a[1] / 256.0);
            let q = photo.get_pixel(x, y);
            if d >= 1.0 {
                assert_eq!(p, q, "pixel {x},{y} outside the mask changed");
                continue;
            }
            inside += 1;
            for c in 0..3 {
                worst = worst.max(p[c].abs_diff(q[c]));
                total += p[c].abs_diff(q[c]) as u64;
            }
        }
        let mean = total as f64 / (3 * inside) as f64;
        assert!(inside > 2000, "the mask covers only {inside} pixels");
        assert!(mean < 2.0 && worst <= 8, "inside the mask: mean difference {mean:.2}, worst {worst}");
    }

    #[test]
    fn colour_matching_keeps_the_seam_continuous() {
        let photo = photo();
        let aligned = align(&photo, &points(), 128);
        // An edit that came out much redder and darker than the photo.
        let mut edited = aligned.image.clone();
        for p in edited.pixels_mut() {
            *p = Rgb([p[0].saturating_add(70), p[1].saturating_sub(40), p[2]]);
        }
        // The colour step the paste makes at the seam: the pasted ring just inside the edge against the
        // photo's own pixels there.
        let seam_step = |options: &PasteOptions| {
            let pasted = paste_back(&photo, &edited, &aligned.to_photo, 128, options);
            let after = ring_mean(&pasted, &aligned.to_photo, 128, 0.75..1.0);
            let before = ring_mean(&photo, &aligned.to_photo, 128, 0.75..1.0);
            (0..3).map(|c| (after[c] - before[c]).abs()).fold(0.0, f64::max)
        };
        let matched = seam_step(&PasteOptions::default());
        let raw = seam_step(&PasteOptions { match_colour: false, ..Default::default() });
        assert!(raw > 20.0, "the unmatched edit should show at the seam (step {raw:.1})");
        assert!(matched < 4.0, "colour matching left a step of {matched:.1} levels at the seam (unmatched {raw:.1})");
    }

    #[test]
    fn the_mask_is_one_inside_zero_outside_and_smooth_between() {
        assert_eq!(mask_weight(0.5, 0.2), 1.0);
        assert_eq!(mask_weight(1.0, 0.2), 0.0);
        assert!((mask_weight(0.9, 0.2) - 0.5).abs() < 1e-9);
        assert_eq!(mask_weight(0.99, 0.0), 1.0);
        assert!(ellipse_distance(0.5, 0.52) == 0.0 && (ellipse_distance(0.84, 0.52) - 1.0).abs() < 1e-9);
    }
}
