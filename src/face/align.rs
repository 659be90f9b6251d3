//! FFHQ-style face alignment: five landmarks define an oriented square around the face (the recipe of
//! the FFHQ data set), which is resampled to a square image. Where the square leaves the photo, the photo
//! is mirrored (reflect padding), blurred and faded toward its median colour, as FFHQ does, and the face
//! is flagged. The map back to the photo is kept, so an edited face can be pasted back.

use image::{Rgb, RgbImage, imageops};

use super::geometry::Affine;

/// Five landmarks in photo pixels, in image order: left eye, right eye, nose tip, left mouth corner,
/// right mouth corner ("left" = the image's left, which is the subject's right).
pub type FivePoints = [[f64; 2]; 5];

/// A face resampled into the FFHQ frame.
#[derive(Clone, Debug)]
pub struct AlignedFace {
    /// The aligned square image.
    pub image: RgbImage,
    /// Maps aligned-image coordinates (pixel corners at integers) to photo coordinates.
    pub to_photo: Affine,
    /// Share of the aligned square that lies outside the photo (0 when the crop stays inside).
    pub outside_fraction: f64,
}

/// The FFHQ square for five landmarks: its top-left corner and its two edge vectors (x across the face,
/// y downward), in photo coordinates.
pub fn ffhq_square(points: &FivePoints) -> ([f64; 2], [f64; 2], [f64; 2]) {
    let [eye_l, eye_r, _, mouth_l, mouth_r] = *points;
    let eye_avg = [(eye_l[0] + eye_r[0]) / 2.0, (eye_l[1] + eye_r[1]) / 2.0];
    let eye_to_eye = [eye_r[0] - eye_l[0], eye_r[1] - eye_l[1]];
    let mouth_avg = [(mouth_l[0] + mouth_r[0]) / 2.0, (mouth_l[1] + mouth_r[1]) / 2.0];
    let eye_to_mouth = [mouth_avg[0] - eye_avg[0], mouth_avg[1] - eye_avg[1]];
    let hyp = |v: [f64; 2]| v[0].hypot(v[1]);
    // x = eye_to_eye - flipud(eye_to_mouth) * [-1, 1], normalized, scaled to the face size.
    let mut x = [eye_to_eye[0] + eye_to_mouth[1], eye_to_eye[1] - eye_to_mouth[0]];
    let norm = hyp(x).max(1e-9);
    let size = (hyp(eye_to_eye) * 2.0).max(hyp(eye_to_mouth) * 1.8);
    x = [x[0] / norm * size, x[1] / norm * size];
    let y = [-x[1], x[0]];
    let c = [eye_avg[0] + eye_to_mouth[0] * 0.1, eye_avg[1] + eye_to_mouth[1] * 0.1];
    let corner = [c[0] - x[0] - y[0], c[1] - x[1] - y[1]];
    (corner, [2.0 * x[0], 2.0 * x[1]], [2.0 * y[0], 2.0 * y[1]])
}

