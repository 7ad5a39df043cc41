//! The per-tick state hash: a 64-bit digest of all entity state.
//!
//! Each entity contributes `xxh3(state)`; the world hash is the wrapping sum of those, so it
//! does not depend on iteration order and can be updated incrementally (subtract the old
//! contribution, add the new) for just the entities that changed in a tick.

use glam::IVec2;
use xxhash_rust::xxh3::xxh3_64;

use crate::{EntityId, Motion, PlayerInfo};

/// Digest of the parts of an entity that rarely change (who it is).
pub(crate) fn player_digest(player: &PlayerInfo, ghost: bool) -> u64 {
    let mut bytes = Vec::with_capacity(16 + player.name.len());
    bytes.extend_from_slice(&player.account.to_le_bytes());
    bytes.extend_from_slice(&player.avatar.to_le_bytes());
    bytes.push(u8::from(ghost));
    bytes.extend_from_slice(player.name.as_bytes());
    xxh3_64(&bytes)
}

/// Contribution of one entity's full state to the world hash.
pub(crate) fn entity_hash(
    id: EntityId,
    pos: IVec2,
    motion: &Motion,
    last_seq: u32,
    player: u64,
) -> u64 {
    let code = |d: Option<crate::Direction>| d.map_or(0xFF, |d| d.code());
    let target = motion.target.unwrap_or(IVec2::MIN);
    let mut b = [0u8; 48];
    b[0..8].copy_from_slice(&id.get().to_le_bytes());
    b[8..12].copy_from_slice(&pos.x.to_le_bytes());
    b[12..16].copy_from_slice(&pos.y.to_le_bytes());
    b[16..20].copy_from_slice(&target.x.to_le_bytes());
    b[20..24].copy_from_slice(&target.y.to_le_bytes());
    b[24..26].copy_from_slice(&motion.progress.to_le_bytes());
    b[26] = code(motion.facing);
    b[27] = code(motion.held);
    b[28] = u8::from(motion.target.is_some());
    b[32..36].copy_from_slice(&last_seq.to_le_bytes());
    b[40..48].copy_from_slice(&player.to_le_bytes());
    xxh3_64(&b)
}

/// The hash reported for a tick.
pub(crate) fn tick_hash(tick: u64, entities: usize, sum: u64, next_id: u64) -> u64 {
    let mut b = [0u8; 32];
    b[0..8].copy_from_slice(&tick.to_le_bytes());
    b[8..16].copy_from_slice(&(entities as u64).to_le_bytes());
    b[16..24].copy_from_slice(&sum.to_le_bytes());
    b[24..32].copy_from_slice(&next_id.to_le_bytes());
    xxh3_64(&b)
}
