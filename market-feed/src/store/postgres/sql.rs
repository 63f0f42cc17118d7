//! The SQL text of the PostgreSQL store's statements, with the schema name filled in once.

/// The statements, with the schema name filled in once.
pub(super) struct Sql {
    pub(super) upsert_close: String,
    pub(super) load_close: String,
    pub(super) latest: String,
    pub(super) days: String,
    pub(super) checkpoint_header: String,
    pub(super) checkpoint_clear: String,
    pub(super) checkpoint_insert: String,
    pub(super) checkpoint_load_header: String,
    pub(super) checkpoint_load_quotes: String,
    pub(super) prune_count: String,
    /// Closes, then checkpoint quotes, then checkpoint headers, each with `$1` = cut-off.
    pub(super) prune: [String; 3],
    pub(super) reference_save: String,
    pub(super) reference_load: String,
}

/// The 11 quote columns, in the order `read_quote` expects.
const COLS: &str = "key, symbol, ltp, prev_close, change, change_pct, open, high, low, volume, ts";
/// `UNNEST` of the 11 quote column arrays (in [`COLS`] order), numbered from `$first`.
fn unnest(first: usize) -> String {
    let types = [
        "text", "text", "float8", "float8", "float8", "float8", "float8", "float8", "float8",
        "int8", "int8",
    ];
    let args: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::{t}[]", first + i))
        .collect();
    format!("UNNEST({})", args.join(", "))
}

impl Sql {
    pub(super) fn new(s: &str) -> Self {
        let (unnest3, unnest2) = (unnest(3), unnest(2));
        Self {
            upsert_close: format!(
                "INSERT INTO {s}.closes (trading_day, topic, {COLS}) \
                 SELECT $1::date, $2::text, u.* FROM {unnest3} AS u \
                 ON CONFLICT (trading_day, topic, key) DO UPDATE SET symbol = EXCLUDED.symbol, \
                 ltp = EXCLUDED.ltp, prev_close = EXCLUDED.prev_close, change = EXCLUDED.change, \
                 change_pct = EXCLUDED.change_pct, open = EXCLUDED.open, high = EXCLUDED.high, \
                 low = EXCLUDED.low, volume = EXCLUDED.volume, ts = EXCLUDED.ts"
            ),
            load_close: format!(
                "SELECT {COLS} FROM {s}.closes WHERE topic = $1 AND trading_day = $2"
            ),
            // The window runs before DISTINCT ON: the newest day over all rows of the topic.
            latest: format!(
                "SELECT DISTINCT ON (key) {COLS}, MAX(trading_day) OVER () AS newest \
                 FROM {s}.closes WHERE topic = $1 ORDER BY key, trading_day DESC"
            ),
            days: format!(
                "SELECT DISTINCT trading_day FROM {s}.closes WHERE topic = $1 \
                 AND trading_day BETWEEN $2 AND $3 ORDER BY trading_day"
            ),
            checkpoint_header: format!(
                "INSERT INTO {s}.checkpoints (topic, trading_day, as_of) VALUES ($1, $2, $3) \
                 ON CONFLICT (topic) DO UPDATE SET trading_day = EXCLUDED.trading_day, \
                 as_of = EXCLUDED.as_of"
            ),
            checkpoint_clear: format!("DELETE FROM {s}.checkpoint_quotes WHERE topic = $1"),
            checkpoint_insert: format!(
                "INSERT INTO {s}.checkpoint_quotes (topic, {COLS}) \
                 SELECT $1::text, u.* FROM {unnest2} AS u"
            ),
            checkpoint_load_header: format!(
                "SELECT trading_day FROM {s}.checkpoints WHERE topic = $1"
            ),
            checkpoint_load_quotes: format!(
                "SELECT {COLS} FROM {s}.checkpoint_quotes WHERE topic = $1"
            ),
            prune_count: format!(
                "SELECT COUNT(*) FROM (SELECT DISTINCT topic, trading_day FROM {s}.closes \
                 WHERE trading_day < $1) d"
            ),
            prune: [
                format!("DELETE FROM {s}.closes WHERE trading_day < $1"),
                format!(
                    "DELETE FROM {s}.checkpoint_quotes WHERE topic IN \
                     (SELECT topic FROM {s}.checkpoints WHERE trading_day < $1)"
                ),
                format!("DELETE FROM {s}.checkpoints WHERE trading_day < $1"),
            ],
            reference_save: format!(
                "INSERT INTO {s}.reference_docs (name, fetched_at, body) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET fetched_at = EXCLUDED.fetched_at, \
                 body = EXCLUDED.body"
            ),
            reference_load: format!(
                "SELECT fetched_at, body FROM {s}.reference_docs WHERE name = $1"
            ),
        }
    }
}
