//! The maintainer merging into a document a human has edited: their text stays
//! byte for byte, items are added once and updated in place.

use octo_groupmd::{
    Document, Member, Message, Reaction, SectionKind, TEMPLATE, extract, extract_since,
};

const HUMAN_DOC: &str = "# group.md: garden crew\r\n\
Our notes. Edit freely *(really)*.\r\n\
\r\n\
## Purpose\r\n\
Keep the community garden alive.   \r\n\
\r\n\
## Decisions\r\n\
- Compost stays behind the shed (agreed in spring)\r\n\
Some prose a human wrote between items.\r\n\
\r\n\
## Our own section\r\n\
| table | kept |\r\n\
|---|---|\r\n\
\r\n\
## Working agreements\n\
## Open questions\n\
## Action items\n\
- [ ] Fix the hose reel (@Cy)\n\
## Glossary\n\
- **bed**: a raised planting box\n\
trailing text without newline";

fn msg(id: usize, author: &str, text: &str, reactions: &[(&str, &str)]) -> Message {
    Message {
        id: id.to_string(),
        author: author.into(),
        text: text.into(),
        thread_id: None,
        reactions: reactions
            .iter()
            .map(|(e, by)| Reaction {
                emoji: (*e).into(),
                by: (*by).into(),
            })
            .collect(),
    }
}

fn members() -> Vec<Member> {
    ["Ana", "Bo", "Cy"]
        .into_iter()
        .map(|n| Member {
            name: n.into(),
            agent: false,
        })
        .collect()
}

/// Lines of `original` that must appear in `now` unchanged and in order.
fn human_lines_survive(original: &str, now: &str) {
    let mut rest = now;
    for line in original.split_inclusive('\n') {
        if line.starts_with("- [ ] Fix the hose reel") {
            continue; // the maintainer may tick this one
        }
        let at = rest
            .find(line)
            .unwrap_or_else(|| panic!("lost {line:?} in\n{now}"));
        rest = &rest[at + line.len()..];
    }
}

#[test]
fn human_text_survives_ten_passes_byte_for_byte() {
    let mut doc = Document::parse(HUMAN_DOC);
    let all = [
        msg(1, "Ana", "Decision: tool shed is locked after 8pm", &[]),
        msg(2, "Bo", "I'll sharpen the pruning shears for Saturday", &[]),
        msg(3, "Cy", "Question: who keeps the spare key?", &[]),
        msg(4, "Cy", "hose reel fixed", &[("\u{2705}", "Ana")]),
        msg(5, "Bo", "pruning shears sharpened", &[]),
        msg(6, "Ana", "Cy keeps the spare key, answered", &[]),
    ];
    let mut changed = 0;
    for pass in 0..10 {
        // Each pass sees the messages since the last one (and some passes none).
        let since = &all[(pass * 2).min(all.len())..((pass + 1) * 2).min(all.len())];
        let found = extract_since(&members(), since, &doc);
        if doc.apply(&found) {
            changed += 1;
        }
        human_lines_survive(HUMAN_DOC, &doc.render());
    }
    assert_eq!(changed, 3, "three passes had news:\n{}", doc.render());
    let decisions = doc.items(SectionKind::Decisions);
    assert_eq!(decisions.len(), 2);
    assert_eq!(decisions[1].text, "Tool shed is locked after 8pm");
    let actions = doc.items(SectionKind::ActionItems);
    assert_eq!(actions.len(), 2, "{}", doc.render());
    assert!(
        actions.iter().all(|a| a.done == Some(true)),
        "{}",
        doc.render()
    );
    assert!(
        doc.items(SectionKind::OpenQuestions).is_empty(),
        "{}",
        doc.render()
    );
    // The untouched tail (no final newline) is still the very end.
    assert!(doc.render().ends_with("trailing text without newline"));
}

#[test]
fn applying_the_same_reading_twice_changes_nothing() {
    let messages = [
        msg(
            1,
            "Ana",
            "let's go with raised beds for the herbs",
            &[("\u{1f44d}", "Bo")],
        ),
        msg(2, "Bo", "TODO: buy more mulch", &[]),
    ];
    let found = extract(&members(), &messages);
    let mut doc = Document::parse(TEMPLATE);
    assert!(doc.apply(&found));
    let once = doc.render();
    assert!(!doc.apply(&found));
    assert_eq!(doc.render(), once);
    assert!(
        once.contains("- [ ] Buy more mulch (unassigned, from #2)\n"),
        "{once}"
    );
    assert!(Document::validate(&once).is_ok());
}

#[test]
fn a_document_without_the_sections_gets_them_appended() {
    let mut doc = Document::parse("just a note");
    let found = extract(&members(), &[msg(1, "Ana", "Decision: water at dawn", &[])]);
    assert!(doc.apply(&found));
    assert_eq!(
        doc.render(),
        "just a note\n\n## Decisions\n- Water at dawn (from #1)\n"
    );
}
