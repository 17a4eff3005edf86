//! `idcard-sim`: an ID card reader on a pseudo-terminal.
//!
//! Prints the device path as the first stdout line, then reads commands on stdin, one a line:
//! `place [FILE]`, `remove`, `fault KIND [COUNT]` (none|fragment|garbage|badchk|silence|baud),
//! `unplug`, `replug`, `state`, `quit`. Each is answered `ok ...` or `error: ...` on stdout.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kiosk_hardware::idcard::sim::{self, Fault, FaultKind, SimConfig, Simulator};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Simulated second-generation ID card reader on a pseudo-terminal"
)]
struct Args {
    /// Card file (JSON form of CardData), placed at start unless --no-card.
    #[arg(long)]
    card: Option<PathBuf>,
    /// Start with an empty field (`place` without FILE then places --card).
    #[arg(long)]
    no_card: bool,
    /// Fault injected into every answer (or the first --fault-count answers).
    #[arg(long, default_value = "none")]
    fault: FaultKind,
    #[arg(long)]
    fault_count: Option<u32>,
    /// Seed of the fault generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Keep a symlink at this path pointing to the device (survives unplug/replug); printed
    /// instead of the pty name.
    #[arg(long)]
    link: Option<PathBuf>,
    /// Emulate the wire time of 115200 baud (a pty has no baud rate).
    #[arg(long)]
    wire_delay: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idcard-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), sim::SimError> {
    let mut last_card = match &args.card {
        Some(path) => Some(sim::load_card(path)?),
        None => None,
    };
    let config = SimConfig {
        card: if args.no_card {
            None
        } else {
            last_card.clone()
        },
        fault: Fault {
            kind: args.fault,
            count: args.fault_count,
            only: None,
        },
        seed: args.seed,
        link: args.link,
        wire_baud: args.wire_delay.then_some(115_200),
    };
    let simulator = Simulator::spawn(config)?;
    let path = simulator.path().ok_or(sim::SimError::Stopped)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", path.display())?;
    out.flush()?;

    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let result = match words.as_slice() {
            [] => continue,
            ["quit"] | ["exit"] => break,
            ["place"] => match &last_card {
                Some(card) => simulator.place(card.clone()).map(|()| "placed".to_owned()),
                None => Err(sim::SimError::Io(std::io::Error::other(
                    "no card file given: place FILE",
                ))),
            },
            ["place", file] => sim::load_card(file.as_ref()).and_then(|card| {
                last_card = Some(card.clone());
                simulator.place(card).map(|()| "placed".to_owned())
            }),
            ["remove"] => simulator.remove().map(|()| "removed".to_owned()),
            ["fault", kind] | ["fault", kind, _] => match kind.parse::<FaultKind>() {
                Ok(kind) => {
                    let count = match words.get(2).map(|c| c.parse::<u32>()) {
                        None => Ok(None),
                        Some(Ok(c)) if c > 0 => Ok(Some(c)),
                        Some(_) => Err("COUNT must be a positive integer".to_owned()),
                    };
                    match count {
                        Ok(count) => simulator
                            .set_fault(Fault {
                                kind,
                                count,
                                only: None,
                            })
                            .map(|()| format!("fault {kind:?}")),
                        Err(e) => Err(sim::SimError::Io(std::io::Error::other(e))),
                    }
                }
                Err(e) => Err(sim::SimError::Io(std::io::Error::other(e))),
            },
            ["unplug"] => simulator.unplug().map(|()| "unplugged".to_owned()),
            ["replug"] => simulator.replug().map(|()| match simulator.path() {
                Some(p) => format!("replugged {}", p.display()),
                None => "replugged".to_owned(),
            }),
            ["state"] => simulator.state().map(|s| format!("{s:?}")),
            _ => Err(sim::SimError::Io(std::io::Error::other(
                "commands: place [FILE] | remove | fault KIND [COUNT] | unplug | replug | state | quit",
            ))),
        };
        match result {
            Ok(msg) => writeln!(out, "ok {msg}")?,
            Err(e) => writeln!(out, "error: {e}")?,
        }
        out.flush()?;
    }
    drop(simulator);
    Ok(())
}
