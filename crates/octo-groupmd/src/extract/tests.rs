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
/// Each action item as (owner, text).
fn owned_items(e: &Extraction) -> Vec<(Option<&str>, &str)> {
    e.action_items
        .iter()
        .map(|a| (a.owner.as_deref(), a.text.as_str()))
        .collect()
}

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
    let items = owned_items(&e);
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
    let items = owned_items(&e);
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
    let items = owned_items(&e);
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

fn actions(e: &Extraction) -> Vec<(Option<&str>, &str, bool)> {
    e.action_items
        .iter()
        .map(|a| (a.owner.as_deref(), a.text.as_str(), a.done))
        .collect()
}

#[test]
fn unpunctuated_chat_asks_and_commits_like_punctuated_chat() {
    let e = convo(&[
        (
            "Ana",
            "anyway who's writing the volunteer guide",
            None,
            NONE,
        ),
        ("Bo", "me, ill write it", None, NONE),
        ("Cy", "Bo can you add the tool list to it too", None, NONE),
    ]);
    assert_eq!(
        actions(&e),
        [
            (Some("Bo"), "Write the volunteer guide", false),
            (Some("Bo"), "Add the tool list to it", false),
        ]
    );
}

#[test]
fn prohibitions_refusals_and_from_now_on_are_decisions() {
    let e = convo(&[
        (
            "Ana",
            "no watering after 6pm, the slugs love it",
            None,
            NONE,
        ),
        (
            "Bo",
            "we won't wait for the council. fence the beds ourselves",
            None,
            NONE,
        ),
        (
            "Cy",
            "Good point. Seed orders go through Bo from now on, we keep the receipts",
            None,
            NONE,
        ),
        // Not rules: a remark and a fact about the future.
        ("Ana", "no idea how long the frost lasts", None, NONE),
        ("Bo", "we won't know about the grant until May", None, NONE),
    ]);
    assert_eq!(
        decisions(&e),
        [
            "No watering after 6pm",
            "We won't wait for the council: fence the beds ourselves",
            "Seed orders go through Bo from now on",
        ]
    );
}

#[test]
fn a_prescriptive_statement_is_decided_only_once_someone_agrees() {
    let agreed = convo(&[
        (
            "Ana",
            "frost alerts should go to the volunteers channel instead of email",
            None,
            NONE,
        ),
        ("Bo", "+1", None, NONE),
    ]);
    assert_eq!(
        decisions(&agreed),
        ["Frost alerts should go to the volunteers channel instead of email"]
    );
    let alone = convo(&[(
        "Ana",
        "frost alerts should go to the volunteers channel instead of email",
        None,
        NONE,
    )]);
    assert!(alone.decisions.is_empty(), "{:?}", alone.decisions);
}

#[test]
fn an_answer_to_a_choice_question_is_decided_by_agreement_but_a_fact_is_not() {
    let e = convo(&[
        (
            "Ana",
            "the lease renews for 3 years. too long, no?",
            None,
            NONE,
        ),
        (
            "Bo",
            "Yes too long. One year renewal, with 60 days notice.",
            None,
            NONE,
        ),
        ("Ana", "ok for me", None, NONE),
        ("Cy", "where are the spare keys?", None, NONE),
        ("Bo", "in the blue box in the shed", None, NONE),
        ("Cy", "ok", None, NONE),
    ]);
    assert_eq!(
        decisions(&e),
        ["Too long: One year renewal, with 60 days notice"]
    );
}

#[test]
fn picking_one_option_proposes_it_in_the_questions_words() {
    let e = convo(&[
        (
            "Ana",
            "should we start planting the east beds now or wait for the soil test",
            None,
            NONE,
        ),
        (
            "Bo",
            "start now, the test only matters for the west beds",
            None,
            NONE,
        ),
        ("Ana", "ok", None, NONE),
    ]);
    assert_eq!(decisions(&e), ["Start planting the east beds now"]);
}

#[test]
fn agreement_with_a_condition_or_a_promise_restates_nothing() {
    let e = convo(&[
        ("Ana", "we should close the garden in January", None, NONE),
        (
            "Bo",
            "fine by me but we need to tell the school first",
            None,
            NONE,
        ),
        ("Cy", "TODO: @Bo write the newsletter", None, NONE),
        ("Bo", "sure, will have a draft by Friday", None, NONE),
    ]);
    assert_eq!(decisions(&e), ["Close the garden in January"]);
}

#[test]
fn a_plain_copula_and_a_pointer_choice_settle_nothing() {
    let e = convo(&[
        (
            "Ana",
            "do we keep the old hose or buy a new one?",
            None,
            NONE,
        ),
        (
            "Bo",
            "the quote came back, it is their standard price",
            None,
            NONE,
        ),
        ("Cy", "ok ok keep it then", None, NONE),
        ("Ana", "let's not open that now", None, NONE),
    ]);
    assert!(e.decisions.is_empty(), "{:?}", e.decisions);
}

#[test]
fn agreement_at_the_end_and_the_lead_proposal_of_a_message() {
    let e = convo(&[
        ("Ana", "do we water on Sundays?", None, NONE),
        (
            "Bo",
            "No Sunday shifts. Volunteers rest that day; we only check the pump.",
            Some(1),
            NONE,
        ),
        ("Cy", "that works for me", Some(1), NONE),
    ]);
    assert_eq!(
        decisions(&e),
        ["No Sunday shifts: Volunteers rest that day"]
    );
}

