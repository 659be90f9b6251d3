//! A person's photo set: every photo is imported, its faces detected, aligned and measured, and the face
//! that matches the set's identity is chosen (not just the largest). Each photo keeps a status and a
//! reason; nothing is silently dropped.

use std::path::{Path, PathBuf};

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::attributes::{AttributeModels, Attributes};
use crate::face::align::{FivePoints, align};
use crate::face::detect::FaceDetector;
use crate::face::geometry::Affine;
use crate::face::yunet_decode::Detection;
use crate::imaging::load::load_photo;

/// Faces whose box is smaller than this (pixels, shorter side) are too small to learn from.
pub const MIN_FACE_PIXELS: f32 = 40.0;
/// Side of the aligned face kept for display and measurement.
pub const ALIGNED_SIZE: u32 = 256;
/// Side of the aligned face the default generator is tuned on.
pub const GENERATOR_SIZE: u32 = crate::generator::Dcgan64::RESOLUTION as u32;
/// Identity cosine below which a face is taken for another person (SFace: same person >= 0.5,
/// different people <= 0.35).
pub const OTHER_PERSON_BELOW: f32 = 0.36;
/// Identity cosine above which two photos with near-identical pixels are duplicates (MyStyle uses 0.92).
pub const DUPLICATE_ABOVE: f32 = 0.92;
/// Mean absolute difference of aligned pixels (0..255) below which two same-person faces are the same shot.
pub const DUPLICATE_PIXELS_BELOW: f32 = 6.0;
/// Yaw beyond which a face counts as an extreme pose (degrees).
pub const EXTREME_YAW: f32 = 55.0;
/// Pitch beyond which a face counts as an extreme pose (degrees).
pub const EXTREME_PITCH: f32 = 35.0;

/// What became of a photo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoStatus {
    /// A usable face of the person.
    Ok,
    /// The file could not be read as an image.
    Unreadable,
    /// No face was found.
    NoFace,
    /// Faces were found, all too small.
    TooSmall,
    /// The face does not match the set's identity.
    OtherPerson,
    /// The same photo (or the same shot) is already in the set.
    Duplicate,
    /// The head is turned or tilted too far.
    ExtremePose,
    /// Part of the face is hidden (dark glasses, a mask).
    Occluded,
}

impl PhotoStatus {
    /// Short label for tables and badges.
    pub fn label(self) -> &'static str {
        match self {
            PhotoStatus::Ok => "ok",
            PhotoStatus::Unreadable => "unreadable",
            PhotoStatus::NoFace => "no face",
            PhotoStatus::TooSmall => "too small",
            PhotoStatus::OtherPerson => "other person",
            PhotoStatus::Duplicate => "duplicate",
            PhotoStatus::ExtremePose => "extreme pose",
            PhotoStatus::Occluded => "occluded",
        }
    }
}

/// One face found in a photo.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FaceRecord {
    /// The detection in photo pixels.
    pub detection: Detection,
    /// Measurements of the aligned face.
    pub attributes: Attributes,
    /// Map from aligned-face pixels to photo pixels (for pasting an edit back).
    pub to_photo: Affine,
    /// Share of the aligned square outside the photo (reflect-padded).
    pub outside_fraction: f64,
    /// A simple 0..1 quality score: face size and sharpness.
    pub quality: f32,
    /// The aligned face ([`ALIGNED_SIZE`] square).
    #[serde(skip)]
    pub aligned: RgbImage,
    /// The same alignment at the generator's resolution ([`GENERATOR_SIZE`] square), resampled from the photo.
    #[serde(skip)]
    pub aligned_generator: RgbImage,
}

/// One photo of the set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PhotoEntry {
    /// The file.
    pub path: PathBuf,
    /// What became of it.
    pub status: PhotoStatus,
    /// Why, in plain words (empty when ok and nothing to say).
    pub reason: String,
    /// What reading the file noticed (EXIF, colour space, padding), kept apart from the set-level reasons
    /// so that [`select`] can decide again when photos are added.
    #[serde(default)]
    pub notes: String,
    /// Every face of a usable size.
    pub faces: Vec<FaceRecord>,
    /// The face chosen as the person's.
    pub chosen: Option<usize>,
    /// Identity cosine of the chosen face with the set (1 for a set of one).
    pub identity_agreement: Option<f32>,
    /// FNV-1a hash of the file (same file imported twice); a hex string in JSON, which cannot hold 64-bit integers.
    #[serde(with = "hex_hash")]
    pub content_hash: Option<u64>,
}

impl PhotoEntry {
    /// The chosen face, if any.
    pub fn face(&self) -> Option<&FaceRecord> {
        self.chosen.and_then(|i| self.faces.get(i))
    }
}

