//! The real `plaza` binary: a player walks, the server gets SIGTERM (exits 0 after telling
//! clients and saving positions), restarts on the same data folder, and the player — same
//! token — spawns on the tile it left.

mod common;
#[path = "common/ws.rs"]
mod ws_common;

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use net::client::{PlazaClient, create_space, guest_login};
use sim::{Direction, TileMap};
use ws_common::{MirrorExt as _, SOON, step, wait_closed, wait_for, walkable};

/// A `plaza serve` child process; killed if the test ends without stopping it.
struct Plaza {
    child: Option<Child>,
    base: String,
    log: std::path::PathBuf,
}

impl Plaza {
    /// Starts `plaza serve` on a free port with `data_dir`, and waits until it is healthy.
    async fn start(data_dir: &Path, run: u32) -> Plaza {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = data_dir.join(format!("plaza-{run}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_plaza"))
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--assets-dir")
            .arg(common::assets_dir())
            .arg("--web-dir")
            .arg(data_dir.join("no-web-client"))
            .args(["--auth-burst", "100", "--auth-rate-per-minute", "1000"])
            // The test's own settings only (`make test` exports DATABASE_URL for PostgreSQL).
            .env_remove("DATABASE_URL")
            .env_remove("PLAZA_CONFIG")
            .env_remove("PLAZA_JWT_SECRET")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("start plaza");
        let plaza = Plaza {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let healthy = reqwest::get(format!("{}/health", plaza.base))
                .await
                .is_ok_and(|r| r.status().is_success());
            if healthy {
                return plaza;
            }
            assert!(
                Instant::now() < deadline,
                "plaza did not become healthy:\n{}",
                plaza.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the process to exit.
    async fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let kill = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(kill.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("wait for plaza") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("plaza did not exit after SIGTERM:\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Plaza {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_then_restart_restores_positions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let map_json = std::fs::read_to_string(common::assets_dir().join("maps/office.json")).unwrap();
    let map = TileMap::from_tiled_json(&map_json).expect("office map");

    let mut plaza = Plaza::start(dir.path(), 1).await;
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

    let plaza2 = Plaza::start(dir.path(), 2).await;
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
