//! The server's strict reading of a submission's record on arbitrary bytes: JSON first, then the
//! domain's own schema, the rules edition and the size bound. No panic; whatever is accepted
//! reads back to the same JSON (the rule `strict_application` enforces).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(app) = kiosk_server::api::strict_application(&value) {
        let again = serde_json::to_value(&app).expect("an accepted record serialises");
        let reread = kiosk_server::api::strict_application(&again);
        assert!(reread.is_ok(), "an accepted record is accepted again");
    }
});
