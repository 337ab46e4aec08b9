//! WAV in, 16 kHz mono 16-bit samples out: the one format every engine takes.
//!
//! Accepted: RIFF/WAVE with PCM integer samples of 8 (unsigned), 16, 24 or 32
//! bits, or IEEE float32, at any rate from 4 kHz to 192 kHz and 1 to 8
//! channels (also as WAVE_FORMAT_EXTENSIBLE). Channels are averaged; the rate
//! is converted with a windowed-sinc low-pass resampler so that 44.1 kHz
//! speech does not alias into the speech band.

use thiserror::Error;

/// The rate every engine is fed.
pub const TARGET_RATE: u32 = 16_000;
/// Longest utterance accepted, in seconds.
pub const MAX_SECONDS: f64 = 60.0;
/// Largest WAV accepted: 60 s of 48 kHz stereo float32 (23 MB) fits.
pub const MAX_AUDIO_BYTES: usize = 24 * 1024 * 1024;
const MIN_RATE: u32 = 4_000;
const MAX_RATE: u32 = 192_000;
const MAX_CHANNELS: u16 = 8;

#[derive(Debug, Error, PartialEq)]
pub enum AudioError {
    #[error("the audio is empty")]
    Empty,
    #[error("not a WAV file: {0}")]
    NotWav(&'static str),
    #[error("unsupported WAV format: {0}")]
    Unsupported(String),
    #[error("the audio is {seconds:.1} s long; at most {max} s are accepted")]
    TooLong { seconds: f64, max: f64 },
    #[error("the audio is {bytes} bytes; at most {max} bytes are accepted")]
    TooLarge { bytes: usize, max: usize },
}

/// Decoded audio, ready for an engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Mono samples at [`TARGET_RATE`].
    pub samples: Vec<i16>,
}

impl Audio {
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(TARGET_RATE)
    }

    /// The samples as a canonical 16 kHz mono 16-bit WAV file.
    pub fn to_wav(&self) -> Vec<u8> {
        let data_len = (self.samples.len() * 2) as u32;
        let mut out = Vec::with_capacity(44 + data_len as usize);
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data_len).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&TARGET_RATE.to_le_bytes());
        out.extend_from_slice(&(TARGET_RATE * 2).to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data_len.to_le_bytes());
        for s in &self.samples {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }
}

#[derive(Debug, Clone, Copy)]
enum SampleFormat {
    Int(u16),
    Float32,
}

struct Format {
    sample: SampleFormat,
    channels: u16,
    rate: u32,
}

