//! The streaming decoder and the payload parsers on arbitrary input: no panic, bounded memory.
#![no_main]

use kiosk_hardware::idcard::card::{
    CardData, parse_appended_address, parse_text_photo, parse_text_photo_fingerprint,
};
use kiosk_hardware::idcard::command::{Request, Response};
use kiosk_hardware::idcard::frame::{Decoder, MAX_FRAME_LEN, MAX_PENDING_ITEMS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the fragment size, so every fragmentation gets explored.
    let Some((first, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(*first).max(1);
    let mut responses = Decoder::responses();
    let mut requests = Decoder::requests();
    for piece in stream.chunks(chunk) {
        responses.push(piece);
        requests.push(piece);
        for decoder in [&responses, &requests] {
            assert!(decoder.buffered() < MAX_FRAME_LEN);
            assert!(decoder.pending() <= MAX_PENDING_ITEMS);
        }
        while let Some(item) = responses.next_frame() {
            if let Ok(frame) = item
                && let Some(response) = Response::from_frame(&frame)
            {
                let _ = parse_text_photo(&response.data);
                let _ = parse_text_photo_fingerprint(&response.data);
                let _ = parse_appended_address(&response.data);
            }
        }
        while let Some(item) = requests.next_frame() {
            if let Ok(frame) = item {
                let _ = Request::from_frame(&frame);
            }
        }
    }
    if let Some(block) = stream.get(..256)
        && let Ok(card) = CardData::from_text_block(block)
    {
        // Whatever decodes must not panic when shown (masked) or re-encoded.
        let _ = format!("{card:?}");
        let _ = card.to_text_block();
    }
});
