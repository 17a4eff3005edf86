//! The 1-inch white-background ID photo: checks, crop and compression.
//!
//! # Checks
//! Each check has a stable `name` and, when it fails, a plain Chinese message saying what to do.
//! 1. `face_count`: exactly one face. Faces under 40 % of the largest face's height are ignored
//!    (a poster or a passer-by far behind); two faces of similar size fail.
//! 2. `head_size`: the crop (rule below) must fit in the frame (else: too close), and it must
//!    cover at least 80 % of the output height in source pixels, i.e. at most 1.25x upscaling
//!    (else: too far / too small).
//! 3. `centring`: the crop may stick out of the frame by at most 4 % of its size on any side; it
//!    is then shifted inwards. More than that fails with the direction to move.
//! 4. `background`: in the cropped photo, the top strip (5 % of the height) and the side strips
//!    (7 % of the width, upper half) must be at least 90 % white (all channels >= 205, channel
//!    spread <= 30). A near-white backdrop (uniform, light, unsaturated) is whitened first when
//!    [`PhotoOptions::whiten_background`] is set: pixels connected to the top/left/right border
//!    and close to the backdrop colour are lifted to white (soft blend over the last half of the
//!    colour tolerance).
//! 5. `exposure`: on the inner 70 % of the face box, mean luma between 70 and 215, at most 30 %
//!    of pixels at or below luma 25 and at most 10 % at or above 250.
//! 6. `sharpness`: variance of the 4-neighbour Laplacian of the face region's luma, in the
//!    output photo (so always at the same scale), at least [`SHARPNESS_MIN`].
//!
//! # Crop rule (fixed, documented)
//! With the detected face box (SeetaFace: roughly eyebrows to chin, cheek to cheek) of height
//! `f`, the photo frame has height `f / 0.36` (the face box is 36 % of the photo's height) and
//! the output's aspect ratio; the face box is centred horizontally and its centre lies at 48 %
//! of the height from the top. For 295x413 that puts the face box at about 149 px high, from
//! y ≈ 124 to y ≈ 273 (30 % to 66 %): eyes near 44 % from the top, the top of the hair near
//! 10-15 %, the head about 60-75 % of the width, shoulders at the bottom, like a studio 1-inch
//! photo (the 358x441 ID-card standard asks for a head width of 207 ± 14 px, i.e. 58 %, and
//! the eye line above 53 %).

use image::imageops::FilterType;
use image::{Rgb, RgbImage};
use serde::Serialize;
use tracing::debug;

use crate::compress::{Limits, compress};
use crate::decode::decode;
use crate::error::{MediaError, Result};
use crate::face::{FaceBox, detect_faces};
use crate::metrics::{laplacian_variance, luma_u8};

/// Minimum Laplacian variance of the face region (see the module docs). On the astronaut
/// fixture the sharp photo measures ~200, a Gaussian blur of σ 1.2 px ~31 and σ 1.6 px ~17.
pub const SHARPNESS_MIN: f64 = 25.0;
/// Minimum white fraction of the border strips.
pub const WHITE_FRACTION_MIN: f64 = 0.90;

/// Options of [`process_photo`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhotoOptions {
    /// Output width in pixels.
    pub width: u32,
    /// Output height in pixels.
    pub height: u32,
    /// Byte and size limits of the output JPEG.
    pub limits: Limits,
    /// Lift a near-white backdrop to white.
    pub whiten_background: bool,
    /// Face box height as a fraction of the photo height.
    pub face_height_ratio: f64,
    /// Face box centre, as a fraction of the photo height from the top.
    pub face_centre_y: f64,
}

impl Default for PhotoOptions {
    /// 295x413, 10,240 < bytes <= 20,000, whitening on.
    fn default() -> Self {
        PhotoOptions {
            width: 295,
            height: 413,
            limits: Limits::photo(),
            whiten_background: true,
            face_height_ratio: 0.36,
            face_centre_y: 0.48,
        }
    }
}

impl PhotoOptions {
    /// The ID-card standard 358x441 preset.
    pub fn id_card_358x441() -> Self {
        PhotoOptions {
            width: 358,
            height: 441,
            limits: Limits::photo_358x441(),
            ..PhotoOptions::default()
        }
    }

    fn validate(&self) -> Result<()> {
        if self.width < self.limits.min_width || self.height < self.limits.min_height {
            return Err(MediaError::InvalidOptions(format!(
                "photo size {}x{} is below the minimum {}x{}",
                self.width, self.height, self.limits.min_width, self.limits.min_height
            )));
        }
        if !(0.1..=0.8).contains(&self.face_height_ratio)
            || !(0.2..=0.8).contains(&self.face_centre_y)
        {
            return Err(MediaError::InvalidOptions("crop rule out of range".into()));
        }
        Ok(())
    }
}

