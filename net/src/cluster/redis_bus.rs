//! [`RedisBus`]: the cluster bus over Redis pub/sub, reconnecting by itself.
//!
//! One background task owns the Redis connections: a pub/sub connection that receives the
//! subscribed channels, and a multiplexed connection that publishes (queued publishes go out
//! in one pipeline, in order). Callers talk to the task through channels created at connect
//! time, so [`Bus::publish`] works from any thread, with or without a tokio runtime.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::StreamExt as _;
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use redis::{AsyncConnectionConfig, Client, Msg, RedisError, RedisResult};
use tokio::sync::{mpsc, oneshot};

use super::conn::{CONNECT_TIMEOUT, RESPONSE_TIMEOUT, error_chain, within};
use super::{Bus, BusError, Sink};

/// How many publishes may wait for Redis before [`Bus::publish`] refuses more.
const MAX_WAITING: usize = 65_536;
/// The most publishes sent in one pipeline.
const MAX_BATCH: usize = 512;
/// How often an idle bus checks that Redis still answers.
const PING_EVERY: Duration = Duration::from_secs(1);
/// The first wait before reconnecting; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Redis pub/sub as a [`Bus`]. `connect` fails with [`BusError::Unavailable`] when Redis
/// cannot be reached at start. While running, a lost connection flips [`Bus::is_connected`]
/// to false and publishes fail fast with [`BusError::Disconnected`]; a background task
/// reconnects with backoff (100 ms doubling to 2 s), re-subscribes every channel, and
/// `is_connected` turns true again. Sinks run on that task.
///
/// Dropping the bus stops its task.
pub struct RedisBus {
    url: String,
    shared: Arc<Shared>,
    outbox: mpsc::Sender<(String, Vec<u8>)>,
    control: mpsc::UnboundedSender<Control>,
    task: tokio::task::AbortHandle,
}

/// State shared by the handle and its task.
struct Shared {
    /// Whether the task has a working session.
    connected: AtomicBool,
    /// The subscriptions: the source of truth when re-subscribing after a reconnect.
    sinks: Mutex<HashMap<String, Sink>>,
}

/// Subscription changes and sync requests, in call order.
enum Control {
    /// Subscribe to the channel at Redis if it is (still) in `sinks`.
    Subscribe(String),
    /// Unsubscribe from the channel at Redis if it is (still) not in `sinks`.
    Unsubscribe(String),
    /// Answer once every earlier control message is in effect at Redis.
    Sync(oneshot::Sender<()>),
}

impl RedisBus {
    /// Connects to Redis at `url` (e.g. `redis://127.0.0.1:6379`) and starts the bus task.
    /// Must be called within a tokio runtime.
    pub async fn connect(url: &str) -> Result<RedisBus, BusError> {
        let unavailable = |source| BusError::Unavailable {
            url: url.to_owned(),
            source,
        };
        let client = Client::open(url).map_err(unavailable)?;
        let session = Session::open(&client, Vec::new())
            .await
            .map_err(unavailable)?;
        let shared = Arc::new(Shared {
            connected: AtomicBool::new(true),
            sinks: Mutex::new(HashMap::new()),
        });
        let (outbox, outbox_rx) = mpsc::channel(MAX_WAITING);
        let (control, control_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(
            client,
            url.to_owned(),
            Arc::clone(&shared),
            outbox_rx,
            control_rx,
            session,
        ))
        .abort_handle();
        Ok(RedisBus {
            url: url.to_owned(),
            shared,
            outbox,
            control,
            task,
        })
    }

    /// The Redis URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Waits until every subscribe/unsubscribe made before this call is in effect at Redis
    /// (through an outage, if there is one): from then on, messages published on those
    /// channels are delivered.
    pub async fn sync(&self) {
        let (done, wait) = oneshot::channel();
        if self.control.send(Control::Sync(done)).is_ok() {
            // An error means the task has stopped; nothing more will take effect.
            let _ = wait.await;
        }
    }
}

impl Bus for RedisBus {
    fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<(), BusError> {
        if !self.shared.connected.load(Ordering::Acquire) {
            return Err(BusError::Disconnected);
        }
        self.outbox
            .try_send((channel.to_owned(), payload))
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => BusError::Backlog(MAX_WAITING),
                mpsc::error::TrySendError::Closed(_) => BusError::Disconnected,
            })
    }

    fn subscribe(&self, channel: &str, sink: Sink) {
        self.shared.sinks().insert(channel.to_owned(), sink);
        // An error means the task has stopped (only when the runtime is shutting down).
        let _ = self.control.send(Control::Subscribe(channel.to_owned()));
    }

    fn unsubscribe(&self, channel: &str) {
        self.shared.sinks().remove(channel);
        let _ = self.control.send(Control::Unsubscribe(channel.to_owned()));
    }

    fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }
}

impl fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBus")
            .field("url", &self.url)
            .field("connected", &self.is_connected())
            .field("channels", &self.shared.channels())
            .finish_non_exhaustive()
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Shared {
    fn sinks(&self) -> MutexGuard<'_, HashMap<String, Sink>> {
        // No sink runs under this lock, so poisoning cannot leave the map half-changed.
        self.sinks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn channels(&self) -> Vec<String> {
        self.sinks().keys().cloned().collect()
    }

    fn is_subscribed(&self, channel: &str) -> bool {
        self.sinks().contains_key(channel)
    }

    /// Hands `message` to its channel's sink, if the channel is still subscribed.
    fn deliver(&self, message: &Msg) {
        let channel = message.get_channel_name();
        let sink = self.sinks().get(channel).cloned();
        if let Some(sink) = sink {
            sink(channel, message.get_payload_bytes().to_vec());
        }
    }
}