#[test]
fn yes_to_should_we_settles_and_a_bare_option_settles_a_choice() {
    let e = convo(&[
        (
            "Ana",
            "should we run a seed swap again this spring?",
            None,
            NONE,
        ),
        ("Bo", "yes, seed swap again", None, NONE),
        (
            "Cy",
            "should the banner be the sunflower photo or the logo?",
            None,
            NONE,
        ),
        ("Ana", "the sunflower photo tested better", None, NONE),
        ("Bo", "sunflower photo then", None, NONE),
    ]);
    assert_eq!(
        decisions(&e),
        [
            "Run a seed swap again this spring: seed swap again",
            "Sunflower photo"
        ]
    );
}

#[test]
fn a_one_word_choice_takes_the_topic_it_settles() {
    let e = convo(&[
        (
            "Ana",
            "yay! mulch: two offers, BarkCo at 40 a load and Woodchip Ltd at 35",
            None,
            NONE,
        ),
        ("Bo", "Woodchip it is!", None, NONE),
    ]);
    assert_eq!(decisions(&e), ["Mulch: Woodchip"]);
}

#[test]
fn switching_instead_replaces_the_decision_just_made() {
    let e = convo(&[
        (
            "Ana",
            "let's go with Dripline kits, cost matters",
            None,
            NONE,
        ),
        (
            "Bo",
            "Dripline kits leak at the joints, we tried them",
            None,
            NONE,
        ),
        (
            "Ana",
            "ugh. ok, switching to soaker hoses instead",
            None,
            NONE,
        ),
    ]);
    assert_eq!(decisions(&e), ["Use soaker hoses instead"]);
    let kept = convo(&[
        (
            "Ana",
            "let's go with Dripline kits, cost matters",
            None,
            NONE,
        ),
        (
            "Bo",
            "let's send frost alerts by text instead of email",
            None,
            NONE,
        ),
    ]);
    assert_eq!(kept.decisions.len(), 2, "{:?}", kept.decisions);
}

#[test]
fn a_named_request_inside_a_commitment_is_its_own_item() {
    let e = convo(&[
        (
            "Ana",
            "the school wants a letter about the fence",
            None,
            NONE,
        ),
        (
            "Bo",
            "I'll write the letter to the school, Cy can you review it before it goes out?",
            None,
            NONE,
        ),
        ("Cy", "helper order twenty bags of compost", None, NONE),
    ]);
    assert_eq!(
        actions(&e),
        [
            (Some("Bo"), "Write the letter to the school", false),
            (
                Some("Cy"),
                "Review the letter to the school before it goes out",
                false
            ),
            (Some("helper"), "Order twenty bags of compost", false),
        ]
    );
}

#[test]
fn handing_over_an_open_request_and_naming_a_taker_for_open_work() {
    let e = convo(&[
        ("Ana", "who's fixing the greenhouse door?", None, NONE),
        ("Bo", "Cy can you? you have the tools", None, NONE),
        (
            "Cy",
            "someone should file a claim for the broken pane",
            None,
            NONE,
        ),
        (
            "Ana",
            "@helper open a claim for the broken pane with the insurer",
            None,
            NONE,
        ),
    ]);
    assert_eq!(
        actions(&e),
        [
            (Some("Cy"), "Fix the greenhouse door", false),
            (
                Some("helper"),
                "Open a claim for the broken pane with the insurer",
                false
            ),
        ]
    );
}

#[test]
fn you_is_the_person_answered_and_an_acknowledgement_adds_nothing() {
    let e = convo(&[
        ("Ana", "who has the planting calendar?", None, NONE),
        (
            "Bo",
            "it's in the drive, I'll send you the link",
            None,
            NONE,
        ),
        (
            "Ana",
            "Cy please get the school to sign the form",
            None,
            NONE,
        ),
        ("Cy", "ok I'll email their office", None, NONE),
    ]);
    assert_eq!(
        actions(&e),
        [
            (Some("Bo"), "Send Ana the link", false),
            (Some("Cy"), "Get the school to sign the form", false),
        ]
    );
}

#[test]
fn two_pieces_of_work_in_one_promise_but_not_a_continuation() {
    let e = convo(&[
        (
            "Ana",
            "I'll mark the pump faulty and open a ticket with the supplier",
            None,
            NONE,
        ),
        (
            "Bo",
            "I'll write the rota and put it on the noticeboard",
            None,
            NONE,
        ),
    ]);
    assert_eq!(
        actions(&e),
        [
            (Some("Ana"), "Mark the pump faulty", false),
            (Some("Ana"), "Open a ticket with the supplier", false),
            (
                Some("Bo"),
                "Write the rota and put it on the noticeboard",
                false
            ),
        ]
    );
}

#[test]
fn lists_and_tables_of_owners_are_items() {
    let e = convo(&[
        (
            "Ana",
            "Open day prep:\n- seed labels (Bo)\n- signage: Cy\n- cake stall (me)",
            None,
            NONE,
        ),
        (
            "Bo",
            "| task | who |\n|---|---|\n| parking plan | Cy |\n| raffle prizes | Ana |",
            None,
            NONE,
        ),
        ("Cy", "- remember sunscreen (Bo)", None, NONE),
        // A status list names people but hands out no work.
        (
            "Ana",
            "status:\n- Bo: building the fence\n- Cy: on leave\n- me: fixing the gate",
            None,
            NONE,
        ),
    ]);
    assert_eq!(
        actions(&e),
        [
            (Some("Bo"), "Seed labels", false),
            (Some("Cy"), "Signage", false),
            (Some("Ana"), "Cake stall", false),
            (Some("Cy"), "Parking plan", false),
            (Some("Ana"), "Raffle prizes", false),
        ]
    );
}

