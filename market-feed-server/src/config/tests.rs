//! Tests of option parsing, the config file and precedence.

use clap::Parser;

use super::*;

fn parse(args: &[&str]) -> Result<Config, ConfigError> {
    let argv = std::iter::once("market-feed-server").chain(args.iter().copied());
    match parse_args(argv)? {
        Parsed::Run(c) => Ok(*c),
        Parsed::Exit(text) => panic!("unexpected exit: {text}"),
    }
}

#[test]
fn bad_options_are_one_line_naming_the_option() {
    let cases: [&[&str]; 13] = [
        &["--clock", "at:yesterday"],
        &["--calendar-refresh", "sometimes"],
        &["--listen", "nowhere"],
        &["--log-format", "xml"],
        &["--no-such-option"],
        &["--prices-interval", "5"],
        &["--indices-interval", "0s"],
        &["--store", "mysql://x"],
        &["--source", "bloomberg"],
        &["--max-connections", "lots"],
        &["--resume-window", "many"],
        &["--resume-window", "100001"],
        &["--slow-consumer-timeout", "soon"],
    ];
    for args in cases {
        let err = parse(args).unwrap_err().to_string();
        assert!(!err.contains('\n'), "{err}");
        assert!(err.contains(args[0]), "{err} should name {}", args[0]);
    }
}

#[test]
fn cors_origins_must_be_origins() {
    for (origin, hint) in [
        ("*", "leave out --cors-origin"),
        ("https://app.example/", "trailing slash"),
        ("app.example", "scheme://host"),
        ("ftp://app.example", "http or https"),
        ("https://app.example/path", "no path"),
    ] {
        let err = parse(&["--cors-origin", origin]).unwrap_err().to_string();
        assert!(
            err.starts_with("--cors-origin ") && err.contains(hint) && !err.contains('\n'),
            "{origin}: {err}"
        );
    }
    let ok = parse(&["--cors-origin", "http://localhost:3000"]).unwrap();
    assert_eq!(ok.cors_origins, ["http://localhost:3000"]);
}

#[test]
fn bad_calendar_file_names_the_option_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cal.toml");
    std::fs::write(
        &path,
        "years = [2026]\n[[holiday]]\ndate = \"2026-02-30\"\nname = \"x\"\n",
    )
    .unwrap();
    let err = parse(&["--calendar", path.to_str().unwrap()])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("--calendar: ") && err.contains("cal.toml") && !err.contains('\n'),
        "{err}"
    );
    let missing = parse(&["--calendar", "/nonexistent/cal.toml"])
        .unwrap_err()
        .to_string();
    assert!(missing.contains("/nonexistent/cal.toml"), "{missing}");
}

#[test]
fn help_exits_zero_and_documents_every_option() {
    let argv = ["market-feed-server", "--help"];
    match parse_args(argv).unwrap() {
        Parsed::Exit(text) => {
            for opt in [
                "--config",
                "--listen",
                "--source",
                "--upstox-base-url",
                "--upstox-token-file",
                "--store",
                "--universe",
                "--upstox-assets-url",
                "--calendar",
                "--calendar-refresh",
                "--clock",
                "--demo",
                "--indices-interval",
                "--prices-interval",
                "--auth-token",
                "--allowed-origin",
                "--max-connections",
                "--max-http-connections",
                "--resume-window",
                "--header-timeout",
                "--heartbeat-interval",
                "--slow-consumer-timeout",
                "--log-format",
                "MARKET_FEED_LISTEN",
                "UPSTOX_BASE_URL",
                "MARKET_FEED_AUTH_TOKENS",
            ] {
                assert!(text.contains(opt), "--help does not mention {opt}");
            }
        }
        Parsed::Run(_) => panic!("--help should not run"),
    }
}

