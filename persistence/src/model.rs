//! The rows the store hands out and takes in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// An account's id. Positive; the sim's `PlayerInfo::account` is the same number as `u64`.
pub type AccountId = i64;

/// What an account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A guest: no password, created by `POST /api/auth/guest`.
    Guest,
    /// A registered user.
    User,
    /// An operator: may use the admin endpoints.
    Admin,
}

impl Role {
    /// The stored (and JSON) spelling: `guest`, `user` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Guest => "guest",
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Role, StoreError> {
        match s {
            "guest" => Ok(Role::Guest),
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            other => Err(StoreError::Corrupt(format!("role {other:?}"))),
        }
    }
}

/// A guest or registered account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The account's id.
    pub id: AccountId,
    /// Login name (lower-case) of a registered account; `None` for guests.
    pub username: Option<String>,
    /// The name shown to other players.
    pub display_name: String,
    /// The avatar's key (free-form; the client maps it to a sprite). Empty: default.
    pub avatar: String,
    /// What the account may do.
    pub role: Role,
    /// When the account was created (Unix ms).
    pub created_at: i64,
}

/// An account with its password hash, for logging in.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The account.
    pub account: Account,
    /// The argon2 PHC string the caller stored at registration.
    pub password_hash: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("account", &self.account)
            .field("password_hash", &"<redacted>")
            .finish()
    }
}

/// What is needed to create a space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSpace {
    /// Shown name.
    pub name: String,
    /// The map's id (a file stem under `assets/maps`, e.g. `office`).
    pub map: String,
    /// The creating account.
    pub owner: AccountId,
    /// How many players may be in the space at once (at least 1).
    pub max_players: u32,
    /// Listed for everyone by `GET /api/spaces` (anyone with the link may join either way).
    pub public: bool,
}

impl NewSpace {
    /// A private space for 50 players.
    pub fn new(name: &str, map: &str, owner: AccountId) -> NewSpace {
        NewSpace {
            name: name.to_owned(),
            map: map.to_owned(),
            owner,
            max_players: 50,
            public: false,
        }
    }
}

/// A space: a room with a map.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Space {
    /// Random URL-safe id (used in join links, `/s/{id}`).
    pub id: String,
    /// Shown name.
    pub name: String,
    /// The map's id.
    pub map: String,
    /// The creating account.
    pub owner: AccountId,
    /// When the space was created (Unix ms).
    pub created_at: i64,
    /// How many players may be in the space at once.
    pub max_players: u32,
    /// Listed for everyone.
    pub public: bool,
}

/// A tile position, as the sim stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Position {
    /// Column.
    pub x: i32,
    /// Row.
    pub y: i32,
}

/// A player's membership of a space.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The space.
    pub space_id: String,
    /// The player.
    pub account_id: AccountId,
    /// When the player first joined (Unix ms).
    pub joined_at: i64,
    /// Where the player was when last saved; `None` if never saved.
    pub last_position: Option<Position>,
}

/// Who a chat line was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatScope {
    /// Everyone in the space.
    Space,
    /// Players near the sender.
    Nearby,
}

impl ChatScope {
    /// The stored spelling: `space` or `nearby`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatScope::Space => "space",
            ChatScope::Nearby => "nearby",
        }
    }
}

impl FromStr for ChatScope {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<ChatScope, StoreError> {
        match s {
            "space" => Ok(ChatScope::Space),
            "nearby" => Ok(ChatScope::Nearby),
            other => Err(StoreError::Corrupt(format!("chat scope {other:?}"))),
        }
    }
}

/// A chat line to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewChatMessage {
    /// The sender.
    pub account_id: AccountId,
    /// The sender's display name when the line was sent.
    pub sender_name: String,
    /// Who it was for.
    pub scope: ChatScope,
    /// The text.
    pub body: String,
}

/// A stored chat line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Increasing id (order of sending, across all spaces).
    pub id: i64,
    /// The space.
    pub space_id: String,
    /// The sender.
    pub account_id: AccountId,
    /// The sender's display name when the line was sent.
    pub sender_name: String,
    /// Who it was for.
    pub scope: ChatScope,
    /// The text.
    pub body: String,
    /// When it was stored (Unix ms).
    pub sent_at: i64,
}

/// The last persisted state of one region of a space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionSnapshot {
    /// The space.
    pub space_id: String,
    /// Region column in the region grid.
    pub col: i32,
    /// Region row in the region grid.
    pub row: i32,
    /// Ownership epoch that wrote it; a snapshot never replaces one of a later epoch.
    pub epoch: i64,
    /// Opaque bytes (the sim's region encoding).
    pub data: Vec<u8>,
    /// When it was written (Unix ms).
    pub updated_at: i64,
}
