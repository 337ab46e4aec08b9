//! The maintainer's rules on small conversations written for these tests.

use crate::model::{Member, Message, Reaction};
use crate::{Extraction, extract};

fn members() -> Vec<Member> {
    ["Ana", "Bo", "Cy"]
        .into_iter()
        .map(|n| Member {
            name: n.into(),
            agent: false,
        })
        .chain([Member {
            name: "helper".into(),
            agent: true,
        }])
        .collect()
}

/// `(emoji, by)` pairs.
type Reactions<'a> = &'a [(&'a str, &'a str)];

/// `(author, text, thread root (1-based), reactions)`; ids are 1-based positions.
fn convo(lines: &[(&str, &str, Option<usize>, Reactions<'_>)]) -> Extraction {
    let messages: Vec<Message> = lines
        .iter()
        .enumerate()
        .map(|(i, (author, text, root, reactions))| Message {
            id: (i + 1).to_string(),
            author: (*author).into(),
            text: (*text).into(),
            thread_id: root.map(|r| r.to_string()),
            reactions: reactions
                .iter()
                .map(|(emoji, by)| Reaction {
                    emoji: (*emoji).into(),
                    by: (*by).into(),
                })
                .collect(),
        })
        .collect();
    extract(&members(), &messages)
}

fn decisions(e: &Extraction) -> Vec<&str> {
    e.decisions.iter().map(|d| d.text.as_str()).collect()
}

const NONE: &[(&str, &str)] = &[];
const THUMBS: &[(&str, &str)] = &[("\u{1f44d}", "Bo"), ("\u{1f44d}", "Cy")];
const CHECK: &[(&str, &str)] = &[("\u{2705}", "Ana")];

#[test]
fn markers_make_items_with_owners() {
    let e = convo(&[
        (
            "Ana",
            "Decision: the greenhouse opens at 7am on weekdays",
            None,
            NONE,
        ),
        ("Ana", "TODO: @Bo order the new seed trays", None, NONE),
        (
            "Cy",
            "Action: helper create a watering schedule page",
            None,
            NONE,
        ),
        ("Bo", "Question: who waters on public holidays?", None, NONE),
    ]);
    assert_eq!(decisions(&e), ["The greenhouse opens at 7am on weekdays"]);
    let owners: Vec<_> = e.action_items.iter().map(|a| a.owner.as_deref()).collect();
    assert_eq!(owners, [Some("Bo"), Some("helper")]);
    assert_eq!(e.action_items[0].text, "Order the new seed trays");
    assert_eq!(e.open_questions.len(), 1);
    assert_eq!(e.action_items[0].source, "2");
}

#[test]
fn quoted_and_hypothetical_decisions_are_not_decisions() {
    let e = convo(&[
        (
            "Ana",
            "the old handbook says \"Decision: all pots are terracotta forever\"",
            None,
            NONE,
        ),
        (
            "Bo",
            "> Decision: close on Sundays\nthat was last year's rule",
            None,
            NONE,
        ),
        (
            "Cy",
            "what if we maybe moved the compost behind the shed?",
            None,
            NONE,
        ),
    ]);
    assert!(e.decisions.is_empty(), "{:?}", e.decisions);
}

#[test]
fn natural_decisions_need_commitment_and_later_ones_replace_earlier() {
    let e = convo(&[
        (
            "Ana",
            "ok, let's go with drip irrigation for the tomato beds",
            None,
            THUMBS,
        ),
        (
            "Bo",
            "budget update: drip kits are back-ordered until autumn",
            None,
            NONE,
        ),
        (
            "Ana",
            "fine, then instead we use soaker hoses for the tomato beds",
            None,
            THUMBS,
        ),
    ]);
    assert_eq!(decisions(&e).len(), 1, "{:?}", e.decisions);
    assert!(decisions(&e)[0].contains("soaker hoses"));
    assert_eq!(e.superseded_decisions.len(), 1);
}

#[test]
fn commitments_and_claims_become_owned_items() {
    let e = convo(&[
        (
            "Ana",
            "I'll repaint the north fence before the open day",
            None,
            NONE,
        ),
        (
            "Bo",
            "we need someone to fix the broken gate latch",
            None,
            NONE,
        ),
        ("Cy", "on it", None, NONE),
    ]);
    let items: Vec<_> = e
        .action_items
        .iter()
        .map(|a| (a.owner.as_deref(), a.text.as_str()))
        .collect();
    assert_eq!(
        items,
        [
            (Some("Ana"), "Repaint the north fence before the open day"),
            (Some("Cy"), "Fix the broken gate latch"),
        ]
    );
}

#[test]
fn done_replies_and_check_reactions_close_items() {
    let e = convo(&[
        ("Ana", "I'll repaint the north fence", None, NONE),
        (
            "Bo",
            "TODO: @Cy email the volunteers about Saturday",
            None,
            NONE,
        ),
        ("Cy", "sure", Some(2), NONE),
        ("Ana", "north fence repainted, looks great", None, NONE),
        ("Cy", "volunteer email went out", Some(2), CHECK),
    ]);
    assert!(
        e.action_items.iter().all(|a| a.done),
        "{:?}",
        e.action_items
    );
}

#[test]
fn future_reports_and_lookups_are_not_work_or_completion() {
    let e = convo(&[
        ("Ana", "I'll write the planting guide", None, NONE),
        ("Ana", "planting guide will be done tomorrow", None, NONE),
        (
            "Bo",
            "@helper how many volunteers signed up last month?",
            None,
            NONE,
        ),
        (
            "helper",
            "42 volunteers signed up last month.",
            Some(3),
            NONE,
        ),
    ]);
    assert_eq!(e.action_items.len(), 1, "{:?}", e.action_items);
    assert!(!e.action_items[0].done);
}

#[test]
fn a_request_to_an_agent_that_changes_something_is_work() {
    let e = convo(&[
        (
            "Bo",
            "@helper please create a sign-up form for the open day",
            None,
            NONE,
        ),
        (
            "helper",
            "Created the sign-up form and pinned the link.",
            Some(1),
            NONE,
        ),
    ]);
    assert_eq!(e.action_items.len(), 1);
    assert_eq!(e.action_items[0].owner.as_deref(), Some("helper"));
    assert!(e.action_items[0].done);
}

#[test]
fn cancelled_work_leaves() {
    let e = convo(&[
        ("Ana", "I'll book the marquee for the open day", None, NONE),
        (
            "Bo",
            "never mind the marquee, the forecast is dry",
            Some(1),
            NONE,
        ),
    ]);
    assert!(e.action_items.is_empty(), "{:?}", e.action_items);
}

#[test]
fn answered_questions_leave_and_deferred_ones_stay() {
    let e = convo(&[
        (
            "Ana",
            "Question: do we need a permit for the market stall?",
            None,
            NONE,
        ),
        ("Bo", "yes, the council wants one, 20 euros", Some(1), NONE),
        ("Cy", "Question: can dogs come to the open day?", None, NONE),
        ("Ana", "good question, not sure yet", Some(3), NONE),
    ]);
    let open: Vec<_> = e.open_questions.iter().map(|q| q.text.as_str()).collect();
    assert_eq!(open, ["Can dogs come to the open day?"]);
    assert_eq!(e.answered_questions.len(), 1);
}

#[test]
fn a_vetoed_joke_decision_is_dropped() {
    let e = convo(&[
        ("Bo", "Decision: the shed becomes a karaoke bar", None, NONE),
        ("Cy", "seconded", None, NONE),
        ("Ana", "denied", None, NONE),
    ]);
    assert!(e.decisions.is_empty(), "{:?}", e.decisions);
}

#[test]
fn work_nobody_took_stays_unowned_but_asking_for_a_lookup_is_not_work() {
    let e = convo(&[
        (
            "Ana",
            "someone should refill the bird feeders before the frost",
            None,
            NONE,
        ),
        (
            "Bo",
            "can someone check whether the pump still works?",
            None,
            NONE,
        ),
        (
            "helper",
            "The pump drew 40 W at the last reading, so it works.",
            Some(2),
            NONE,
        ),
    ]);
    let items: Vec<_> = e
        .action_items
        .iter()
        .map(|a| (a.owner.as_deref(), a.text.as_str()))
        .collect();
    assert_eq!(items, [(None, "Refill the bird feeders before the frost")]);
}
