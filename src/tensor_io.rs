//! Reading and writing host tensors: NumPy `.npy` files and `.safetensors` files, converted to
//! f32 (the compute type). Errors name the file and what was wrong with it.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use npyz::{TypeChar, WriterBuilder};

/// A tensor read from a file: row-major f32 data and its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Where it came from, for error messages (`x.npy`, or `layer.safetensors:ln.weight`).
    pub source: String,
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Row-major (C order) elements.
    pub data: Vec<f32>,
}

/// Errors of reading or writing tensor files.
#[derive(Debug, thiserror::Error)]
pub enum TensorIoError {
    /// The file could not be opened, read or written.
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    /// The file was read but its contents are not a tensor we can use.
    #[error("{source_name}: {message}")]
    Format {
        source_name: String,
        message: String,
    },
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> TensorIoError {
    TensorIoError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn format_err(source_name: &str, message: impl Into<String>) -> TensorIoError {
    TensorIoError::Format {
        source_name: source_name.into(),
        message: message.into(),
    }
}

/// Reads a C-ordered float32 or float64 `.npy` file (float64 is rounded to f32).
pub fn read_npy(path: &Path) -> Result<HostTensor, TensorIoError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let npy = npyz::NpyFile::new(BufReader::new(file))
        .map_err(|e| format_err(&name, format!("not a .npy file: {e}")))?;
    if npy.order() != npyz::Order::C && npy.shape().len() > 1 {
        return Err(format_err(
            &name,
            "Fortran-ordered array; save it with np.ascontiguousarray(a)",
        ));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let dtype = npy.dtype();
    let data = match &dtype {
        npyz::DType::Plain(ts) if ts.type_char() == TypeChar::Float && ts.size_field() == 4 => npy
            .into_vec::<f32>()
            .map_err(|e| format_err(&name, e.to_string()))?,
        npyz::DType::Plain(ts) if ts.type_char() == TypeChar::Float && ts.size_field() == 8 => npy
            .into_vec::<f64>()
            .map_err(|e| format_err(&name, e.to_string()))?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        other => {
            return Err(format_err(
                &name,
                format!(
                    "dtype {} is not supported; use float32 or float64",
                    other.descr()
                ),
            ))
        }
    };
    Ok(HostTensor {
        source: name,
        shape,
        data,
    })
}

/// Writes a float32 `.npy` file of the given shape.
pub fn write_npy(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), TensorIoError> {
    let file = File::create(path).map_err(|e| io_err(path, e))?;
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(BufWriter::new(file))
        .begin_nd()
        .map_err(|e| io_err(path, e))?;
    writer
        .extend(data.iter().copied())
        .map_err(|e| io_err(path, e))?;
    writer.finish().map_err(|e| io_err(path, e))
}

/// The tensors of one `.safetensors` file, read once.
pub struct SafetensorsFile {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl SafetensorsFile {
    /// Reads the whole file and checks its header.
    pub fn open(path: &Path) -> Result<Self, TensorIoError> {
        let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
        let file = Self {
            path: path.to_path_buf(),
            bytes,
        };
        file.parsed()?;
        Ok(file)
    }

    fn parsed(&self) -> Result<safetensors::SafeTensors<'_>, TensorIoError> {
        safetensors::SafeTensors::deserialize(&self.bytes).map_err(|e| {
            format_err(
                &self.path.display().to_string(),
                format!("not a .safetensors file: {e}"),
            )
        })
    }

    /// Names of the tensors in the file, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .parsed()
            .map(|st| st.names().into_iter().map(str::to_string).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// True when the file holds a tensor of that name.
    pub fn contains(&self, name: &str) -> bool {
        self.names().iter().any(|n| n == name)
    }

    /// The named tensor, converted to f32 (from F32, F64, F16 or BF16).
    pub fn tensor(&self, name: &str) -> Result<HostTensor, TensorIoError> {
        let st = self.parsed()?;
        let source = format!("{}:{name}", self.path.display());
        let view = st.tensor(name).map_err(|_| {
            format_err(
                &source,
                format!(
                    "no tensor named {name:?}; the file holds {:?}",
                    self.names()
                ),
            )
        })?;
        let raw = view.data();
        use safetensors::Dtype;
        let data: Vec<f32> = match view.dtype() {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F64 => raw
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("chunks of 8")) as f32)
                .collect(),
            Dtype::BF16 => raw
                .chunks_exact(2)
                .map(|b| f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16))
                .collect(),
            Dtype::F16 => raw
                .chunks_exact(2)
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
            other => {
                return Err(format_err(
                    &source,
                    format!("dtype {other:?} is not supported; use F32, F64, F16 or BF16"),
                ))
            }
        };
        Ok(HostTensor {
            source,
            shape: view.shape().to_vec(),
            data,
        })
    }
}

/// IEEE half to f32, exactly (every f16 is representable in f32).
fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = match (exp, man) {
        (0, 0) => sign,
        // Subnormal half: value = man * 2^-24, exact in f32.
        (0, _) => return sign_f(sign) * man as f32 * (1.0 / 16_777_216.0),
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, _) => sign | 0x7fc0_0000 | (man << 13),
        _ => sign | ((exp + 112) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

fn sign_f(sign: u32) -> f32 {
    if sign != 0 {
        -1.0
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_conversion_matches_known_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert_eq!(f16_to_f32(0x8001), -5.960_464_5e-8);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
    }
}
