//! [`Store`]: one API over SQLite and PostgreSQL.
//!
//! Every query is written once, with `$1`-style placeholders that both backends accept,
//! and compiled once per backend by the `with_pool!` macro. Row structs derive `FromRow`
//! generically, so the same struct decodes rows of either database.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::model::{
    Account, AccountId, ChatMessage, Credentials, Membership, NewChatMessage, NewSpace, Position,
    RegionSnapshot, Role, Space,
};
use crate::{DEFAULT_CHAT_HISTORY, StoreError};

/// Migrations of the SQLite backend (`persistence/migrations/sqlite`).
pub static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
/// Migrations of the PostgreSQL backend (`persistence/migrations/postgres`).
pub static PG_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// How to open a [`Store`].
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `sqlite:PATH` (also `sqlite://PATH`, `sqlite::memory:`) or `postgres://…`
    /// (`postgresql://…`).
    pub url: String,
    /// Chat lines kept per space (older ones are deleted on append). At least 1.
    pub chat_history: u32,
    /// Pool size.
    pub max_connections: u32,
    /// PostgreSQL only: a schema to create (if missing) and use as `search_path`, so that
    /// several stores (tests, for instance) can share one database without seeing each other.
    pub pg_schema: Option<String>,
}

impl StoreConfig {
    /// Defaults for `url`: 200 chat lines per space, 8 connections, no schema.
    pub fn new(url: impl Into<String>) -> StoreConfig {
        StoreConfig {
            url: url.into(),
            chat_history: DEFAULT_CHAT_HISTORY,
            max_connections: 8,
            pg_schema: None,
        }
    }
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The store: accounts, spaces, memberships and positions, chat history, region snapshots.
///
/// Cheap to clone (it holds a connection pool). Methods are grouped by table; each is one
/// statement or one transaction.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    /// SQLite file: a one-connection pool that every write goes through. SQLite lets one
    /// writer in at a time; writers queued here wait their turn in order, instead of
    /// contending for the file lock in SQLite's busy handler (which sleeps in steps of up to
    /// 100 ms, so a burst of joins took seconds per INSERT). `None`: writes use `pool`.
    sqlite_writer: Option<SqlitePool>,
    chat_history: u32,
}