#[test]
fn passive_and_received_reports_close_items_but_partial_ones_do_not() {
    let e = convo(&[
        ("Ana", "I'll book the brass band", None, NONE),
        ("Bo", "I'll request the permit from the council", None, NONE),
        ("Cy", "I'll update the volunteer binder", None, NONE),
        ("Ana", "band is booked, they need a gazebo", None, NONE),
        ("Bo", "permit received from the council", None, NONE),
        (
            "Cy",
            "Binder updated. Still waiting on two teams to sign it.",
            None,
            NONE,
        ),
        (
            "Ana",
            "I'll put the gazebo up, it is scheduled for Friday",
            None,
            NONE,
        ),
    ]);
    let done: Vec<_> = e.action_items.iter().map(|a| a.done).collect();
    assert_eq!(done, [true, true, false, false], "{:?}", e.action_items);
}

#[test]
fn who_is_the_lead_stays_open_until_decided_and_a_lead_in_is_not_a_question() {
    let e = convo(&[
        (
            "Ana",
            "Who is the first aider for the open day?",
            None,
            NONE,
        ),
        (
            "Bo",
            "Not decided yet, I'll raise it on Thursday.",
            None,
            NONE,
        ),
        (
            "Cy",
            "what about music? my cousin's brass band would play for free",
            None,
            NONE,
        ),
    ]);
    let open: Vec<_> = e.open_questions.iter().map(|q| q.text.as_str()).collect();
    assert_eq!(open, ["Who is the first aider for the open day?"]);
}

#[test]
fn a_hypothetical_we_would_is_no_proposal_and_a_marker_beats_fair() {
    let e = convo(&[
        ("Ana", "we'd need a second water tank first", None, NONE),
        (
            "Bo",
            "fair. Decision: we wait until the second tank is installed",
            None,
            NONE,
        ),
    ]);
    assert_eq!(
        decisions(&e),
        ["We wait until the second tank is installed"]
    );
}

#[test]
fn work_given_to_two_members_is_an_item_for_each_and_their_ok_settles_nothing() {
    let e = convo(&[
        ("Ana", "do we use the red or the blue trays?", None, NONE),
        ("Ana", "Bo and Cy, order the blue seed trays", None, NONE),
        ("Bo", "ok, blue trays then", None, NONE),
    ]);
    assert_eq!(
        actions(&e),
        [
            (Some("Bo"), "Order the blue seed trays", false),
            (Some("Cy"), "Order the blue seed trays", false),
        ]
    );
    assert!(e.decisions.is_empty(), "{:?}", e.decisions);
}

#[test]
fn what_if_proposes_and_i_like_that_restates_or_accepts() {
    let e = convo(&[
        ("Ana", "the compost is a mess again", None, NONE),
        ("Bo", "compost means nobody ever turns it", None, NONE),
        (
            "Cy",
            "what if we turn it with a named owner each week?",
            None,
            NONE,
        ),
        ("Ana", "I like that", None, NONE),
        (
            "Bo",
            "what if we start with just the east beds?",
            None,
            NONE,
        ),
        (
            "Cy",
            "I like that, east beds get drip lines first, the rest later",
            None,
            NONE,
        ),
    ]);
    assert_eq!(
        decisions(&e),
        [
            "Turn it with a named owner each week",
            "East beds get drip lines first, the rest later"
        ]
    );
}

#[test]
fn an_agreement_that_goes_on_to_decide_accepts_nothing_else() {
    let e = convo(&[
        (
            "Ana",
            "what if we did both and compared them at harvest?",
            None,
            NONE,
        ),
        (
            "Bo",
            "I like that. Let's plant both varieties and keep whichever yields more.",
            None,
            NONE,
        ),
    ]);
    assert_eq!(
        decisions(&e),
        ["Plant both varieties and keep whichever yields more"]
    );
}

#[test]
fn headline_reports_close_items_but_booked_for_a_day_is_still_to_come() {
    let e = convo(&[
        ("Ana", "I'll organise the harvest dinner", None, NONE),
        ("Bo", "I can run a pruning workshop next week", None, NONE),
        ("Ana", "dinner booked for the 13th, 40 people", None, NONE),
        ("Bo", "pruning workshop is booked for Tuesday", None, NONE),
    ]);
    let done: Vec<_> = e.action_items.iter().map(|a| a.done).collect();
    assert_eq!(done, [true, false], "{:?}", e.action_items);
}

#[test]
fn claiming_with_a_pointer_names_no_new_work_and_one_errand_stays_one_item() {
    let e = convo(&[
        (
            "Ana",
            "@helper open a ticket for the broken pump and assign it to Bo",
            None,
            NONE,
        ),
        ("Bo", "I'll pick that up after the open day", None, NONE),
        (
            "Cy",
            "I'll call Greenhaus and set up the account",
            None,
            NONE,
        ),
        (
            "Ana",
            "Cy push the new rota and @helper post it in the volunteers channel",
            None,
            NONE,
        ),
    ]);
    let owners: Vec<_> = e.action_items.iter().map(|a| a.owner.as_deref()).collect();
    assert_eq!(
        owners,
        [Some("helper"), Some("Cy"), Some("Cy"), Some("helper")],
        "{:?}",
        e.action_items
    );
    assert_eq!(
        e.action_items[1].text,
        "Call Greenhaus and set up the account"
    );
}

#[test]
fn the_owners_reply_says_what_a_pointer_task_is_without_its_promise() {
    let e = convo(&[
        ("Ana", "the seed budget went over again", None, NONE),
        ("Bo", "Cy track it weekly", None, NONE),
        (
            "Cy",
            "ok will track it in the shared seed sheet",
            None,
            NONE,
        ),
    ]);
    assert_eq!(
        actions(&e),
        [(Some("Cy"), "Track it in the shared seed sheet", false)]
    );
}

