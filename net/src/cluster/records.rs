//! [`RegionSnapshot`]: the avatars of one region as persisted (every few seconds, on
//! handoff and on a region move) and restored by the region's next owner.

use glam::IVec2;
use serde::{Deserialize, Serialize};
use sim::{EntityId, EntityState, PlayerInfo};

/// One avatar of a region snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvatarRecord {
    /// Entity id (kept across nodes).
    pub id: u64,
    /// Account id.
    pub account: u64,
    /// Display name.
    pub name: String,
    /// Avatar sprite.
    pub avatar: u16,
    /// Tile.
    pub x: i32,
    /// Tile.
    pub y: i32,
    /// Last applied input sequence number.
    pub last_seq: u32,
}

impl AvatarRecord {
    /// The record of a local entity.
    pub fn of(state: &EntityState) -> AvatarRecord {
        AvatarRecord {
            id: state.id.get(),
            account: state.player.account,
            name: state.player.name.clone(),
            avatar: state.player.avatar,
            x: state.position.x,
            y: state.position.y,
            last_seq: state.last_seq,
        }
    }

    /// The entity id (`None` for a corrupt zero id).
    pub fn entity(&self) -> Option<EntityId> {
        EntityId::new(self.id)
    }

    /// Who the avatar is.
    pub fn player(&self) -> PlayerInfo {
        PlayerInfo {
            account: self.account,
            name: self.name.clone(),
            avatar: self.avatar,
        }
    }

    /// Its tile.
    pub fn tile(&self) -> IVec2 {
        IVec2::new(self.x, self.y)
    }
}

/// The avatars of one region at a tick.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionSnapshot {
    /// The owner's tick when it was taken.
    pub tick: u64,
    /// The avatars, by id.
    pub avatars: Vec<AvatarRecord>,
}

impl RegionSnapshot {
    /// The stored form (JSON: small, and readable when debugging a takeover).
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses a stored snapshot.
    pub fn decode(bytes: &[u8]) -> Result<RegionSnapshot, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_round_trip_and_reject_garbage() {
        let snap = RegionSnapshot {
            tick: 9,
            avatars: vec![AvatarRecord {
                id: 5,
                account: 3,
                name: "ann".into(),
                avatar: 2,
                x: 64,
                y: 1,
                last_seq: 17,
            }],
        };
        assert_eq!(RegionSnapshot::decode(&snap.encode()).unwrap(), snap);
        assert!(RegionSnapshot::decode(b"\x00garbage").is_err());
    }
}
