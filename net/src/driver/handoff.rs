//! Handing avatars across region borders to other nodes: offer → accept (the target
//! validates and reserves the tile) → commit; the client gets `Migrate{url, ticket}`.
//!
//! Source side: a move the sim refused as [`RejectReason::Foreign`] becomes an offer on the
//! target region's channel; the avatar stays (frozen: its inputs are dropped, the client
//! re-sends them to the new node) until the answer. Accept → the avatar is turned into a
//! ghost in place (observers see one entity throughout), the client gets `Migrate`, and a
//! commit goes to the target. Reject or no answer within [`OFFER_TIMEOUT_TICKS`] → the
//! avatar stays, unfrozen, and the client gets a `HANDOFF_REFUSED` error.
//!
//! Target side: the avatar is adopted on the crossing tile (replacing its ghost) as a
//! lingering client whose player comes back with the ticket. An offer accepted after the
//! source gave up is withdrawn by the source (a reject sent back), and the target removes it.

use std::collections::BTreeMap;

use glam::IVec2;
use schema::{
    ClusterMessage, HandoffOffer, RejectReason as Refusal, ServerMessage, encode_cluster,
    encode_server,
};
use sim::{Direction, EntityId, Event, RegionId, RejectReason, Tick};

use super::commands::Outbound;
use super::space::{Client, SpaceLoop};
use crate::cluster::{NodeOp, RegionKey};
use crate::ws::HANDOFF_REFUSED;

/// Ticks the source waits for an answer before the avatar stays where it is.
pub(super) const OFFER_TIMEOUT_TICKS: u64 = 20;
/// How long the target keeps an accepted avatar that its player has not claimed: as long
/// as the player's ticket is valid, and a little more.
pub(super) const ACCEPT_TIMEOUT: std::time::Duration =
    crate::cluster::TICKET_TTL.saturating_add(std::time::Duration::from_secs(5));

/// An avatar offered to another node.
#[derive(Debug)]
pub(super) struct Outgoing {
    account: i64,
    entity: EntityId,
    to: RegionId,
    deadline: Tick,
}

/// An avatar accepted from another node, not yet committed.
#[derive(Debug)]
pub(super) struct Incoming {
    account: i64,
    entity: EntityId,
    from: RegionId,
    deadline: Tick,
}

/// Handoffs in flight, by handoff id.
#[derive(Debug, Default)]
pub(super) struct Handoffs {
    outgoing: BTreeMap<u64, Outgoing>,
    incoming: BTreeMap<u64, Incoming>,
    /// Offers this node gave up on (timed out): an accept arriving late is withdrawn.
    abandoned: BTreeMap<u64, (RegionId, Tick)>,
}

/// The moves of a step refused because the target tile is in a foreign region.
pub(super) fn foreign_moves(events: &[Event]) -> Vec<(EntityId, Direction)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::MoveRejected {
                id,
                direction,
                reason: RejectReason::Foreign,
            } => Some((*id, *direction)),
            _ => None,
        })
        .collect()
}

impl SpaceLoop {
    fn publish_to(&self, region: RegionId, message: &ClusterMessage) -> bool {
        let channel = self
            .node
            .keys
            .region_channel(&RegionKey::new(self.space.id.clone(), region));
        self.node
            .bus
            .publish(&channel, encode_cluster(message))
            .is_ok()
    }

    /// Offers every avatar whose move crosses into a foreign region to that region's owner.
    pub(super) fn start_handoffs(&mut self, crossings: Vec<(EntityId, Direction)>) {
        for (entity, direction) in crossings {
            let Some(&account) = self.by_entity.get(&entity) else {
                continue;
            };
            if self
                .clients
                .get(&account)
                .is_none_or(|c| c.handoff.is_some())
            {
                continue;
            }
            let Some(state) = self.sim.state(entity) else {
                continue;
            };
            let target = state.position + direction.offset();
            let from = self.sim.regions().region_of(state.position);
            let to = self.sim.regions().region_of(target);
            let handoff = self.node.next_handoff_id();
            let mut motion = state.motion;
            motion.target = Some(target);
            motion.facing = Some(direction);
            let offer = ClusterMessage::HandoffOffer(Box::new(HandoffOffer {
                handoff,
                from,
                to,
                tick: self.sim.tick(),
                id: entity,
                player: state.player.clone(),
                position: state.position,
                motion,
                pending: Vec::new(),
                last_acked_seq: state.last_seq,
            }));
            if !self.node.bus.is_connected() || !self.publish_to(to, &offer) {
                self.refuse_crossing(account, "the cluster bus is unavailable");
                continue;
            }
            if let Some(c) = self.clients.get_mut(&account) {
                c.handoff = Some(handoff);
            }
            self.handoffs.outgoing.insert(
                handoff,
                Outgoing {
                    account,
                    entity,
                    to,
                    deadline: self.sim.tick() + OFFER_TIMEOUT_TICKS,
                },
            );
            tracing::debug!(space = %self.space.id, %entity, handoff, ?to, "handoff offered");
        }
    }

