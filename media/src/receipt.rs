//! The printed receipt: its text and QR code drawn into a 1-bit raster as wide as a thermal
//! printer's head (576 dots: 72 mm at 203 dpi on 80 mm paper). Chinese is printed as an image,
//! not with the printer's own GB18030 font (which varies between printers); the same raster is
//! what the A4 fallback prints.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use kiosk_domain::receipt::ReceiptText;
use thiserror::Error;

/// Dots across an 80 mm thermal printer's head at 203 dpi.
pub const THERMAL_WIDTH: u32 = 576;
/// Debian's fonts-noto-cjk, face 2 of the collection: Noto Sans CJK SC.
pub const SYSTEM_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
const SIMPLIFIED_CHINESE_FACE: u32 = 2;

const MARGIN: u32 = 12;
const TITLE_PX: f32 = 40.0;
/// About 3.5 mm tall at 203 dpi: readable without glasses.
const BODY_PX: f32 = 28.0;
const LINE_GAP: f32 = 1.35;
/// Dots per QR module: a phone reads 0.75 mm modules from a hand's length away.
const QR_MODULE: u32 = 6;

#[derive(Debug, Error)]
pub enum ReceiptError {
    #[error("the receipt's font {path} cannot be read: {source}")]
    FontMissing {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the receipt's font {0} is not a font this kiosk reads")]
    FontInvalid(PathBuf),
    #[error("the status address does not fit a QR code: {0}")]
    Qr(String),
}

/// One page of dots, row after row; `true` is black.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raster {
    pub width: u32,
    pub height: u32,
    pub dots: Vec<bool>,
}

impl Raster {
    pub fn new(width: u32, height: u32) -> Raster {
        Raster {
            width,
            height,
            dots: vec![false; (width * height) as usize],
        }
    }

    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.height && self.dots[(y * self.width + x) as usize]
    }

    fn set(&mut self, x: u32, y: u32) {
        if x < self.width && y < self.height {
            self.dots[(y * self.width + x) as usize] = true;
        }
    }

    /// The rows packed eight dots to a byte, the first dot in the high bit, each row padded to
    /// whole bytes: the layout of ESC/POS raster images and of PBM files.
    pub fn packed_rows(&self) -> Vec<u8> {
        let stride = self.width.div_ceil(8) as usize;
        let mut out = vec![0u8; stride * self.height as usize];
        for y in 0..self.height {
            for x in 0..self.width {
                if self.get(x, y) {
                    out[y as usize * stride + (x / 8) as usize] |= 0x80 >> (x % 8);
                }
            }
        }
        out
    }

    /// Rebuilds a raster from packed rows (what a printer received).
    pub fn from_packed_rows(width: u32, height: u32, bytes: &[u8]) -> Option<Raster> {
        let stride = width.div_ceil(8) as usize;
        if bytes.len() != stride * height as usize {
            return None;
        }
        let mut raster = Raster::new(width, height);
        for y in 0..height {
            for x in 0..width {
                if bytes[y as usize * stride + (x / 8) as usize] & (0x80 >> (x % 8)) != 0 {
                    raster.set(x, y);
                }
            }
        }
        Some(raster)
    }

    /// Black on white, for a screen preview or a PNG.
    pub fn to_gray(&self) -> image::GrayImage {
        image::GrayImage::from_fn(self.width, self.height, |x, y| {
            image::Luma([if self.get(x, y) { 0 } else { 255 }])
        })
    }

    /// The same raster below `self`.
    fn append(&mut self, other: &Raster) {
        debug_assert_eq!(
            self.width, other.width,
            "rasters of one page are as wide as the page"
        );
        self.dots.extend_from_slice(&other.dots);
        self.height += other.height;
    }
}

/// The font the receipt is drawn with.
pub struct ReceiptFont {
    font: FontVec,
}

impl ReceiptFont {
    /// Debian's Noto Sans CJK SC.
    pub fn system() -> Result<ReceiptFont, ReceiptError> {
        ReceiptFont::load(Path::new(SYSTEM_FONT), SIMPLIFIED_CHINESE_FACE)
    }

