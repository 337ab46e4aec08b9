//! The group.md document: a preamble and `## ` sections. Parsing never fails and
//! never normalises: every byte (line endings, spacing, text the parser does not
//! understand) is kept, so `Document::parse(t).render() == t` for any `t`.

use thiserror::Error;

/// A new channel's (and thread's) group.md: revision 0.
pub const TEMPLATE: &str = "# group.md\n\n## Purpose\n\n## Decisions\n\n## Working agreements\n\n## Open questions\n\n## Action items\n\n## Glossary\n";

/// The largest document accepted, in bytes.
pub const MAX_BYTES: usize = 64 * 1024;

/// The standard sections, in template order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionKind {
    Purpose,
    Decisions,
    WorkingAgreements,
    OpenQuestions,
    ActionItems,
    Glossary,
}

impl SectionKind {
    pub const ALL: [SectionKind; 6] = [
        SectionKind::Purpose,
        SectionKind::Decisions,
        SectionKind::WorkingAgreements,
        SectionKind::OpenQuestions,
        SectionKind::ActionItems,
        SectionKind::Glossary,
    ];

    pub fn title(self) -> &'static str {
        match self {
            SectionKind::Purpose => "Purpose",
            SectionKind::Decisions => "Decisions",
            SectionKind::WorkingAgreements => "Working agreements",
            SectionKind::OpenQuestions => "Open questions",
            SectionKind::ActionItems => "Action items",
            SectionKind::Glossary => "Glossary",
        }
    }

    fn from_heading(heading: &str) -> Option<Self> {
        let name = heading.trim().trim_end_matches('#').trim();
        Self::ALL
            .into_iter()
            .find(|k| k.title().eq_ignore_ascii_case(name))
    }
}

/// A block of lines: the preamble (no kind) or a `## ` section (heading included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Block {
    pub kind: Option<SectionKind>,
    /// Each line with its own line ending, exactly as written.
    pub lines: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    pub(crate) blocks: Vec<Block>,
}

/// A bullet the maintainer understands: `- text`, `- [ ] text (@owner, from #42)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemLine {
    pub text: String,
    /// `Some` for checkbox items.
    pub done: Option<bool>,
    pub owner: Option<String>,
    pub source: Option<String>,
}

