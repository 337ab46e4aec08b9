//! `octo mcp`: MCP over stdin/stdout as the principal of `OCTO_TOKEN` on the
//! server at `OCTO_URL`. Stdout carries the protocol; logs go to stderr.

use anyhow::{Context, bail};

pub async fn run() -> anyhow::Result<()> {
    let url = std::env::var("OCTO_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let token = std::env::var("OCTO_TOKEN").context("set OCTO_TOKEN to the token to act as")?;
    if token.is_empty() {
        bail!("OCTO_TOKEN is empty");
    }
    octo_mcp::serve_stdio(&url, &token).await?;
    Ok(())
}