    /// Face `index` of a font file (0 for a single font, the face of a collection).
    pub fn load(path: &Path, index: u32) -> Result<ReceiptFont, ReceiptError> {
        let data = std::fs::read(path).map_err(|source| ReceiptError::FontMissing {
            path: path.to_owned(),
            source,
        })?;
        let font = FontVec::try_from_vec_and_index(data, index)
            .map_err(|_| ReceiptError::FontInvalid(path.to_owned()))?;
        Ok(ReceiptFont { font })
    }

    /// `text` broken into lines no wider than `width` dots: at a space for words of Latin
    /// letters, between any two characters for Chinese.
    fn wrap(&self, text: &str, px: f32, width: f32) -> Vec<String> {
        let scaled = self.font.as_scaled(PxScale::from(px));
        let advance = |c: char| scaled.h_advance(self.font.glyph_id(c));
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            let mut line_width = 0.0;
            // A paragraph keeps its indent; a line it wraps onto starts at its first word.
            let mut wrapped = false;
            for c in paragraph.chars() {
                let w = advance(c);
                if line_width + w > width && !line.is_empty() {
                    let break_at = line
                        .rfind(' ')
                        .filter(|_| c.is_ascii() && c != ' ')
                        .filter(|&i| i > 0);
                    match break_at {
                        Some(i) => {
                            let rest = line.split_off(i + 1);
                            lines.push(line.trim_end().to_owned());
                            line = rest;
                        }
                        None => lines.push(std::mem::take(&mut line)),
                    }
                    line_width = line.chars().map(advance).sum();
                    wrapped = true;
                }
                if line.is_empty() && c == ' ' && wrapped {
                    continue;
                }
                line.push(c);
                line_width += w;
            }
            lines.push(line);
        }
        lines
    }

    /// Lines of text at `px`, each `px * LINE_GAP` tall, from the left margin.
    fn draw(&self, text: &str, px: f32, width: u32) -> Raster {
        let usable = (width - 2 * MARGIN) as f32;
        let lines = self.wrap(text, px, usable);
        let line_height = (px * LINE_GAP).ceil() as u32;
        let mut raster = Raster::new(width, line_height * lines.len() as u32);
        let scale = PxScale::from(px);
        let scaled = self.font.as_scaled(scale);
        for (row, line) in lines.iter().enumerate() {
            let baseline = row as f32 * line_height as f32 + scaled.ascent();
            let mut x = MARGIN as f32;
            for c in line.chars() {
                let id = self.font.glyph_id(c);
                let glyph = id.with_scale_and_position(scale, ab_glyph::point(x, baseline));
                x += scaled.h_advance(id);
                let Some(outline) = self.font.outline_glyph(glyph) else {
                    continue;
                };
                let bounds = outline.px_bounds();
                outline.draw(|gx, gy, coverage| {
                    // Thermal dots are on or off: half covered is on.
                    if coverage >= 0.5 {
                        let px = bounds.min.x as i64 + i64::from(gx);
                        let py = bounds.min.y as i64 + i64::from(gy);
                        if px >= 0 && py >= 0 {
                            raster.set(px as u32, py as u32);
                        }
                    }
                });
            }
        }
        raster
    }
}

/// A QR code of `data`, centred on a raster `width` wide (at least the code's own width), with
/// its quiet zone, `module` dots to a module.
pub fn qr(data: &str, width: u32, module: u32) -> Result<Raster, ReceiptError> {
    let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ReceiptError::Qr(e.to_string()))?;
    let modules = code.width() as u32;
    let colors = code.to_colors();
    let quiet = 4;
    let side = (modules + 2 * quiet) * module;
    let width = width.max(side);
    let left = (width - side) / 2;
    let mut raster = Raster::new(width, side);
    for my in 0..modules {
        for mx in 0..modules {
            if colors[(my * modules + mx) as usize] == qrcode::Color::Dark {
                for dy in 0..module {
                    for dx in 0..module {
                        raster.set(
                            left + (quiet + mx) * module + dx,
                            (quiet + my) * module + dy,
                        );
                    }
                }
            }
        }
    }
    Ok(raster)
}

