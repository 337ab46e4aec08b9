//! Runs the real `octo` binary for end-to-end tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const OCTO: &str = env!("CARGO_BIN_EXE_octo");
const WAIT: Duration = Duration::from_secs(10);

pub struct Server {
    pub child: Child,
    pub url: String,
    pub port: u16,
}

/// Starts `octo serve` on `port` (0: any free port) with `data` as its data
/// directory, and waits (bounded) for its "listening" line.
pub fn start(data: &Path, port: u16) -> Server {
    let mut child = Command::new(OCTO)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .env("OCTO_LOG", "warn")
        // These tests count events exactly; the scribe has its own test.
        .env("OCTO_SCRIBE", "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start octo serve");
    let stdout = child.stdout.take().expect("stdout");
    let line = lines_of(stdout)
        .recv_timeout(WAIT)
        .expect("octo serve prints where it listens");
    let url = line
        .trim()
        .strip_prefix("octo listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    let port = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"));
    Server { child, url, port }
}

impl Server {
    /// SIGTERM, then waits for a clean exit.
    pub fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        for _ in 0..200 {
            if let Some(exit) = self.child.try_wait().expect("wait") {
                assert!(exit.success(), "octo exits cleanly on SIGTERM: {exit}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("octo did not stop within 10 s of SIGTERM");
    }

    /// SIGKILL: no chance to finish anything.
    pub fn crash(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed test must not leave a server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines a child writes, read on a thread so every wait can time out.
pub fn lines_of(out: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