#[test]
fn defaults_match_the_protocol() {
    let c = Config::from_cli(Cli::parse_from(["market-feed-server"]), false, None).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.store, "sqlite://market-feed.db");
    assert_eq!(c.indices_interval, Duration::from_secs(5));
    assert_eq!(c.prices_interval, Duration::from_secs(120));
    assert_eq!(c.max_connections, 10_000);
    assert_eq!(c.resume_window, 64);
    assert_eq!(c.max_http_connections, 10_000);
    assert_eq!(c.header_timeout, Duration::from_secs(30));
    assert_eq!(c.heartbeat_interval, Duration::from_secs(20));
    assert_eq!(c.slow_consumer_timeout, Duration::from_secs(30));
    assert_eq!(c.upstox.base_url, "https://api.upstox.com");
    assert_eq!(c.source.kind, SourceKind::Simulated);
    assert!(c.source.reason.contains("UPSTOX_ACCESS_TOKEN"));
    assert!(c.auth_tokens.is_empty());
}

#[test]
fn source_defaults_to_upstox_with_a_token_and_never_prints_it() {
    let c = Config::from_cli(
        Cli::parse_from(["market-feed-server"]),
        false,
        Some("s3cret".into()),
    )
    .unwrap();
    assert_eq!(c.source.kind, SourceKind::Upstox);
    assert!(!format!("{c:?}").contains("s3cret"));
    let err =
        Config::from_cli(Cli::parse_from(["x", "--source", "upstox"]), false, None).unwrap_err();
    assert!(err.to_string().contains("UPSTOX_ACCESS_TOKEN"));
    let err = Config::from_cli(
        Cli::parse_from(["x", "--demo", "--source", "upstox"]),
        false,
        Some("t".into()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("--demo"));
}

#[test]
fn demo_replays_its_recorded_day_under_its_own_date_unless_a_clock_is_given() {
    let c = Config::from_cli(Cli::parse_from(["x", "--demo"]), false, None).unwrap();
    assert_eq!(c.source.kind, SourceKind::ReplayStream);
    assert!(matches!(
        c.clock.time_source(),
        market_feed::clock::TimeSource::Scheduled { .. }
    ));
    // The clock reads 2026-01-29, closed, a few minutes before pre-open.
    let status = c.clock.status();
    assert_eq!(status.trading_day, time::macros::date!(2026 - 01 - 29));
    assert_eq!(status.phase.as_str(), "closed");
    assert_eq!(
        market_feed::clock::ist_date(c.clock.now()),
        time::macros::date!(2026 - 01 - 29)
    );
    let c = parse(&["--demo", "--clock", "at:2026-01-29T10:00:00+05:30x10"]).unwrap();
    assert_eq!(c.clock.time_source().speed(), 10.0);
}

#[test]
fn config_file_sets_options_and_the_command_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:9999\"\nprices-interval = \"30s\"\nauth-token = [\"a\", \"b\"]\nmax-connections = 7\ndemo = false\nclock = \"at:2026-01-29T10:00:00+05:30\"\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let c = parse(&["--config", p]).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:9999");
    assert_eq!(c.prices_interval, Duration::from_secs(30));
    assert_eq!(c.auth_tokens.len(), 2);
    assert_eq!(c.max_connections, 7);
    assert_eq!(c.clock.status().phase.as_str(), "open");
    let c = parse(&[
        "--config",
        p,
        "--listen",
        "127.0.0.1:1234",
        "--auth-token",
        "z",
    ])
    .unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:1234");
    assert_eq!(c.auth_tokens, vec![Secret::new("z")]);
}

