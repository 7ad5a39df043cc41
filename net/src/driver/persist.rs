//! Database writes of the tick threads, done on one async task so ticks never wait on I/O.

use persistence::{ChatScope, NewChatMessage, Position, Store};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A write requested by a space thread.
#[derive(Debug)]
pub enum PersistOp {
    /// Last tiles of players in a space.
    Positions {
        /// The space.
        space: String,
        /// (account, tile)
        positions: Vec<(i64, Position)>,
    },
    /// A chat line to keep in the bounded history.
    Chat {
        /// The space.
        space: String,
        /// The line.
        message: NewChatMessage,
    },
    /// A region's avatars, fenced by the owner's lease epoch (a stale owner's write is
    /// refused by the store).
    RegionSnapshot {
        /// The space.
        space: String,
        /// The region.
        region: sim::RegionId,
        /// The writer's lease epoch.
        epoch: u64,
        /// [`crate::cluster::RegionSnapshot::encode`]d avatars.
        data: Vec<u8>,
    },
}

/// Starts the writer task; it ends when every sender is dropped and the queue is drained.
pub(crate) fn spawn_writer(store: Store) -> (mpsc::UnboundedSender<PersistOp>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<PersistOp>();
    let task = tokio::spawn(async move {
        while let Some(op) = rx.recv().await {
            let result = match &op {
                PersistOp::Positions { space, positions } => {
                    store.save_positions(space, positions).await
                }
                PersistOp::Chat { space, message } => {
                    store.append_chat(space, message).await.map(drop)
                }
                PersistOp::RegionSnapshot {
                    space,
                    region,
                    epoch,
                    data,
                } => store
                    .put_region_snapshot(
                        space,
                        i32::from(region.col),
                        i32::from(region.row),
                        i64::try_from(*epoch).unwrap_or(i64::MAX),
                        data,
                    )
                    .await
                    .map(|written| {
                        if !written {
                            tracing::warn!(
                                space,
                                ?region,
                                epoch,
                                "region snapshot fenced off: a newer owner wrote it"
                            );
                        }
                    }),
            };
            if let Err(e) = result {
                tracing::error!(error = %e, ?op, "database write failed");
            }
        }
    });
    (tx, task)
}

/// The stored chat scope of a wire scope.
pub(crate) fn stored_scope(scope: schema::ChatScope) -> ChatScope {
    match scope {
        schema::ChatScope::Space => ChatScope::Space,
        schema::ChatScope::Nearby => ChatScope::Nearby,
    }
}
