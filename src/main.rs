//! `lnl`: the demonstration (default) and `lnl apply`.

mod cli;

use std::process::ExitCode;

use cli::Command;
use layernorm_linear::{apply, demo, registry, Error};
use serde_json::json;

const EXIT_WRONG: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_UNAVAILABLE: u8 = 3;

fn exit_for(e: &Error) -> ExitCode {
    ExitCode::from(match e {
        Error::UnknownProvider { .. }
        | Error::InvalidEps { .. }
        | Error::ZeroSize { .. }
        | Error::SizeOverflow { .. }
        | Error::LengthMismatch { .. } => EXIT_USAGE,
        Error::Unavailable { .. } => EXIT_UNAVAILABLE,
        _ => EXIT_WRONG,
    })
}

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("lnl: {msg}\n\n{}", cli::USAGE);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match command {
        Command::Help => {
            print!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("lnl {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Providers => {
            for p in registry::compiled() {
                match p.probe() {
                    Ok(device) => println!("{:<7} available: {device}", p.name()),
                    Err(e) => println!("{:<7} unavailable: {e}", p.name()),
                }
            }
            ExitCode::SUCCESS
        }
        Command::Demo { config, json } => run_demo(&config, json),
        Command::Apply { args, json } => run_apply(&args, json),
    }
}

fn run_demo(config: &demo::DemoConfig, json: bool) -> ExitCode {
    let report = match demo::run(config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lnl: {e}");
            return exit_for(&e);
        }
    };
    if json {
        println!("{}", demo::render_json(&report));
    } else {
        print!("{}", demo::render_text(&report));
    }
    if !report.all_correct() {
        ExitCode::from(EXIT_WRONG)
    } else if report.results.is_empty() {
        if !json {
            eprintln!("lnl: no provider could run (see unavailable above)");
        }
        ExitCode::from(EXIT_UNAVAILABLE)
    } else {
        ExitCode::SUCCESS
    }
}

fn run_apply(args: &apply::ApplyArgs, json: bool) -> ExitCode {
    match apply::run(args) {
        Ok(o) => {
            if json {
                println!(
                    "{}",
                    json!({"provider": o.provider, "device": o.device, "strategy": o.strategy.name(),
                           "rows": o.rows, "hidden": o.hidden, "out": o.out,
                           "y_shape": o.y_shape, "y_path": o.y_path})
                );
            } else {
                println!(
                    "wrote {} {:?} (rows {}, hidden {}, out {}) with {} {} on {}",
                    o.y_path.display(),
                    o.y_shape,
                    o.rows,
                    o.hidden,
                    o.out,
                    o.provider,
                    o.strategy,
                    o.device
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lnl apply: {e}");
            match &e {
                apply::ApplyError::Layer(inner) => exit_for(inner),
                _ => ExitCode::from(EXIT_WRONG),
            }
        }
    }
}