/// The networks the set needs, loaded once.
pub struct SetModels {
    /// Face detector.
    pub detector: FaceDetector,
    /// Attribute networks.
    pub attributes: AttributeModels,
}

/// Imports, detects and measures one photo (no set-level decisions yet).
pub fn analyse_photo(path: &Path, models: &SetModels) -> PhotoEntry {
    let mut entry = PhotoEntry {
        path: path.to_path_buf(),
        status: PhotoStatus::Ok,
        reason: String::new(),
        notes: String::new(),
        faces: Vec::new(),
        chosen: None,
        identity_agreement: None,
        content_hash: None,
    };
    let photo = match load_photo(path) {
        Ok(photo) => photo,
        Err(e) => {
            entry.status = PhotoStatus::Unreadable;
            entry.reason = e.to_string();
            return entry;
        }
    };
    entry.content_hash = Some(photo.content_hash);
    let notes = photo.notes.join("; ");
    let detections = models.detector.detect(&photo.image);
    if detections.is_empty() {
        entry.status = PhotoStatus::NoFace;
        entry.reason = "no face found".into();
        return entry;
    }
    let (usable, small): (Vec<Detection>, Vec<Detection>) =
        detections.into_iter().partition(|d| d.size() >= MIN_FACE_PIXELS);
    if usable.is_empty() {
        entry.status = PhotoStatus::TooSmall;
        entry.reason = format!("face too small ({:.0} px; at least {MIN_FACE_PIXELS:.0} px needed)", small[0].size());
        return entry;
    }
    entry.faces = usable.into_iter().map(|d| measure_face(&photo.image, d, &models.attributes)).collect();
    entry.reason = notes.clone();
    entry.notes = notes;
    entry
}

fn measure_face(photo: &RgbImage, detection: Detection, models: &AttributeModels) -> FaceRecord {
    let points: FivePoints = detection.points();
    let aligned = align(photo, &points, ALIGNED_SIZE);
    let to_aligned = aligned.to_photo.inverse().unwrap_or(Affine::IDENTITY);
    let aligned_points = points.map(|p| to_aligned.apply(p));
    let attributes = models.measure(&aligned.image, &aligned_points);
    let quality = (detection.size() / 128.0).min(1.0) * (sharpness(&aligned.image) / 60.0).min(1.0);
    FaceRecord {
        detection,
        attributes,
        to_photo: aligned.to_photo,
        outside_fraction: aligned.outside_fraction,
        quality,
        aligned: aligned.image,
        aligned_generator: align(photo, &points, GENERATOR_SIZE).image,
    }
}

/// Variance of the Laplacian of the grey image: low for blurred faces.
fn sharpness(img: &RgbImage) -> f32 {
    let (w, h) = img.dimensions();
    let grey = |x: u32, y: u32| {
        let p = img.get_pixel(x, y);
        0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
    };
    let mut values = Vec::with_capacity((w as usize) * (h as usize));
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            values.push(grey(x - 1, y) + grey(x + 1, y) + grey(x, y - 1) + grey(x, y + 1) - 4.0 * grey(x, y));
        }
    }
    let n = values.len().max(1) as f32;
    let mean = values.iter().sum::<f32>() / n;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Set-level decisions: which face in each photo is the person's, who is someone else, which photos
