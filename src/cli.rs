//! Command-line parsing for `lnl` (no dependency: the flags are few and stable).

use std::path::PathBuf;

use layernorm_linear::apply::ApplyArgs;
use layernorm_linear::demo::DemoConfig;
use layernorm_linear::Strategy;

pub const USAGE: &str = "\
lnl: LayerNorm + Linear (y = W·LN(x) + b), fused and unfused, on CPU, CUDA and OpenCL

USAGE:
  lnl [OPTIONS]            the fused-vs-unfused demonstration (default: batch 4, seq 4, hidden 8, out 16)
  lnl apply [OPTIONS]      run one layer on your own tensors (.npy or .safetensors), write y as .npy
  lnl providers            list the compiled-in providers and whether each can run here

DEMONSTRATION OPTIONS:
  --provider NAME   cpu, cuda, opencl or auto (default: every compiled-in provider; env LNL_PROVIDER)
  --unfused         run the unfused strategy (default: both)
  --fused           run the fused strategy (default: both)
  --shape SHAPE     BxSxHxO (batch, seq, hidden, out) or RxHxO (rows, hidden, out)
  --iters N         timed calls per provider and strategy (default: from the problem size)
  --eps E           LayerNorm epsilon (default 1e-5)
  --seed S          seed of the random inputs (default 42)
  --json            print one JSON object instead of text

APPLY OPTIONS:
  --x SRC --gamma SRC --beta SRC --weight SRC [--bias SRC]
                    each SRC is a .npy path, or a tensor name inside --safetensors FILE
                    (x: [rows, H] or [batch, seq, H]; gamma, beta: [H]; weight: [O, H]; bias: [O])
  --safetensors FILE  read tensors from FILE; unnamed ones are found under the usual names
                    (x; gamma | ln.weight | norm.weight; beta | ln.bias | norm.bias;
                     weight | linear.weight; bias | linear.bias)
  --out PATH        where to write y (.npy, float32, x's leading dims + [O])  (required)
  --provider NAME   as above (default: auto)
  --strategy S      fused (default) or unfused
  --eps E           LayerNorm epsilon (default 1e-5)
  --json            print what was done as one JSON object

EXIT STATUS: 0 success; 1 a result was WRONG or apply failed; 2 usage error or unknown provider;
3 the requested provider is unavailable here.
";

/// What the command line asked for.
pub enum Command {
    Demo { config: DemoConfig, json: bool },
    Apply { args: ApplyArgs, json: bool },
    Providers,
    Help,
    Version,
}

fn value(args: &mut impl Iterator<Item = String>, flag: &str) -> Result<String, String> {
    args.next().ok_or_else(|| format!("{flag} needs a value"))
}

fn number<T: std::str::FromStr>(s: &str, flag: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("{flag}: {s:?} is not a valid number"))
}

/// Parses `BxSxHxO` or `RxHxO` into the demo config.
fn parse_shape(s: &str, config: &mut DemoConfig) -> Result<(), String> {
    let dims: Vec<usize> = s
        .split('x')
        .map(|d| number(d, "--shape"))
        .collect::<Result<_, _>>()?;
    match dims[..] {
        [b, sq, h, o] => {
            config.batch_seq = Some((b, sq));
            config.rows = b
                .checked_mul(sq)
                .ok_or_else(|| format!("--shape {s}: batch * seq overflows"))?;
            config.hidden = h;
            config.out = o;
        }
        [r, h, o] => {
            config.batch_seq = None;
            config.rows = r;
            config.hidden = h;
            config.out = o;
        }
        _ => return Err(format!("--shape {s:?}: expected BxSxHxO or RxHxO")),
    }
    Ok(())
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter().peekable();
    match args.peek().map(String::as_str) {
        Some("apply") => {
            args.next();
            parse_apply(args)
        }
        Some("providers") => Ok(Command::Providers),
        _ => parse_demo(args),
    }
}

fn parse_demo(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut config = DemoConfig::default();
    let (mut unfused, mut fused, mut json) = (false, false, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--unfused" => unfused = true,
            "--fused" => fused = true,
            "--json" => json = true,
            "--provider" => config.provider = Some(value(&mut args, &a)?),
            "--shape" => parse_shape(&value(&mut args, &a)?, &mut config)?,
            "--iters" => config.iters = Some(number::<usize>(&value(&mut args, &a)?, &a)?.max(1)),
            "--eps" => config.eps = number(&value(&mut args, &a)?, &a)?,
            "--seed" => config.seed = number(&value(&mut args, &a)?, &a)?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    config.strategies = match (unfused, fused) {
        (true, false) => vec![Strategy::Unfused],
        (false, true) => vec![Strategy::Fused],
        _ => Strategy::ALL.to_vec(),
    };
    Ok(Command::Demo { config, json })
}

fn parse_apply(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut a = ApplyArgs::default();
    let mut out = None;
    let mut json = false;
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--x" => a.x = Some(value(&mut args, &flag)?),
            "--gamma" => a.gamma = Some(value(&mut args, &flag)?),
            "--beta" => a.beta = Some(value(&mut args, &flag)?),
            "--weight" => a.weight = Some(value(&mut args, &flag)?),
            "--bias" => a.bias = Some(value(&mut args, &flag)?),
            "--safetensors" => a.safetensors = Some(PathBuf::from(value(&mut args, &flag)?)),
            "--out" => out = Some(PathBuf::from(value(&mut args, &flag)?)),
            "--provider" => a.provider = Some(value(&mut args, &flag)?),
            "--strategy" => a.strategy = Some(value(&mut args, &flag)?.parse()?),
            "--eps" => a.eps = Some(number(&value(&mut args, &flag)?, &flag)?),
            "--json" => json = true,
            other => return Err(format!("apply: unknown argument {other:?}")),
        }
    }
    a.out = out.ok_or("apply: --out PATH is required")?;
    Ok(Command::Apply { args: a, json })
}
