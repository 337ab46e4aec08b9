//! Checking a whole revised document someone else wrote (an LLM) against the
//! current one before it is proposed: a model may rewrite the standard sections,
//! but never the people's own text around them.

use thiserror::Error;

use crate::document::{Document, MAX_BYTES, SectionKind};
use crate::model::Member;

/// Why a revised document is refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RevisionError {
    #[error("the revision is {0} bytes; the limit is {MAX_BYTES}")]
    TooLarge(usize),
    #[error("the revision drops the \"## {0}\" section")]
    MissingSection(&'static str),
    #[error("the revision has the \"## {0}\" section more than once")]
    DuplicateSection(&'static str),
    /// The preamble or a section people added themselves was changed, dropped,
    /// moved or invented.
    #[error("the revision changes text outside the standard sections: {0:?}")]
    HumanTextChanged(String),
    #[error("the revision names @{0} as an owner, who is not a member")]
    UnknownOwner(String),
}

/// Checks `revised` against `current`:
///
/// * within [`MAX_BYTES`];
/// * every standard section of `current` is still there, none twice;
/// * the blocks outside the standard sections (the preamble, sections people
///   added) are the same, in the same order: only their trailing blank lines
///   may differ, since those are the layout between sections;
/// * an action item's owner is a member, or was already an owner in `current`
///   (a person may have written a name the scribe does not know).
///
/// Returns the parsed revision.
pub fn check_revision(
    current: &str,
    revised: &str,
    members: &[Member],
) -> Result<Document, RevisionError> {
    if revised.len() > MAX_BYTES {
        return Err(RevisionError::TooLarge(revised.len()));
    }
    let before = Document::parse(current);
    let after = Document::parse(revised);
    for kind in SectionKind::ALL {
        let count = |doc: &Document| doc.blocks.iter().filter(|b| b.kind == Some(kind)).count();
        if count(&after) > 1 {
            return Err(RevisionError::DuplicateSection(kind.title()));
        }
        if count(&before) > 0 && count(&after) == 0 {
            return Err(RevisionError::MissingSection(kind.title()));
        }
    }
    let human = |doc: &Document| -> Vec<String> {
        doc.blocks
            .iter()
            .filter(|b| b.kind.is_none())
            .map(|b| b.lines.concat().trim_end().to_owned())
            .collect()
    };
    let (old, new) = (human(&before), human(&after));
    if let Some(changed) = old
        .iter()
        .zip(&new)
        .find(|(o, n)| o != n)
        .map(|(o, _)| o)
        .or_else(|| old.get(new.len()))
        .or_else(|| new.get(old.len()))
    {
        return Err(RevisionError::HumanTextChanged(first_line(changed)));
    }
    let known: Vec<String> = before
        .items(SectionKind::ActionItems)
        .into_iter()
        .filter_map(|i| i.owner)
        .chain(members.iter().map(|m| m.name.clone()))
        .collect();
    for item in after.items(SectionKind::ActionItems) {
        if let Some(owner) = item.owner
            && !known.iter().any(|k| k.eq_ignore_ascii_case(&owner))
        {
            return Err(RevisionError::UnknownOwner(owner));
        }
    }
    Ok(after)
}

/// The first line of a block, to say which one in a log line.
fn first_line(block: &str) -> String {
    let line = block.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    line.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TEMPLATE;

    fn members() -> Vec<Member> {
        vec![Member {
            name: "ana".into(),
            agent: false,
        }]
    }

    const CURRENT: &str = "# group.md\n\nOur own words.\n\n## Purpose\n\n## Decisions\n- use Postgres\n\n## Rota\nbo on Mondays\n\n## Working agreements\n\n## Open questions\n\n## Action items\n- [ ] ship it (@zed)\n\n## Glossary\n";

    #[test]
    fn a_revision_of_the_standard_sections_passes() {
        let revised = CURRENT
            .replace(
                "- use Postgres\n",
                "- use Postgres\n- weekly demos (from #4)\n",
            )
            .replace("(@zed)\n", "(@zed)\n- [ ] write docs (@Ana, from #5)\n")
            // Trailing blank lines of a human block are layout.
            .replace("bo on Mondays\n\n", "bo on Mondays\n");
        let doc = check_revision(CURRENT, &revised, &members()).expect("valid");
        assert_eq!(doc.items(SectionKind::ActionItems).len(), 2);
        assert!(check_revision(TEMPLATE, TEMPLATE, &[]).is_ok());
    }

    #[test]
    fn human_text_sections_owners_and_size_are_guarded() {
        let cases = [
            (
                CURRENT.replace("Our own words.\n", "Our words.\n"),
                RevisionError::HumanTextChanged("# group.md".into()),
            ),
            (
                CURRENT.replace("## Rota\nbo on Mondays\n\n", ""),
                RevisionError::HumanTextChanged("## Rota".into()),
            ),
            (
                format!("{CURRENT}\n## Extra\ninvented\n"),
                RevisionError::HumanTextChanged("## Extra".into()),
            ),
            (
                CURRENT.replace("## Glossary\n", ""),
                RevisionError::MissingSection("Glossary"),
            ),
            (
                format!("{CURRENT}## Purpose\n"),
                RevisionError::DuplicateSection("Purpose"),
            ),
            (
                "Sorry, I cannot help with that.".to_owned(),
                RevisionError::MissingSection("Purpose"),
            ),
            (
                CURRENT.replace("(@zed)\n", "(@zed)\n- [ ] fly (@mallory)\n"),
                RevisionError::UnknownOwner("mallory".into()),
            ),
        ];
        for (revised, want) in cases {
            assert_eq!(check_revision(CURRENT, &revised, &members()), Err(want));
        }
        let big = format!("{CURRENT}{}", "x".repeat(MAX_BYTES));
        assert!(matches!(
            check_revision(CURRENT, &big, &members()),
            Err(RevisionError::TooLarge(_))
        ));
    }

    #[test]
    fn a_section_the_current_document_lacks_need_not_appear() {
        let current = "## Decisions\n- a\n";
        assert!(check_revision(current, "## Decisions\n- a\n- b\n", &[]).is_ok());
    }
}
