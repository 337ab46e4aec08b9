//! The embedded default: one node, so publishing is handing the signal to this
//! node's own subscribers through a broadcast channel.

use crate::{Broker, BrokerError, Signal, Subscription};
use async_trait::async_trait;
use tokio::sync::broadcast;

/// How many signals a slow subscriber may fall behind before it lags (and
/// falls back to the log).
pub const DEFAULT_CAPACITY: usize = 16 * 1024;

pub struct MemoryBroker {
    tx: broadcast::Sender<Signal>,
}

impl MemoryBroker {
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self { tx }
    }
}

impl Default for MemoryBroker {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    async fn publish(&self, signal: Signal) -> Result<(), BrokerError> {
        // No subscriber is not an error: nobody is connected.
        let _ = self.tx.send(signal);
        Ok(())
    }

    fn subscribe(&self) -> Subscription {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Presence;
    use octo_core::PrincipalId;

    fn presence(n: u32) -> Signal {
        Signal::Presence {
            node: n.to_string(),
            org_id: octo_core::OrgId::from_string("o"),
            principal_id: PrincipalId::from_string("p"),
            status: Presence::Online,
        }
    }

    #[tokio::test]
    async fn subscribers_get_signals_in_order() {
        let broker = MemoryBroker::new(8);
        let mut sub = broker.subscribe();
        for n in 0..3 {
            broker.publish(presence(n)).await.expect("publish");
        }
        for n in 0..3 {
            assert_eq!(sub.recv().await.expect("signal"), presence(n));
        }
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_it_lagged() {
        let broker = MemoryBroker::new(2);
        let mut sub = broker.subscribe();
        for n in 0..5 {
            broker.publish(presence(n)).await.expect("publish");
        }
        assert!(matches!(
            sub.recv().await,
            Err(broadcast::error::RecvError::Lagged(3))
        ));
        assert_eq!(sub.recv().await.expect("signal"), presence(3));
    }
}
