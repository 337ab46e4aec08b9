//! The Octo side of a run: one `octo serve`, or in scale-out mode several
//! nodes sharing one PostgreSQL schema and one NATS subject prefix, as a
//! cluster behind a load balancer would. The bench spreads its connections
//! over the nodes itself (member `i` and sender `i` on node `i % n`), so every
//! channel's members sit on different nodes and fan-out crosses NATS.

use crate::{ProcSample, ScaleOut, Server, drop_schema, sample, unix_millis};
use anyhow::{Result, bail};
use std::path::Path;
use std::time::Duration;

/// At most this many nodes: each is a full server process on this machine.
pub const MAX_NODES: usize = 8;

/// The running nodes; stopped by [`Nodes::stop`], killed if dropped.
pub struct Nodes {
    servers: Vec<Server>,
    /// The PostgreSQL schema to drop once every node has stopped.
    schema: Option<(String, String)>,
}

impl Nodes {
    /// Starts one node (embedded default) or `scale_out.nodes` nodes. The
    /// first node migrates the fresh schema alone; the others then start
    /// together, as a rolling start of a cluster would.
    pub async fn start(
        octo: &Path,
        wait: Duration,
        send_queue: usize,
        scale_out: Option<&ScaleOut>,
    ) -> Result<Self> {
        let Some(s) = scale_out else {
            let server = Server::start(octo, wait, send_queue, None).await?;
            return Ok(Self {
                servers: vec![server],
                schema: None,
            });
        };
        if s.nodes == 0 || s.nodes > MAX_NODES {
            bail!("nodes must be 1 to {MAX_NODES}");
        }
        if s.nodes > 1 && s.broker.is_none() {
            bail!("more than one node needs a broker (--broker nats://…) to fan out between them");
        }
        // A fresh schema per run: the bench never sees another run's data.
        let name = format!("octo_bench_{}_{}", std::process::id(), unix_millis());
        let mut nodes = Self {
            servers: Vec::with_capacity(s.nodes),
            schema: Some((s.database.clone(), name.clone())),
        };
        let first = Server::start(octo, wait, send_queue, Some((s, &name))).await;
        match first {
            Ok(server) => nodes.servers.push(server),
            Err(e) => {
                nodes.stop().await.ok();
                return Err(e);
            }
        }
        let rest = futures::future::join_all(
            (1..s.nodes).map(|_| Server::start(octo, wait, send_queue, Some((s, &name)))),
        )
        .await;
        let mut failed = None;
        for r in rest {
            match r {
                Ok(server) => nodes.servers.push(server),
                Err(e) => failed = failed.or(Some(e)),
            }
        }
        if let Some(e) = failed {
            nodes.stop().await.ok();
            return Err(e);
        }
        Ok(nodes)
    }

    pub fn len(&self) -> usize {
        self.servers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// The node that connection number `i` uses.
    pub fn node(&self, i: usize) -> &Server {
        &self.servers[i % self.servers.len()]
    }

    pub fn pids(&self) -> Vec<u32> {
        self.servers.iter().map(|s| s.pid).collect()
    }

    /// Every node's memory, CPU and threads, summed: what the cluster costs.
    pub fn sample(&self) -> Result<ProcSample> {
        let mut total = ProcSample::default();
        for pid in self.pids() {
            let s = sample(pid)?;
            total.rss += s.rss;
            total.hwm += s.hwm;
            total.cpu += s.cpu;
            total.threads += s.threads;
        }
        Ok(total)
    }

    /// Stops every node (SIGTERM, then SIGKILL), then drops the schema.
    pub async fn stop(self) -> Result<()> {
        let Self { servers, schema } = self;
        let stopped = futures::future::join_all(servers.into_iter().map(Server::stop)).await;
        if let Some((url, schema)) = schema {
            drop_schema(&url, &schema).await?;
        }
        stopped.into_iter().collect()
    }
}
