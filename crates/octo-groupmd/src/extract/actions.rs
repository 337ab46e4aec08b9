//! Action items: `TODO:` / `Action:` markers, `@x can you …`, "I'll …",
//! pronoun claims ("on it") of open requests, completions ("done", "merged",
//! a ✅) and cancellations.

use super::{MAX_ITEM_WORDS, Request, State, Tracked, Turn, cues};
use crate::model::{ActionItem, Message};
use crate::text::Lower as _;
use crate::text::{
    capitalise, content_words, has_phrase, sentences, shared_words, shorten, similarity,
    strip_word_prefix, trim_filler, words,
};

/// Pronouns that make a task text point at something said before.
const POINTERS: &[&str] = &["that", "it", "this", "those", "them", "these", "one"];

fn item_text(task: &str) -> String {
    let mut owned = trim_filler(task).to_owned();
    // "fix the typo today": when is not what. (`lower` keeps byte offsets.)
    for when in cues::WHEN.iter().map(|w| w.trim()) {
        while let Some(i) =
            crate::text::find_phrase(&owned.lower(), when).filter(|&i| owned[..i].ends_with(' '))
        {
            owned.replace_range(i - 1..i + when.len(), "");
        }
    }
    // "collect the auction items though": a closing particle is not the task.
    for tail in [" though", " as well", " too", " btw"] {
        if owned.lower().ends_with(tail) && owned.is_char_boundary(owned.len() - tail.len()) {
            owned.truncate(owned.len() - tail.len());
        }
    }
    let t = owned.as_str();
    let t = ["please", "pls", "plz", "also", "then", "on", "for"]
        .iter()
        .find_map(|p| strip_word_prefix(t, p))
        .unwrap_or(t);
    // A task ends at its first comma or purpose clause ("…, we need it anyway",
    // "… so agents stop …", "… that computes …").
    let lower = t.lower();
    let end = clause_end(&lower)
        .filter(|&i| t.is_char_boundary(i))
        .unwrap_or(t.len());
    capitalise(&shorten(&t[..end], MAX_ITEM_WORDS))
}

/// Where a task's own words end: at a comma or "so"/"that" opening a clause
/// with its own subject ("…, we need it anyway", "… so agents stop …"). A comma
/// before another instruction ("…, mention that …") or a relative "that fails …"
/// keeps going.
fn clause_end(lower: &str) -> Option<usize> {
    const SUBJECTS: &[&str] = &[
        "we",
        "i",
        "it",
        "its",
        "it's",
        "they",
        "you",
        "that's",
        "this",
        "there",
        "he",
        "she",
        "which",
        "otherwise",
        "because",
        "since",
        "as",
        "and we",
        "and i",
        "and it",
        "but",
        "then",
        "so",
        "people",
        "nobody",
        "everyone",
        "someone",
        "thanks",
        "thx",
        "no",
        "not",
        "if",
        "once",
        "when",
        "while",
    ];
    lower.match_indices([',', ' ']).find_map(|(i, sep)| {
        let rest = lower[i + 1..].trim_start();
        let subject = |t: &str| SUBJECTS.iter().any(|w| strip_word_prefix(t, w).is_some());
        let cut = if sep == "," {
            // "…, mention that …", "…, and tag …" go on with the task.
            let goes_on = [
                "and",
                "mention",
                "include",
                "including",
                "plus",
                "cc",
                "with",
            ]
            .iter()
            .any(|w| strip_word_prefix(rest, w).is_some())
                || cues::OUTSIDE_VERBS
                    .iter()
                    .any(|v| strip_word_prefix(rest, v).is_some());
            !goes_on || subject(rest) || rest.split_whitespace().count() > 10
        } else if let Some(after) = strip_word_prefix(rest, "that") {
            subject(after)
        } else if let Some(after) = ["before", "after", "until", "once", "while", "because"]
            .iter()
            .find_map(|w| strip_word_prefix(rest, w))
        {
            // "ask the department about budget before we decide": when people
            // act, not the task ("review it before it goes out" keeps going).
            ["we", "i", "they", "you", "he", "she"]
                .iter()
                .any(|w| strip_word_prefix(after, w).is_some())
        } else {
            // "… so agents stop …", "… so that …": a purpose, not the task.
            strip_word_prefix(rest, "so").is_some()
        };
        (cut && lower[..i].split_whitespace().count() >= 3).then_some(i)
    })
}

/// Whether a task says nothing of its own ("set that up", "do it").
fn points_back(task: &str) -> bool {
    let head = task.split([',', ';']).next().unwrap_or(task);
    let ws = words(head);
    // "pick that up after the release": claiming words, whatever follows.
    let claim = ["pick", "take", "handle", "own", "grab", "do"]
        .contains(&ws.first().map_or("", String::as_str))
        && ws.get(1).is_some_and(|w| POINTERS.contains(&w.as_str()));
    claim || ws.len() <= 4 && ws.iter().any(|w| POINTERS.contains(&w.as_str()))
}

/// First word (or two) of a task is work that changes something outside the chat.
pub(super) fn outside_work(task: &str) -> bool {
    let lower = trim_filler(task).lower();
    let lower = ["please ", "pls ", "also ", "go ahead and "]
        .iter()
        .find_map(|p| lower.strip_prefix(p))
        .unwrap_or(&lower);
    cues::OUTSIDE_VERBS
        .iter()
        .any(|v| strip_word_prefix(lower, v).is_some())
        && !cues::IN_CHAT.iter().any(|p| has_phrase(lower, &[p]))
}

