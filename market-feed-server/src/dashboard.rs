//! The built-in live dashboard page (`GET /`): plain HTML, CSS and JavaScript embedded in the
//! binary at compile time, so the server needs no files beside it and there is no build step.
//!
//! The page speaks only the WebSocket protocol of `docs/protocol.md` §3 (plus one load of instrument
//! names for search); its sources live in `market-feed-server/assets/`.

/// The HTML page.
const INDEX_HTML: &[u8] = include_bytes!("../assets/index.html");
/// The page's script.
const APP_JS: &[u8] = include_bytes!("../assets/app.js");
/// The page's style sheet.
const STYLE_CSS: &[u8] = include_bytes!("../assets/style.css");

/// The embedded asset served at `path`, as `(content type, bytes)`; `None` for any other path.
///
/// Serves `/` (and `/index.html`), `/app.js` and `/style.css`. The page refers to its script,
/// style sheet, WebSocket (`ws`) and API with relative URLs, so it also works behind a reverse
/// proxy that mounts the server under a path prefix.
///
/// ```
/// use market_feed_server::dashboard::asset;
/// let (content_type, body) = asset("/").unwrap();
/// assert_eq!(content_type, "text/html; charset=utf-8");
/// assert!(body.starts_with(b"<!doctype html>"));
/// assert_eq!(asset("/app.js").unwrap().0, "text/javascript; charset=utf-8");
/// assert!(asset("/style.css").is_some());
/// assert!(asset("/secret.txt").is_none());
/// ```
pub fn asset(path: &str) -> Option<(&'static str, &'static [u8])> {
    match path {
        "/" | "/index.html" => Some(("text/html; charset=utf-8", INDEX_HTML)),
        "/app.js" => Some(("text/javascript; charset=utf-8", APP_JS)),
        "/style.css" => Some(("text/css; charset=utf-8", STYLE_CSS)),
        _ => None,
    }
}

/// The page with the day it replays marked on its `<body>` (`data-replay="YYYY-MM-DD"`), so
/// that it says "Replay of …" from the first paint; the plain page when `replay_of` is `None`.
///
/// ```
/// use market_feed_server::dashboard::page;
/// let html = page(Some(time::macros::date!(2026 - 01 - 29)));
/// assert!(std::str::from_utf8(&html).unwrap().contains("<body data-replay=\"2026-01-29\">"));
/// assert_eq!(&page(None)[..], market_feed_server::dashboard::asset("/").unwrap().1);
/// ```
pub fn page(replay_of: Option<time::Date>) -> bytes::Bytes {
    match replay_of {
        None => bytes::Bytes::from_static(INDEX_HTML),
        Some(day) => {
            let html = String::from_utf8_lossy(INDEX_HTML);
            let day = market_feed::clock::format_date(day);
            bytes::Bytes::from(html.replacen("<body>", &format!("<body data-replay=\"{day}\">"), 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_refers_only_to_served_assets() {
        let html = std::str::from_utf8(asset("/").unwrap().1).unwrap();
        assert!(html.contains("src=\"app.js\""));
        assert!(html.contains("href=\"style.css\""));
        // No third-party or absolute URLs: the page works offline and behind a path prefix.
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("src=\"/") && !html.contains("href=\"/"));
    }

    #[test]
    fn the_page_carries_the_test_hooks() {
        let html = std::str::from_utf8(asset("/").unwrap().1).unwrap();
        let js = std::str::from_utf8(asset("/app.js").unwrap().1).unwrap();
        for id in [
            "live-badge",
            "phase",
            "next-change",
            "search",
            "stock-table",
            "feed-status",
            "conn-status",
            "last-update",
        ] {
            assert!(
                html.contains(&format!("data-testid=\"{id}\"")),
                "missing data-testid {id}"
            );
        }
        assert!(js.contains("'index-value-'") && js.contains("'index-'"));
    }

    #[test]
    fn the_page_stays_small() {
        let total: usize = ["/", "/app.js", "/style.css"]
            .iter()
            .map(|p| asset(p).unwrap().1.len())
            .sum();
        assert!(
            total < 40 * 1024,
            "html+js+css weigh {total} bytes, over 40 KiB"
        );
    }
}
