//! A reader simulator that answers on a pseudo-terminal as a real reader would (spec §8).
//!
//! * [`ReaderModel`] is the protocol logic: states NoCard → Present → Found → Selected → Read;
//!   after Read, find answers 80 until the card is removed; bad host frames get SW3 10/11,
//!   unknown commands 21.
//! * [`Simulator`] runs the model on a pty pair in a thread, with a handle to place and remove
//!   cards, inject faults, and unplug/replug the device. The `idcard-sim` binary wraps it.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

use serialport::{SerialPort, TTYPort};

use super::card::{self, CardData, PHOTO_LEN};
use super::command::{BaudRate, Command, Request, Response};
use super::frame::{DecodeError, Decoder, MAX_LEN, RawFrame};
use super::status::Sw3;

/// The SAM id the simulator reports (the example of spec §2.5):
/// `05.01-20101028-0000123456-1234567890`.
pub const SIM_SAM_ID: [u8; 16] = [
    0x05, 0x00, 0x01, 0x00, 0xA4, 0xB7, 0x32, 0x01, 0x40, 0xE2, 0x01, 0x00, 0xD2, 0x02, 0x96, 0x49,
];

/// Photo sent when the card has none: 1024 × 0x00 (as in the golden frame of spec §2.6).
pub const SIM_PHOTO: [u8; PHOTO_LEN] = [0; PHOTO_LEN];

/// The reader's view of the card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimState {
    NoCard,
    /// In the field, not yet found.
    Present,
    Found,
    Selected,
    /// Read: find answers 80 until the card is removed; reads still answer 90.
    Read,
}

/// The protocol logic of a reader, without I/O.
#[derive(Debug)]
pub struct ReaderModel {
    state: SimState,
    card: Option<CardData>,
}

impl Default for ReaderModel {
    fn default() -> Self {
        Self::new()
    }
}

impl ReaderModel {
    pub fn new() -> Self {
        Self {
            state: SimState::NoCard,
            card: None,
        }
    }

    pub fn state(&self) -> SimState {
        self.state
    }

    /// Puts a card into the field (replacing any).
    pub fn place(&mut self, card: CardData) {
        self.card = Some(card);
        self.state = SimState::Present;
    }

    /// Power loss (unplug) or SAM reset: a card in the field must be found again.
    pub fn power_cycle(&mut self) {
        self.state = if self.card.is_some() {
            SimState::Present
        } else {
            SimState::NoCard
        };
    }

    /// Takes the card out of the field.
    pub fn remove(&mut self) {
        self.card = None;
        self.state = SimState::NoCard;
    }

    /// The answer to one decoded (or rejected) host frame.
    pub fn handle(&mut self, item: Result<RawFrame, DecodeError>) -> Response {
        let frame = match item {
            Ok(frame) => frame,
            Err(DecodeError::Checksum { .. }) => return status(Sw3::HostChecksumError),
            Err(DecodeError::Length(_)) => return status(Sw3::HostLengthError),
        };
        let Some(request) = Request::from_frame(&frame) else {
            return status(Sw3::HostLengthError);
        };
        self.answer(&request)
    }

    fn answer(&mut self, r: &Request) -> Response {
        let no_data = r.data.is_empty();
        match (r.cmd, r.para) {
            (0x10, 0xFF) if no_data => {
                self.power_cycle();
                status(Sw3::Success)
            }
            (0x11, 0xFF) if no_data => status(Sw3::Success),
            (0x12, 0xFF) if no_data => Response::new(Sw3::Success, SIM_SAM_ID.to_vec()),
            (0x20, 0x01) if no_data => match self.state {
                SimState::NoCard | SimState::Read => status(Sw3::NoCard),
                SimState::Present | SimState::Found | SimState::Selected => {
                    self.state = SimState::Found;
                    Response::new(Sw3::FindSuccess, vec![0; 4])
                }
            },
            (0x20, 0x02) if no_data => match self.state {
                SimState::Found | SimState::Selected => {
                    self.state = SimState::Selected;
                    Response::new(Sw3::Success, vec![0; 8])
                }
                _ => status(Sw3::SelectFailed),
            },
            (0x30, 0x01) if no_data => self.read(false),
            (0x30, 0x10) if no_data => self.read(true),
            (0x30, 0x03) if no_data => match (&self.state, &self.card) {
                (SimState::Selected | SimState::Read, Some(card)) => {
                    match card.appended_address.as_deref() {
                        None => status(Sw3::NoContent),
                        Some(address) => match card::encode_appended_address(address) {
                            Ok(data) => Response::new(Sw3::Success, data),
                            Err(_) => status(Sw3::ReadFailed),
                        },
                    }
                }
                _ => status(Sw3::ReadFailed),
            },
            (0x60, code) if no_data && BaudRate::from_code(code).is_some() => {
                // Acknowledged; the simulator keeps talking at its own rate.
                status(Sw3::Success)
            }
            (0x61, 0xFF) if r.data.len() == 1 => status(Sw3::Success),
            _ => status(Sw3::CommandError),
        }
    }