/// One check's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    /// Plain Chinese: what was found and, when it failed, what to do.
    pub message: String,
}

impl Check {
    fn new(name: &str, passed: bool, message: &str) -> Self {
        Check {
            name: name.to_owned(),
            passed,
            message: message.to_owned(),
        }
    }
}

/// Numbers behind the checks (no personal data), for logs and tuning.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PhotoMeasurements {
    pub face_count: usize,
    /// The face box in the input image.
    pub face: Option<FaceBox>,
    /// Height of the crop in input pixels.
    pub crop_height: f64,
    pub white_fraction: f64,
    pub white_fraction_after_whitening: Option<f64>,
    pub face_mean_luma: f64,
    pub face_dark_fraction: f64,
    pub face_bright_fraction: f64,
    pub sharpness: f64,
}

/// The outcome of [`process_photo`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhotoReport {
    /// All checks passed and a JPEG was produced.
    pub ok: bool,
    /// Size of the JPEG in bytes (0 when not ok).
    pub bytes: usize,
    pub width: u32,
    pub height: u32,
    pub quality: u8,
    pub checks: Vec<Check>,
    pub background_whitened: bool,
    pub measurements: PhotoMeasurements,
}

/// Checks a photo and, when every check passes, crops and compresses it.
///
/// Returns `Ok((jpeg, report))`. When `report.ok` is false the JPEG is **empty** and the failed
/// checks' messages tell the applicant what to change. Errors are for undecodable input and for
/// a photo that cannot be brought into the byte range.
pub fn process_photo(input: &[u8], opts: &PhotoOptions) -> Result<(Vec<u8>, PhotoReport)> {
    process_photo_image(&decode(input)?.image, opts)
}

/// [`process_photo`] on an image already in memory (a camera frame).
pub fn process_photo_image(img: &RgbImage, opts: &PhotoOptions) -> Result<(Vec<u8>, PhotoReport)> {
    opts.validate()?;
    let (w, h) = img.dimensions();
    if w < 100 || h < 100 {
        return Err(MediaError::TooSmall {
            width: w,
            height: h,
            min_width: opts.width,
            min_height: opts.height,
        });
    }
    let analysis = analyze_photo(img, opts)?;
    let mut report = PhotoReport {
        ok: false,
        bytes: 0,
        width: 0,
        height: 0,
        quality: 0,
        checks: analysis.checks,
        background_whitened: analysis.whitened,
        measurements: analysis.measurements,
    };
    let all_passed = report.checks.iter().all(|c| c.passed);
    let Some(crop) = analysis.photo.filter(|_| all_passed) else {
        debug!(checks = ?report.checks, "photo rejected");
        return Ok((Vec::new(), report));
    };
    let enc = compress(&crop, &opts.limits)?;
    report.ok = true;
    report.bytes = enc.bytes.len();
    report.width = enc.width;
    report.height = enc.height;
    report.quality = enc.quality;
    debug!(
        bytes = report.bytes,
        quality = report.quality,
        "photo accepted"
    );
    Ok((enc.bytes, report))
}

/// What [`analyze_photo`] found.
#[derive(Clone, Debug)]
pub struct PhotoAnalysis {
    pub checks: Vec<Check>,
    pub measurements: PhotoMeasurements,
    pub whitened: bool,
    /// The cropped, resized (and possibly whitened) photo, when a single face was found.
    pub photo: Option<RgbImage>,
}