/// "@ci-bot run the e2e suite against staging", "@nb-agent break CTR down by
/// platform": an imperative given to an agent is work it does, whatever the
/// verb, unless it only asks to be shown or told something ("@bot show me …",
/// "@bot what's …?", "@bot list … here"): a lookup answered in the chat.
fn agent_command(lower: &str, question: bool) -> bool {
    const NOT_COMMANDS: &[&str] = &[
        "what",
        "whats",
        "what's",
        "who",
        "where",
        "when",
        "why",
        "how",
        "which",
        "is",
        "are",
        "was",
        "were",
        "do",
        "does",
        "did",
        "can",
        "could",
        "would",
        "will",
        "should",
        "show",
        "tell",
        "give",
        "explain",
        "help",
        "hi",
        "hey",
        "hello",
        "thanks",
        "thank",
        "ping",
        "status",
        "any",
        "i",
        "we",
        "you",
        "it",
        "this",
        "that",
        "the",
        "a",
        "an",
        "please",
        // Lookups: the agent answers in the chat.
        "summarize",
        "summarise",
        "find",
        "list",
        "compare",
        "count",
        "search",
        "look",
        "check",
        "get",
        "fetch",
        "pull",
    ];
    let lower = trim_filler(lower);
    let lower = ["please ", "pls ", "can you ", "could you "]
        .iter()
        .find_map(|p| lower.strip_prefix(p))
        .unwrap_or(lower);
    let ws = words(lower);
    let Some(verb) = ws.first() else {
        return false;
    };
    !question
        && verb.chars().all(|c| c.is_ascii_alphabetic())
        && !NOT_COMMANDS.contains(&verb.as_str())
        && !cues::NOT_WORK
            .iter()
            .any(|v| strip_word_prefix(lower, v).is_some())
        && !verb.ends_with("ed")
        && !verb.ends_with("ing")
        // "crashbot shows 0 new": a report about the agent, not to it.
        && (!verb.ends_with('s') || verb.ends_with("ss"))
        && !cues::IN_CHAT.iter().any(|p| has_phrase(lower, &[p]))
        && content_words(&ws[1..].join(" ")).len() >= 2
}

/// Irregular verbs and their past forms.
const IRREGULAR_PAST: &[(&str, &[&str])] = &[
    ("write", &["wrote", "written"]),
    ("send", &["sent"]),
    ("take", &["took", "taken"]),
    ("make", &["made"]),
    ("set", &["set"]),
    ("run", &["ran"]),
    ("put", &["put"]),
    ("do", &["did", "done"]),
    ("get", &["got"]),
    ("build", &["built"]),
    ("find", &["found"]),
    ("give", &["gave", "given"]),
    ("draw", &["drew", "drawn"]),
    ("pay", &["paid"]),
    ("shut", &["shut"]),
    ("tell", &["told"]),
    ("bring", &["brought"]),
    ("buy", &["bought"]),
    ("think", &["thought"]),
    ("teach", &["taught"]),
    ("sell", &["sold"]),
    ("hold", &["held"]),
    ("keep", &["kept"]),
    ("leave", &["left"]),
    ("lead", &["led"]),
    ("meet", &["met"]),
    ("read", &["read"]),
    ("say", &["said"]),
    ("show", &["showed", "shown"]),
    ("spend", &["spent"]),
    ("cut", &["cut"]),
    ("choose", &["chose", "chosen"]),
    ("drive", &["drove", "driven"]),
    ("freeze", &["froze", "frozen"]),
    ("lend", &["lent"]),
    ("lose", &["lost"]),
    ("begin", &["began", "begun"]),
    ("speak", &["spoke", "spoken"]),
    ("win", &["won"]),
    ("hang", &["hung"]),
    ("stick", &["stuck"]),
    ("throw", &["threw", "thrown"]),
    ("split", &["split"]),
    ("spread", &["spread"]),
];

/// Past forms of a verb, for "repoint …" ↔ "repointed".
fn past_forms(verb: &str) -> Vec<String> {
    if let Some((_, forms)) = IRREGULAR_PAST.iter().find(|(v, _)| *v == verb) {
        return forms.iter().map(|f| (*f).to_owned()).collect();
    }
    let mut out = vec![format!("{verb}ed"), format!("{verb}d")];
    if let Some(stem) = verb.strip_suffix('y') {
        out.push(format!("{stem}ied"));
    }
    if let Some(last) = verb.chars().last() {
        out.push(format!("{verb}{last}ed"));
    }
    out
}