/// repeat an earlier one, which poses are extreme. Decided afresh from the measurements each time, so it
/// can run again over the whole set when photos are added (running it twice changes nothing).
pub fn select(entries: &mut [PhotoEntry]) {
    for entry in entries.iter_mut().filter(|e| !e.faces.is_empty()) {
        entry.status = PhotoStatus::Ok;
        entry.reason = entry.notes.clone();
    }
    let candidates: Vec<(usize, usize)> = entries
        .iter()
        .enumerate()
        .flat_map(|(p, e)| (0..e.faces.len()).map(move |f| (p, f)))
        .collect();
    let embedding = |(p, f): (usize, usize)| entries[p].faces[f].attributes.identity.clone();
    // The identity anchor: the face that best matches some face in every other photo.
    let anchor = candidates
        .iter()
        .map(|&c| {
            let e = embedding(c);
            let score: f32 = entries
                .iter()
                .enumerate()
                .filter(|(p, _)| *p != c.0)
                .map(|(_, other)| other.faces.iter().map(|g| cosine(&e, &g.attributes.identity)).fold(0.0, f32::max))
                .sum();
            (c, score)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| embedding(c));
    let Some(anchor) = anchor else { return };
    // The set's identity: the mean of the best match to the anchor in each photo that has one.
    let mut centroid = vec![0.0f32; anchor.len()];
    for entry in entries.iter() {
        let best = entry.faces.iter().map(|f| &f.attributes.identity).max_by(|a, b| cosine(&anchor, a).total_cmp(&cosine(&anchor, b)));
        if let Some(best) = best.filter(|b| cosine(&anchor, b) >= OTHER_PERSON_BELOW) {
            for (c, v) in centroid.iter_mut().zip(best) {
                *c += v;
            }
        }
    }
    let norm = centroid.iter().map(|v| v * v).sum::<f32>().sqrt();
    let centroid: Vec<f32> = if norm > 0.0 { centroid.iter().map(|v| v / norm).collect() } else { anchor };
    let single = entries.iter().filter(|e| !e.faces.is_empty()).count() <= 1;

    for p in 0..entries.len() {
        if entries[p].faces.is_empty() {
            continue;
        }
        let (best, agreement) = entries[p]
            .faces
            .iter()
            .enumerate()
            .map(|(i, f)| (i, cosine(&centroid, &f.attributes.identity)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("faces is not empty");
        let entry = &mut entries[p];
        entry.chosen = Some(best);
        entry.identity_agreement = Some(if single { 1.0 } else { agreement });
        let face = &entry.faces[best];
        let yaw = face.attributes.yaw;
        let pitch = face.attributes.pitch;
        let mut reasons: Vec<String> = (!entry.reason.is_empty()).then(|| entry.reason.clone()).into_iter().collect();
        if face.outside_fraction >= 0.005 {
            reasons.push(format!("{:.0}% of the face crop lies outside the photo (padded)", face.outside_fraction * 100.0));
        }
        if !single && agreement < OTHER_PERSON_BELOW {
            entry.status = PhotoStatus::OtherPerson;
            reasons.insert(0, format!("looks like another person (identity agreement {agreement:.2})"));
        } else if yaw.abs() > EXTREME_YAW || pitch.abs() > EXTREME_PITCH {
            entry.status = PhotoStatus::ExtremePose;
            reasons.insert(0, format!("extreme head pose (yaw {yaw:.0}, pitch {pitch:.0} degrees)"));
        } else if face.attributes.visible.eyes_hidden() || face.attributes.visible.mouth_hidden() {
            entry.status = PhotoStatus::Occluded;
            let what = match (face.attributes.visible.eyes_hidden(), face.attributes.visible.mouth_hidden()) {
                (true, true) => "eyes and mouth hidden",
                (true, false) => "eyes hidden (dark glasses?)",
                _ => "mouth covered (a mask or a hand?)",
            };
            reasons.insert(0, format!("face partly hidden: {what}"));
        }
        entry.reason = reasons.join("; ");
    }
    mark_duplicates(entries);
}

fn mark_duplicates(entries: &mut [PhotoEntry]) {
    for p in 0..entries.len() {
        if entries[p].status != PhotoStatus::Ok {
            continue;
        }
        let earlier = (0..p).find(|&q| {
            let (a, b) = (&entries[q], &entries[p]);
            if a.status != PhotoStatus::Ok && a.status != PhotoStatus::ExtremePose {
                return false;
            }
            if a.content_hash.is_some() && a.content_hash == b.content_hash {
                return true;
            }
            match (a.face(), b.face()) {
                (Some(fa), Some(fb)) => {
                    cosine(&fa.attributes.identity, &fb.attributes.identity) > DUPLICATE_ABOVE
                        && mean_abs_difference(&fa.aligned, &fb.aligned) < DUPLICATE_PIXELS_BELOW
                }
                _ => false,
            }
        });
        if let Some(q) = earlier {
            let name = entries[q].path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            entries[p].status = PhotoStatus::Duplicate;
            entries[p].reason = format!("same photo as {name}");
        }
    }
}

fn mean_abs_difference(a: &RgbImage, b: &RgbImage) -> f32 {
    if a.dimensions() != b.dimensions() {
        return f32::INFINITY;
    }
    let total: u64 = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| x.abs_diff(*y) as u64).sum();
    total as f32 / a.as_raw().len().max(1) as f32
}

/// The most confident face of each photo file, aligned at `size`, in the order given; files that do not
/// decode or show no face are left out. For tools, tests and benchmarks that take a person's photos as
/// they are (the import job adds statuses, the identity check and the rest).
pub fn aligned_faces(paths: &[PathBuf], detector: &FaceDetector, size: u32) -> Vec<RgbImage> {
    paths
        .iter()
        .filter_map(|path| {
            let photo = load_photo(path).ok()?.image;
            let face = detector.detect(&photo).into_iter().next()?;
            Some(align(&photo, &face.points(), size).image)
        })
        .collect()
}

/// Analyses every photo and makes the set-level decisions.
pub fn analyse_set(paths: &[PathBuf], models: &SetModels, mut progress: impl FnMut(usize, usize)) -> Vec<PhotoEntry> {
    let mut entries = Vec::with_capacity(paths.len());
    for (i, path) in paths.iter().enumerate() {
        entries.push(analyse_photo(path, models));
        progress(i + 1, paths.len());
    }
    select(&mut entries);
    entries
}

/// What an import job reports.
#[derive(Debug)]
pub enum ImportEvent {
    /// The files to import were found (folders walked); `skipped` lists what was left out and why.
    Scanned {
        /// Number of photos to analyse.
        total: usize,
        /// Paths left out, with reasons.
        skipped: Vec<(PathBuf, String)>,
    },
    /// One photo was analysed (set-level statuses come with `Finished`).
    Photo {
        /// How many are done.
        done: usize,
        /// How many in all.
        total: usize,
        /// The photo as analysed on its own.
        entry: Box<PhotoEntry>,
    },
    /// All photos are analysed and the set-level decisions are made.
    Finished(Vec<PhotoEntry>),
    /// The job was cancelled; the photos analysed so far are kept, with set-level decisions.
    Cancelled(Vec<PhotoEntry>),
    /// The networks could not be loaded.
    Failed(String),
}

/// A running import: decoding, detection and measurement on a worker thread, never on the caller's.
pub struct ImportJob {
    events: std::sync::mpsc::Receiver<ImportEvent>,
    cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl ImportJob {
    /// Starts importing `paths` (files or folders). `load` builds the networks on the worker (so the caller
    /// never waits for them); `wake` is called after each event.
    pub fn spawn(
        paths: Vec<PathBuf>,
        load: impl FnOnce() -> Result<SetModels, crate::nets::NetError> + Send + 'static,
        wake: impl Fn() + Send + 'static,
    ) -> Self {
        use std::sync::atomic::Ordering;
        let (tx, events) = std::sync::mpsc::channel();
        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = cancel.clone();
        std::thread::Builder::new()
            .name("import".into())
            .spawn(move || {
                let send = |event| {
                    let _ = tx.send(event);
                    wake();
                };
                let found = crate::imaging::scan::scan(&paths);
                let total = found.files.len();
                send(ImportEvent::Scanned { total, skipped: found.skipped });
                let models = match load() {
                    Ok(models) => models,
                    Err(e) => return send(ImportEvent::Failed(e.to_string())),
                };
                let mut entries = Vec::with_capacity(total);
                for (i, path) in found.files.iter().enumerate() {
                    if stop.load(Ordering::Relaxed) {
                        select(&mut entries);
                        return send(ImportEvent::Cancelled(entries));
                    }
                    let entry = analyse_photo(path, &models);
                    entries.push(entry.clone());
                    send(ImportEvent::Photo { done: i + 1, total, entry: Box::new(entry) });
                }
                select(&mut entries);
                send(ImportEvent::Finished(entries));
            })
            .expect("spawning a thread only fails when the OS is out of resources");
        Self { events, cancel }
    }

    /// Asks the job to stop after the photo in progress.
    pub fn cancel(&self) {
        self.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Events since the last call, without waiting.
    pub fn poll(&self) -> Vec<ImportEvent> {
        self.events.try_iter().collect()
    }

    /// Waits for the next event; `None` once the job has ended and every event was taken.
    pub fn wait(&self) -> Option<ImportEvent> {
        self.events.recv().ok()
    }
}

/// (De)serializes an optional 64-bit hash as a 16-digit hex string.
mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hash: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match hash {
            Some(h) => s.serialize_str(&format!("{h:016x}")),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| u64::from_str_radix(&text, 16).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_uses_readable_statuses_and_exact_hashes() {
        let entry = PhotoEntry {
            path: PathBuf::from("a.jpg"),
            status: PhotoStatus::OtherPerson,
            reason: String::new(),
            notes: String::new(),
            faces: Vec::new(),
            chosen: None,
            identity_agreement: None,
            content_hash: Some(u64::MAX - 1),
        };
        let json = serde_json::to_string(&entry).unwrap();
        assert!(json.contains(r#""status":"other_person""#), "{json}");
        assert!(json.contains(r#""content_hash":"fffffffffffffffe""#), "{json}");
        let back: PhotoEntry = serde_json::from_str(&json).unwrap();
        assert_eq!(back.content_hash, Some(u64::MAX - 1));
        assert_eq!(back.status, PhotoStatus::OtherPerson);
    }
}
