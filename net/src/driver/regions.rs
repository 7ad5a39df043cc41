//! Region ownership on a space thread: gaining a region (subscribe its channel, restore its
//! snapshot's avatars), losing it, live moves, periodic snapshots, and per-region load.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sim::RegionId;

use super::commands::{Command, Outbound, RegionCommand};
use super::persist::PersistOp;
use super::space::{Client, SpaceLoop};
use crate::cluster::{AvatarRecord, NodeOp, RegionKey, RegionSnapshot, Sink};
use crate::load::RegionMeter;
use crate::ws::REGION_MOVED;

/// How long a restored avatar (node death, region move) waits for its player.
const RESTORED_LINGER: Duration = Duration::from_secs(30);
/// Length of a load window.
const LOAD_WINDOW: Duration = Duration::from_secs(1);

impl SpaceLoop {
    fn region_key(&self, region: RegionId) -> RegionKey {
        RegionKey::new(self.space.id.clone(), region)
    }

    /// Starts simulating `region` under `epoch`: its channel delivers to this thread.
    pub(super) fn own(&mut self, region: RegionId, epoch: u64) {
        self.sim.set_region_local(region, true);
        self.owned.insert(region, epoch);
        self.meters
            .entry(region)
            .or_insert_with(|| RegionMeter::new(self.config.tick_hz, LOAD_WINDOW));
        self.forget_ghosts_from(region);
        if let Some(tx) = &self.self_tx {
            let tx = tx.clone();
            let sink: Sink = Arc::new(move |_channel: &str, bytes: Vec<u8>| {
                let _ = tx.try_send(Command::Bus { region, bytes });
            });
            let channel = self.node.keys.region_channel(&self.region_key(region));
            self.node.bus.subscribe(&channel, sink);
        }
    }

    fn disown(&mut self, region: RegionId) {
        self.sim.set_region_local(region, false);
        self.owned.remove(&region);
        self.meters.remove(&region);
        let key = self.region_key(region);
        self.load.remove(&key.to_string());
        self.node
            .bus
            .unsubscribe(&self.node.keys.region_channel(&key));
    }

    /// Stops every subscription (the thread is stopping).
    pub(super) fn unsubscribe_all(&mut self) {
        let regions: Vec<RegionId> = self.owned.keys().copied().collect();
        for region in regions {
            let key = self.region_key(region);
            self.load.remove(&key.to_string());
            self.node
                .bus
                .unsubscribe(&self.node.keys.region_channel(&key));
        }
    }

    /// Accounts whose avatar stands in `region`.
    fn accounts_in(&self, region: RegionId) -> Vec<i64> {
        self.clients
            .iter()
            .filter(|(_, c)| {
                self.sim
                    .position(c.entity)
                    .is_some_and(|p| self.sim.regions().region_of(p) == region)
            })
            .map(|(a, _)| *a)
            .collect()
    }

    pub(super) fn on_region(&mut self, command: RegionCommand) {
        match command {
            RegionCommand::Gained {
                region,
                epoch,
                restore,
            } => {
                self.own(region, epoch);
                self.restore(region, restore);
                tracing::info!(space = %self.space.id, ?region, epoch, "region served here");
            }
            RegionCommand::Lost { region } => {
                for account in self.accounts_in(region) {
                    if let Some(link) = self.clients.get_mut(&account).and_then(|c| c.link.take()) {
                        let _ = self.interest.remove_observer(link.observer);
                        link.end_with(Outbound::Close {
                            code: REGION_MOVED,
                            message: "your region is now served by another node; reconnect through /route".into(),
                        });
                    }
                    self.remove_client(account);
                }
                self.disown(region);
                tracing::warn!(space = %self.space.id, ?region, "region lease lost");
            }
            RegionCommand::Release { region, reply } => {
                let snapshot = self.release(region);
                let _ = reply.send(snapshot);
            }
            RegionCommand::Moved { region, url } => self.finish_move(region, url),
        }
    }

