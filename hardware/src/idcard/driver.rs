//! Synchronous driver of one reader on a serial port (spec §8): flush RX, send, decode the
//! answer as a stream within a per-command timeout, retry once on checksum or timeout errors,
//! decide on SW3.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serialport::{ClearBuffer, DataBits, FlowControl, Parity, SerialPort, StopBits};

use super::card::{self, CardData, CardError};
use super::command::{BaudRate, Command, Response, format_sam_id};
use super::frame::{DecodeError, Decoder};
use super::status::Sw3;

/// Where the kiosk's udev rule links the reader.
pub const DEFAULT_DEVICE_PATH: &str = "/dev/kiosk/idcard";
/// The reader's factory UART rate.
pub const DEFAULT_BAUD_RATE: u32 = 115_200;

/// How the poller tells "read card still in the field" from "card removed" once find answers
/// 80 after a successful read (spec §1 "Card lifecycle"; confirm on hardware).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresenceProbe {
    /// Send `30 03`: 90/91 means the card is still selected (`EPRSampleDemoDlg.cpp`). Cheap.
    AppendedAddress,
    /// Send `30 01` and expect 90 (YinanSoft reads regardless). Costs ~112 ms of wire time.
    ReadText,
}

/// Settings of the driver and of the polling loop.
#[derive(Clone, Debug)]
pub struct ReaderConfig {
    pub path: PathBuf,
    pub baud_rate: u32,
    /// Find card (`20 01`).
    pub find_timeout: Duration,
    /// Select card (`20 02`).
    pub select_timeout: Duration,
    /// Read text+photo(+fingerprint) (`30 01` / `30 10`).
    pub read_timeout: Duration,
    /// Reset, status, SAM id, appended address, set-baud, set-RF.
    pub aux_timeout: Duration,
    /// Extra attempts after a checksum or timeout error (spec: one).
    pub retries: u32,
    /// Use `30 10` instead of `30 01`.
    pub read_fingerprint: bool,
    /// Send `30 03` after a read and fill [`CardData::appended_address`].
    pub read_appended_address: bool,
    /// Polling loop: pause between two polls.
    pub poll_interval: Duration,
    /// Polling loop: pause between two attempts to open a missing reader.
    pub reopen_interval: Duration,
    /// Polling loop: consecutive failed polls (timeouts, garbage, bad status) after which the
    /// reader counts as disconnected and the port is reopened.
    pub unresponsive_after: u32,
    /// Polling loop: read attempts per card placement before waiting for its removal.
    pub max_read_attempts: u32,
    pub presence_probe: PresenceProbe,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from(DEFAULT_DEVICE_PATH),
            baud_rate: DEFAULT_BAUD_RATE,
            find_timeout: Duration::from_millis(300),
            select_timeout: Duration::from_millis(300),
            read_timeout: Duration::from_secs(3),
            aux_timeout: Duration::from_millis(1500),
            retries: 1,
            read_fingerprint: false,
            read_appended_address: true,
            poll_interval: Duration::from_millis(300),
            reopen_interval: Duration::from_secs(1),
            unresponsive_after: 3,
            max_read_attempts: 3,
            presence_probe: PresenceProbe::AppendedAddress,
        }
    }
}

impl ReaderConfig {
    /// Defaults with another device path.
    pub fn with_path(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            ..Self::default()
        }
    }

    fn timeout_for(&self, command: Command) -> Duration {
        match command {
            Command::FindCard => self.find_timeout,
            Command::SelectCard => self.select_timeout,
            Command::ReadTextPhoto | Command::ReadTextPhotoFingerprint => self.read_timeout,
            _ => self.aux_timeout,
        }
    }
}

