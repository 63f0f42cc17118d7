//! A terminal client of `market-feed-server`: a live table of the indices, over WebSocket.
//!
//! It connects to the server's `/ws` endpoint, subscribes to `indices` (`docs/protocol.md` §3), and
//! redraws a table (symbol, level, change, change %; green up, red down) on every `snapshot`
//! and `indices_update`, under a header with the market phase and `live` flag from `welcome`
//! and `market_status`. A dropped connection (server restart, network) is retried with
//! exponential backoff; Ctrl-C closes the socket and exits cleanly.
//!
//! You can run this with:
//!
//! ```text
//! cargo run -p market-feed-server                                   # in one terminal
//! cargo run -p market-feed-server --example terminal_client         # in another
//! cargo run -p market-feed-server --example terminal_client -- --url ws://127.0.0.1:8080/ws --once
//! ```
//!
//! `--once` prints one table after the first snapshot and exits (for scripts and smoke tests).
//! `--token TOKEN` (or env `MARKET_FEED_TOKEN`) sends `Authorization: Bearer TOKEN` to a
//! server started with `--auth-token`. Only `ws://` URLs are supported: the example is built
//! without TLS.

use std::{
    collections::BTreeMap,
    error::Error,
    fmt::Write as _,
    io::{IsTerminal, Write as _},
    process::ExitCode,
    time::Duration,
};

use clap::Parser;
use futures::{SinkExt, StreamExt};
use market_feed::{
    clock::{IST, from_ms},
    model::Quote,
};
use serde::Deserialize;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{
        Error as WsError, Message,
        client::IntoClientRequest,
        http::{HeaderValue, header::AUTHORIZATION},
        protocol::{CloseFrame, frame::coding::CloseCode},
    },
};

/// Live index levels from a market-feed server.
#[derive(Debug, Parser)]
#[command(name = "terminal_client")]
struct Args {
    /// The server's WebSocket endpoint.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// Print one table after the first snapshot, then exit.
    #[arg(long)]
    once: bool,
    /// A client token, for a server started with --auth-token.
    #[arg(long, env = "MARKET_FEED_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

/// The first retry waits this long; each failure doubles it, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// With `--once`, give up after this many failed connection attempts in a row.
const ONCE_ATTEMPTS: u32 = 6;

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// The market status fields the header shows (`docs/protocol.md` §2).
#[derive(Debug, Clone, Deserialize)]
struct MarketStatus {
    exchange: String,
    phase: String,
    live: bool,
    trading_day: String,
    next_change: i64,
    next_phase: String,
    reason: Option<String>,
}

/// A message from the server, as far as this client cares.
#[derive(Debug, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum ServerMessage {
    Welcome {
        market: MarketStatus,
    },
    MarketStatus(MarketStatus),
    Snapshot {
        topic: String,
        seq: u64,
        live: bool,
        source: String,
        as_of: Option<i64>,
        data: Vec<Quote>,
    },
    IndicesUpdate {
        seq: u64,
        data: Vec<Quote>,
    },
    FeedStatus {
        topic: String,
        state: String,
        detail: String,
    },
    Error {
        code: String,
        message: String,
    },
    #[serde(other)]
    Other,
}

/// Everything the screen shows.
#[derive(Debug, Default)]
struct Screen {
    url: String,
    market: Option<MarketStatus>,
    /// Index quotes in the server's (universe) order, by key.
    order: Vec<String>,
    quotes: BTreeMap<String, Quote>,
    seq: u64,
    live: bool,
    source: String,
    as_of: Option<i64>,
    feed: Option<String>,
    note: Option<String>,
    has_snapshot: bool,
}

