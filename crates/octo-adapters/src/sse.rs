//! Server-sent events, as far as the connectors need them: `data:` payloads
//! (multi-line joined) of events separated by blank lines.

/// Most bytes an unfinished event may hold before the stream is refused.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

#[derive(Debug, Default)]
pub struct SseParser {
    buf: String,
    data: Vec<String>,
    pending: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
#[error("an event of the stream is over {MAX_EVENT_BYTES} bytes")]
pub struct TooLarge;

impl SseParser {
    /// Feeds bytes; returns the `data` of every event they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<String>, TooLarge> {
        self.pending.extend_from_slice(bytes);
        // Only whole UTF-8 characters go on; a cut one waits.
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(s) => s.len(),
            Err(e) => e.valid_up_to(),
        };
        let rest = self.pending.split_off(valid);
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending = rest;
        self.buf.push_str(&text);
        if self.buf.len() > MAX_EVENT_BYTES {
            return Err(TooLarge);
        }
        let mut out = Vec::new();
        while let Some(end) = self.buf.find('\n') {
            let line: String = self.buf.drain(..=end).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    out.push(self.data.join("\n"));
                    self.data.clear();
                }
            } else if let Some(value) = line.strip_prefix("data:") {
                self.data
                    .push(value.strip_prefix(' ').unwrap_or(value).to_owned());
            }
            // `event:`, `id:`, `retry:` and comments are not needed here.
        }
        Ok(out)
    }

    /// What is left when the stream ends (an event without its blank line).
    pub fn finish(&mut self) -> Option<String> {
        let last = self.buf.trim_end_matches(['\n', '\r']).to_owned();
        if let Some(value) = last.strip_prefix("data:") {
            self.data.push(value.trim_start().to_owned());
        }
        self.buf.clear();
        (!self.data.is_empty()).then(|| std::mem::take(&mut self.data).join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_come_out_whole() {
        let stream = "data: {\"a\":1}\n\n: comment\nevent: x\ndata: two\ndata: lines\r\n\r\ndata: [DONE]\n\n";
        for cut in 0..stream.len() {
            let mut p = SseParser::default();
            let mut got = p.feed(&stream.as_bytes()[..cut]).unwrap();
            got.extend(p.feed(&stream.as_bytes()[cut..]).unwrap());
            assert_eq!(got, ["{\"a\":1}", "two\nlines", "[DONE]"], "cut at {cut}");
        }
    }
}