    /// Live move, step 1: the region's avatars leave the sim (their players stay connected,
    /// frozen) and are returned for the new owner.
    fn release(&mut self, region: RegionId) -> RegionSnapshot {
        let mut avatars = Vec::new();
        for account in self.accounts_in(region) {
            let Some(client) = self.clients.get_mut(&account) else {
                continue;
            };
            client.moving = Some(region);
            let entity = client.entity;
            if let Some(state) = self.sim.state(entity) {
                avatars.push(AvatarRecord::of(&state));
            }
            let _ = self.sim.despawn(entity);
        }
        self.disown(region);
        avatars.sort_by_key(|a| a.id);
        RegionSnapshot {
            tick: self.sim.tick(),
            avatars,
        }
    }

    /// Live move, step 2: send the region's players to its new owner (`url`), or, when the
    /// move failed, wait for the region to come back (a `Gained` restores the avatars).
    fn finish_move(&mut self, region: RegionId, url: Option<String>) {
        let moving: Vec<i64> = self
            .clients
            .iter()
            .filter(|(_, c)| c.moving == Some(region))
            .map(|(a, _)| *a)
            .collect();
        for account in moving {
            let Some(url) = &url else {
                if let Some(c) = self.clients.get_mut(&account) {
                    c.moving = None;
                }
                continue;
            };
            let ticket = self.node.tickets.issue(
                account,
                &self.space.id,
                &format!("move-{}-{account}", self.node.next_handoff_id()),
            );
            let Some(client) = self.clients.remove(&account) else {
                continue;
            };
            self.by_entity.remove(&client.entity);
            if let (Some(link), Ok(ticket)) = (client.link, ticket) {
                let _ = self.interest.remove_observer(link.observer);
                link.end_with(Outbound::Migrate {
                    url: url.clone(),
                    ticket,
                });
            }
        }
    }

    /// Brings back a region's avatars from its snapshot, as lingering players.
    fn restore(&mut self, region: RegionId, avatars: Vec<AvatarRecord>) {
        let expires = self.sim.tick() + self.config.ticks(RESTORED_LINGER);
        for record in avatars {
            let (Some(entity), Ok(account)) = (record.entity(), i64::try_from(record.account))
            else {
                continue;
            };
            if self.sim.regions().region_of(record.tile()) != region {
                continue;
            }
            // A player still frozen here (a failed move) gets the same avatar back.
            let returning = self
                .clients
                .get(&account)
                .is_some_and(|c| c.moving == Some(region) && c.entity == entity);
            if self.clients.contains_key(&account) && !returning {
                continue; // already here
            }
            if let Err(e) = self
                .sim
                .adopt(entity, record.player(), record.tile(), record.last_seq)
            {
                tracing::warn!(space = %self.space.id, %entity, error = %e, "avatar not restored");
                continue;
            }
            self.by_entity.insert(entity, account);
            self.node.request(NodeOp::SetPlayer {
                space: self.space.id.clone(),
                account,
            });
            match self.clients.get_mut(&account) {
                Some(c) => c.moving = None,
                None => {
                    self.clients.insert(
                        account,
                        Client {
                            entity,
                            name: record.name.clone(),
                            conn: super::commands::ConnId(0),
                            link: None,
                            expires_at: Some(expires),
                            last_saved: Some(record.tile()),
                            handoff: None,
                            moving: None,
                        },
                    );
                }
            }
        }
        self.snapshot_regions(Some(region));
    }

    /// Writes the snapshot of `only` (or of every owned region), fenced by its epoch.
    pub(super) fn snapshot_regions(&mut self, only: Option<RegionId>) {
        if !self.node.is_clustered() {
            return;
        }
        let mut per_region: BTreeMap<RegionId, Vec<AvatarRecord>> = self
            .owned
            .keys()
            .filter(|r| only.is_none_or(|o| o == **r))
            .map(|r| (*r, Vec::new()))
            .collect();
        for state in self.sim.entities() {
            if state.ghost.is_some() {
                continue;
            }
            let region = self.sim.regions().region_of(state.position);
            if let Some(list) = per_region.get_mut(&region) {
                list.push(AvatarRecord::of(&state));
            }
        }
        let tick = self.sim.tick();
        for (region, avatars) in per_region {
            let epoch = self.owned.get(&region).copied().unwrap_or(0);
            let _ = self.persist.send(PersistOp::RegionSnapshot {
                space: self.space.id.clone(),
                region,
                epoch,
                data: RegionSnapshot { tick, avatars }.encode(),
            });
        }
    }

