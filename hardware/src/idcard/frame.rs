//! Frame layer of the SAM protocol (spec §1): `AA AA AA 96 69 | LEN_H LEN_L | body | CHK`.
//!
//! LEN is big-endian and counts every byte after itself, CHK included. CHK is the XOR of every
//! byte from LEN_H through the last body byte. The [`Decoder`] turns an arbitrarily fragmented
//! byte stream into frames, resynchronising on the preamble with bounded memory.

use std::collections::VecDeque;

/// The 5-byte preamble that starts every frame in both directions.
pub const PREAMBLE: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];

/// Bytes before the body: preamble + LEN.
pub const HEADER_LEN: usize = PREAMBLE.len() + 2;

/// Smallest LEN of a reader response: SW1 SW2 SW3 CHK.
pub const MIN_RESPONSE_LEN: u16 = 4;

/// Smallest LEN of a host request: CMD PARA CHK.
pub const MIN_REQUEST_LEN: u16 = 3;

/// Largest LEN accepted. The largest frame observed is `30 10` with a 1024-byte fingerprint,
/// LEN `0x090A` (2314); the spec asks for a sanity bound of "~2400".
pub const MAX_LEN: u16 = 2400;

/// Largest whole frame the decoder accepts (LEN + 7).
pub const MAX_FRAME_LEN: usize = MAX_LEN as usize + HEADER_LEN;

/// At most this many decoded items wait in a [`Decoder`] for [`Decoder::next_frame`]; older ones
/// are dropped (and counted) past it, so memory stays bounded whatever the input.
pub const MAX_PENDING_ITEMS: usize = 16;

/// XOR of `bytes` (the CHK rule applied to LEN..DATA).
pub fn xor_checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

/// Wraps `body` (CMD PARA DATA for a request, SW1 SW2 SW3 DATA for a response) into a frame.
///
/// # Panics
/// Never for bodies built by this crate; a body longer than [`MAX_LEN`]` - 1` is a programming
/// error and panics.
pub fn encode_frame(body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(body.len() + 1)
        .ok()
        .filter(|len| *len <= MAX_LEN)
        .expect("frame body exceeds MAX_LEN (programming error)");
    let mut frame = Vec::with_capacity(body.len() + HEADER_LEN + 1);
    frame.extend_from_slice(&PREAMBLE);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    let chk = xor_checksum(&frame[PREAMBLE.len()..]);
    frame.push(chk);
    frame
}

/// A frame whose length and checksum were verified; `body` lies between LEN and CHK.
#[derive(Clone, PartialEq, Eq)]
pub struct RawFrame {
    pub body: Vec<u8>,
}

impl std::fmt::Debug for RawFrame {
    // The body may carry card text: show its size only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawFrame")
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A frame candidate the decoder rejected. It resynchronises by itself after either.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame checksum mismatch (computed {computed:#04x}, received {received:#04x})")]
    Checksum { computed: u8, received: u8 },
    #[error("frame length {0} outside the accepted range")]
    Length(u16),
}

/// Which side the decoder listens to; it only changes the smallest LEN accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Frames sent by the reader (the driver's decoder).
    Responses,
    /// Frames sent by the host (the simulator's decoder).
    Requests,
}

/// Streaming frame decoder: [`push`](Decoder::push) any fragment, then drain
/// [`next_frame`](Decoder::next_frame).
///
/// * Bytes before a preamble are discarded (counted in [`discarded`](Decoder::discarded)); only a
///   trailing partial preamble (≤ 4 bytes) is kept.
/// * LEN outside `min..=MAX_LEN` or a bad CHK yields an error item; decoding restarts one byte
///   after that preamble, so a real frame swallowed by a fake header is still found.
/// * The internal buffer never exceeds [`MAX_FRAME_LEN`] bytes and at most
///   [`MAX_PENDING_ITEMS`] items wait.
#[derive(Debug)]
pub struct Decoder {
    min_len: u16,
    buf: Vec<u8>,
    ready: VecDeque<Result<RawFrame, DecodeError>>,
    discarded: u64,
    dropped_items: u64,
}

impl Decoder {
    pub fn new(direction: Direction) -> Self {
        let min_len = match direction {
            Direction::Responses => MIN_RESPONSE_LEN,
            Direction::Requests => MIN_REQUEST_LEN,
        };
        Self {
            min_len,
            buf: Vec::with_capacity(MAX_FRAME_LEN),
            ready: VecDeque::new(),
            discarded: 0,
            dropped_items: 0,
        }
    }

