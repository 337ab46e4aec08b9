use super::*;
use octo_core::model::{Mentions, StreamStatus};
use octo_core::{ChannelId, MessageId};
use std::time::Instant;

struct World {
    handles: HashMap<PrincipalId, String>,
    agent: PrincipalId,
    alice: PrincipalId,
    bob: PrincipalId,
    channel: ChannelId,
}

impl World {
    fn new() -> World {
        let agent = PrincipalId::from_string("p-agent");
        let alice = PrincipalId::from_string("p-alice");
        let bob = PrincipalId::from_string("p-bob");
        let handles = HashMap::from([
            (agent.clone(), "helper".to_owned()),
            (alice.clone(), "alice".to_owned()),
            (bob.clone(), "bob.the-builder".to_owned()),
        ]);
        World {
            handles,
            agent,
            alice,
            bob,
            channel: ChannelId::from_string("c-1"),
        }
    }

    /// Message `n` (seconds after the epoch of the test), by `author`.
    fn msg(&self, n: i64, author: &PrincipalId, text: &str, root: Option<&Message>) -> Message {
        Message {
            id: MessageId::from_string(format!("m-{n:06}")),
            channel_id: self.channel.clone(),
            seq: n as u64,
            thread_id: root.map(|r| r.id.clone()),
            author_id: author.clone(),
            text: text.to_owned(),
            data: None,
            mentions: Mentions::default(),
            client_msg_id: None,
            hop: 0,
            created_at: chrono::DateTime::from_timestamp(1_750_000_000 + n * 60, 0)
                .expect("a time"),
            edited_at: None,
            deleted: false,
            stream: None,
            attachments: vec![],
            reactions: vec![],
            reply_count: 0,
            last_reply_at: None,
        }
    }

    fn req<'a>(
        &'a self,
        root: Option<&'a Message>,
        max_tokens: usize,
        format: Format,
    ) -> ContextRequest<'a> {
        ContextRequest {
            groupmd: None,
            root,
            handles: &self.handles,
            asking: &self.agent,
            max_tokens,
            format,
        }
    }

    /// A root and `n` replies (oldest first), alternating authors; every
    /// seventh is the agent's.
    fn thread(&self, n: usize) -> (Message, Vec<Message>) {
        let root = self.msg(
            0,
            &self.alice,
            "Can someone look at the flaky deploy? It fails about one run in five.",
            None,
        );
        let replies = (1..=n)
            .map(|i| {
                let author = match i % 7 {
                    0 => &self.agent,
                    1 | 3 | 5 => &self.bob,
                    _ => &self.alice,
                };
                let text = format!(
                    "reply {i}: I looked at run #{i} — the cache step timed out after {} s; retrying helped.",
                    i % 90
                );
                self.msg(i as i64, author, &text, Some(&root))
            })
            .collect();
        (root, replies)
    }
}

fn newest_first(replies: &[Message]) -> impl Iterator<Item = &Message> {
    replies.iter().rev()
}

fn text_body(c: &Context) -> &str {
    c.body.as_str().expect("a text body")
}

fn messages(c: &Context) -> &Vec<Value> {
    c.body["messages"].as_array().expect("messages")
}

/// Recounts a JSON body per the documented accounting.
fn recount(c: &Context) -> usize {
    let mut tokens = REPLY_PRIMING;
    if let Some(system) = c.body["system"].as_str() {
        tokens += MESSAGE_OVERHEAD + count_tokens(system);
    }
    for m in messages(c) {
        tokens += MESSAGE_OVERHEAD + count_tokens(m["content"].as_str().expect("content"));
        if let Some(name) = m["name"].as_str() {
            tokens += count_tokens(name);
        }
    }
    tokens
}

