//! The face networks, converted from ONNX to burn modules by burn-onnx (`tools/burn_codegen.py`), with
//! their weights embedded in the binary from `assets/nets/`. Every network is loaded frozen: its weights
//! take no gradients and its batch norms use their stored statistics, while gradients still flow to the
//! input image (the slider editor differentiates attributes with respect to generated faces).

#[allow(clippy::all, missing_docs)]
pub mod age;
#[allow(clippy::all, missing_docs)]
pub mod expression;
#[allow(clippy::all, missing_docs)]
pub mod face_mesh;
#[allow(clippy::all, missing_docs)]
pub mod face_parsing;
#[allow(clippy::all, missing_docs)]
pub mod sface;
#[allow(clippy::all, missing_docs)]
pub mod yunet;

use burn::module::Module;
use burn::store::{BurnpackStore, ModuleSnapshot};
use burn::tensor::Device;

/// A network could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("cannot load the {name} network (assets/nets/{name}.bpk): {reason}")]
pub struct NetError {
    /// The network's name.
    pub name: &'static str,
    /// What went wrong.
    pub reason: String,
}

/// Embeds a file with 64-byte alignment, so tensors can be read from it in place.
macro_rules! include_aligned {
    ($path:literal) => {{
        #[repr(C, align(64))]
        struct Aligned<B: ?Sized>(B);
        static DATA: &Aligned<[u8]> = &Aligned(*include_bytes!($path));
        &DATA.0
    }};
}

/// Loads embedded weights into `model` and freezes it.
fn load<M: Module>(mut model: M, name: &'static str, weights: &'static [u8]) -> Result<M, NetError> {
    let result = model
        .load_from(&mut BurnpackStore::from_static(weights))
        .map_err(|e| NetError { name, reason: e.to_string() })?;
    if !result.missing.is_empty() || !result.errors.is_empty() {
        let reason = format!("missing tensors {:?}; errors {:?}", result.missing, result.errors);
        return Err(NetError { name, reason });
    }
    Ok(model.freeze())
}

/// YuNet face detector: [1,3,640,640] BGR 0..255 -> per stride 8/16/32: cls, obj, bbox, kps.
pub fn yunet(device: &Device) -> Result<yunet::Model, NetError> {
    load(yunet::Model::new(device), "yunet", include_aligned!("../../assets/nets/yunet.bpk"))
}

/// MediaPipe FaceMesh: [1,3,192,192] RGB in [0,1] -> 468 x (x, y, z) in crop pixels, and a presence logit.
pub fn face_mesh(device: &Device) -> Result<face_mesh::Model, NetError> {
    load(face_mesh::Model::new(device), "face_mesh", include_aligned!("../../assets/nets/face_mesh.bpk"))
}

/// Age: [1,3,64,64] RGB, (x - mean) / 256 -> probabilities over 81 age buckets.
pub fn age(device: &Device) -> Result<age::Model, NetError> {
    load(age::Model::new(device), "age", include_aligned!("../../assets/nets/age.bpk"))
}

/// Expression (mini-Xception, FER2013): [N,1,64,64] grey, x / 127.5 - 1 -> 7 probabilities
/// (angry, disgust, fear, happy, sad, surprise, neutral).
pub fn expression(device: &Device) -> Result<expression::Model, NetError> {
    load(expression::Model::new(device), "expression", include_aligned!("../../assets/nets/expression.bpk"))
}

/// BiSeNet face parsing: [1,3,512,512] RGB with ImageNet normalization -> 19 class logits per pixel.
pub fn face_parsing(device: &Device) -> Result<face_parsing::Model, NetError> {
    load(face_parsing::Model::new(device), "face_parsing", include_aligned!("../../assets/nets/face_parsing.bpk"))
}

/// SFace identity: [1,3,112,112] RGB 0..255 -> a 128-d embedding (compare L2-normalized, by cosine).
pub fn sface(device: &Device) -> Result<sface::Model, NetError> {
    load(sface::Model::new(device), "sface", include_aligned!("../../assets/nets/sface.bpk"))
}
