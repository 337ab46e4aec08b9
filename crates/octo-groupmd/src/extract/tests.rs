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

#[test]
fn a_yes_to_should_we_becomes_a_decision_once_someone_agrees() {
    let e = convo(&[
        ("Ana", "should we lock the tool shed at night?", None, NONE),
        ("Bo", "yes, with the combination padlock", Some(1), NONE),
        ("Cy", "agreed", Some(1), NONE),
    ]);
    assert_eq!(
        decisions(&e),
        ["Lock the tool shed at night: with the combination padlock"]
    );
}

#[test]
fn an_agreement_that_restates_the_answer_is_the_decision() {
    let e = convo(&[
        (
            "Ana",
            "which day is the harvest fair, saturday or sunday?",
            None,
            NONE,
        ),
        (
            "Bo",
            "saturday, sunday clashes with the market",
            Some(1),
            NONE,
        ),
        (
            "Cy",
            "agreed, the harvest fair is on saturday",
            Some(1),
            NONE,
        ),
    ]);
    assert_eq!(decisions(&e), ["The harvest fair is on saturday"]);
}

#[test]
fn a_change_of_plan_replaces_the_earlier_decision_in_new_words() {
    let e = convo(&[
        ("Ana", "let's hold the meeting in the library", None, NONE),
        ("Bo", "sure", None, NONE),
        ("Ana", "the library is closed for repairs", None, NONE),
        (
            "Ana",
            "change of plan: we meet in the greenhouse instead",
            None,
            NONE,
        ),
    ]);
    assert_eq!(decisions(&e), ["We meet in the greenhouse instead"]);
}

#[test]
fn a_rejected_proposal_is_not_accepted_by_later_agreement() {
    let e = convo(&[
        ("Ana", "we should water twice a day in july", None, NONE),
        ("Bo", "no, the well can't keep up", None, NONE),
        ("Cy", "agree with Bo", None, NONE),
    ]);
    assert!(e.decisions.is_empty(), "{:?}", e.decisions);
}

#[test]
fn named_requests_in_progress_work_and_taking_a_request_by_its_noun() {
    let e = convo(&[
        ("Ana", "Bo can you order more mulch?", None, NONE),
        (
            "Cy",
            "someone needs to repair the compost bin lid",
            None,
            NONE,
        ),
        ("Ana", "I'll take the compost bin", None, NONE),
        ("Cy", "fixing the hose reel now", None, NONE),
    ]);
    let items: Vec<_> = e
        .action_items
        .iter()
        .map(|a| (a.owner.as_deref(), a.text.as_str()))
        .collect();
    assert_eq!(
        items,
        [
            (Some("Bo"), "Order more mulch"),
            (Some("Ana"), "Repair the compost bin lid"),
            (Some("Cy"), "Fix the hose reel"),
        ]
    );
}

#[test]
fn a_partial_report_does_not_close_the_item_and_never_mind_withdraws_it() {
    let e = convo(&[
        ("Ana", "I'll weed the herb and flower beds", None, NONE),
        (
            "Ana",
            "herb bed weeded, the flower bed is next",
            Some(1),
            NONE,
        ),
        ("Bo", "TODO: buy a second wheelbarrow", None, NONE),
        ("Bo", "never mind, the old one got fixed", None, NONE),
    ]);
    assert_eq!(e.action_items.len(), 1, "{:?}", e.action_items);
    assert!(!e.action_items[0].done);
}

#[test]
fn an_unanswered_question_stays_open_and_an_answered_one_does_not() {
    let e = convo(&[
        (
            "Ana",
            "do we have enough seed for the east beds?",
            None,
            NONE,
        ),
        ("Bo", "yes, two full bags", None, NONE),
        ("Cy", "who's organising the spring clean-up?", None, NONE),
        (
            "Ana",
            "what about the broken fence on the north side?",
            None,
            NONE,
        ),
        ("Bo", "lol", None, NONE),
    ]);
    let open: Vec<_> = e.open_questions.iter().map(|q| q.text.as_str()).collect();
    assert_eq!(
        open,
        [
            "Who's organising the spring clean-up?",
            "What about the broken fence on the north side?"
        ]
    );
}
