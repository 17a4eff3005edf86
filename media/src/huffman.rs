//! Lossless Huffman-table optimisation of a baseline JPEG with one interleaved scan.
//!
//! `jpeg-encoder` can optimise its Huffman tables only by switching to one scan per component,
//! which zune-jpeg 0.5 (the decoder of the `image` crate) mis-decodes for 4:2:0 files. So we
//! let it write the standard tables in a single interleaved scan and re-code that scan here:
//! parse the entropy-coded data into (symbol, extra bits) pairs, count the symbols, build
//! optimal length-limited codes (ITU-T T.81 Annex K.2, with one code point reserved so no code
//! is all ones), and write the same symbols with the new codes. The coefficients, hence the
//! decoded pixels, are unchanged. Anything unexpected (restart markers, progressive, several
//! scans) makes [`optimize`] return `None` and the caller keeps the original file.

/// One Huffman table as stored in a DHT segment: counts per code length 1..=16 and symbols.
#[derive(Clone, Debug, Default)]
struct Table {
    counts: [u8; 16],
    symbols: Vec<u8>,
}

/// Canonical codes of a table: `code[symbol]`, `len[symbol]` (0: absent).
struct Codes {
    code: [u16; 256],
    len: [u8; 256],
}

impl Table {
    fn codes(&self) -> Option<Codes> {
        let mut code = [0u16; 256];
        let mut len = [0u8; 256];
        let mut next: u32 = 0;
        let mut k = 0;
        for (l, &n) in self.counts.iter().enumerate() {
            for _ in 0..n {
                let sym = *self.symbols.get(k)? as usize;
                code[sym] = next as u16;
                len[sym] = (l + 1) as u8;
                next += 1;
                k += 1;
            }
            if next > (1 << (l + 1)) {
                return None;
            }
            next <<= 1;
        }
        Some(Codes { code, len })
    }

    /// Decoding tables per code length (T.81 F.2.2.3) plus a 9-bit lookup table.
    fn decoder(&self) -> Decoder {
        let mut d = Decoder {
            maxcode: [-1; 18],
            valptr: [0; 17],
            mincode: [0; 17],
            lut: vec![0u16; 1 << LUT_BITS],
            symbols: self.symbols.clone(),
        };
        let mut code: i32 = 0;
        let mut k = 0usize;
        for l in 1..=16 {
            let n = self.counts[l - 1] as usize;
            if n > 0 {
                d.valptr[l] = k;
                d.mincode[l] = code;
                if l <= LUT_BITS as usize {
                    for i in 0..n {
                        let c = (code as usize + i) << (LUT_BITS as usize - l);
                        let entry = ((l as u16) << 8)
                            | u16::from(self.symbols.get(k + i).copied().unwrap_or(0));
                        for slot in &mut d.lut[c..c + (1 << (LUT_BITS as usize - l))] {
                            *slot = entry;
                        }
                    }
                }
                code += n as i32;
                k += n;
                d.maxcode[l] = code - 1;
            }
            code <<= 1;
        }
        d.maxcode[17] = i32::MAX;
        d
    }
}

const LUT_BITS: u32 = 9;

struct Decoder {
    maxcode: [i32; 18],
    valptr: [usize; 17],
    mincode: [i32; 17],
    /// For each 9-bit prefix: code length << 8 | symbol, 0 when the code is longer.
    lut: Vec<u16>,
    symbols: Vec<u8>,
}

/// MSB-first bit reader over unstuffed entropy-coded data; reads past the end as zeros but
/// reports an error if more bits are consumed than exist.
struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    nbits: u32,
    consumed: usize,
}

