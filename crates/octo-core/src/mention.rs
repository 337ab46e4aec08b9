//! Finding `@name`, `@all` and `@agents` in message text.
//!
//! The server resolves the names to principals; this module only reads text.
//! Mentions inside code (`inline` or fenced blocks) and inside email addresses do
//! not count, as in every chat app people know.

/// What the text mentions, before names are resolved.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ParsedMentions {
    /// Lower-cased handles, in order of first appearance, without duplicates.
    pub names: Vec<String>,
    pub all: bool,
    pub agents: bool,
}

fn is_handle_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// Reads the mentions out of Markdown text.
pub fn parse_mentions(text: &str) -> ParsedMentions {
    let mut out = ParsedMentions::default();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        scan_line(line, &mut out);
    }
    out
}

fn scan_line(line: &str, out: &mut ParsedMentions) {
    let chars: Vec<char> = line.chars().collect();
    let mut in_code = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            in_code = !in_code;
            i += 1;
            continue;
        }
        let starts_word = i == 0 || !(is_handle_char(chars[i - 1]) || chars[i - 1] == '@');
        if c == '@' && !in_code && starts_word {
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && is_handle_char(chars[end]) {
                end += 1;
            }
            // A sentence may end right after a mention: "thanks @ann."
            while end > start && matches!(chars[end - 1], '.' | '-' | '_') {
                end -= 1;
            }
            if end > start && chars[start].is_alphanumeric() {
                let name: String = chars[start..end].iter().collect::<String>().to_lowercase();
                match name.as_str() {
                    "all" | "channel" | "everyone" | "here" => out.all = true,
                    "agents" => out.agents = true,
                    _ if !out.names.contains(&name) => out.names.push(name),
                    _ => {}
                }
            }
            i = end.max(start);
            continue;
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_names_and_group_mentions() {
        let m = parse_mentions("hey @Ann and @bob.smith, also @ann again. @all @agents");
        assert_eq!(m.names, vec!["ann", "bob.smith"]);
        assert!(m.all && m.agents);
    }

    #[test]
    fn trailing_punctuation_is_not_part_of_the_name() {
        assert_eq!(parse_mentions("thanks @ann.").names, vec!["ann"]);
        assert_eq!(parse_mentions("(@ann)").names, vec!["ann"]);
        assert_eq!(parse_mentions("@ann: look").names, vec!["ann"]);
    }

    #[test]
    fn ignores_emails_code_and_lone_at() {
        let m =
            parse_mentions("mail ann@example.com, run `@bob` or @ then\n```\n@carol\n```\n@dave");
        assert_eq!(m.names, vec!["dave"]);
        assert!(!m.all);
        assert!(parse_mentions("@@ @- @.").names.is_empty());
    }
}