#[test]
fn observations_are_not_prohibitions_and_failures_are_not_completions() {
    let e = convo(&[
        ("Ana", "I'll fix the pump timer", None, NONE),
        ("Ana", "pump timer failed again overnight", None, NONE),
        ("Bo", "no leaks since the new seals went in", None, NONE),
        ("Cy", "no errors in the sensor logs", None, NONE),
    ]);
    assert!(e.decisions.is_empty(), "{:?}", e.decisions);
    assert!(!e.action_items[0].done, "{:?}", e.action_items);
}

#[test]
fn a_pointer_claim_gets_its_object_from_the_message_it_answers() {
    // "who can look at that?" + "I'll take it": the task names the bug.
    let e = convo(&[
        (
            "Bo",
            "the export button is still rendering twice on the invoices page",
            None,
            NONE,
        ),
        (
            "Ana",
            "ugh. who can look at that before friday?",
            None,
            NONE,
        ),
        ("Cy", "I'll take it", None, NONE),
    ]);
    assert_eq!(e.action_items.len(), 1, "{:?}", e.action_items);
    let a = &e.action_items[0];
    assert_eq!(a.owner.as_deref(), Some("Cy"));
    assert!(
        a.text.contains("export button") && a.text.contains("invoices"),
        "{}",
        a.text
    );
}

#[test]
fn a_vague_decision_gets_the_proposal_it_accepts() {
    // "let's do that for 2.1" after "could we X?": the decision says X.
    let e = convo(&[
        (
            "Bo",
            "could we disable autosave during the boss transition? logs say it corrupts there",
            None,
            NONE,
        ),
        ("Cy", "is that safe?", None, NONE),
        (
            "Bo",
            "players lose ten minutes of progress at most, better than a broken save",
            None,
            NONE,
        ),
        ("Ana", "ok let's do that for 2.1", None, NONE),
    ]);
    assert!(
        decisions(&e)
            .iter()
            .any(|d| d.contains("disable autosave during the boss transition")),
        "{:?}",
        decisions(&e)
    );
}

#[test]
fn a_claim_of_who_does_x_is_x_and_a_bare_yes_is_not_the_task() {
    // "who submits the build?" is a request like "who's submitting …?".
    let e = convo(&[
        (
            "Ana",
            "who submits the build to the store this time?",
            None,
            NONE,
        ),
        ("Bo", "me", None, NONE),
        (
            "Cy",
            "the audit firm wants the revenue testing sample by the 10th",
            None,
            NONE,
        ),
        (
            "Ana",
            "Cy please own that, you did it last year",
            None,
            NONE,
        ),
        ("Cy", "sure will do", None, NONE),
    ]);
    let items = actions(&e);
    assert!(
        items
            .iter()
            .any(|(o, t, _)| *o == Some("Bo") && t.contains("build to the store")),
        "{items:?}"
    );
    assert!(
        items
            .iter()
            .any(|(o, t, _)| *o == Some("Cy") && t.contains("revenue testing sample")),
        "{items:?}"
    );
}

#[test]
fn an_item_with_its_own_object_keeps_its_words_and_and_share_is_one_task() {
    let e = convo(&[
        ("Bo", "the billing cutover is the scary part", None, NONE),
        (
            "Ana",
            "I'll write the cutover plan for billing and share on monday",
            None,
            NONE,
        ),
        ("Cy", "I'll roll back the search migration", None, NONE),
    ]);
    assert_eq!(
        actions(&e),
        [
            (
                Some("Ana"),
                "Write the cutover plan for billing and share on monday",
                false
            ),
            (Some("Cy"), "Roll back the search migration", false)
        ]
    );
}

#[test]
fn context_clauses_drop_lead_ins_asides_and_first_person_reports() {
    use super::context::{Clause, context_clause, vague_action, with_context};
    let c = context_clause(
        "other topic - the nitrogen delivery (usually 8am) is on thursday",
        false,
    );
    assert_eq!(
        c.map(|c| c.text).as_deref(),
        Some("the nitrogen delivery is on thursday")
    );
    assert!(context_clause("I got two quotes from the caterers", false).is_none());
    assert!(context_clause("Booked the room for the whole week", false).is_none());
    let m = members();
    assert!(vague_action("Look at that", &m));
    assert!(vague_action("Ask Bo in finance", &m));
    assert!(vague_action("Share on monday", &m));
    assert!(!vague_action("Write the postmortem by Thursday", &m));
    assert!(!vague_action("Ask finance about the audit budget", &m));
    let ctx = Clause {
        text: "ask them if a csv export is enough".into(),
        question: true,
        task: None,
        asked_we: false,
    };
    assert_eq!(
        with_context("Ask Bo in finance", &ctx),
        "Ask Bo in finance if a csv export is enough"
    );
}

#[test]
fn an_acknowledgement_restating_a_choice_decides_it_with_its_subject() {
    let e = convo(&[
        (
            "Ana",
            "retention for the audit logs - do we keep them 90 days or a full year?",
            None,
            NONE,
        ),
        ("Bo", "a year costs 3x the storage", None, NONE),
        ("Cy", "90 days is what the contract says", None, NONE),
        ("Ana", "ok keep 90 days", None, NONE),
    ]);
    let d = decisions(&e);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].starts_with("Keep 90 days"), "{d:?}");
    assert!(d[0].contains("audit logs"), "{d:?}");
}

