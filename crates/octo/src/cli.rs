//! Client commands: they talk to a running server through `octo-client`.
//!
//! The server and identity come from `OCTO_URL` / `OCTO_TOKEN`, else from the
//! file `octo login` writes.

use anyhow::{Context, bail};
use octo_client::{Client, SendOptions};
use octo_core::ChannelId;
use serde::{Deserialize, Serialize};
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
