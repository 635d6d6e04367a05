//! `lnl apply`: one layer on the user's own tensors (.npy files or one .safetensors file),
//! written to a .npy file. Shapes are checked against each other before anything runs.

use std::path::{Path, PathBuf};

use lnl_core::{LayerParams, Strategy};

use crate::registry;
use crate::tensor_io::{read_npy, write_npy, HostTensor, SafetensorsFile, TensorIoError};

/// Where each tensor comes from: a `.npy` path, or a tensor name inside `--safetensors`.
/// With `--safetensors`, a role left unset is looked up under the usual names ([`DEFAULT_NAMES`]).
#[derive(Debug, Clone, Default)]
pub struct ApplyArgs {
    pub x: Option<String>,
    pub gamma: Option<String>,
    pub beta: Option<String>,
    pub weight: Option<String>,
    pub bias: Option<String>,
    pub safetensors: Option<PathBuf>,
    pub out: PathBuf,
    pub provider: Option<String>,
    pub strategy: Option<Strategy>,
    pub eps: Option<f32>,
}

/// Names tried, in order, for each role when reading a `.safetensors` file without explicit
/// names: the plain names, then `nn.LayerNorm` / `nn.Linear` state-dict keys.
pub const DEFAULT_NAMES: [(Role, &[&str]); 5] = [
    (Role::X, &["x", "input"]),
    (
        Role::Gamma,
        &[
            "gamma",
            "ln.weight",
            "norm.weight",
            "layer_norm.weight",
            "ln_1.weight",
        ],
    ),
    (
        Role::Beta,
        &[
            "beta",
            "ln.bias",
            "norm.bias",
            "layer_norm.bias",
            "ln_1.bias",
        ],
    ),
    (
        Role::Weight,
        &["weight", "linear.weight", "fc.weight", "proj.weight"],
    ),
    (Role::Bias, &["bias", "linear.bias", "fc.bias", "proj.bias"]),
];

/// The part a tensor plays in the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    X,
    Gamma,
    Beta,
    Weight,
    Bias,
}

impl Role {
    fn flag(self) -> &'static str {
        match self {
            Role::X => "--x",
            Role::Gamma => "--gamma",
            Role::Beta => "--beta",
            Role::Weight => "--weight",
            Role::Bias => "--bias",
        }
    }
}

/// Everything `lnl apply` can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A tensor file could not be read or written.
    #[error(transparent)]
    Io(#[from] TensorIoError),
    /// A required tensor was not given.
    #[error("missing {flag}: {hint}")]
    Missing { flag: &'static str, hint: String },
    /// Tensors whose shapes do not fit together; the message names files and shapes.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// The layer itself refused (bad eps, provider unavailable, device error...).
    #[error(transparent)]
    Layer(#[from] lnl_core::Error),
}

/// What `lnl apply` did.
#[derive(Debug, Clone)]
pub struct ApplyOutcome {
    pub provider: &'static str,
    pub device: String,
    pub strategy: Strategy,
    pub rows: usize,
    pub hidden: usize,
    pub out: usize,
    pub y_shape: Vec<usize>,
    pub y_path: PathBuf,
}

struct Sources {
    safetensors: Option<SafetensorsFile>,
}

impl Sources {
    /// Reads a role's tensor, or `None` for an optional role that is absent.
    fn load(
        &self,
        role: Role,
        given: Option<&str>,
        required: bool,
    ) -> Result<Option<HostTensor>, ApplyError> {
        if let Some(spec) = given {
            if spec.ends_with(".npy") || self.safetensors.is_none() {
                return Ok(Some(read_npy(Path::new(spec))?));
            }
        }
        let Some(st) = &self.safetensors else {
            return if required {
                Err(ApplyError::Missing {
                    flag: role.flag(),
                    hint: "give a .npy path, or --safetensors FILE holding the tensors".into(),
                })
            } else {
                Ok(None)
            };
        };
        if let Some(name) = given {
            return Ok(Some(st.tensor(name)?));
        }
        let candidates = DEFAULT_NAMES
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, n)| *n)
            .unwrap_or(&[]);
        match candidates.iter().find(|n| st.contains(n)) {
            Some(name) => Ok(Some(st.tensor(name)?)),
            None if required => Err(ApplyError::Missing {
                flag: role.flag(),
                hint: format!(
                    "none of {candidates:?} is in the .safetensors file (it holds {:?}); name it with {} NAME",
                    st.names(),
                    role.flag()
                ),
            }),
            None => Ok(None),
        }
    }
}