#[test]
fn bad_config_files_name_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("colour = \"blue\"\n", "unknown key \"colour\""),
        ("listen = \"a\"\nlisten = \"b\"\n", "duplicate key"),
        ("demo = \"yes\"\n", "demo: expected true or false"),
        ("prices-interval = \"forever\"\n", "--prices-interval"),
    ];
    for (i, (text, needle)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let err = parse(&["--config", path.to_str().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(needle) && !err.contains('\n'),
            "{text:?}: {err}"
        );
    }
    let err = parse(&["--config", "/nonexistent.toml"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent.toml"), "{err}");
}

#[test]
fn demo_keeps_its_own_store_unless_one_is_given() {
    assert_eq!(parse(&["--demo"]).unwrap().store, DEMO_STORE);
    assert_eq!(
        parse(&["--demo", "--store", "memory"]).unwrap().store,
        "memory"
    );
    assert_eq!(parse(&[]).unwrap().store, DEFAULT_STORE);
}

#[test]
fn calendar_refresh_defaults_to_on_with_upstox_only() {
    let cfg = |args: &[&str], token: Option<&str>| {
        let argv = std::iter::once("market-feed-server").chain(args.iter().copied());
        Config::from_cli(Cli::parse_from(argv), false, token.map(str::to_owned)).unwrap()
    };
    assert!(cfg(&[], Some("t")).calendar_refresh, "upstox: on");
    assert!(!cfg(&[], None).calendar_refresh, "simulated: off");
    assert!(!cfg(&["--calendar-refresh", "off"], Some("t")).calendar_refresh);
    assert!(cfg(&["--source", "replay", "--calendar-refresh", "on"], None).calendar_refresh);
}

/// `--help` and `docs/operations.md` describe the same options, and say the same thing where a
/// user trial found them disagreeing (one source of truth: the option's doc comment).
#[test]
fn help_and_the_operations_guide_agree() {
    use clap::CommandFactory;
    let guide = include_str!("../../../docs/operations.md");
    let cmd = Cli::command();
    let mut help = Vec::new();
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if long == "help" || long == "version" {
            continue;
        }
        assert!(
            guide.contains(&format!("| `--{long}")),
            "docs/operations.md has no row for --{long}"
        );
        help.push((
            long,
            arg.get_help().map(|h| h.to_string()).unwrap_or_default(),
        ));
    }
    // Every option in the guide's table exists.
    for row in guide.lines().filter(|l| l.starts_with("| `--")) {
        let long = &row[5..row[5..].find([' ', '`']).map_or(row.len(), |i| i + 5)];
        assert!(
            help.iter().any(|(l, _)| *l == long),
            "docs/operations.md documents --{long}, which --help does not have"
        );
    }
    let help_of = |name: &str| help.iter().find(|(l, _)| *l == name).unwrap().1.clone();
    let row_of = |name: &str| {
        guide
            .lines()
            .find(|l| l.starts_with(&format!("| `--{name}")))
            .unwrap()
            .to_owned()
    };
    for (option, phrase) in [
        ("demo", "2026-01-29"),
        ("demo", "derived from their members"),
        ("demo", "the clock stops"),
        ("retention-days", "every 6 hours"),
    ] {
        assert!(
            help_of(option).contains(phrase),
            "--help of --{option} lacks {phrase:?}"
        );
        assert!(
            row_of(option).contains(phrase),
            "the guide's --{option} lacks {phrase:?}"
        );
    }
}

#[test]
fn cluster_options_need_a_postgres_store_a_usable_name_and_lease() {
    const PG: &str = "postgres://u@h/db";
    let cases: [(&[&str], &str); 5] = [
        (&["--cluster", "nats://127.0.0.1:4222"], "--cluster"),
        (
            &["--cluster", "nats://n:4222", "--store", "sqlite://x.db"],
            "--cluster",
        ),
        (
            &[
                "--cluster",
                "nats://n:4222",
                "--store",
                PG,
                "--cluster-name",
                "a.b",
            ],
            "--cluster-name",
        ),
        (
            &[
                "--cluster",
                "nats://n:4222",
                "--store",
                PG,
                "--cluster-lease",
                "500ms",
            ],
            "--cluster-lease",
        ),
        (
            &[
                "--cluster",
                "nats://n:4222",
                "--store",
                PG,
                "--node-id",
                " ",
            ],
            "--node-id",
        ),
    ];
    for (args, names) in cases {
        let err = parse(args).unwrap_err().to_string();
        assert!(
            err.contains(names) && !err.contains('\n'),
            "{args:?}: {err}"
        );
    }
    let c = parse(&["--cluster", "nats://n:4222", "--store", PG]).unwrap();
    let cluster = c.cluster.unwrap();
    assert_eq!(
        (cluster.name.as_str(), cluster.lease),
        ("market-feed", std::time::Duration::from_secs(10))
    );
    assert!(cluster.node.ends_with(&format!("-{}", std::process::id())));
    assert!(parse(&[]).unwrap().cluster.is_none());
}
