//! `kiosk media photo|doc|compress`: the capture pipeline on files, for hall IT and benchmarks.
//! Each prints one JSON report; a failed check or unusable input exits non-zero.

use std::path::Path;

use kiosk_media::{DocKind, MediaError, PhotoOptions};
use serde_json::{Value, json};

/// What a command printed and how it ends.
pub struct Outcome {
    pub report: Value,
    pub success: bool,
}

/// Largest input file read, whatever it claims to hold.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("无法读取文件 {path}：{source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("文件过大（{len} 字节），超过 {MAX_INPUT_BYTES} 字节的上限")]
    TooLarge { len: u64 },
}

/// Reads an image file, refusing one over [`MAX_INPUT_BYTES`] before reading it.
pub fn read_limited(path: &Path) -> Result<Vec<u8>, InputError> {
    let failed = |source| InputError::Read {
        path: path.display().to_string(),
        source,
    };
    let len = std::fs::metadata(path).map_err(failed)?.len();
    if len > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge { len });
    }
    std::fs::read(path).map_err(failed)
}

fn read_input(path: &Path) -> Result<Vec<u8>, Outcome> {
    read_limited(path).map_err(|e| Outcome {
        report: json!({ "ok": false, "error": "input", "message": e.to_string() }),
        success: false,
    })
}

fn media_failure(e: &MediaError) -> Outcome {
    Outcome {
        report: json!({ "ok": false, "error": e.code(), "message": e.zh(), "message_en": e.en() }),
        success: false,
    }
}

fn write_output(path: &Path, bytes: &[u8]) -> Result<(), Outcome> {
    std::fs::write(path, bytes).map_err(|e| Outcome {
        report: json!({ "ok": false, "error": "output", "message": format!("无法写入 {}：{e}", path.display()) }),
        success: false,
    })
}

fn run(f: impl FnOnce() -> Result<Outcome, Outcome>) -> Outcome {
    f().unwrap_or_else(|failure| failure)
}

/// Checks, crops and compresses an ID photo. Exit status 1 when a check fails.
pub fn photo(input: &Path, output: &Path, options: &PhotoOptions) -> Outcome {
    run(|| {
        let bytes = read_input(input)?;
        let (jpeg, report) =
            kiosk_media::process_photo(&bytes, options).map_err(|e| media_failure(&e))?;
        if report.ok {
            write_output(output, &jpeg)?;
        }
        let report_json = serde_json::to_value(&report).unwrap_or(Value::Null);
        Ok(Outcome {
            success: report.ok,
            report: report_json,
        })
    })
}

/// Deskews, crops and compresses a certificate photo.
pub fn document(input: &Path, output: &Path, kind: DocKind) -> Outcome {
    run(|| {
        let bytes = read_input(input)?;
        let (jpeg, report) =
            kiosk_media::process_document(&bytes, kind, None).map_err(|e| media_failure(&e))?;
        write_output(output, &jpeg)?;
        let mut report = serde_json::to_value(&report).unwrap_or(Value::Null);
        if let Some(obj) = report.as_object_mut() {
            obj.insert("ok".into(), true.into());
        }
        Ok(Outcome {
            report,
            success: true,
        })
    })
}

/// Fits an image into a byte range.
pub fn compress(
    input: &Path,
    output: &Path,
    max_bytes: usize,
    min_bytes: Option<usize>,
) -> Outcome {
    run(|| {
        let bytes = read_input(input)?;
        let (jpeg, report) = kiosk_media::compress_file(&bytes, max_bytes, min_bytes)
            .map_err(|e| media_failure(&e))?;
        write_output(output, &jpeg)?;
        Ok(Outcome {
            report: json!({ "ok": true, "bytes": report.bytes, "quality": report.quality, "width": report.width, "height": report.height }),
            success: true,
        })
    })
}
