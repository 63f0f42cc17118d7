//! Names a cluster may use, and URLs as they may be shown.

/// `url` without its user and password, for messages.
///
/// ```
/// assert_eq!(market_feed::cluster::redact_url("nats://user:secret@10.0.0.1:4222"), "nats://10.0.0.1:4222");
/// assert_eq!(market_feed::cluster::redact_url("127.0.0.1:4222"), "127.0.0.1:4222");
/// ```
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://{host}"),
            None => url.to_owned(),
        },
        None => match url.rsplit_once('@') {
            Some((_, host)) => host.to_owned(),
            None => url.to_owned(),
        },
    }
}

/// Whether `name` can name a cluster: letters, digits, `-` and `_`, 1 to 64 of them.
///
/// ```
/// assert!(market_feed::cluster::valid_cluster_name("market-feed"));
/// assert!(!market_feed::cluster::valid_cluster_name("a.b"));
/// ```
pub fn valid_cluster_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
