//! Host → reader commands (spec §1, command table) and reader responses.

use super::frame::{RawFrame, encode_frame};
use super::status::Sw3;

/// Reset the SAM: `10 FF`.
pub const CMD_RESET_SAM: [u8; 2] = [0x10, 0xFF];
/// SAM self-test status: `11 FF`.
pub const CMD_SAM_STATUS: [u8; 2] = [0x11, 0xFF];
/// Read the SAM's management id (16 bytes): `12 FF`.
pub const CMD_READ_SAM_ID: [u8; 2] = [0x12, 0xFF];
/// Find a card in the field: `20 01`.
pub const CMD_FIND_CARD: [u8; 2] = [0x20, 0x01];
/// Select the found card: `20 02`.
pub const CMD_SELECT_CARD: [u8; 2] = [0x20, 0x02];
/// Read text + photo: `30 01`.
pub const CMD_READ_TEXT_PHOTO: [u8; 2] = [0x30, 0x01];
/// Read the appended address (追加住址): `30 03`. SW3 91 means "none".
pub const CMD_READ_APPENDED_ADDRESS: [u8; 2] = [0x30, 0x03];
/// Read text + photo + fingerprint: `30 10`.
pub const CMD_READ_TEXT_PHOTO_FP: [u8; 2] = [0x30, 0x10];

/// Set the UART baud rate: CMD `60`, PARA = baud code. **Single source (softs.im) — verify on
/// hardware before use.**
pub const CMD_SET_BAUD: u8 = 0x60;
/// Baud codes of [`CMD_SET_BAUD`], in PARA order 00..=04. Single source, see above.
pub const SET_BAUD_CODES: [(u8, u32); 5] = [
    (0x00, 115_200),
    (0x01, 57_600),
    (0x02, 38_400),
    (0x03, 19_200),
    (0x04, 9_600),
];

/// Set the maximum RF frame size: `61 FF` + 1 data byte. **Single source (hevz) — verify on
/// hardware before use.**
pub const CMD_SET_MAX_RF_BYTES: [u8; 2] = [0x61, 0xFF];
/// The value hevz sends with [`CMD_SET_MAX_RF_BYTES`] (0x50 = 80 bytes).
pub const DEFAULT_MAX_RF_BYTES: u8 = 0x50;

/// UART rates the reader can be switched to with [`Command::SetBaud`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaudRate {
    B115200,
    B57600,
    B38400,
    B19200,
    B9600,
}

impl BaudRate {
    /// PARA byte of the set-baud command (see [`SET_BAUD_CODES`]).
    pub fn code(self) -> u8 {
        match self {
            BaudRate::B115200 => SET_BAUD_CODES[0].0,
            BaudRate::B57600 => SET_BAUD_CODES[1].0,
            BaudRate::B38400 => SET_BAUD_CODES[2].0,
            BaudRate::B19200 => SET_BAUD_CODES[3].0,
            BaudRate::B9600 => SET_BAUD_CODES[4].0,
        }
    }

    /// Bits per second.
    pub fn bits_per_second(self) -> u32 {
        let code = self.code();
        SET_BAUD_CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(115_200, |(_, bps)| *bps)
    }

    /// The rate a set-baud PARA byte selects.
    pub fn from_code(code: u8) -> Option<Self> {
        [
            BaudRate::B115200,
            BaudRate::B57600,
            BaudRate::B38400,
            BaudRate::B19200,
            BaudRate::B9600,
        ]
        .into_iter()
        .find(|b| b.code() == code)
    }
}

/// Every command of the spec's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    ResetSam,
    SamStatus,
    ReadSamId,
    FindCard,
    SelectCard,
    ReadTextPhoto,
    ReadTextPhotoFingerprint,
    ReadAppendedAddress,
    SetBaud(BaudRate),
    SetMaxRfBytes(u8),
}

