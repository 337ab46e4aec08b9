//! `octo agent run --config agents.toml`: the bridge (`octo-adapters`) until
//! SIGINT or SIGTERM.

use anyhow::Context;
use std::path::Path;

pub async fn run(path: &Path) -> anyhow::Result<()> {
    let config = octo_adapters::BridgeConfig::load(path)
        .with_context(|| format!("in {}", path.display()))?;
    let names: Vec<_> = config.agents.iter().map(|a| a.name.as_str()).collect();
    eprintln!("octo bridge: {} → {}", names.join(", "), config.url);
    octo_adapters::run(config, crate::serve::shutdown_signal()).await?;
    Ok(())
}