/// How one connection ended.
enum Ended {
    /// The user pressed Ctrl-C.
    Interrupted,
    /// `--once` printed its table.
    Done,
    /// The connection dropped after it had worked: reconnect at once.
    Dropped(String),
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let result = run(&args).await;
    // Whatever happened, leave the terminal with a visible cursor and default colors.
    if std::io::stdout().is_terminal() && !args.once {
        print!("\x1b[0m\x1b[?25h");
        let _ = std::io::stdout().flush();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("terminal_client: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let mut screen = Screen {
        url: args.url.clone(),
        ..Screen::default()
    };
    let mut backoff = FIRST_BACKOFF;
    let mut failures = 0;
    loop {
        let connecting = connect(args);
        let socket = tokio::select! {
            r = connecting => r,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let why = match socket {
            Ok(socket) => {
                backoff = FIRST_BACKOFF;
                failures = 0;
                match session(socket, &mut screen, args).await? {
                    Ended::Interrupted | Ended::Done => return Ok(()),
                    Ended::Dropped(why) => why,
                }
            }
            Err(Failure::Fatal(message)) => return Err(message.into()),
            Err(Failure::Retry(e)) => {
                failures += 1;
                if args.once && failures >= ONCE_ATTEMPTS {
                    return Err(format!(
                        "cannot connect to {} after {failures} attempts: {e}: is market-feed-server running there?",
                        args.url
                    )
                    .into());
                }
                e
            }
        };
        let wait = jitter(backoff);
        screen.note = Some(format!(
            "disconnected ({why}); reconnecting in {:.1} s",
            wait.as_secs_f64()
        ));
        if args.once {
            eprintln!("terminal_client: {}", screen.note.as_deref().unwrap_or(""));
        } else {
            render(&screen, false);
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Why a connection attempt failed.
enum Failure {
    /// Retrying will not help (bad URL, refused token, wrong path): stop with this message.
    Fatal(String),
    /// The server may come back (not running, restarting, at its connection limit).
    Retry(String),
}

/// Opens the WebSocket, with the token if there is one.
async fn connect(args: &Args) -> Result<Socket, Failure> {
    let mut request = args.url.as_str().into_client_request().map_err(|e| {
        Failure::Fatal(format!(
            "--url {:?}: {e}: give a URL such as ws://127.0.0.1:8080/ws",
            args.url
        ))
    })?;
    if let Some(token) = &args.token {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| Failure::Fatal("--token must be printable ASCII".to_owned()))?;
        request.headers_mut().insert(AUTHORIZATION, value);
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _response)) => Ok(socket),
        Err(WsError::Http(response)) => {
            let status = response.status();
            let body = response
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).trim().to_owned())
                .unwrap_or_default();
            let what = format!("the server answered {status} {body}");
            Err(match status.as_u16() {
                401 => Failure::Fatal(format!(
                    "{what}: pass a client token with --token or MARKET_FEED_TOKEN"
                )),
                403 => Failure::Fatal(format!("{what}: this origin or token is not allowed")),
                404 => Failure::Fatal(format!(
                    "{what}: check the path of --url (the endpoint is /ws)"
                )),
                _ => Failure::Retry(what),
            })
        }
        Err(WsError::Url(e)) => Err(Failure::Fatal(format!(
            "--url {:?}: {e}: use a ws:// URL (this example is built without TLS)",
            args.url
        ))),
        Err(e) => Err(Failure::Retry(e.to_string())),
    }
}

/// Subscribes and shows frames until the connection ends, `--once` is done, or Ctrl-C.
///
/// Errors are fatal ones (a refused subscription); a dropped connection is `Ended::Dropped`.
async fn session(
    mut socket: Socket,
    screen: &mut Screen,
    args: &Args,
) -> Result<Ended, Box<dyn Error>> {
    let subscribe = r#"{"op":"subscribe","topics":["indices"]}"#;
    if let Err(e) = socket.send(Message::text(subscribe)).await {
        return Ok(Ended::Dropped(e.to_string()));
    }
    screen.note = None;
    loop {
        let message = tokio::select! {
            m = socket.next() => m,
            _ = tokio::signal::ctrl_c() => {
                let bye = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
                // Best effort: the process exits either way.
                let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(Some(bye))).await;
                return Ok(Ended::Interrupted);
            }
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                let why = frame.map_or_else(
                    || "closed by the server".to_owned(),
                    |f| format!("closed by the server: {} {}", u16::from(f.code), f.reason),
                );
                return Ok(Ended::Dropped(why));
            }
            // Pings are answered by tungstenite itself; binary frames are not in the protocol.
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Ok(Ended::Dropped(e.to_string())),
            None => return Ok(Ended::Dropped("connection closed".to_owned())),
        };
        let message: ServerMessage = match serde_json::from_str(text.as_str()) {
            Ok(m) => m,
            Err(e) => {
                screen.note = Some(format!(
                    "ignored a message this client does not understand: {e}"
                ));
                continue;
            }
        };
        if let ServerMessage::Error { code, message } = &message {
            return Err(format!("the server refused the subscription: {code}: {message}").into());
        }
        apply(screen, message);
        if screen.has_snapshot {
            if args.once {
                render(screen, true);
                let bye = CloseFrame {
                    code: CloseCode::Normal,
                    reason: "done".into(),
                };
                let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(Some(bye))).await;
                return Ok(Ended::Done);
            }
            render(screen, false);
        }
    }
}