#[test]
fn keeps_the_newest_in_chronological_order() {
    let w = World::new();
    let (_, replies) = w.thread(50);
    let c = build_context(w.req(None, 300, Format::Text), newest_first(&replies));
    assert!(c.kept > 3 && c.kept < 50, "kept {}", c.kept);
    assert_eq!(c.kept + c.dropped, 50);
    let body = text_body(&c);
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], OMITTED_NOTE);
    let numbers: Vec<usize> = lines[1..]
        .iter()
        .map(|l| {
            let at = l.find("reply ").expect("a reply") + 6;
            l[at..]
                .split(':')
                .next()
                .expect("n")
                .parse()
                .expect("a number")
        })
        .collect();
    let expected: Vec<usize> = (50 - c.kept + 1..=50).collect();
    assert_eq!(numbers, expected, "the newest, oldest first");
    assert_eq!(c.tokens, count_tokens(body));
    assert!(c.tokens <= 300);
}

#[test]
fn everything_fits_when_the_budget_allows() {
    let w = World::new();
    let (root, replies) = w.thread(5);
    let c = build_context(
        w.req(Some(&root), 4000, Format::Text),
        newest_first(&replies),
    );
    assert_eq!((c.kept, c.dropped, c.skipped), (6, 0, 0));
    let body = text_body(&c);
    assert!(!body.contains(OMITTED_NOTE));
    assert!(
        body.starts_with("@alice (2025-06-15 15:06): Can someone"),
        "{body}"
    );
    assert_eq!(body.lines().count(), 6);
}

#[test]
fn the_root_is_always_kept_and_cut_when_it_alone_is_too_big() {
    let w = World::new();
    let (root, replies) = w.thread(200);
    for format in [Format::Text, Format::Openai, Format::Anthropic] {
        let c = build_context(w.req(Some(&root), 150, format), newest_first(&replies));
        assert!(!c.truncated_root);
        let first = match format {
            Format::Text => text_body(&c).lines().next().expect("a line").to_owned(),
            _ => messages(&c)[0]["content"]
                .as_str()
                .expect("content")
                .to_owned(),
        };
        assert!(first.contains("flaky deploy"), "{format:?}: {first}");
        assert!(c.dropped > 150, "{format:?}");
    }

    let huge = "word ".repeat(5_000) + "THE END";
    let root = w.msg(0, &w.alice, &huge, None);
    for format in [Format::Text, Format::Openai, Format::Anthropic] {
        let c = build_context(w.req(Some(&root), 100, format), newest_first(&replies[..3]));
        assert!(c.truncated_root, "{format:?}");
        assert_eq!((c.kept, c.dropped), (1, 3), "{format:?}");
        let shown = match format {
            Format::Text => text_body(&c).to_owned(),
            _ => messages(&c)[0]["content"]
                .as_str()
                .expect("content")
                .to_owned(),
        };
        assert!(
            shown.ends_with(TRUNCATED_MARKER) || shown.contains(TRUNCATED_MARKER),
            "{shown}"
        );
        assert!(!shown.contains("THE END"));
        let tokens = match format {
            Format::Text => count_tokens(&shown),
            _ => recount(&c),
        };
        assert_eq!(tokens, c.tokens, "{format:?}");
        assert!(
            c.tokens <= 100 && c.tokens > 80,
            "{format:?}: {} tokens",
            c.tokens
        );
    }
}

#[test]
fn the_budget_holds_per_the_tokenizer() {
    let w = World::new();
    // Texts whose ends could merge with what follows if the count were naive.
    let tricky = [
        "done.",
        "trailing spaces   ",
        "ends with a newline\n",
        "ends with two\n\n",
        "emoji 🎉🎉",
        "naïve café — «quoted»",
        "code:\n```rust\nfn main() {}\n```",
        "12345678901234567890",
        "   leading spaces",
        "/path/to/file/",
        "'s",
        "<|endoftext|> is plain text here",
        "中文字符测试，句号。",
    ];
    let root = w.msg(0, &w.bob, "root?", None);
    let replies: Vec<Message> = (1..=400)
        .map(|i| {
            let author = if i % 3 == 0 { &w.agent } else { &w.alice };
            w.msg(i, author, tricky[i as usize % tricky.len()], Some(&root))
        })
        .collect();
    for max in [100, 101, 137, 250, 999, 1000, 2048, 4000] {
        for format in [Format::Text, Format::Openai, Format::Anthropic] {
            let c = build_context(w.req(Some(&root), max, format), newest_first(&replies));
            let tokens = match format {
                Format::Text => count_tokens(text_body(&c)),
                _ => recount(&c),
            };
            assert_eq!(tokens, c.tokens, "{format:?} at {max}");
            assert!(c.tokens <= max, "{format:?} at {max}: {}", c.tokens);
            assert_eq!(c.kept + c.dropped, 401, "{format:?} at {max}");
            // Not wasteful: little more would have fit. (Anthropic's estimate
            // of a merge is a token over when the text ends in punctuation or
            // line breaks, as many of these do.)
            let slack = if format == Format::Anthropic {
                40 + max / 25
            } else {
                40
            };
            assert!(
                c.tokens + slack > max || c.dropped == 0,
                "{format:?} at {max}: {}",
                c.tokens
            );
        }
    }
}