impl State<'_> {
    pub(super) fn marked_action(&mut self, turn: &Turn<'_>, rest: &str) -> bool {
        if super::decisions::joking(&turn.clean) {
            return false;
        }
        let (owner, task) = self.owner_prefix(rest);
        if task.is_empty() {
            return false;
        }
        let text = item_text(task);
        self.add_action(turn, owner, text);
        true
    }

    /// `@x …`, `x: …`, `x to …`, `x will …` at the start of a task names its owner.
    fn owner_prefix<'t>(&self, task: &'t str) -> (Option<String>, &'t str) {
        let t = task.trim();
        let first = t
            .split(|c: char| c.is_whitespace() || c == ',' || c == ':')
            .next()
            .unwrap_or("");
        // After a marker, a leading member name is the owner ("Action: Bo order trays").
        if let Some(member) = self.member(first) {
            let rest = t[first.len()..].trim_start_matches([' ', ',', ':']);
            let rest = ["to ", "will ", "can you ", "could you ", "please "]
                .iter()
                .find_map(|p| rest.strip_prefix(p))
                .unwrap_or(rest);
            return (Some(member.name.clone()), rest.trim());
        }
        (None, t)
    }

    /// Adds an item unless it restates one already tracked (then fills its owner).
    fn add_action(&mut self, turn: &Turn<'_>, owner: Option<String>, text: String) {
        if text.is_empty() {
            return;
        }
        // The same person handed overlapping work moments apart: one item.
        let same_work = |a: &Tracked<ActionItem>| {
            // The same task for two named people is two items.
            let other_owner =
                matches!((&a.item.owner, &owner), (Some(x), Some(y)) if !x.eq_ignore_ascii_case(y));
            similarity(&a.item.text, &text) >= 0.5 && !other_owner
                || owner.is_some()
                    && a.item.owner == owner
                    && !a.seeded
                    && turn.index.abs_diff(a.at) <= 3
                    && shared_words(&a.item.text, &text) > 0
        };
        if let Some(existing) = self.actions.iter_mut().find(|a| same_work(a)) {
            if existing.item.owner.is_none() {
                existing.item.owner = owner;
            }
            return;
        }
        self.actions.push(Tracked {
            item: ActionItem {
                owner,
                text,
                done: false,
                source: turn.message.id.clone(),
            },
            at: turn.index,
            thread: turn.thread.clone(),
            seeded: false,
        });
    }

    /// "on it", "I can do that one": the author takes the request just made.
    /// Returns whether the message was a claim.
    pub(super) fn claim_requests(&mut self, turn: &Turn<'_>, _all: &[Message]) -> bool {
        let author = turn.message.author.clone();
        let lower = trim_filler(&turn.clean).lower();
        let parts = clauses(&lower);
        let claims = parts.iter().any(|t| {
            let t = trim_filler(t);
            // "I can run the session" names its own work; "I can" alone claims.
            cues::CLAIMS.iter().any(|c| {
                strip_word_prefix(t, c).is_some_and(|rest| {
                    !matches!(*c, "i can" | "i will" | "me") || content_words(rest).is_empty()
                })
            })
                // "I'll bring it": a promise about the work just mentioned.
                || ["i'll ", "i will "].iter().any(|p| {
                    t.strip_prefix(p).is_some_and(|task| {
                        points_back(task)
                            && words(task).len() <= 3
                            && !cues::NOT_WORK
                                .iter()
                                .any(|v| strip_word_prefix(task, v).is_some())
                    })
                })
        });
        if !claims {
            return false;
        }
        let pos = self.requests.iter().rposition(|r| {
            r.to.as_ref()
                .is_none_or(|to| to.eq_ignore_ascii_case(&author))
                && State::in_reach(turn, r.at, &r.thread)
        });
        // "on it, posting to the status page now" says what the work is.
        let doing = parts
            .iter()
            .find_map(|t| super::verbs::in_progress(trim_filler(t)))
            .map(|t| item_text(&t))
            .filter(|t| content_words(t).len() >= 2);
        let enrich = |text: String| match &doing {
            Some(d) if content_words(&text).len() <= 2 => format!("{text}: {}", d.lower()),
            _ => text,
        };
        if let Some(pos) = pos {
            let r = self.requests.remove(pos);
            let claim_turn = Turn {
                index: r.at,
                message: turn.message,
                clean: String::new(),
                thread: r.thread.clone(),
                author_is_agent: turn.author_is_agent,
                context: String::new(),
            };
            self.add_action(&claim_turn, Some(author), enrich(r.text));
            if let Some(last) = self.actions.last_mut() {
                last.item.source = r.source;
            }
            return true;
        }
        // An unowned item nearby gets an owner; the owner's own "on it" is an ack.
        let near = self.actions.iter_mut().rev().find(|a| {
            State::in_reach(turn, a.at, &a.thread)
                && a.item
                    .owner
                    .as_ref()
                    .is_none_or(|o| o.eq_ignore_ascii_case(&author))
        });
        match near {
            Some(a) => {
                if a.item.owner.is_none() {
                    a.item.owner = Some(author);
                }
                a.item.text = enrich(std::mem::take(&mut a.item.text));
                true
            }
            None => false,
        }
    }

    pub(super) fn read_natural_actions(&mut self, turn: &Turn<'_>, all: &[Message]) {
        self.read_owner_list(turn);
        for s in self.work_clauses(&turn.clean) {
            let core = trim_filler(&s.text);
            let lower = core.lower();
            if lower.is_empty() {
                continue;
            }
            if self.mention_request(turn, core, s.question, all) {
                continue;
            }
            if s.question
                && let Some(task) = who_request(&lower).or_else(|| super::context::who_does(&lower))
            {
                self.requests.push(Request {
                    text: item_text(&task),
                    at: turn.index,
                    thread: turn.thread.clone(),
                    to: None,
                    statement: false,
                    source: turn.message.id.clone(),
                });
                // Nobody taking it leaves the question open.
                self.asked.push(Tracked {
                    item: crate::model::Question {
                        text: capitalise(&format!("{core}?")),
                        source: turn.message.id.clone(),
                    },
                    at: turn.index,
                    thread: turn.thread.clone(),
                    seeded: false,
                });
                continue;
            }
            if let Some(task) = open_request(&lower) {
                let text = item_text(&core[core.len() - task.len()..]);
                if !text.is_empty() {
                    self.requests.push(Request {
                        text,
                        at: turn.index,
                        thread: turn.thread.clone(),
                        to: None,
                        statement: !s.question,
                        source: turn.message.id.clone(),
                    });
                }
                continue;
            }
            if s.question {
                continue;
            }
            if self.assignment(turn, core, all) {
                continue;
            }
            if let Some(task) = self_commitment(&lower) {
                let task = &core[core.len() - task.len()..];
                // "I'll send you the link" to Leila: send Leila the link.
                let task = match self.addressee(turn, all) {
                    Some(name) => replace_word(task, "you", &name),
                    None => task.to_owned(),
                };
                let text = item_text(&task);
                if turn.author_is_agent && !outside_work(&task) {
                    continue;
                }
                if points_back(&text) {
                    // "i can make it, …" with no request to take: the work is
                    // whatever was just said needs doing (found once all is read).
                    // "we need to move the datasets" → "i can make it": taken.
                    if let Some(pos) = self
                        .requests
                        .iter()
                        .rposition(|r| r.to.is_none() && State::in_reach(turn, r.at, &r.thread))
                    {
                        let r = self.requests.remove(pos);
                        self.add_action(turn, Some(turn.message.author.clone()), r.text);
                        continue;
                    }
                    let open = self
                        .requests
                        .iter()
                        .any(|r| State::in_reach(turn, r.at, &r.thread));
                    if !open && !self.acknowledging(turn) && !self.take_unowned(turn) {
                        // "Make it, the 2022 ones are processed": the claim, not the aside.
                        let text = text.split([',', ';']).next().unwrap_or(&text).to_owned();
                        let owner = Some(turn.message.author.clone());
                        self.add_action(turn, owner, text.clone());
                        self.pointing.push((turn.message.id.clone(), text));
                    }
                    continue;
                }
                // "ok, I'll email their controller" from someone just handed work
                // says how they will do it: no second item.
                if self.acknowledging(turn) {
                    continue;
                }
                // It answers an open request ("I'll take the redirects"): that
                // request is now taken, in whichever words say more.
                if let Some(pos) = self.requests.iter().rposition(|r| {
                    State::in_reach(turn, r.at, &r.thread)
                        && (similarity(&r.text, &text) > 0.2 || shared_words(&r.text, &text) > 0)
                }) {
                    let r = self.requests.remove(pos);
                    // The taker's own words say what they will do, unless too vague.
                    // "take", "handle", "own" claim work without naming it.
                    let claim_verb = ["take", "handle", "own", "grab", "pick up"]
                        .iter()
                        .any(|v| strip_word_prefix(&text, v).is_some());
                    let text = if content_words(&text).len() >= 3 && !claim_verb {
                        text
                    } else {
                        r.text
                    };
                    self.add_action(turn, Some(turn.message.author.clone()), text);
                    continue;
                }
                // Right after an unowned item, "I'll …" takes that item.
                if self.take_unowned(turn) {
                    continue;
                }
                // Any "who's …?" just asked is answered.
                self.requests
                    .retain(|r| !(r.to.is_none() && !r.statement && turn.index - r.at <= 2));
                // "I'll mark it xfail and open an issue to fix it": two pieces of work.
                for part in split_work(&text) {
                    self.add_action(turn, Some(turn.message.author.clone()), part);
                }
                continue;
            }
            // "rotating the staging key now": work started, owned by the author.
            if !turn.author_is_agent
                && let Some(task) = super::verbs::in_progress(&lower)
            {
                let text = item_text(&task);
                if !points_back(&text) && content_words(&text).len() >= 2 {
                    self.add_action(turn, Some(turn.message.author.clone()), text);
                }
            }
        }
    }

    /// Sentences, further split where a clause hands work to someone by name
    /// ("I'll write the email, Hana can you review it?"): each part is read on
    /// its own, and only the part with the "?" asks. A pointer ("review it") in
    /// the named part refers to the object of the part before.
    fn work_clauses(&self, text: &str) -> Vec<crate::text::Sentence> {
        let mut out = Vec::new();
        for s in sentences(&text.replace(" and @", ", @")) {
            let cut = s.text.match_indices(", ").map(|(i, _)| i).find(|&i| {
                let rest = &s.text[i + 2..];
                // "push the fix and @hilbot run the suite": a second addressee.
                if rest.starts_with('@') {
                    return self
                        .member(rest.split_whitespace().next().unwrap_or(""))
                        .is_some();
                }
                let first = rest
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .next()
                    .unwrap_or("");
                let after = rest[first.len()..].trim_start().lower();
                self.member(first).is_some()
                    && cues::REQUEST_OPENERS
                        .iter()
                        .any(|o| strip_word_prefix(&after, o).is_some())
            });
            let Some(i) = cut else {
                out.push(s);
                continue;
            };
            let (before, named) = (&s.text[..i], &s.text[i + 2..]);
            // The object of "I'll write the apology email" is "the apology email".
            let object = self_commitment(&trim_filler(before).lower()).and_then(|task| {
                let verb = task.split_whitespace().next()?;
                let object = task[verb.len()..].trim();
                (!content_words(object).is_empty()).then(|| object.to_owned())
            });
            let named = match object {
                Some(object) => replace_pointer(named, &object),
                None => named.to_owned(),
            };
            out.push(crate::text::Sentence {
                text: before.to_owned(),
                question: false,
            });
            out.push(crate::text::Sentence {
                text: named,
                question: s.question,
            });
        }
        out
    }

    /// A list or table that pairs work with owners ("- bank recs (Tariq)",
    /// "| landing page copy | Amir |"): each pair is an item. Two pairs at least,
    /// so a lone bullet that names someone is not read as an assignment.
    fn read_owner_list(&mut self, turn: &Turn<'_>) {
        if turn.author_is_agent {
            return;
        }
        let pairs: Vec<(String, String)> = turn
            .clean
            .lines()
            .filter_map(|line| self.owned_line(line, &turn.message.author))
            // "- Bo: shipped the fix", "- Cy: on leave": status, not work to do.
            .filter(|(_, task)| {
                let lower = task.lower();
                let mut ws = lower.split_whitespace();
                let (first, second) = (ws.next().unwrap_or(""), ws.next().unwrap_or(""));
                // "finished the fence", "fixing the gate": a verb reporting status.
                let reported = (first.ends_with("ed") || first.ends_with("ing"))
                    && ["the", "a", "an", "our", "my", "his", "her", "their", "it"]
                        .contains(&second);
                !(reported
                    || has_phrase(&lower, cues::COMPLETION)
                    || has_phrase(&lower, &["on leave", "out", "off", "ooo", "pto", "sick"]))
            })
            .collect();
        if pairs.len() < 2 {
            return;
        }
        for (owner, task) in pairs {
            let text = item_text(&task);
            if !text.is_empty() {
                self.add_action(turn, Some(owner), text);
            }
        }
    }

    /// One list line or table row naming its owner: `(owner, task)`.
    fn owned_line(&self, line: &str, author: &str) -> Option<(String, String)> {
        let t = line.trim();
        let owner_of = |name: &str| -> Option<String> {
            let name = name.trim().trim_start_matches('@');
            if name.eq_ignore_ascii_case("me") {
                return Some(author.to_owned());
            }
            self.member(name).map(|m| m.name.clone())
        };
        if t.starts_with('|') {
            let cells: Vec<&str> = t
                .split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            let at = cells.iter().position(|c| owner_of(c).is_some())?;
            let owner = owner_of(cells[at])?;
            let task: Vec<&str> = cells
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != at)
                .map(|(_, c)| *c)
                .collect();
            return (!task.is_empty()).then(|| (owner, task.join(", ")));
        }
        let item = ["- ", "* ", "\u{2022} "]
            .iter()
            .find_map(|b| t.strip_prefix(b))?
            .trim();
        // "task (Name)", "task - Name", "task: Name", "Name: task".
        if let Some(open) = item.rfind('(')
            && item.ends_with(')')
            && let Some(owner) = owner_of(&item[open + 1..item.len() - 1])
        {
            return Some((owner, item[..open].trim().to_owned()));
        }
        for sep in [" - ", " \u{2014} ", ": "] {
            if let Some((a, b)) = item.rsplit_once(sep)
                && let Some(owner) = owner_of(b)
            {
                return Some((owner, a.trim().to_owned()));
            }
            if let Some((a, b)) = item.split_once(sep)
                && let Some(owner) = owner_of(a)
            {
                return Some((owner, b.trim().to_owned()));
            }
        }
        None
    }

    /// Who the author is answering: the thread root's author, or the author of
    /// the message just before (when someone else wrote it).
    fn addressee(&self, turn: &Turn<'_>, all: &[Message]) -> Option<String> {
        let before = super::decisions::answered(turn, all)?;
        self.member(&before.author).map(|m| m.name.clone())
    }

    /// "ok, I'll …" from someone handed work in the last two messages.
    fn acknowledging(&self, turn: &Turn<'_>) -> bool {
        let lower = turn.clean.trim().lower();
        let acks = ["ok", "okay", "sure", "yes", "yep", "will do", "on it"]
            .iter()
            .any(|a| strip_word_prefix(&lower, a).is_some());
        acks && self.handed_recently(turn)
    }

    /// An unowned item from the last two messages gets the author as owner.
    fn take_unowned(&mut self, turn: &Turn<'_>) -> bool {
        let author = turn.message.author.clone();
        let near = self
            .actions
            .iter_mut()
            .rev()
            .find(|a| a.item.owner.is_none() && a.at < turn.index && turn.index - a.at <= 2);
        match near {
            Some(a) => {
                a.item.owner = Some(author);
                true
            }
            None => false,
        }
    }

    /// "Bo owns the agenda", "you own the release notes": work assigned by name
    /// (or to whoever spoke just before, for "you").
    fn assignment(&mut self, turn: &Turn<'_>, core: &str, all: &[Message]) -> bool {
        let lower = core.lower();
        let Some(i) = crate::text::find_phrase(&lower, "owns")
            .map(|i| (i, 4))
            .or_else(|| crate::text::find_phrase(&lower, "own").map(|i| (i, 3)))
            .map(|(i, n)| (i, i + n))
        else {
            return false;
        };
        let (start, end) = i;
        let subject = lower[..start]
            .trim()
            .rsplit([' ', ','])
            .next()
            .unwrap_or("");
        let owner = if subject == "you" && start > 0 {
            all[..turn.index]
                .iter()
                .rev()
                .find(|m| !m.author.eq_ignore_ascii_case(&turn.message.author))
                .map(|m| m.author.clone())
        } else {
            self.member(subject).map(|m| m.name.clone())
        };
        let Some(owner) = owner else { return false };
        let text = item_text(&core[end..]);
        if content_words(&text).is_empty() {
            return false;
        }
        self.add_action(turn, Some(owner), text);
        true
    }

    /// `@x can you …`, `@x please …`, `x, could you …`: work given to a member.
    fn mention_request(
        &mut self,
        turn: &Turn<'_>,
        core: &str,
        question: bool,
        all: &[Message],
    ) -> bool {
        let first = core
            .split(|c: char| c.is_whitespace() || c == ',' || c == ':')
            .next()
            .unwrap_or("");
        let Some(member) = self.member(first) else {
            return false;
        };
        // "Chen and Aisha, do the SDK": the same work for each of them.
        if let Some(rest) = strip_word_prefix(core[first.len()..].trim_start(), "and") {
            let second = rest.split([' ', ',']).next().unwrap_or("");
            if let Some(other) = self.member(second)
                && let Some(task) = rest[second.len()..].strip_prefix(',')
            {
                let other = other.name.clone();
                let one = format!("{first},{task}");
                let two = format!("{other},{task}");
                let a = self.mention_request(turn, &one, question, all);
                let b = self.mention_request(turn, &two, question, all);
                return a || b;
            }
        }
        // "labbot block the confocal …": a name then an imperative (not "Bo update: …").
        let imperative = core[first.len()..]
            .split_whitespace()
            .next()
            .is_some_and(|w| w.chars().all(|c| c.is_alphabetic()));
        let addressed =
            first.starts_with('@') || core[first.len()..].starts_with(',') || imperative;
        let rest = core[first.len()..].trim_start_matches([' ', ',', ':']);
        let lower = rest.lower();
        let opened = cues::REQUEST_OPENERS
            .iter()
            .find_map(|o| strip_word_prefix(&lower, o));
        let task_lower = match opened {
            Some(t) => t,
            // "@relay open a ticket …": a bare instruction to someone addressed.
            None if addressed
                && (outside_work(&lower) || member.agent && agent_command(&lower, question)) =>
            {
                lower.as_str()
            }
            None => return false,
        };
        let task = &rest[rest.len() - task_lower.len()..];
        // "Dmitri can you?" after "who's setting up the server?": hands that over.
        if content_words(task).is_empty() {
            let Some(pos) = self
                .requests
                .iter()
                .rposition(|r| r.to.is_none() && State::in_reach(turn, r.at, &r.thread))
            else {
                return false;
            };
            let r = self.requests.remove(pos);
            self.add_action(turn, Some(member.name.clone()), r.text);
            return true;
        }
        if member.agent && !outside_work(task) && !agent_command(task_lower, question)
            || cues::NOT_WORK
                .iter()
                .any(|v| strip_word_prefix(task_lower, v).is_some())
        {
            return false;
        }
        // "ana_p can you add …" asks even typed without "?".
        let asks = [
            "can you",
            "could you",
            "would you",
            "can u",
            "you can",
            "you could",
        ]
        .iter()
        .any(|o| strip_word_prefix(&lower, o).is_some());
        if opened.is_some()
            && !member.agent
            && !question
            && !asks
            && !lower.starts_with("please")
            && !lower.starts_with("to ")
            && !lower.starts_with("will")
        {
            return false;
        }
        let text = if points_back(task) {
            match self.referent(turn, &member.name, task, all) {
                Some(t) => t,
                None => return false,
            }
        } else {
            item_text(task)
        };
        // "someone should file tickets" then "@bot open a ticket per finding":
        // the open request is now given to that member.
        self.requests.retain(|r| {
            !(r.to.is_none()
                && State::in_reach(turn, r.at, &r.thread)
                && shared_words(&r.text, &text) > 0)
        });
        self.add_action(turn, Some(member.name.clone()), text);
        true
    }

    /// What "set that up" points at: the owner's reply if it reports the work,
    /// else the message before.
    fn referent(
        &self,
        turn: &Turn<'_>,
        owner: &str,
        task: &str,
        all: &[Message],
    ) -> Option<String> {
        let reply = all
            .iter()
            .skip(turn.index + 1)
            .take(3)
            .find(|m| m.author.eq_ignore_ascii_case(owner));
        if let Some(reply) = reply
            && let Some(first) = sentences(&reply.text).into_iter().next()
            && !first.question
        {
            // "ok will track it in the sheet": the work, not the promise.
            let text = trim_filler(&first.text);
            let text = ["i'll", "i will", "will"]
                .iter()
                .find_map(|p| strip_word_prefix(text, p))
                .unwrap_or(text);
            // "sure will do", "sure, after the shadow fix": a yes, not the work;
            // the task keeps its own words and gets its object from context.
            let says_work = content_words(text).len() >= 2
                && ![
                    "after", "before", "once", "when", "tomorrow", "today", "later",
                ]
                .iter()
                .any(|w| strip_word_prefix(&text.lower(), w).is_some());
            if !says_work {
                return Some(item_text(task.split(',').next().unwrap_or(task)));
            }
            return Some(item_text(text));
        }
        let before = all.get(turn.index.checked_sub(1)?)?;
        let first = sentences(&crate::text::without_quotes(&before.text))
            .into_iter()
            .next()?;
        let text = super::decisions::decision_text(&first.text);
        (!text.is_empty()).then_some(text)
    }

    /// "done", "merged", "the cron job repointed", a ✅ on the report: closes
    /// the open item the report is about.
    pub(super) fn complete_actions(&mut self, turn: &Turn<'_>, all: &[Message]) {
        let author = &turn.message.author;
        // The thread this report is in, when it hangs off a top-level message.
        let root = turn.message.thread_id.as_deref().and_then(|r| {
            all[..turn.index]
                .iter()
                .position(|m| m.id == r)
                .map(|i| (i, &all[i]))
        });
        let checked = turn
            .message
            .reactions
            .iter()
            .any(|r| cues::DONE_EMOJI.contains(&r.emoji.as_str()));
        let report_sentences: Vec<String> = sentences(&turn.clean)
            .into_iter()
            .filter(|s| !s.question)
            .map(|s| s.text.lower())
            .collect();
        // "Binder updated. Still waiting on wards 6 and 7": partly done is not done.
        let partial = report_sentences.iter().any(|s| has_phrase(s, PARTIAL));
        let generic = !partial
            && report_sentences.iter().any(|s| {
                (has_phrase(s, cues::COMPLETION)
                    || passive_report(s)
                    // "dinner booked", not "Bo finished …" (someone else's work).
                    || headline_report(s)
                        && self
                            .member(s.split_whitespace().next().unwrap_or(""))
                            .is_none())
                    && !has_phrase(s, cues::NOT_YET)
                    && !s.contains("not ")
                    && !s.contains("n't")
            });
        let report_words: Vec<String> = report_sentences
            .iter()
            .filter(|s| !partial && !has_phrase(s, cues::NOT_YET))
            .flat_map(|s| words(s))
            .collect();
        let mut best: Option<(usize, usize)> = None;
        for (i, a) in self.actions.iter().enumerate() {
            if a.item.done || (a.at >= turn.index && !a.seeded) {
                continue;
            }
            let owner_speaks = a
                .item
                .owner
                .as_ref()
                .is_some_and(|o| o.eq_ignore_ascii_case(author));
            let in_thread = turn.message.thread_id.as_deref() == Some(a.item.source.as_str())
                || (turn.message.thread_id.is_some() && turn.thread == a.thread);
            // "apple pay button renders twice" → "who can look at that?" → "I'll
            // take it": a "merged" in the report's thread closes the work.
            let about_root = !in_thread
                && !a.seeded
                && root.is_some_and(|(r, m)| {
                    m.thread_id.is_none()
                        && r < a.at
                        && a.at - r <= 2
                        // (its text may still point back: "look at that")
                        && (shared_words(&m.text, &a.item.text) >= 2
                            || points_back(&a.item.text))
                });
            let in_thread = in_thread || about_root;
            let verb = words(&a.item.text).into_iter().next().unwrap_or_default();
            let verb_done =
                verb.len() > 2 && past_forms(&verb).iter().any(|f| report_words.contains(f));
            let shared = shared_words(&a.item.text, &turn.clean);
            let about_it = verb_done || shared > 0;
            let agent_report = owner_speaks
                && turn.author_is_agent
                && !turn.clean.contains('?')
                && turn.index - a.at <= 3;
            let score = match () {
                _ if (generic || verb_done || checked) && in_thread => 3 + shared,
                _ if (generic || verb_done || checked) && owner_speaks && about_it => 2 + shared,
                _ if agent_report => 2,
                _ if checked && owner_speaks => 1,
                _ if generic && owner_speaks && State::in_reach(turn, a.at, &a.thread) => 1,
                _ if verb_done && shared >= 2 => 1 + shared,
                _ => 0,
            };
            if score > 0 && best.is_none_or(|(_, s)| score >= s) {
                best = Some((i, score));
            }
        }
        if let Some((i, _)) = best {
            self.actions[i].item.done = true;
        }
    }

    /// "never mind", "no need to …": drops the item the message is about.
    pub(super) fn cancel_actions(&mut self, turn: &Turn<'_>) {
        let lower = turn.clean.lower();
        if !has_phrase(&lower, cues::CANCEL) {
            return;
        }
        let target = self.actions.iter().rposition(|a| {
            !a.item.done
                && (shared_words(&a.item.text, &turn.clean) >= 2
                    || State::in_reach(turn, a.at, &a.thread) && turn.message.thread_id.is_some()
                    // "never mind" right after an item withdraws it.
                    || !a.seeded && a.at < turn.index && turn.index - a.at <= 2)
        });
        if let Some(i) = target {
            self.actions.remove(i);
        }
        self.requests
            .retain(|r| !State::in_reach(turn, r.at, &r.thread));
    }

    /// A ✅ on the message an item came from marks it done.
    pub(super) fn mark_done_by_reaction(&mut self, turn: &Turn<'_>) {
        let checked = turn
            .message
            .reactions
            .iter()
            .any(|r| cues::DONE_EMOJI.contains(&r.emoji.as_str()));
        if !checked {
            return;
        }
        for a in &mut self.actions {
            if a.item.source == turn.message.id {
                a.item.done = true;
            }
        }
    }
}

