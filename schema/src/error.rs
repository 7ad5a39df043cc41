//! Decode errors and the verifier limits per root type.

use thiserror::Error;

/// Why an inbound buffer was refused. Decoding never panics; every bad input ends here.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ProtocolError {
    /// The buffer is larger than the limit for its root type.
    #[error("message of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The buffer's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The FlatBuffers verifier rejected the buffer (bad offsets, depth, table count, …).
    #[error("invalid flatbuffer: {0}")]
    Invalid(#[from] flatbuffers::InvalidFlatbuffer),
    /// The root table's protocol version is not ours.
    #[error("protocol version {got}, expected {expected}")]
    WrongVersion {
        /// The version in the message (0: absent).
        got: u16,
        /// Our [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).
        expected: u16,
    },
    /// The union holds a message type this build does not know.
    #[error("unknown message type {0}")]
    UnknownMessage(u8),
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field holds a value outside its allowed range.
    #[error("field `{field}` has out-of-range value {value}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The offending value.
        value: i64,
    },
    /// A text field is longer than its limit (in UTF-8 bytes).
    #[error("field `{field}` is {len} bytes long, the limit is {max}")]
    TextTooLong {
        /// The field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// Two parallel vectors (e.g. snapshot enters and names) differ in length.
    #[error("`{0}` and `{1}` differ in length")]
    LengthMismatch(&'static str, &'static str),
    /// A snapshot step refers to a slot the receiver's mirror does not hold.
    #[error("snapshot step refers to empty slot {0}")]
    UnknownSlot(u16),
    /// A snapshot's baseline tick is not among the receiver's mirrors.
    #[error("no mirror for baseline tick {0}")]
    MissingBaseline(u64),
    /// A decoded snapshot does not apply to the mirror.
    #[error("snapshot does not apply: {0}")]
    Mirror(#[from] sim::interest::MirrorError),
}

/// Explicit limits for the FlatBuffers verifier (see [`flatbuffers::VerifierOptions`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted buffer in bytes; larger ones are refused before verification.
    pub max_size: usize,
    /// Deepest nesting of tables/vectors.
    pub max_depth: usize,
    /// Most tables in one buffer.
    pub max_tables: usize,
    /// Largest total size of all verified regions (guards against overlapping-offset bombs).
    pub max_apparent_size: usize,
}

impl Limits {
    /// Client → server messages: small (a signalling payload is the largest).
    pub const CLIENT: Limits = Limits {
        max_size: 32 * 1024,
        max_depth: 8,
        max_tables: 8,
        max_apparent_size: 64 * 1024,
    };
    /// Server → client messages: snapshots with many enters are the largest.
    pub const SERVER: Limits = Limits {
        max_size: 1024 * 1024,
        max_depth: 8,
        max_tables: 8,
        max_apparent_size: 2 * 1024 * 1024,
    };
    /// Node ↔ node messages: ghost batches are the largest.
    pub const CLUSTER: Limits = Limits {
        max_size: 4 * 1024 * 1024,
        max_depth: 8,
        max_tables: 8,
        max_apparent_size: 8 * 1024 * 1024,
    };

    pub(crate) fn verifier_options(&self) -> flatbuffers::VerifierOptions {
        flatbuffers::VerifierOptions {
            max_depth: self.max_depth,
            max_tables: self.max_tables,
            max_apparent_size: self.max_apparent_size,
            ignore_missing_null_terminator: false,
        }
    }
}

/// Longest session token or migration ticket, in bytes.
pub const MAX_TOKEN_BYTES: usize = 2048;
/// Longest chat line, in bytes.
pub const MAX_CHAT_BYTES: usize = 1000;
/// Longest WebRTC signalling payload, in bytes.
pub const MAX_SIGNAL_BYTES: usize = 16 * 1024;
/// Longest display name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Longest other text field (space, map, node, url, error message), in bytes.
pub const MAX_TEXT_BYTES: usize = 1024;
