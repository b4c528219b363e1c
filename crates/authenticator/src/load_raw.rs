//! A minimal HTTP/1.1 client for the waiters: one small connection per request, so that
//! the generator holds 100,000 of them in little memory.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where the server listens.
#[derive(Clone)]
pub struct Target {
    addr: SocketAddr,
    host: String,
}

impl Target {
    /// The target of `http://host:port` (plain HTTP with an address, for the waiters).
    pub fn of(base: &str) -> Result<Target, String> {
        let host = base.strip_prefix("http://").ok_or("waiters need an http:// server URL")?.trim_end_matches('/');
        let addr: SocketAddr =
            host.parse().map_err(|_| format!("waiters need an address and port in the URL, not {host}"))?;
        Ok(Target { addr, host: host.to_owned() })
    }

    /// POST `body` to `path` from `source` (loopback targets only; otherwise from
    /// any address); the status and the JSON answer. `permit` is let go once the
    /// request is sent.
    pub async fn post<P>(
        &self,
        source: Ipv4Addr,
        path: &str,
        bearer: &str,
        body: &str,
        permit: Option<P>,
    ) -> Result<(u16, Value), String> {
        let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
        if self.addr.ip().is_loopback() {
            socket.bind(SocketAddr::new(IpAddr::V4(source), 0)).map_err(|e| format!("bind {source}: {e}"))?;
        }
        let mut stream = socket.connect(self.addr).await.map_err(|e| format!("connect: {e}"))?;
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {bearer}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.host,
            body.len()
        );
        stream.write_all(request.as_bytes()).await.map_err(|e| format!("send: {e}"))?;
        drop(request);
        drop(permit);
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.map_err(|e| format!("read: {e}"))?;
        parse(&answer)
    }
}

/// The status and JSON body of a whole HTTP/1.1 response (`Content-Length` framed).
pub fn parse(answer: &[u8]) -> Result<(u16, Value), String> {
    let text = std::str::from_utf8(answer).map_err(|_| "a response that is not UTF-8".to_owned())?;
    let (head, body) = text.split_once("\r\n\r\n").ok_or("a response without a header end")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("a response without a status: {head}"))?;
    Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}
