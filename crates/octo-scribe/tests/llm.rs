//! The LLM maintainer against a local server speaking OpenAI's
//! `chat/completions`: what it is sent, a valid revision written, invalid ones
//! refused, an endpoint that fails retried or left to the rules.

mod common;

use std::time::Duration;

use common::{Model, Reply, STEP, WAIT, prompt_of, world};
use octo_groupmd::TEMPLATE;
use octo_scribe::{MaintainerConfig, OpenAiMaintainer, ScribeConfig};

/// Only `/groupmd` triggers a pass; the model is `model`.
fn with_model(model: &Model) -> ScribeConfig {
    let mut openai = OpenAiMaintainer::new(&model.base_url, "test-model");
    openai.api_key = Some("test-key".into());
    openai.timeout = Duration::from_secs(10);
    ScribeConfig {
        every_messages: 1000,
        idle: Duration::from_secs(3600),
        maintainer: MaintainerConfig::OpenAi(openai),
    }
}

fn with_decision(doc: &str, line: &str) -> String {
    doc.replacen("## Decisions\n", &format!("## Decisions\n{line}\n"), 1)
}

async fn notes_until(w: &common::World, n: usize) -> Vec<String> {
    for _ in 0..(WAIT.as_millis() / STEP.as_millis()) {
        let notes = w.scribe_notes().await;
        if notes.len() >= n {
            return notes;
        }
        tokio::time::sleep(STEP).await;
    }
    panic!("the scribe posted fewer than {n} notes");
}

#[tokio::test]
async fn the_models_revision_is_written_and_noted_and_it_was_sent_the_document_and_messages() {
    let model = Model::start().await;
    let w = world().await;
    let _stop = w.start_scribe(with_model(&model));
    let said = w.say("Decision: we ship the beta on Fridays").await;
    let revised = with_decision(
        TEMPLATE,
        &format!("- We ship the beta on Fridays (from #{})", said.id),
    );
    model.push(Reply::Content(revised.clone()));
    w.say("/groupmd").await;

    let (revision, text) = w
        .groupmd_until("the model's revision", |t| t == revised)
        .await;
    assert_eq!(revision, 1);
    assert_eq!(text, revised);
    let notes = notes_until(&w, 1).await;
    assert!(
        notes[0].starts_with("group.md updated: +1 decision"),
        "{notes:?}"
    );

    let requests = model.requests();
    assert_eq!(requests.len(), 1, "one pass, one request");
    let (body, auth) = &requests[0];
    assert_eq!(body["model"], "test-model");
    assert_eq!(auth.as_deref(), Some("Bearer test-key"));
    let prompt = prompt_of(body);
    assert!(prompt.contains(TEMPLATE), "the current document:\n{prompt}");
    assert!(prompt.contains("we ship the beta on Fridays"), "{prompt}");
    assert!(
        prompt.contains(said.id.as_str()),
        "the message id:\n{prompt}"
    );
    assert!(prompt.contains("\"author\": \"olivia\""), "{prompt}");
    assert!(
        !prompt.contains("/groupmd"),
        "the command is not a message to read"
    );
}

#[tokio::test]
async fn invalid_revisions_are_refused_and_the_revision_does_not_move() {
    let model = Model::start().await;
    let w = world().await;
    // People's own text: a paragraph under the title and a section of theirs.
    let human = TEMPLATE
        .replace("# group.md\n\n", "# group.md\n\nBe kind, be brief.\n\n")
        .replace(
            "## Glossary\n",
            "## Rota\nbo waters on Mondays\n\n## Glossary\n",
        );
    let start = w.groupmd().await;
    let stored = w
        .owner
        .put_groupmd(&w.channel, start.0, &human)
        .await
        .expect("human edit");
    assert_eq!(stored.revision, 1);
    let _stop = w.start_scribe(with_model(&model));

    let refused = [
        // Drops a section people wrote.
        with_decision(&human, "- a").replace("## Rota\nbo waters on Mondays\n\n", ""),
        // Rewrites people's paragraph.
        with_decision(&human, "- b").replace("Be kind, be brief.", "Be brief."),
        // Removes a standard section.
        with_decision(&human, "- c").replace("## Open questions\n\n", ""),
        // Not a document at all.
        "I'm sorry, I can't help with that.".to_owned(),
        // Over the 64 KiB limit.
        format!("{}{}\n", with_decision(&human, "- d"), "x".repeat(70_000)),
        // Names an owner who is not a member.
        human.replacen(
            "## Action items\n",
            "## Action items\n- [ ] fly the drone (@mallory)\n",
            1,
        ),
    ];
    for (n, answer) in refused.iter().enumerate() {
        model.push(Reply::Content(answer.clone()));
        w.say(&format!("Decision: case {n}")).await;
        w.say("/groupmd").await;
        model.wait_requests(n + 1).await;
    }
    let valid = with_decision(&human, "- case 5 (from #x)");
    model.push(Reply::Content(valid.clone()));
    w.say("Decision: the valid one").await;
    w.say("/groupmd").await;

    let (revision, text) = w.groupmd_until("the valid revision", |t| t == valid).await;
    assert_eq!(revision, 2, "none of the refused revisions was written");
    assert!(text.contains("bo waters on Mondays"));
    let notes = notes_until(&w, 1).await;
    assert_eq!(
        notes.len(),
        1,
        "only the written revision is noted: {notes:?}"
    );
    assert_eq!(model.requests().len(), refused.len() + 1);
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_and_then_answers() {
    let model = Model::start().await;
    let w = world().await;
    let _stop = w.start_scribe(with_model(&model));
    let said = w.say("Decision: demos are on Thursdays").await;
    let revised = with_decision(
        TEMPLATE,
        &format!("- Demos are on Thursdays (from #{})", said.id),
    );
    model.push(Reply::Raw(500, "upstream exploded".into()));
    model.push(Reply::Raw(429, "slow down".into()));
    model.push(Reply::Content(revised.clone()));
    w.say("/groupmd").await;

    let (revision, _) = w
        .groupmd_until("the revision after retries", |t| t == revised)
        .await;
    assert_eq!(revision, 1);
    let requests = model.requests();
    assert_eq!(requests.len(), 3, "500, 429, then the answer");
    assert_eq!(requests[0].0, requests[2].0, "the same request each time");
}

#[tokio::test]
async fn an_answer_that_is_not_json_leaves_the_pass_to_the_rules() {
    let model = Model::start().await;
    let w = world().await;
    let _stop = w.start_scribe(with_model(&model));
    model.push(Reply::Raw(200, "<html>gateway page</html>".into()));
    w.say("Decision: the office closes on the 24th").await;
    w.say("/groupmd").await;

    let (revision, text) = w
        .groupmd_until("the rules' revision", |t| t.contains("closes on the 24th"))
        .await;
    assert_eq!(revision, 1);
    assert!(text.contains("## Decisions\n- "), "{text}");
    assert_eq!(
        model.requests().len(),
        1,
        "a 200 that is not JSON is not retried"
    );
}
