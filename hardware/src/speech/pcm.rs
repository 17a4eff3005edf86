//! Mono 16-bit PCM and the WAV files it travels in.

use std::time::Duration;

use super::SpeechError;

/// Mono, signed 16-bit samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcm {
    pub sample_rate: u32,
    pub samples: Vec<i16>,
}

/// A WAV written to a pipe cannot know its length: espeak-ng then writes this (or all ones)
/// as the chunk sizes, and the data runs to the end of the file.
const STREAMED_SIZES: [u32; 2] = [0x7fff_f000, u32::MAX];

impl Pcm {
    /// Reads a RIFF/WAVE file of 16-bit PCM. Several channels are mixed down to one.
    pub fn from_wav(bytes: &[u8]) -> Result<Pcm, SpeechError> {
        if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
            return Err(SpeechError::Wav("no RIFF/WAVE header"));
        }
        let mut at = 12;
        let mut format: Option<(u16, u32)> = None;
        while at + 8 <= bytes.len() {
            let id = &bytes[at..at + 4];
            let size =
                u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
            let body = at + 8;
            let end = if STREAMED_SIZES.contains(&size) {
                bytes.len()
            } else {
                body.checked_add(size as usize)
                    .filter(|&end| end <= bytes.len())
                    .ok_or(SpeechError::Wav("a chunk runs past the end of the file"))?
            };
            match id {
                b"fmt " => {
                    let f = &bytes[body..end];
                    if f.len() < 16 {
                        return Err(SpeechError::Wav("the format chunk is too short"));
                    }
                    let tag = u16::from_le_bytes([f[0], f[1]]);
                    let channels = u16::from_le_bytes([f[2], f[3]]);
                    let rate = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
                    let bits = u16::from_le_bytes([f[14], f[15]]);
                    if tag != 1 || bits != 16 {
                        return Err(SpeechError::Wav("not 16-bit PCM"));
                    }
                    if channels == 0 || rate == 0 {
                        return Err(SpeechError::Wav("no channels or no sample rate"));
                    }
                    format = Some((channels, rate));
                }
                b"data" => {
                    let (channels, rate) =
                        format.ok_or(SpeechError::Wav("the data comes before its format"))?;
                    let frame = 2 * usize::from(channels);
                    let samples = bytes[body..end]
                        .chunks_exact(frame)
                        .map(|f| {
                            let sum: i32 = f
                                .chunks_exact(2)
                                .map(|s| i32::from(i16::from_le_bytes([s[0], s[1]])))
                                .sum();
                            (sum / i32::from(channels)) as i16
                        })
                        .collect();
                    return Ok(Pcm {
                        sample_rate: rate,
                        samples,
                    });
                }
                _ => {}
            }
            // Chunks are padded to an even length.
            at = end + (end - body) % 2;
        }
        Err(SpeechError::Wav("no data chunk"))
    }

    /// A complete WAV file, with its true sizes.
    pub fn to_wav(&self) -> Vec<u8> {
        let data_len = (self.samples.len() * 2) as u32;
        let mut out = Vec::with_capacity(44 + data_len as usize);
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data_len).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes()); // PCM
        out.extend_from_slice(&1u16.to_le_bytes()); // mono
        out.extend_from_slice(&self.sample_rate.to_le_bytes());
        out.extend_from_slice(&(self.sample_rate * 2).to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data_len.to_le_bytes());
        for s in &self.samples {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.samples.len() as f64 / f64::from(self.sample_rate.max(1)))
    }

    /// Root mean square of the samples, 0 for silence, on the scale of `i16`.
    pub fn rms(&self) -> f64 {
        if self.samples.is_empty() {
            return 0.0;
        }
        let sum: f64 = self.samples.iter().map(|&s| f64::from(s).powi(2)).sum();
        (sum / self.samples.len() as f64).sqrt()
    }

    /// The same audio at `percent` of its level (0–100; more is taken as 100).
    pub fn at_volume(&self, percent: u8) -> Pcm {
        let gain = i32::from(percent.min(100));
        Pcm {
            sample_rate: self.sample_rate,
            samples: self
                .samples
                .iter()
                .map(|&s| (i32::from(s) * gain / 100) as i16)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone() -> Pcm {
        Pcm {
            sample_rate: 22_050,
            samples: (0..2205)
                .map(|i| ((i as f64 / 10.0).sin() * 8000.0) as i16)
                .collect(),
        }
    }

    #[test]
    fn a_wav_reads_back_as_written() {
        let pcm = tone();
        assert_eq!(Pcm::from_wav(&pcm.to_wav()).expect("reads"), pcm);
        assert!((pcm.duration().as_secs_f64() - 0.1).abs() < 1e-9);
    }

    #[test]
    fn a_streamed_wav_runs_to_the_end_of_the_file() {
        let mut wav = tone().to_wav();
        wav[4..8].copy_from_slice(&0x7fff_f024u32.to_le_bytes());
        wav[40..44].copy_from_slice(&0x7fff_f000u32.to_le_bytes());
        assert_eq!(Pcm::from_wav(&wav).expect("reads").samples.len(), 2205);
    }

    #[test]
    fn broken_files_are_refused_not_panicked_on() {
        let wav = tone().to_wav();
        for cut in [0, 4, 11, 20, 36, 43] {
            assert!(Pcm::from_wav(&wav[..cut]).is_err(), "cut at {cut}");
        }
        let mut eight_bit = wav.clone();
        eight_bit[34] = 8;
        assert!(matches!(
            Pcm::from_wav(&eight_bit),
            Err(SpeechError::Wav(_))
        ));
        let mut too_long = wav;
        too_long[40..44].copy_from_slice(&1_000_000u32.to_le_bytes());
        assert!(Pcm::from_wav(&too_long).is_err());
    }

    #[test]
    fn volume_scales_the_level() {
        let pcm = tone();
        let half = pcm.at_volume(50);
        assert!((half.rms() / pcm.rms() - 0.5).abs() < 0.01);
        assert_eq!(pcm.at_volume(0).rms(), 0.0);
        assert_eq!(pcm.at_volume(200), pcm);
    }
}