/// Aligns the face with these landmarks to a `size` x `size` image.
pub fn align(photo: &RgbImage, points: &FivePoints, size: u32) -> AlignedFace {
    let (corner, ex, ey) = ffhq_square(points);
    let s = size as f64;
    let to_photo = Affine { m: [ex[0] / s, ey[0] / s, corner[0], ex[1] / s, ey[1] / s, corner[1]] };
    let quad_size = ex[0].hypot(ex[1]);

    // Work on a copy of the region the square covers, shrunk by an integer factor when it is much larger
    // than the output (FFHQ's shrink step), so memory and time depend on the output, not the photo.
    let corners = [[0.0, 0.0], [s, 0.0], [0.0, s], [s, s]].map(|p| to_photo.apply(p));
    let (w, h) = (photo.width() as f64, photo.height() as f64);
    let x0 = corners.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min).floor().clamp(0.0, w - 1.0);
    let y0 = corners.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min).floor().clamp(0.0, h - 1.0);
    let x1 = corners.iter().map(|p| p[0]).fold(f64::NEG_INFINITY, f64::max).ceil().clamp(x0 + 1.0, w);
    let y1 = corners.iter().map(|p| p[1]).fold(f64::NEG_INFINITY, f64::max).ceil().clamp(y0 + 1.0, h);
    let region = imageops::crop_imm(photo, x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32).to_image();
    let shrink = ((quad_size / s) * 0.5).floor().max(1.0);
    let region = if shrink > 1.0 {
        let (rw, rh) = ((region.width() as f64 / shrink).round().max(1.0), (region.height() as f64 / shrink).round().max(1.0));
        imageops::resize(&region, rw as u32, rh as u32, imageops::FilterType::Triangle)
    } else {
        region
    };
    let (rx, ry) = ((x1 - x0) / region.width() as f64, (y1 - y0) / region.height() as f64);
    // aligned -> region coordinates
    let to_region = Affine { m: [1.0 / rx, 0.0, -x0 / rx, 0.0, 1.0 / ry, -y0 / ry] }.compose(&to_photo);

    let leaves = corners.iter().any(|p| p[0] < 0.0 || p[1] < 0.0 || p[0] > w || p[1] > h);
    let padding = leaves.then(|| {
        let sigma = (quad_size / shrink * 0.02).max(0.5) as f32;
        let blurred = imageops::blur(&region, sigma);
        (blurred, median_colour(&region))
    });

    // Supersample each output pixel over the region pixels it covers (anti-aliasing).
    let step = to_region.scale();
    let k = step.ceil().clamp(1.0, 4.0) as u32;
    let fade = quad_size / shrink * 0.1; // distance outside the photo over which the padding fades to the median
    let (region_w, region_h) = (region.width() as f64, region.height() as f64);
    let mut outside = 0usize;
    let image = RgbImage::from_fn(size, size, |i, j| {
        let mut acc = [0.0f64; 3];
        for a in 0..k {
            for b in 0..k {
                let u = i as f64 + (a as f64 + 0.5) / k as f64;
                let v = j as f64 + (b as f64 + 0.5) / k as f64;
                let [px, py] = to_region.apply([u, v]);
                let dist = (-px).max(px - region_w).max(-py).max(py - region_h).max(0.0) * shrink;
                let in_photo_x = x0 + px * rx;
                let in_photo_y = y0 + py * ry;
                let outside_photo = in_photo_x < 0.0 || in_photo_y < 0.0 || in_photo_x > w || in_photo_y > h;
                let sample = match (&padding, outside_photo) {
                    (Some((blurred, median)), true) => {
                        let t = (dist / fade.max(1e-9)).clamp(0.0, 1.0);
                        let p = bilinear_reflect(blurred, px, py);
                        [0, 1, 2].map(|c| p[c] * (1.0 - t) + median[c] * t)
                    }
                    _ => bilinear_reflect(&region, px, py),
                };
                for c in 0..3 {
                    acc[c] += sample[c];
                }
            }
        }
        let center = to_photo.apply([i as f64 + 0.5, j as f64 + 0.5]);
        if center[0] < 0.0 || center[1] < 0.0 || center[0] > w || center[1] > h {
            outside += 1;
        }
        let n = (k * k) as f64;
        Rgb(acc.map(|v| (v / n).round().clamp(0.0, 255.0) as u8))
    });
    AlignedFace { image, to_photo, outside_fraction: outside as f64 / (size as f64 * size as f64) }
}

/// Bilinear sample at continuous coordinates (pixel centres at +0.5), mirroring outside the image.
fn bilinear_reflect(img: &RgbImage, x: f64, y: f64) -> [f64; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (fx, fy) = (x - 0.5, y - 0.5);
    let (x0, y0) = (fx.floor(), fy.floor());
    let (tx, ty) = (fx - x0, fy - y0);
    let mut out = [0.0; 3];
    for (dy, wy) in [(0, 1.0 - ty), (1, ty)] {
        for (dx, wx) in [(0, 1.0 - tx), (1, tx)] {
            let px = img.get_pixel(reflect(x0 as i64 + dx, w) as u32, reflect(y0 as i64 + dy, h) as u32);
            for c in 0..3 {
                out[c] += px[c] as f64 * wx * wy;
            }
        }
    }
    out
}

