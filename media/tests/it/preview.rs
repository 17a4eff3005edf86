//! Camera frame conversion to RGBA8 for the preview.

use kiosk_media::preview::{mjpeg_to_rgba, rgb24_to_rgba, yuyv_to_rgba};
use kiosk_media::{Chroma, Frame, FrameFormat, MediaError, encode_jpeg, frame_to_rgba};

fn close(a: &[u8], b: [u8; 4], tol: u8) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= tol)
}

#[test]
fn yuyv_bt601_limited_range() {
    // Pixel pairs: white, black, red, green, blue (BT.601 limited-range YCbCr).
    let pairs: [[u8; 4]; 5] = [
        [235, 128, 235, 128],
        [16, 128, 16, 128],
        [81, 90, 81, 240],
        [145, 54, 145, 34],
        [41, 240, 41, 110],
    ];
    let expected = [
        [255, 255, 255, 255],
        [0, 0, 0, 255],
        [255, 0, 0, 255],
        [0, 255, 0, 255],
        [0, 0, 255, 255],
    ];
    let src: Vec<u8> = pairs.iter().flatten().copied().collect();
    let mut dst = vec![0u8; 10 * 4];
    yuyv_to_rgba(&src, 10, 1, 0, &mut dst).expect("converts");
    for (i, e) in expected.iter().enumerate() {
        for k in 0..2 {
            let px = &dst[(2 * i + k) * 4..(2 * i + k) * 4 + 4];
            assert!(close(px, *e, 3), "pair {i}: {px:?} vs {e:?}");
        }
    }
}

#[test]
fn full_hd_ready_frame_sizes_and_stride() {
    let (w, h) = (1280u32, 720u32);
    let stride = 1280 * 2 + 64;
    let mut src = vec![0u8; stride * h as usize];
    for y in 0..h as usize {
        for x in 0..w as usize / 2 {
            src[y * stride + x * 4..y * stride + x * 4 + 4].copy_from_slice(&[235, 128, 16, 128]);
        }
    }
    let mut out = Vec::new();
    let frame = Frame {
        format: FrameFormat::Yuyv,
        width: w,
        height: h,
        stride,
        data: &src,
    };
    assert_eq!(frame_to_rgba(&frame, &mut out).expect("converts"), (w, h));
    assert_eq!(out.len(), (w * h * 4) as usize);
    assert!(close(&out[0..4], [255, 255, 255, 255], 1));
    assert!(close(&out[4..8], [0, 0, 0, 255], 1));
    let last = out.len() - 4;
    assert!(close(&out[last..], [0, 0, 0, 255], 1));
}

#[test]
fn rgb24_gets_opaque_alpha() {
    let src = [10u8, 20, 30, 40, 50, 60];
    let mut out = Vec::new();
    let frame = Frame {
        format: FrameFormat::Rgb24,
        width: 2,
        height: 1,
        stride: 0,
        data: &src,
    };
    frame_to_rgba(&frame, &mut out).expect("converts");
    assert_eq!(out, [10, 20, 30, 255, 40, 50, 60, 255]);
}

#[test]
fn bad_buffers_are_refused() {
    let mut dst = vec![0u8; 64];
    let short = [0u8; 10];
    assert!(matches!(
        yuyv_to_rgba(&short, 4, 4, 0, &mut dst),
        Err(MediaError::InvalidFrame { .. })
    ));
    assert!(matches!(
        yuyv_to_rgba(&[0u8; 24], 3, 4, 0, &mut dst),
        Err(MediaError::InvalidFrame { .. })
    ));
    assert!(matches!(
        rgb24_to_rgba(&[0u8; 48], 4, 4, 0, &mut [0u8; 8]),
        Err(MediaError::InvalidFrame { .. })
    ));
    assert!(matches!(
        rgb24_to_rgba(&[0u8; 48], 4, 4, 5, &mut dst),
        Err(MediaError::InvalidFrame { .. })
    ));
    let mut v = Vec::new();
    assert!(matches!(
        mjpeg_to_rgba(&[], &mut v),
        Err(MediaError::InvalidFrame { .. })
    ));
    assert!(matches!(
        mjpeg_to_rgba(b"\xFF\xD8\xFF\xE0garbage", &mut v),
        Err(MediaError::InvalidFrame { .. })
    ));
}