#[test]
fn an_acknowledgement_after_a_fact_question_decides_nothing() {
    let e = convo(&[
        ("Ana", "where are the audit logs stored now?", None, NONE),
        ("Bo", "in the cold bucket since may", None, NONE),
        (
            "Ana",
            "ok cold bucket it is not, that was moved",
            None,
            NONE,
        ),
        ("Cy", "ok the nightly build is green again", None, NONE),
    ]);
    assert!(decisions(&e).is_empty(), "{:?}", decisions(&e));
}

#[test]
fn a_short_answer_to_a_choice_names_what_was_chosen_for() {
    let e = convo(&[
        (
            "Ana",
            "for the invoices, should we render the PDFs in the browser or on our own worker?",
            None,
            NONE,
        ),
        (
            "Bo",
            "own worker, the browser fonts differ per OS anyway",
            None,
            NONE,
        ),
        ("Cy", "yep, let's do that", None, NONE),
    ]);
    let d = decisions(&e);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].starts_with("Own worker:"), "{d:?}");
    assert!(d[0].contains("render the PDFs"), "{d:?}");
    assert!(!d[0].contains("fonts"), "{d:?}");
}

#[test]
fn an_imperative_to_an_agent_is_its_work_but_a_lookup_is_not() {
    let e = convo(&[
        (
            "Ana",
            "@helper run the load test suite against staging",
            None,
            NONE,
        ),
        (
            "helper",
            "Load test suite: 212 passed, 0 failed.",
            Some(1),
            NONE,
        ),
        ("Bo", "@helper list the open invoices here", None, NONE),
        (
            "Cy",
            "helper shows 3 retries since the last deploy",
            None,
            NONE,
        ),
    ]);
    let items = owned_items(&e);
    assert_eq!(
        items,
        [(Some("helper"), "Run the load test suite against staging")],
        "{items:?}"
    );
}

#[test]
fn a_pointer_claim_takes_the_work_said_before_or_nothing() {
    let e = convo(&[
        (
            "Ana",
            "disk is at 93%. we need to move the old recordings to the archive bucket",
            None,
            NONE,
        ),
        (
            "Bo",
            "i can make it, the 2022 ones are already exported",
            None,
            NONE,
        ),
        ("Cy", "the dashboard colours look odd today", None, NONE),
        ("Ana", "lol yes. I can own it", None, NONE),
    ]);
    let items = owned_items(&e);
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].0, Some("Bo"));
    assert!(
        items[0].1.starts_with("Move the old recordings"),
        "{items:?}"
    );
}

#[test]
fn a_clause_opening_with_will_is_the_authors_work() {
    let e = convo(&[
        (
            "Ana",
            "the export button is broken on safari since the redesign",
            None,
            NONE,
        ),
        (
            "Bo",
            "yeah my bad, broke it with the toolbar change. will fix the toolbar css today",
            None,
            NONE,
        ),
    ]);
    let items = owned_items(&e);
    assert_eq!(items, [(Some("Bo"), "Fix the toolbar css")], "{items:?}");
}

#[test]
fn agreeing_with_someone_by_name_is_not_part_of_the_decision() {
    let e = convo(&[
        (
            "Cy",
            "results are in, the new ranking wins on mobile. ship?",
            None,
            NONE,
        ),
        ("Bo", "ship on mobile only?", None, NONE),
        (
            "Ana",
            "I agree with Cy, ship the new ranking to all platforms",
            None,
            THUMBS,
        ),
    ]);
    let d = decisions(&e);
    assert!(
        d.iter()
            .any(|t| t.starts_with("Ship the new ranking to all platforms")),
        "{d:?}"
    );
}

#[test]
fn we_could_proposes_and_a_plus_one_accepts() {
    let e = convo(&[
        (
            "Ana",
            "we could move billing last, after everything else is stable",
            None,
            NONE,
        ),
        ("Bo", "+1", None, NONE),
    ]);
    assert_eq!(
        decisions(&e),
        ["Move billing last, after everything else is stable"]
    );
}

#[test]
fn a_question_put_off_to_later_stays_open_and_decides_nothing() {
    let e = convo(&[
        (
            "Ana",
            "one more - do we backport the timeout fix to the 2.x branch?",
            None,
            NONE,
        ),
        (
            "Bo",
            "2.x is EOL officially but two distros ship it",
            None,
            NONE,
        ),
        (
            "Ana",
            "let's decide next week, I want to ask the distro maintainers first",
            None,
            NONE,
        ),
        (
            "Cy",
            "does anyone know if the vendor refunds the broken units? 14 of them",
            None,
            NONE,
        ),
        ("Bo", "no clue", None, NONE),
        ("Cy", "ok leave it with me", None, NONE),
    ]);
    assert!(decisions(&e).is_empty(), "{:?}", decisions(&e));
    let q: Vec<_> = e.open_questions.iter().map(|q| q.text.as_str()).collect();
    assert_eq!(q.len(), 2, "{q:?}");
    assert!(q[0].starts_with("Do we backport the timeout fix"), "{q:?}");
    assert!(q[1].contains("vendor refunds the broken units"), "{q:?}");
}

#[test]
fn a_hedged_answer_to_a_choice_proposes_and_agreement_settles_it() {
    let e = convo(&[
        (
            "Ana",
            "and the old printers? we keep some as spares?",
            None,
            NONE,
        ),
        (
            "Bo",
            "I think keep 3 as spares for a month, then recycle them",
            None,
            NONE,
        ),
        ("Cy", "yes, agreed. 3 spares for a month", None, NONE),
    ]);
    assert_eq!(
        decisions(&e),
        ["Keep 3 as spares for a month, then recycle them"]
    );
}