#[test]
fn roles_are_relative_to_the_asking_agent() {
    let w = World::new();
    let root = w.msg(0, &w.alice, "@helper what broke?", None);
    let replies = vec![
        w.msg(1, &w.agent, "The cache.", Some(&root)),
        w.msg(2, &w.bob, "Which one?", Some(&root)),
    ];
    let c = build_context(
        w.req(Some(&root), 1000, Format::Openai),
        newest_first(&replies),
    );
    assert_eq!(
        c.body,
        json!({"messages": [
            {"role": "user", "name": "alice", "content": "@alice: @helper what broke?"},
            {"role": "assistant", "content": "The cache."},
            {"role": "user", "name": "bob_the-builder", "content": "@bob.the-builder: Which one?"},
        ]})
    );
    assert_eq!(c.tokens, recount(&c));

    // Asked by bob instead, the agent's message is just another user's.
    let mut req = w.req(Some(&root), 1000, Format::Openai);
    req.asking = &w.bob;
    let c = build_context(req, newest_first(&replies));
    let roles: Vec<&str> = messages(&c)
        .iter()
        .map(|m| m["role"].as_str().expect("role"))
        .collect();
    assert_eq!(roles, ["user", "user", "assistant"]);
    assert_eq!(messages(&c)[1]["content"], "@helper: The cache.");

    let c = build_context(
        w.req(Some(&root), 1000, Format::Text),
        newest_first(&replies),
    );
    assert_eq!(
        text_body(&c),
        "@alice (2025-06-15 15:06): @helper what broke?\n\
         @helper (2025-06-15 15:07): The cache.\n\
         @bob.the-builder (2025-06-15 15:08): Which one?"
    );
}

#[test]
fn anthropic_alternates_and_starts_with_user() {
    let w = World::new();
    // The agent wrote the root, then twice in a row; two humans in a row.
    let root = w.msg(0, &w.agent, "Deploy finished.", None);
    let replies = vec![
        w.msg(1, &w.agent, "All checks green.", Some(&root)),
        w.msg(2, &w.alice, "Thanks!", Some(&root)),
        w.msg(3, &w.bob, "Shipping it.", Some(&root)),
        w.msg(4, &w.agent, "Noted.", Some(&root)),
        w.msg(5, &w.alice, "@helper one more?", Some(&root)),
    ];
    let mut req = w.req(Some(&root), 1000, Format::Anthropic);
    req.groupmd = Some("# Team rules\nBe brief.");
    let c = build_context(req, newest_first(&replies));
    assert_eq!(
        c.body,
        json!({
            "system": "# Team rules\nBe brief.",
            "messages": [
                {"role": "user", "content": ANTHROPIC_OPENER},
                {"role": "assistant", "content": "Deploy finished.\n\nAll checks green."},
                {"role": "user", "content": "@alice: Thanks!\n\n@bob.the-builder: Shipping it."},
                {"role": "assistant", "content": "Noted."},
                {"role": "user", "content": "@alice: @helper one more?"},
            ]
        })
    );
    assert_eq!(c.kept, 6);
    assert_eq!(c.tokens, recount(&c));

    // Over many budgets the rule holds, whatever is cut.
    let (root, replies) = w.thread(300);
    for max in (100..3000).step_by(97) {
        let c = build_context(
            w.req(Some(&root), max, Format::Anthropic),
            newest_first(&replies),
        );
        let ms = messages(&c);
        assert_eq!(ms[0]["role"], "user");
        for pair in ms.windows(2) {
            assert_ne!(pair[0]["role"], pair[1]["role"], "at {max}");
        }
        assert!(ms.iter().all(|m| m.get("name").is_none()));
        assert_eq!(c.tokens, recount(&c));
        assert!(c.tokens <= max);
    }
}

