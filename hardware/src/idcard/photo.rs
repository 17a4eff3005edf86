//! The card photo: 1024 bytes of the proprietary "WLT" format (spec §2.3). Decoders exist only
//! as closed vendor libraries, so decoding sits behind [`PhotoDecoder`]; none ships here.

/// Width of a decoded card photo.
pub const PHOTO_WIDTH: u32 = 102;
/// Height of a decoded card photo.
pub const PHOTO_HEIGHT: u32 = 126;

/// A decoded photo: 24-bit BGR, rows top-down, no padding (`width * height * 3` bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct BgrImage {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for BgrImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BgrImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// Why a photo could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("no ID card photo decoder is installed (WLT decoders are closed vendor libraries)")]
    Unavailable,
    #[error("photo data is {0} bytes, expected 1024")]
    InvalidLength(usize),
    #[error("photo decoder failed: {0}")]
    Decoder(String),
}

impl PhotoError {
    /// Plain Chinese message.
    pub fn zh(&self) -> &'static str {
        match self {
            PhotoError::Unavailable => "本机未安装身份证照片解码组件，无法显示证件照片",
            PhotoError::InvalidLength(_) | PhotoError::Decoder(_) => "证件照片解码失败",
        }
    }
}

/// Turns the WLT bytes of [`crate::idcard::CardData::photo_wlt`] into an image. On the kiosk an
/// implementation wraps the licensed vendor library (FFI); flip bottom-up rows if it returns
/// them that way.
pub trait PhotoDecoder: Send + Sync {
    fn decode(&self, wlt: &[u8]) -> Result<BgrImage, PhotoError>;
}

/// The decoder used when no vendor library is configured: always [`PhotoError::Unavailable`].
#[derive(Clone, Copy, Debug, Default)]
pub struct UnavailablePhotoDecoder;

impl PhotoDecoder for UnavailablePhotoDecoder {
    fn decode(&self, wlt: &[u8]) -> Result<BgrImage, PhotoError> {
        if wlt.len() != crate::idcard::card::PHOTO_LEN {
            return Err(PhotoError::InvalidLength(wlt.len()));
        }
        Err(PhotoError::Unavailable)
    }
}
