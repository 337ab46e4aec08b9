//! The `command` connector: runs a program per turn (a script, `claude -p`,
//! `codex exec`, `aider` …). The context goes to its stdin, ids and the turn
//! token to its environment, and its stdout streams into the reply.
//!
//! The program runs in its own process group, so a timeout or an output
//! overflow kills it and everything it started. A non-zero exit, a timeout or
//! an overflow shows as the agent's status in the channel.

use crate::config::{CommandConfig, InputFormat};
use crate::connector::{Connector, ConnectorError};
use crate::platform::{ContextFormat, Opened, Platform, Turn, clip};
use async_trait::async_trait;
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

pub struct CommandConnector {
    config: CommandConfig,
    context_tokens: usize,
}

/// How the program ended.
#[derive(Debug)]
enum Outcome {
    Exited(std::process::ExitStatus),
    TimedOut,
    TooMuchOutput,
}

impl CommandConnector {
    pub fn new(config: CommandConfig, context_tokens: usize) -> Self {
        Self {
            config,
            context_tokens,
        }
    }

    async fn stdin_for(
        &self,
        platform: &dyn Platform,
        turn: &Turn,
    ) -> Result<Vec<u8>, ConnectorError> {
        Ok(match self.config.input {
            InputFormat::Text => {
                let ctx = platform
                    .context(turn, ContextFormat::Text, self.context_tokens)
                    .await?;
                ctx["context"]
                    .as_str()
                    .unwrap_or_default()
                    .as_bytes()
                    .to_vec()
            }
            InputFormat::Json => {
                let ctx = platform
                    .context(turn, ContextFormat::OpenAi, self.context_tokens)
                    .await?;
                let input =
                    json!({"trigger": turn, "context": ctx["context"], "groupmd": ctx["groupmd"]});
                serde_json::to_vec(&input).unwrap_or_default()
            }
        })
    }

    fn spawn(&self, turn: &Turn) -> Result<Child, ConnectorError> {
        let (program, args) = self
            .config
            .argv
            .split_first()
            .ok_or_else(|| ConnectorError::Failed("empty command".into()))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(&self.config.env)
            .env("OCTO_URL", &turn.platform_url)
            .env("OCTO_TOKEN", &turn.token)
            .env("OCTO_AGENT", &turn.agent)
            .env("OCTO_CHANNEL_ID", &turn.channel_id)
            .env("OCTO_THREAD_ID", &turn.thread_id)
            .env("OCTO_MESSAGE_ID", &turn.message_id)
            .env("OCTO_TRIGGER_ID", &turn.id)
            .env("OCTO_TRIGGER_REASON", &turn.reason)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        cmd.spawn()
            .map_err(|e| ConnectorError::Failed(format!("cannot start {program}: {e}")))
    }
}

/// Deltas go out at most this often: a program printing word by word must
/// not spend the agent's request budget (burst 200, then 50/s).
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// The reply as it streams: opened at the first flush.
struct Streamed {
    id: Option<String>,
    /// Opened by an earlier run: written whole at finish, no deltas.
    replayed: bool,
    unsent: String,
    last: tokio::time::Instant,
}

impl Streamed {
    fn new() -> Self {
        let now = tokio::time::Instant::now();
        Self {
            id: None,
            replayed: false,
            unsent: String::new(),
            // The first words go out at once.
            last: now.checked_sub(FLUSH_EVERY).unwrap_or(now),
        }
    }

    fn due(&self) -> tokio::time::Instant {
        self.last + FLUSH_EVERY
    }

    /// Sends what is buffered; `false` if the turn was already answered.
    async fn flush(
        &mut self,
        platform: &dyn Platform,
        turn: &Turn,
    ) -> Result<bool, ConnectorError> {
        if self.unsent.is_empty() {
            return Ok(true);
        }
        if self.id.is_none() {
            match platform.open_reply(turn).await? {
                Opened::AlreadyAnswered => return Ok(false),
                Opened::Stream(id) => self.id = Some(id),
                Opened::Reopened(id) => {
                    self.replayed = true;
                    self.id = Some(id);
                }
            }
        }
        let text = std::mem::take(&mut self.unsent);
        if let (Some(id), false) = (&self.id, self.replayed) {
            platform.append_reply(turn, id, &text).await?;
        }
        self.last = tokio::time::Instant::now();
        Ok(true)
    }
}

/// Kills the child's whole process group (the child leads it). `kill(1)`
/// rather than a syscall binding: the workspace forbids `unsafe`.
async fn kill_group(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
    let _ = child.kill().await;
}

/// Splits off the longest valid UTF-8 prefix of `buf` (a multi-byte
/// character cut by a read waits for the rest).
fn take_utf8(buf: &mut Vec<u8>) -> String {
    let valid = match std::str::from_utf8(buf) {
        Ok(_) => buf.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        // Invalid bytes, not a cut: replace them.
        Err(_) => {
            let text = String::from_utf8_lossy(buf).into_owned();
            buf.clear();
            return text;
        }
    };
    let rest = buf.split_off(valid);
    String::from_utf8(std::mem::replace(buf, rest)).unwrap_or_default()
}