/// Words that say only part of the work is finished.
const PARTIAL: &[&str] = &[
    "still waiting",
    "waiting on",
    "waiting for",
    "still need",
    "still needs",
    "remaining",
    "is next",
    "are next",
    "partly",
    "partially",
    "except",
    "apart from",
];

/// Past participles that report something other than work done: a failure,
/// a halt, a postponement, a flag raised.
const NOT_DONE: &[&str] = &[
    "failed",
    "crashed",
    "rejected",
    "denied",
    "refused",
    "stalled",
    "paused",
    "reverted",
    "postponed",
    "cancelled",
    "canceled",
    "missed",
    "stopped",
    "flagged",
    "reported",
];

/// "trio is booked", "the flag is configured": a passive report of finished work
/// (not "is scheduled for Thursday", which is still to come).
pub(super) fn passive_report(sentence: &str) -> bool {
    const PLANNED: &[&str] = &[
        "scheduled",
        "planned",
        "expected",
        "supposed",
        "blocked",
        "delayed",
        "needed",
        "required",
        "assigned",
        "tagged",
        "used",
        "based",
        "involved",
        "interested",
        "concerned",
        "booked up",
        "tied",
        "named",
        "called",
        "related",
        "allowed",
    ];
    let ws: Vec<&str> = sentence.split_whitespace().collect();
    ws.windows(2).any(|w| {
        let participle = w[1].trim_end_matches(|c: char| ",.;:!".contains(c));
        ["is", "are", "was", "were", "been"].contains(&w[0])
            && participle.len() > 4
            && participle.ends_with("ed")
            && !PLANNED.contains(&participle)
            && !NOT_DONE.contains(&participle)
    })
}