/// The QR code at the largest module size up to `QR_MODULE` that fits `width`.
fn qr_fitting(data: &str, width: u32) -> Result<Raster, ReceiptError> {
    for module in (1..=QR_MODULE).rev() {
        let raster = qr(data, width, module)?;
        if raster.width == width {
            return Ok(raster);
        }
    }
    Err(ReceiptError::Qr(format!(
        "a page {width} dots wide is too narrow"
    )))
}

/// The whole receipt, `width` dots wide: title, lines, QR code, footer.
pub fn render(text: &ReceiptText, font: &ReceiptFont, width: u32) -> Result<Raster, ReceiptError> {
    let mut page = Raster::new(width, MARGIN);
    page.append(&font.draw(&text.title, TITLE_PX, width));
    page.append(&Raster::new(width, MARGIN));
    page.append(&font.draw(&text.lines.join("\n"), BODY_PX, width));
    if let Some(url) = &text.qr {
        page.append(&qr_fitting(url, width)?);
    }
    page.append(&font.draw(&text.footer, BODY_PX, width));
    page.append(&Raster::new(width, 3 * MARGIN));
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ReceiptText {
        ReceiptText {
            title: "会计人员信息采集回执".into(),
            lines: vec![
                "回执编号：0123-4567-89AB-CDEF-GHJK".into(),
                "姓名：王*明".into(),
                "接下来：所属财政部门将审核您提交的信息。审核结果可扫描下方二维码查看，也可以回到本机登录查看。".into(),
            ],
            qr: Some("https://central.example/s/0123456789ABCDEFGHJK".into()),
            footer: "扫码查看审核状态".into(),
        }
    }

    #[test]
    fn the_qr_code_on_the_receipt_reads_back_to_the_status_address() {
        let font = ReceiptFont::system().expect("fonts-noto-cjk is installed");
        let raster = render(&sample(), &font, THERMAL_WIDTH).expect("rendered");
        assert_eq!(raster.width, THERMAL_WIDTH);
        if let Ok(dir) = std::env::var("RECEIPT_PNG_DIR") {
            raster
                .to_gray()
                .save(std::path::Path::new(&dir).join("receipt-sample.png"))
                .expect("png");
        }
        let mut prepared = rqrr::PreparedImage::prepare(raster.to_gray());
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().expect("decodes");
        assert_eq!(content, "https://central.example/s/0123456789ABCDEFGHJK");
    }

    #[test]
    fn text_is_drawn_within_the_margins_and_long_lines_wrap() {
        let font = ReceiptFont::system().expect("font");
        let raster = render(&sample(), &font, THERMAL_WIDTH).expect("rendered");
        let black = raster.dots.iter().filter(|&&d| d).count();
        assert!(black > 10_000, "{black} black dots");
        for y in 0..raster.height {
            for x in (0..MARGIN - 2).chain(THERMAL_WIDTH - MARGIN + 2..THERMAL_WIDTH) {
                assert!(!raster.get(x, y), "ink in the margin at {x},{y}");
            }
        }
        let lines = font.wrap(
            &sample().lines[2],
            BODY_PX,
            (THERMAL_WIDTH - 2 * MARGIN) as f32,
        );
        assert!(lines.len() >= 2, "{lines:?}");
        assert_eq!(lines.concat(), sample().lines[2]);
        let english = font.wrap("Scan the QR code below to see the result", BODY_PX, 200.0);
        assert!(
            english
                .iter()
                .all(|l| !l.starts_with(' ') && !l.ends_with(' ')),
            "{english:?}"
        );
        assert!(english.iter().any(|l| l.contains("QR")), "{english:?}");
    }

    #[test]
    fn packed_rows_round_trip() {
        let font = ReceiptFont::system().expect("font");
        let raster = render(&sample(), &font, 100).expect("rendered");
        let back = Raster::from_packed_rows(100, raster.height, &raster.packed_rows());
        assert_eq!(back.as_ref(), Some(&raster));
        assert!(Raster::from_packed_rows(100, raster.height, &[0; 3]).is_none());
    }

    #[test]
    fn a_missing_font_is_a_clear_error() {
        assert!(matches!(
            ReceiptFont::load(Path::new("/nonexistent.ttc"), 0),
            Err(ReceiptError::FontMissing { .. })
        ));
    }
}
