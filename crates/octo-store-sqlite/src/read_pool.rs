//! A few read-only connections, used from blocking threads.
//!
//! WAL lets readers run beside the writer; each read sees the last committed
//! state. The semaphore bounds concurrent reads to the number of connections,
//! so a permit guarantees a connection is free to take.

use crate::error::Res;
use octo_store::StoreError;
use rusqlite::Connection;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

pub(crate) struct ReadPool {
    conns: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
}

impl ReadPool {
    pub(crate) fn new(conns: Vec<Connection>) -> Self {
        let permits = Arc::new(Semaphore::new(conns.len().max(1)));
        ReadPool {
            conns: Arc::new(Mutex::new(conns)),
            permits,
        }
    }

    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Res<T> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let conns = self.conns.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = take(&conns)?;
            let result = f(&conn).map_err(StoreError::from);
            put_back(&conns, conn);
            result
        })
        .await;
        joined.map_err(|e| StoreError::Backend(format!("a read task failed: {e}")))?
    }
}

fn take(conns: &Mutex<Vec<Connection>>) -> Result<Connection, StoreError> {
    let mut pool = conns
        .lock()
        .map_err(|_| StoreError::Backend("read pool poisoned".into()))?;
    pool.pop()
        .ok_or_else(|| StoreError::Backend("no free read connection".into()))
}

fn put_back(conns: &Mutex<Vec<Connection>>, conn: Connection) {
    // A poisoned pool just loses this connection; the rest keep working.
    if let Ok(mut pool) = conns.lock() {
        pool.push(conn);
    }
}
