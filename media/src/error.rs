//! One error type for the whole image pipeline.
//!
//! Every variant has an English message (`Display` / [`MediaError::en`]), a plain Chinese message
//! for the applicant that says what to do ([`MediaError::zh`]) and a stable machine code
//! ([`MediaError::code`]) for the UI and the CLI. None of them carries personal data.

use kiosk_domain::Message;
use thiserror::Error;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, MediaError>;

/// Everything that can go wrong between the bytes of a file and a compressed JPEG.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum MediaError {
    /// The input has no bytes at all.
    #[error("the file is empty")]
    Empty,

    /// The input file is larger than the configured byte limit (checked before decoding).
    #[error("the file is {bytes} bytes, more than the limit of {limit} bytes")]
    InputTooLarge { bytes: usize, limit: usize },

    /// Neither PNG nor JPEG.
    #[error("unsupported file format ({found}); only JPEG and PNG are accepted")]
    UnsupportedFormat { found: &'static str },

    /// The header announces dimensions above the limits; nothing was allocated for the pixels.
    #[error(
        "image dimensions {width}x{height} exceed the limit ({max_width}x{max_height}, {max_pixels} pixels)"
    )]
    DimensionsTooLarge {
        width: u32,
        height: u32,
        max_width: u32,
        max_height: u32,
        max_pixels: u64,
    },

    /// The image is smaller than the use requires (or has a zero dimension).
    #[error("image is {width}x{height}, at least {min_width}x{min_height} is required")]
    TooSmall {
        width: u32,
        height: u32,
        min_width: u32,
        min_height: u32,
    },

    /// The file ends before the image data does.
    #[error("the file is truncated")]
    Truncated,

    /// The file is damaged in a way the decoder cannot recover from.
    #[error("the file is corrupt: {detail}")]
    Corrupt { detail: String },

    /// Animated PNG (APNG): refused, because it is not clear which frame the reviewer would see.
    #[error("animated PNG (APNG) is not accepted")]
    AnimatedPng,

    /// A colour format the pipeline does not handle.
    #[error("unsupported colour format: {detail}")]
    UnsupportedColor { detail: String },

    /// The decoder needed more memory than allowed.
    #[error("decoding would need more memory than allowed")]
    MemoryLimit,

    /// Even the highest quality (and 4:4:4 chroma) stays at or below the byte floor.
    /// The file is never padded to reach the floor.
    #[error(
        "even at quality 100 the JPEG has only {best_bytes} bytes; more than {min_bytes} bytes are required"
    )]
    BelowMinimumSize { best_bytes: usize, min_bytes: usize },

    /// Even the lowest quality at the smallest allowed size is above the byte limit.
    #[error(
        "cannot compress under {max_bytes} bytes: {smallest_bytes} bytes at quality 1 and {width}x{height}, the smallest allowed size"
    )]
    CannotFit {
        max_bytes: usize,
        smallest_bytes: usize,
        width: u32,
        height: u32,
    },

    /// The JPEG encoder reported an error.
    #[error("JPEG encoding failed: {0}")]
    Encode(String),

    /// The four corners of a page were not found.
    #[error("the page's four corners were not found")]
    PageNotFound,

    /// Corners given by the user are unusable.
    #[error("invalid corners: {reason}")]
    InvalidCorners { reason: String },

    /// A camera frame buffer does not match its declared format and size.
    #[error("invalid camera frame: {detail}")]
    InvalidFrame { detail: String },

    /// The bundled face model could not be loaded, or the detector failed.
    #[error("face detector failed: {0}")]
    FaceDetector(String),

    /// Options that cannot work together (a programming or configuration error).
    #[error("invalid options: {0}")]
    InvalidOptions(String),
}

impl MediaError {
    /// English message (same as `Display`).
    pub fn en(&self) -> String {
        self.to_string()
    }

    /// Plain Chinese message for the applicant, saying what to do next.
    pub fn zh(&self) -> String {
        self.message().text(kiosk_domain::Lang::Zh)
    }

