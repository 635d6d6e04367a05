//! The `lnl` command line: the demonstration, provider selection, and `lnl apply` on files
//! written by numpy and by a safetensors writer.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use layernorm_linear::tensor_io::{read_npy, write_npy};
use layernorm_linear::tolerance::{check, expected, Expected};
use layernorm_linear::{testdata, LayerParams};

fn lnl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lnl"))
        .args(args)
        .env_remove("LNL_PROVIDER")
        .output()
        .expect("run lnl")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lnl-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn demonstration_runs_the_seed_configuration_and_is_correct() {
    let o = lnl(&["--iters", "20"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("Testing with dimensions: [4, 4, 8] -> [4, 4, 16]"),
        "{t}"
    );
    assert!(t.contains("CORRECT") && !t.contains("WRONG"), "{t}");
    assert!(t.contains("Benchmark") && t.contains("faster"), "{t}");
}

#[test]
fn json_output_has_the_public_fields() {
    let o = lnl(&["--json", "--iters", "5", "--shape", "2x3x40x24", "--fused"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("one JSON object on stdout");
    assert_eq!(
        (v["rows"].as_u64(), v["hidden"].as_u64(), v["out"].as_u64()),
        (Some(6), Some(40), Some(24))
    );
    let results = v["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        for key in [
            "provider", "strategy", "correct", "max_diff", "iters", "median_s",
        ] {
            assert!(!r[key].is_null(), "missing {key} in {r}");
        }
        assert_eq!(r["strategy"], "fused");
        assert_eq!(r["correct"], true);
        assert_eq!(r["iters"], 5);
    }
    assert!(v["unavailable"].is_array());
}

#[test]
fn unknown_provider_in_the_environment_fails_listing_valid_names() {
    let o = Command::new(env!("CARGO_BIN_EXE_lnl"))
        .env("LNL_PROVIDER", "nosuch")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("nosuch") && t.contains("valid names") && t.contains("auto"),
        "{t}"
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["--shape", "4x4"][..],
        &["--bogus"],
        &["--eps", "0"],
        &["--shape", "1x0x4"],
        &["apply", "--x", "a.npy"],
    ] {
        let o = lnl(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    }
}

/// The bound of the derived tolerance, applied around an independent reference (numpy's).
fn assert_within_tolerance(exp: &Expected, reference: &[f64], y: &[f32]) {
    let mut exp = exp.clone();
    for (ours, theirs) in exp.reference.iter().zip(reference) {
        assert!(
            (ours - theirs).abs() <= 1e-9 * (1.0 + theirs.abs()),
            "f64 references disagree: {ours} vs {theirs}"
        );
    }
    exp.reference = reference.to_vec();
    let report = check(&exp, y);
    assert!(report.passed(), "{report}");
}

fn numpy_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("LNL_REQUIRE_NUMPY").as_deref() != Ok("1"),
            "LNL_REQUIRE_NUMPY=1 but python3 with numpy is not available"
        );
        eprintln!("skipping: python3 with numpy is not available");
    }
    ok
}

const NUMPY_WRITER: &str = r#"
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
B, S, H, O = 2, 3, 37, 19
x = (rng.standard_normal((B, S, H)) * 3 + 100).astype(np.float32)   # a large-mean input
g = (1 + 0.1 * rng.standard_normal(H)).astype(np.float32)
b = (0.1 * rng.standard_normal(H)).astype(np.float32)
W = (rng.standard_normal((O, H)) / np.sqrt(H)).astype(np.float32)
bias = (0.1 * rng.standard_normal(O)).astype(np.float32)
for name, a in dict(x=x, gamma=g, beta=b, weight=W, bias=bias).items():
    np.save(f"{d}/{name}.npy", a)
x64 = x.astype(np.float64)
mu = x64.mean(-1, keepdims=True)
var = ((x64 - mu) ** 2).mean(-1, keepdims=True)
xn = (x64 - mu) / np.sqrt(var + 1e-5) * g.astype(np.float64) + b.astype(np.float64)
y = xn @ W.astype(np.float64).T + bias.astype(np.float64)
np.save(f"{d}/y_ref.npy", y)
"#;

