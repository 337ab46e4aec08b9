//! Client commands: they talk to a running server through `octo-client`.
//!
//! The server and identity come from `OCTO_URL` / `OCTO_TOKEN`, else from the
//! file `octo login` writes.

use anyhow::{Context, bail};
use octo_client::{Client, Frame, SendOptions, SubscribeOptions, Tree};
use octo_core::{ChannelId, Event, EventKind, PrincipalId};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::path::PathBuf;

#[derive(Debug, Serialize, Deserialize)]
struct LoginFile {
    url: String,
    token: String,
}

fn login_file() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("OCTO_CONFIG_DIR") {
        return Ok(PathBuf::from(dir).join("login.json"));
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").context("set HOME or OCTO_CONFIG_DIR")?)
            .join(".config"),
    };
    Ok(base.join("octo").join("login.json"))
}

/// A client for the configured server and identity.
pub fn client() -> anyhow::Result<Client> {
    let env_url = std::env::var("OCTO_URL").ok();
    let env_token = std::env::var("OCTO_TOKEN").ok();
    if let (Some(url), Some(token)) = (&env_url, &env_token) {
        return Ok(Client::new(url, Some(token.clone())));
    }
    let path = login_file()?;
    let saved: Option<LoginFile> = match std::fs::read_to_string(&path) {
        Ok(text) => Some(
            serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?,
        ),
        Err(_) => None,
    };
    let url = env_url.or_else(|| saved.as_ref().map(|s| s.url.clone()));
    let token = env_token.or_else(|| saved.map(|s| s.token));
    match (url, token) {
        (Some(url), Some(token)) => Ok(Client::new(url, Some(token))),
        _ => bail!("not logged in: run `octo login`, or set OCTO_URL and OCTO_TOKEN"),
    }
}

pub async fn login(url: &str, email: &str) -> anyhow::Result<()> {
    let password = match std::env::var("OCTO_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprint!("password: ");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let answer = Client::new(url, None).login(email, &password).await?;
    let path = login_file()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let body = serde_json::to_string_pretty(&LoginFile {
        url: url.to_owned(),
        token: answer.token,
    })?;
    write_private(&path, body.as_bytes())?;
    println!(
        "logged in as @{} ({})",
        answer.principal.name,
        path.display()
    );
    Ok(())
}

/// The token file is a credential: readable by its owner only.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

/// Finds a channel by id, by name, or as `space/name`.
async fn resolve_channel(client: &Client, wanted: &str) -> anyhow::Result<ChannelId> {
    let me = client.me().await?;
    let tree = client.tree(&me.org.id).await?;
    find_channel(&tree, wanted)
}

/// [`resolve_channel`] in a tree already fetched.
fn find_channel(tree: &Tree, wanted: &str) -> anyhow::Result<ChannelId> {
    let (space_name, channel_name) = match wanted.split_once('/') {
        Some((s, c)) => (Some(s), c),
        None => (None, wanted),
    };
    let matches: Vec<ChannelId> = tree
        .channels()
        .filter(|(space, c)| {
            c.channel.id.as_str() == wanted
                || (c
                    .channel
                    .name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(channel_name))
                    && space_name
                        .is_none_or(|s| space.is_some_and(|sp| sp.name.eq_ignore_ascii_case(s))))
        })
        .map(|(_, c)| c.channel.id.clone())
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("no channel '{wanted}' that you can see"),
        _ => bail!("'{wanted}' names several channels; write it as space/channel or use its id"),
    }
}

pub async fn send(channel: &str, text: &str, thread: Option<String>) -> anyhow::Result<()> {
    let client = client()?;
    let channel = resolve_channel(&client, channel).await?;
    let message = client
        .send(
            &channel,
            text,
            SendOptions {
                thread_id: thread.map(octo_core::MessageId::from_string),
                client_msg_id: Some(octo_core::MessageId::generate().to_string()),
                data: None,
            },
        )
        .await?;
    println!("sent {} (seq {})", message.id, message.seq);
    Ok(())
}

