//! Choosing the compute device once at start-up: a wgpu adapter when a usable one exists, otherwise
//! burn's CPU backend (`flex`). Nothing deeper in the library picks a device; it is passed down.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use burn::tensor::{Device, Tensor};
use eframe::wgpu;

/// What the user asked for (`--backend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
pub enum BackendChoice {
    /// A hardware GPU through wgpu when one exists, otherwise the CPU backend.
    #[default]
    Auto,
    /// burn's CPU backend (`flex`).
    Cpu,
    /// wgpu on any adapter, software ones (Mesa's lavapipe) included; falls back to the CPU if none works.
    Wgpu,
}

/// A graphics adapter that wgpu can see, as reported by its driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSummary {
    /// The adapter's name, for example "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// The graphics API it is reached through (Vulkan, Gl, ...).
    pub api: String,
    /// True for a CPU-emulated adapter such as Mesa's lavapipe or llvmpipe.
    pub software: bool,
}

impl fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.software { "software" } else { "hardware" };
        write!(f, "{} ({}, {kind})", self.name, self.api)
    }
}

/// The kind of device in use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// burn's `flex` CPU backend.
    Cpu,
    /// burn's wgpu backend on the given adapter.
    Wgpu(AdapterSummary),
}

/// The device chosen at start-up, with a human-readable account of why.
#[derive(Clone, Debug)]
pub struct ComputeBackend {
    /// The burn device every model and tensor is created on.
    pub device: Device,
    /// Which backend `device` belongs to.
    pub kind: BackendKind,
    /// Why this backend was chosen when it is not what was asked for (a fallback), for the status bar and log.
    pub notice: Option<String>,
}

impl ComputeBackend {
    /// The CPU backend (`flex`), which always exists.
    pub fn cpu() -> Self {
        Self { device: Device::flex(), kind: BackendKind::Cpu, notice: None }
    }

    /// A one-line description for the status bar, `--version` and logs.
    pub fn describe(&self) -> String {
        match &self.kind {
            BackendKind::Cpu => format!("CPU (burn flex, {} threads)", cpu_threads()),
            BackendKind::Wgpu(adapter) => format!("wgpu on {adapter}"),
        }
    }

    /// How many parts to split large layers into for parallel inference: the thread count on the CPU
    /// backend, 1 on a GPU (one kernel already fills it).
    pub fn parallel_parts(&self) -> usize {
        if self.is_cpu() { cpu_threads() } else { 1 }
    }

    /// True when the device is burn's CPU backend.
    pub fn is_cpu(&self) -> bool {
        self.kind == BackendKind::Cpu
    }
}

fn cpu_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Lists the adapters wgpu can see, in the order burn's wgpu runtime tries graphics APIs: Vulkan, and
/// only when Vulkan has none, OpenGL. A driver that panics while being probed counts as no adapter.
pub fn list_adapters() -> Vec<AdapterSummary> {
    catch_unwind(|| {
        [wgpu::Backends::VULKAN, wgpu::Backends::GL]
            .into_iter()
            .map(|api| {
                let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
                descriptor.backends = api;
                pollster::block_on(wgpu::Instance::new(descriptor).enumerate_adapters(api))
            })
            .find(|adapters| !adapters.is_empty())
            .map(|adapters| adapters.iter().map(|a| summarize(&a.get_info())).collect())
            .unwrap_or_default()
    })
    .unwrap_or_else(|_| {
        log::warn!("the graphics driver panicked while listing adapters; treating it as no adapter");
        Vec::new()
    })
}

fn summarize(info: &wgpu::AdapterInfo) -> AdapterSummary {
    AdapterSummary {
        name: info.name.clone(),
        api: format!("{:?}", info.backend),
        software: info.device_type == wgpu::DeviceType::Cpu,
    }
}

/// Chooses the device for this run. Never panics: a missing adapter, a failing adapter or a panicking
/// driver all end on the CPU backend with a [`ComputeBackend::notice`] saying why.
///
/// `Auto` uses wgpu only on a hardware adapter: on a software adapter burn's CPU backend is several times
/// faster (see BENCHMARKS.md), so `--backend wgpu` is needed to use one.
pub fn select(choice: BackendChoice) -> ComputeBackend {
    if choice == BackendChoice::Cpu {
        return ComputeBackend::cpu();
    }
    let adapters = list_adapters();
    if adapters.is_empty() {
        return fallback(choice, "no wgpu adapter was found");
    }
    if choice == BackendChoice::Auto && adapters.iter().all(|a| a.software) {
        let mut cpu = ComputeBackend::cpu();
        cpu.notice = Some(format!(
            "only a software wgpu adapter exists ({}); the CPU backend is faster here (--backend wgpu forces it)",
            adapters[0]
        ));
        return cpu;
    }
    match init_wgpu() {
        Ok(backend) => backend,
        Err(reason) => fallback(choice, &reason),
    }
}

fn fallback(choice: BackendChoice, reason: &str) -> ComputeBackend {
    let mut cpu = ComputeBackend::cpu();
    if choice == BackendChoice::Wgpu {
        cpu.notice = Some(format!("wgpu unavailable ({reason}); using the CPU backend instead"));
    }
    cpu
}

/// Initializes burn's wgpu runtime and runs a tiny computation on it, so that a driver which accepts
/// the device but cannot compute is caught here rather than in the middle of a job.
fn init_wgpu() -> Result<ComputeBackend, String> {
    let attempt = catch_unwind(AssertUnwindSafe(|| -> Result<ComputeBackend, String> {
        let (device, setup) = Device::wgpu_options().init_with_setup().map_err(|e| e.to_string())?;
        let probe = Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device).mul_scalar(2.0).sum();
        let value: f32 = probe.into_scalar();
        if (value - 12.0).abs() > 1e-4 {
            return Err(format!("the adapter computed 2*(1+2+3) = {value}"));
        }
        Ok(ComputeBackend { device, kind: BackendKind::Wgpu(summarize(&setup.adapter.get_info())), notice: None })
    }));
    match attempt {
        Ok(result) => result,
        Err(panic) => Err(format!("the graphics driver panicked: {}", panic_message(&panic))),
    }
}

/// The text of a caught panic, for messages.
pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}
