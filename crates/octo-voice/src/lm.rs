//! A small trigram language model of the channel's recent messages: written
//! out as ARPA for the recogniser, and queried by the correction pass.
//!
//! Absolute discounting (D = 0.5) with back-off to bigrams and to add-half
//! unigrams; plenty for a few hundred messages.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

const DISCOUNT: f64 = 0.5;
pub const BOS: &str = "<s>";
pub const EOS: &str = "</s>";
pub const UNK: &str = "<unk>";

/// Words as the recogniser spells them: lowercase, identifiers kept whole,
/// `@priya` said as `at priya`, punctuation dropped.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in text.split_whitespace() {
        let trimmed = raw.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_' || c == '@'));
        if trimmed.is_empty() || trimmed.contains("://") {
            continue;
        }
        let lower = trimmed.to_lowercase();
        if let Some(name) = lower.strip_prefix('@') {
            out.push("at".to_string());
            if !name.is_empty() {
                out.push(name.to_string());
            }
        } else {
            out.push(lower);
        }
    }
    out
}

#[derive(Debug, Default, Clone)]
pub struct NgramModel {
    uni: HashMap<String, f64>,
    bi: HashMap<(String, String), f64>,
    tri: HashMap<(String, String, String), f64>,
    total: f64,
}

impl NgramModel {
    /// Adds one sentence with a weight (recent messages count more).
    pub fn add(&mut self, words: &[String], weight: f64) {
        if words.is_empty() {
            return;
        }
        let mut seq = vec![BOS.to_string()];
        seq.extend(words.iter().cloned());
        seq.push(EOS.to_string());
        for w in &seq[1..] {
            *self.uni.entry(w.clone()).or_default() += weight;
            self.total += weight;
        }
        for p in seq.windows(2) {
            *self.bi.entry((p[0].clone(), p[1].clone())).or_default() += weight;
        }
        for t in seq.windows(3) {
            *self
                .tri
                .entry((t[0].clone(), t[1].clone(), t[2].clone()))
                .or_default() += weight;
        }
    }

    pub fn contains(&self, word: &str) -> bool {
        self.uni.contains_key(word)
    }

    pub fn count(&self, word: &str) -> f64 {
        self.uni.get(word).copied().unwrap_or(0.0)
    }

    fn vocab_size(&self) -> f64 {
        (self.uni.len() + 1) as f64
    }

    fn p_uni(&self, w: &str) -> f64 {
        let c = self.uni.get(w).copied().unwrap_or(0.0);
        (c + 0.5) / (self.total + 0.5 * self.vocab_size())
    }

    fn history_stats(&self, v: &str) -> (f64, f64) {
        let mut total = 0.0;
        let mut types = 0.0;
        for ((a, _), c) in &self.bi {
            if a == v {
                total += c;
                types += 1.0;
            }
        }
        (total, types)
    }

    fn p_bi(&self, v: &str, w: &str) -> f64 {
        let (total, types) = self.history_stats(v);
        if total <= 0.0 {
            return self.p_uni(w);
        }
        let seen = self
            .bi
            .get(&(v.to_string(), w.to_string()))
            .map_or(0.0, |c| (c - DISCOUNT).max(0.0) / total);
        seen + DISCOUNT * types / total * self.p_uni(w)
    }

    /// log10 P(w | u v) with interpolated back-off.
    pub fn logprob(&self, u: &str, v: &str, w: &str) -> f64 {
        let mut total = 0.0;
        let mut types = 0.0;
        let mut hit = 0.0;
        for ((a, b, c), n) in &self.tri {
            if a == u && b == v {
                total += n;
                types += 1.0;
                if c == w {
                    hit = *n;
                }
            }
        }
        let p = if total > 0.0 {
            (hit - DISCOUNT).max(0.0) / total + DISCOUNT * types / total * self.p_bi(v, w)
        } else {
            self.p_bi(v, w)
        };
        p.log10()
    }

    /// log10 probability of a whole word sequence.
    pub fn score(&self, words: &[String]) -> f64 {
        let mut seq = vec![BOS.to_string(), BOS.to_string()];
        seq.extend(words.iter().cloned());
        seq.push(EOS.to_string());
        seq.windows(3)
            .map(|t| self.logprob(&t[0], &t[1], &t[2]))
            .sum()
    }

