//! The server's tick without sockets: what `net`'s space loop does every tick for N clients,
//! on a piece of the campus map cut to keep the density of avatars constant.
//!
//! One [`ServerTick::tick`] is the body of the driver's `SpaceLoop::tick` minus the socket
//! write: queue the walkers' inputs, `Simulation::step`, `Interest::update`, then for every
//! client its delta, `SnapshotEncoder::encode_if_changed` and a copy of the frame (the
//! driver copies each frame into the client's outbound queue), the proximity frames, and the
//! acknowledgement of the tick before last (a client two ticks behind), which the driver
//! receives as a command between ticks.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use glam::IVec2;
use schema::{ServerMessage, SnapshotEncoder, SnapshotWriter, encode_server};
use serde::{Deserialize, Serialize};
use sim::interest::{AoiConfig, Interest, ObserverId, ProximityConfig, ProximityKind};
use sim::{EntityId, TileMap};

use crate::RandomWalk;

/// The area of interest of every client: radius 6, hysteresis 2, cap 64 (as in the interest
/// bench), ~50 visible at [`campus_density`].
pub const AOI: AoiConfig = crate::interest_rig::aoi(6);

/// Ticks run before measuring: the first snapshots carry every visible entity as an enter.
pub const WARM_UP_TICKS: usize = 20;

/// Avatars per walkable tile of 100k avatars on the whole campus map (the interest bench's
/// load): ~50 visible per client with [`AOI`].
pub fn campus_density(campus: &TileMap) -> f64 {
    100_000.0 / campus.walkable_count() as f64
}

/// The smallest near-square of `map` around its centre (sides equal, or one tile wider than
/// high) that holds at least `walkable` walkable tiles, and at least one; the largest centred
/// square if the map has fewer. Its spawn point is its first walkable tile. Sides grow one
/// tile at a time, so the crop holds what was asked for within a row: the density of avatars
/// placed on it stays that of the request at every size (growing by eighths overshot by up
/// to a quarter).
pub fn crop_around_centre(map: &TileMap, walkable: usize) -> TileMap {
    let (w, h) = (map.width(), map.height());
    let largest = w.min(h);
    let centre = IVec2::new((w / 2) as i32, (h / 2) as i32);
    // Which tiles of a `cw` × `ch` crop centred on the map are blocked, row by row.
    let cut = |(cw, ch): (u32, u32)| {
        let origin = centre - IVec2::new((cw / 2) as i32, (ch / 2) as i32);
        let origin = origin.clamp(IVec2::ZERO, IVec2::new((w - cw) as i32, (h - ch) as i32));
        let blocked: Vec<bool> = (0..ch as i32)
            .flat_map(|y| (0..cw as i32).map(move |x| origin + IVec2::new(x, y)))
            .map(|tile| map.is_blocked(tile))
            .collect();
        (cw, ch, blocked)
    };
    let (cw, ch, blocked) = (1..=largest)
        .flat_map(|side| [(side, side), (side + 1, side)])
        .filter(|&(cw, ch)| cw <= w && ch <= h)
        .map(cut)
        .find(|(_, _, blocked)| blocked.iter().filter(|b| !**b).count() >= walkable.max(1))
        .unwrap_or_else(|| cut((largest, largest)));
    let first_open = blocked
        .iter()
        .position(|b| !*b)
        .expect("the map has walkable tiles") as u32;
    let spawn = IVec2::new((first_open % cw) as i32, (first_open / cw) as i32);
    TileMap::new(cw, ch, map.tile_size(), blocked, vec![spawn])
        .expect("a crop of a valid map is valid")
}

/// One client: its avatar, its observer in the interest manager, its snapshot encoder.
#[derive(Debug)]
struct Client {
    entity: EntityId,
    observer: ObserverId,
    encoder: SnapshotEncoder,
}

/// A world of random walkers, some of them clients, ticked like the server ticks a space.
#[derive(Debug)]
pub struct ServerTick {
    walk: RandomWalk,
    interest: Interest,
    clients: Vec<Client>,
    by_entity: BTreeMap<EntityId, usize>,
    writer: SnapshotWriter,
}