/// Errors of the reader. Messages carry command names and status codes, never card data.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    #[error("cannot open the ID card reader at {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: serialport::Error,
    },
    #[error("the ID card reader is disconnected: {0}")]
    Disconnected(#[source] io::Error),
    #[error("{command}: no answer from the ID card reader within {timeout:?}")]
    Timeout {
        command: &'static str,
        timeout: Duration,
    },
    #[error(
        "{command}: the reader sent {bytes} bytes without a valid frame (wrong baud rate or line noise?)"
    )]
    Garbled { command: &'static str, bytes: usize },
    #[error("{command}: checksum error in the reader's answer")]
    Checksum { command: &'static str },
    #[error("{command}: {sw3}")]
    Status { command: &'static str, sw3: Sw3 },
    #[error("{command}: unexpected answer: {detail}")]
    Protocol {
        command: &'static str,
        detail: &'static str,
    },
    #[error("card data: {0}")]
    Card(#[from] CardError),
}

impl ReaderError {
    /// The driver retries these once (spec §8: checksum or timeout errors only; SW3 10/11 are
    /// the reader reporting a corrupted request).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ReaderError::Timeout { .. }
                | ReaderError::Garbled { .. }
                | ReaderError::Checksum { .. }
                | ReaderError::Status {
                    sw3: Sw3::HostChecksumError | Sw3::HostLengthError,
                    ..
                }
        )
    }

    /// The port is gone or cannot be opened: the poller reports `ReaderDisconnected`.
    pub fn is_disconnect(&self) -> bool {
        matches!(
            self,
            ReaderError::Open { .. } | ReaderError::Disconnected(_)
        )
    }

    /// Plain Chinese message for the screen.
    pub fn zh(&self) -> &'static str {
        match self {
            ReaderError::Open { .. } | ReaderError::Disconnected(_) => "读卡器未连接",
            ReaderError::Timeout { .. } => "读卡器无响应，请重新放置身份证",
            ReaderError::Garbled { .. } => "读卡器通信异常，请联系工作人员",
            ReaderError::Checksum { .. } => "读卡数据校验错误，请重新放置身份证",
            ReaderError::Status { sw3, .. } => sw3.zh(),
            ReaderError::Protocol { .. } => "读卡器返回数据异常，请重新放置身份证",
            ReaderError::Card(e) => e.zh(),
        }
    }
}

/// One reader on one open serial port.
pub struct IdCardReader {
    port: Box<dyn SerialPort>,
    decoder: Decoder,
    config: ReaderConfig,
}

impl std::fmt::Debug for IdCardReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdCardReader")
            .field("path", &self.config.path)
            .finish_non_exhaustive()
    }
}

impl IdCardReader {
    /// Opens `config.path` at `config.baud_rate`, 8N1, no flow control, exclusively.
    pub fn open(config: &ReaderConfig) -> Result<Self, ReaderError> {
        let path = config.path.to_string_lossy().into_owned();
        let port = serialport::new(path, config.baud_rate)
            .data_bits(DataBits::Eight)
            .parity(Parity::None)
            .stop_bits(StopBits::One)
            .flow_control(FlowControl::None)
            .timeout(config.aux_timeout)
            .open()
            .map_err(|source| ReaderError::Open {
                path: config.path.clone(),
                source,
            })?;
        tracing::debug!(path = %config.path.display(), "ID card reader port opened");
        Ok(Self::from_port(port, config.clone()))
    }

    /// Wraps an already open port.
    pub fn from_port(port: Box<dyn SerialPort>, config: ReaderConfig) -> Self {
        Self {
            port,
            decoder: Decoder::responses(),
            config,
        }
    }

    pub fn config(&self) -> &ReaderConfig {
        &self.config
    }

    /// Sends `command` and returns the reader's answer whatever its SW3, retrying once (per
    /// `config.retries`) on checksum errors, timeouts and SW3 10/11.
    pub fn transact(&mut self, command: Command) -> Result<Response, ReaderError> {
        let timeout = self.config.timeout_for(command);
        let mut attempt = 0;
        loop {
            match self.transact_once(command, timeout) {
                Err(e) if e.is_retryable() && attempt < self.config.retries => {
                    attempt += 1;
                    tracing::debug!(command = command.name(), error = %e, "retrying");
                }
                other => return other,
            }
        }
    }