impl Command {
    /// CMD and PARA bytes.
    pub fn code(self) -> [u8; 2] {
        match self {
            Command::ResetSam => CMD_RESET_SAM,
            Command::SamStatus => CMD_SAM_STATUS,
            Command::ReadSamId => CMD_READ_SAM_ID,
            Command::FindCard => CMD_FIND_CARD,
            Command::SelectCard => CMD_SELECT_CARD,
            Command::ReadTextPhoto => CMD_READ_TEXT_PHOTO,
            Command::ReadTextPhotoFingerprint => CMD_READ_TEXT_PHOTO_FP,
            Command::ReadAppendedAddress => CMD_READ_APPENDED_ADDRESS,
            Command::SetBaud(rate) => [CMD_SET_BAUD, rate.code()],
            Command::SetMaxRfBytes(_) => CMD_SET_MAX_RF_BYTES,
        }
    }

    /// Short name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Command::ResetSam => "reset-sam",
            Command::SamStatus => "sam-status",
            Command::ReadSamId => "read-sam-id",
            Command::FindCard => "find-card",
            Command::SelectCard => "select-card",
            Command::ReadTextPhoto => "read-text-photo",
            Command::ReadTextPhotoFingerprint => "read-text-photo-fp",
            Command::ReadAppendedAddress => "read-appended-address",
            Command::SetBaud(_) => "set-baud",
            Command::SetMaxRfBytes(_) => "set-max-rf-bytes",
        }
    }

    /// The complete request frame.
    pub fn to_frame(self) -> Vec<u8> {
        let [cmd, para] = self.code();
        match self {
            Command::SetMaxRfBytes(n) => encode_frame(&[cmd, para, n]),
            _ => encode_frame(&[cmd, para]),
        }
    }
}

/// A decoded host request (what the simulator receives).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub cmd: u8,
    pub para: u8,
    pub data: Vec<u8>,
}

impl Request {
    /// Splits a verified frame body; `None` if it is shorter than CMD PARA.
    pub fn from_frame(frame: &RawFrame) -> Option<Self> {
        match frame.body.as_slice() {
            [cmd, para, data @ ..] => Some(Self {
                cmd: *cmd,
                para: *para,
                data: data.to_vec(),
            }),
            _ => None,
        }
    }
}

/// A decoded reader response.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub sw1: u8,
    pub sw2: u8,
    pub sw3: Sw3,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Response {
    // `data` may hold card text: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("sw1", &format_args!("{:#04x}", self.sw1))
            .field("sw2", &format_args!("{:#04x}", self.sw2))
            .field("sw3", &self.sw3)
            .field("data_len", &self.data.len())
            .finish()
    }
}

impl Response {
    /// Splits a verified frame body; `None` if it is shorter than SW1 SW2 SW3.
    pub fn from_frame(frame: &RawFrame) -> Option<Self> {
        match frame.body.as_slice() {
            [sw1, sw2, sw3, data @ ..] => Some(Self {
                sw1: *sw1,
                sw2: *sw2,
                sw3: Sw3::from_byte(*sw3),
                data: data.to_vec(),
            }),
            _ => None,
        }
    }

    /// Builds the response frame (simulator side).
    pub fn to_frame(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(3 + self.data.len());
        body.extend_from_slice(&[self.sw1, self.sw2, self.sw3.byte()]);
        body.extend_from_slice(&self.data);
        encode_frame(&body)
    }

    /// A response with SW1 = SW2 = 0.
    pub fn new(sw3: Sw3, data: Vec<u8>) -> Self {
        Self {
            sw1: 0,
            sw2: 0,
            sw3,
            data,
        }
    }
}

/// Formats the 16-byte SAM id (spec §2.5): `%02d.%02d-%u-%010u-%010u` from d\[0\], d\[2\] and the
/// little-endian u32 at 4, 8 and 12. `None` unless exactly 16 bytes.
pub fn format_sam_id(d: &[u8]) -> Option<String> {
    let d: &[u8; 16] = d.try_into().ok()?;
    let le = |i: usize| u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
    Some(format!(
        "{:02}.{:02}-{}-{:010}-{:010}",
        d[0],
        d[2],
        le(4),
        le(8),
        le(12)
    ))
}