/// How a session ended.
enum Ended {
    /// Every handle is gone: stop.
    Closed,
    /// Redis went away.
    Lost(RedisError),
}

/// The bus task: serve a session until it is lost, reconnect, repeat.
async fn run(
    client: Client,
    url: String,
    shared: Arc<Shared>,
    mut outbox: mpsc::Receiver<(String, Vec<u8>)>,
    mut control: mpsc::UnboundedReceiver<Control>,
    mut session: Session,
) {
    loop {
        let error = match session.serve(&shared, &mut outbox, &mut control).await {
            Ended::Closed => return,
            Ended::Lost(error) => error,
        };
        shared.connected.store(false, Ordering::Release);
        tracing::warn!(%url, error = %error_chain(&error), "cluster bus lost Redis; reconnecting");
        session = match reconnect(&client, &url, &shared, &mut outbox, &mut control).await {
            Some(session) => session,
            None => return,
        };
        shared.connected.store(true, Ordering::Release);
        tracing::info!(%url, "cluster bus reconnected to Redis");
    }
}

/// Tries to open a session with backoff until it works. Meanwhile drops queued publishes
/// (they were accepted just before the loss was noticed; the bus is at-most-once) and holds
/// sync requests until the channels are re-subscribed. `None` when every handle is gone.
async fn reconnect(
    client: &Client,
    url: &str,
    shared: &Shared,
    outbox: &mut mpsc::Receiver<(String, Vec<u8>)>,
    control: &mut mpsc::UnboundedReceiver<Control>,
) -> Option<Session> {
    let mut delay = FIRST_BACKOFF;
    let mut syncs = Vec::new();
    let mut dropped = Vec::new();
    loop {
        let pause = tokio::time::sleep(delay);
        tokio::pin!(pause);
        loop {
            tokio::select! {
                () = &mut pause => break,
                count = outbox.recv_many(&mut dropped, MAX_BATCH) => {
                    if count == 0 {
                        return None;
                    }
                    tracing::debug!(count, "cluster bus down: dropped queued messages");
                    dropped.clear();
                }
                command = control.recv() => match command {
                    None => return None,
                    Some(Control::Sync(done)) => syncs.push(done),
                    // `sinks` holds the outcome; the new session subscribes from it.
                    Some(Control::Subscribe(_) | Control::Unsubscribe(_)) => {}
                },
            }
        }
        match Session::open(client, shared.channels()).await {
            Ok(session) => {
                for done in syncs {
                    let _ = done.send(());
                }
                return Some(session);
            }
            Err(error) => {
                tracing::debug!(%url, error = %error_chain(&error), ?delay, "cluster bus: reconnect failed");
                delay = (delay * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Working connections to Redis.
struct Session {
    /// Subscribes, unsubscribes and pings on the pub/sub connection.
    subscriber: PubSubSink,
    /// The messages of the subscribed channels; ends when the connection is lost.
    messages: PubSubStream,
    /// Publishes.
    publisher: MultiplexedConnection,
}

impl Session {
    /// Connects both connections and subscribes to `channels`.
    async fn open(client: &Client, channels: Vec<String>) -> RedisResult<Session> {
        let (mut subscriber, messages) = within(CONNECT_TIMEOUT, client.get_async_pubsub())
            .await?
            .split();
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let publisher = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        if !channels.is_empty() {
            within(RESPONSE_TIMEOUT, subscriber.subscribe(channels)).await?;
        }
        Ok(Session {
            subscriber,
            messages,
            publisher,
        })
    }

    /// Delivers messages, publishes, applies control messages and pings until the connection
    /// is lost or every handle is gone.
    async fn serve(
        &mut self,
        shared: &Shared,
        outbox: &mut mpsc::Receiver<(String, Vec<u8>)>,
        control: &mut mpsc::UnboundedReceiver<Control>,
    ) -> Ended {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.reset();
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            let result = tokio::select! {
                message = self.messages.next() => match message {
                    Some(message) => {
                        shared.deliver(&message);
                        Ok(())
                    }
                    None => Err(RedisError::from(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "pub/sub connection closed",
                    ))),
                },
                count = outbox.recv_many(&mut batch, MAX_BATCH) => {
                    if count == 0 {
                        return Ended::Closed;
                    }
                    self.publish(&mut batch).await
                }
                command = control.recv() => match command {
                    Some(command) => self.apply(shared, command).await,
                    None => return Ended::Closed,
                },
                _ = ping.tick() => {
                    within(RESPONSE_TIMEOUT, self.subscriber.ping::<redis::Value>()).await.map(drop)
                }
            };
            if let Err(error) = result {
                return Ended::Lost(error);
            }
        }
    }

    /// Sends `batch` (emptying it) in one pipeline.
    async fn publish(&mut self, batch: &mut Vec<(String, Vec<u8>)>) -> RedisResult<()> {
        let mut pipe = redis::pipe();
        for (channel, payload) in batch.drain(..) {
            pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
        }
        within(RESPONSE_TIMEOUT, pipe.exec_async(&mut self.publisher)).await
    }

    async fn apply(&mut self, shared: &Shared, command: Control) -> RedisResult<()> {
        match command {
            Control::Subscribe(channel) if shared.is_subscribed(&channel) => {
                within(RESPONSE_TIMEOUT, self.subscriber.subscribe(channel)).await
            }
            Control::Unsubscribe(channel) if !shared.is_subscribed(&channel) => {
                within(RESPONSE_TIMEOUT, self.subscriber.unsubscribe(channel)).await
            }
            Control::Subscribe(_) | Control::Unsubscribe(_) => Ok(()),
            Control::Sync(done) => {
                let _ = done.send(());
                Ok(())
            }
        }
    }
}
