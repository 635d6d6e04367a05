//! Availability: with no OpenCL platform (an empty ICD directory) or an unmatched
//! `LNL_OPENCL_DEVICE`, probe and build return `Unavailable` and nothing panics. The ICD loader
//! reads its environment once per process, so each case re-runs this test binary as a child.

use lnl_core::{Error, Provider, Strategy};
use lnl_opencl::OpenClProvider;
use std::process::Command;

const CHILD: &str = "LNL_OPENCL_TEST_CHILD";

/// Serialises this file's tests. On the H100 host (compute mode Default) NVIDIA's OpenCL driver
/// sometimes failed to load in a child started while sibling processes of this binary were
/// initialising it, so the child saw only PoCL (2026-11-23; with --test-threads=1 all passed).
/// The tests check selection and availability, not concurrent driver start-up.
static DRIVER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    DRIVER.lock().unwrap_or_else(|e| e.into_inner())
}

/// The child's side: when run by `run_child`, checks that the provider is unavailable.
#[test]
fn child_expects_unavailable() {
    let _serial = serial();
    let Ok(why) = std::env::var(CHILD) else {
        return; // not in a child: the parent tests below run this one with the variable set
    };
    let p = OpenClProvider;
    match p.probe() {
        Err(Error::Unavailable { provider, reason }) => {
            assert_eq!(provider, "opencl");
            println!("probe: unavailable ({why}): {reason}");
        }
        other => panic!("{why}: expected Unavailable, got {other:?}"),
    }
    let params = lnl_core::testdata::random_params(8, 4, 1e-5, 1);
    assert!(matches!(
        p.build(&params, Strategy::Fused),
        Err(Error::Unavailable { .. })
    ));
    println!("CHILD-OK");
}

/// The child's side of `device_name_substring_selects_that_device`.
#[test]
fn child_expects_device() {
    let _serial = serial();
    let Ok(want) = std::env::var(CHILD_DEVICE) else {
        return; // not in a child
    };
    let desc = OpenClProvider.probe().expect("the named device");
    assert!(
        desc.to_lowercase().contains(&want.to_lowercase()),
        "{desc} vs {want}"
    );
    println!("CHILD-OK");
}

const CHILD_DEVICE: &str = "LNL_OPENCL_TEST_CHILD_DEVICE";

/// The child's side of `device_name_substring_selects_that_device`: prints the default device.
#[test]
fn child_prints_device() {
    let _serial = serial();
    if std::env::var(CHILD_PRINT).is_err() {
        return; // not in a child
    }
    println!(
        "DEVICE={}",
        OpenClProvider
            .probe()
            .expect("an OpenCL device (PoCL in CI)")
    );
}

const CHILD_PRINT: &str = "LNL_OPENCL_TEST_CHILD_PRINT";

#[test]
fn device_name_substring_selects_that_device() {
    let _serial = serial();
    // The default device is read in a child too, so that this process never loads a driver
    // while its children start theirs.
    let printed = run_test_child("child_prints_device", |c| {
        c.env(CHILD_PRINT, "1");
    });
    let desc = printed
        .lines()
        .find_map(|l| l.strip_prefix("DEVICE="))
        .unwrap_or_else(|| panic!("no device printed: {printed}"))
        .to_string();
    // Any word of the device's name, in another case, selects it.
    let word = desc
        .rsplit(" / ")
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let stdout = run_test_child("child_expects_device", |c| {
        c.env(CHILD_DEVICE, word)
            .env(lnl_opencl::DEVICE_ENV, word.to_uppercase());
    });
    assert!(
        stdout.contains("CHILD-OK"),
        "child did not finish: {stdout}"
    );
}

/// Runs one test of this binary in a child process set up by `configure`; asserts it exited
/// successfully and returns its stdout.
fn run_test_child(test: &str, configure: impl FnOnce(&mut Command)) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture"]);
    configure(&mut cmd);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child {test} failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn run_child(envs: &[(&str, &str)]) {
    let stdout = run_test_child("child_expects_unavailable", |cmd| {
        // Other loader variables would add ICDs beside the (empty) vendors directory.
        cmd.env(CHILD, format!("{envs:?}"))
            .env_remove("OCL_ICD_FILENAMES")
            .env_remove("OPENCL_VENDOR_PATH")
            .env_remove(lnl_opencl::DEVICE_ENV);
        for (k, v) in envs {
            cmd.env(k, v);
        }
    });
    assert!(
        stdout.contains("CHILD-OK"),
        "child did not finish: {stdout}"
    );
}

#[test]
fn no_icd_gives_unavailable_not_a_panic() {
    let _serial = serial();
    let empty = std::env::temp_dir().join(format!("lnl-empty-icd-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    run_child(&[("OCL_ICD_VENDORS", empty.to_str().unwrap())]);
    run_child(&[("OCL_ICD_VENDORS", "/nonexistent-empty-dir")]);
    let _ = std::fs::remove_dir(&empty);
    // A vendors directory whose only ICD cannot be loaded: the loader finds no platform.
    let bogus = std::env::temp_dir().join(format!("lnl-bogus-icd-{}", std::process::id()));
    std::fs::create_dir_all(&bogus).unwrap();
    std::fs::write(
        bogus.join("bogus.icd"),
        "/nonexistent/libno-such-opencl.so\n",
    )
    .unwrap();
    run_child(&[("OCL_ICD_VENDORS", bogus.to_str().unwrap())]);
    let _ = std::fs::remove_dir_all(&bogus);
}

#[test]
fn unmatched_device_name_gives_unavailable() {
    let _serial = serial();
    run_child(&[("LNL_OPENCL_DEVICE", "no-such-device-name-xyz")]);
}

#[test]
fn probe_names_the_device() {
    let _serial = serial();
    let desc = OpenClProvider
        .probe()
        .expect("an OpenCL device (PoCL in CI)");
    assert!(desc.contains(" / "), "{desc}");
}
