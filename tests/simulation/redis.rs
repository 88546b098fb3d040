//! A small Redis for the simulation: pub/sub only (`SUBSCRIBE`,
//! `UNSUBSCRIBE`, `PUBLISH`, `PING`; anything else is answered `+OK`),
//! over turmoil's TCP, so the replicas' `RedisBus`es reach it through the
//! crate's connector seam and the faults reach their links. Like Redis, it
//! keeps nothing: a message goes to whoever is subscribed when it is
//! published.

#![allow(unreachable_pub)]

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};

use mcp_server_core::bus::{Connecting, RedisConnector, RedisStream};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// The Redis host's name.
pub const REDIS: &str = "redis";
/// Its port.
pub const PORT: u16 = 6379;

/// Opens each of a bus's connections over the simulated network.
#[derive(Debug)]
pub struct SimRedis;

impl RedisConnector for SimRedis {
    fn connect(&self) -> Connecting<'_> {
        Box::pin(async {
            let stream = turmoil::net::TcpStream::connect((REDIS, PORT)).await?;
            Ok(Box::new(stream) as Box<dyn RedisStream>)
        })
    }
}

/// The subscribers of each channel: the connection's number and its
/// writer's queue.
type Channels = Arc<Mutex<HashMap<Vec<u8>, Vec<(u64, mpsc::UnboundedSender<Vec<u8>>)>>>>;

/// Adds the Redis host to `sim` (a bounce starts it empty, as a Redis
/// without persistence does).
pub fn redis_host(sim: &mut turmoil::Sim<'_>) {
    sim.host(REDIS, || async {
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", PORT)).await?;
        let channels = Channels::default();
        for number in 0u64.. {
            let (stream, _) = listener.accept().await?;
            tokio::spawn(serve(stream, number, Arc::clone(&channels)));
        }
        Ok(())
    });
}

/// One connection: commands in, replies and messages out (through one
/// queue, so they keep their order); its subscriptions end with it.
async fn serve(stream: turmoil::net::TcpStream, number: u64, channels: Channels) {
    let (read, mut write) = tokio::io::split(stream);
    let (out, mut queued) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        while let Some(bytes) = queued.recv().await {
            if write.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let mut read = BufReader::new(read);
    let mut subscribed = 0usize;
    while let Ok(Some(command)) = command(&mut read).await {
        let name = command[0].to_ascii_uppercase();
        let reply = match (name.as_slice(), &command[1..]) {
            (b"SUBSCRIBE", names) => {
                let mut reply = Vec::new();
                for channel in names {
                    let mut table = channels.lock().expect("not poisoned");
                    table
                        .entry(channel.clone())
                        .or_default()
                        .push((number, out.clone()));
                    subscribed += 1;
                    reply.extend(array(&[b"subscribe", channel], Some(subscribed)));
                }
                reply
            }
            (b"UNSUBSCRIBE", names) => {
                let mut reply = Vec::new();
                for channel in names {
                    if let Some(subs) = channels.lock().expect("not poisoned").get_mut(channel) {
                        subs.retain(|(n, _)| *n != number);
                    }
                    subscribed = subscribed.saturating_sub(1);
                    reply.extend(array(&[b"unsubscribe", channel], Some(subscribed)));
                }
                reply
            }
            (b"PUBLISH", [channel, message]) => {
                let table = channels.lock().expect("not poisoned");
                let subs = table.get(channel).map_or(&[][..], Vec::as_slice);
                let pushed = array(&[b"message", channel, message], None);
                let reached = subs
                    .iter()
                    .filter(|(_, s)| s.send(pushed.clone()).is_ok())
                    .count();
                format!(":{reached}\r\n").into_bytes()
            }
            (b"PING", _) if subscribed > 0 => array(&[b"pong", b""], None),
            (b"PING", _) => b"+PONG\r\n".to_vec(),
            _ => b"+OK\r\n".to_vec(),
        };
        if out.send(reply).is_err() {
            break;
        }
    }
    for subs in channels.lock().expect("not poisoned").values_mut() {
        subs.retain(|(n, _)| *n != number);
    }
    drop(out);
    let _ = writer.await;
}

/// A RESP array of bulk strings, then an integer when `count` is given.
fn array(items: &[&[u8]], count: Option<usize>) -> Vec<u8> {
    let mut bytes = format!("*{}\r\n", items.len() + usize::from(count.is_some())).into_bytes();
    for item in items {
        bytes.extend(format!("${}\r\n", item.len()).as_bytes());
        bytes.extend(*item);
        bytes.extend(b"\r\n");
    }
    if let Some(count) = count {
        bytes.extend(format!(":{count}\r\n").as_bytes());
    }
    bytes
}

/// The next command (a RESP array of bulk strings); `None` at the end of
/// the stream; an error for anything else (the connection is then closed).
async fn command<R: tokio::io::AsyncRead + Unpin>(
    read: &mut BufReader<R>,
) -> io::Result<Option<Vec<Vec<u8>>>> {
    let Some(count) = header(read, b'*').await? else {
        return Ok(None);
    };
    let mut parts = Vec::new();
    for _ in 0..count {
        let len = header(read, b'$').await?.ok_or(io::ErrorKind::UnexpectedEof)?;
        let mut part = vec![0; len + 2];
        read.read_exact(&mut part).await?;
        part.truncate(len);
        parts.push(part);
    }
    if parts.is_empty() {
        return Err(io::ErrorKind::InvalidData.into());
    }
    Ok(Some(parts))
}

/// A line `<kind><number>\r\n`: the number.
async fn header<R: tokio::io::AsyncRead + Unpin>(
    read: &mut BufReader<R>,
    kind: u8,
) -> io::Result<Option<usize>> {
    let mut line = Vec::new();
    if read.read_until(b'\n', &mut line).await? == 0 {
        return Ok(None);
    }
    let text = line.strip_prefix(&[kind]).and_then(|l| l.strip_suffix(b"\r\n"));
    let number = text.and_then(|t| std::str::from_utf8(t).ok()?.parse().ok());
    number.map(Some).ok_or_else(|| io::ErrorKind::InvalidData.into())
}
