//! A private `nats-server` for one JetStream run: 127.0.0.1 on a free port,
//! JetStream in a temporary store directory, with the file store's default
//! `sync_interval` (2 minutes) or `sync_interval: always` (an fsync after
//! every write, before the `PubAck`). Stopped after the run, killed if dropped.

use anyhow::{Context, Result, anyhow, bail};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// When JetStream's file store fsyncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum JsSync {
    /// The server's default: on a timer (`sync_interval`, 2 minutes); a
    /// `PubAck` means "in the OS page cache".
    Default,
    /// `sync_interval: always`: every write is fsynced before its `PubAck`
    /// (nats-server 2.10 or later).
    Always,
}

impl JsSync {
    pub fn label(self) -> &'static str {
        match self {
            JsSync::Default => "sync_interval default (fsync every 2 min)",
            JsSync::Always => "sync_interval: always (fsync per write)",
        }
    }

    fn config_line(self) -> &'static str {
        match self {
            JsSync::Default => "",
            JsSync::Always => "  sync_interval: always\n",
        }
    }
}

/// How long the server may take to start listening, and to stop.
const START_WAIT: Duration = Duration::from_secs(10);
const STOP_WAIT: Duration = Duration::from_secs(10);

/// The binary to run when none is named: `nats-server` on `PATH`, else
/// Debian's `/usr/sbin/nats-server`.
pub fn default_binary() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join("nats-server"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nats-server"))
}

fn config_text(port: u16, dir: &Path, sync: JsSync) -> String {
    format!(
        "listen: 127.0.0.1:{port}\nlog_file: \"{log}\"\njetstream {{\n  store_dir: \"{store}\"\n{sync}}}\n",
        log = dir.join("nats.log").display(),
        store = dir.join("store").display(),
        sync = sync.config_line(),
    )
}

/// `nats-server --version`, e.g. `v2.10.7`.
pub async fn version(binary: &Path) -> Result<String> {
    let out = tokio::time::timeout(
        START_WAIT,
        Command::new(binary)
            .arg("--version")
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .map_err(|_| anyhow!("{} --version did not answer", binary.display()))?
    .with_context(|| format!("running {}", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .split_whitespace()
        .last()
        .unwrap_or("unknown")
        .to_owned())
}

/// Checks that `binary` accepts the config for `sync` (`nats-server -t`), so
/// that an old server fails before any run with a clear message.
pub async fn check(binary: &Path, sync: JsSync) -> Result<String> {
    let version = version(binary).await?;
    let dir = tempfile::tempdir().context("temp dir")?;
    let conf = dir.path().join("check.conf");
    std::fs::write(&conf, config_text(4222, dir.path(), sync)).context("writing a config")?;
    let out = tokio::time::timeout(
        START_WAIT,
        Command::new(binary)
            .arg("-c")
            .arg(&conf)
            .arg("-t")
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .map_err(|_| anyhow!("{} -t did not answer", binary.display()))?
    .with_context(|| format!("running {}", binary.display()))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        bail!(
            "nats-server {version} at {} refuses the config for {}: {} (sync_interval needs nats-server 2.10 or later: pass --nats-server PATH to a newer binary)",
            binary.display(),
            sync.label(),
            said.trim()
        );
    }
    Ok(version)
}

/// A running private `nats-server`.
pub struct NatsServer {
    child: Child,
    pub pid: u32,
    pub url: String,
    pub version: String,
    pub sync: JsSync,
    dir: tempfile::TempDir,
}

impl NatsServer {
    /// Starts `binary` on 127.0.0.1 with a free port and JetStream in a
    /// temporary directory; returns once it accepts connections.
    pub async fn start(binary: &Path, sync: JsSync) -> Result<Self> {
        let version = version(binary).await?;
        let dir = tempfile::tempdir().context("temp dir")?;
        // A free port: the kernel's pick, released just before the server binds it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("finding a free port")?
            .port();
        let conf = dir.path().join("nats.conf");
        std::fs::write(&conf, config_text(port, dir.path(), sync)).context("writing the config")?;
        let mut child = Command::new(binary)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow!("nats-server exited at once"))?;
        let url = format!("nats://127.0.0.1:{port}");
        let deadline = Instant::now() + START_WAIT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                bail!(
                    "nats-server exited with {status} at start: {}",
                    log_tail(dir.path())
                );
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            if Instant::now() >= deadline {
                bail!(
                    "nats-server did not listen on 127.0.0.1:{port} within {START_WAIT:?}: {}",
                    log_tail(dir.path())
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Self {
            child,
            pid,
            url,
            version,
            sync,
            dir,
        })
    }

    /// SIGTERM, then up to 10 s for it to exit, then SIGKILL.
    pub async fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(STOP_WAIT, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        drop(self.dir);
    }
}

/// The last lines of the server's log, for an error message.
fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("nats.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().rev().take(3).collect();
    if lines.is_empty() {
        "no log".into()
    } else {
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_asks_for_sync_always_only_when_told() {
        let dir = Path::new("/tmp/x");
        let always = config_text(4333, dir, JsSync::Always);
        assert!(always.contains("listen: 127.0.0.1:4333"));
        assert!(always.contains("sync_interval: always"));
        assert!(always.contains("store_dir: \"/tmp/x/store\""));
        assert!(!config_text(4333, dir, JsSync::Default).contains("sync_interval"));
    }
}
