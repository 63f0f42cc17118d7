//! The monitoring files that ship in `deploy/prometheus/` fit the server: the scrape config
//! loads the rule file, every alert has the fields Alertmanager routes on, and every metric an
//! expression names is a sample the server's `/metrics` serves (read over HTTP from a live
//! server). CI also runs `promtool check` on them; this test needs nothing but the repository.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{collections::BTreeSet, path::Path};

use support::inproc::TestServer;

fn deploy(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/prometheus")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `market_feed_*` names in a PromQL expression.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("market_feed_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// Every alert as (name, expr, severity), read from the rule file's YAML lines.
fn alerts(yaml: &str) -> Vec<(String, String, Option<String>)> {
    let mut out: Vec<(String, String, Option<String>)> = Vec::new();
    for line in yaml.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("- alert: ") {
            out.push((name.trim().to_owned(), String::new(), None));
        } else if let Some(expr) = t.strip_prefix("expr: ") {
            out.last_mut().expect("expr after an alert").1 = expr.trim().to_owned();
        } else if let Some(sev) = t.strip_prefix("severity: ") {
            out.last_mut().expect("severity after an alert").2 = Some(sev.trim().to_owned());
        }
    }
    out
}

#[tokio::test]
async fn every_alert_names_metrics_the_server_exports() {
    let rules = deploy("alerts.yml");
    let alerts = alerts(&rules);
    let names: Vec<&str> = alerts.iter().map(|a| a.0.as_str()).collect();
    // The alerts operators were promised.
    for want in [
        "MarketFeedNotReady",
        "MarketFeedStaleInMarketHours",
        "MarketFeedUnauthorized",
        "MarketFeedEndOfDaySnapshotMissing",
        "MarketFeedCalendarCoverageEnding",
        "MarketFeedConnectionLimitNear",
    ] {
        assert!(names.contains(&want), "alerts.yml lacks {want}: {names:?}");
    }
    for (name, expr, severity) in &alerts {
        assert!(!expr.is_empty(), "{name} has no expr");
        assert!(severity.is_some(), "{name} has no severity label");
        assert_eq!(
            expr.matches('(').count(),
            expr.matches(')').count(),
            "{name}: unbalanced parentheses in {expr}"
        );
    }

    let server = TestServer::start_live(&[]).await;
    let body = reqwest::get(format!("http://{}/metrics", server.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    server.stop().await;
    let exported: BTreeSet<&str> = body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    for (name, expr, _) in &alerts {
        for metric in metric_names(expr) {
            assert!(
                exported.contains(metric.as_str()),
                "{name} uses {metric}, which /metrics does not export"
            );
        }
    }
}

#[test]
fn the_scrape_config_loads_the_rules_and_scrapes_metrics() {
    let config = deploy("prometheus.yml");
    assert!(config.contains("rule_files:") && config.contains("- alerts.yml"));
    assert!(config.contains("job_name: market-feed"));
    assert!(config.contains("metrics_path: /metrics"));
    // The rule file's `up{job=...}` matches the scrape job's name.
    assert!(deploy("alerts.yml").contains("up{job=\"market-feed\"}"));
}

#[test]
fn metric_names_are_found_in_expressions() {
    assert_eq!(
        metric_names("rate(market_feed_a_total[5m]) > 0 and on () market_feed_b == 1"),
        BTreeSet::from(["market_feed_a_total".to_owned(), "market_feed_b".to_owned()])
    );
}
