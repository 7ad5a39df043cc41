//! Error codes the gateway sends besides those defined in `schema` (1–7).

use schema::ErrorCode;

/// The space does not exist.
pub const UNKNOWN_SPACE: ErrorCode = ErrorCode(8);
/// The space is private and the player is not a member.
pub const NOT_A_MEMBER: ErrorCode = ErrorCode(9);
/// A newer connection of the same player took over.
pub const REPLACED: ErrorCode = ErrorCode(10);
/// The client did not read its frames fast enough and was dropped.
pub const TOO_SLOW: ErrorCode = ErrorCode(11);
/// The server is shutting down.
pub const SHUTTING_DOWN: ErrorCode = ErrorCode(12);
/// No `Hello` (or nothing at all) within the allowed time.
pub const TIMEOUT: ErrorCode = ErrorCode(13);
/// The player's region is not served by any node right now (a takeover is under way).
pub const UNAVAILABLE: ErrorCode = ErrorCode(14);
/// A move across a region border was refused (the other node refused it, did not answer,
/// or the cluster bus is down); the avatar stays where it was.
pub const HANDOFF_REFUSED: ErrorCode = ErrorCode(15);
/// This node lost the lease of the player's region (another node serves it now); reconnect
/// through `GET /api/spaces/{id}/route`.
pub const REGION_MOVED: ErrorCode = ErrorCode(16);