    /// What the applicant is told, as a key of the kiosk's text catalogue with its arguments.
    pub fn message(&self) -> Message {
        match self {
            MediaError::Empty => Message::new("文件是空的，请重新拍摄或重新选择文件。"),
            MediaError::InputTooLarge { bytes, limit } => Message::with(
                "文件太大（{0} MB），最大 {1} MB，请换一个文件或重新拍摄。",
                &[&format!("{:.1}", mb(*bytes)), &format!("{:.1}", mb(*limit))],
            ),
            MediaError::UnsupportedFormat { found } => Message::with(
                "不支持这种文件格式（{0}），请上传 JPG 或 PNG 图片。",
                &[found],
            ),
            MediaError::DimensionsTooLarge {
                width,
                height,
                max_width,
                max_height,
                ..
            } => Message::with(
                "图片尺寸过大（{0}×{1} 像素，最大 {2}×{3}），请缩小后重新上传或直接用本机拍摄。",
                &[width, height, max_width, max_height],
            ),
            MediaError::TooSmall {
                width,
                height,
                min_width,
                min_height,
            } => Message::with(
                "图片尺寸太小（{0}×{1} 像素，至少 {2}×{3}），请重新拍摄或上传更清晰的图片。",
                &[width, height, min_width, min_height],
            ),
            MediaError::Truncated => {
                Message::new("图片文件不完整（可能拷贝或下载时中断了），请重新拍摄或重新上传。")
            }
            MediaError::Corrupt { .. } => {
                Message::new("图片文件已损坏，无法打开，请重新拍摄或重新上传。")
            }
            MediaError::AnimatedPng => {
                Message::new("不支持动态图片（APNG），请上传静态的 JPG 或 PNG 图片。")
            }
            MediaError::UnsupportedColor { .. } => {
                Message::new("图片的颜色格式不受支持，请另存为普通的 JPG（RGB 彩色）后重新上传。")
            }
            MediaError::MemoryLimit => {
                Message::new("图片太大，本机无法处理，请缩小后重新上传或直接用本机拍摄。")
            }
            MediaError::BelowMinimumSize { min_bytes, .. } => Message::with(
                "照片画面过于单一，压缩后达不到 {0} KB 以上的要求，请重新拍摄（确认人像清晰完整）。",
                &[&format!("{:.1}", kb(*min_bytes))],
            ),
            MediaError::CannotFit { max_bytes, .. } => Message::with(
                "图片内容过于复杂，无法压缩到 {0} KB 以内，请重新拍摄（避免杂乱背景）。",
                &[&format!("{:.0}", kb(*max_bytes))],
            ),
            MediaError::Encode(_) => Message::new("图片压缩失败，请重试；多次失败请联系工作人员。"),
            MediaError::PageNotFound => Message::new(
                "没有找到材料的四个角。请把材料平放在深色台面中央、四角都露出来，或在屏幕上手动拖动四个角。",
            ),
            MediaError::InvalidCorners { .. } => {
                Message::new("所选的四个角不正确，请拖动四个角对准材料的边缘后重试。")
            }
            MediaError::InvalidFrame { .. } => {
                Message::new("摄像头画面异常，请稍候重试；多次出现请联系工作人员。")
            }
            MediaError::FaceDetector(_) => {
                Message::new("人脸检测出现故障，请重试；多次出现请联系工作人员。")
            }
            MediaError::InvalidOptions(_) => Message::new("参数设置有误，请联系工作人员。"),
        }
    }

    /// Stable machine-readable code (snake case) for the UI and the CLI.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::Empty => "empty",
            MediaError::InputTooLarge { .. } => "input_too_large",
            MediaError::UnsupportedFormat { .. } => "unsupported_format",
            MediaError::DimensionsTooLarge { .. } => "dimensions_too_large",
            MediaError::TooSmall { .. } => "too_small",
            MediaError::Truncated => "truncated",
            MediaError::Corrupt { .. } => "corrupt",
            MediaError::AnimatedPng => "animated_png",
            MediaError::UnsupportedColor { .. } => "unsupported_color",
            MediaError::MemoryLimit => "memory_limit",
            MediaError::BelowMinimumSize { .. } => "below_minimum_size",
            MediaError::CannotFit { .. } => "cannot_fit",
            MediaError::Encode(_) => "encode",
            MediaError::PageNotFound => "page_not_found",
            MediaError::InvalidCorners { .. } => "invalid_corners",
            MediaError::InvalidFrame { .. } => "invalid_frame",
            MediaError::FaceDetector(_) => "face_detector",
            MediaError::InvalidOptions(_) => "invalid_options",
        }
    }
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1_000_000.0
}

fn kb(bytes: usize) -> f64 {
    bytes as f64 / 1_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_non_empty_and_chinese() {
        let all = [
            MediaError::Empty,
            MediaError::InputTooLarge { bytes: 5, limit: 1 },
            MediaError::UnsupportedFormat { found: "GIF" },
            MediaError::DimensionsTooLarge {
                width: 60_000,
                height: 60_000,
                max_width: 10_000,
                max_height: 10_000,
                max_pixels: 1,
            },
            MediaError::TooSmall {
                width: 1,
                height: 1,
                min_width: 2,
                min_height: 2,
            },
            MediaError::Truncated,
            MediaError::Corrupt { detail: "x".into() },
            MediaError::AnimatedPng,
            MediaError::UnsupportedColor { detail: "x".into() },
            MediaError::MemoryLimit,
            MediaError::BelowMinimumSize {
                best_bytes: 1,
                min_bytes: 10_240,
            },
            MediaError::CannotFit {
                max_bytes: 1,
                smallest_bytes: 2,
                width: 3,
                height: 4,
            },
            MediaError::Encode("x".into()),
            MediaError::PageNotFound,
            MediaError::InvalidCorners { reason: "x".into() },
            MediaError::InvalidFrame { detail: "x".into() },
            MediaError::FaceDetector("x".into()),
            MediaError::InvalidOptions("x".into()),
        ];
        let mut codes = std::collections::HashSet::new();
        for e in &all {
            assert!(!e.en().is_empty());
            assert!(
                e.zh()
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
            );
            assert!(codes.insert(e.code()), "duplicate code {}", e.code());
        }
    }
}
