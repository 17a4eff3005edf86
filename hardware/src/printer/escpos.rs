//! The ESC/POS commands a receipt needs, and a parser of them for the simulator. Bytes from
//! the Epson ESC/POS command reference: `ESC @` (initialise), `DLE EOT 4` (paper sensor
//! status), `GS v 0` (raster bit image), `GS V 66 0` (feed to the cutter and cut).

pub const INIT: [u8; 2] = [0x1B, 0x40];
pub const PAPER_STATUS: [u8; 3] = [0x10, 0x04, 0x04];
pub const FEED_AND_CUT: [u8; 4] = [0x1D, 0x56, 0x42, 0x00];
/// Rows per `GS v 0` band: printers buffer a band at a time.
pub const BAND_ROWS: u32 = 256;
/// The largest raster the parser accepts: 1024 bytes a row, 8192 rows.
pub const MAX_ROW_BYTES: usize = 1024;
pub const MAX_ROWS: usize = 8192;

/// The paper as `DLE EOT 4` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    Present,
    NearEnd,
    Out,
}

/// The status byte a printer sends for `DLE EOT 4`: bits 1 and 4 always set, 2–3 near end, 5–6
/// out of paper.
pub fn paper_status_byte(paper: Paper) -> u8 {
    0x12 | match paper {
        Paper::Present => 0,
        Paper::NearEnd => 0x0C,
        Paper::Out => 0x60,
    }
}

/// Reads a `DLE EOT 4` answer; `None` for a byte that is not one.
pub fn parse_paper_status(byte: u8) -> Option<Paper> {
    if byte & 0x93 != 0x12 {
        return None;
    }
    Some(if byte & 0x60 != 0 {
        Paper::Out
    } else if byte & 0x0C != 0 {
        Paper::NearEnd
    } else {
        Paper::Present
    })
}

/// `GS v 0` bands for a raster of `row_bytes` bytes a row.
pub fn raster(row_bytes: usize, packed: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(packed.len() + 16);
    if row_bytes == 0 {
        return out;
    }
    for band in packed.chunks(row_bytes * BAND_ROWS as usize) {
        let rows = band.len() / row_bytes;
        out.extend_from_slice(&[0x1D, 0x76, 0x30, 0x00]);
        out.extend_from_slice(&(row_bytes as u16).to_le_bytes());
        out.extend_from_slice(&(rows as u16).to_le_bytes());
        out.extend_from_slice(&band[..rows * row_bytes]);
    }
    out
}

/// What the printer was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Init,
    /// `DLE EOT n`.
    Status(u8),
    Raster {
        row_bytes: usize,
        rows: usize,
        data: Vec<u8>,
    },
    Cut,
    /// A byte outside the commands above (printed text, or a command this printer ignores).
    Other(u8),
}

/// A streaming parser of the command stream: bytes in any fragments, commands out.
#[derive(Debug, Default)]
pub struct Parser {
    pending: Vec<u8>,
}

impl Parser {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Command> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            match self.next_command() {
                Some((command, used)) => {
                    self.pending.drain(..used);
                    out.push(command);
                }
                None => return out,
            }
        }
    }

    /// The first command of `pending` and its length, or `None` until it is complete.
    fn next_command(&self) -> Option<(Command, usize)> {
        let p = &self.pending;
        let first = *p.first()?;
        match first {
            0x1B if p.len() >= 2 && p[1] == 0x40 => Some((Command::Init, 2)),
            0x1B if p.len() < 2 => None,
            0x10 if p.len() >= 3 && p[1] == 0x04 => Some((Command::Status(p[2]), 3)),
            0x10 if p.len() < 3 => None,
            0x1D if p.len() >= 2 && p[1] == 0x56 => {
                // GS V m, and for m = 65/66 one more byte.
                let len = match p.get(2) {
                    None => return None,
                    Some(65 | 66) => 4,
                    Some(_) => 3,
                };
                (p.len() >= len).then_some((Command::Cut, len))
            }
            0x1D if p.len() >= 2 && p[1] == 0x76 => {
                if p.len() < 8 {
                    return None;
                }
                let row_bytes = usize::from(u16::from_le_bytes([p[4], p[5]]));
                let rows = usize::from(u16::from_le_bytes([p[6], p[7]]));
                if p[2] != 0x30 || row_bytes > MAX_ROW_BYTES || rows > MAX_ROWS {
                    // Not a raster this printer takes: its header is skipped as noise.
                    return Some((Command::Other(first), 1));
                }
                let len = 8 + row_bytes * rows;
                (p.len() >= len).then(|| {
                    (
                        Command::Raster {
                            row_bytes,
                            rows,
                            data: p[8..len].to_vec(),
                        },
                        len,
                    )
                })
            }
            0x1D if p.len() < 2 => None,
            other => Some((Command::Other(other), 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_parses_back_in_any_fragments() {
        let packed: Vec<u8> = (0..(72 * 600)).map(|i| (i % 251) as u8).collect();
        let mut stream = INIT.to_vec();
        stream.extend_from_slice(&PAPER_STATUS);
        stream.extend(raster(72, &packed));
        stream.extend_from_slice(&FEED_AND_CUT);
        for fragment in [1, 7, 64, 4096, stream.len()] {
            let mut parser = Parser::default();
            let commands: Vec<Command> = stream
                .chunks(fragment)
                .flat_map(|c| parser.push(c))
                .collect();
            assert_eq!(commands[0], Command::Init);
            assert_eq!(commands[1], Command::Status(4));
            let mut rows = Vec::new();
            for c in &commands[2..commands.len() - 1] {
                match c {
                    Command::Raster {
                        row_bytes, data, ..
                    } => {
                        assert_eq!(*row_bytes, 72);
                        rows.extend_from_slice(data);
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            assert_eq!(rows, packed, "fragments of {fragment}");
            assert_eq!(commands.last(), Some(&Command::Cut));
        }
    }

    #[test]
    fn status_bytes_read_back_and_junk_is_not_a_status() {
        for paper in [Paper::Present, Paper::NearEnd, Paper::Out] {
            assert_eq!(parse_paper_status(paper_status_byte(paper)), Some(paper));
        }
        assert_eq!(parse_paper_status(0x00), None);
        assert_eq!(parse_paper_status(0xFF), None);
    }

    #[test]
    fn a_huge_raster_header_is_noise_not_an_allocation() {
        let mut parser = Parser::default();
        let commands = parser.push(&[0x1D, 0x76, 0x30, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x1B, 0x40]);
        assert_eq!(commands.last(), Some(&Command::Init));
    }
}
