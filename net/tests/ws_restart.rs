//! The real `plaza` binary: a player walks, the server gets SIGTERM (exits 0 after telling
//! clients and saving positions), restarts on the same data folder, and the player — same
//! token — spawns on the tile it left.

mod common;
#[path = "common/process.rs"]
mod process;
#[path = "common/ws.rs"]
mod ws_common;

use std::path::Path;

use process::Plaza;

use net::client::{PlazaClient, create_space, guest_login};
use sim::{Direction, TileMap};
use ws_common::{MirrorExt as _, SOON, step, wait_closed, wait_for, walkable};

/// Starts `plaza serve` on a free port with `data_dir` (run `run`'s log file).
async fn start(data_dir: &Path, run: u32) -> Plaza {
    let port = process::free_port();
    let log = data_dir.join(format!("plaza-{run}.log"));
    Plaza::spawn(process::serve_command(data_dir, port), port, log).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_then_restart_restores_positions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let map_json = std::fs::read_to_string(common::assets_dir().join("maps/office.json")).unwrap();
    let map = TileMap::from_tiled_json(&map_json).expect("office map");

    let mut plaza = start(dir.path(), 1).await;
    let owner = guest_login(&plaza.base, "Owner").await.unwrap().token;
    let space = create_space(&plaza.base, &owner, "Restart", "office")
        .await
        .unwrap();
    let token = guest_login(&plaza.base, "Ada").await.unwrap().token;
    let mut ada = tokio::time::timeout(SOON, PlazaClient::connect(&plaza.base, &space, &token))
        .await
        .expect("connect in time")
        .expect("connect");
    let me = ada.me();
    wait_for(&mut ada, "Ada sees herself", |c| c.seen_at(me).is_some()).await;

    // Walk two tiles away from the spawn point, right before the shutdown (well within the
    // 5 s periodic save: only the shutdown flush saves this tile).
    let spawn = ada.seen_at(me).unwrap();
    let dir_ok = |d: Direction| {
        (1..=2).all(|k| walkable(&map, spawn + d.offset() * k))
            && ada.mirror_free(spawn + d.offset())
            && ada.mirror_free(spawn + d.offset() * 2)
    };
    let dir_walk = Direction::ALL
        .into_iter()
        .find(|&d| dir_ok(d))
        .expect("two free tiles next to the spawn");
    step(&mut ada, dir_walk).await;
    step(&mut ada, dir_walk).await;
    let left_at = spawn + dir_walk.offset() * 2;
    assert_eq!(ada.seen_at(me), Some(left_at));

    let status = plaza.terminate().await;
    assert!(
        status.success(),
        "plaza exits 0 on SIGTERM, got {status}:\n{}",
        plaza.logs()
    );
    // The connected player was told, then closed.
    let errors = wait_closed(&mut ada).await;
    assert!(
        errors.iter().any(|(c, _)| *c == net::ws::SHUTTING_DOWN),
        "told the server is shutting down: {errors:?}"
    );

    let plaza2 = start(dir.path(), 2).await;
    let mut again = tokio::time::timeout(SOON, PlazaClient::connect(&plaza2.base, &space, &token))
        .await
        .expect("connect in time")
        .expect("the same token works after a restart");
    let me = again.me();
    wait_for(&mut again, "Ada spawns on the tile she left", |c| {
        c.seen_at(me).is_some()
    })
    .await;
    assert_eq!(
        again.seen_at(me),
        Some(left_at),
        "restored position (spawned at {spawn}, left at {left_at})"
    );
    again.close().await;
    drop(plaza2);
}