    fn transact_once(
        &mut self,
        command: Command,
        timeout: Duration,
    ) -> Result<Response, ReaderError> {
        let name = command.name();
        self.port
            .clear(ClearBuffer::Input)
            .map_err(|e| ReaderError::Disconnected(e.into()))?;
        self.decoder.reset();
        self.port
            .set_timeout(timeout)
            .map_err(|e| ReaderError::Disconnected(e.into()))?;
        let frame = command.to_frame();
        self.port.write_all(&frame).map_err(|e| {
            if e.kind() == io::ErrorKind::TimedOut {
                ReaderError::Timeout {
                    command: name,
                    timeout,
                }
            } else {
                ReaderError::Disconnected(e)
            }
        })?;
        let deadline = Instant::now() + timeout;
        let mut received = 0usize;
        let mut bad_checksum = false;
        let mut buf = [0u8; 512];
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(if bad_checksum {
                    ReaderError::Checksum { command: name }
                } else if received == 0 {
                    ReaderError::Timeout {
                        command: name,
                        timeout,
                    }
                } else {
                    ReaderError::Garbled {
                        command: name,
                        bytes: received,
                    }
                });
            }
            self.port
                .set_timeout(deadline - now)
                .map_err(|e| ReaderError::Disconnected(e.into()))?;
            match self.port.read(&mut buf) {
                Ok(0) => {
                    return Err(ReaderError::Disconnected(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "end of file on the serial port",
                    )));
                }
                Ok(n) => {
                    received += n;
                    self.decoder.push(&buf[..n]);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                            | io::ErrorKind::WouldBlock
                    ) => {}
                Err(e) => return Err(ReaderError::Disconnected(e)),
            }
            while let Some(item) = self.decoder.next_frame() {
                match item {
                    Ok(frame) => {
                        let Some(response) = Response::from_frame(&frame) else {
                            continue;
                        };
                        tracing::trace!(
                            command = name,
                            sw1 = response.sw1,
                            sw2 = response.sw2,
                            sw3 = response.sw3.byte(),
                            len = response.data.len(),
                            "reader answered"
                        );
                        if matches!(response.sw3, Sw3::HostChecksumError | Sw3::HostLengthError) {
                            return Err(ReaderError::Status {
                                command: name,
                                sw3: response.sw3,
                            });
                        }
                        return Ok(response);
                    }
                    Err(DecodeError::Checksum { .. }) => bad_checksum = true,
                    // A fake or corrupted header: the decoder has already resynchronised.
                    Err(DecodeError::Length(_)) => {}
                }
            }
            // A corrupted frame and nothing behind it: fail now (and retry) rather than wait
            // for the deadline. A fake header may have swallowed the start of the real frame,
            // so keep reading while another frame is in progress.
            if bad_checksum && !self.decoder.frame_in_progress() {
                return Err(ReaderError::Checksum { command: name });
            }
        }
    }

    fn expect_status(&mut self, command: Command, ok: Sw3) -> Result<Response, ReaderError> {
        let response = self.transact(command)?;
        if response.sw3 == ok {
            Ok(response)
        } else {
            Err(ReaderError::Status {
                command: command.name(),
                sw3: response.sw3,
            })
        }
    }

    /// `10 FF`: resets the SAM.
    pub fn reset_sam(&mut self) -> Result<(), ReaderError> {
        self.expect_status(Command::ResetSam, Sw3::Success)
            .map(drop)
    }

    /// `11 FF`: Ok when the SAM reports 90; SW3 60 (self-test failed) becomes an error.
    pub fn sam_status(&mut self) -> Result<(), ReaderError> {
        self.expect_status(Command::SamStatus, Sw3::Success)
            .map(drop)
    }

    /// `12 FF`: the SAM's id, formatted as in spec §2.5.
    pub fn sam_id(&mut self) -> Result<String, ReaderError> {
        let response = self.expect_status(Command::ReadSamId, Sw3::Success)?;
        format_sam_id(&response.data).ok_or(ReaderError::Protocol {
            command: Command::ReadSamId.name(),
            detail: "SAM id is not 16 bytes",
        })
    }

    /// `20 01`: true on 9F, false on 80 (no card — or a read card still selected).
    pub fn find_card(&mut self) -> Result<bool, ReaderError> {
        let response = self.transact(Command::FindCard)?;
        match response.sw3 {
            Sw3::FindSuccess => Ok(true),
            Sw3::NoCard => Ok(false),
            sw3 => Err(ReaderError::Status {
                command: Command::FindCard.name(),
                sw3,
            }),
        }
    }

    /// `20 02`: Ok on 90.
    pub fn select_card(&mut self) -> Result<(), ReaderError> {
        self.expect_status(Command::SelectCard, Sw3::Success)
            .map(drop)
    }

    /// `30 01`: text and photo of the selected card.
    pub fn read_text_photo(&mut self) -> Result<CardData, ReaderError> {
        let response = self.expect_status(Command::ReadTextPhoto, Sw3::Success)?;
        Ok(card::parse_text_photo(&response.data)?)
    }

    /// `30 10`: text, photo and fingerprint of the selected card.
    pub fn read_text_photo_fingerprint(&mut self) -> Result<CardData, ReaderError> {
        let response = self.expect_status(Command::ReadTextPhotoFingerprint, Sw3::Success)?;
        Ok(card::parse_text_photo_fingerprint(&response.data)?)
    }

    /// `30 03`: the appended address; `None` on 91 (normal: most cards have none).
    pub fn read_appended_address(&mut self) -> Result<Option<String>, ReaderError> {
        let response = self.transact(Command::ReadAppendedAddress)?;
        match response.sw3 {
            Sw3::Success => Ok(Some(card::parse_appended_address(&response.data))),
            Sw3::NoContent => Ok(None),
            sw3 => Err(ReaderError::Status {
                command: Command::ReadAppendedAddress.name(),
                sw3,
            }),
        }
    }

    /// `60 xx`: switches the reader's UART (single-source command; the port itself is not
    /// reconfigured: reopen with the new rate).
    pub fn set_baud(&mut self, rate: BaudRate) -> Result<(), ReaderError> {
        self.expect_status(Command::SetBaud(rate), Sw3::Success)
            .map(drop)
    }

    /// `61 FF nn`: sets the maximum RF frame size (single-source command).
    pub fn set_max_rf_bytes(&mut self, bytes: u8) -> Result<(), ReaderError> {
        self.expect_status(Command::SetMaxRfBytes(bytes), Sw3::Success)
            .map(drop)
    }

    /// Reads the selected card: `30 01` (or `30 10`), then `30 03` when configured. A failing
    /// appended-address read is logged and ignored unless the reader disconnected.
    pub fn read_selected(&mut self) -> Result<CardData, ReaderError> {
        let mut card = if self.config.read_fingerprint {
            self.read_text_photo_fingerprint()?
        } else {
            self.read_text_photo()?
        };
        if self.config.read_appended_address {
            match self.read_appended_address() {
                Ok(address) => card.appended_address = address,
                Err(e) if e.is_disconnect() => return Err(e),
                Err(e) => tracing::warn!(error = %e, "appended address not read"),
            }
        }
        Ok(card)
    }

    /// The whole sequence: find → select → read. `Ok(None)` when find answers 80.
    pub fn read_card(&mut self) -> Result<Option<CardData>, ReaderError> {
        if !self.find_card()? {
            return Ok(None);
        }
        self.select_card()?;
        self.read_selected().map(Some)
    }

    /// After a successful read, find answers 80 while the card stays in the field. This asks
    /// the reader whether the card is still selected (see [`PresenceProbe`]).
    pub fn probe_still_selected(&mut self) -> Result<bool, ReaderError> {
        match self.config.presence_probe {
            PresenceProbe::AppendedAddress => {
                let response = self.transact(Command::ReadAppendedAddress)?;
                Ok(matches!(response.sw3, Sw3::Success | Sw3::NoContent))
            }
            PresenceProbe::ReadText => {
                let response = self.transact(Command::ReadTextPhoto)?;
                Ok(response.sw3 == Sw3::Success)
            }
        }
    }
}
