//! A custom `SnapshotStore`: JSON files in a directory, checked by the public conformance suite.
//!
//! Layout: `DIR/closes/<topic>/<YYYY-MM-DD>.json` (an array of quotes in the wire format) and
//! `DIR/checkpoints/<topic>.json`. Every write goes to a temporary file that is then renamed over
//! the old one, so a save is all-or-nothing even if the process dies midway. File work runs in
//! `spawn_blocking`, never on the async threads.
//!
//! Run with:
//!
//! ```text
//! cargo run -p market-feed --example custom_store
//! ```
//!
//! (`cargo test -p market-feed --example custom_store` runs the same suite as a test.)

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    sync::Arc,
};

use async_trait::async_trait;
use market_feed::model::{Quote, Topic};
use market_feed::store::{
    Checkpoint, ClosingSnapshot, ReferenceDoc, SnapshotStore, StoreError, conformance,
    validate_quote, validate_reference_name,
};
use serde::{Deserialize, Serialize};
use time::{Date, macros::format_description};

/// A snapshot store writing one JSON file per (topic, trading day).
#[derive(Debug, Clone)]
struct JsonDirStore {
    dir: Arc<PathBuf>,
}

/// A reference document on disk: the fetch time and the opaque bytes.
#[derive(Serialize, Deserialize)]
struct ReferenceFile {
    fetched_at: i64,
    body: Vec<u8>,
}

/// The file of reference document `name` (`:` is not allowed in every file system; `~` never
/// appears in a valid name, so the mapping is one to one).
fn reference_path(dir: &Path, name: &str) -> PathBuf {
    dir.join("references")
        .join(format!("{}.json", name.replace(':', "~")))
}

#[derive(Serialize, Deserialize)]
struct CheckpointFile {
    trading_day: String,
    quotes: Vec<Quote>,
}

impl JsonDirStore {
    fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: Arc::new(dir.into()),
        }
    }

    /// Runs file work on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Path) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let dir = Arc::clone(&self.dir);
        let location = dir.display().to_string();
        tokio::task::spawn_blocking(move || f(&dir))
            .await
            .map_err(|e| StoreError::Database {
                location,
                source: Box::new(e),
            })?
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Database {
        location: path.display().to_string(),
        source: Box::new(e),
    }
}

fn day_name(day: Date) -> String {
    day.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

fn parse_day(name: &str) -> Option<Date> {
    Date::parse(name, format_description!("[year]-[month]-[day]")).ok()
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                location: path.display().to_string(),
                detail: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Writes `value` to a temporary file and renames it over `path`: the old file or the new one,
/// never half of each.
fn write_json(path: &Path, value: &impl Serialize) -> Result<(), StoreError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io_err(parent))?;
    let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Database {
        location: path.display().to_string(),
        source: e.into(),
    })?;
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))
}

/// The stored days of a topic, ascending.
fn days_of(dir: &Path, topic: Topic) -> Result<Vec<Date>, StoreError> {
    let topic_dir = dir.join("closes").join(topic.as_str());
    let entries = match fs::read_dir(&topic_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(&topic_dir)(e)),
    };
    let mut days: Vec<Date> = entries
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".json")
                .and_then(parse_day)
        })
        .collect();
    days.sort();
    Ok(days)
}

fn close_path(dir: &Path, topic: Topic, day: Date) -> PathBuf {
    dir.join("closes")
        .join(topic.as_str())
        .join(format!("{}.json", day_name(day)))
}

fn load_day(dir: &Path, topic: Topic, day: Date) -> Result<Vec<Quote>, StoreError> {
    Ok(read_json(&close_path(dir, topic, day))?.unwrap_or_default())
}

#[async_trait]
impl SnapshotStore for JsonDirStore {
    async fn save_close(
        &self,
        topic: Topic,
        day: Date,
        quotes: &[Quote],
    ) -> Result<(), StoreError> {
        quotes.iter().try_for_each(validate_quote)?;
        if quotes.is_empty() {
            return Ok(());
        }
        let quotes = quotes.to_vec();
        self.blocking(move |dir| {
            // Upsert: merge into the stored day by key; later duplicates overwrite earlier ones.
            let mut merged: BTreeMap<String, Quote> = load_day(dir, topic, day)?
                .into_iter()
                .map(|q| (q.key.to_string(), q))
                .collect();
            merged.extend(quotes.into_iter().map(|q| (q.key.to_string(), q)));
            write_json(
                &close_path(dir, topic, day),
                &merged.into_values().collect::<Vec<_>>(),
            )
        })
        .await
    }

    async fn load_close(
        &self,
        topic: Topic,
        day: Date,
    ) -> Result<Option<ClosingSnapshot>, StoreError> {
        self.blocking(move |dir| {
            let quotes = load_day(dir, topic, day)?;
            Ok((!quotes.is_empty()).then(|| ClosingSnapshot::new(topic, day, quotes)))
        })
        .await
    }

