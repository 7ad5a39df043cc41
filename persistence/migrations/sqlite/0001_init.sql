-- Plaza schema, SQLite flavour. Keep in step with ../postgres/0001_init.sql.
-- Times are Unix milliseconds (BIGINT) so both backends store them the same way.

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT UNIQUE,              -- NULL for guests; stored lower-case
    password_hash TEXT,                     -- argon2 PHC string; NULL for guests
    display_name  TEXT    NOT NULL,
    avatar        TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('guest', 'user', 'admin')),
    created_at    BIGINT  NOT NULL
);

CREATE TABLE spaces (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    map         TEXT    NOT NULL,
    owner_id    BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    max_players INTEGER NOT NULL CHECK (max_players > 0),
    public      BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX spaces_owner ON spaces (owner_id);

-- Membership of a player in a space, with the last position the player had there.
CREATE TABLE memberships (
    space_id    TEXT    NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    account_id  BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    joined_at   BIGINT  NOT NULL,
    last_x      INTEGER,
    last_y      INTEGER,
    position_at BIGINT,
    PRIMARY KEY (space_id, account_id)
);
CREATE INDEX memberships_account ON memberships (account_id);

-- Bounded chat history: the store trims each space to its last N lines on append.
CREATE TABLE chat_messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    space_id    TEXT    NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    account_id  BIGINT  NOT NULL,
    sender_name TEXT    NOT NULL,
    scope       TEXT    NOT NULL CHECK (scope IN ('space', 'nearby')),
    body        TEXT    NOT NULL,
    sent_at     BIGINT  NOT NULL
);
CREATE INDEX chat_messages_space ON chat_messages (space_id, id);

-- Last persisted state of one region of a space (for region takeover in a cluster).
CREATE TABLE region_snapshots (
    space_id   TEXT    NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    region_col INTEGER NOT NULL,
    region_row INTEGER NOT NULL,
    epoch      BIGINT  NOT NULL,
    data       BLOB    NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (space_id, region_col, region_row)
);