#[test]
fn openai_names_are_sanitized() {
    assert_eq!(openai_name("alice"), "alice");
    assert_eq!(openai_name("bob.the-builder"), "bob_the-builder");
    assert_eq!(openai_name("José_2"), "Jos__2");
    assert_eq!(openai_name(""), "user");
    assert_eq!(openai_name(&"x".repeat(100)).len(), 64);
    let w = World::new();
    let mut handles = w.handles.clone();
    handles.insert(w.alice.clone(), "ünï.cødé".repeat(20));
    let root = w.msg(0, &w.alice, "hi", None);
    let mut req = w.req(Some(&root), 1000, Format::Openai);
    req.handles = &handles;
    let c = build_context(req, std::iter::empty::<Message>());
    let name = messages(&c)[0]["name"].as_str().expect("name");
    assert!(
        (1..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
        "{name}"
    );
}

#[test]
fn deleted_messages_and_empty_streams_are_skipped() {
    let w = World::new();
    let root = w.msg(0, &w.alice, "root", None);
    let mut deleted = w.msg(1, &w.bob, "", Some(&root));
    deleted.deleted = true;
    let mut empty_stream = w.msg(2, &w.agent, "", Some(&root));
    empty_stream.stream = Some(StreamStatus::Open);
    let mut streaming = w.msg(3, &w.agent, "Thinking about", Some(&root));
    streaming.stream = Some(StreamStatus::Open);
    let replies = [deleted, empty_stream, streaming, root.clone()];
    // The root may come again among the candidates (a thread listing has it).
    let c = build_context(w.req(Some(&root), 1000, Format::Text), replies.iter().rev());
    assert_eq!((c.kept, c.skipped, c.dropped), (2, 2, 0));
    assert_eq!(
        text_body(&c),
        "@alice (2025-06-15 15:06): root\n@helper (2025-06-15 15:09): Thinking about"
    );
}

#[test]
fn a_newest_reply_too_big_for_the_budget_is_cut_not_lost() {
    let w = World::new();
    let root = w.msg(0, &w.alice, "root", None);
    let replies = vec![
        w.msg(1, &w.bob, "older", Some(&root)),
        w.msg(2, &w.bob, &"long ".repeat(3000), Some(&root)),
    ];
    for format in [Format::Text, Format::Openai, Format::Anthropic] {
        let c = build_context(w.req(Some(&root), 200, format), newest_first(&replies));
        assert!(c.truncated_newest && !c.truncated_root, "{format:?}");
        assert_eq!((c.kept, c.dropped), (2, 1), "{format:?}");
        assert!(
            c.tokens <= 200 && c.tokens > 170,
            "{format:?}: {}",
            c.tokens
        );
    }
}

#[test]
fn groupmd_is_the_system_preamble_and_at_most_half_the_budget() {
    let w = World::new();
    let (root, replies) = w.thread(20);
    let mut req = w.req(Some(&root), 2000, Format::Openai);
    req.groupmd = Some("# group.md\nBe kind.");
    let c = build_context(req, newest_first(&replies));
    assert_eq!(
        messages(&c)[0],
        json!({"role": "system", "content": "# group.md\nBe kind."})
    );
    assert!(!c.truncated_groupmd);

    let long = "rule ".repeat(2000);
    let mut req = w.req(Some(&root), 1000, Format::Text);
    req.groupmd = Some(&long);
    let c = build_context(req, newest_first(&replies));
    assert!(c.truncated_groupmd);
    let body = text_body(&c);
    let preamble = body.split("\n\n").next().expect("preamble");
    assert!(preamble.ends_with(TRUNCATED_MARKER));
    assert!(count_tokens(preamble) <= 500);
    assert!(body.contains("flaky deploy"), "the root is still there");
    assert_eq!(c.tokens, count_tokens(body));
    assert!(c.tokens <= 1000);
}

#[test]
fn two_thousand_messages_at_four_thousand_tokens() {
    let w = World::new();
    let (root, replies) = w.thread(2000);
    for format in [Format::Text, Format::Openai, Format::Anthropic] {
        let c = build_context(w.req(Some(&root), 4000, format), newest_first(&replies));
        assert!(
            c.tokens <= 4000 && c.tokens > 3900,
            "{format:?}: {}",
            c.tokens
        );
        assert_eq!(c.kept + c.dropped, 2001);
        assert!(c.kept > 50, "{format:?}: {}", c.kept);
        let tokens = match format {
            Format::Text => count_tokens(text_body(&c)),
            _ => recount(&c),
        };
        assert_eq!(tokens, c.tokens, "{format:?}");
        let rendered = c.body.to_string();
        assert!(rendered.contains("flaky deploy"));
        assert!(rendered.contains("reply 2000:"));
        let oldest_kept = 2000 - (c.kept - 1) + 1;
        assert!(rendered.contains(&format!("reply {oldest_kept}:")));
        assert!(!rendered.contains(&format!("reply {}:", oldest_kept - 1)));
    }
}

#[test]
fn stops_consuming_once_full() {
    let w = World::new();
    let (root, replies) = w.thread(10_000);
    let mut pulled = 0;
    let counting = newest_first(&replies).inspect(|_| pulled += 1);
    // A lazy iterator has no size hint: what it never yielded is not counted.
    let c = build_context(
        w.req(Some(&root), 4000, Format::Openai),
        counting.filter(|_| true),
    );
    assert_eq!(pulled, c.kept - 1 + c.dropped);
    assert_eq!(c.dropped, 1);

    // Timing: 10,000 replies, newest first, at 4,000 tokens (tokenizer built).
    warm_up();
    for format in [Format::Text, Format::Openai, Format::Anthropic] {
        let start = Instant::now();
        let c = build_context(w.req(Some(&root), 4000, format), newest_first(&replies));
        let took = start.elapsed();
        println!(
            "10,000-message thread, {format:?}, 4000 tokens: kept {} in {took:?}",
            c.kept
        );
        assert_eq!(c.kept + c.dropped, 10_001);
    }
    let start = Instant::now();
    let c = build_context(
        w.req(Some(&root), 200_000, Format::Text),
        newest_first(&replies),
    );
    println!(
        "10,000-message thread, Text, 200000 tokens: kept {} ({} tokens) in {:?}",
        c.kept,
        c.tokens,
        start.elapsed()
    );
}

#[test]
fn pathological_text_does_not_break_the_tokenizer() {
    let w = World::new();
    let root = w.msg(0, &w.alice, "root", None);
    let texts = [
        " ".repeat(16_000),
        "\n ".repeat(8_000),
        "a".repeat(16_000),
        "🎉".repeat(4_000),
        "!".repeat(16_000),
    ];
    let replies: Vec<Message> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| w.msg(i as i64 + 1, &w.bob, t, Some(&root)))
        .collect();
    for r in &replies {
        let c = build_context(w.req(Some(&root), 500, Format::Text), std::iter::once(r));
        assert!(c.tokens <= 500);
        assert_eq!(c.tokens, count_tokens(text_body(&c)));
    }
}

#[test]
fn formats_parse() {
    assert_eq!("openai".parse::<Format>(), Ok(Format::Openai));
    assert_eq!("anthropic".parse::<Format>(), Ok(Format::Anthropic));
    assert_eq!("text".parse::<Format>(), Ok(Format::Text));
    assert!("OpenAI".parse::<Format>().is_err());
    assert_eq!(
        serde_json::from_value::<Format>(json!("anthropic")).expect("parses"),
        Format::Anthropic
    );
    assert_eq!(Format::default(), Format::Openai);
}
