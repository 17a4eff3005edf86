//! A still from a camera → the checked, compressed file of one material, or what to do instead.

use kiosk_domain::catalog::MaterialKind;
use kiosk_domain::{MaterialLimits, Message};
use kiosk_media::{
    DocKind, Limits, MediaError, PhotoOptions, Point, RgbImage, process_document_image,
    process_photo_image,
};

/// What became of a still.
#[derive(Debug)]
pub enum Outcome {
    /// The file to store, and how it looks (for the applicant to confirm).
    Accepted {
        jpeg: Vec<u8>,
        width: u32,
        height: u32,
        shown: super::feed::RgbaFrame,
    },
    /// The photo failed its checks: what to change, one catalogue key per failed check.
    Rejected { advice: Vec<String> },
    /// No page was found: the applicant places the corners on the still (its size is given).
    PlaceCorners {
        width: u32,
        height: u32,
        suggested: [Point; 4],
    },
    /// Anything else, said plainly.
    Failed(Message),
}

/// How the material is rectified.
pub fn doc_kind(kind: MaterialKind) -> DocKind {
    match kind {
        MaterialKind::IdCardFront | MaterialKind::IdCardBack => DocKind::Card,
        _ => DocKind::A4,
    }
}

/// The photo rules of the configured limits.
pub fn photo_options(limits: &MaterialLimits) -> PhotoOptions {
    let base = if limits.photo_min_width >= 358 && limits.photo_min_height >= 441 {
        PhotoOptions::id_card_358x441()
    } else {
        PhotoOptions::default()
    };
    PhotoOptions {
        width: limits.photo_min_width.max(base.width),
        height: limits.photo_min_height.max(base.height),
        limits: Limits {
            min_bytes: Some(limits.photo_min_bytes_exclusive as usize + 1),
            max_bytes: limits.photo_max_bytes as usize,
            min_width: limits.photo_min_width,
            min_height: limits.photo_min_height,
            ..base.limits
        },
        ..base
    }
}

fn shown(jpeg: &[u8]) -> Result<super::feed::RgbaFrame, MediaError> {
    let img = kiosk_media::decode::decode(jpeg)?.image;
    Ok(super::feed::RgbaFrame::from_rgb(&img))
}

fn failed(e: &MediaError) -> Outcome {
    tracing::warn!(error = %e.en(), "processing a capture failed");
    Outcome::Failed(e.message())
}

/// A corner guess for the applicant to drag: the middle 80 % of the still.
fn suggested_corners(width: u32, height: u32) -> [Point; 4] {
    let (w, h) = (f64::from(width), f64::from(height));
    let (l, r, t, b) = (w * 0.1, w * 0.9, h * 0.1, h * 0.9);
    [
        Point::new(l, t),
        Point::new(r, t),
        Point::new(r, b),
        Point::new(l, b),
    ]
}

/// Runs the photo checks, or finds and straightens the page (with `corners` when the applicant
/// placed them), and compresses to the material's limit.
pub fn process(
    kind: MaterialKind,
    still: &RgbImage,
    corners: Option<[Point; 4]>,
    limits: &MaterialLimits,
) -> Outcome {
    let result = if kind == MaterialKind::Photo {
        match process_photo_image(still, &photo_options(limits)) {
            Ok((_, report)) if !report.ok => {
                return Outcome::Rejected {
                    advice: report
                        .checks
                        .iter()
                        .filter(|c| !c.passed)
                        .map(|c| c.message.clone())
                        .collect(),
                };
            }
            Ok((jpeg, report)) => Ok((jpeg, report.width, report.height)),
            Err(e) => Err(e),
        }
    } else {
        match process_document_image(still, doc_kind(kind), corners) {
            Ok((jpeg, report)) if report.bytes as u64 <= limits.other_max_bytes => {
                Ok((jpeg, report.width, report.height))
            }
            Ok((_, report)) => Err(MediaError::CannotFit {
                max_bytes: limits.other_max_bytes as usize,
                smallest_bytes: report.bytes,
                width: report.width,
                height: report.height,
            }),
            Err(MediaError::PageNotFound) => {
                return Outcome::PlaceCorners {
                    width: still.width(),
                    height: still.height(),
                    suggested: suggested_corners(still.width(), still.height()),
                };
            }
            Err(e) => Err(e),
        }
    };
    match result.and_then(|(jpeg, width, height)| Ok((shown(&jpeg)?, jpeg, width, height))) {
        Ok((shown, jpeg, width, height)) => Outcome::Accepted {
            jpeg,
            width,
            height,
            shown,
        },
        Err(e) => failed(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> RgbImage {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        kiosk_media::decode::decode(&std::fs::read(path).unwrap())
            .unwrap()
            .image
    }

    #[test]
    fn a_good_photo_is_accepted_within_the_byte_range() {
        let limits = MaterialLimits::default();
        let still = fixture("media/tests/fixtures/photo_good.jpg");
        match process(MaterialKind::Photo, &still, None, &limits) {
            Outcome::Accepted {
                jpeg,
                width,
                height,
                shown,
            } => {
                assert!(
                    jpeg.len() > 10_240 && jpeg.len() <= 20_000,
                    "{}",
                    jpeg.len()
                );
                assert_eq!((width, height), (295, 413));
                assert_eq!((shown.width, shown.height), (295, 413));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_photo_without_a_face_says_what_to_do_in_both_languages() {
        let limits = MaterialLimits::default();
        let still = fixture("media/tests/fixtures/photo_no_face.jpg");
        match process(MaterialKind::Photo, &still, None, &limits) {
            Outcome::Rejected { advice } => {
                assert_eq!(advice[0], "未检测到人脸，请正对镜头");
                assert!(kiosk_domain::tr(kiosk_domain::Lang::En, &advice[0]).contains("No face"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_page_is_straightened_and_a_blank_still_asks_for_corners() {
        let limits = MaterialLimits::default();
        let page = fixture("docs/dev-materials/doccam-page.jpg");
        let Outcome::Accepted { jpeg, .. } =
            process(MaterialKind::QualificationCertificate, &page, None, &limits)
        else {
            panic!("the sample page must be found");
        };
        assert!(jpeg.len() <= 200_000);

        let blank = RgbImage::from_pixel(800, 600, image::Rgb([128, 128, 128]));
        let Outcome::PlaceCorners {
            width,
            height,
            suggested,
        } = process(MaterialKind::WorkCertificate, &blank, None, &limits)
        else {
            panic!("a blank still has no page");
        };
        assert_eq!((width, height), (800, 600));
        // The applicant's corners are used as given.
        match process(
            MaterialKind::WorkCertificate,
            &blank,
            Some(suggested),
            &limits,
        ) {
            Outcome::Accepted { width, height, .. } => assert_eq!(
                (width, height),
                (1754, 1240),
                "a wide quadrilateral is a landscape page"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn id_cards_are_card_sized_and_the_358_preset_follows_the_limits() {
        assert_eq!(doc_kind(MaterialKind::IdCardBack), DocKind::Card);
        assert_eq!(
            doc_kind(MaterialKind::FullTimeEducationCertificate),
            DocKind::A4
        );
        let limits = MaterialLimits {
            photo_min_width: 358,
            photo_min_height: 441,
            ..MaterialLimits::default()
        };
        let opts = photo_options(&limits);
        assert_eq!((opts.width, opts.height), (358, 441));
    }
}