#[test]
fn mjpeg_frames_decode() {
    let img = image::RgbImage::from_fn(64, 48, |x, _| {
        if x < 32 {
            image::Rgb([200, 30, 30])
        } else {
            image::Rgb([30, 30, 200])
        }
    });
    let jpeg = encode_jpeg(&img, 90, 0, Chroma::Sub420).expect("encodes");
    let mut out = Vec::new();
    let frame = Frame {
        format: FrameFormat::Mjpeg,
        width: 0,
        height: 0,
        stride: 0,
        data: &jpeg,
    };
    assert_eq!(frame_to_rgba(&frame, &mut out).expect("decodes"), (64, 48));
    assert!(close(
        &out[(10 * 64 + 8) * 4..(10 * 64 + 8) * 4 + 4],
        [200, 30, 30, 255],
        20
    ));
    assert!(close(
        &out[(10 * 64 + 56) * 4..(10 * 64 + 56) * 4 + 4],
        [30, 30, 200, 255],
        20
    ));
}

/// Drops every DHT segment before the scan, as many UVC cameras send their MJPEG frames.
fn without_huffman_tables(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut i = 2;
    loop {
        let marker = jpeg[i + 1];
        if marker == 0xDA {
            out.extend_from_slice(&jpeg[i..]);
            return out;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if marker != 0xC4 {
            out.extend_from_slice(&jpeg[i..i + 2 + len]);
        }
        i += 2 + len;
    }
}

#[test]
fn mjpeg_frames_without_huffman_tables_decode_with_the_standard_ones() {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
    });
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 90)
        .encode(img.as_raw(), 64, 48, jpeg_encoder::ColorType::Rgb)
        .expect("encodes");
    let stripped = without_huffman_tables(&jpeg);
    assert!(
        stripped.len() < jpeg.len(),
        "the test file had tables to drop"
    );
    let (mut with, mut without) = (Vec::new(), Vec::new());
    assert_eq!(mjpeg_to_rgba(&jpeg, &mut with).expect("decodes"), (64, 48));
    assert_eq!(
        mjpeg_to_rgba(&stripped, &mut without).expect("decodes without tables"),
        (64, 48)
    );
    assert_eq!(with, without, "same pixels as with the tables in the file");
}

#[test]
fn thumbnails_keep_the_shape_and_refuse_damaged_files() {
    let page = image::RgbImage::from_fn(1240, 1754, |x, _| {
        if x < 620 {
            image::Rgb([250, 250, 250])
        } else {
            image::Rgb([20, 20, 20])
        }
    });
    let jpeg = encode_jpeg(&page, 80, 0, Chroma::Sub420).expect("encodes");
    let small = kiosk_media::thumbnail(&jpeg, 240).expect("a thumbnail");
    assert_eq!(
        small.dimensions(),
        (170, 240),
        "longer side 240, shape kept"
    );
    assert!(small.get_pixel(20, 120)[0] > 200 && small.get_pixel(150, 120)[0] < 60);
    let tiny = image::RgbImage::new(100, 80);
    let tiny_jpeg = encode_jpeg(&tiny, 80, 0, Chroma::Sub420).expect("encodes");
    assert_eq!(
        kiosk_media::thumbnail(&tiny_jpeg, 240)
            .expect("decodes")
            .dimensions(),
        (100, 80),
        "never enlarged"
    );
    assert!(kiosk_media::thumbnail(&jpeg[..jpeg.len() / 3], 240).is_err());
    assert!(kiosk_media::thumbnail(b"not an image", 240).is_err());
}
