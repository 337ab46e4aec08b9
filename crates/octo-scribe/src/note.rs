//! The short note the scribe posts after a revision: what changed, counted.

use octo_groupmd::{Document, ItemLine, SectionKind};

/// "+2 decisions, 1 action item closed", or `None` when no item changed.
pub fn summary(before: &Document, after: &Document) -> Option<String> {
    let mut parts = Vec::new();
    let decisions = compare(before, after, SectionKind::Decisions);
    push(&mut parts, decisions.added, "+", "decision", "");
    push(&mut parts, decisions.removed, "", "decision", " replaced");
    let actions = compare(before, after, SectionKind::ActionItems);
    push(&mut parts, actions.added, "+", "action item", "");
    push(&mut parts, actions.closed, "", "action item", " closed");
    let questions = compare(before, after, SectionKind::OpenQuestions);
    push(&mut parts, questions.added, "+", "open question", "");
    push(&mut parts, questions.removed, "", "question", " answered");
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[derive(Default)]
struct Changes {
    added: usize,
    removed: usize,
    closed: usize,
}

fn compare(before: &Document, after: &Document, kind: SectionKind) -> Changes {
    let old = before.items(kind);
    let new = after.items(kind);
    let find = |list: &[ItemLine], item: &ItemLine| -> Option<ItemLine> {
        list.iter().find(|i| i.text == item.text).cloned()
    };
    let mut changes = Changes::default();
    for item in &new {
        match find(&old, item) {
            None => {
                changes.added += 1;
                if item.done == Some(true) {
                    changes.closed += 1;
                }
            }
            Some(was) => {
                if was.done != Some(true) && item.done == Some(true) {
                    changes.closed += 1;
                }
            }
        }
    }
    changes.removed = old.iter().filter(|i| find(&new, i).is_none()).count();
    changes
}

fn push(parts: &mut Vec<String>, n: usize, sign: &str, noun: &str, tail: &str) {
    if n > 0 {
        let s = if n == 1 { "" } else { "s" };
        parts.push(format!("{sign}{n} {noun}{s}{tail}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use octo_groupmd::TEMPLATE;

    #[test]
    fn counts_new_decisions_and_closed_items() {
        let before = Document::parse(&TEMPLATE.replace(
            "## Action items\n",
            "## Action items\n- [ ] ship it (@ana)\n",
        ));
        let after = Document::parse(
            &TEMPLATE
                .replace(
                    "## Decisions\n",
                    "## Decisions\n- use Postgres\n- weekly demos\n",
                )
                .replace(
                    "## Action items\n",
                    "## Action items\n- [x] ship it (@ana)\n",
                ),
        );
        assert_eq!(
            summary(&before, &after).as_deref(),
            Some("+2 decisions, 1 action item closed")
        );
        assert_eq!(summary(&after, &after), None);
    }
}
