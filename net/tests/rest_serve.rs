//! `net::serve` on a real socket (an ephemeral port on 127.0.0.1): answers, then shuts down
//! gracefully when triggered, running the shutdown hooks.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: plaza\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn serves_then_shuts_down_gracefully() {
    let app = common::TestApp::new().await;
    let state = app.state.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hook_ran = Arc::new(AtomicBool::new(false));
    {
        let hook_ran = hook_ran.clone();
        let store = state.store.clone();
        state.shutdown.on_shutdown("test hook", move || async move {
            // The database is still open while hooks run.
            store.ping().await.expect("store open during hooks");
            hook_ran.store(true, Ordering::SeqCst);
        });
    }
    let server = tokio::spawn(net::serve(listener, state.clone()));

    let reply = http_get(addr, "/health").await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"status\":\"ok\""), "{reply}");
    let reply = http_get(addr, "/api/spaces/nope").await;
    assert!(reply.starts_with("HTTP/1.1 401"), "{reply}");

    state.shutdown.trigger();
    let result = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("serve returns after shutdown")
        .expect("serve task");
    result.expect("serve ends cleanly");
    assert!(hook_ran.load(Ordering::SeqCst), "shutdown hook ran");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}