impl ServerTick {
    /// `avatars` random walkers on a crop of `map` holding `avatars / density` walkable
    /// tiles; every `client_every`-th avatar is a client (1: all of them).
    pub fn new(map: &TileMap, avatars: usize, client_every: usize, density: f64) -> ServerTick {
        let crop = crop_around_centre(map, (avatars as f64 / density).ceil() as usize);
        let walk = RandomWalk::new(Arc::new(crop), avatars, 42);
        let mut interest = Interest::new(ProximityConfig::default());
        let clients: Vec<Client> = walk
            .sim
            .entities()
            .step_by(client_every.max(1))
            .map(|s| Client {
                entity: s.id,
                observer: interest.add_observer(s.id, AOI),
                encoder: SnapshotEncoder::new(),
            })
            .collect();
        let by_entity = clients
            .iter()
            .enumerate()
            .map(|(i, c)| (c.entity, i))
            .collect();
        ServerTick {
            walk,
            interest,
            clients,
            by_entity,
            writer: SnapshotWriter::new(),
        }
    }

    /// Entities in the world.
    pub fn entities(&self) -> usize {
        self.walk.len()
    }

    /// Connected clients.
    pub fn clients(&self) -> usize {
        self.clients.len()
    }

    /// One server tick; returns the bytes of the frames queued to clients.
    pub fn tick(&mut self) -> usize {
        self.walk.tick();
        self.interest.update(&self.walk.sim);
        let tick = self.walk.sim.tick();
        let mut bytes = 0;
        for client in &mut self.clients {
            let Ok(delta) = self.interest.delta(client.observer) else {
                continue;
            };
            let last_seq = self
                .walk
                .sim
                .tile_and_seq(client.entity)
                .map_or(0, |(_, seq)| seq);
            if let Some(frame) = client
                .encoder
                .encode_if_changed(&mut self.writer, delta, last_seq)
            {
                bytes += frame.len();
                black_box(frame.to_vec());
                // As the driver does over WebSocket: what was sent is the next baseline.
                let _ = self.interest.ack(client.observer, tick);
            }
        }
        bytes + self.proximity_frames()
    }

    /// Encodes one proximity frame per avatar whose near set changed (as the driver does);
    /// returns their bytes.
    fn proximity_frames(&self) -> usize {
        let mut changes: BTreeMap<EntityId, (Vec<EntityId>, Vec<EntityId>)> = BTreeMap::new();
        for ev in self.interest.proximity_events() {
            for (me, other) in [(ev.a, ev.b), (ev.b, ev.a)] {
                let entry = changes.entry(me).or_default();
                match ev.kind {
                    ProximityKind::Near => entry.0.push(other),
                    ProximityKind::Far => entry.1.push(other),
                }
            }
        }
        changes
            .into_iter()
            .filter(|(entity, _)| self.by_entity.contains_key(entity))
            .map(|(_, (near, far))| encode_server(&ServerMessage::Proximity { near, far }).len())
            .sum()
    }

    /// Runs `ticks` ticks; returns the time they took.
    pub fn run(&mut self, ticks: u64) -> Duration {
        let started = Instant::now();
        for _ in 0..ticks {
            black_box(self.tick());
        }
        started.elapsed()
    }

    /// Mean entities visible per client (own avatar included).
    pub fn mean_visible(&self) -> f64 {
        let total: usize = self
            .clients
            .iter()
            .map(|c| self.interest.visible_count(c.observer).unwrap_or(0))
            .sum();
        total as f64 / self.clients.len().max(1) as f64
    }
}

/// `benches/tick-samples.json`: measured server ticks, read by `plaza capacity` to fit its
/// cost model and by `plot_scaling` for `docs/scaling.svg`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TickSamples {
    /// The machine and its load while measuring (free text).
    pub machine: String,
    /// The tick rate the figures are meant for.
    pub tick_hz: u32,
    /// One entry per measured configuration.
    pub samples: Vec<TickSample>,
}