/// Parses a WAV file and converts it to 16 kHz mono.
pub fn decode_wav(bytes: &[u8]) -> Result<Audio, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    if bytes.len() > MAX_AUDIO_BYTES {
        return Err(AudioError::TooLarge {
            bytes: bytes.len(),
            max: MAX_AUDIO_BYTES,
        });
    }
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(AudioError::NotWav(
            "it does not start with a RIFF/WAVE header",
        ));
    }
    let mut format = None;
    let mut data = None;
    let mut pos = 12usize;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let declared = u32_at(bytes, pos + 4) as usize;
        let body_start = pos + 8;
        // Streaming writers leave the size at 0 or u32::MAX; take what is there.
        let body_end = body_start.saturating_add(declared).min(bytes.len());
        let body = &bytes[body_start..body_end];
        match id {
            b"fmt " => format = Some(parse_format(body)?),
            b"data" => {
                data = Some(if declared == 0 {
                    &bytes[body_start..]
                } else {
                    body
                });
                break;
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        pos = body_start
            .saturating_add(declared)
            .saturating_add(declared & 1);
    }
    let format = format.ok_or(AudioError::NotWav("it has no fmt chunk"))?;
    let data = data.ok_or(AudioError::NotWav("it has no data chunk"))?;
    let frame_bytes = usize::from(format.channels) * usize::from(bits(format.sample) / 8);
    let frames = data.len() / frame_bytes;
    if frames == 0 {
        return Err(AudioError::Empty);
    }
    let seconds = frames as f64 / f64::from(format.rate);
    if seconds > MAX_SECONDS {
        return Err(AudioError::TooLong {
            seconds,
            max: MAX_SECONDS,
        });
    }
    let mono = to_mono(&data[..frames * frame_bytes], &format);
    let resampled = resample(&mono, format.rate, TARGET_RATE);
    let samples = resampled
        .iter()
        .map(|s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect();
    Ok(Audio { samples })
}

fn bits(sample: SampleFormat) -> u16 {
    match sample {
        SampleFormat::Int(b) => b,
        SampleFormat::Float32 => 32,
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn parse_format(body: &[u8]) -> Result<Format, AudioError> {
    if body.len() < 16 {
        return Err(AudioError::NotWav("its fmt chunk is truncated"));
    }
    let mut tag = u16_at(body, 0);
    let channels = u16_at(body, 2);
    let rate = u32_at(body, 4);
    let bits = u16_at(body, 14);
    if tag == 0xFFFE {
        // WAVE_FORMAT_EXTENSIBLE: the real tag opens the sub-format GUID.
        if body.len() < 26 {
            return Err(AudioError::NotWav("its extensible fmt chunk is truncated"));
        }
        tag = u16_at(body, 24);
    }
    if channels == 0 || channels > MAX_CHANNELS {
        return Err(AudioError::Unsupported(format!(
            "{channels} channels (1 to {MAX_CHANNELS} are accepted)"
        )));
    }
    if !(MIN_RATE..=MAX_RATE).contains(&rate) {
        return Err(AudioError::Unsupported(format!(
            "a sample rate of {rate} Hz ({MIN_RATE} to {MAX_RATE} Hz are accepted)"
        )));
    }
    let sample = match (tag, bits) {
        (1, 8 | 16 | 24 | 32) => SampleFormat::Int(bits),
        (3, 32) => SampleFormat::Float32,
        (1, b) => {
            return Err(AudioError::Unsupported(format!(
                "{b}-bit integer samples (8, 16, 24 and 32 are accepted)"
            )));
        }
        (3, b) => {
            return Err(AudioError::Unsupported(format!(
                "{b}-bit float samples (32 is accepted)"
            )));
        }
        (t, _) => {
            return Err(AudioError::Unsupported(format!(
                "format tag {t:#06x} (PCM and IEEE float are accepted)"
            )));
        }
    };
    Ok(Format {
        sample,
        channels,
        rate,
    })
}

fn sample_at(frame: &[u8], sample: SampleFormat) -> f32 {
    match sample {
        SampleFormat::Int(8) => (f32::from(frame[0]) - 128.0) / 128.0,
        SampleFormat::Int(16) => f32::from(i16::from_le_bytes([frame[0], frame[1]])) / 32768.0,
        SampleFormat::Int(24) => {
            let v = i32::from_le_bytes([0, frame[0], frame[1], frame[2]]) >> 8;
            v as f32 / 8_388_608.0
        }
        SampleFormat::Int(_) => {
            i32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]) as f32 / 2_147_483_648.0
        }
        SampleFormat::Float32 => {
            let v = f32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]);
            if v.is_finite() {
                v.clamp(-1.0, 1.0)
            } else {
                0.0
            }
        }
    }
}

fn to_mono(data: &[u8], format: &Format) -> Vec<f32> {
    let width = usize::from(bits(format.sample) / 8);
    let channels = usize::from(format.channels);
    data.chunks_exact(width * channels)
        .map(|frame| {
            let sum: f32 = frame
                .chunks_exact(width)
                .map(|s| sample_at(s, format.sample))
                .sum();
            sum / channels as f32
        })
        .collect()
}

/// Zero crossings of the sinc kernel on each side: enough for a clean
/// stop band on speech without making a minute of 48 kHz audio slow.
const HALF_TAPS: f64 = 16.0;

