//! Reading rosinality StyleGAN2 checkpoints: a torch `.pt` (the `g_ema` entry of a training
//! checkpoint or converted official weights, or a bare state dict) or a safetensors file with the
//! same keys, and the architecture they imply.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use burn::store::pytorch_reader::{self, PytorchError, PytorchReader};
use burn::store::{ModuleStore, SafetensorsStore};
use burn::tensor::{DType, TensorData};

use super::source::{RawTensor, TensorMap};
use super::{StyleGan2Config, StyleGan2Error};

/// The entry of a rosinality checkpoint that holds the generator used for sampling.
const G_EMA: &str = "g_ema";
/// The mean w stored next to `g_ema` by rosinality's convert_weight.py.
pub(crate) const LATENT_AVG: &str = "latent_avg";

/// Every tensor of the generator in `path` by rosinality key, as float32.
pub(crate) fn read(path: &Path) -> Result<TensorMap, StyleGan2Error> {
    let fail = |reason: String| StyleGan2Error::Read { file: path.to_path_buf(), reason };
    let mut head = [0u8; 9];
    let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)).map_err(|e| fail(e.to_string()))?;
    let tensors = if n >= 2 && (head.starts_with(b"PK") || head[0] == 0x80) {
        read_pytorch(path).map_err(fail)?
    } else if n == 9 && head[8] == b'{' {
        read_safetensors(path).map_err(fail)?
    } else {
        return Err(fail("neither a PyTorch checkpoint (zip or pickle) nor a safetensors file".into()));
    };
    let prefix = format!("{G_EMA}.");
    let tensors = if tensors.keys().any(|k| k.starts_with(&prefix)) {
        tensors.into_iter().filter_map(|(k, v)| k.strip_prefix(&prefix).map(|k| (k.to_string(), v))).collect()
    } else {
        tensors
    };
    Ok(TensorMap { file: path.display().to_string(), tensors })
}

/// The checkpoint's `latent_avg` (the mean w that converted official weights carry), if any.
pub(crate) fn read_latent_avg(path: &Path) -> Result<Option<RawTensor>, StyleGan2Error> {
    let fail = |reason: String| StyleGan2Error::Read { file: path.to_path_buf(), reason };
    let mut head = [0u8; 9];
    let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)).map_err(|e| fail(e.to_string()))?;
    let tensors = if n == 9 && head[8] == b'{' {
        read_safetensors(path).map_err(fail)?
    } else {
        let reader = PytorchReader::new(path).map_err(|e| fail(e.to_string()))?;
        let Some(tensor) = reader.get(LATENT_AVG) else { return Ok(None) };
        let Some(dtype) = float_dtype(tensor.dtype()) else { return Ok(None) };
        let bytes = tensor.read().map_err(|e| fail(e.to_string()))?;
        return to_f32(bytes, tensor.shape().to_vec(), dtype).map(Some).map_err(fail);
    };
    Ok(tensors.get(LATENT_AVG).cloned())
}

/// The `g_ema` state dict of a torch checkpoint, or the whole file when it has no `g_ema` entry.
fn read_pytorch(path: &Path) -> Result<BTreeMap<String, RawTensor>, String> {
    let reader = match PytorchReader::with_top_level_key(path, G_EMA) {
        Ok(reader) => reader,
        Err(PytorchError::KeyNotFound(_)) => PytorchReader::new(path).map_err(|e| e.to_string())?,
        Err(e) => return Err(e.to_string()),
    };
    let mut tensors = BTreeMap::new();
    for (name, tensor) in reader.into_tensors() {
        let Some(dtype) = float_dtype(tensor.dtype()) else { continue };
        let shape = tensor.shape().to_vec();
        let bytes = tensor.read().map_err(|e| e.to_string())?;
        tensors.insert(name, to_f32(bytes, shape, dtype)?);
    }
    Ok(tensors)
}

/// Every floating-point tensor of a safetensors file.
fn read_safetensors(path: &Path) -> Result<BTreeMap<String, RawTensor>, String> {
    let mut store = SafetensorsStore::from_file(path);
    let all = store.get_all_tensors().map_err(|e| e.to_string())?;
    let mut tensors = BTreeMap::new();
    for (name, tensor) in all {
        if !matches!(tensor.dtype, DType::F64 | DType::F32 | DType::F16 | DType::BF16) {
            continue;
        }
        let bytes = tensor.to_bytes().map_err(|e| format!("{name}: {e}"))?;
        tensors.insert(name.clone(), to_f32(bytes.to_vec(), tensor.shape.to_vec(), tensor.dtype)?);
    }
    Ok(tensors)
}

/// The burn dtype of a floating-point torch tensor; `None` for integer and bool tensors.
fn float_dtype(dtype: pytorch_reader::DType) -> Option<DType> {
    use pytorch_reader::DType as T;
    match dtype {
        T::F64 => Some(DType::F64),
        T::F32 => Some(DType::F32),
        T::F16 => Some(DType::F16),
        T::BF16 => Some(DType::BF16),
        _ => None,
    }
}

/// Little-endian `bytes` of `dtype` as float32 values.
fn to_f32(bytes: Vec<u8>, shape: Vec<usize>, dtype: DType) -> Result<RawTensor, String> {
    let data = TensorData::try_from_bytes_vec(bytes, shape.clone(), dtype).map_err(|e| format!("{e:?}"))?;
    let values = data.convert::<f32>().try_into_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    Ok(RawTensor { shape, values })
}

/// The architecture of the generator in `map`, read from its tensor shapes: style size and
/// mapping depth from `style.*`, resolution from the number of `to_rgbs.*`, channels from the
/// constant input and the ToRGB weights. (The mapping learning-rate multiplier is not stored;
/// rosinality's 0.01 is assumed.)
pub(crate) fn infer_config(map: &TensorMap) -> Result<StyleGan2Config, StyleGan2Error> {
    let not_stylegan = |reason: String| StyleGan2Error::NotStyleGan2 { file: map.file.clone(), reason };
    for key in ["style.1.weight", "input.input", "conv1.conv.weight", "to_rgb1.conv.weight"] {
        if map.shape(key).is_none() {
            let some: Vec<_> = map.tensors.keys().take(4).collect();
            return Err(not_stylegan(format!("no tensor {key} ({} tensors, such as {some:?})", map.tensors.len())));
        }
    }
    let style_dim = match map.require_shape("style.1.weight")? {
        [out, inp] if out == inp => *inp,
        other => return Err(not_stylegan(format!("style.1.weight has shape {other:?}, expected [dim, dim]"))),
    };
    let n_mlp = (1..).take_while(|i| map.shape(&format!("style.{i}.weight")).is_some()).count();
    let mut channels = vec![match map.require_shape("input.input")? {
        [1, c, 4, 4] => *c,
        other => return Err(not_stylegan(format!("input.input has shape {other:?}, expected [1, C, 4, 4]"))),
    }];
    for i in 0.. {
        match map.shape(&format!("to_rgbs.{i}.conv.weight")) {
            None => break,
            Some([1, 3, c, 1, 1]) => channels.push(*c),
            Some(other) => {
                return Err(not_stylegan(format!("to_rgbs.{i}.conv.weight has shape {other:?}, expected [1, 3, C, 1, 1]")));
            }
        }
    }
    if channels.len() > 9 {
        return Err(not_stylegan(format!("{} ToRGB layers: more than 1024 px", channels.len())));
    }
    Ok(StyleGan2Config::new()
        .with_resolution(4 << (channels.len() - 1))
        .with_style_dim(style_dim)
        .with_n_mlp(n_mlp)
        .with_channels(Some(channels)))
}
