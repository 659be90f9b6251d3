//! Turning YuNet's raw outputs into face boxes with five landmarks (score = sqrt(cls * obj), boxes and
//! points relative to each grid cell of strides 8, 16 and 32), then non-maximum suppression.

/// A detected face in photo pixels.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Detection {
    /// Confidence in [0, 1].
    pub score: f32,
    /// Box as [x, y, width, height].
    pub bbox: [f32; 4],
    /// Landmarks in image order: left eye, right eye, nose tip, left mouth corner, right mouth corner
    /// (image left = the subject's right).
    pub landmarks: [[f32; 2]; 5],
}

impl Detection {
    /// The five landmarks as alignment points.
    pub fn points(&self) -> crate::face::align::FivePoints {
        self.landmarks.map(|p| [p[0] as f64, p[1] as f64])
    }

    /// Intersection over union of two boxes.
    pub fn iou(&self, other: &Detection) -> f32 {
        let [ax, ay, aw, ah] = self.bbox;
        let [bx, by, bw, bh] = other.bbox;
        let iw = ((ax + aw).min(bx + bw) - ax.max(bx)).max(0.0);
        let ih = ((ay + ah).min(by + bh) - ay.max(by)).max(0.0);
        let inter = iw * ih;
        let union = aw * ah + bw * bh - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }

    /// The box's shorter side in pixels.
    pub fn size(&self) -> f32 {
        self.bbox[2].min(self.bbox[3])
    }
}

/// YuNet's outputs for one stride: per grid cell (row-major), cls, obj, bbox (4) and kps (10).
pub struct StrideOutput<'a> {
    /// Grid stride in input pixels (8, 16 or 32).
    pub stride: usize,
    /// Class scores [cells].
    pub cls: &'a [f32],
    /// Objectness [cells].
    pub obj: &'a [f32],
    /// Box regressions [cells * 4].
    pub bbox: &'a [f32],
    /// Landmark regressions [cells * 10].
    pub kps: &'a [f32],
}

/// Decodes all strides of a `input_size` x `input_size` input, keeping faces scoring at least
/// `min_score`; coordinates are divided by `scale` (input pixels per photo pixel).
pub fn decode(outputs: &[StrideOutput], input_size: usize, scale: f32, min_score: f32) -> Vec<Detection> {
    let mut faces = Vec::new();
    for out in outputs {
        let cols = input_size / out.stride;
        let s = out.stride as f32;
        for cell in 0..out.cls.len() {
            let score = (out.cls[cell].clamp(0.0, 1.0) * out.obj[cell].clamp(0.0, 1.0)).sqrt();
            if score < min_score || !score.is_finite() {
                continue;
            }
            let (row, col) = ((cell / cols) as f32, (cell % cols) as f32);
            let b = &out.bbox[cell * 4..cell * 4 + 4];
            let (cx, cy) = ((col + b[0]) * s, (row + b[1]) * s);
            let (w, h) = (b[2].exp() * s, b[3].exp() * s);
            let k = &out.kps[cell * 10..cell * 10 + 10];
            let landmarks = [0, 1, 2, 3, 4].map(|m| [(col + k[2 * m]) * s / scale, (row + k[2 * m + 1]) * s / scale]);
            faces.push(Detection {
                score,
                bbox: [(cx - w / 2.0) / scale, (cy - h / 2.0) / scale, w / scale, h / scale],
                landmarks,
            });
        }
    }
    non_maximum_suppression(faces, 0.3)
}

/// Keeps the best-scoring box of every group overlapping by more than `max_iou`, best first.
pub fn non_maximum_suppression(mut faces: Vec<Detection>, max_iou: f32) -> Vec<Detection> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for face in faces {
        if kept.iter().all(|k| k.iou(&face) <= max_iou) {
            kept.push(face);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_cell_and_suppresses_its_neighbour() {
        // A 32x32 input with stride 16: a 2x2 grid. Cell 3 (row 1, col 1) holds a face; cell 2 overlaps it weaker.
        let cls = [0.0, 0.0, 0.81, 0.81];
        let obj = [0.0, 0.0, 0.64, 1.0];
        let mut bbox = [0.0f32; 16];
        bbox[12..16].copy_from_slice(&[0.5, 0.25, 0.0, (2.0f32).ln()]); // centre (24, 20), 16 x 32
        bbox[8..12].copy_from_slice(&[1.4, 0.25, 0.0, (2.0f32).ln()]); // centre (22.4, 20): overlaps
        let mut kps = [0.0f32; 40];
        kps[30..40].copy_from_slice(&[0.2, 0.1, 0.8, 0.1, 0.5, 0.4, 0.3, 0.7, 0.7, 0.7]);
        let out = [StrideOutput { stride: 16, cls: &cls, obj: &obj, bbox: &bbox, kps: &kps }];
        let faces = decode(&out, 32, 2.0, 0.5);
        assert_eq!(faces.len(), 1, "{faces:?}");
        let f = &faces[0];
        assert!((f.score - 0.9).abs() < 1e-6);
        assert_eq!(f.bbox, [8.0, 2.0, 8.0, 16.0]); // photo pixels = input pixels / 2
        assert_eq!(f.landmarks[0], [(1.0 + 0.2) * 8.0, (1.0 + 0.1) * 8.0]);
        assert!(decode(&out, 32, 2.0, 0.95).is_empty());
    }
}