    /// Counts a handoff out of `region`.
    pub(super) fn meters_handoff(&mut self, region: Option<RegionId>) {
        if let Some(meter) = region.and_then(|r| self.meters.get_mut(&r)) {
            meter.add_handoff();
        }
    }

    /// Records one tick's cost per owned region (see [`TickCost`]: the sim step split by
    /// entities, the interest update by the visible entries of the region's clients, the
    /// client loop by the wall-clock time each region's clients took in it), and each
    /// region's bytes. Once a window is complete, counts the population and publishes the
    /// loads.
    pub(super) fn meter_tick(
        &mut self,
        cost: TickCost,
        per_region: &BTreeMap<RegionId, (Duration, u64)>,
    ) {
        let regions: Vec<RegionId> = self.meters.keys().copied().collect();
        let pop = |r: &RegionId| self.population.get(r).copied().unwrap_or_default();
        let entities: Vec<u64> = regions.iter().map(|r| pop(r).0).collect();
        // An observer's interest work grows with what it sees; a region whose clients see
        // nothing still pays for them.
        let views: Vec<u64> = regions.iter().map(|r| pop(r).1 + pop(r).2).collect();
        let walls: Vec<u64> = regions
            .iter()
            .map(|r| per_region.get(r).map_or(0, |p| p.0.as_nanos() as u64))
            .collect();
        let step = split(cost.step, &entities);
        let interest = if views.iter().any(|&v| v > 0) {
            split(cost.interest, &views)
        } else {
            split(cost.interest, &entities)
        };
        let clients = split(cost.clients, &walls);
        let mut due = false;
        for (k, region) in regions.iter().enumerate() {
            let bytes = per_region.get(region).map_or(0, |p| p.1);
            let Some(meter) = self.meters.get_mut(region) else {
                continue;
            };
            meter.record_tick(step[k] + interest[k] + clients[k]);
            meter.add_bytes(bytes);
            due |= meter.is_due();
        }
        if due {
            self.census();
            for (region, meter) in &mut self.meters {
                let (entities, clients, visible) =
                    self.population.get(region).copied().unwrap_or_default();
                meter.set_population(entities, clients, visible);
                let epoch = self.owned.get(region).copied().unwrap_or(0);
                let load = meter.report(
                    &self.space.id,
                    region.col,
                    region.row,
                    &self.node.node_id,
                    epoch,
                );
                self.load.publish(load);
            }
        }
    }

    /// Counts local entities, connected clients and their visible entities per region.
    fn census(&mut self) {
        self.population.clear();
        for state in self.sim.entities() {
            if state.ghost.is_none() {
                let region = self.sim.regions().region_of(state.position);
                self.population.entry(region).or_default().0 += 1;
            }
        }
        for client in self.clients.values() {
            let (Some(link), Some(p)) = (&client.link, self.sim.position(client.entity)) else {
                continue;
            };
            let region = self.sim.regions().region_of(p);
            let visible = self
                .interest
                .visible(link.observer)
                .map_or(0, Iterator::count) as u64;
            let entry = self.population.entry(region).or_default();
            entry.1 += 1;
            entry.2 += visible;
        }
    }
}

/// One tick's CPU time on the space thread, by part.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct TickCost {
    /// The sim step and the handoffs it started.
    pub(super) step: Duration,
    /// The interest update.
    pub(super) interest: Duration,
    /// Deltas, encoding and queueing for every client.
    pub(super) clients: Duration,
}

/// Splits `total` in proportion to `weights` (evenly when they are all zero).
fn split(total: Duration, weights: &[u64]) -> Vec<Duration> {
    let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    let n = weights.len().max(1) as u128;
    weights
        .iter()
        .map(|&w| {
            let nanos = match sum {
                0 => total.as_nanos() / n,
                _ => total.as_nanos() * u128::from(w) / sum,
            };
            Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_proportional_and_even_without_weights() {
        let total = Duration::from_micros(900);
        assert_eq!(
            split(total, &[1, 2, 0, 6]),
            [100, 200, 0, 600].map(Duration::from_micros)
        );
        assert_eq!(
            split(total, &[0, 0, 0]),
            [300; 3].map(Duration::from_micros)
        );
        assert!(split(total, &[]).is_empty());
    }
}
