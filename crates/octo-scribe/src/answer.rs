//! The answer to `@scribe`: what was decided, who owes what, what is still
//! open, read from group.md and the thread (deterministic, no LLM).

use octo_groupmd::{Document, SectionKind};

/// Renders the document's decisions, open action items and open questions.
pub fn answer(doc: &Document) -> String {
    let decisions = doc.items(SectionKind::Decisions);
    let open: Vec<_> = doc
        .items(SectionKind::ActionItems)
        .into_iter()
        .filter(|a| a.done != Some(true))
        .collect();
    let questions = doc.items(SectionKind::OpenQuestions);
    let mut out = String::new();
    section(
        &mut out,
        "Decided",
        "Nothing decided yet.",
        decisions.iter().map(|d| d.text.clone()),
    );
    section(
        &mut out,
        "Who owes what",
        "No open action items.",
        open.iter().map(|a| match &a.owner {
            Some(owner) => format!("@{owner}: {}", a.text),
            None => format!("unassigned: {}", a.text),
        }),
    );
    section(
        &mut out,
        "Still open",
        "No open questions.",
        questions.iter().map(|q| q.text.clone()),
    );
    out.trim_end().to_owned()
}

fn section(out: &mut String, title: &str, empty: &str, lines: impl Iterator<Item = String>) {
    let lines: Vec<String> = lines.collect();
    if lines.is_empty() {
        out.push_str(&format!("{empty}\n"));
        return;
    }
    out.push_str(&format!("**{title}:**\n"));
    for line in lines {
        out.push_str(&format!("- {line}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use octo_groupmd::TEMPLATE;

    #[test]
    fn lists_decisions_and_only_open_items() {
        let doc = Document::parse(
            &TEMPLATE
                .replace("## Decisions\n", "## Decisions\n- use Postgres (from #1)\n")
                .replace(
                    "## Action items\n",
                    "## Action items\n- [ ] write the migration (@ana, from #2)\n- [x] old work (@bo)\n",
                ),
        );
        let text = answer(&doc);
        assert!(text.contains("- use Postgres"), "{text}");
        assert!(text.contains("@ana: write the migration"), "{text}");
        assert!(!text.contains("old work"), "{text}");
        assert!(text.contains("No open questions."), "{text}");
    }
}