#[async_trait]
impl Connector for CommandConnector {
    async fn handle(&self, platform: &dyn Platform, turn: &Turn) -> Result<(), ConnectorError> {
        let input = self.stdin_for(platform, turn).await?;
        let mut child = self.spawn(turn)?;
        let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(ConnectorError::Failed("no pipes to the command".into()));
        };
        // A program that never reads its stdin must not block the turn.
        let feed = tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
            let _ = stdin.shutdown().await;
        });
        let errors = tokio::spawn(async move {
            let mut tail = Vec::new();
            let _ = (&mut stderr).take(64 * 1024).read_to_end(&mut tail).await;
            tail
        });

        let mut reply = Streamed::new();
        let mut output = String::new();
        let mut pending = Vec::new();
        let mut chunk = vec![0u8; 8192];
        let deadline = tokio::time::Instant::now() + self.config.timeout;
        let max = self.config.max_output_bytes;
        let outcome = loop {
            let read = tokio::select! {
                r = stdout.read(&mut chunk) => r,
                () = tokio::time::sleep_until(reply.due()), if !reply.unsent.is_empty() => {
                    if !reply.flush(platform, turn).await? {
                        kill_group(&mut child).await;
                        return Ok(());
                    }
                    continue;
                }
                () = tokio::time::sleep_until(deadline) => break Outcome::TimedOut,
            };
            let n = match read {
                Ok(0) | Err(_) => match tokio::time::timeout_at(deadline, child.wait()).await {
                    Ok(Ok(status)) => break Outcome::Exited(status),
                    Ok(Err(e)) => return Err(ConnectorError::Failed(e.to_string())),
                    Err(_) => break Outcome::TimedOut,
                },
                Ok(n) => n,
            };
            let room = max.saturating_sub(output.len() + pending.len());
            let overflow = n > room;
            pending.extend_from_slice(&chunk[..n.min(room)]);
            let delta = take_utf8(&mut pending);
            output.push_str(&delta);
            reply.unsent.push_str(&delta);
            if tokio::time::Instant::now() >= reply.due() && !reply.flush(platform, turn).await? {
                kill_group(&mut child).await;
                return Ok(());
            }
            if overflow {
                break Outcome::TooMuchOutput;
            }
        };
        if !reply.flush(platform, turn).await? {
            kill_group(&mut child).await;
            return Ok(());
        }
        let replayed = reply.replayed;
        let reply = reply.id;
        if !matches!(outcome, Outcome::Exited(_)) {
            kill_group(&mut child).await;
        }
        feed.abort();
        let stderr_tail = match tokio::time::timeout(Duration::from_secs(1), errors).await {
            Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).trim().to_owned(),
            _ => String::new(),
        };

        let problem = match &outcome {
            Outcome::Exited(status) if status.success() => None,
            Outcome::Exited(status) => {
                let code = status
                    .code()
                    .map_or_else(|| "a signal".to_owned(), |c| format!("status {c}"));
                let last = stderr_tail.lines().last().unwrap_or_default();
                Some(if last.is_empty() {
                    format!("the command failed (exit {code})")
                } else {
                    format!("the command failed (exit {code}): {last}")
                })
            }
            Outcome::TimedOut => Some(format!(
                "the command timed out after {} s and was killed",
                self.config.timeout.as_secs()
            )),
            Outcome::TooMuchOutput => Some(format!(
                "the command wrote more than {max} bytes and was stopped"
            )),
        };

        if let Some(id) = &reply {
            let final_text = match (&problem, replayed) {
                (Some(p), _) => Some(format!("{}\n\n_({p})_", output.trim_end())),
                (None, true) => Some(output.clone()),
                (None, false) => None,
            };
            let final_text = final_text.map(|t| clip(&t, 16_000));
            platform
                .finish_reply(turn, id, final_text.as_deref())
                .await?;
        } else if problem.is_none() {
            // Succeeded in silence: nothing to say, and that is an answer.
            tracing::info!(agent = %turn.agent, turn = %turn.id, "the command wrote nothing");
        }
        match problem {
            Some(p) => Err(ConnectorError::Failed(p)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_cut_mid_character_waits_for_the_rest() {
        let mut buf = "hé".as_bytes()[..2].to_vec();
        assert_eq!(take_utf8(&mut buf), "h");
        assert_eq!(buf.len(), 1);
        buf.extend_from_slice(&"é".as_bytes()[1..]);
        assert_eq!(take_utf8(&mut buf), "é");
        assert!(buf.is_empty());
        let mut bad = vec![b'a', 0xff, b'b'];
        assert_eq!(take_utf8(&mut bad), "a\u{fffd}b");
    }
}