/// Runs the checks and builds the cropped photo without compressing it.
pub fn analyze_photo(img: &RgbImage, opts: &PhotoOptions) -> Result<PhotoAnalysis> {
    let mut m = PhotoMeasurements::default();
    let mut checks = Vec::new();
    let faces = detect_faces(img)?;
    let largest = faces.first().map_or(0.0, |f| f.height);
    let significant: Vec<FaceBox> = faces
        .into_iter()
        .filter(|f| f.height >= 0.4 * largest)
        .collect();
    m.face_count = significant.len();
    let face = match significant.as_slice() {
        [] => {
            checks.push(Check::new("face_count", false, "未检测到人脸，请正对镜头"));
            return Ok(no_photo(checks, m));
        }
        [one] => {
            checks.push(Check::new("face_count", true, "检测到一张人脸"));
            *one
        }
        _ => {
            checks.push(Check::new(
                "face_count",
                false,
                "检测到多张人脸，请只让申请人入镜",
            ));
            return Ok(no_photo(checks, m));
        }
    };
    m.face = Some(face);

    // Crop rule.
    let (iw, ih) = (f64::from(img.width()), f64::from(img.height()));
    let (ow, oh) = (f64::from(opts.width), f64::from(opts.height));
    let mut ch = face.height / opts.face_height_ratio;
    let mut cw = ch * ow / oh;
    m.crop_height = ch;
    let too_close = ch > ih * 1.02 || cw > iw * 1.02;
    let too_far = ch < oh * 0.8;
    checks.push(if too_close {
        Check::new("head_size", false, "离镜头太近，头部太大，请稍微后退一点")
    } else if too_far {
        Check::new("head_size", false, "离镜头太远，头部太小，请靠近镜头一点")
    } else {
        Check::new("head_size", true, "头部大小合适")
    });
    if too_close {
        // Measure the rest on the largest crop that fits.
        let s = (ih / ch).min(iw / cw);
        ch *= s;
        cw *= s;
    }
    let x0 = face.centre_x() - cw / 2.0;
    let y0 = face.centre_y() - opts.face_centre_y * ch;
    let (tol_x, tol_y) = (0.04 * cw, 0.04 * ch);
    let centring = if x0 < -tol_x {
        Check::new("centring", false, "人像偏向画面左侧，请移到画面正中间")
    } else if x0 + cw > iw + tol_x {
        Check::new("centring", false, "人像偏向画面右侧，请移到画面正中间")
    } else if y0 < -tol_y {
        Check::new(
            "centring",
            false,
            "头部太靠上，请把座椅调低一点或身体稍微往下",
        )
    } else if y0 + ch > ih + tol_y {
        Check::new("centring", false, "头部太靠下，请坐直或把座椅调高一点")
    } else {
        Check::new("centring", true, "人像位置居中")
    };
    checks.push(centring);
    let x0 = x0.clamp(0.0, (iw - cw).max(0.0));
    let y0 = y0.clamp(0.0, (ih - ch).max(0.0));
    let (rx, ry) = (x0.round() as u32, y0.round() as u32);
    let rw = (cw.round() as u32).clamp(1, img.width() - rx.min(img.width() - 1));
    let rh = (ch.round() as u32).clamp(1, img.height() - ry.min(img.height() - 1));
    let region = crate::ops::crop(img, rx, ry, rw, rh);
    let mut photo = crate::ops::resize(&region, opts.width, opts.height, FilterType::Lanczos3);

    // Background.
    let white = white_fraction(&photo);
    m.white_fraction = white;
    let mut whitened = false;
    let background = if white >= WHITE_FRACTION_MIN {
        Check::new("background", true, "背景为白色")
    } else if opts.whiten_background && whiten_near_white(&mut photo) {
        let after = white_fraction(&photo);
        m.white_fraction_after_whitening = Some(after);
        if after >= WHITE_FRACTION_MIN {
            whitened = true;
            Check::new("background", true, "背景接近白色，已自动调整为白色")
        } else {
            Check::new("background", false, "背景不是白色，请在白色背景布前拍摄")
        }
    } else {
        Check::new("background", false, "背景不是白色，请在白色背景布前拍摄")
    };
    checks.push(background);

    // Face region in the output photo.
    let s = oh / ch;
    let fx = (face.x - x0) * s;
    let fy = (face.y - y0) * s;
    let (fw, fh) = (face.width * s, face.height * s);
    let face_rect = |shrink: f64| -> (u32, u32, u32, u32) {
        let (dx, dy) = (fw * (1.0 - shrink) / 2.0, fh * (1.0 - shrink) / 2.0);
        let x = (fx + dx).clamp(0.0, ow - 2.0) as u32;
        let y = (fy + dy).clamp(0.0, oh - 2.0) as u32;
        let w = ((fw * shrink) as u32).clamp(2, opts.width - x);
        let h = ((fh * shrink) as u32).clamp(2, opts.height - y);
        (x, y, w, h)
    };

    // Exposure on the inner 70 % of the face box (of the photo before whitening would be more
    // exact, but whitening only touches backdrop-coloured pixels connected to the border).
    let (ex, ey, ew, eh) = face_rect(0.7);
    let inner = crate::ops::crop(&photo, ex, ey, ew, eh);
    let l = luma_u8(&inner);
    let n = l.len().max(1) as f64;
    m.face_mean_luma = l.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    m.face_dark_fraction = l.iter().filter(|&&v| v <= 25).count() as f64 / n;
    m.face_bright_fraction = l.iter().filter(|&&v| v >= 250).count() as f64 / n;
    checks.push(if m.face_mean_luma < 70.0 || m.face_dark_fraction > 0.30 {
        Check::new(
            "exposure",
            false,
            "光线太暗，脸部看不清，请打开补光灯或调亮灯光后重拍",
        )
    } else if m.face_mean_luma > 215.0 || m.face_bright_fraction > 0.10 {
        Check::new(
            "exposure",
            false,
            "脸部曝光过度（发白），请避开强光或调暗补光灯后重拍",
        )
    } else {
        Check::new("exposure", true, "亮度合适")
    });

    // Sharpness on the whole face box.
    let (sx, sy, sw, sh) = face_rect(1.0);
    let face_img = crate::ops::crop(&photo, sx, sy, sw, sh);
    m.sharpness = laplacian_variance(&luma_u8(&face_img), sw as usize, sh as usize);
    checks.push(if m.sharpness >= SHARPNESS_MIN {
        Check::new("sharpness", true, "照片清晰")
    } else {
        Check::new("sharpness", false, "照片不清晰，请保持不动、正对镜头后重拍")
    });

    debug!(measurements = ?m, whitened, "photo analysed");
    Ok(PhotoAnalysis {
        checks,
        measurements: m,
        whitened,
        photo: Some(photo),
    })
}

