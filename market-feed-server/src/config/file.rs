//! The `--config` TOML file: its keys are the long option names, and its values become clap
//! defaults, so the command line and the environment win over it.

use std::{ffi::OsString, path::PathBuf};

use super::ConfigError;

/// Finds `--config PATH` / `--config=PATH` on the command line, else `MARKET_FEED_CONFIG`.
pub(super) fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let a = a.to_string_lossy();
        if a == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(p) = a.strip_prefix("--config=") {
            return Some(PathBuf::from(p));
        }
    }
    std::env::var_os("MARKET_FEED_CONFIG").map(PathBuf::from)
}

pub(super) fn apply_file_defaults(
    mut cmd: clap::Command,
    path: &PathBuf,
) -> Result<clap::Command, ConfigError> {
    let file_err = |message: String| ConfigError::File {
        path: path.display().to_string(),
        message,
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| file_err(format!("cannot read it: {e}")))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let msg = e.message().replace('\n', " ");
        file_err(match line {
            Some(l) => format!("line {l}: {msg}"),
            None => msg,
        })
    })?;
    for (key, value) in table {
        let long = key.replace('_', "-");
        let known = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()) && long != "config")
            .map(|a| (a.get_id().clone(), a.get_action().takes_values()));
        let Some((id, takes_values)) = known else {
            return Err(file_err(format!(
                "unknown key {key:?}: keys are the long option names of --help, e.g. listen, prices-interval"
            )));
        };
        let values: Vec<String> = match (&value, takes_values) {
            (toml::Value::Boolean(b), false) => vec![b.to_string()],
            (toml::Value::String(s), true) => vec![s.clone()],
            (toml::Value::Integer(i), true) => vec![i.to_string()],
            (toml::Value::Array(items), true) => items
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s.clone()),
                    other => Err(file_err(format!(
                        "{key}: list items must be strings, not {other}"
                    ))),
                })
                .collect::<Result<_, _>>()?,
            (other, true) => {
                return Err(file_err(format!("{key}: expected a string, not {other}")));
            }
            (other, false) => {
                return Err(file_err(format!(
                    "{key}: expected true or false, not {other}"
                )));
            }
        };
        cmd = cmd.mut_arg(id, |a| a.default_values(values));
    }
    Ok(cmd)
}