#[test]
fn apply_matches_a_float64_numpy_computation() {
    if !numpy_available() {
        return;
    }
    let dir = scratch("numpy");
    let o = Command::new("python3")
        .arg("-c")
        .arg(NUMPY_WRITER)
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let f = |n: &str| dir.join(n).to_str().unwrap().to_string();
    for strategy in ["fused", "unfused"] {
        let y_path = f(&format!("y_{strategy}.npy"));
        let args = [
            "apply",
            "--x",
            &f("x.npy"),
            "--gamma",
            &f("gamma.npy"),
            "--beta",
            &f("beta.npy"),
            "--weight",
            &f("weight.npy"),
            "--bias",
            &f("bias.npy"),
            "--out",
            &y_path,
            "--strategy",
            strategy,
        ];
        let o = lnl(&args);
        assert!(o.status.success(), "{}", text(&o));
        let y = read_npy(Path::new(&y_path)).unwrap();
        assert_eq!(y.shape, vec![2, 3, 19], "y keeps x's leading dims");
        let y_ref = read_npy_f64(&dir.join("y_ref.npy"));
        let load = |n: &str| read_npy(&dir.join(n)).unwrap().data;
        let params = LayerParams::new(
            37,
            19,
            load("weight.npy"),
            load("gamma.npy"),
            load("beta.npy"),
            Some(load("bias.npy")),
            1e-5,
        )
        .unwrap();
        let exp = expected(&params, &load("x.npy"), 6).unwrap();
        assert_within_tolerance(&exp, &y_ref, &y.data);
    }
}

fn read_npy_f64(path: &Path) -> Vec<f64> {
    let file = std::fs::File::open(path).unwrap();
    npyz::NpyFile::new(std::io::BufReader::new(file))
        .unwrap()
        .into_vec::<f64>()
        .unwrap()
}

#[test]
fn apply_reads_a_pytorch_style_safetensors_file() {
    let dir = scratch("safetensors");
    let (h, o, rows) = (24, 10, 5);
    let p = testdata::random_params(h, o, 1e-5, 3);
    let x = testdata::normal_vec(rows * h, 4);
    let bytes = |v: &[f32]| v.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<u8>>();
    let tensors = [
        ("input", vec![rows, h], bytes(&x)),
        ("norm.weight", vec![h], bytes(p.gamma())),
        ("norm.bias", vec![h], bytes(p.beta())),
        ("linear.weight", vec![o, h], bytes(p.weight())),
        ("linear.bias", vec![o], bytes(p.bias().unwrap())),
    ];
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, s, b)| {
            (
                n.to_string(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                    .unwrap(),
            )
        })
        .collect();
    let file = dir.join("layer.safetensors");
    safetensors::serialize_to_file(views, None, &file).unwrap();
    let y_path = dir.join("y.npy");
    let out = lnl(&[
        "apply",
        "--safetensors",
        file.to_str().unwrap(),
        "--out",
        y_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let y = read_npy(&y_path).unwrap();
    assert_eq!(y.shape, vec![rows, o]);
    assert!(check(&expected(&p, &x, rows).unwrap(), &y.data).passed());
}

#[test]
fn apply_shape_mismatch_names_the_files_and_shapes() {
    let dir = scratch("mismatch");
    let w = |n: &str, shape: &[usize]| {
        let path = dir.join(n);
        write_npy(&path, shape, &vec![0.5; shape.iter().product()]).unwrap();
        path.to_str().unwrap().to_string()
    };
    let (x, g, b, wt) = (
        w("x.npy", &[3, 7]),
        w("g.npy", &[8]),
        w("b.npy", &[8]),
        w("w.npy", &[4, 8]),
    );
    let y = dir.join("y.npy");
    let o = lnl(&[
        "apply",
        "--x",
        &x,
        "--gamma",
        &g,
        "--beta",
        &b,
        "--weight",
        &wt,
        "--out",
        y.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.contains("x.npy has shape [3, 7]") && t.contains("w.npy has shape [4, 8]"),
        "{t}"
    );
    assert!(!y.exists(), "no output on error");
}