/// Mirrors an index into 0..n (reflect without repeating the edge pixel, like numpy's 'reflect').
fn reflect(i: i64, n: i64) -> i64 {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let m = i.rem_euclid(period);
    if m < n { m } else { period - m }
}

fn median_colour(img: &RgbImage) -> [f64; 3] {
    [0, 1, 2].map(|c| {
        let mut values: Vec<u8> = img.pixels().map(|p| p[c]).collect();
        let mid = values.len() / 2;
        *values.select_nth_unstable(mid).1 as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Landmarks of an upright face whose eyes are `eye_dist` apart, centred at (cx, cy).
    fn points(cx: f64, cy: f64, eye_dist: f64) -> FivePoints {
        let d = eye_dist / 2.0;
        [[cx - d, cy], [cx + d, cy], [cx, cy + 0.6 * d], [cx - 0.8 * d, cy + 1.2 * d], [cx + 0.8 * d, cy + 1.2 * d]]
    }

    #[test]
    fn square_is_upright_and_sized_from_the_landmarks() {
        let (corner, ex, ey) = ffhq_square(&points(100.0, 100.0, 40.0));
        assert!(ex[1].abs() < 1e-9 && ey[0].abs() < 1e-9, "an upright face gives an axis-aligned square");
        assert!((ex[0] - 160.0).abs() < 1e-9 && (ey[1] - 160.0).abs() < 1e-9, "side = 4 x eye distance");
        assert!((corner[0] - 20.0).abs() < 1e-9, "centred on the eyes horizontally");
    }

    #[test]
    fn alignment_maps_landmarks_to_fixed_places_and_back() {
        // A photo with a marker dot on the left eye.
        let mut photo = RgbImage::from_pixel(400, 300, Rgb([90, 90, 90]));
        let pts = points(210.0, 140.0, 50.0);
        for dy in -2..=2i32 {
            for dx in -2..=2i32 {
                photo.put_pixel((pts[0][0] as i32 + dx) as u32, (pts[0][1] as i32 + dy) as u32, Rgb([255, 0, 0]));
            }
        }
        let aligned = align(&photo, &pts, 128);
        assert_eq!(aligned.outside_fraction, 0.0);
        let eye = aligned.to_photo.inverse().unwrap().apply(pts[0]);
        let p = aligned.image.get_pixel(eye[0] as u32, eye[1] as u32);
        assert!(p[0] > 150 && p[1] < 100, "the eye marker is not where the inverse map says: {p:?}");
        let back = aligned.to_photo.apply(eye);
        assert!((back[0] - pts[0][0]).abs() < 1e-9 && (back[1] - pts[0][1]).abs() < 1e-9);
    }

    #[test]
    fn crop_leaving_the_photo_is_padded_and_flagged() {
        // A large face 20 px from the left edge: the square reaches far outside the photo.
        let photo = RgbImage::from_fn(300, 300, |x, _| Rgb([(x % 256) as u8, 120, 60]));
        let aligned = align(&photo, &points(40.0, 150.0, 80.0), 64);
        assert!(aligned.outside_fraction > 0.2, "{}", aligned.outside_fraction);
        // The padded area holds photo-like colours, not black.
        let edge = aligned.image.get_pixel(0, 32);
        assert!(edge.0.iter().any(|&c| c > 40), "padding is black: {edge:?}");
    }

    #[test]
    fn reflect_indexes() {
        assert_eq!([-2, -1, 0, 3, 4, 5].map(|i| reflect(i, 4)), [2, 1, 0, 3, 2, 1]);
        assert_eq!(reflect(-7, 1), 0);
    }
}
