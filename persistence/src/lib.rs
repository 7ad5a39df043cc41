//! Plaza's stores: SQLite embedded by default, PostgreSQL when `DATABASE_URL` says so.
//!
//! One API, [`Store`], over two backends. Pick one with a URL:
//! `sqlite:./data/plaza.db` (the file is created when missing) or
//! `postgres://user@host:5432/db`. Migrations for each backend live in their own folder
//! (`migrations/sqlite`, `migrations/postgres`, exposed as [`SQLITE_MIGRATOR`] and
//! [`PG_MIGRATOR`]) and are applied by [`Store::connect`].
//!
//! What is stored: accounts (guests and registered users, argon2 hashes made by the caller),
//! spaces, memberships with the last position of each player in each space, a bounded chat
//! history per space, and region snapshots. Times are Unix milliseconds.
//!
//! # Example
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use persistence::{NewSpace, Position, Store, StoreConfig};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let url = format!("sqlite:{}", dir.path().join("plaza.db").display());
//! let store = Store::connect(&StoreConfig::new(url)).await.unwrap();
//! let ada = store.create_guest("ada").await.unwrap();
//! let space = store
//!     .create_space(&NewSpace::new("Office", "office", ada.id))
//!     .await
//!     .unwrap();
//! store.save_position(&space.id, ada.id, Position { x: 3, y: 4 }).await.unwrap();
//! assert_eq!(
//!     store.last_position(&space.id, ada.id).await.unwrap(),
//!     Some(Position { x: 3, y: 4 })
//! );
//! # });
//! ```
#![deny(missing_docs)]

mod error;
mod model;
mod store;

pub use error::StoreError;
pub use model::{
    Account, AccountId, ChatMessage, ChatScope, Credentials, Membership, NewChatMessage, NewSpace,
    Position, RegionSnapshot, Role, Space,
};
pub use store::{Backend, PG_MIGRATOR, SQLITE_MIGRATOR, Store, StoreConfig};

/// Default number of chat lines kept per space.
pub const DEFAULT_CHAT_HISTORY: u32 = 200;