    /// The model in ARPA format, restricted to words the recogniser can
    /// say (`known`), since sphinx drops n-grams of unknown words anyway.
    pub fn to_arpa(&self, known: &dyn Fn(&str) -> bool) -> String {
        let keep = |w: &str| w == BOS || w == EOS || known(w);
        let mut uni: Vec<&String> = self.uni.keys().filter(|w| keep(w)).collect();
        uni.sort();
        let mut bi: Vec<(&(String, String), &f64)> = self
            .bi
            .iter()
            .filter(|((a, b), _)| keep(a) && keep(b))
            .collect();
        bi.sort_by(|a, b| a.0.cmp(b.0));
        let mut tri: Vec<(&(String, String, String), &f64)> = self
            .tri
            .iter()
            .filter(|((a, b, c), _)| keep(a) && keep(b) && keep(c) && a != BOS)
            .collect();
        tri.sort_by(|a, b| a.0.cmp(b.0));
        let histories: HashSet<&str> = bi.iter().map(|((a, _), _)| a.as_str()).collect();
        let bi_histories: HashSet<(&str, &str)> = tri
            .iter()
            .map(|((a, b, _), _)| (a.as_str(), b.as_str()))
            .collect();

        let mut out = String::from("\\data\\\n");
        let _ = writeln!(out, "ngram 1={}", uni.len() + 2);
        let _ = writeln!(out, "ngram 2={}", bi.len());
        let _ = writeln!(out, "ngram 3={}\n", tri.len());
        out.push_str("\\1-grams:\n");
        let bow_of = |w: &str| {
            if histories.contains(w) {
                let (total, types) = self.history_stats(w);
                (DISCOUNT * types / total.max(1e-9)).max(1e-9).log10()
            } else {
                0.0
            }
        };
        let _ = writeln!(out, "{:.4}\t{BOS}\t{:.4}", -99.0, bow_of(BOS));
        let _ = writeln!(out, "{:.4}\t{UNK}", self.p_uni(UNK).log10());
        for w in &uni {
            if w.as_str() == BOS {
                continue;
            }
            let _ = writeln!(out, "{:.4}\t{w}\t{:.4}", self.p_uni(w).log10(), bow_of(w));
        }
        out.push_str("\n\\2-grams:\n");
        for ((a, b), _) in &bi {
            let p = self.p_bi(a, b).log10();
            if bi_histories.contains(&(a.as_str(), b.as_str())) {
                let (total, types) = self.tri_history(a, b);
                let bow = (DISCOUNT * types / total.max(1e-9)).max(1e-9).log10();
                let _ = writeln!(out, "{p:.4}\t{a} {b}\t{bow:.4}");
            } else {
                let _ = writeln!(out, "{p:.4}\t{a} {b}");
            }
        }
        out.push_str("\n\\3-grams:\n");
        for ((a, b, c), _) in &tri {
            let _ = writeln!(out, "{:.4}\t{a} {b} {c}", self.logprob(a, b, c));
        }
        out.push_str("\n\\end\\\n");
        out
    }

    fn tri_history(&self, u: &str, v: &str) -> (f64, f64) {
        let mut total = 0.0;
        let mut types = 0.0;
        for ((a, b, _), n) in &self.tri {
            if a == u && b == v {
                total += n;
                types += 1.0;
            }
        }
        (total, types)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        tokens(s)
    }

    #[test]
    fn tokens_keep_identifiers_and_say_mentions() {
        assert_eq!(
            tokens("@Priya, check node_exporter on checkout-api!"),
            [
                "at",
                "priya",
                "check",
                "node_exporter",
                "on",
                "checkout-api"
            ]
        );
    }

    #[test]
    fn seen_sequences_score_higher_than_unseen() {
        let mut lm = NgramModel::default();
        lm.add(&words("restart the pgbouncer pool"), 1.0);
        lm.add(&words("the pgbouncer pool is full"), 1.0);
        assert!(lm.score(&words("the pgbouncer pool")) > lm.score(&words("the pig bouncer pool")));
        let arpa = lm.to_arpa(&|_| true);
        assert!(arpa.contains("\\3-grams:"));
        assert!(arpa.contains("pgbouncer pool"));
    }
}
