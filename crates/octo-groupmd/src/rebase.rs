//! Three-way merge of group.md texts: a proposal written against an older
//! revision is replayed on the current one. Lines are compared whole (with
//! their line endings), as `diff3` does; where both sides changed the same
//! place, the change is kept only if every line there is an item line
//! (`- …`), merged as a set: what the proposal removed goes, what it added
//! comes, the current lines stay. Anything else is a conflict for a person.

use crate::document::ItemLine;

/// Above this many line pairs per side we do not try (64 KiB documents stay
/// well below it); the caller treats it as a conflict.
const MAX_CELLS: usize = 4_000_000;

/// Replays the change `base → theirs` on `ours`. `None` when the two changed
/// the same lines in ways that cannot both be kept.
pub fn merge3(base: &str, ours: &str, theirs: &str) -> Option<String> {
    let b: Vec<&str> = base.split_inclusive('\n').collect();
    let o: Vec<&str> = ours.split_inclusive('\n').collect();
    let t: Vec<&str> = theirs.split_inclusive('\n').collect();
    let in_ours = matches(&b, &o)?;
    let in_theirs = matches(&b, &t)?;
    let (mut i, mut j, mut k) = (0, 0, 0);
    let mut out = String::with_capacity(ours.len().max(theirs.len()));
    loop {
        // The next base line both sides kept (or the end of all three).
        let next = (i..b.len()).find_map(|x| Some((x, in_ours[x]?, in_theirs[x]?)));
        let (x, y, z) = next.unwrap_or((b.len(), o.len(), t.len()));
        resolve(&b[i..x], &o[j..y], &t[k..z], &mut out)?;
        if x == b.len() {
            return Some(out);
        }
        out.push_str(b[x]);
        (i, j, k) = (x + 1, y + 1, z + 1);
    }
}

/// For each line of `a`, the line of `b` it is matched to by a longest common
/// subsequence; `None` if the table would be too large.
fn matches(a: &[&str], b: &[&str]) -> Option<Vec<Option<usize>>> {
    if a.len().saturating_mul(b.len()) > MAX_CELLS {
        return None;
    }
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
    let mut out = vec![None; a.len()];
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out[i] = Some(j);
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * width + j] >= lcs[i * width + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    Some(out)
}

/// One unstable stretch: the base's lines and what each side has there.
fn resolve(base: &[&str], ours: &[&str], theirs: &[&str], out: &mut String) -> Option<()> {
    let chosen: Vec<&str> = if theirs == base || ours == theirs {
        ours.to_vec()
    } else if ours == base {
        theirs.to_vec()
    } else if [base, ours, theirs]
        .iter()
        .all(|lines| lines.iter().all(|l| ItemLine::parse(l).is_some()))
    {
        let removed = |l: &&str| base.contains(l) && !theirs.contains(l);
        let added = theirs
            .iter()
            .filter(|l| !base.contains(l) && !ours.contains(l));
        let mut kept: Vec<&str> = ours.iter().filter(|l| !removed(l)).copied().collect();
        kept.extend(added);
        kept
    } else {
        return None;
    };
    for line in chosen {
        // A line that lost its end by landing before another gets one back.
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(line);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::merge3;
    use crate::TEMPLATE;

    fn with(decisions: &str, actions: &str) -> String {
        TEMPLATE
            .replace("## Decisions\n", &format!("## Decisions\n{decisions}"))
            .replace("## Action items\n", &format!("## Action items\n{actions}"))
    }

    #[test]
    fn an_unchanged_side_takes_the_other() {
        let base = with("- a\n", "");
        let theirs = with("- a\n- b\n", "");
        assert_eq!(merge3(&base, &base, &theirs), Some(theirs.clone()));
        assert_eq!(merge3(&base, &theirs, &base), Some(theirs.clone()));
        assert_eq!(merge3(&base, &theirs, &theirs), Some(theirs));
    }

    #[test]
    fn changes_in_different_places_both_land() {
        let base = with("- a\n", "- [ ] ship (@ana)\n");
        let ours = with("- a\n", "- [x] ship (@ana)\n");
        let theirs = TEMPLATE
            .replace("## Purpose\n", "## Purpose\nGrow tomatoes.\n")
            .replace("## Decisions\n", "## Decisions\n- a\n")
            .replace("## Action items\n", "## Action items\n- [ ] ship (@ana)\n");
        let merged = merge3(&base, &ours, &theirs).expect("merges");
        assert!(merged.contains("Grow tomatoes."), "{merged}");
        assert!(merged.contains("- [x] ship (@ana)"), "{merged}");
    }

    #[test]
    fn items_added_at_one_spot_are_all_kept() {
        let base = with("- a\n", "");
        let ours = with("- a\n- from a person\n", "");
        let theirs = with("- a\n- from the proposal\n", "");
        assert_eq!(
            merge3(&base, &ours, &theirs),
            Some(with("- a\n- from a person\n- from the proposal\n", ""))
        );
    }

    #[test]
    fn item_edits_at_one_spot_merge_as_a_set() {
        // One side closed an item, the other added one after it.
        let base = with("", "- [ ] ship (@ana)\n");
        let ours = with("", "- [x] ship (@ana)\n");
        let theirs = with("", "- [ ] ship (@ana)\n- [ ] docs (@bo)\n");
        assert_eq!(
            merge3(&base, &ours, &theirs),
            Some(with("", "- [x] ship (@ana)\n- [ ] docs (@bo)\n"))
        );
    }

    #[test]
    fn prose_edited_on_both_sides_is_a_conflict() {
        let base = TEMPLATE.replace("## Purpose\n", "## Purpose\nGrow things.\n");
        let ours = TEMPLATE.replace("## Purpose\n", "## Purpose\nGrow tomatoes.\n");
        let theirs = TEMPLATE.replace("## Purpose\n", "## Purpose\nGrow beans.\n");
        assert_eq!(merge3(&base, &ours, &theirs), None);
    }
}
