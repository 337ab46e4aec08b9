//! Biasing a recogniser toward a channel's words also pulls ordinary speech
//! toward them ("let's aim" heard as "but same"). So the biased hypothesis is
//! aligned with the general one, and where they differ the biased words are
//! kept only when they bring in one of the channel's own terms or are all
//! words the channel has written.

use crate::context::ChannelContext;

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Same,
    Differ,
}

/// Word alignment of two hypotheses (Levenshtein, unit costs), as pairs of
/// index ranges with whether they matched.
fn align(a: &[String], b: &[String]) -> Vec<(Op, usize, usize)> {
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=m).collect();
    for i in 1..=n {
        for j in 1..=m {
            let sub = d[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = sub.min(d[i - 1][j] + 1).min(d[i][j - 1] + 1);
        }
    }
    // Walk back: (op, a index, b index) per step, None for a gap.
    let mut steps = Vec::new();
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        if i > 0 && j > 0 && d[i][j] == d[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]) {
            let op = if a[i - 1] == b[j - 1] {
                Op::Same
            } else {
                Op::Differ
            };
            steps.push((op, i, j));
            i -= 1;
            j -= 1;
        } else if i > 0 && d[i][j] == d[i - 1][j] + 1 {
            steps.push((Op::Differ, i, j));
            i -= 1;
        } else {
            steps.push((Op::Differ, i, j));
            j -= 1;
        }
    }
    steps.reverse();
    steps
}

/// The general hypothesis, with the biased one's words where they differ
/// and bring in a channel term.
pub fn merge(general: &str, biased: &str, context: &ChannelContext) -> String {
    let a: Vec<String> = general.split_whitespace().map(str::to_string).collect();
    let b: Vec<String> = biased.split_whitespace().map(str::to_string).collect();
    let steps = align(&a, &b);
    let mut out: Vec<String> = Vec::new();
    let mut region_a: Vec<String> = Vec::new();
    let mut region_b: Vec<String> = Vec::new();
    let (mut prev_i, mut prev_j) = (0usize, 0usize);
    let flush = |out: &mut Vec<String>, ra: &mut Vec<String>, rb: &mut Vec<String>| {
        let brings_term = rb.iter().any(|w| context.term(&w.to_lowercase()).is_some());
        // Words the channel itself has written are its phrases coming back.
        let channel_words = !rb.is_empty()
            && rb
                .iter()
                .all(|w| context.lm.count(&w.to_lowercase()) >= 1.0);
        if brings_term || channel_words {
            out.append(rb);
            ra.clear();
        } else {
            out.append(ra);
            rb.clear();
        }
    };
    for (op, i, j) in steps {
        let took_a = i > prev_i;
        let took_b = j > prev_j;
        match op {
            Op::Same => {
                flush(&mut out, &mut region_a, &mut region_b);
                out.push(a[i - 1].clone());
            }
            Op::Differ => {
                if took_a {
                    region_a.push(a[i - 1].clone());
                }
                if took_b {
                    region_b.push(b[j - 1].clone());
                }
            }
        }
        prev_i = i;
        prev_j = j;
    }
    flush(&mut out, &mut region_a, &mut region_b);
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ChannelInput;
    use crate::phones::Pronouncer;

    #[test]
    fn keeps_biased_words_only_where_they_bring_a_term() {
        let pronouncer = Pronouncer::load(std::path::Path::new("/nonexistent"));
        let input = ChannelInput {
            messages: vec!["restart pgbouncer now".into()],
            ..ChannelInput::default()
        };
        let context = ChannelContext::build(&input, &pronouncer);
        assert_eq!(
            merge(
                "let's aim to check the pig bouncer pool",
                "but same to check the pgbouncer pool",
                &context
            ),
            "let's aim to check the pgbouncer pool"
        );
    }
}
