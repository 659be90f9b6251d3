//! Where the layers get their weights: random initialization (rosinality's) or the tensors of a
//! checkpoint, taken by their rosinality key. The layers name each tensor once, so building a
//! random network and loading one follow the same code.

use std::collections::BTreeMap;

use burn::module::Param;
use burn::tensor::{Device, Distribution, Tensor, TensorData};

use super::StyleGan2Error;

/// How a tensor is initialized when it is not loaded.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Init {
    /// Normal with mean 0 and this standard deviation.
    Normal(f32),
    /// Every element this value.
    Constant(f32),
}

/// A tensor read from a checkpoint: its PyTorch shape and float32 values.
#[derive(Debug, Clone)]
pub(crate) struct RawTensor {
    /// Shape as stored.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub values: Vec<f32>,
}

/// The tensors of one checkpoint by rosinality key, with the file they came from.
#[derive(Debug)]
pub(crate) struct TensorMap {
    /// The file name, for errors.
    pub file: String,
    /// Tensors not yet taken.
    pub tensors: BTreeMap<String, RawTensor>,
}

impl TensorMap {
    /// The shape of tensor `name`, if present.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|t| t.shape.as_slice())
    }

    /// The shape of tensor `name`, or an error naming it.
    pub fn require_shape(&self, name: &str) -> Result<&[usize], StyleGan2Error> {
        self.shape(name).ok_or_else(|| StyleGan2Error::MissingTensor { file: self.file.clone(), name: name.to_string() })
    }

    /// Removes tensor `name`, checking that its shape is `expected`.
    fn take(&mut self, name: &str, expected: &[usize]) -> Result<RawTensor, StyleGan2Error> {
        let tensor = self
            .tensors
            .remove(name)
            .ok_or_else(|| StyleGan2Error::MissingTensor { file: self.file.clone(), name: name.to_string() })?;
        if tensor.shape != expected {
            return Err(StyleGan2Error::ShapeMismatch {
                file: self.file.clone(),
                name: name.to_string(),
                expected: expected.to_vec(),
                found: tensor.shape,
            });
        }
        Ok(tensor)
    }
}

/// Gives the layers their tensors on `device`, from a checkpoint or freshly initialized.
pub(crate) struct WeightSource<'a> {
    device: Device,
    loaded: Option<&'a mut TensorMap>,
}

impl<'a> WeightSource<'a> {
    /// Random weights, as rosinality initializes them.
    pub fn random(device: &Device) -> Self {
        Self { device: device.clone(), loaded: None }
    }

    /// The tensors of `map`; every tensor asked for must be there with the expected shape.
    pub fn checkpoint(map: &'a mut TensorMap, device: &Device) -> Self {
        Self { device: device.clone(), loaded: Some(map) }
    }

    /// The device the tensors are created on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Tensor `name` with PyTorch shape `torch_shape`, as a tensor of shape `dims` (same size).
    pub fn tensor<const D: usize>(
        &mut self,
        name: &str,
        torch_shape: &[usize],
        dims: [usize; D],
        init: Init,
    ) -> Result<Tensor<D>, StyleGan2Error> {
        debug_assert_eq!(torch_shape.iter().product::<usize>(), dims.iter().product::<usize>(), "{name}");
        Ok(match (&mut self.loaded, init) {
            (Some(map), _) => {
                let raw = map.take(name, torch_shape)?;
                Tensor::from_data(TensorData::new(raw.values, dims), &self.device)
            }
            (None, init) => initialize(dims, init, &self.device),
        })
    }

    /// Like [`Self::tensor`], as a trainable parameter.
    pub fn param<const D: usize>(
        &mut self,
        name: &str,
        torch_shape: &[usize],
        dims: [usize; D],
        init: Init,
    ) -> Result<Param<Tensor<D>>, StyleGan2Error> {
        self.tensor(name, torch_shape, dims, init).map(Param::from_tensor)
    }

    /// Like [`Self::tensor`], but a missing tensor is initialized instead (for buffers such as
    /// the fixed noise, which some exports leave out). A present tensor must still fit.
    pub fn optional_tensor<const D: usize>(
        &mut self,
        name: &str,
        torch_shape: &[usize],
        dims: [usize; D],
        init: Init,
    ) -> Result<Tensor<D>, StyleGan2Error> {
        if let Some(map) = &self.loaded
            && map.shape(name).is_none()
        {
            log::warn!("{}: no {name}; initializing it", map.file);
            return Ok(initialize(dims, init, &self.device));
        }
        self.tensor(name, torch_shape, dims, init)
    }
}

/// A fresh tensor of shape `dims` initialized by `init`.
fn initialize<const D: usize>(dims: [usize; D], init: Init, device: &Device) -> Tensor<D> {
    match init {
        Init::Normal(std) => Tensor::random(dims, Distribution::Normal(0.0, std as f64), device),
        Init::Constant(value) => Tensor::full(dims, value, device),
    }
}