    fn read(&mut self, with_fingerprint: bool) -> Response {
        let (SimState::Selected | SimState::Read, Some(card)) = (&self.state, &self.card) else {
            return status(Sw3::ReadFailed);
        };
        let photo: &[u8] = if card.photo_wlt.is_empty() {
            &SIM_PHOTO
        } else {
            &card.photo_wlt
        };
        let data = if with_fingerprint {
            let fp = card.fingerprint.as_deref().unwrap_or(&[]);
            card::encode_text_photo_fingerprint(card, photo, fp)
        } else {
            card::encode_text_photo(card, photo)
        };
        match data {
            Ok(data) if data.len() + 4 > usize::from(MAX_LEN) => {
                tracing::warn!("simulated card does not fit in one frame");
                status(Sw3::InfoLengthError)
            }
            Ok(data) => {
                self.state = SimState::Read;
                Response::new(Sw3::Success, data)
            }
            Err(e) => {
                tracing::warn!(error = %e, "simulated card cannot be encoded");
                status(Sw3::ReadFailed)
            }
        }
    }
}

fn status(sw3: Sw3) -> Response {
    Response::new(sw3, Vec::new())
}

/// Faults the simulator injects into its answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    None,
    /// Writes at random boundaries (1..=64 bytes) with 0–2 ms gaps.
    Fragment,
    /// Random bytes and broken preambles before each frame.
    Garbage,
    /// The CHK byte corrupted.
    BadChecksum,
    /// No answer at all.
    Silence,
    /// Line noise instead of frames, as a host at the wrong baud rate would see.
    WrongBaud,
}

impl FromStr for FaultKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "none" => FaultKind::None,
            "fragment" => FaultKind::Fragment,
            "garbage" => FaultKind::Garbage,
            "badchk" => FaultKind::BadChecksum,
            "silence" => FaultKind::Silence,
            "baud" => FaultKind::WrongBaud,
            other => {
                return Err(format!(
                    "unknown fault '{other}' (none|fragment|garbage|badchk|silence|baud)"
                ));
            }
        })
    }
}

/// A fault, how many answers it affects (`None` = every answer until changed) and,
/// optionally, the only command (CMD PARA) whose answers it affects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    pub count: Option<u32>,
    pub only: Option<[u8; 2]>,
}

impl Fault {
    pub const NONE: Fault = Fault {
        kind: FaultKind::None,
        count: None,
        only: None,
    };

    /// `kind` on every answer.
    pub fn always(kind: FaultKind) -> Self {
        Self {
            kind,
            count: None,
            only: None,
        }
    }

    /// `kind` on the next `count` answers only.
    pub fn times(kind: FaultKind, count: u32) -> Self {
        Self {
            kind,
            count: Some(count),
            only: None,
        }
    }

    /// `kind` on the next `count` answers to `command` only.
    pub fn on_command(kind: FaultKind, count: u32, command: Command) -> Self {
        Self {
            kind,
            count: Some(count),
            only: Some(command.code()),
        }
    }

    fn take(&mut self, request: Option<[u8; 2]>) -> FaultKind {
        if self.only.is_some() && self.only != request {
            return FaultKind::None;
        }
        let kind = self.kind;
        if let Some(count) = self.count.as_mut() {
            *count = count.saturating_sub(1);
            if *count == 0 {
                *self = Fault::NONE;
            }
        }
        kind
    }
}

/// SplitMix64: small, seeded, reproducible.
#[derive(Clone, Debug)]
pub struct SimRng(u64);

impl SimRng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// A byte that is never 0xAA, so noise never forms a preamble.
    pub fn noise_byte(&mut self) -> u8 {
        loop {
            let b = self.next_u64() as u8;
            if b != 0xAA {
                return b;
            }
        }
    }
}

/// Prefixes the garbage fault appends after random noise: none, partial preambles, and whole
/// preambles with out-of-range LEN values.
const GARBAGE_TAILS: [&[u8]; 6] = [
    &[],
    &[0xAA, 0xAA],
    &[0xAA, 0xAA, 0xAA, 0x96],
    &[0xAA, 0xAA, 0xAA, 0x96, 0x00],
    &[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0xFF, 0xFF],
    &[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x01],
];

/// Settings of a [`Simulator`].
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Card in the field at start.
    pub card: Option<CardData>,
    pub fault: Fault,
    pub seed: u64,
    /// Keep a symlink here pointing at the current device end (like `/dev/kiosk/idcard`), so
    /// a driver can reopen one path across unplug/replug.
    pub link: Option<PathBuf>,
    /// Emulate the wire time of this baud rate (a pty transfers instantly).
    pub wire_baud: Option<u32>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            card: None,
            fault: Fault::NONE,
            seed: 1,
            link: None,
            wire_baud: None,
        }
    }
}

