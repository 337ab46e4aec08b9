//! `octo-bench`: load and memory figures for an `octo serve` it starts itself on
//! loopback, and (`octo-bench compare`) the same workload through NATS
//! JetStream. See `BENCHMARKS.md` at the repository root for measured figures.

use clap::Parser;
use octo_bench::cli::BenchArgs;

#[derive(Parser, Debug)]
#[command(name = "octo-bench", version)]
struct Cli {
    #[command(flatten)]
    bench: BenchArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    octo_bench::cli::run(cli.bench, octo_bench::default_octo_path()).await
}