#[test]
fn yes_with_a_reason_settles_the_question_and_a_condition_narrows_it() {
    let e = convo(&[
        (
            "Ana",
            "should we send a heads-up mail to everyone with a delayed order?",
            None,
            NONE,
        ),
        (
            "Bo",
            "yes please, otherwise they all call support",
            None,
            NONE,
        ),
        (
            "Cy",
            "let's do it, but only for orders not yet shipped",
            None,
            NONE,
        ),
    ]);
    assert_eq!(
        decisions(&e),
        ["Send a heads-up mail to everyone with a delayed order, only for orders not yet shipped"]
    );
}

#[test]
fn a_task_ends_before_a_clause_about_when_people_act() {
    let e = convo(&[(
        "Ana",
        "I'll ask the landlord about the deposit before we sign anything",
        None,
        NONE,
    )]);
    let items: Vec<_> = e.action_items.iter().map(|a| a.text.as_str()).collect();
    assert_eq!(items, ["Ask the landlord about the deposit"]);
}

#[test]
fn merged_in_the_thread_of_the_reported_problem_closes_the_claimed_work() {
    let e = convo(&[
        (
            "Ana",
            "the export button renders twice on safari",
            None,
            NONE,
        ),
        ("Bo", "ugh. who can look at that before friday?", None, NONE),
        ("Cy", "I'll take it", None, NONE),
        ("Ana", "unrelated: the wiki is down again", None, NONE),
        (
            "Cy",
            "found it, the button was mounted twice. PR #881",
            Some(1),
            NONE,
        ),
        ("Bo", "merged, thx", Some(1), NONE),
    ]);
    let items: Vec<_> = e
        .action_items
        .iter()
        .map(|a| (a.owner.as_deref(), a.done))
        .collect();
    assert_eq!(items, [(Some("Cy"), true)], "{:?}", e.action_items);
}

#[test]
fn a_plan_asked_as_a_bare_question_and_confirmed_is_decided() {
    let e = convo(&[
        ("Ana", "go-live date still 14th of may?", None, NONE),
        ("Bo", "yes", None, NONE),
        ("Cy", "anyone seen my charger?", None, NONE),
        ("Ana", "yes", None, NONE),
        ("Bo", "Cy can you update the wiki page?", None, NONE),
        ("Cy", "yes", None, NONE),
    ]);
    assert_eq!(decisions(&e), ["Go-live date still 14th of may"]);
}

#[test]
fn a_bare_object_takes_the_modifiers_the_chat_named_it_with() {
    let e = convo(&[
        (
            "Ana",
            // "bank recs": here "bank" names another thing.
            "bank recs are blocked, the March statement from Nord Bank is missing",
            None,
            NONE,
        ),
        (
            "Ana",
            "send the report to the council by friday",
            None,
            NONE,
        ),
        ("Bo", "can someone chase the bank?", None, NONE),
        ("Cy", "I'll chase the bank", None, NONE),
        ("Bo", "I will write the report", None, NONE),
        // "the company offers training": a verb is not a modifier.
        ("Ana", "the company offers training, 2 sessions", None, NONE),
        ("Ana", "Cy can you organise the training?", None, NONE),
    ]);
    let items = owned_items(&e);
    assert!(
        items.contains(&(Some("Cy"), "Chase the Nord Bank")),
        "{items:?}"
    );
    assert!(
        items
            .iter()
            .any(|(_, t)| *t == "Write the report to the council"),
        "{items:?}"
    );
    assert!(
        items.iter().any(|(_, t)| *t == "Organise the training"),
        "{items:?}"
    );
}

#[test]
fn a_pointer_at_the_end_of_a_task_takes_its_object_but_with_them_is_people() {
    let e = convo(&[
        (
            "Ana",
            "new ledger account 6815 for card processing fees. I will ask the controller to open it",
            None,
            NONE,
        ),
        (
            "Bo",
            "the caterers confirmed 80 guests for saturday",
            None,
            NONE,
        ),
        (
            "Cy",
            "I will sort out the menu details with them",
            None,
            NONE,
        ),
    ]);
    let items = owned_items(&e);
    assert!(
        items.iter().any(|(o, t)| *o == Some("Ana")
            && t.starts_with("Ask the controller to open")
            && t.contains("account 6815")),
        "{items:?}"
    );
    assert!(
        items.contains(&(Some("Cy"), "Sort out the menu details with them")),
        "{items:?}"
    );
}

#[test]
fn checking_with_someone_takes_the_question_it_answers_as_whether() {
    let e = convo(&[
        (
            "Bo",
            "do we need legal to review the raffle prize terms?",
            None,
            NONE,
        ),
        ("Cy", "not sure, I'll check with Ana", None, NONE),
    ]);
    let items = owned_items(&e);
    assert!(
        items.contains(&(
            Some("Cy"),
            "Check with Ana whether we need legal to review the raffle prize terms"
        )),
        "{items:?}"
    );
    let m = members();
    assert!(super::context::vague_action("Check with Ana", &m));
    assert!(!super::context::vague_action(
        "Check with Ana about the prize terms",
        &m
    ));
}

#[test]
fn labelled_suggestion_agreed_becomes_decision_without_its_label() {
    let e = convo(&[
        (
            "Ana",
            "suggestion: max 2 build agents per team for nightly jobs",
            None,
            NONE,
        ),
        ("Bo", "+1", None, NONE),
    ]);
    assert_eq!(
        decisions(&e),
        ["Max 2 build agents per team for nightly jobs"]
    );
}