/// Why a proposed document is refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DocumentError {
    #[error("group.md is {0} bytes; the limit is {MAX_BYTES}")]
    TooLarge(usize),
    #[error("group.md has no \"## {0}\" section")]
    MissingSection(&'static str),
    #[error("group.md has the \"## {0}\" section more than once")]
    DuplicateSection(&'static str),
}

impl Document {
    pub fn parse(text: &str) -> Self {
        let mut blocks = vec![Block {
            kind: None,
            lines: Vec::new(),
        }];
        for line in text.split_inclusive('\n') {
            if let Some(heading) = line.strip_prefix("## ") {
                blocks.push(Block {
                    kind: SectionKind::from_heading(heading),
                    lines: Vec::new(),
                });
            }
            if let Some(block) = blocks.last_mut() {
                block.lines.push(line.to_owned());
            }
        }
        Self { blocks }
    }

    /// Parses a document someone (an LLM, an import) proposes: within the size
    /// limit and with every standard section exactly once.
    pub fn validate(text: &str) -> Result<Self, DocumentError> {
        if text.len() > MAX_BYTES {
            return Err(DocumentError::TooLarge(text.len()));
        }
        let doc = Self::parse(text);
        for kind in SectionKind::ALL {
            match doc.blocks.iter().filter(|b| b.kind == Some(kind)).count() {
                0 => return Err(DocumentError::MissingSection(kind.title())),
                1 => {}
                _ => return Err(DocumentError::DuplicateSection(kind.title())),
            }
        }
        Ok(doc)
    }

    pub fn render(&self) -> String {
        self.blocks
            .iter()
            .flat_map(|b| b.lines.iter())
            .map(String::as_str)
            .collect()
    }

    /// The bullets of a standard section (first one, if repeated), in order.
    pub fn items(&self, kind: SectionKind) -> Vec<ItemLine> {
        self.blocks
            .iter()
            .find(|b| b.kind == Some(kind))
            .map(|b| {
                b.lines
                    .iter()
                    .skip(1)
                    .filter_map(|l| ItemLine::parse(l))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl ItemLine {
    pub fn parse(line: &str) -> Option<Self> {
        let t = line.trim_end_matches(['\n', '\r']);
        let body = t.strip_prefix("- ").or_else(|| t.strip_prefix("* "))?;
        let (done, body) = if let Some(rest) = body.strip_prefix("[ ] ") {
            (Some(false), rest)
        } else if let Some(rest) = body
            .strip_prefix("[x] ")
            .or_else(|| body.strip_prefix("[X] "))
        {
            (Some(true), rest)
        } else {
            (None, body)
        };
        let (text, owner, source) = split_suffix(body);
        if text.is_empty() {
            return None;
        }
        Some(Self {
            text: text.to_owned(),
            done,
            owner,
            source,
        })
    }

    /// The line as the maintainer writes it (with `\n`).
    pub fn render(&self) -> String {
        let mut out = String::from("- ");
        match self.done {
            Some(true) => out.push_str("[x] "),
            Some(false) => out.push_str("[ ] "),
            None => {}
        }
        out.push_str(&self.text);
        let mut meta = Vec::new();
        if self.done.is_some() {
            meta.push(match &self.owner {
                Some(o) => format!("@{o}"),
                None => "unassigned".to_owned(),
            });
        }
        if let Some(src) = &self.source {
            meta.push(format!("from #{src}"));
        }
        if !meta.is_empty() {
            out.push_str(&format!(" ({})", meta.join(", ")));
        }
        out.push('\n');
        out
    }
}

/// Splits `text (@owner, from #42)` into its parts; text without such a suffix is
/// all text.
fn split_suffix(body: &str) -> (&str, Option<String>, Option<String>) {
    let trimmed = body.trim_end();
    let Some(open) = trimmed.rfind(" (") else {
        return (trimmed, None, None);
    };
    let Some(inner) = trimmed[open + 2..].strip_suffix(')') else {
        return (trimmed, None, None);
    };
    let mut owner = None;
    let mut source = None;
    for part in inner.split(',').map(str::trim) {
        if let Some(o) = part.strip_prefix('@') {
            owner = Some(o.to_owned());
        } else if let Some(s) = part.strip_prefix("from #") {
            source = Some(s.to_owned());
        } else if part != "unassigned" {
            // Not our suffix: a parenthesis the author wrote.
            return (trimmed, None, None);
        }
    }
    (&trimmed[..open], owner, source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_text_round_trips_byte_for_byte() {
        for text in [
            "",
            TEMPLATE,
            "no newline at end",
            "# T\r\n\r\n## Decisions\r\n- a\r\nfree text\n## Mine ##\n  odd (stuff)\n",
            "## Decisions\n## Decisions\n- twice\n",
            "\u{1f600} emoji\n\n\n## Glossary\n- term: meaning\n",
        ] {
            assert_eq!(Document::parse(text).render(), text);
        }
    }

    #[test]
    fn items_read_owner_status_and_source() {
        let doc = Document::parse(
            "## Action items\n- [x] Ship it (@Ana, from #7)\n- [ ] Write docs (unassigned)\nprose\n- plain (not ours)\n",
        );
        let items = doc.items(SectionKind::ActionItems);
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].owner.as_deref(), Some("Ana"));
        assert_eq!(items[0].done, Some(true));
        assert_eq!(items[0].source.as_deref(), Some("7"));
        assert_eq!(items[1].owner, None);
        assert_eq!(items[2].text, "plain (not ours)");
        assert_eq!(
            ItemLine::parse(&items[0].render().clone()),
            Some(items[0].clone())
        );
    }

    #[test]
    fn validation_requires_every_section_once_and_the_size_limit() {
        assert!(Document::validate(TEMPLATE).is_ok());
        assert_eq!(
            Document::validate("## Purpose\n"),
            Err(DocumentError::MissingSection("Decisions"))
        );
        let doubled = format!("{TEMPLATE}## Glossary\n");
        assert_eq!(
            Document::validate(&doubled),
            Err(DocumentError::DuplicateSection("Glossary"))
        );
        let big = format!("{TEMPLATE}{}", "x".repeat(MAX_BYTES));
        assert!(matches!(
            Document::validate(&big),
            Err(DocumentError::TooLarge(_))
        ));
    }
}
