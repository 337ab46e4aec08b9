//! A line diff for revision history: ` ` kept, `-` removed, `+` added lines.

/// Above this many line pairs the diff is "all old out, all new in" rather than
/// a longest-common-subsequence table (64 KiB documents stay far below it).
const MAX_CELLS: usize = 4_000_000;

/// Lines of `old` and `new`, each prefixed with ` `, `-` or `+`, ending in `\n`.
pub fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut out = String::new();
    if a.len().saturating_mul(b.len()) > MAX_CELLS {
        a.iter().for_each(|l| push(&mut out, '-', l));
        b.iter().for_each(|l| push(&mut out, '+', l));
        return out;
    }
    // lcs[i][j] = common lines of a[i..] and b[j..].
    let width = b.len() + 1;
    let mut lcs = vec![0u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i * width + j] = if a[i] == b[j] {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            push(&mut out, ' ', a[i]);
            i += 1;
            j += 1;
        } else if i < a.len()
            && (j == b.len() || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])
        {
            // Removals first, as unified diffs show them.
            push(&mut out, '-', a[i]);
            i += 1;
        } else {
            push(&mut out, '+', b[j]);
            j += 1;
        }
    }
    out
}

fn push(out: &mut String, mark: char, line: &str) {
    out.push(mark);
    out.push_str(line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::line_diff;

    #[test]
    fn marks_kept_removed_and_added_lines() {
        assert_eq!(line_diff("a\nb\nc\n", "a\nc\nd\n"), " a\n-b\n c\n+d\n");
        assert_eq!(line_diff("", "x\n"), "+x\n");
        assert_eq!(line_diff("same\n", "same\n"), " same\n");
        assert_eq!(line_diff("one\n", "two\n"), "-one\n+two\n");
    }
}