/// Band-limited resampling: each output sample is the input convolved with a
/// Hann-windowed sinc whose cutoff is the lower of the two Nyquist rates.
pub fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || input.is_empty() {
        return input.to_vec();
    }
    let ratio = f64::from(to) / f64::from(from);
    let cutoff = ratio.min(1.0); // relative to the input's Nyquist
    let half_width = HALF_TAPS / cutoff; // in input samples
    let out_len = ((input.len() as f64) * ratio).floor() as usize;
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len {
        let center = n as f64 / ratio;
        let first = (center - half_width).ceil().max(0.0) as usize;
        let last = ((center + half_width).floor() as usize).min(input.len() - 1);
        let mut acc = 0.0f64;
        let mut norm = 0.0f64;
        for (i, s) in input.iter().enumerate().take(last + 1).skip(first) {
            let x = i as f64 - center;
            let arg = x * cutoff;
            let sinc = if arg.abs() < 1e-9 {
                1.0
            } else {
                (std::f64::consts::PI * arg).sin() / (std::f64::consts::PI * arg)
            };
            let window = 0.5 + 0.5 * (std::f64::consts::PI * x / half_width).cos();
            let w = sinc * window;
            acc += f64::from(*s) * w;
            norm += w;
        }
        // Normalising by the kernel's sum keeps DC gain at exactly 1.
        out.push(if norm.abs() > 1e-9 {
            (acc / norm) as f32
        } else {
            0.0
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&channels.to_le_bytes());
        out.extend_from_slice(&rate.to_le_bytes());
        let block = channels * bits / 8;
        out.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
        out.extend_from_slice(&block.to_le_bytes());
        out.extend_from_slice(&bits.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        out
    }

    fn sine(rate: u32, freq: f64, seconds: f64) -> Vec<f64> {
        let n = (f64::from(rate) * seconds) as usize;
        (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin() * 0.5)
            .collect()
    }

    fn rms(s: &[i16]) -> f64 {
        let sum: f64 = s.iter().map(|v| f64::from(*v).powi(2)).sum();
        (sum / s.len() as f64).sqrt() / 32768.0
    }

    #[test]
    fn stereo_44k_16bit_becomes_16k_mono_with_the_tone_kept() {
        let tone = sine(44_100, 440.0, 1.0);
        let mut data = Vec::new();
        for v in &tone {
            let s = (*v * 32767.0) as i16;
            data.extend_from_slice(&s.to_le_bytes());
            data.extend_from_slice(&s.to_le_bytes());
        }
        let audio = decode_wav(&wav(1, 2, 44_100, 16, &data)).unwrap();
        assert!((audio.samples.len() as i64 - 16_000).abs() <= 1);
        // A 0.5-amplitude sine has an RMS of 0.354.
        let r = rms(&audio.samples[100..15_900]);
        assert!((r - 0.354).abs() < 0.02, "rms {r}");
    }

    #[test]
    fn tones_above_8k_are_filtered_out_not_aliased() {
        let tone = sine(48_000, 12_000.0, 0.5);
        let data: Vec<u8> = tone
            .iter()
            .flat_map(|v| (*v as f32).to_le_bytes())
            .collect();
        let audio = decode_wav(&wav(3, 1, 48_000, 32, &data)).unwrap();
        assert!(rms(&audio.samples[200..7_800]) < 0.02);
    }

    #[test]
    fn eight_and_twenty_four_bit_decode_to_the_same_level() {
        let tone = sine(16_000, 300.0, 0.25);
        let d8: Vec<u8> = tone.iter().map(|v| (v * 127.0 + 128.0) as u8).collect();
        let d24: Vec<u8> = tone
            .iter()
            .flat_map(|v| {
                let i = (v * 8_388_607.0) as i32;
                let b = i.to_le_bytes();
                [b[0], b[1], b[2]]
            })
            .collect();
        let a = decode_wav(&wav(1, 1, 16_000, 8, &d8)).unwrap();
        let b = decode_wav(&wav(1, 1, 16_000, 24, &d24)).unwrap();
        assert!((rms(&a.samples) - rms(&b.samples)).abs() < 0.01);
    }

    #[test]
    fn bad_input_is_named() {
        assert_eq!(decode_wav(b""), Err(AudioError::Empty));
        assert!(matches!(
            decode_wav(b"RIFF\0\0\0\0WAVEfm"),
            Err(AudioError::NotWav(_))
        ));
        assert!(matches!(
            decode_wav(b"hello, this is text"),
            Err(AudioError::NotWav(_))
        ));
        let long = vec![0u8; 16_000 * 2 * 61];
        assert!(matches!(
            decode_wav(&wav(1, 1, 16_000, 16, &long)),
            Err(AudioError::TooLong { .. })
        ));
        assert!(matches!(
            decode_wav(&wav(1, 1, 16_000, 12, &[0, 0])),
            Err(AudioError::Unsupported(_))
        ));
    }

    #[test]
    fn to_wav_round_trips() {
        let audio = Audio {
            samples: vec![0, 1000, -1000, 32767],
        };
        let back = decode_wav(&audio.to_wav()).unwrap();
        assert_eq!(back.samples, audio.samples);
    }
}