/// Errors of the simulator and of card files. Messages never quote card content.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("pseudo-terminal: {0}")]
    Pty(#[from] serialport::Error),
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("card file {path}: invalid JSON at line {line}, column {column}")]
    CardJson {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    #[error("card file {path}: {source}")]
    Card {
        path: PathBuf,
        #[source]
        source: card::CardError,
    },
    #[error("the simulator thread has stopped")]
    Stopped,
}

/// Loads and checks a card file (the JSON form of [`CardData`]).
pub fn load_card(path: &Path) -> Result<CardData, SimError> {
    let text = std::fs::read_to_string(path)?;
    let card: CardData = serde_json::from_str(&text).map_err(|e| SimError::CardJson {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
    })?;
    card.to_text_block().map_err(|source| SimError::Card {
        path: path.to_owned(),
        source,
    })?;
    Ok(card)
}

struct Pty {
    master: TTYPort,
    // Kept open so the master never sees a hang-up while no driver has the device open.
    _slave: TTYPort,
    device: PathBuf,
}

fn open_pty(link: Option<&Path>) -> Result<Pty, SimError> {
    let (mut master, slave) = TTYPort::pair()?;
    master.set_timeout(Duration::from_millis(10))?;
    let device = slave
        .name()
        .map(PathBuf::from)
        .ok_or_else(|| io::Error::other("pty slave has no name"))?;
    if let Some(link) = link {
        let tmp = link.with_extension(format!("tmp{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&device, &tmp)?;
        std::fs::rename(&tmp, link)?;
    }
    Ok(Pty {
        master,
        _slave: slave,
        device,
    })
}

enum Control {
    Place(Box<CardData>),
    Remove,
    SetFault(Fault),
    Unplug,
    Replug,
    State,
    Path,
}

enum Reply {
    Done,
    State(SimState),
    Path(Option<PathBuf>),
    Failed(SimError),
}

type ControlMsg = (Control, Sender<Reply>);

/// A running simulator; dropping it stops the thread and closes the pty (an unplug).
pub struct Simulator {
    ctl: Option<Sender<ControlMsg>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator").finish_non_exhaustive()
    }
}

impl Simulator {
    /// Opens a pty pair and answers on its master in a new thread.
    pub fn spawn(config: SimConfig) -> Result<Self, SimError> {
        let pty = open_pty(config.link.as_deref())?;
        let mut model = ReaderModel::new();
        if let Some(card) = config.card.clone() {
            model.place(card);
        }
        let worker = Worker {
            model,
            pty: Some(pty),
            decoder: Decoder::requests(),
            fault: config.fault,
            rng: SimRng::new(config.seed),
            link: config.link,
            wire_baud: config.wire_baud,
        };
        let (ctl, ctl_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("idcard-sim".into())
            .spawn(move || worker.run(&ctl_rx))?;
        Ok(Self {
            ctl: Some(ctl),
            thread: Some(thread),
        })
    }

    fn call(&self, control: Control) -> Result<Reply, SimError> {
        let (tx, rx) = mpsc::channel();
        self.ctl
            .as_ref()
            .ok_or(SimError::Stopped)?
            .send((control, tx))
            .map_err(|_| SimError::Stopped)?;
        match rx.recv().map_err(|_| SimError::Stopped)? {
            Reply::Failed(e) => Err(e),
            reply => Ok(reply),
        }
    }

    /// The device to open: the link when configured, else the pty's device end (`None` while
    /// unplugged).
    pub fn path(&self) -> Option<PathBuf> {
        match self.call(Control::Path) {
            Ok(Reply::Path(path)) => path,
            _ => None,
        }
    }

    pub fn place(&self, card: CardData) -> Result<(), SimError> {
        self.call(Control::Place(Box::new(card))).map(drop)
    }

    pub fn remove(&self) -> Result<(), SimError> {
        self.call(Control::Remove).map(drop)
    }

    pub fn set_fault(&self, fault: Fault) -> Result<(), SimError> {
        self.call(Control::SetFault(fault)).map(drop)
    }

    /// Closes the pty (the driver sees a hang-up) and removes the link.
    pub fn unplug(&self) -> Result<(), SimError> {
        self.call(Control::Unplug).map(drop)
    }

    /// Opens a new pty and points the link at it.
    pub fn replug(&self) -> Result<(), SimError> {
        self.call(Control::Replug).map(drop)
    }

    pub fn state(&self) -> Result<SimState, SimError> {
        match self.call(Control::State)? {
            Reply::State(state) => Ok(state),
            _ => Err(SimError::Stopped),
        }
    }

    /// Stops the thread, closes the pty and removes the link.
    pub fn stop(&mut self) {
        self.ctl.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("simulator thread panicked");
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Worker {
    model: ReaderModel,
    pty: Option<Pty>,
    decoder: Decoder,
    fault: Fault,
    rng: SimRng,
    link: Option<PathBuf>,
    wire_baud: Option<u32>,
}

impl Worker {
    fn run(mut self, ctl: &Receiver<ControlMsg>) {
        let mut buf = [0u8; 512];
        loop {
            loop {
                match ctl.try_recv() {
                    Ok((control, reply)) => {
                        let _ = reply.send(self.control(control));
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return self.unplug(),
                }
            }
            let Some(pty) = self.pty.as_mut() else {
                match ctl.recv_timeout(Duration::from_millis(10)) {
                    Ok((control, reply)) => {
                        let _ = reply.send(self.control(control));
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return self.unplug(),
                }
                continue;
            };
            match pty.master.read(&mut buf) {
                Ok(n) => self.decoder.push(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
                Err(e) => {
                    tracing::debug!(error = %e, "simulator read failed");
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            while let Some(item) = self.decoder.next_frame() {
                let code = item
                    .as_ref()
                    .ok()
                    .and_then(|frame| frame.body.get(..2))
                    .map(|c| [c[0], c[1]]);
                let response = self.model.handle(item);
                self.send(&response.to_frame(), code);
            }
        }
    }

    fn control(&mut self, control: Control) -> Reply {
        match control {
            Control::Place(card) => self.model.place(*card),
            Control::Remove => self.model.remove(),
            Control::SetFault(fault) => self.fault = fault,
            Control::Unplug => self.unplug(),
            Control::Replug => {
                if self.pty.is_none() {
                    match open_pty(self.link.as_deref()) {
                        Ok(pty) => {
                            self.decoder.reset();
                            self.pty = Some(pty);
                        }
                        Err(e) => return Reply::Failed(e),
                    }
                }
            }
            Control::State => return Reply::State(self.model.state()),
            Control::Path => {
                return Reply::Path(match (&self.link, &self.pty) {
                    (Some(link), _) => Some(link.clone()),
                    (None, Some(pty)) => Some(pty.device.clone()),
                    (None, None) => None,
                });
            }
        }
        Reply::Done
    }

    fn unplug(&mut self) {
        self.pty = None;
        self.model.power_cycle();
        if let Some(link) = &self.link
            && let Err(e) = std::fs::remove_file(link)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(error = %e, "cannot remove the simulator's link");
        }
    }

    fn send(&mut self, frame: &[u8], request: Option<[u8; 2]>) {
        match self.fault.take(request) {
            FaultKind::None => self.write(frame),
            FaultKind::Silence => {}
            FaultKind::BadChecksum => {
                let mut bad = frame.to_vec();
                if let Some(chk) = bad.last_mut() {
                    *chk ^= 0x5A;
                }
                self.write(&bad);
            }
            FaultKind::Garbage => {
                let n = self.rng.range(1, 32) as usize;
                let mut out: Vec<u8> = (0..n).map(|_| self.rng.noise_byte()).collect();
                let tail =
                    GARBAGE_TAILS[self.rng.range(0, GARBAGE_TAILS.len() as u64 - 1) as usize];
                out.extend_from_slice(tail);
                out.extend_from_slice(frame);
                self.write(&out);
            }
            FaultKind::WrongBaud => {
                let noise: Vec<u8> = (0..frame.len()).map(|_| self.rng.noise_byte()).collect();
                self.write(&noise);
            }
            FaultKind::Fragment => {
                let mut rest = frame;
                while !rest.is_empty() {
                    let n = (self.rng.range(1, 64) as usize).min(rest.len());
                    let (chunk, tail) = rest.split_at(n);
                    self.write(chunk);
                    rest = tail;
                    let gap = self.rng.range(0, 2000);
                    std::thread::sleep(Duration::from_micros(gap));
                }
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        let Some(pty) = self.pty.as_mut() else {
            return;
        };
        match self.wire_baud {
            None => write_or_log(&mut pty.master, bytes),
            Some(baud) => {
                // 10 bits per byte (8N1), in 64-byte slices.
                for chunk in bytes.chunks(64) {
                    write_or_log(&mut pty.master, chunk);
                    let micros = chunk.len() as u64 * 10 * 1_000_000 / u64::from(baud.max(1));
                    std::thread::sleep(Duration::from_micros(micros));
                }
            }
        }
    }
}

fn write_or_log(port: &mut TTYPort, bytes: &[u8]) {
    if let Err(e) = port.write_all(bytes) {
        // Nobody reading and the line buffer full: a real line drops the bytes too.
        tracing::debug!(error = %e, "simulator write dropped");
    }
}