/// "dinner booked for the 13th", "list sent to the office": a report written
/// as a headline, a noun then a past participle.
pub(super) fn headline_report(sentence: &str) -> bool {
    const SUBJECTS: &[&str] = &["i", "we", "you", "he", "she", "they", "it", "that", "this"];
    const PLANNED: &[&str] = &[
        "scheduled",
        "planned",
        "expected",
        "needed",
        "blocked",
        "delayed",
        "timed",
    ];
    let ws: Vec<&str> = sentence.split_whitespace().take(3).collect();
    if ws
        .first()
        .is_none_or(|w| SUBJECTS.contains(w) || !w.chars().all(char::is_alphanumeric))
    {
        return false;
    }
    ws.iter().skip(1).any(|w| {
        let w = w.trim_end_matches(|c: char| ",.;:!".contains(c));
        w.len() > 4 && w.ends_with("ed") && !PLANNED.contains(&w) && !NOT_DONE.contains(&w)
    })
}

/// `word` replaced by `with` wherever it stands as a whole word.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    text.split(' ')
        .map(|w| {
            let core = w.trim_end_matches(|c: char| ",.;:!?".contains(c));
            if core.eq_ignore_ascii_case(word) {
                format!("{with}{}", &w[core.len()..])
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// "Mark it xfail and open an issue to fix it" → two tasks, when what follows
/// "and" is work of its own (a verb that changes something, two content words).
fn split_work(text: &str) -> Vec<String> {
    let lower = text.lower();
    let split = lower.match_indices(" and ").map(|(i, _)| i).find(|&i| {
        let rest = &lower[i + 5..];
        // "… and put it behind a flag" goes on with the same work.
        let continues = rest
            .split_whitespace()
            .nth(1)
            .is_some_and(|w| POINTERS.contains(&w));
        // "… and share on monday": no object of its own, the same work.
        let no_object = rest.split_whitespace().nth(1).is_none_or(|w| {
            [
                "on", "in", "with", "by", "at", "after", "before", "tomorrow", "today",
            ]
            .contains(&w)
        });
        !continues
            && !no_object
            && cues::OUTSIDE_VERBS
                .iter()
                .any(|v| strip_word_prefix(rest, v).is_some())
            && content_words(rest).len() >= 2
            // "call Fresco and set up the account" is one errand.
            && content_words(&lower[..i]).len() >= 3
    });
    match split {
        Some(i) if text.is_char_boundary(i) && text.len() == lower.len() => {
            vec![capitalise(&text[..i]), capitalise(&text[i + 5..])]
        }
        _ => vec![text.to_owned()],
    }
}

/// "review it before it goes out" with "the apology email" → "review the
/// apology email before it goes out" (the first "it" only).
fn replace_pointer(clause: &str, object: &str) -> String {
    let lower = clause.lower();
    match crate::text::find_phrase(&lower, "it") {
        Some(i) if lower.is_char_boundary(i) && clause.len() == lower.len() => {
            format!("{}{}{}", &clause[..i], object, &clause[i + 2..])
        }
        _ => clause.to_owned(),
    }
}

/// The task after "can someone …" / "we need someone to …".
fn open_request(lower: &str) -> Option<&str> {
    cues::OPEN_REQUESTS.iter().find_map(|cue| {
        let i = crate::text::find_phrase(lower, cue)?;
        let task = lower[i + cue.len()..].trim_start();
        (content_words(task).len() >= 2).then_some(task)
    })
}

/// Sentences split further at commas ("on it, posting the notes now").
fn clauses(lower: &str) -> Vec<String> {
    sentences(lower)
        .iter()
        .flat_map(|s| s.text.split(", ").map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

/// "who's bringing the router?" → "bring the router".
pub(super) fn who_request(lower: &str) -> Option<String> {
    let rest = ["who's ", "who is ", "whos "]
        .iter()
        .find_map(|p| lower.strip_prefix(p))?;
    let first = rest.split_whitespace().next()?;
    let base = super::verbs::base_form(first)?;
    let task = rest[first.len()..].trim();
    (!task.is_empty()).then(|| format!("{base} {task}"))
}

/// The task after "I'll …" (also mid-sentence: "once it's live I'll …").
fn self_commitment(lower: &str) -> Option<&str> {
    // "will fix today": a clause opening with "will" speaks for its author.
    if let Some(task) = strip_word_prefix(lower, "will")
        && !cues::NOT_WORK
            .iter()
            .any(|v| strip_word_prefix(task, v).is_some())
        && !["do", "be", "have", "need"]
            .iter()
            .any(|v| strip_word_prefix(task, v).is_some())
        && content_words(task).len() >= 2
    {
        return Some(task);
    }
    for opener in cues::SELF_COMMIT {
        let start = if lower.starts_with(opener) {
            Some(0)
        } else {
            crate::text::find_phrase(lower, opener)
                .filter(|&i| lower[..i].trim_end().ends_with(',') || i > 0)
        };
        let Some(start) = start else { continue };
        let task = lower[start + opener.len()..].trim_start();
        if task.is_empty()
            || cues::NOT_WORK
                .iter()
                .any(|v| strip_word_prefix(task, v).is_some())
        {
            continue;
        }
        if *opener == "let me" && !outside_work(task) {
            continue;
        }
        // "I can run the session" offers work; "I can check" is a lookup.
        const NOT_OFFERS: &[&str] = &[
            "check",
            "look",
            "see",
            "ask",
            "help",
            "confirm",
            "live",
            "imagine",
            "understand",
            "answer",
            "explain",
            "find out",
            "verify",
            "tell",
        ];
        if *opener == "i can"
            && NOT_OFFERS
                .iter()
                .any(|v| strip_word_prefix(task, v).is_some())
        {
            continue;
        }
        // "I can own it": a claim of work said just before.
        if content_words(task).len() < 2 && !points_back(task) {
            continue;
        }
        return Some(task);
    }
    present_commitment(lower)
}

/// "i write the mail today", "I move my baselines before friday", "i send
/// you the sheet": in chat English a plain present with a time ahead or a
/// recipient promises work, as "I'll …" does. Not a state ("i think …"), a
/// past ("i sent …") or a habit ("i run it every week").
fn present_commitment(lower: &str) -> Option<&str> {
    const NOT_PROMISES: &[&str] = &[
        "am",
        "was",
        "have",
        "had",
        "did",
        "don't",
        "dont",
        "didn't",
        "can't",
        "cant",
        "won't",
        "would",
        "could",
        "should",
        "might",
        "must",
        "may",
        "can",
        "will",
        "shall",
        "just",
        "also",
        "really",
        "only",
        "still",
        "already",
        "actually",
        "probably",
        "usually",
        "always",
        "never",
        "think",
        "guess",
        "know",
        "mean",
        "agree",
        "like",
        "love",
        "hate",
        "hope",
        "feel",
        "see",
        "believe",
        "remember",
        "forget",
        "understand",
        "prefer",
        "wonder",
        "doubt",
        "suppose",
        "assume",
        "expect",
        "need",
        "want",
        "wish",
        "bet",
        "miss",
        "saw",
        "heard",
        "care",
        "worry",
        "trust",
    ];
    const AHEAD: &[&str] = &[
        "today", "tonight", "tomorrow", "this", "next", "before", "by", "asap", "later",
    ];
    const HABIT: &[&str] = &["every", "each", "always", "usually", "often", "normally"];
    let task = strip_word_prefix(lower, "i")?;
    let verb = task.split_whitespace().next()?;
    let past = IRREGULAR_PAST
        .iter()
        .any(|(base, forms)| forms.contains(&verb) && *base != verb);
    if verb.len() < 3
        || !verb.chars().all(|c| c.is_ascii_alphabetic())
        || verb.ends_with("ed")
        || verb.ends_with("ing")
        || past
        || NOT_PROMISES.contains(&verb)
        || cues::NOT_WORK
            .iter()
            .any(|v| strip_word_prefix(task, v).is_some())
        || content_words(task).len() < 2
    {
        return None;
    }
    let rest = words(&task[verb.len()..]);
    let to_you = rest.first().is_some_and(|w| w == "you");
    let ahead = rest
        .iter()
        .skip(1)
        .any(|w| AHEAD.contains(&w.as_str()) || cues::WEEKDAYS.contains(&w.as_str()));
    let habit = rest.iter().any(|w| HABIT.contains(&w.as_str()));
    ((to_you || ahead) && !habit).then_some(task)
}
