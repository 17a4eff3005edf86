//! A simulated receipt printer for development: `printer-sim [--out DIR] [--paper-out]`.
//! Prints its serial device on the first line of stdout, then keeps each page it cuts as
//! `DIR/page-N.png` until it is killed or its stdin closes.

use std::io::BufRead;
use std::path::PathBuf;

use kiosk_hardware::printer::sim::PrinterSim;

fn main() -> std::io::Result<()> {
    let mut out = None;
    let mut paper_out = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = args.next().map(PathBuf::from),
            "--paper-out" => paper_out = true,
            other => {
                eprintln!(
                    "printer-sim: unknown argument {other}; usage: printer-sim [--out DIR] [--paper-out]"
                );
                std::process::exit(2);
            }
        }
    }
    if let Some(dir) = &out {
        std::fs::create_dir_all(dir)?;
    }
    let sim = PrinterSim::spawn(out)?;
    sim.set_paper_out(paper_out);
    println!("{}", sim.device().display());
    // `paper` / `no-paper` on stdin load or empty the roll; end of input stops the printer.
    for line in std::io::stdin().lock().lines() {
        match line?.trim() {
            "paper" => sim.set_paper_out(false),
            "no-paper" => sim.set_paper_out(true),
            _ => {}
        }
    }
    Ok(())
}
