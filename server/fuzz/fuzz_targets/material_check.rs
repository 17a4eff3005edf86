//! The server's check of an uploaded photo or scan on arbitrary bytes (mutated from real JPEG and
//! PNG seeds): no panic, the decode bounds hold, and every refusal names its code.
#![no_main]

use kiosk_domain::{MaterialKind, RulesEdition};
use kiosk_server::material_check::{DecodeBounds, check_material_with};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The photo's byte range would refuse most inputs before the decoder: open it, so that
    // mutated photos reach the JPEG decoder too.
    let limits = kiosk_domain::materials::MaterialLimits {
        photo_min_bytes_exclusive: 0,
        ..RulesEdition::CURRENT.limits()
    };
    let bounds = DecodeBounds::default();
    for kind in [MaterialKind::Photo, MaterialKind::WorkCertificate] {
        match check_material_with(kind, data, &limits, &bounds) {
            Ok(image) => {
                assert!(u64::from(image.width) * u64::from(image.height) <= bounds.max_pixels);
            }
            Err(refusal) => assert!(!refusal.code().is_empty()),
        }
    }
});
