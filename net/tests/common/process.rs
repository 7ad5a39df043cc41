//! A real `plaza serve` child process on a free loopback port; killed when dropped.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running `plaza serve`.
pub struct Plaza {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The port.
    pub port: u16,
    log: PathBuf,
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The `plaza serve` command on `port` with `data_dir`, without the caller's environment
/// settings (`make test` exports `DATABASE_URL`); add flags and spawn with [`Plaza::spawn`].
pub fn serve_command(data_dir: &Path, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plaza"));
    command
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--assets-dir")
        .arg(crate::common::assets_dir())
        .arg("--web-dir")
        .arg(data_dir.join("no-web-client"))
        .args(["--auth-burst", "1000", "--auth-rate-per-minute", "10000"])
        .env_remove("DATABASE_URL")
        .env_remove("PLAZA_CONFIG")
        .env_remove("PLAZA_JWT_SECRET")
        .env_remove("REDIS_URL")
        .env(
            "RUST_LOG",
            std::env::var("PLAZA_TEST_LOG").unwrap_or_else(|_| "info".into()),
        );
    command
}

impl Plaza {
    /// Spawns `command` (from [`serve_command`] on `port`), logging to `log`, and waits
    /// until it answers `/health`.
    pub async fn spawn(mut command: Command, port: u16, log: PathBuf) -> Plaza {
        let out = std::fs::File::create(&log).expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("start plaza");
        let mut plaza = Plaza {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            port,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let healthy = reqwest::get(format!("{}/health", plaza.base))
                .await
                .is_ok_and(|r| r.status().is_success());
            if healthy {
                return plaza;
            }
            let exited = plaza
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "plaza did not become healthy ({exited:?}):\n{}",
                plaza.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything the process logged.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` (`TERM`, `KILL`) and waits for the process to exit.
    pub async fn signal(&mut self, signal: &str) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let kill = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(kill.success(), "kill -{signal} failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("wait for plaza") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("plaza did not exit after SIG{signal}:\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub async fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM").await
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

/// An admin token for nodes signing with `secret`: a guest logged in at `base`, promoted to
/// admin in the nodes' shared database.
pub async fn admin_token(store: &persistence::Store, base: &str, secret: &str) -> String {
    let login = net::client::guest_login(base, "Operator")
        .await
        .expect("guest login");
    let id = login.account["id"].as_i64().expect("account id");
    let admin = store
        .set_role(id, persistence::Role::Admin)
        .await
        .expect("promote");
    net::auth::Auth::new(secret.as_bytes(), 3600)
        .issue(&admin)
        .expect("sign")
}