    fn refuse_crossing(&mut self, account: i64, why: &str) {
        let frame = encode_server(&ServerMessage::Error {
            code: HANDOFF_REFUSED,
            message: format!("you cannot cross into that region right now: {why}"),
        });
        self.send(account, frame);
    }

    /// A message from one of this space's region channels.
    pub(super) fn on_bus(&mut self, region: RegionId, bytes: &[u8]) {
        let message = match schema::decode_cluster(bytes) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(space = %self.space.id, error = %e, "undecodable cluster message dropped");
                return;
            }
        };
        match message {
            ClusterMessage::GhostUpdate(update) => self.apply_ghosts(region, update),
            ClusterMessage::HandoffOffer(offer) => self.on_offer(*offer),
            ClusterMessage::HandoffAccept { handoff, ticket } => self.on_accept(handoff, ticket),
            ClusterMessage::HandoffReject { handoff, reason } => self.on_reject(handoff, reason),
            ClusterMessage::HandoffCommit { handoff, .. } => {
                if self.handoffs.incoming.remove(&handoff).is_some() {
                    tracing::debug!(space = %self.space.id, handoff, "handoff committed");
                }
            }
            ClusterMessage::Heartbeat(_) | ClusterMessage::LeaseChange(_) => {}
        }
    }

    /// Target side: validate, adopt, answer.
    fn on_offer(&mut self, offer: HandoffOffer) {
        let answer = match self.adopt_offer(&offer) {
            Ok(account) => {
                let ticket = self.node.tickets.issue(
                    account,
                    &self.space.id,
                    &format!("handoff-{}", offer.handoff),
                );
                match ticket {
                    Ok(ticket) => {
                        self.handoffs.incoming.insert(
                            offer.handoff,
                            Incoming {
                                account,
                                entity: offer.id,
                                from: offer.from,
                                deadline: self.sim.tick() + self.config.ticks(ACCEPT_TIMEOUT),
                            },
                        );
                        self.node.request(NodeOp::SetPlayer {
                            space: self.space.id.clone(),
                            account,
                        });
                        ClusterMessage::HandoffAccept {
                            handoff: offer.handoff,
                            ticket,
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot sign a migrate ticket");
                        self.remove_client(account);
                        ClusterMessage::HandoffReject {
                            handoff: offer.handoff,
                            reason: Refusal::Invalid,
                        }
                    }
                }
            }
            Err(reason) => ClusterMessage::HandoffReject {
                handoff: offer.handoff,
                reason,
            },
        };
        if !self.publish_to(offer.from, &answer)
            && let ClusterMessage::HandoffAccept { .. } = answer
            && let Some(incoming) = self.handoffs.incoming.remove(&offer.handoff)
        {
            // The source will time out and keep the avatar.
            self.remove_client(incoming.account);
        }
    }

    /// Adopts an offered avatar on its crossing tile; the account on success.
    fn adopt_offer(&mut self, offer: &HandoffOffer) -> Result<i64, Refusal> {
        let tile: IVec2 = offer.motion.target.ok_or(Refusal::Invalid)?;
        if !self.owned.contains_key(&offer.to)
            || self.sim.regions().region_of(tile) != offer.to
            || !self.node.bus.is_connected()
        {
            return Err(Refusal::NotOwner);
        }
        let account = i64::try_from(offer.player.account).map_err(|_| Refusal::Invalid)?;
        if self.clients.contains_key(&account) {
            return Err(Refusal::Invalid);
        }
        if self.clients.len() >= self.space.max_players as usize {
            return Err(Refusal::Overloaded);
        }
        self.sim
            .adopt(offer.id, offer.player.clone(), tile, offer.last_acked_seq)
            .map_err(|e| match e {
                sim::SimError::TileUnavailable { .. } => Refusal::Occupied,
                _ => Refusal::Invalid,
            })?;
        for (seq, input) in &offer.pending {
            let _ = self.sim.queue_input(offer.id, *seq, *input);
        }
        self.by_entity.insert(offer.id, account);
        self.clients.insert(
            account,
            Client {
                entity: offer.id,
                name: offer.player.name.clone(),
                conn: super::commands::ConnId(0),
                link: None,
                expires_at: Some(self.sim.tick() + self.config.ticks(ACCEPT_TIMEOUT)),
                last_saved: None,
                handoff: None,
                moving: None,
            },
        );
        Ok(account)
    }

    /// Source side: the target took the avatar.
    fn on_accept(&mut self, handoff: u64, ticket: String) {
        let Some(out) = self.handoffs.outgoing.remove(&handoff) else {
            if let Some((to, _)) = self.handoffs.abandoned.remove(&handoff) {
                // Too late: the avatar stayed here. Withdraw the offer.
                let withdraw = ClusterMessage::HandoffReject {
                    handoff,
                    reason: Refusal::Invalid,
                };
                self.publish_to(to, &withdraw);
            }
            return;
        };
        let Some(mut client) = self.clients.remove(&out.account) else {
            return;
        };
        self.by_entity.remove(&out.entity);
        let from = self
            .sim
            .position(out.entity)
            .map(|p| self.sim.regions().region_of(p));
        let _ = self.sim.demote_to_ghost(out.entity, out.to);
        let url = self
            .node
            .owner(&RegionKey::new(self.space.id.clone(), out.to))
            .map(|o| o.url)
            .unwrap_or_default();
        if let Some(link) = client.link.take() {
            let _ = self.interest.remove_observer(link.observer);
            link.end_with(Outbound::Migrate { url, ticket });
        }
        self.publish_to(
            out.to,
            &ClusterMessage::HandoffCommit {
                handoff,
                tick: self.sim.tick(),
            },
        );
        self.meters_handoff(from);
        self.snapshot_regions(from);
        tracing::debug!(space = %self.space.id, entity = %out.entity, handoff, "handoff committed at the source");
    }

    /// A refusal of our offer, or (target side) the withdrawal of one we accepted.
    fn on_reject(&mut self, handoff: u64, reason: Refusal) {
        if let Some(out) = self.handoffs.outgoing.remove(&handoff) {
            if let Some(c) = self.clients.get_mut(&out.account) {
                c.handoff = None;
            }
            let why = match reason {
                Refusal::Occupied => "the tile is taken",
                Refusal::NotOwner => "that region is changing hands",
                Refusal::Overloaded => "that region is full",
                Refusal::Invalid => "the move was invalid",
            };
            self.refuse_crossing(out.account, why);
        } else if let Some(incoming) = self.handoffs.incoming.remove(&handoff) {
            let unclaimed = self
                .clients
                .get(&incoming.account)
                .is_some_and(|c| c.link.is_none() && c.entity == incoming.entity);
            if unclaimed {
                self.remove_client(incoming.account);
            }
            tracing::debug!(space = %self.space.id, handoff, from = ?incoming.from, "handoff withdrawn by the source");
        }
    }

    /// Offers nobody answered: the avatar stays. Accepted avatars whose commit never came
    /// are kept while their player may still come (their linger deadline removes them).
    pub(super) fn expire_handoffs(&mut self) {
        let tick = self.sim.tick();
        let late: Vec<u64> = self
            .handoffs
            .outgoing
            .iter()
            .filter(|(_, o)| tick >= o.deadline)
            .map(|(h, _)| *h)
            .collect();
        for handoff in late {
            let Some(out) = self.handoffs.outgoing.remove(&handoff) else {
                continue;
            };
            self.handoffs.abandoned.insert(handoff, (out.to, tick));
            if let Some(c) = self.clients.get_mut(&out.account) {
                c.handoff = None;
            }
            self.refuse_crossing(out.account, "the other node did not answer");
        }
        self.handoffs
            .abandoned
            .retain(|_, (_, at)| tick < *at + self.config.ticks(ACCEPT_TIMEOUT));
        self.handoffs.incoming.retain(|_, i| tick < i.deadline);
    }
}
