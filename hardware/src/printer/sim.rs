//! A thermal printer on a pseudo-terminal: it answers `DLE EOT 4` with its paper state,
//! collects `GS v 0` rasters and, at each cut, keeps the page (and writes it as a PNG when
//! given a folder), so tests can read what would come out of the slot.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serialport::{SerialPort, TTYPort};

use super::PrintPage;
use super::escpos::{self, Command, Paper, Parser};

#[derive(Default)]
struct Shared {
    pages: Mutex<Vec<PrintPage>>,
    paper_out: AtomicBool,
    stop: AtomicBool,
}

/// A running simulated printer; dropping it closes the pty, as an unplugged cable.
pub struct PrinterSim {
    device: PathBuf,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl PrinterSim {
    /// Starts the printer; with `out_dir`, each page is also written there as `page-N.png`.
    pub fn spawn(out_dir: Option<PathBuf>) -> std::io::Result<PrinterSim> {
        let (mut master, slave) = TTYPort::pair().map_err(std::io::Error::other)?;
        master
            .set_timeout(Duration::from_millis(10))
            .map_err(std::io::Error::other)?;
        let device = slave
            .name()
            .map(PathBuf::from)
            .ok_or_else(|| std::io::Error::other("pty without a name"))?;
        let shared = Arc::new(Shared::default());
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("printer-sim".into())
            .spawn(move || {
                // The slave stays open here so the master never sees a hang-up between jobs.
                let _slave = slave;
                run(&mut master, &worker, out_dir);
            })?;
        Ok(PrinterSim {
            device,
            shared,
            thread: Some(thread),
        })
    }

    /// The serial device the kiosk opens.
    pub fn device(&self) -> &PathBuf {
        &self.device
    }

    pub fn set_paper_out(&self, out: bool) {
        self.shared.paper_out.store(out, Ordering::SeqCst);
    }

    /// The pages cut so far.
    pub fn pages(&self) -> Vec<PrintPage> {
        self.shared
            .pages
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }
}

impl Drop for PrinterSim {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(port: &mut TTYPort, shared: &Shared, out_dir: Option<PathBuf>) {
    let mut parser = Parser::default();
    let mut rows: Vec<u8> = Vec::new();
    let mut row_bytes = 0;
    let mut buf = [0u8; 4096];
    while !shared.stop.load(Ordering::SeqCst) {
        let n = match port.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => {
                // No driver has the device open (EIO on a pty master): wait for the next.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        for command in parser.push(&buf[..n]) {
            match command {
                Command::Init => {}
                Command::Status(4) => {
                    let paper = if shared.paper_out.load(Ordering::SeqCst) {
                        Paper::Out
                    } else {
                        Paper::Present
                    };
                    let _ = port.write_all(&[escpos::paper_status_byte(paper)]);
                }
                Command::Status(_) => {
                    let _ = port.write_all(&[0x12]);
                }
                Command::Raster {
                    row_bytes: width,
                    data,
                    ..
                } => {
                    // Without paper the head prints nothing.
                    if !shared.paper_out.load(Ordering::SeqCst) {
                        if width != row_bytes && !rows.is_empty() {
                            rows.clear();
                        }
                        row_bytes = width;
                        rows.extend_from_slice(&data);
                    }
                }
                Command::Cut => {
                    if row_bytes > 0 && !rows.is_empty() {
                        let page = PrintPage {
                            width: (row_bytes * 8) as u32,
                            height: (rows.len() / row_bytes) as u32,
                            packed: std::mem::take(&mut rows),
                        };
                        if let Some(dir) = &out_dir {
                            write_png(dir, shared, &page);
                        }
                        if let Ok(mut pages) = shared.pages.lock() {
                            pages.push(page);
                        }
                    }
                }
                Command::Other(_) => {}
            }
        }
    }
}

fn write_png(dir: &std::path::Path, shared: &Shared, page: &PrintPage) {
    let n = shared.pages.lock().map(|p| p.len()).unwrap_or(0) + 1;
    let stride = page.width.div_ceil(8) as usize;
    let image = image::GrayImage::from_fn(page.width, page.height, |x, y| {
        let byte = page.packed[y as usize * stride + (x / 8) as usize];
        image::Luma([if byte & (0x80 >> (x % 8)) != 0 {
            0
        } else {
            255
        }])
    });
    if let Err(e) = image.save(dir.join(format!("page-{n}.png"))) {
        tracing::warn!(error = %e, "the simulated printer could not write its page");
    }
}
