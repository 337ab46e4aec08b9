//! Merging the maintainer's reading into a document. Only item lines inside the
//! standard sections are added, rewritten or removed; every other line stays as
//! it was, so human text survives any number of passes.

use crate::document::{Block, Document, ItemLine, SectionKind};
use crate::model::Extraction;
use crate::text::similarity;

/// Items this similar (content-word Jaccard) are the same item.
const SAME_ITEM: f64 = 0.6;

impl Document {
    /// Merges `found` into the document; returns whether anything changed.
    pub fn apply(&mut self, found: &Extraction) -> bool {
        let before = self.render();
        for old in &found.superseded_decisions {
            self.remove_item(SectionKind::Decisions, &old.text);
        }
        for d in &found.decisions {
            self.upsert(
                SectionKind::Decisions,
                ItemLine {
                    text: d.text.clone(),
                    done: None,
                    owner: None,
                    source: Some(d.source.clone()),
                },
            );
        }
        for q in &found.answered_questions {
            self.remove_item(SectionKind::OpenQuestions, &q.text);
        }
        for q in &found.open_questions {
            self.upsert(
                SectionKind::OpenQuestions,
                ItemLine {
                    text: q.text.clone(),
                    done: None,
                    owner: None,
                    source: Some(q.source.clone()),
                },
            );
        }
        for a in &found.action_items {
            self.upsert(
                SectionKind::ActionItems,
                ItemLine {
                    text: a.text.clone(),
                    done: Some(a.done),
                    owner: a.owner.clone(),
                    source: Some(a.source.clone()),
                },
            );
        }
        self.render() != before
    }

    fn section_mut(&mut self, kind: SectionKind) -> &mut Block {
        let pos = match self.blocks.iter().position(|b| b.kind == Some(kind)) {
            Some(pos) => pos,
            None => {
                // A document without the section gets it at the end.
                if let Some(last) = self.blocks.last_mut().and_then(|b| b.lines.last_mut())
                    && !last.ends_with('\n')
                {
                    last.push('\n');
                }
                self.blocks.push(Block {
                    kind: Some(kind),
                    lines: vec!["\n".to_owned(), format!("## {}\n", kind.title())],
                });
                // The blank line belongs before the heading: keep heading first.
                let block = self.blocks.len() - 1;
                let blank = self.blocks[block].lines.remove(0);
                if let Some(prev) = self.blocks.get_mut(block - 1) {
                    prev.lines.push(blank);
                }
                block
            }
        };
        &mut self.blocks[pos]
    }

    /// Adds an item, or updates the one already there (status, owner) in place.
    fn upsert(&mut self, kind: SectionKind, item: ItemLine) {
        let block = self.section_mut(kind);
        let existing = block.lines.iter().enumerate().skip(1).find_map(|(i, l)| {
            let parsed = ItemLine::parse(l)?;
            let same = (parsed.source.is_some()
                && parsed.source == item.source
                && similarity(&parsed.text, &item.text) >= 0.3)
                || similarity(&parsed.text, &item.text) >= SAME_ITEM;
            same.then_some((i, parsed))
        });
        match existing {
            Some((i, parsed)) => {
                // Only status and a missing owner change; a human's wording stays.
                let done = match (parsed.done, item.done) {
                    (Some(was), Some(now)) => Some(was || now),
                    (was, _) => was,
                };
                let owner = parsed.owner.clone().or(item.owner);
                if done != parsed.done || owner != parsed.owner {
                    let updated = ItemLine {
                        done,
                        owner,
                        ..parsed
                    };
                    block.lines[i] = updated.render();
                }
            }
            None => {
                let at = block
                    .lines
                    .iter()
                    .rposition(|l| ItemLine::parse(l).is_some())
                    .unwrap_or(0);
                if let Some(line) = block.lines.get_mut(at)
                    && !line.ends_with('\n')
                {
                    line.push('\n');
                }
                block.lines.insert(at + 1, item.render());
            }
        }
    }

    fn remove_item(&mut self, kind: SectionKind, text: &str) {
        if let Some(block) = self.blocks.iter_mut().find(|b| b.kind == Some(kind)) {
            let hit = block.lines.iter().skip(1).position(|l| {
                ItemLine::parse(l).is_some_and(|p| similarity(&p.text, text) >= SAME_ITEM)
            });
            if let Some(i) = hit {
                block.lines.remove(i + 1);
            }
        }
    }
}