/// One measured configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TickSample {
    /// Connected clients.
    pub clients: u64,
    /// Entities in the world (clients included).
    pub entities: u64,
    /// Mean entities visible per client.
    pub mean_visible: f64,
    /// Median CPU time of one tick (the ticking thread's), in milliseconds.
    pub tick_ms: f64,
    /// Median wall-clock time of one tick, in milliseconds: above `tick_ms` when other
    /// processes took the core.
    #[serde(default)]
    pub wall_ms: f64,
    /// The lowest median CPU time of one turn, in milliseconds (the configurations are
    /// measured in turns: the spread between turns shows the machine's noise, and for the
    /// largest configurations, with few ticks per turn, the ticks' own spread too).
    #[serde(default)]
    pub turn_low_ms: f64,
    /// The highest median CPU time of one turn, in milliseconds.
    #[serde(default)]
    pub turn_high_ms: f64,
    /// Which series the sample belongs to ([`Series::name`]).
    #[serde(default)]
    pub series: String,
}

impl TickSample {
    /// Server CPU per client per tick, in microseconds.
    pub fn us_per_client_tick(&self) -> f64 {
        self.per_client_us(self.tick_ms)
    }

    /// A tick time of this sample's (`tick_ms`, `turn_low_ms`, …) per client, in
    /// microseconds.
    pub fn per_client_us(&self, tick_ms: f64) -> f64 {
        tick_ms * 1000.0 / self.clients.max(1) as f64
    }
}

/// A family of configurations measured together.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Series {
    /// Its name in the samples file.
    pub name: &'static str,
    /// One avatar in `client_every` is a client.
    pub client_every: usize,
    /// Density as a fraction of [`campus_density`].
    pub density_factor: f64,
    /// Avatar counts.
    pub avatars: &'static [usize],
}

/// The scaling series: every avatar a client, ~50 visible, 100 → 10k clients.
pub const SCALING: Series = Series {
    name: "all_clients",
    client_every: 1,
    density_factor: 1.0,
    avatars: &[100, 300, 1_000, 3_000, 10_000],
};

/// Every series of the samples file: the scaling series, plus one with one client per ten
/// avatars and one at a quarter of the density, so that a cost model can tell per-entity,
/// per-client and per-visible costs apart.
pub const SERIES: [Series; 3] = [
    SCALING,
    Series {
        name: "tenth_clients",
        client_every: 10,
        density_factor: 1.0,
        avatars: &[1_000, 10_000],
    },
    Series {
        name: "quarter_density",
        client_every: 1,
        density_factor: 0.25,
        avatars: &[1_000, 3_000],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_holds_the_walkable_tiles_asked_for() {
        // 40×30, walls all around.
        let rows: Vec<String> = (0..30)
            .map(|y| {
                (0..40)
                    .map(|x| match (x, y) {
                        (1, 1) => 'S',
                        _ if x == 0 || y == 0 || x == 39 || y == 29 => '#',
                        _ => '.',
                    })
                    .collect()
            })
            .collect();
        let map = TileMap::from_ascii(&rows.join("\n")).unwrap();
        let crop = crop_around_centre(&map, 200);
        // The open middle: 15 × 14 = 210 tiles is the first near-square with 200.
        assert_eq!((crop.width(), crop.height()), (15, 14));
        assert_eq!(crop.walkable_count(), 210);
        // More than the map has: its largest centred square.
        let all = crop_around_centre(&map, 10_000);
        assert_eq!(all.width(), 30);
    }

    #[test]
    fn every_client_gets_frames_and_sees_its_neighbours() {
        let map = TileMap::open_floor(64, 64);
        let mut rig = ServerTick::new(&map, 200, 2, 0.4);
        assert_eq!((rig.entities(), rig.clients()), (200, 100));
        assert!(rig.tick() > 0);
        rig.run(10);
        // 200 avatars on ~500 tiles, radius 6: far more than just themselves.
        assert!(rig.mean_visible() > 10.0, "{}", rig.mean_visible());
    }
}