    /// Decoder for reader responses.
    pub fn responses() -> Self {
        Self::new(Direction::Responses)
    }

    /// Decoder for host requests.
    pub fn requests() -> Self {
        Self::new(Direction::Requests)
    }

    /// Feeds received bytes, in any fragmentation.
    pub fn push(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            // After scan() the buffer holds less than one whole frame, so room is at least 1.
            let room = MAX_FRAME_LEN.saturating_sub(self.buf.len()).max(1);
            let take = room.min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            self.scan();
        }
    }

    /// The next decoded frame or rejected candidate, oldest first.
    pub fn next_frame(&mut self) -> Option<Result<RawFrame, DecodeError>> {
        self.ready.pop_front()
    }

    /// Forgets buffered bytes and pending items (counters are kept).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.ready.clear();
    }

    /// Bytes currently buffered (always `< MAX_FRAME_LEN` between calls).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// True while the buffer starts with a whole preamble, i.e. a frame is being received.
    pub fn frame_in_progress(&self) -> bool {
        self.buf.starts_with(&PREAMBLE)
    }

    /// Items waiting for [`next_frame`](Decoder::next_frame).
    pub fn pending(&self) -> usize {
        self.ready.len()
    }

    /// Bytes skipped while looking for a preamble since creation.
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// Items dropped because more than [`MAX_PENDING_ITEMS`] were waiting.
    pub fn dropped_items(&self) -> u64 {
        self.dropped_items
    }

    fn emit(&mut self, item: Result<RawFrame, DecodeError>) {
        if self.ready.len() >= MAX_PENDING_ITEMS {
            self.ready.pop_front();
            self.dropped_items += 1;
        }
        self.ready.push_back(item);
    }

    fn skip(&mut self, n: usize) {
        self.discarded += n as u64;
        self.buf.drain(..n);
    }

    fn scan(&mut self) {
        loop {
            match find_preamble(&self.buf) {
                Some(0) => {}
                Some(start) => self.skip(start),
                None => {
                    let keep = partial_preamble_suffix(&self.buf);
                    let drop = self.buf.len() - keep;
                    self.skip(drop);
                    return;
                }
            }
            if self.buf.len() < HEADER_LEN {
                return;
            }
            let len = u16::from_be_bytes([self.buf[5], self.buf[6]]);
            if len < self.min_len || len > MAX_LEN {
                self.emit(Err(DecodeError::Length(len)));
                self.skip(1);
                continue;
            }
            let total = usize::from(len) + HEADER_LEN;
            if self.buf.len() < total {
                return;
            }
            let computed = xor_checksum(&self.buf[PREAMBLE.len()..total - 1]);
            let received = self.buf[total - 1];
            if computed != received {
                self.emit(Err(DecodeError::Checksum { computed, received }));
                self.skip(1);
                continue;
            }
            let body = self.buf[HEADER_LEN..total - 1].to_vec();
            self.buf.drain(..total);
            self.emit(Ok(RawFrame { body }));
        }
    }
}

fn find_preamble(buf: &[u8]) -> Option<usize> {
    buf.windows(PREAMBLE.len()).position(|w| w == PREAMBLE)
}

/// Length of the longest suffix of `buf` that is a proper prefix of the preamble.
fn partial_preamble_suffix(buf: &[u8]) -> usize {
    (1..PREAMBLE.len())
        .rev()
        .find(|&k| k <= buf.len() && buf[buf.len() - k..] == PREAMBLE[..k])
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_detection() {
        assert_eq!(partial_preamble_suffix(&[1, 2, 0xAA]), 1);
        assert_eq!(partial_preamble_suffix(&[0xAA, 0xAA, 0xAA, 0x96]), 4);
        assert_eq!(partial_preamble_suffix(&[0xAA, 0xAA, 0xAA, 0xAA]), 3);
        assert_eq!(partial_preamble_suffix(&[0x96]), 0);
        assert_eq!(partial_preamble_suffix(&[]), 0);
    }
}