/// Folds one server message into the screen's state.
fn apply(screen: &mut Screen, message: ServerMessage) {
    match message {
        ServerMessage::Welcome { market } | ServerMessage::MarketStatus(market) => {
            screen.live = market.live;
            screen.market = Some(market);
        }
        ServerMessage::Snapshot {
            topic,
            seq,
            live,
            source,
            as_of,
            data,
        } if topic == "indices" => {
            screen.order = data.iter().map(|q| q.key.to_string()).collect();
            screen.quotes = data.into_iter().map(|q| (q.key.to_string(), q)).collect();
            (screen.seq, screen.live, screen.source, screen.as_of) = (seq, live, source, as_of);
            screen.has_snapshot = true;
        }
        ServerMessage::IndicesUpdate { seq, data } => {
            if screen.seq != 0 && seq != screen.seq + 1 {
                screen.note = Some(format!("missed updates {}..{}", screen.seq + 1, seq - 1));
            }
            screen.seq = seq;
            screen.source = "live".to_owned();
            for q in data {
                let key = q.key.to_string();
                if !screen.quotes.contains_key(&key) {
                    screen.order.push(key.clone());
                }
                screen.as_of = Some(screen.as_of.map_or(q.ts, |t| t.max(q.ts)));
                screen.quotes.insert(key, q);
            }
        }
        ServerMessage::FeedStatus {
            topic,
            state,
            detail,
        } if topic == "indices" => {
            screen.feed = (state != "ok").then(|| format!("feed {state}: {detail}"));
        }
        _ => {}
    }
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Draws the screen: on a terminal, in place (clear, cursor home) and in color; with `plain`
/// or when stdout is not a terminal, as plain text appended to the output.
fn render(screen: &Screen, plain: bool) {
    let fancy = !plain && std::io::stdout().is_terminal();
    let paint = |color: &'static str| if fancy { color } else { "" };
    let (bold, dim, reset) = (paint(BOLD), paint(DIM), paint(RESET));
    let mut out = String::new();
    if fancy {
        out.push_str("\x1b[2J\x1b[H\x1b[?25l"); // clear, home, hide the cursor
    }
    let _ = writeln!(out, "{bold}market-feed{reset} {dim}{}{reset}", screen.url);
    if let Some(m) = &screen.market {
        let live = if m.live {
            format!("{}live{reset}", paint(GREEN))
        } else {
            format!("{}not live{reset}", paint(RED))
        };
        let reason = m
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{} {bold}{}{reset}{reason}, {live}; trading day {}; {} at {} IST",
            m.exchange,
            m.phase,
            m.trading_day,
            m.next_phase,
            ist(m.next_change, false),
        );
    }
    let as_of = screen
        .as_of
        .map_or_else(|| "-".to_owned(), |t| ist(t, true));
    let _ = writeln!(
        out,
        "{dim}indices seq {}, source {}, feed {}, as of {as_of} IST{reset}",
        screen.seq,
        screen.source,
        if screen.live { "live" } else { "idle" },
    );
    out.push('\n');
    let width = screen
        .quotes
        .values()
        .map(|q| q.symbol.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        out,
        "{bold}{:<width$}  {:>12}  {:>10}  {:>8}{reset}",
        "SYMBOL", "LEVEL", "CHANGE", "CHANGE %"
    );
    for q in screen.order.iter().filter_map(|k| screen.quotes.get(k)) {
        let color = match q.change.map(shown_sign) {
            Some(1) => paint(GREEN),
            Some(-1) => paint(RED),
            _ => "",
        };
        let change = q.change.map_or_else(|| "-".to_owned(), signed);
        let pct = q
            .change_pct
            .map_or_else(|| "-".to_owned(), |p| format!("{}%", signed(p)));
        let _ = writeln!(
            out,
            "{:<width$}  {:>12.2}  {color}{change:>10}  {pct:>8}{reset}",
            q.symbol, q.ltp
        );
    }
    for line in [&screen.feed, &screen.note].into_iter().flatten() {
        let _ = writeln!(out, "\n{}{line}{reset}", paint(RED));
    }
    if fancy {
        let _ = writeln!(out, "\n{dim}Ctrl-C to quit{reset}");
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

/// An instant as IST wall-clock time: `15:30` or `10:00:05`.
fn ist(ms: i64, seconds: bool) -> String {
    let t = from_ms(ms).to_offset(IST);
    if seconds {
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
    } else {
        format!("{:02}:{:02}", t.hour(), t.minute())
    }
}

/// `d` plus up to 25% more, so that many clients of a restarted server do not all reconnect
/// in the same instant.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    d + d.mul_f64(f64::from(nanos % 1000) / 4000.0)
}

/// The sign of a value as printed with two decimals: -0.004 prints as 0.00, so its sign is 0.
fn shown_sign(v: f64) -> i8 {
    let cents = (v * 100.0).round();
    if cents > 0.0 {
        1
    } else if cents < 0.0 {
        -1
    } else {
        0
    }
}

/// A change with two decimals and its sign, never "-0.00" or "+0.00".
fn signed(v: f64) -> String {
    match shown_sign(v) {
        0 => "0.00".to_owned(),
        _ => format!("{v:+.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_that_rounds_to_zero_has_no_sign() {
        assert_eq!(signed(-0.001), "0.00");
        assert_eq!(signed(0.004), "0.00");
        assert_eq!(signed(-0.9), "-0.90");
        assert_eq!(signed(3.7), "+3.70");
        assert_eq!(format!("{}%", signed(-0.0049)), "0.00%");
    }
}