#[test]
fn why_not_proposal_is_stated_without_the_question_words() {
    let e = convo(&[
        ("Ana", "why not weekly releases on tuesdays", None, NONE),
        ("Bo", "sounds good", None, NONE),
    ]);
    assert_eq!(decisions(&e), ["Weekly releases on tuesdays"]);
}

#[test]
fn lets_go_with_that_decides_what_that_points_to() {
    let e = convo(&[
        ("Ana", "which logo do we print on the banner?", None, NONE),
        (
            "Bo",
            "the blue one for print, the green one for the web?",
            None,
            NONE,
        ),
        ("Ana", "yes let's go with that", None, NONE),
    ]);
    assert_eq!(
        decisions(&e),
        ["The blue one for print, the green one for the web"]
    );
}

#[test]
fn lets_do_both_takes_the_message_naming_two_things() {
    let e = convo(&[
        ("Ana", "we need a plan for the audit. ideas?", None, NONE),
        (
            "Bo",
            "checklists in each room + a spot check per shift",
            None,
            NONE,
        ),
        (
            "Cy",
            "the spot checks work better than checklists",
            None,
            NONE,
        ),
        ("Ana", "let's do both", None, NONE),
        ("Cy", "yes sure", None, NONE),
    ]);
    assert_eq!(
        decisions(&e),
        ["Checklists in each room + a spot check per shift"]
    );
}

#[test]
fn short_it_is_takes_the_proposal_it_settles_in_full() {
    let e = convo(&[
        (
            "Ana",
            "the nightly job times out after 10 minutes",
            None,
            NONE,
        ),
        (
            "Bo",
            "or just raise the timeout to 30 minutes, it is cheap",
            None,
            NONE,
        ),
        ("Cy", "agreed, 30 minutes it is", None, NONE),
    ]);
    assert_eq!(decisions(&e), ["Raise the timeout to 30 minutes"]);
}

#[test]
fn fair_x_it_is_does_not_accept_the_remark_before_it() {
    let e = convo(&[
        ("Ana", "which wiki, confluence or notion?", None, NONE),
        ("Bo", "notion is free for small teams", None, NONE),
        (
            "Cy",
            "one tool for everything is better, fewer logins",
            None,
            NONE,
        ),
        ("Ana", "fair, notion it is", None, NONE),
    ]);
    assert!(!decisions(&e).iter().any(|d| d.contains("fewer logins")));
}

#[test]
fn lets_after_a_reason_clause_keeps_the_reason() {
    let e = convo(&[
        ("Ana", "the office printer jammed again", None, NONE),
        (
            "Bo",
            "we still have budget left this quarter, let's buy a new printer",
            None,
            NONE,
        ),
        ("Cy", "agreed", None, NONE),
    ]);
    assert_eq!(
        decisions(&e),
        ["Buy a new printer: we still have budget left this quarter"]
    );
}

#[test]
fn lets_go_through_an_agenda_decides_nothing() {
    let e = convo(&[(
        "Ana",
        "morning! the beta ships next week, lets go through what's left",
        None,
        NONE,
    )]);
    assert!(decisions(&e).is_empty());
}

#[test]
fn instruction_answering_can_we_is_accepted_by_taking_up_its_work() {
    let e = convo(&[
        ("Ana", "the shared drive is almost full", None, NONE),
        ("Bo", "can we just delete old exports?", Some(1), NONE),
        (
            "Cy",
            "Send a note to the team first, then delete exports older than 90 days.",
            Some(1),
            NONE,
        ),
        ("Ana", "ok, i write the note today", Some(1), NONE),
    ]);
    assert_eq!(
        decisions(&e),
        ["Send a note to the team first, then delete exports older than 90 days"]
    );
}

#[test]
fn a_narrowing_clause_keeps_the_choice_whole() {
    let e = convo(&[
        (
            "Ana",
            "the docs export has 400 pages incl the changelog",
            None,
            NONE,
        ),
        ("Bo", "do we really print that?", Some(1), NONE),
        (
            "Cy",
            "exclude the changelog, only guides and tutorials",
            Some(1),
            NONE,
        ),
        ("Bo", "ok i'll change the filter", Some(1), NONE),
    ]);
    assert_eq!(
        decisions(&e),
        ["Exclude the changelog, only guides and tutorials"]
    );
}

#[test]
fn maybe_plan_echoed_by_ok_becomes_decision() {
    let e = convo(&[
        (
            "Ana",
            "timeline? maybe a 3 day hackathon starting 5th of june",
            None,
            NONE,
        ),
        ("Bo", "the interns said june is good", None, NONE),
        ("Cy", "ok 5th june", None, NONE),
    ]);
    assert_eq!(decisions(&e), ["A 3 day hackathon starting 5th of june"]);
}

#[test]
fn maybe_but_hesitates_and_proposes_nothing() {
    let e = convo(&[
        ("Ana", "what about reserved instances?", None, NONE),
        ("Bo", "maybe, but our fleet changes too much", None, NONE),
        ("Ana", "fair", None, NONE),
    ]);
    assert!(decisions(&e).is_empty());
}

#[test]
fn granted_permission_decides_in_the_askers_words() {
    let e = convo(&[
        (
            "Ana",
            "we said max 2 GPUs per person from monday",
            None,
            NONE,
        ),
        (
            "Bo",
            "one more: can I keep the 6 GPUs until friday? the sweep is at 70%",
            None,
            NONE,
        ),
        ("Ana", "Yes, the limit starts monday anyway.", None, NONE),
    ]);
    assert!(
        decisions(&e).contains(&"Bo keeps the 6 GPUs until friday"),
        "{:?}",
        decisions(&e)
    );
    assert!(!decisions(&e).iter().any(|d| d.contains("anyway")));
    // "yes, but …" grants something else; "can I ask …" asks to talk.
    let e = convo(&[
        ("Bo", "can I keep the 6 GPUs until friday?", None, NONE),
        ("Ana", "yes but only 4 of them", None, NONE),
    ]);
    assert!(!decisions(&e).iter().any(|d| d.starts_with("Bo keeps")));
    assert_eq!(super::verbs::third_person("push"), "pushes");
    assert_eq!(super::verbs::third_person("copy"), "copies");
    assert_eq!(super::verbs::third_person("stay"), "stays");
}