impl BitReader<'_> {
    fn refill(&mut self) {
        while self.nbits <= 56 {
            let b = self.data.get(self.pos).copied().unwrap_or(0);
            self.pos += 1;
            self.acc |= u64::from(b) << (56 - self.nbits);
            self.nbits += 8;
        }
    }

    fn peek(&mut self, n: u32) -> u32 {
        if self.nbits < n {
            self.refill();
        }
        (self.acc >> (64 - n)) as u32
    }

    fn consume(&mut self, n: u32) -> Option<()> {
        self.acc <<= n;
        self.nbits -= n;
        self.consumed += n as usize;
        (self.consumed <= self.data.len() * 8).then_some(())
    }

    fn bits(&mut self, n: u32) -> Option<u32> {
        if n == 0 {
            return Some(0);
        }
        let v = self.peek(n);
        self.consume(n)?;
        Some(v)
    }

    fn decode(&mut self, d: &Decoder) -> Option<u8> {
        let entry = d.lut[self.peek(LUT_BITS) as usize];
        if entry != 0 {
            self.consume(u32::from(entry >> 8))?;
            return Some(entry as u8);
        }
        let code16 = self.peek(16) as i32;
        for l in (LUT_BITS as usize + 1)..=16 {
            let code = code16 >> (16 - l);
            if d.maxcode[l] >= 0 && code <= d.maxcode[l] {
                self.consume(l as u32)?;
                let idx = d.valptr[l] + (code - d.mincode[l]) as usize;
                return d.symbols.get(idx).copied();
            }
        }
        None
    }
}

/// Width, height and the components (id, horizontal and vertical sampling factors).
type Frame = (usize, usize, Vec<(u8, usize, usize)>);

/// A coded symbol: which table (0 DC0, 1 AC0, 2 DC1, 3 AC1), the symbol and its extra bits.
#[derive(Clone, Copy)]
struct Sym {
    table: u8,
    symbol: u8,
    nbits: u8,
    bits: u16,
}

struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, len: u32) {
        if len == 0 {
            return;
        }
        self.acc = (self.acc << len) | u64::from(value & ((1u32 << len) - 1));
        self.n += len;
        while self.n >= 8 {
            self.n -= 8;
            let b = (self.acc >> self.n) as u8;
            self.out.push(b);
            if b == 0xFF {
                self.out.push(0x00);
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            let pad = 8 - self.n;
            self.put((1 << pad) - 1, pad);
        }
        self.out
    }
}

/// Optimal code lengths for symbol frequencies, limited to 16 bits (T.81 Annex K.2).
fn optimal_table(freq_in: &[u32; 256]) -> Table {
    let mut freq = [0u64; 257];
    for (f, &v) in freq.iter_mut().zip(freq_in.iter()) {
        *f = u64::from(v);
    }
    freq[256] = 1; // reserved: guarantees no all-ones code
    let mut codesize = [0u32; 257];
    let mut others = [-1i32; 257];
    loop {
        // Smallest non-zero frequency (ties: the larger index), then the next smallest.
        let mut c1: i32 = -1;
        let mut v = u64::MAX;
        for (i, &f) in freq.iter().enumerate() {
            if f != 0 && f <= v {
                v = f;
                c1 = i as i32;
            }
        }
        let mut c2: i32 = -1;
        v = u64::MAX;
        for (i, &f) in freq.iter().enumerate() {
            if f != 0 && f <= v && i as i32 != c1 {
                v = f;
                c2 = i as i32;
            }
        }
        if c2 < 0 {
            break;
        }
        let (a, b) = (c1 as usize, c2 as usize);
        freq[a] += freq[b];
        freq[b] = 0;
        let mut x = a;
        codesize[x] += 1;
        while others[x] >= 0 {
            x = others[x] as usize;
            codesize[x] += 1;
        }
        others[x] = b as i32;
        let mut y = b;
        codesize[y] += 1;
        while others[y] >= 0 {
            y = others[y] as usize;
            codesize[y] += 1;
        }
    }
    let mut bits = [0u32; 33];
    for &c in &codesize {
        if c > 0 {
            bits[c.min(32) as usize] += 1;
        }
    }
    // Limit code lengths to 16 (K.2, figure K.3).
    let mut i = 32;
    while i > 16 {
        while bits[i] > 0 {
            let mut j = i - 2;
            while bits[j] == 0 {
                j -= 1;
            }
            bits[i] -= 2;
            bits[i - 1] += 1;
            bits[j + 1] += 2;
            bits[j] -= 1;
        }
        i -= 1;
    }
    // Remove the reserved code point from the longest length in use.
    let mut i = 16;
    while i > 0 && bits[i] == 0 {
        i -= 1;
    }
    if i > 0 {
        bits[i] -= 1;
    }
    let mut table = Table::default();
    for (count, &b) in table.counts.iter_mut().zip(&bits[1..=16]) {
        *count = b as u8;
    }
    // Symbols by increasing code size, then by value (the reserved 256 is dropped).
    let mut order: Vec<(u32, usize)> = (0..256)
        .filter(|&s| codesize[s] > 0)
        .map(|s| (codesize[s], s))
        .collect();
    order.sort_unstable();
    table.symbols = order.into_iter().map(|(_, s)| s as u8).collect();
    table
}

