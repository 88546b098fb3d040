//! How the bus's tasks (and the Redis session store's) reach Redis:
//! redis-rs dials the URL's address itself, or a [`RedisConnector`] of the
//! user's opens each stream and redis-rs speaks over it (a proxy, a
//! tunnel, a simulated network).

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use redis::aio::{MultiplexedConnection, PubSub};
use redis::{AsyncConnectionConfig, Client, RedisConnectionInfo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::timeout;

use crate::sync::Arc;

/// A stream a [`RedisConnector`] opens: any byte stream redis-rs can speak
/// over.
pub trait RedisStream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> RedisStream for T {}

/// What [`RedisConnector::connect`] returns.
pub type Connecting<'a> = Pin<Box<dyn Future<Output = io::Result<Box<dyn RedisStream>>> + Send + 'a>>;

/// Opens connections to Redis for a [`RedisBus`](super::RedisBus) made
/// with [`RedisBus::start_with`](super::RedisBus::start_with): the bus
/// asks for a new one for publishing, for its subscription, and after
/// every loss. The bus bounds each call by
/// [`RedisBusConfig::connect_timeout`](super::RedisBusConfig::connect_timeout).
pub trait RedisConnector: Send + Sync + fmt::Debug + 'static {
    /// A new connection to Redis, or why there is none.
    fn connect(&self) -> Connecting<'_>;
}

/// Where the connections come from.
pub(crate) enum Dial {
    /// redis-rs dials the URL's address.
    Url(Client),
    /// The connector opens the stream; redis-rs sets it up with the URL's
    /// database and credentials.
    Own {
        settings: RedisConnectionInfo,
        connector: Arc<dyn RedisConnector>,
    },
}

impl fmt::Debug for Dial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(client) => f.debug_tuple("Url").field(client).finish(),
            Self::Own { connector, .. } => f.debug_tuple("Own").field(connector).finish(),
        }
    }
}

impl Dial {
    /// Dials `url` (`redis://HOST:PORT/`), or says why it is not a Redis
    /// address.
    pub(crate) fn url(url: &str) -> Result<Self, String> {
        Client::open(url).map(Self::Url).map_err(|e| e.to_string())
    }

    /// Opens connections with `connector`; `url` gives only the database
    /// and the credentials.
    pub(crate) fn own(url: &str, connector: Arc<dyn RedisConnector>) -> Result<Self, String> {
        let client = Client::open(url).map_err(|e| e.to_string())?;
        let settings = client.get_connection_info().redis_settings().clone();
        Ok(Self::Own { settings, connector })
    }

    /// A multiplexed connection (commands pipelined on one stream); every
    /// wait bounded by `wait`.
    pub(crate) async fn multiplexed(&self, wait: Duration) -> Result<MultiplexedConnection, String> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(wait))
            .set_response_timeout(Some(wait));
        match self {
            Self::Url(client) => client
                .get_multiplexed_async_connection_with_config(&config)
                .await
                .map_err(|e| e.to_string()),
            Self::Own { settings, connector } => {
                let made = timeout(wait, async {
                    let stream = connector.connect().await.map_err(|e| e.to_string())?;
                    MultiplexedConnection::new_with_config(settings, stream, config)
                        .await
                        .map_err(|e| e.to_string())
                });
                let (connection, driver) = made.await.map_err(|_| no_connection(wait))??;
                // The driver ends when the connection's last handle is
                // dropped or its stream fails.
                tokio::spawn(driver);
                Ok(connection)
            }
        }
    }

    /// A connection for the subscription, made within `wait`.
    pub(crate) async fn subscribing(&self, wait: Duration) -> Result<PubSub, String> {
        let made = timeout(wait, async {
            match self {
                Self::Url(client) => client.get_async_pubsub().await.map_err(|e| e.to_string()),
                Self::Own { settings, connector } => {
                    let stream = connector.connect().await.map_err(|e| e.to_string())?;
                    PubSub::new(settings, stream).await.map_err(|e| e.to_string())
                }
            }
        });
        made.await.map_err(|_| no_connection(wait))?
    }
}

fn no_connection(wait: Duration) -> String {
    format!("no connection within {wait:?}")
}