#[test]
fn status_report_after_a_question_is_not_proposed() {
    let e = convo(&[
        (
            "Ana",
            "do we keep the old runner or move to the new one?",
            None,
            NONE,
        ),
        (
            "Bo",
            "runner config is updated, tested with a dummy job",
            None,
            NONE,
        ),
        ("Cy", "perfect, thanks", None, NONE),
    ]);
    assert!(decisions(&e).is_empty(), "{:?}", decisions(&e));
}

#[test]
fn agreement_restating_the_question_just_asked_decides() {
    let e = convo(&[
        (
            "Bo",
            "last year the magic show was the biggest draw, book it again?",
            None,
            NONE,
        ),
        ("Cy", "yes!! kids loved it", None, NONE),
        (
            "Ana",
            "agreed, magic show again. Bo can you call them?",
            None,
            NONE,
        ),
    ]);
    assert!(
        decisions(&e).iter().any(|d| d.contains("Magic show again")),
        "{:?}",
        decisions(&e)
    );
}

#[test]
fn version_number_does_not_tie_a_choice_to_the_question_before() {
    let messages: Vec<Message> = [
        "question: do we keep supporting Android 9 in 3.8?",
        "lets not decide today, i want numbers first",
        "the translators say the strings come next week",
        "good, then 3.7.1 the week after",
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| Message {
        id: (i + 1).to_string(),
        author: ["Ana", "Bo", "Cy", "Bo"][i].into(),
        text: (*t).into(),
        thread_id: None,
        reactions: Vec::new(),
    })
    .collect();
    let settled = |text: &str| super::context::settled_question(text, 3, &messages, &members());
    assert_eq!(settled("3.7.1 the week after"), None);
    // The option itself, as a whole number, still ties it.
    assert!(settled("3.8 then").is_some());
}

#[test]
fn title_abbreviations_end_no_sentence() {
    let s = crate::text::sentences(
        "I must check with Dr. Keller first. Tools, e.g. Weblate, are fine.",
    );
    let texts: Vec<&str> = s.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "I must check with Dr. Keller first",
            "Tools, e.g. Weblate, are fine"
        ]
    );
}

#[test]
fn a_claim_takes_no_object_from_a_remark_several_messages_back() {
    let e = convo(&[
        (
            "Ana",
            "the greenhouse heater keeps tripping the breaker every night",
            None,
            NONE,
        ),
        ("Bo", "the new seed catalogue looks great", None, NONE),
        ("Cy", "the delivery van is booked for friday", None, NONE),
        ("Ana", "anyone seen my gloves", None, NONE),
        ("Bo", "I'll handle the booking", None, NONE),
    ]);
    assert_eq!(
        owned_items(&e),
        [(Some("Bo"), "Handle the booking")],
        "{:?}",
        e.action_items
    );
}

#[test]
fn a_bare_verb_with_nothing_to_act_on_is_no_task() {
    let e = convo(&[("Bo", "small fix, I'll push today", None, NONE)]);
    assert!(e.action_items.is_empty(), "{:?}", e.action_items);
}

#[test]
fn a_long_context_clause_is_cut_where_a_clause_ends() {
    use super::context::context_clause;
    let text = |s: &str| context_clause(s, false).map(|c| c.text);
    assert_eq!(
        text("the van delivery is on thursday but nobody is here thursday morning to sign"),
        Some("the van delivery is on thursday".to_owned())
    );
    assert_eq!(
        text("the coworking space in the old mill has rooms for twenty people upstairs"),
        Some("the coworking space in the old mill has rooms".to_owned())
    );
}

#[test]
fn a_plain_present_with_a_time_ahead_or_a_recipient_is_a_promise() {
    let e = convo(&[
        ("Ana", "ok, i write the welcome mail today", None, NONE),
        (
            "Bo",
            "I move the old seed stock to the shed before friday",
            None,
            NONE,
        ),
        ("Cy", "i think the shed roof leaks tomorrow", None, NONE),
        ("Cy", "i sent you the watering plan", None, NONE),
        ("Cy", "i water the tomatoes every morning", None, NONE),
    ]);
    assert_eq!(
        owned_items(&e),
        [
            (Some("Ana"), "Write the welcome mail"),
            (Some("Bo"), "Move the old seed stock to the shed"),
        ],
        "{:?}",
        e.action_items
    );
}

#[test]
fn a_reported_request_is_the_work_not_who_asked() {
    use super::context::context_clause;
    let c = context_clause(
        "the garden club asked if we can put a seed swap notice on the board",
        false,
    );
    assert_eq!(
        c.map(|c| c.text),
        Some("put a seed swap notice on the board".to_owned())
    );
}

#[test]
fn one_stands_for_the_thing_just_said_to_be_needed() {
    let e = convo(&[
        (
            "Ana",
            "the seed fridge keeps drifting warm overnight, we need a data logger",
            None,
            NONE,
        ),
        ("Bo", "i can order one", None, NONE),
    ]);
    assert_eq!(
        owned_items(&e),
        [(Some("Bo"), "Order a data logger")],
        "{:?}",
        e.action_items
    );
}