/// Runs `$body` with `$p` bound to the concrete pool (the body is compiled once per backend).
macro_rules! with_pool {
    ($store:expr, |$p:ident| $body:expr) => {
        match &$store.pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}

/// [`with_pool!`] for statements that write: on SQLite, `$p` is the writer pool.
macro_rules! with_write_pool {
    ($store:expr, |$p:ident| $body:expr) => {
        match &$store.pool {
            Pool::Sqlite(pool) => {
                let $p = $store.sqlite_writer.as_ref().unwrap_or(pool);
                $body
            }
            Pool::Postgres($p) => $body,
        }
    };
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A random 12-character id over `[0-9a-z]` (about 62 bits).
fn random_id() -> Result<String, StoreError> {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Invalid(format!("no randomness: {e}")))?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

// ---- rows ---------------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: i64,
    username: Option<String>,
    display_name: String,
    avatar: String,
    role: String,
    created_at: i64,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;
    fn try_from(r: AccountRow) -> Result<Account, StoreError> {
        Ok(Account {
            id: r.id,
            username: r.username,
            display_name: r.display_name,
            avatar: r.avatar,
            role: r.role.parse()?,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CredentialsRow {
    #[sqlx(flatten)]
    account: AccountRow,
    password_hash: Option<String>,
}

#[derive(sqlx::FromRow)]
struct SpaceRow {
    id: String,
    name: String,
    map: String,
    owner_id: i64,
    created_at: i64,
    max_players: i32,
    public: bool,
}

impl From<SpaceRow> for Space {
    fn from(r: SpaceRow) -> Space {
        Space {
            id: r.id,
            name: r.name,
            map: r.map,
            owner: r.owner_id,
            created_at: r.created_at,
            max_players: u32::try_from(r.max_players).unwrap_or(1),
            public: r.public,
        }
    }
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    space_id: String,
    account_id: i64,
    joined_at: i64,
    last_x: Option<i32>,
    last_y: Option<i32>,
}

impl From<MembershipRow> for Membership {
    fn from(r: MembershipRow) -> Membership {
        Membership {
            space_id: r.space_id,
            account_id: r.account_id,
            joined_at: r.joined_at,
            last_position: match (r.last_x, r.last_y) {
                (Some(x), Some(y)) => Some(Position { x, y }),
                _ => None,
            },
        }
    }
}

#[derive(sqlx::FromRow)]
struct ChatRow {
    id: i64,
    space_id: String,
    account_id: i64,
    sender_name: String,
    scope: String,
    body: String,
    sent_at: i64,
}

impl TryFrom<ChatRow> for ChatMessage {
    type Error = StoreError;
    fn try_from(r: ChatRow) -> Result<ChatMessage, StoreError> {
        Ok(ChatMessage {
            id: r.id,
            space_id: r.space_id,
            account_id: r.account_id,
            sender_name: r.sender_name,
            scope: r.scope.parse()?,
            body: r.body,
            sent_at: r.sent_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SnapshotRow {
    space_id: String,
    region_col: i32,
    region_row: i32,
    epoch: i64,
    data: Vec<u8>,
    updated_at: i64,
}

impl From<SnapshotRow> for RegionSnapshot {
    fn from(r: SnapshotRow) -> RegionSnapshot {
        RegionSnapshot {
            space_id: r.space_id,
            col: r.region_col,
            row: r.region_row,
            epoch: r.epoch,
            data: r.data,
            updated_at: r.updated_at,
        }
    }
}

// ---- opening ------------------------------------------------------------------------------

impl Store {
    /// Opens the database named by `config.url` and applies its migrations.
    ///
    /// A SQLite file (and its parent folder) is created when missing; it runs in WAL mode
    /// with foreign keys on.
    pub async fn connect(config: &StoreConfig) -> Result<Store, StoreError> {
        let url = config.url.trim();
        let store = if url.starts_with("sqlite:") {
            let mut opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: every commit is on disk before the server acknowledges it (NORMAL
                // would lose the last commits on a power cut). One fsync per write
                // (~0.5 ms here); the single writer connection queues them.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            if let Some(parent) = opts.get_filename().parent()
                && !parent.as_os_str().is_empty()
                && !parent.exists()
            {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Invalid(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
            // `:memory:` gives each connection its own database: keep a single one.
            let max = if url.contains(":memory:") {
                opts = opts.shared_cache(true);
                1
            } else {
                config.max_connections.max(1)
            };
            let pool = SqlitePoolOptions::new()
                .max_connections(max)
                .connect_with(opts.clone())
                .await?;
            let mut store = Store::from_sqlite(pool, config.chat_history).await?;
            if max > 1 {
                store.sqlite_writer = Some(
                    SqlitePoolOptions::new()
                        .max_connections(1)
                        .connect_with(opts)
                        .await?,
                );
            }
            store
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut opts = PgConnectOptions::from_str(url)?;
            if let Some(schema) = &config.pg_schema {
                if schema.is_empty()
                    || !schema
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return Err(StoreError::Invalid(format!("schema name {schema:?}")));
                }
                let mut conn =
                    <sqlx::PgConnection as sqlx::Connection>::connect_with(&opts).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
                )))
                .execute(&mut conn)
                .await?;
                sqlx::Connection::close(conn).await?;
                opts = opts.options([("search_path", schema.as_str())]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(config.max_connections.max(1))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Store::from_postgres(pool, config.chat_history).await?
        } else {
            return Err(StoreError::UnsupportedUrl(redact(url)));
        };
        Ok(store)
    }

    /// Wraps an open SQLite pool and applies [`SQLITE_MIGRATOR`].
    pub async fn from_sqlite(pool: SqlitePool, chat_history: u32) -> Result<Store, StoreError> {
        SQLITE_MIGRATOR.run(&pool).await?;
        Ok(Store {
            pool: Pool::Sqlite(pool),
            sqlite_writer: None,
            chat_history: chat_history.max(1),
        })
    }

    /// Wraps an open PostgreSQL pool and applies [`PG_MIGRATOR`].
    pub async fn from_postgres(pool: PgPool, chat_history: u32) -> Result<Store, StoreError> {
        PG_MIGRATOR.run(&pool).await?;
        Ok(Store {
            pool: Pool::Postgres(pool),
            sqlite_writer: None,
            chat_history: chat_history.max(1),
        })
    }

    /// Which database this store talks to.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Chat lines kept per space.
    pub fn chat_history_limit(&self) -> u32 {
        self.chat_history
    }

    /// Checks that the database answers (`SELECT 1`), for readiness probes.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, |p| sqlx::query("SELECT 1")
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        if let Some(writer) = &self.sqlite_writer {
            writer.close().await;
        }
        with_pool!(self, |p| p.close().await)
    }
}

/// A URL without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

// ---- accounts -----------------------------------------------------------------------------

impl Store {
    /// Creates a guest account (no username, no password).
    pub async fn create_guest(&self, display_name: &str) -> Result<Account, StoreError> {
        const SQL: &str = "INSERT INTO accounts (username, password_hash, display_name, avatar, role, created_at) \
             VALUES (NULL, NULL, $1, '', 'guest', $2) \
             RETURNING id, username, display_name, avatar, role, created_at";
        let row = with_write_pool!(self, |p| sqlx::query_as::<_, AccountRow>(SQL)
            .bind(display_name)
            .bind(now_ms())
            .fetch_one(p)
            .await)?;
        row.try_into()
    }

    /// Creates a registered account. `username` is stored lower-case; `password_hash` is the
    /// caller's argon2 PHC string. A taken username gives [`StoreError::Conflict`].
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        display_name: &str,
        role: Role,
    ) -> Result<Account, StoreError> {
        const SQL: &str = "INSERT INTO accounts (username, password_hash, display_name, avatar, role, created_at) \
             VALUES ($1, $2, $3, '', $4, $5) \
             RETURNING id, username, display_name, avatar, role, created_at";
        if role == Role::Guest {
            return Err(StoreError::Invalid(
                "a registered account cannot be a guest".into(),
            ));
        }
        let row = with_write_pool!(self, |p| sqlx::query_as::<_, AccountRow>(SQL)
            .bind(username.to_lowercase())
            .bind(password_hash)
            .bind(display_name)
            .bind(role.as_str())
            .bind(now_ms())
            .fetch_one(p)
            .await)
        .map_err(|e| StoreError::on_constraint(e, "username", "account"))?;
        row.try_into()
    }

    /// The account with this id, if any.
    pub async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        const SQL: &str = "SELECT id, username, display_name, avatar, role, created_at \
                           FROM accounts WHERE id = $1";
        let row = with_pool!(self, |p| sqlx::query_as::<_, AccountRow>(SQL)
            .bind(id)
            .fetch_optional(p)
            .await)?;
        row.map(Account::try_from).transpose()
    }

    /// The registered account with this username (any case) and its password hash.
    pub async fn credentials(&self, username: &str) -> Result<Option<Credentials>, StoreError> {
        const SQL: &str = "SELECT id, username, display_name, avatar, role, created_at, password_hash \
                           FROM accounts WHERE username = $1";
        let row = with_pool!(self, |p| sqlx::query_as::<_, CredentialsRow>(SQL)
            .bind(username.to_lowercase())
            .fetch_optional(p)
            .await)?;
        let Some(row) = row else { return Ok(None) };
        let Some(password_hash) = row.password_hash else {
            return Ok(None);
        };
        Ok(Some(Credentials {
            account: row.account.try_into()?,
            password_hash,
        }))
    }

    /// Changes the display name and/or avatar (a `None` keeps the current value).
    pub async fn update_profile(
        &self,
        id: AccountId,
        display_name: Option<&str>,
        avatar: Option<&str>,
    ) -> Result<Account, StoreError> {
        const SQL: &str = "UPDATE accounts SET display_name = COALESCE($2, display_name), \
                           avatar = COALESCE($3, avatar) WHERE id = $1 \
                           RETURNING id, username, display_name, avatar, role, created_at";
        let row = with_write_pool!(self, |p| sqlx::query_as::<_, AccountRow>(SQL)
            .bind(id)
            .bind(display_name)
            .bind(avatar)
            .fetch_optional(p)
            .await)?;
        row.ok_or(StoreError::NotFound("account"))?.try_into()
    }

    /// Changes an account's role (for example to make an operator an admin).
    pub async fn set_role(&self, id: AccountId, role: Role) -> Result<Account, StoreError> {
        const SQL: &str = "UPDATE accounts SET role = $2 WHERE id = $1 \
                           RETURNING id, username, display_name, avatar, role, created_at";
        let row = with_write_pool!(self, |p| sqlx::query_as::<_, AccountRow>(SQL)
            .bind(id)
            .bind(role.as_str())
            .fetch_optional(p)
            .await)?;
        row.ok_or(StoreError::NotFound("account"))?.try_into()
    }
}

// ---- spaces -------------------------------------------------------------------------------

impl Store {
    /// Creates a space with a fresh random id; the owner becomes its first member.
    /// An unknown owner gives [`StoreError::NotFound`].
    pub async fn create_space(&self, new: &NewSpace) -> Result<Space, StoreError> {
        const INSERT: &str = "INSERT INTO spaces (id, name, map, owner_id, created_at, max_players, public) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING id, name, map, owner_id, created_at, max_players, public";
        const MEMBER: &str =
            "INSERT INTO memberships (space_id, account_id, joined_at) VALUES ($1, $2, $3)";
        let max_players = i32::try_from(new.max_players)
            .ok()
            .filter(|m| *m > 0)
            .ok_or_else(|| StoreError::Invalid(format!("max_players {}", new.max_players)))?;
        let id = random_id()?;
        let now = now_ms();
        let row = with_write_pool!(self, |p| async {
            let mut tx = p.begin().await?;
            let row = sqlx::query_as::<_, SpaceRow>(INSERT)
                .bind(&id)
                .bind(&new.name)
                .bind(&new.map)
                .bind(new.owner)
                .bind(now)
                .bind(max_players)
                .bind(new.public)
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(MEMBER)
                .bind(&id)
                .bind(new.owner)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(row)
        }
        .await)
        .map_err(|e| StoreError::on_constraint(e, "space", "account"))?;
        Ok(row.into())
    }

    /// The space with this id, if any.
    pub async fn space(&self, id: &str) -> Result<Option<Space>, StoreError> {
        const SQL: &str = "SELECT id, name, map, owner_id, created_at, max_players, public \
                           FROM spaces WHERE id = $1";
        let row = with_pool!(self, |p| sqlx::query_as::<_, SpaceRow>(SQL)
            .bind(id)
            .fetch_optional(p)
            .await)?;
        Ok(row.map(Space::from))
    }

    /// Spaces `account` owns or is a member of, plus public ones; newest first, at most
    /// `limit`.
    pub async fn spaces_for(
        &self,
        account: AccountId,
        limit: u32,
    ) -> Result<Vec<Space>, StoreError> {
        const SQL: &str = "SELECT s.id, s.name, s.map, s.owner_id, s.created_at, s.max_players, s.public \
             FROM spaces s \
             WHERE s.owner_id = $1 OR s.public = TRUE \
                OR EXISTS (SELECT 1 FROM memberships m WHERE m.space_id = s.id AND m.account_id = $1) \
             ORDER BY s.created_at DESC, s.id \
             LIMIT $2";
        let rows = with_pool!(self, |p| sqlx::query_as::<_, SpaceRow>(SQL)
            .bind(account)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await)?;
        Ok(rows.into_iter().map(Space::from).collect())
    }

    /// Deletes a space with its memberships, chat and snapshots. False if there was none.
    pub async fn delete_space(&self, id: &str) -> Result<bool, StoreError> {
        const SQL: &str = "DELETE FROM spaces WHERE id = $1";
        let done = with_write_pool!(self, |p| sqlx::query(SQL)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }
}

// ---- memberships and positions ------------------------------------------------------------

impl Store {
    /// Makes `account` a member of `space` (idempotent: an existing membership, with its
    /// last position, is kept). Unknown space or account gives [`StoreError::NotFound`].
    pub async fn join_space(
        &self,
        space: &str,
        account: AccountId,
    ) -> Result<Membership, StoreError> {
        const INSERT: &str = "INSERT INTO memberships (space_id, account_id, joined_at) VALUES ($1, $2, $3) \
                              ON CONFLICT (space_id, account_id) DO NOTHING";
        with_write_pool!(self, |p| sqlx::query(INSERT)
            .bind(space)
            .bind(account)
            .bind(now_ms())
            .execute(p)
            .await
            .map(|_| ()))
        .map_err(|e| StoreError::on_constraint(e, "membership", "space or account"))?;
        self.membership(space, account)
            .await?
            .ok_or(StoreError::NotFound("membership"))
    }

    /// The membership of `account` in `space`, if any.
    pub async fn membership(
        &self,
        space: &str,
        account: AccountId,
    ) -> Result<Option<Membership>, StoreError> {
        const SQL: &str = "SELECT space_id, account_id, joined_at, last_x, last_y FROM memberships \
                           WHERE space_id = $1 AND account_id = $2";
        let row = with_pool!(self, |p| sqlx::query_as::<_, MembershipRow>(SQL)
            .bind(space)
            .bind(account)
            .fetch_optional(p)
            .await)?;
        Ok(row.map(Membership::from))
    }

    /// Whether `account` is a member of `space`.
    pub async fn is_member(&self, space: &str, account: AccountId) -> Result<bool, StoreError> {
        Ok(self.membership(space, account).await?.is_some())
    }

    /// All members of `space`, in order of joining.
    pub async fn members(&self, space: &str) -> Result<Vec<Membership>, StoreError> {
        const SQL: &str = "SELECT space_id, account_id, joined_at, last_x, last_y FROM memberships \
                           WHERE space_id = $1 ORDER BY joined_at, account_id";
        let rows = with_pool!(self, |p| sqlx::query_as::<_, MembershipRow>(SQL)
            .bind(space)
            .fetch_all(p)
            .await)?;
        Ok(rows.into_iter().map(Membership::from).collect())
    }

    /// Saves where `account` is in `space` (creating the membership if missing).
    pub async fn save_position(
        &self,
        space: &str,
        account: AccountId,
        pos: Position,
    ) -> Result<(), StoreError> {
        self.save_positions(space, &[(account, pos)]).await
    }

    /// Saves many positions in one transaction (the periodic flush and shutdown use this).
    pub async fn save_positions(
        &self,
        space: &str,
        positions: &[(AccountId, Position)],
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO memberships (space_id, account_id, joined_at, last_x, last_y, position_at) \
             VALUES ($1, $2, $3, $4, $5, $3) \
             ON CONFLICT (space_id, account_id) DO UPDATE \
             SET last_x = excluded.last_x, last_y = excluded.last_y, position_at = excluded.position_at";
        if positions.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        with_write_pool!(self, |p| async {
            let mut tx = p.begin().await?;
            for (account, pos) in positions {
                sqlx::query(SQL)
                    .bind(space)
                    .bind(*account)
                    .bind(now)
                    .bind(pos.x)
                    .bind(pos.y)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await)
        .map_err(|e| StoreError::on_constraint(e, "membership", "space or account"))
    }

    /// Where `account` was last saved in `space`, if ever.
    pub async fn last_position(
        &self,
        space: &str,
        account: AccountId,
    ) -> Result<Option<Position>, StoreError> {
        Ok(self
            .membership(space, account)
            .await?
            .and_then(|m| m.last_position))
    }
}

// ---- chat ---------------------------------------------------------------------------------

impl Store {
    /// Stores a chat line and trims the space's history to the last
    /// [`chat_history_limit`](Store::chat_history_limit) lines.
    pub async fn append_chat(
        &self,
        space: &str,
        msg: &NewChatMessage,
    ) -> Result<ChatMessage, StoreError> {
        const INSERT: &str = "INSERT INTO chat_messages (space_id, account_id, sender_name, scope, body, sent_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING id, space_id, account_id, sender_name, scope, body, sent_at";
        const TRIM: &str = "DELETE FROM chat_messages WHERE space_id = $1 AND id <= \
             (SELECT id FROM chat_messages WHERE space_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)";
        let keep = i64::from(self.chat_history);
        let row = with_write_pool!(self, |p| async {
            let mut tx = p.begin().await?;
            let row = sqlx::query_as::<_, ChatRow>(INSERT)
                .bind(space)
                .bind(msg.account_id)
                .bind(&msg.sender_name)
                .bind(msg.scope.as_str())
                .bind(&msg.body)
                .bind(now_ms())
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(TRIM)
                .bind(space)
                .bind(keep)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(row)
        }
        .await)
        .map_err(|e| StoreError::on_constraint(e, "chat message", "space"))?;
        row.try_into()
    }

    /// The last `limit` chat lines of `space`, oldest first.
    pub async fn chat_history(
        &self,
        space: &str,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        const SQL: &str = "SELECT id, space_id, account_id, sender_name, scope, body, sent_at FROM \
             (SELECT id, space_id, account_id, sender_name, scope, body, sent_at FROM chat_messages \
              WHERE space_id = $1 ORDER BY id DESC LIMIT $2) AS recent \
             ORDER BY id";
        let rows = with_pool!(self, |p| sqlx::query_as::<_, ChatRow>(SQL)
            .bind(space)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(ChatMessage::try_from).collect()
    }
}

// ---- region snapshots ---------------------------------------------------------------------

impl Store {
    /// Stores a region snapshot unless one of a later epoch is already stored.
    /// Returns whether it was written.
    pub async fn put_region_snapshot(
        &self,
        space: &str,
        col: i32,
        row: i32,
        epoch: i64,
        data: &[u8],
    ) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO region_snapshots (space_id, region_col, region_row, epoch, data, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (space_id, region_col, region_row) DO UPDATE \
             SET epoch = excluded.epoch, data = excluded.data, updated_at = excluded.updated_at \
             WHERE region_snapshots.epoch <= excluded.epoch";
        let written = with_write_pool!(self, |p| sqlx::query(SQL)
            .bind(space)
            .bind(col)
            .bind(row)
            .bind(epoch)
            .bind(data)
            .bind(now_ms())
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| StoreError::on_constraint(e, "region snapshot", "space"))?;
        Ok(written > 0)
    }

    /// The snapshot of one region, if any.
    pub async fn region_snapshot(
        &self,
        space: &str,
        col: i32,
        row: i32,
    ) -> Result<Option<RegionSnapshot>, StoreError> {
        const SQL: &str = "SELECT space_id, region_col, region_row, epoch, data, updated_at \
             FROM region_snapshots WHERE space_id = $1 AND region_col = $2 AND region_row = $3";
        let r = with_pool!(self, |p| sqlx::query_as::<_, SnapshotRow>(SQL)
            .bind(space)
            .bind(col)
            .bind(row)
            .fetch_optional(p)
            .await)?;
        Ok(r.map(RegionSnapshot::from))
    }

    /// All region snapshots of `space`, by row then column.
    pub async fn region_snapshots(&self, space: &str) -> Result<Vec<RegionSnapshot>, StoreError> {
        const SQL: &str = "SELECT space_id, region_col, region_row, epoch, data, updated_at \
             FROM region_snapshots WHERE space_id = $1 ORDER BY region_row, region_col";
        let rows = with_pool!(self, |p| sqlx::query_as::<_, SnapshotRow>(SQL)
            .bind(space)
            .fetch_all(p)
            .await)?;
        Ok(rows.into_iter().map(RegionSnapshot::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_url_safe_and_distinct() {
        let a = random_id().unwrap();
        let b = random_id().unwrap();
        assert_eq!(a.len(), 12);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        assert_ne!(a, b);
    }

    #[test]
    fn redact_hides_password() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://…@h/db");
        assert_eq!(redact("mysql:x"), "mysql:x");
    }
}