    async fn latest_closes(&self, topic: Topic) -> Result<Option<ClosingSnapshot>, StoreError> {
        self.blocking(move |dir| {
            let days = days_of(dir, topic)?;
            let mut latest: BTreeMap<String, Quote> = BTreeMap::new();
            for day in &days {
                latest.extend(
                    load_day(dir, topic, *day)?
                        .into_iter()
                        .map(|q| (q.key.to_string(), q)),
                );
            }
            Ok(days
                .last()
                .map(|d| ClosingSnapshot::new(topic, *d, latest.into_values().collect())))
        })
        .await
    }

    async fn trading_days(
        &self,
        topic: Topic,
        from: Date,
        to: Date,
    ) -> Result<Vec<Date>, StoreError> {
        self.blocking(move |dir| {
            Ok(days_of(dir, topic)?
                .into_iter()
                .filter(|d| (from..=to).contains(d))
                .collect())
        })
        .await
    }

    async fn save_checkpoint(
        &self,
        topic: Topic,
        day: Date,
        quotes: &[Quote],
    ) -> Result<(), StoreError> {
        quotes.iter().try_for_each(validate_quote)?;
        if quotes.is_empty() {
            return Ok(());
        }
        let mut deduped: BTreeMap<String, Quote> = BTreeMap::new();
        deduped.extend(quotes.iter().map(|q| (q.key.to_string(), q.clone())));
        let file = CheckpointFile {
            trading_day: day_name(day),
            quotes: deduped.into_values().collect(),
        };
        self.blocking(move |dir| {
            write_json(
                &dir.join("checkpoints").join(format!("{topic}.json")),
                &file,
            )
        })
        .await
    }

    async fn load_checkpoint(&self, topic: Topic) -> Result<Option<Checkpoint>, StoreError> {
        self.blocking(move |dir| {
            let path = dir.join("checkpoints").join(format!("{topic}.json"));
            let Some(file) = read_json::<CheckpointFile>(&path)? else {
                return Ok(None);
            };
            let day = parse_day(&file.trading_day).ok_or_else(|| StoreError::Corrupt {
                location: path.display().to_string(),
                detail: format!("bad trading_day {:?}", file.trading_day),
            })?;
            Ok(Some(Checkpoint::new(topic, day, file.quotes)))
        })
        .await
    }

    async fn prune(&self, older_than: Date) -> Result<u64, StoreError> {
        let removed = self
            .blocking(move |dir| {
                let mut removed = 0;
                for topic in Topic::ALL {
                    for day in days_of(dir, topic)?.into_iter().filter(|d| *d < older_than) {
                        let path = close_path(dir, topic, day);
                        fs::remove_file(&path).map_err(io_err(&path))?;
                        removed += 1;
                    }
                }
                Ok(removed)
            })
            .await?;
        for topic in Topic::ALL {
            if let Some(cp) = self.load_checkpoint(topic).await? {
                if cp.trading_day < older_than {
                    let path = self.dir.join("checkpoints").join(format!("{topic}.json"));
                    self.blocking(move |_| fs::remove_file(&path).map_err(io_err(&path)))
                        .await?;
                }
            }
        }
        Ok(removed)
    }

    async fn save_reference(&self, name: &str, doc: &ReferenceDoc) -> Result<(), StoreError> {
        validate_reference_name(name)?;
        let (name, doc) = (name.to_owned(), doc.clone());
        self.blocking(move |dir| {
            let file = ReferenceFile {
                fetched_at: doc.fetched_at,
                body: doc.body,
            };
            write_json(&reference_path(dir, &name), &file)
        })
        .await
    }

    async fn load_reference(&self, name: &str) -> Result<Option<ReferenceDoc>, StoreError> {
        validate_reference_name(name)?;
        let name = name.to_owned();
        self.blocking(move |dir| {
            let file: Option<ReferenceFile> = read_json(&reference_path(dir, &name))?;
            Ok(file.map(|f| ReferenceDoc::new(f.fetched_at, f.body)))
        })
        .await
    }
}

/// Runs the whole conformance suite, each case in a fresh sub-directory of `root`.
async fn check_conformance(root: &Path) {
    let mut n = 0;
    conformance::run_all(|| {
        n += 1;
        let store = JsonDirStore::new(root.join(format!("case{n}")));
        async move { Arc::new(store) as Arc<dyn SnapshotStore> }
    })
    .await;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = tempfile::tempdir()?;
    check_conformance(root.path()).await;
    println!(
        "JsonDirStore passed all {} conformance cases ({})",
        conformance::CASES.len(),
        conformance::CASES
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn json_dir_store_conforms() {
        let root = tempfile::tempdir().unwrap();
        super::check_conformance(root.path()).await;
    }
}