pub async fn search(query: &str, channel: Option<&str>, limit: u32) -> anyhow::Result<()> {
    let client = client()?;
    let channel = match channel {
        Some(c) => Some(resolve_channel(&client, c).await?),
        None => None,
    };
    let hits = client.search(query, channel.as_ref(), limit).await?;
    if hits.items.is_empty() {
        println!("no messages found");
    }
    for hit in hits.items {
        let m = &hit.message;
        println!(
            "{}  [{} #{}] {}",
            m.created_at.format("%Y-%m-%d %H:%M"),
            m.channel_id,
            m.seq,
            hit.snippet.replace('\n', " ")
        );
    }
    Ok(())
}

pub async fn channels() -> anyhow::Result<()> {
    let client = client()?;
    let me = client.me().await?;
    let tree = client.tree(&me.org.id).await?;
    for (space, c) in tree.channels() {
        let name = match (space, &c.channel.name) {
            (Some(s), Some(n)) => format!("{}/{}", s.name, n),
            _ => format!("({})", c.channel.kind.as_str()),
        };
        let flags = format!(
            "{}{}",
            if c.channel.private { "private " } else { "" },
            if c.is_member { "member" } else { "" }
        );
        println!(
            "{:<38} {:<40} unread {:>5}  {}",
            c.channel.id,
            name,
            c.unread,
            flags.trim()
        );
    }
    Ok(())
}

pub async fn create_agent(name: &str, description: Option<&str>) -> anyhow::Result<()> {
    let client = client()?;
    let me = client.me().await?;
    let agent = client.create_agent(&me.org.id, name, description).await?;
    println!(
        "created agent @{} ({})",
        agent.principal.name, agent.principal.id
    );
    println!("token (shown once; store it now): {}", agent.token);
    Ok(())
}

/// Follows a channel live until Ctrl-C; `from_start` replays its log first.
/// Reconnects and resumes by itself when the server goes away.
pub async fn tail(channel: &str, from_start: bool) -> anyhow::Result<()> {
    let client = client()?;
    let me = client.me().await?;
    let tree = client.tree(&me.org.id).await?;
    let wanted = find_channel(&tree, channel)?;
    // The subscription covers every visible channel: start them all at their
    // end so the server replays nothing this command would throw away (within
    // what one hello frame holds).
    let mut options = SubscribeOptions::default();
    let channels: Vec<_> = tree.channels().collect();
    if channels.len() <= 1000 {
        for (_, c) in &channels {
            options = options.cursor(&c.channel.id, c.channel.last_seq);
        }
    }
    let start = match (
        from_start,
        channels.iter().find(|(_, c)| c.channel.id == wanted),
    ) {
        (true, _) => 0,
        (false, Some((_, c))) => c.channel.last_seq,
        (false, None) => 0,
    };
    options = options.cursor(&wanted, start);
    let mut names = Names::new(client.clone(), me.org.id.clone());
    let mut subscription = client.subscribe(options).await?;
    let mut connected = true;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let frame = tokio::select! {
            frame = subscription.next() => frame,
            _ = &mut ctrl_c => return Ok(()),
        };
        let frame = match frame {
            Some(Ok(frame)) => frame,
            Some(Err(e)) => return Err(e.into()),
            None => bail!("the subscription ended"),
        };
        match frame {
            Frame::Event(event) if event.channel_id == wanted => {
                let line = describe(&event, &mut names).await;
                println!("{line}");
            }
            Frame::Ready { channels, .. } => {
                if !channels.iter().any(|c| c.channel_id == wanted) {
                    bail!("channel {wanted} is no longer visible to you");
                }
                if !connected {
                    eprintln!("reconnected");
                    connected = true;
                }
            }
            Frame::Unsubscribed { channel_id, reason } if channel_id == wanted => {
                bail!("no longer following {wanted}: {reason}");
            }
            Frame::Error {
                code,
                message,
                channel_id,
            } if channel_id.as_ref().is_none_or(|c| *c == wanted) => {
                eprintln!("server: {code}: {message}");
            }
            Frame::Reconnecting {
                reason,
                attempt,
                delay,
            } => {
                connected = false;
                eprintln!(
                    "connection lost ({reason}); reconnecting in {} ms (attempt {attempt})",
                    delay.as_millis()
                );
            }
            _ => {}
        }
    }
}