fn shape_str(t: &HostTensor) -> String {
    format!("{} has shape {:?}", t.source, t.shape)
}

/// Checks the shapes against each other and returns (rows, hidden, out, y shape).
fn check_shapes(
    x: &HostTensor,
    gamma: &HostTensor,
    beta: &HostTensor,
    weight: &HostTensor,
    bias: Option<&HostTensor>,
) -> Result<(usize, usize, usize, Vec<usize>), ApplyError> {
    let [out, hidden] = weight.shape[..] else {
        return Err(ApplyError::Shape(format!(
            "weight {}; expected 2 dimensions [out, hidden]",
            shape_str(weight)
        )));
    };
    for (name, t) in [("gamma", gamma), ("beta", beta)] {
        if t.shape != [hidden] {
            return Err(ApplyError::Shape(format!(
                "{name} {}, but weight {}: expected [{hidden}] (the hidden size)",
                shape_str(t),
                shape_str(weight)
            )));
        }
    }
    if let Some(b) = bias {
        if b.shape != [out] {
            return Err(ApplyError::Shape(format!(
                "bias {}, but weight {}: expected [{out}] (the output size)",
                shape_str(b),
                shape_str(weight)
            )));
        }
    }
    let Some((&last, lead)) = x.shape.split_last() else {
        return Err(ApplyError::Shape(format!(
            "x {}; expected [rows, hidden] or [batch, seq, hidden]",
            shape_str(x)
        )));
    };
    if last != hidden {
        return Err(ApplyError::Shape(format!(
            "x {}, but weight {}: the last dimension of x must be the hidden size {hidden}",
            shape_str(x),
            shape_str(weight)
        )));
    }
    let rows = lead
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| {
            ApplyError::Shape(format!("x {}: the number of rows overflows", shape_str(x)))
        })?;
    let mut y_shape = lead.to_vec();
    y_shape.push(out);
    Ok((rows, hidden, out, y_shape))
}

/// Reads the tensors, checks their shapes, runs the layer and writes `y` to `args.out`.
pub fn run(args: &ApplyArgs) -> Result<ApplyOutcome, ApplyError> {
    let sources = Sources {
        safetensors: args
            .safetensors
            .as_deref()
            .map(SafetensorsFile::open)
            .transpose()?,
    };
    let need = |role: Role, given: &Option<String>| -> Result<HostTensor, ApplyError> {
        sources
            .load(role, given.as_deref(), true)?
            .ok_or_else(|| ApplyError::Missing {
                flag: role.flag(),
                hint: "give a .npy path, or --safetensors FILE holding the tensors".into(),
            })
    };
    let x = need(Role::X, &args.x)?;
    let gamma = need(Role::Gamma, &args.gamma)?;
    let beta = need(Role::Beta, &args.beta)?;
    let weight = need(Role::Weight, &args.weight)?;
    let bias = sources.load(Role::Bias, args.bias.as_deref(), false)?;
    let (rows, hidden, out, y_shape) = check_shapes(&x, &gamma, &beta, &weight, bias.as_ref())?;

    let params = LayerParams::new(
        hidden,
        out,
        weight.data,
        gamma.data,
        beta.data,
        bias.map(|b| b.data),
        args.eps.unwrap_or(lnl_core::DEFAULT_EPS),
    )?;
    let provider = registry::select(args.provider.as_deref())?;
    let device = provider.probe()?;
    let strategy = args.strategy.unwrap_or(Strategy::Fused);
    let layer = provider.build(&params, strategy)?;
    let y = layer.forward(&x.data, rows)?;
    write_npy(&args.out, &y_shape, &y)?;
    Ok(ApplyOutcome {
        provider: provider.name(),
        device,
        strategy,
        rows,
        hidden,
        out,
        y_shape,
        y_path: args.out.clone(),
    })
}
