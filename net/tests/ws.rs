//! The WebSocket gateway and tick driver end to end: a real server on 127.0.0.1:0 with a
//! temporary SQLite database, players speaking the real protocol through
//! `net::client::PlazaClient` (snapshots decoded by the schema mirror).
//!
//! Players are placed by saving their last position before they connect (the session spawns
//! an avatar on its saved tile), on tiles looked up in the real maps.

mod common;
#[path = "common/ws.rs"]
mod ws_common;

use std::time::Duration;

use glam::IVec2;
use net::ws::TOO_SLOW;
use schema::{ChatScope, ErrorCode, SignalKind};
use sim::{Direction, EntityId, Input};
use ws_common::{
    MirrorExt as _, Player, QUIET, RawWs, SOON, WsServer, step, tile_facing, wait_closed, wait_for,
    walk, walkable, walkable_run,
};

const EAST: IVec2 = IVec2::new(1, 0);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_players_see_each_other_move() {
    see_each_other_move(WsServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_players_see_each_other_move_on_a_server_with_interest_threads() {
    // Two observers are too few to split the pass (the pool's own test covers the split):
    // this checks the server's wiring.
    see_each_other_move(WsServer::with(|c| c.interest_threads = 2).await).await;
}

/// Two players join at spawn points, see each other, and each sees the other's step.
async fn see_each_other_move(server: WsServer) {
    let space = server.space("office").await;
    let map = server.map("office");
    // Both join at spawn points (no saved positions).
    let mut a = server.player(&space, "Ada", None).await;
    let mut b = server.player(&space, "Bob", None).await;
    let (ida, idb) = (a.me(), b.me());
    assert_ne!(ida, idb);
    wait_for(&mut a.client, "Ada sees Bob", |c| c.seen(idb).is_some()).await;
    wait_for(&mut b.client, "Bob sees Ada", |c| c.seen(ida).is_some()).await;
    let seen = a.client.seen(idb).unwrap();
    assert_eq!(seen.name, "Bob");
    assert_eq!(seen.position, b.tile());

    // Ada takes a step; Bob's mirror shows her on the new tile.
    let from = a.tile();
    let dir = Direction::ALL
        .into_iter()
        .find(|d| walkable(&map, from + d.offset()) && a.client.mirror_free(from + d.offset()))
        .expect("a free tile next to Ada");
    step(&mut a.client, dir).await;
    let to = from + dir.offset();
    wait_for(&mut b.client, "Bob sees Ada on her new tile", |c| {
        c.seen(ida)
            .is_some_and(|s| s.position == to && s.target.is_none())
    })
    .await;
    assert_eq!(b.client.copies_of(ida), 1);

    // And the other way round.
    let from = b.tile();
    let dir = Direction::ALL
        .into_iter()
        .find(|d| walkable(&map, from + d.offset()) && b.client.mirror_free(from + d.offset()))
        .expect("a free tile next to Bob");
    step(&mut b.client, dir).await;
    let to = from + dir.offset();
    wait_for(&mut a.client, "Ada sees Bob on his new tile", |c| {
        c.seen_at(idb) == Some(to)
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_out_of_range_is_not_sent() {
    let server = WsServer::start().await;
    let space = server.space("campus").await;
    let map = server.map("campus");
    let t = walkable_run(&map, Direction::East, 17);
    // AOI radius 12 (+2 hysteresis): 16 tiles apart is out of range.
    let mut a = server.player(&space, "Ada", Some(t)).await;
    let mut b = server.player(&space, "Bob", Some(t + EAST * 16)).await;
    let (ida, idb) = (a.me(), b.me());
    assert!(
        !a.client
            .until(QUIET, |c| c.seen(idb).is_some())
            .await
            .unwrap(),
        "Ada was sent Bob, 16 tiles away"
    );
    assert!(
        !b.client
            .until(QUIET, |c| c.seen(ida).is_some())
            .await
            .unwrap(),
        "Bob was sent Ada, 16 tiles away"
    );
    assert_eq!(
        a.client.mirror.latest().slots.len(),
        1,
        "Ada sees only herself"
    );

    // Bob walks in range (11 tiles away): Ada is sent him.
    walk(&mut b.client, Direction::West, 5).await;
    let bob_at = t + EAST * 11;
    assert_eq!(b.tile(), bob_at);
    wait_for(&mut a.client, "Ada sees Bob once in range", |c| {
        c.seen_at(idb) == Some(bob_at)
    })
    .await;
    wait_for(&mut b.client, "Bob sees Ada once in range", |c| {
        c.seen_at(ida) == Some(t)
    })
    .await;

    // Bob walks out of range again (beyond 12 + 2): he leaves Ada's view.
    walk(&mut b.client, Direction::East, 5).await;
    wait_for(&mut a.client, "Bob leaves Ada's view", |c| {
        c.seen(idb).is_none()
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn illegal_moves_are_rejected() {
    let server = WsServer::start().await;
    let space = server.space("office").await;
    let map = server.map("office");
    let (t, wall, open) = tile_facing(&map, false);
    assert!(map.is_blocked(t + wall.offset()));
    // An observer two tiles away from Ada on a walkable tile.
    let watcher_tile = [
        IVec2::new(2, 0),
        IVec2::new(-2, 0),
        IVec2::new(0, 2),
        IVec2::new(0, -2),
    ]
    .into_iter()
    .map(|d| t + d)
    .find(|&w| walkable(&map, w) && w != t + open.offset())
    .expect("a walkable tile near the wall");
    let mut a = server.player(&space, "Ada", Some(t)).await;
    let mut w = server.player(&space, "Wes", Some(watcher_tile)).await;
    let ida = a.me();
    wait_for(&mut w.client, "Wes sees Ada", |c| c.seen_at(ida) == Some(t)).await;

    assert_rejected(&mut a.client, &mut w.client, t, wall).await;

    // Off the map: the campus has walkable tiles on its border.
    let campus = server.map("campus");
    let space2 = server.space("campus").await;
    let (edge, out, _) = tile_facing(&campus, true);
    assert!(!campus.contains(edge + out.offset()));
    let near = Direction::ALL
        .into_iter()
        .map(|d| edge + d.offset() * 2)
        .find(|&n| walkable(&campus, n))
        .expect("a walkable tile near the border");
    let mut e = server.player(&space2, "Eve", Some(edge)).await;
    let mut f = server.player(&space2, "Fay", Some(near)).await;
    let ide = e.me();
    wait_for(&mut f.client, "Fay sees Eve", |c| {
        c.seen_at(ide) == Some(edge)
    })
    .await;
    assert_rejected(&mut e.client, &mut f.client, edge, out).await;

    // A rejected move stops the avatar, and a legal move afterwards goes through.
    step(&mut a.client, open).await;
    let to = t + open.offset();
    wait_for(&mut w.client, "Wes sees Ada's legal step", |c| {
        c.seen_at(ida) == Some(to)
    })
    .await;
    server.stop().await;
}

/// `mover` on `t` tries to move towards `dir` (blocked): the server applies the input and
/// the avatar stays on `t`, for itself and for `watcher`.
async fn assert_rejected(
    mover: &mut net::client::PlazaClient,
    watcher: &mut net::client::PlazaClient,
    t: IVec2,
    dir: Direction,
) {
    let me = mover.me();
    let seq = mover.input(Input::Move(dir)).await.unwrap();
    wait_for(mover, "the server applied the move input", |c| {
        c.mirror.last_input_seq >= seq
    })
    .await;
    let moved = |c: &net::client::PlazaClient| {
        c.seen(me)
            .is_some_and(|s| s.position != t || s.target.is_some())
    };
    assert!(
        !mover.until(QUIET, moved).await.unwrap(),
        "the mover left {t} towards {dir:?}: {:?}",
        mover.seen(me)
    );
    assert!(
        !watcher.until(QUIET, moved).await.unwrap(),
        "the watcher saw the mover leave {t} towards {dir:?}: {:?}",
        watcher.seen(me)
    );
    assert_eq!(mover.seen_at(me), Some(t));
    assert_eq!(watcher.seen_at(me), Some(t));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_is_delivered_in_its_scope_and_replayed_on_join() {
    let server = WsServer::start().await;
    let space = server.space("campus").await;
    let map = server.map("campus");
    let t = walkable_run(&map, Direction::East, 14);
    // Nearby = within the AOI radius (12 tiles): Ned is on its edge, Fay just beyond.
    let mut a = server.player(&space, "Ada", Some(t)).await;
    let mut n = server.player(&space, "Ned", Some(t + EAST * 12)).await;
    let mut f = server.player(&space, "Fay", Some(t + EAST * 13)).await;
    let ida = a.me();

    a.client
        .say("hello everyone", ChatScope::Space)
        .await
        .unwrap();
    for p in [&mut a, &mut n, &mut f] {
        wait_for(&mut p.client, "the space line arrives", |c| {
            c.chat.iter().any(|l| l.text == "hello everyone")
        })
        .await;
        let line = p.client.chat.last().unwrap();
        assert_eq!(line.from, Some(ida));
        assert_eq!(line.from_name, "Ada");
        assert_eq!(line.scope, ChatScope::Space);
    }

    a.client
        .say("psst, nearby only", ChatScope::Nearby)
        .await
        .unwrap();
    let nearby =
        |c: &net::client::PlazaClient| c.chat.iter().any(|l| l.text == "psst, nearby only");
    wait_for(&mut n.client, "Ned (12 tiles) gets the nearby line", nearby).await;
    assert_eq!(n.client.chat.last().unwrap().scope, ChatScope::Nearby);
    wait_for(&mut a.client, "Ada gets her own nearby line", nearby).await;
    assert!(
        !f.client.until(QUIET, nearby).await.unwrap(),
        "Fay, 13 tiles away, got a nearby line"
    );

    // Space lines are stored and replayed to whoever joins later; nearby lines are not.
    let store = server.app.state.store.clone();
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        let history = store.chat_history(&space, 50).await.unwrap();
        if history.iter().any(|l| l.body == "hello everyone") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "chat line stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut late = server.player(&space, "Lou", None).await;
    wait_for(&mut late.client, "the history is replayed", |c| {
        c.chat.iter().any(|l| l.text == "hello everyone")
    })
    .await;
    let line = late
        .client
        .chat
        .iter()
        .find(|l| l.text == "hello everyone")
        .unwrap();
    assert_eq!(line.from_name, "Ada");
    assert_eq!(line.scope, ChatScope::Space);
    late.client.pump(Duration::from_millis(200)).await.unwrap();
    assert!(
        !nearby(&late.client),
        "a nearby line was replayed to a later joiner"
    );
    server.stop().await;
}

/// `from` sends `to` a signal; `to` receives it (the only signal it has), naming `from`.
async fn relay(from: &mut Player, to: &mut Player, kind: SignalKind, payload: &str) {
    from.client.signal(to.me(), kind, payload).await.unwrap();
    wait_for(
        &mut to.client,
        &format!("{kind:?} \"{payload}\" is relayed"),
        |x| !x.signals.is_empty(),
    )
    .await;
    assert_eq!(
        to.client.signals,
        vec![(from.me(), kind, payload.to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signalling_is_relayed_to_near_peers_only() {
    let server = WsServer::start().await;
    let space = server.space("campus").await;
    let map = server.map("campus");
    let t = walkable_run(&map, Direction::East, 9);
    // Proximity radius 3 (+1 hysteresis): Bob (2 tiles) is near, Cid (8 tiles) is not.
    let mut a = server.player(&space, "Ada", Some(t)).await;
    let mut b = server.player(&space, "Bob", Some(t + EAST * 2)).await;
    let mut c = server.player(&space, "Cid", Some(t + EAST * 8)).await;
    let (ida, idb, idc) = (a.me(), b.me(), c.me());
    wait_for(&mut a.client, "Ada is told Bob is near", |x| {
        x.near.contains(&idb)
    })
    .await;
    wait_for(&mut b.client, "Bob is told Ada is near", |x| {
        x.near.contains(&ida)
    })
    .await;
    wait_for(&mut a.client, "Ada sees Cid", |x| x.seen(idc).is_some()).await;
    assert!(!a.client.near.contains(&idc));

    relay(&mut a, &mut b, SignalKind::Offer, "offer-sdp").await;
    relay(&mut b, &mut a, SignalKind::Answer, "answer-sdp").await;

    // To a far player, and to an entity that does not exist: NOT_NEAR, nothing forwarded.
    a.client
        .signal(idc, SignalKind::Offer, "to-cid")
        .await
        .unwrap();
    wait_for(&mut a.client, "Ada is told Cid is not near", |x| {
        x.errors
            .iter()
            .any(|(code, _)| *code == ErrorCode::NOT_NEAR)
    })
    .await;
    let nobody = EntityId::new(999_999).unwrap();
    a.client
        .signal(nobody, SignalKind::Ice, "to-nobody")
        .await
        .unwrap();
    wait_for(&mut a.client, "Ada is told nobody is not near", |x| {
        x.errors
            .iter()
            .filter(|(code, _)| *code == ErrorCode::NOT_NEAR)
            .count()
            == 2
    })
    .await;
    assert!(
        !c.client
            .until(QUIET, |x| !x.signals.is_empty())
            .await
            .unwrap(),
        "a signal reached Cid: {:?}",
        c.client.signals
    );

    // Once Bob walks away (beyond 3 + 1), he is far: his signals are refused too.
    walk(&mut b.client, Direction::East, 4).await;
    wait_for(&mut a.client, "Ada is told Bob is far", |x| {
        !x.near.contains(&idb)
    })
    .await;
    wait_for(&mut b.client, "Bob is told Ada is far", |x| {
        !x.near.contains(&ida)
    })
    .await;
    b.client
        .signal(ida, SignalKind::Ice, "late-ice")
        .await
        .unwrap();
    wait_for(&mut b.client, "Bob is told Ada is not near", |x| {
        x.errors
            .iter()
            .any(|(code, _)| *code == ErrorCode::NOT_NEAR)
    })
    .await;
    assert!(
        !a.client
            .until(QUIET, |x| x.signals.len() > 1)
            .await
            .unwrap(),
        "a signal from a far peer reached Ada: {:?}",
        a.client.signals
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_within_the_grace_period_resumes_the_avatar() {
    let server = WsServer::start().await;
    let space = server.space("campus").await;
    let map = server.map("campus");
    let t = walkable_run(&map, Direction::East, 4);
    let a = server.player(&space, "Ada", Some(t)).await;
    let mut o = server.player(&space, "Obi", Some(t + EAST * 3)).await;
    let (ida, token) = (a.me(), a.token.clone());
    let mut client = a.client;
    step(&mut client, Direction::East).await;
    let left_at = t + EAST;
    wait_for(&mut o.client, "Obi sees Ada's step", |c| {
        c.seen_at(ida) == Some(left_at)
    })
    .await;
    client.close().await;

    // The avatar lingers while she is away.
    o.client.pump(Duration::from_millis(500)).await.unwrap();
    assert_eq!(o.client.seen_at(ida), Some(left_at), "Ada's avatar lingers");

    let mut again = server.connect(&space, &token).await;
    assert_eq!(again.me(), ida, "the same avatar is resumed");
    wait_for(&mut again, "Ada sees herself where she left", |c| {
        c.seen_at(ida) == Some(left_at)
    })
    .await;
    o.client.pump(Duration::from_millis(300)).await.unwrap();
    assert_eq!(o.client.copies_of(ida), 1, "no duplicate avatar");
    assert_eq!(o.client.mirror.latest().slots.len(), 2);
    assert_eq!(again.mirror.latest().slots.len(), 2);

    // The resumed avatar takes inputs.
    step(&mut again, Direction::West).await;
    wait_for(&mut o.client, "Obi sees the resumed avatar move", |c| {
        c.seen_at(ida) == Some(t)
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_avatar_left_alone_despawns_and_its_position_is_saved() {
    let server = WsServer::start().await;
    let space = server.space("campus").await;
    let map = server.map("campus");
    let t = walkable_run(&map, Direction::East, 4);
    let a = server.player(&space, "Ada", Some(t)).await;
    let mut o = server.player(&space, "Obi", Some(t + EAST * 3)).await;
    let (ida, token, account) = (a.me(), a.token.clone(), a.account);
    let mut client = a.client;
    step(&mut client, Direction::East).await;
    let left_at = t + EAST;
    client.close().await;

    // After the grace period (5 s) the avatar goes, and its tile is saved.
    let gone = o
        .client
        .until(Duration::from_secs(8), |c| c.seen(ida).is_none())
        .await
        .unwrap();
    assert!(gone, "Ada's avatar despawns after the grace period");
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        let saved = server
            .app
            .state
            .store
            .last_position(&space, account)
            .await
            .unwrap()
            .map(|p| IVec2::new(p.x, p.y));
        if saved == Some(left_at) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "position saved on despawn: {saved:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut again = server.connect(&space, &token).await;
    let me = again.me();
    wait_for(&mut again, "Ada spawns where she left", |c| {
        c.seen_at(me) == Some(left_at)
    })
    .await;
    wait_for(&mut o.client, "Obi sees her back", |c| {
        c.seen_at(me) == Some(left_at)
    })
    .await;
    assert_eq!(o.client.mirror.latest().slots.len(), 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connection_replaces_the_first() {
    let server = WsServer::start().await;
    let space = server.space("campus").await;
    let map = server.map("campus");
    let t = walkable_run(&map, Direction::East, 4);
    let mut first = server.player(&space, "Ada", Some(t)).await;
    let mut o = server.player(&space, "Obi", Some(t + EAST * 3)).await;
    let ida = first.me();
    wait_for(&mut o.client, "Obi sees Ada", |c| c.seen(ida).is_some()).await;

    let mut second = server.connect(&space, &first.token).await;
    assert_eq!(second.me(), ida, "the new connection takes over the avatar");
    let errors = wait_closed(&mut first.client).await;
    assert!(
        errors.iter().any(|(code, _)| *code == net::ws::REPLACED),
        "the first connection is told it was replaced: {errors:?}"
    );
    assert_eq!(net::ws::REPLACED, ErrorCode(10));

    wait_for(&mut second, "the new connection sees its avatar", |c| {
        c.seen_at(ida) == Some(t)
    })
    .await;
    step(&mut second, Direction::East).await;
    wait_for(&mut o.client, "Obi sees the avatar move", |c| {
        c.seen_at(ida) == Some(t + EAST)
    })
    .await;
    assert_eq!(o.client.copies_of(ida), 1, "no duplicate avatar");
    server.stop().await;
}

/// Connected clients of `space`, from the server's `plaza_clients` gauge.
fn connected_clients(server: &WsServer, space: &str) -> Option<i64> {
    let key = format!("plaza_clients{{space=\"{space}\"}} ");
    server
        .app
        .state
        .metrics
        .encode()
        .lines()
        .find_map(|l| l.strip_prefix(key.as_str())?.parse().ok())
}

/// A client that stops reading (so stops acknowledging) is closed as too slow within 5 s:
/// what it was sent before, then `Error{11}`, then the close, and the server lets the
/// connection go. The others play on meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_closed_within_five_seconds() {
    let server = WsServer::start().await;
    let space = server.space("office").await;
    let map = server.map("office");
    let mut walker = server.player(&space, "Walker", None).await;
    let (token, _) = server.guest("Sleeper").await;
    let mut sleeper = RawWs::open(&server.base, &space).await;
    sleeper.hello_ok(&token).await;
    let welcome = sleeper.welcome().await;
    let started = std::time::Instant::now();
    wait_for(&mut walker.client, "the walker sees the sleeper", |c| {
        c.seen(welcome.entity).is_some()
    })
    .await;
    // The walker paces next to the sleeper, whose view changes every few ticks: snapshots
    // keep coming its way, and it reads none of them.
    let from = walker.tile();
    let (there, back) = [
        (Direction::North, Direction::South),
        (Direction::East, Direction::West),
        (Direction::South, Direction::North),
        (Direction::West, Direction::East),
    ]
    .into_iter()
    .find(|(d, _)| {
        walkable(&map, from + d.offset()) && walker.client.mirror_free(from + d.offset())
    })
    .expect("a free tile next to the walker");
    let mut steps = 0;
    while connected_clients(&server, &space) != Some(1) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the sleeper is still connected after {:?} ({steps} steps walked next to it)",
            started.elapsed()
        );
        step(
            &mut walker.client,
            if steps % 2 == 0 { there } else { back },
        )
        .await;
        steps += 1;
    }
    assert!(
        steps > 0,
        "the sleeper was dropped before it was sent anything"
    );
    let errors = sleeper.closed().await;
    assert!(
        errors.iter().any(|(code, _)| *code == TOO_SLOW),
        "closed with {errors:?}, not TOO_SLOW"
    );
    // The walker was served throughout and still is.
    step(
        &mut walker.client,
        if steps % 2 == 0 { there } else { back },
    )
    .await;
    server.stop().await;
}