/// Principal ids to handles, fetched once and again when someone new shows up.
struct Names {
    client: Client,
    org: octo_core::OrgId,
    known: HashMap<PrincipalId, String>,
    /// Ids a refresh did not find: not asked about again.
    missing: HashSet<PrincipalId>,
}

impl Names {
    fn new(client: Client, org: octo_core::OrgId) -> Self {
        Self {
            client,
            org,
            known: HashMap::new(),
            missing: HashSet::new(),
        }
    }

    async fn handle(&mut self, id: &PrincipalId) -> String {
        if !self.known.contains_key(id) && !self.missing.contains(id) {
            match self.client.members(&self.org).await {
                Ok(page) => {
                    for p in page.items {
                        self.known.insert(p.id, p.name);
                    }
                }
                Err(e) => eprintln!("could not list members: {e}"),
            }
            if !self.known.contains_key(id) {
                self.missing.insert(id.clone());
            }
        }
        match self.known.get(id) {
            Some(name) => format!("@{name}"),
            None => id.to_string(),
        }
    }
}

/// One line for an event: `[seq] @author: text` for a new message.
async fn describe(event: &Event, names: &mut Names) -> String {
    let p = &event.payload;
    let seq = event.seq;
    let str_of = |v: &serde_json::Value| v.as_str().unwrap_or("?").to_owned();
    let actor = names.handle(&event.actor).await;
    match event.kind {
        EventKind::MessageCreated => {
            let m = &p["message"];
            let author = match m["author_id"].as_str() {
                Some(id) => names.handle(&PrincipalId::from_string(id)).await,
                None => actor,
            };
            let text = str_of(&m["text"]);
            match m["thread_id"].as_str() {
                Some(thread) => format!("[{seq}] {author} (in thread {thread}): {text}"),
                None => format!("[{seq}] {author}: {text}"),
            }
        }
        EventKind::MessageEdited => format!(
            "[{seq}] {actor} edited {}: {}",
            str_of(&p["message_id"]),
            str_of(&p["text"])
        ),
        EventKind::MessageDeleted => {
            format!("[{seq}] {actor} deleted {}", str_of(&p["message_id"]))
        }
        EventKind::ReactionAdded => format!(
            "[{seq}] {actor} reacted {} to {}",
            str_of(&p["emoji"]),
            str_of(&p["message_id"])
        ),
        EventKind::ReactionRemoved => format!(
            "[{seq}] {actor} removed {} from {}",
            str_of(&p["emoji"]),
            str_of(&p["message_id"])
        ),
        EventKind::MemberJoined | EventKind::MemberLeft => {
            let who = match p["principal_id"].as_str() {
                Some(id) => names.handle(&PrincipalId::from_string(id)).await,
                None => "?".to_owned(),
            };
            let verb = if event.kind == EventKind::MemberJoined {
                "joined"
            } else {
                "left"
            };
            format!("[{seq}] {who} {verb}")
        }
        EventKind::MessageDelta => format!("[{seq}] {actor} … {}", str_of(&p["delta"])),
        EventKind::MessageFinished => format!(
            "[{seq}] {actor} finished {}: {}",
            str_of(&p["message_id"]),
            str_of(&p["text"])
        ),
        EventKind::AgentStatus => match p["text"].as_str() {
            Some(text) => format!("[{seq}] {actor} is {text}"),
            None => format!("[{seq}] {actor} cleared its status"),
        },
        EventKind::AgentLoopGuard => format!(
            "[{seq}] loop guard: agents held back ({})",
            str_of(&p["reason"])
        ),
        // channel.updated, and kinds newer than this command.
        _ => format!("[{seq}] {actor} {}", event.kind.as_str()),
    }
}
