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

const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

fn read_input(path: &Path) -> Result<Vec<u8>, Outcome> {
    let fail = |message: String| Outcome {
        report: json!({ "ok": false, "error": "input", "message": message }),
        success: false,
    };
    let len = std::fs::metadata(path)
        .map_err(|e| fail(format!("无法读取文件 {}：{e}", path.display())))?
        .len();
    if len > MAX_INPUT_BYTES {
        return Err(fail(format!(
            "文件过大（{len} 字节），超过 {MAX_INPUT_BYTES} 字节的上限"
        )));
    }
    std::fs::read(path).map_err(|e| fail(format!("无法读取文件 {}：{e}", path.display())))
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