fn no_photo(checks: Vec<Check>, measurements: PhotoMeasurements) -> PhotoAnalysis {
    PhotoAnalysis {
        checks,
        measurements,
        whitened: false,
        photo: None,
    }
}

fn is_white(p: &Rgb<u8>) -> bool {
    let [r, g, b] = p.0;
    let mn = r.min(g).min(b);
    let mx = r.max(g).max(b);
    mn >= 205 && mx - mn <= 30
}

/// Pixels of the border strips: the top 5 % and the outer 7 % of each side in the upper half.
fn strip_pixels(img: &RgbImage) -> Vec<Rgb<u8>> {
    let (w, h) = img.dimensions();
    let top = (h * 5 / 100).max(1);
    let side = (w * 7 / 100).max(1);
    let mut out = Vec::new();
    for y in 0..h / 2 {
        for x in 0..w {
            if y < top || x < side || x >= w - side {
                out.push(*img.get_pixel(x, y));
            }
        }
    }
    out
}

/// Fraction of white pixels in the border strips.
pub fn white_fraction(img: &RgbImage) -> f64 {
    let px = strip_pixels(img);
    if px.is_empty() {
        return 0.0;
    }
    px.iter().filter(|p| is_white(p)).count() as f64 / px.len() as f64
}

fn max_channel_diff(a: [u8; 3], b: [u8; 3]) -> u8 {
    (0..3).map(|c| a[c].abs_diff(b[c])).max().unwrap_or(0)
}

/// Lifts a near-white backdrop to white. Returns false (and leaves the image alone) when the
/// strips are not a uniform, light, unsaturated backdrop.
fn whiten_near_white(img: &mut RgbImage) -> bool {
    let px = strip_pixels(img);
    if px.is_empty() {
        return false;
    }
    let mut bg = [0u8; 3];
    for (c, v) in bg.iter_mut().enumerate() {
        let mut ch: Vec<u8> = px.iter().map(|p| p.0[c]).collect();
        ch.sort_unstable();
        *v = ch[ch.len() / 2];
    }
    let luma = (299 * u32::from(bg[0]) + 587 * u32::from(bg[1]) + 114 * u32::from(bg[2])) / 1000;
    let spread = bg.iter().max().copied().unwrap_or(0) - bg.iter().min().copied().unwrap_or(0);
    const TOL: u8 = 40;
    let uniform = px
        .iter()
        .filter(|p| max_channel_diff(p.0, bg) <= TOL)
        .count() as f64
        / px.len() as f64;
    debug!(?bg, luma, spread, uniform, "backdrop estimate");
    if luma < 150 || spread > 30 || uniform < 0.85 {
        return false;
    }
    // Flood from the top, left and right borders through backdrop-coloured pixels.
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut seen = vec![false; w * h];
    let mut stack = Vec::new();
    let close = |p: &Rgb<u8>| max_channel_diff(p.0, bg) <= TOL;
    for x in 0..w {
        stack.push(x);
    }
    for y in 0..h {
        stack.push(y * w);
        stack.push(y * w + w - 1);
    }
    let data_w = w;
    while let Some(i) = stack.pop() {
        if seen[i] {
            continue;
        }
        let (x, y) = ((i % data_w) as u32, (i / data_w) as u32);
        if !close(img.get_pixel(x, y)) {
            continue;
        }
        seen[i] = true;
        if x > 0 {
            stack.push(i - 1);
        }
        if (x as usize) + 1 < w {
            stack.push(i + 1);
        }
        if y > 0 {
            stack.push(i - w);
        }
        if (y as usize) + 1 < h {
            stack.push(i + w);
        }
    }
    for (i, p) in img.pixels_mut().enumerate() {
        if !seen[i] {
            continue;
        }
        let d = f64::from(max_channel_diff(p.0, bg));
        let half = f64::from(TOL) / 2.0;
        let alpha = if d <= half {
            1.0
        } else {
            (f64::from(TOL) - d) / half
        };
        for c in 0..3 {
            let v = f64::from(p.0[c]);
            p.0[c] = (v + alpha * (255.0 - v)).round().clamp(0.0, 255.0) as u8;
        }
    }
    true
}