fn be16(d: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes([
        *d.get(at)?,
        *d.get(at + 1)?,
    ])))
}

/// Re-codes a baseline JPEG with one interleaved scan using optimal Huffman tables. `None` when
/// the file is not of that simple form (the caller then keeps the original).
pub(crate) fn optimize(jpeg: &[u8]) -> Option<Vec<u8>> {
    if jpeg.get(0..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut segments: Vec<(u8, &[u8])> = Vec::new();
    let mut tables: [[Option<Table>; 4]; 2] = Default::default(); // [class][id]
    let mut frame: Option<Frame> = None;
    let mut pos = 2;
    let scan_start;
    let scan_header: &[u8];
    loop {
        if *jpeg.get(pos)? != 0xFF {
            return None;
        }
        let marker = *jpeg.get(pos + 1)?;
        let len = be16(jpeg, pos + 2)?;
        let payload = jpeg.get(pos + 4..pos + 2 + len)?;
        match marker {
            0xC0 => {
                let h = be16(payload, 1)?;
                let w = be16(payload, 3)?;
                let n = usize::from(*payload.get(5)?);
                let mut comps = Vec::new();
                for c in 0..n {
                    let id = *payload.get(6 + 3 * c)?;
                    let hv = *payload.get(7 + 3 * c)?;
                    comps.push((id, usize::from(hv >> 4), usize::from(hv & 15)));
                }
                frame = Some((w, h, comps));
                segments.push((marker, payload));
            }
            0xC4 => {
                let mut p = 0;
                while p < payload.len() {
                    let tc = usize::from(payload[p] >> 4);
                    let th = usize::from(payload[p] & 15);
                    if tc > 1 || th > 3 {
                        return None;
                    }
                    let mut t = Table::default();
                    t.counts.copy_from_slice(payload.get(p + 1..p + 17)?);
                    let n: usize = t.counts.iter().map(|&c| usize::from(c)).sum();
                    t.symbols = payload.get(p + 17..p + 17 + n)?.to_vec();
                    tables[tc][th] = Some(t);
                    p += 17 + n;
                }
            }
            0xDA => {
                scan_header = payload;
                scan_start = pos + 2 + len;
                break;
            }
            // Progressive/lossless/arithmetic frames, restart intervals: not handled.
            0xC1..=0xCF | 0xDD => return None,
            _ => segments.push((marker, payload)),
        }
        pos += 2 + len;
    }
    let (width, height, comps) = frame?;
    let ns = usize::from(*scan_header.first()?);
    if ns != comps.len() || !(ns == 1 || ns == 3) {
        return None;
    }
    // Scan components in frame order with their DC/AC table ids.
    let mut scan = Vec::new();
    for i in 0..ns {
        let cs = *scan_header.get(1 + 2 * i)?;
        let t = *scan_header.get(2 + 2 * i)?;
        let (_, h, v) = *comps.iter().find(|c| c.0 == cs)?;
        scan.push((usize::from(t >> 4), usize::from(t & 15), h, v));
    }
    if scan_header.get(1 + 2 * ns..4 + 2 * ns)? != [0, 63, 0] {
        return None;
    }
    if ns == 1 && (scan[0].2 != 1 || scan[0].3 != 1) {
        return None;
    }
    // Entropy-coded data up to EOI, unstuffed.
    let mut data = Vec::with_capacity(jpeg.len() - scan_start);
    let mut i = scan_start;
    loop {
        let b = *jpeg.get(i)?;
        if b == 0xFF {
            match *jpeg.get(i + 1)? {
                0x00 => {
                    data.push(0xFF);
                    i += 2;
                }
                0xD9 => break,
                _ => return None,
            }
        } else {
            data.push(b);
            i += 1;
        }
    }
    let end = i + 2;

    let decoders: Vec<(Decoder, Decoder)> = scan
        .iter()
        .map(|&(td, ta, _, _)| {
            Some((
                tables[0][td].as_ref()?.decoder(),
                tables[1][ta].as_ref()?.decoder(),
            ))
        })
        .collect::<Option<_>>()?;
    let hmax = scan.iter().map(|c| c.2).max()?;
    let vmax = scan.iter().map(|c| c.3).max()?;
    let mcus = width.div_ceil(8 * hmax) * height.div_ceil(8 * vmax);
    let mut reader = BitReader {
        data: &data,
        pos: 0,
        acc: 0,
        nbits: 0,
        consumed: 0,
    };
    let mut syms: Vec<Sym> = Vec::with_capacity(data.len());
    let mut freq = [[0u32; 256]; 4];
    for _ in 0..mcus {
        for (ci, &(td, ta, h, v)) in scan.iter().enumerate() {
            let (dc, ac) = &decoders[ci];
            let (dct, act) = ((2 * td.min(1)) as u8, (2 * ta.min(1) + 1) as u8);
            if td > 1 || ta > 1 {
                return None;
            }
            for _ in 0..h * v {
                let s = reader.decode(dc)?;
                if s > 11 {
                    return None;
                }
                let bits = reader.bits(u32::from(s))?;
                syms.push(Sym {
                    table: dct,
                    symbol: s,
                    nbits: s,
                    bits: bits as u16,
                });
                freq[dct as usize][s as usize] += 1;
                let mut k = 1;
                while k < 64 {
                    let rs = reader.decode(ac)?;
                    let (r, s) = (rs >> 4, rs & 15);
                    let bits = reader.bits(u32::from(s))?;
                    syms.push(Sym {
                        table: act,
                        symbol: rs,
                        nbits: s,
                        bits: bits as u16,
                    });
                    freq[act as usize][rs as usize] += 1;
                    if s == 0 {
                        if r == 15 {
                            k += 16;
                        } else {
                            break; // EOB
                        }
                    } else {
                        k += usize::from(r) + 1;
                    }
                }
                if k > 64 {
                    return None;
                }
            }
        }
    }

    // New tables for the tables in use, and their codes.
    let mut new_tables: [Option<Table>; 4] = Default::default();
    let mut codes: Vec<Option<Codes>> = Vec::new();
    for t in 0..4 {
        if freq[t].iter().any(|&f| f > 0) {
            let table = optimal_table(&freq[t]);
            codes.push(Some(table.codes()?));
            new_tables[t] = Some(table);
        } else {
            codes.push(None);
        }
    }
    let mut out = Vec::with_capacity(jpeg.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    for (marker, payload) in &segments {
        out.extend_from_slice(&[0xFF, *marker]);
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(payload);
    }
    let mut dht = Vec::new();
    for (t, table) in new_tables.iter().enumerate() {
        if let Some(table) = table {
            let (class, id) = ((t % 2) as u8, (t / 2) as u8);
            dht.push((class << 4) | id);
            dht.extend_from_slice(&table.counts);
            dht.extend_from_slice(&table.symbols);
        }
    }
    out.extend_from_slice(&[0xFF, 0xC4]);
    out.extend_from_slice(&((dht.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&dht);
    // Scan header with table ids remapped to 0 (luma) / 1 (chroma), as collected above.
    out.extend_from_slice(&[0xFF, 0xDA]);
    out.extend_from_slice(&((scan_header.len() + 2) as u16).to_be_bytes());
    let mut sh = scan_header.to_vec();
    for (i, &(td, ta, _, _)) in scan.iter().enumerate() {
        sh[2 + 2 * i] = ((td.min(1) as u8) << 4) | ta.min(1) as u8;
    }
    out.extend_from_slice(&sh);
    let mut w = BitWriter { out, acc: 0, n: 0 };
    for s in &syms {
        let c = codes[s.table as usize].as_ref()?;
        let len = c.len[s.symbol as usize];
        if len == 0 {
            return None;
        }
        w.put(u32::from(c.code[s.symbol as usize]), u32::from(len));
        w.put(u32::from(s.bits), u32::from(s.nbits));
    }
    let mut out = w.finish();
    out.extend_from_slice(&[0xFF, 0xD9]);
    // Whatever followed EOI in the input is dropped.
    let _ = end;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_table_is_prefix_free_and_limited() {
        let mut f = [0u32; 256];
        // Fibonacci-like frequencies force long codes before limiting.
        let (mut a, mut b) = (1u32, 1u32);
        for v in f.iter_mut().take(30) {
            *v = a;
            let c = a.saturating_add(b);
            a = b;
            b = c;
        }
        let t = optimal_table(&f);
        assert_eq!(t.symbols.len(), 30);
        let codes = t.codes().expect("valid canonical code");
        assert!(t.counts.iter().map(|&c| usize::from(c)).sum::<usize>() == 30);
        // Kraft sum < 1 (one code point reserved).
        let kraft: f64 = (0..30).map(|s| 0.5f64.powi(i32::from(codes.len[s]))).sum();
        assert!(kraft < 1.0, "{kraft}");
        assert!((0..30).all(|s| (1..=16).contains(&codes.len[s])));
    }

    fn encode_std(img: &image::RgbImage, q: u8, gray: bool) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut e = jpeg_encoder::Encoder::new(&mut buf, q);
        e.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
        if gray {
            let g: Vec<u8> = img.pixels().map(|p| p.0[1]).collect();
            e.encode(
                &g,
                img.width() as u16,
                img.height() as u16,
                jpeg_encoder::ColorType::Luma,
            )
            .expect("encodes");
        } else {
            e.encode(
                img.as_raw(),
                img.width() as u16,
                img.height() as u16,
                jpeg_encoder::ColorType::Rgb,
            )
            .expect("encodes");
        }
        buf
    }

    #[test]
    fn recoding_is_lossless_and_smaller() {
        let mut s = 12345u32;
        for (w, h, q, gray) in [
            (37u32, 29u32, 75u8, false),
            (64, 48, 95, false),
            (33, 17, 20, true),
            (8, 8, 100, false),
        ] {
            let img = image::RgbImage::from_fn(w, h, |x, y| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                let n = (s & 31) as u8;
                image::Rgb([((x * 7) as u8).wrapping_add(n), (y * 9) as u8, 200 - n])
            });
            let original = encode_std(&img, q, gray);
            let optimized = optimize(&original).expect("simple layout");
            assert!(
                optimized.len() < original.len(),
                "{w}x{h}: {} vs {}",
                optimized.len(),
                original.len()
            );
            let a = crate::decode::decode(&original)
                .expect("original decodes")
                .image;
            let b = crate::decode::decode(&optimized)
                .expect("optimized decodes")
                .image;
            assert_eq!(
                a.as_raw(),
                b.as_raw(),
                "{w}x{h} q{q}: pixels must be identical"
            );
        }
    }

    #[test]
    fn unexpected_layouts_are_left_alone() {
        assert!(optimize(b"not a jpeg").is_none());
        assert!(optimize(&[0xFF, 0xD8, 0xFF, 0xC2, 0, 2]).is_none());
    }

    #[test]
    fn single_symbol_table_works() {
        let mut f = [0u32; 256];
        f[0] = 100;
        let t = optimal_table(&f);
        let c = t.codes().expect("valid");
        assert_eq!(c.len[0], 1);
        assert_eq!(c.code[0], 0, "the only code is 0, never all ones");
    }
}
