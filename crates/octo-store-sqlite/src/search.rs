//! Full-text search over message text with FTS5.
//!
//! The query is built from parsed terms only (each one quoted, so no user text
//! is ever FTS5 syntax). The index finds the matching rows first; SQL then
//! keeps those in the caller's channels that pass the filters and orders them
//! by bm25 (the newest [`RANK_WINDOW`] of them, when more match). Messages,
//! snippets and highlights are made for the returned page only.

use crate::error::Res;
use crate::messages;
use crate::rows::{self, MESSAGE_COLS, ms};
use octo_core::search::SearchTerm;
use octo_store::{SearchHit, SearchRequest, StoreError};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

/// Marks FTS5 puts around matches in a snippet; stripped before returning.
const OPEN: char = '\u{2}';
const CLOSE: char = '\u{3}';
/// Most tokens in a snippet (FTS5 allows up to 64).
const SNIPPET_TOKENS: i64 = 24;

/// `s` as one FTS5 string: double-quoted, inner quotes doubled. A quoted string
/// of several words is a phrase.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\0', " ").replace('"', "\"\""))
}

/// The FTS5 query requiring every term.
pub(crate) fn fts_query(terms: &[SearchTerm]) -> String {
    terms
        .iter()
        .map(|t| match t {
            SearchTerm::Word(w) => quoted(w),
            SearchTerm::Prefix(p) => format!("{}*", quoted(p)),
            SearchTerm::Phrase(words) => quoted(&words.join(" ")),
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Most matches ranked per search. bm25 costs about a microsecond per match, so
/// when more messages than this pass the filters only the newest this many
/// are ranked and can be paged through (a query that vague is answered from
/// recent history; `before`/`after` reach further back). A fixed window keeps
/// every page of one search in one order.
const RANK_WINDOW: u32 = 10_000;

pub(crate) fn search(conn: &Connection, r: SearchRequest) -> Res<Vec<SearchHit>> {
    search_within(conn, r, RANK_WINDOW)
}

fn search_within(conn: &Connection, r: SearchRequest, window: u32) -> Res<Vec<SearchHit>> {
    if r.channels.is_empty() || r.terms.is_empty() || r.limit == 0 {
        return Ok(Vec::new());
    }
    let query = fts_query(&r.terms);
    let channels: Vec<&str> = r.channels.iter().map(|c| c.as_str()).collect();
    // FTS5 matches first (the outer loop); each match is then checked against
    // its message row.
    let mut matches = String::from(
        "FROM message_search JOIN messages m ON m.rowid = message_search.rowid \
         WHERE message_search MATCH ? AND m.deleted = 0 \
         AND m.channel_id IN (SELECT value FROM json_each(?))",
    );
    let mut args = vec![
        Value::Text(query.clone()),
        Value::Text(serde_json::to_string(&channels)?),
    ];
    if let Some(author) = r.author {
        matches.push_str(" AND m.author_id = ?");
        args.push(Value::Text(author.into()));
    }
    if let Some(root) = r.thread {
        matches.push_str(" AND (m.id = ? OR m.thread_id = ?)");
        args.push(Value::Text(root.as_str().to_owned()));
        args.push(Value::Text(root.into()));
    }
    match r.has_attachment {
        Some(true) => {
            matches.push_str(" AND EXISTS (SELECT 1 FROM files f WHERE f.message_id = m.id)")
        }
        Some(false) => {
            matches.push_str(" AND NOT EXISTS (SELECT 1 FROM files f WHERE f.message_id = m.id)")
        }
        None => {}
    }
    if let Some(before) = r.before {
        matches.push_str(" AND m.created_at < ?");
        args.push(Value::Integer(ms(before)));
    }
    if let Some(after) = r.after {
        matches.push_str(" AND m.created_at > ?");
        args.push(Value::Integer(ms(after)));
    }

    // The oldest match inside the window, if there are more than fit: found
    // by walking matches newest first (FTS5's own rowid order) without ranking.
    if r.offset >= window {
        return Ok(Vec::new());
    }
    let floor: Option<i64> = {
        let sql = format!(
            "SELECT message_search.rowid {matches} ORDER BY message_search.rowid DESC LIMIT 1 OFFSET ?"
        );
        let mut floor_args = args.clone();
        floor_args.push(Value::Integer(i64::from(window) - 1));
        conn.prepare_cached(&sql)?
            .query_row(params_from_iter(floor_args), |row| row.get(0))
            .optional()?
    };
    if let Some(floor) = floor {
        matches.push_str(" AND message_search.rowid >= ?");
        args.push(Value::Integer(floor));
    }
    // bm25 is lower for better matches; ties go to the newest.
    let sql = format!(
        "SELECT m.rowid, bm25(message_search) AS rank {matches} \
         ORDER BY rank, m.seq DESC, m.id DESC LIMIT ? OFFSET ?"
    );
    args.push(Value::Integer(i64::from(r.limit)));
    args.push(Value::Integer(i64::from(r.offset)));
    let page: Vec<(i64, f64)> = {
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args), |row| Ok((row.get(0)?, row.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    page.into_iter()
        .map(|(rowid, rank)| hit(conn, &query, rowid, rank))
        .collect()
}

/// One found message with its snippet.
fn hit(conn: &Connection, query: &str, rowid: i64, rank: f64) -> Res<SearchHit> {
    let sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE rowid = ?1");
    let message = conn
        .prepare_cached(&sql)?
        .query_row([rowid], rows::message)
        .optional()?
        .ok_or_else(|| StoreError::Backend("a search hit vanished mid-read".into()))?;
    let message = messages::with_details(conn, message)?;
    let marked: String = conn
        .prepare_cached(
            "SELECT snippet(message_search, 0, ?3, ?4, '…', ?5) FROM message_search \
             WHERE message_search MATCH ?1 AND rowid = ?2",
        )?
        .query_row(
            params![
                query,
                rowid,
                OPEN.to_string(),
                CLOSE.to_string(),
                SNIPPET_TOKENS
            ],
            |r| r.get(0),
        )?;
    // Marks typed into the message itself can't be told from FTS5's own: such
    // a snippet comes without highlights.
    let trusted = !message.text.contains([OPEN, CLOSE]);
    let (snippet, mut highlights) = unmark(&marked);
    if !trusted {
        highlights.clear();
    }
    Ok(SearchHit {
        message,
        snippet,
        highlights,
        score: -rank,
    })
}

/// Strips the marks, recording the `[start, end)` character offsets they
/// enclosed.
fn unmark(marked: &str) -> (String, Vec<(u32, u32)>) {
    let mut text = String::with_capacity(marked.len());
    let mut spans = Vec::new();
    let mut chars: u32 = 0;
    let mut open = None;
    for c in marked.chars() {
        match c {
            OPEN => open = Some(chars),
            CLOSE => {
                if let Some(start) = open.take() {
                    spans.push((start, chars));
                }
            }
            c => {
                text.push(c);
                chars = chars.saturating_add(1);
            }
        }
    }
    (text, spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use SearchTerm::*;

    #[test]
    fn terms_are_quoted_and_anded() {
        let terms = vec![
            Word("deploy".into()),
            Phrase(vec!["release".into(), "train".into()]),
            Prefix("stag".into()),
            Word(r#"a"b OR c*"#.into()),
        ];
        assert_eq!(
            fts_query(&terms),
            r#""deploy" AND "release train" AND "stag"* AND "a""b OR c*""#
        );
    }

    /// Past the window only the newest matches are ranked, and pages end
    /// with it.
    #[test]
    fn only_the_newest_matches_in_the_window_are_ranked() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("t.db")).unwrap();
        crate::migrate::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO orgs VALUES ('o', 'Acme', 0);
             INSERT INTO principals (id, org_id, kind, name, name_key, role, created_at)
                 VALUES ('p', 'o', 'human', 'ann', 'ann', 'owner', 0);
             INSERT INTO channels (id, org_id, kind, name, private, created_by, created_at)
                 VALUES ('c', 'o', 'channel', 'general', 0, 'p', 0);
             INSERT INTO messages (id, channel_id, seq, author_id, text, mentions, hop, created_at) VALUES
                 ('best', 'c', 1, 'p', 'fig fig fig', '{}', 0, 0),
                 ('older', 'c', 2, 'p', 'a fig among many other words here', '{}', 0, 0),
                 ('newer', 'c', 3, 'p', 'one fig and several more words', '{}', 0, 0),
                 ('newest', 'c', 4, 'p', 'fig fig', '{}', 0, 0);",
        )
        .unwrap();
        let mentions = serde_json::to_string(&octo_core::model::Mentions::default()).unwrap();
        conn.execute("UPDATE messages SET mentions = ?1", [mentions])
            .unwrap();
        // As the store does before every search.
        crate::search_index::catch_up(&conn).unwrap();
        let request = |offset: u32, limit: u32| SearchRequest {
            channels: vec![octo_core::ChannelId::from_string("c")],
            terms: vec![Word("fig".into())],
            author: None,
            thread: None,
            has_attachment: None,
            before: None,
            after: None,
            limit,
            offset,
        };
        let found = |window: u32, offset: u32, limit: u32| -> Vec<String> {
            search_within(&conn, request(offset, limit), window)
                .unwrap()
                .into_iter()
                .map(|h| h.message.id.to_string())
                .collect()
        };
        assert_eq!(found(10, 0, 10), ["best", "newest", "newer", "older"]);
        assert_eq!(found(4, 0, 10), ["best", "newest", "newer", "older"]);
        assert_eq!(found(2, 0, 10), ["newest", "newer"]);
        assert_eq!(found(2, 0, 1), ["newest"]);
        assert_eq!(found(2, 1, 1), ["newer"]);
        assert!(found(2, 2, 2).is_empty());
    }

    #[test]
    fn marks_become_character_offsets() {
        let marked = "…café \u{2}déploy\u{3} and \u{2}release train\u{3}";
        let (text, spans) = unmark(marked);
        assert_eq!(text, "…café déploy and release train");
        let chars: Vec<char> = text.chars().collect();
        let words: Vec<String> = spans
            .iter()
            .map(|&(s, e)| chars[s as usize..e as usize].iter().collect())
            .collect();
        assert_eq!(words, ["déploy", "release train"]);
    }
}
