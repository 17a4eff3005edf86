#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kiosk_hardware::idcard::sim::load_card;
use kiosk_hardware::idcard::{CardData, ReaderConfig};

pub const CARD_FILES: [&str; 4] = [
    "resident.json",
    "permit.json",
    "foreign2017.json",
    "foreign2023.json",
];

pub fn cards_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cards")
}

pub fn card(file: &str) -> CardData {
    load_card(&cards_dir().join(file)).expect("example card file loads")
}

/// Short timeouts: the simulator answers within a millisecond or two.
pub fn fast_config(path: impl Into<PathBuf>) -> ReaderConfig {
    ReaderConfig {
        find_timeout: Duration::from_millis(250),
        select_timeout: Duration::from_millis(250),
        read_timeout: Duration::from_millis(600),
        aux_timeout: Duration::from_millis(250),
        poll_interval: Duration::from_millis(20),
        reopen_interval: Duration::from_millis(50),
        ..ReaderConfig::with_path(path)
    }
}

/// GB 11643 check character (test-only; the domain crate owns validation).
pub fn gb11643_check(first17: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).expect("digit") * w)
        .sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}
