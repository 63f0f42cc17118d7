//! The Upstox access token: where it comes from (the `UPSTOX_ACCESS_TOKEN` variable or a token
//! file), reloading it after a 401, remembering that the broker refused it (so that no caller
//! sends it again), and keeping it out of every log, error and `Debug` output.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use crate::source::SourceError;

/// The environment variable holding the access token.
///
/// ```
/// assert_eq!(market_feed::source::upstox::TOKEN_ENV, "UPSTOX_ACCESS_TOKEN");
/// ```
pub const TOKEN_ENV: &str = "UPSTOX_ACCESS_TOKEN";

/// An access token. Its `Debug` and `Display` print `***`; only [`UpstoxToken::expose`] gives
/// the secret, for the `Authorization` header.
///
/// ```
/// use market_feed::source::upstox::UpstoxToken;
///
/// let t = UpstoxToken::new(" eyJ0eXAi.secret \n")?;
/// assert_eq!(t.expose(), "eyJ0eXAi.secret");
/// assert_eq!(format!("{t:?} {t}"), "UpstoxToken(***) ***");
/// # Ok::<(), market_feed::source::SourceError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct UpstoxToken(Arc<str>);

impl UpstoxToken {
    /// A token from text; surrounding whitespace is dropped. Empty text, or whitespace or
    /// control characters inside, are refused (they cannot go into an HTTP header).
    ///
    /// ```
    /// # use market_feed::source::upstox::UpstoxToken;
    /// assert!(UpstoxToken::new("  ").is_err());
    /// assert!(UpstoxToken::new("a b").is_err());
    /// ```
    pub fn new(text: &str) -> Result<Self, SourceError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(SourceError::Config(
                "the Upstox access token is empty: set UPSTOX_ACCESS_TOKEN or write the token into the token file".into(),
            ));
        }
        if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(SourceError::Config(
                "the Upstox access token contains spaces or control characters: write only the token".into(),
            ));
        }
        Ok(Self(Arc::from(t)))
    }

    /// The secret itself. Use it only to build the `Authorization` header.
    ///
    /// ```
    /// # use market_feed::source::upstox::UpstoxToken;
    /// assert_eq!(UpstoxToken::new("abc").unwrap().expose(), "abc");
    /// ```
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UpstoxToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UpstoxToken(***)")
    }
}

impl fmt::Display for UpstoxToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    Fixed,
    Env,
    File(PathBuf),
}

/// Holds the current token and knows how to re-read it.
///
/// The token file wins over the variable (docs/protocol.md §5). Every change of the token bumps a
/// *generation* counter, so a caller can tell cheaply whether the token changed since it last
/// looked ([`TokenProvider::generation`]); [`TokenProvider::reload`] re-reads the file (or the
/// variable) and says whether the token changed.
///
/// ```
/// use market_feed::source::upstox::TokenProvider;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("token");
/// std::fs::write(&path, "first\n").unwrap();
/// let tokens = TokenProvider::from_file(&path)?;
/// let g = tokens.generation();
/// assert!(!tokens.reload().await?); // unchanged
/// std::fs::write(&path, "second\n").unwrap();
/// assert!(tokens.reload().await?);
/// assert_eq!(tokens.current().expose(), "second");
/// assert_eq!(tokens.generation(), g + 1);
/// assert!(!format!("{tokens:?}").contains("second"));
/// # Ok::<(), market_feed::source::SourceError>(())
/// # }).unwrap();
/// ```
pub struct TokenProvider {
    origin: Origin,
    state: RwLock<(UpstoxToken, u64)>,
    /// The newest generation the broker refused (0: none). Shared by every caller, so a token
    /// refused on one topic's request is not sent again by any other.
    refused: AtomicU64,
    /// The newest generation the broker accepted (0: none yet).
    accepted: AtomicU64,
}

impl TokenProvider {
    /// A token that never changes (embedding, tests).
    ///
    /// ```
    /// # use market_feed::source::upstox::TokenProvider;
    /// assert_eq!(TokenProvider::fixed("abc").unwrap().current().expose(), "abc");
    /// ```
    pub fn fixed(token: &str) -> Result<Self, SourceError> {
        Ok(Self::with(Origin::Fixed, UpstoxToken::new(token)?))
    }

    /// The token of the `UPSTOX_ACCESS_TOKEN` variable.
    ///
    /// ```
    /// # use market_feed::source::upstox::TokenProvider;
    /// // Fails with a Config error that names the variable when it is not set.
    /// if std::env::var_os("UPSTOX_ACCESS_TOKEN").is_none() {
    ///     assert!(TokenProvider::from_env().unwrap_err().to_string().contains("UPSTOX_ACCESS_TOKEN"));
    /// }
    /// ```
    pub fn from_env() -> Result<Self, SourceError> {
        Ok(Self::with(Origin::Env, read_env()?))
    }

    /// The token in a file (its whole content, trimmed). Reads the file now: call at start-up.
    ///
    /// ```
    /// # use market_feed::source::upstox::TokenProvider;
    /// let e = TokenProvider::from_file("/nonexistent/token").unwrap_err();
    /// assert!(e.to_string().contains("/nonexistent/token"));
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        let path = path.as_ref().to_path_buf();
        let text = std::fs::read_to_string(&path).map_err(|e| file_error(&path, &e))?;
        Ok(Self::with(Origin::File(path), UpstoxToken::new(&text)?))
    }

    /// The server's rule: the file when one is given, else the variable.
    ///
    /// ```
    /// # use market_feed::source::upstox::TokenProvider;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("t");
    /// std::fs::write(&path, "from-file").unwrap();
    /// assert_eq!(TokenProvider::resolve(Some(&path)).unwrap().current().expose(), "from-file");
    /// ```
    pub fn resolve(file: Option<&Path>) -> Result<Self, SourceError> {
        match file {
            Some(path) => Self::from_file(path),
            None => Self::from_env(),
        }
    }

    fn with(origin: Origin, token: UpstoxToken) -> Self {
        Self {
            origin,
            state: RwLock::new((token, 1)),
            refused: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
        }
    }

    /// The current token.
    ///
    /// ```
    /// # use market_feed::source::upstox::TokenProvider;
    /// assert_eq!(TokenProvider::fixed("x").unwrap().current().expose(), "x");
    /// ```
    pub fn current(&self) -> UpstoxToken {
        self.read().0.clone()
    }

    /// The current token's generation: 1 at start, +1 at every change.
    ///
    /// ```
    /// # use market_feed::source::upstox::TokenProvider;
    /// assert_eq!(TokenProvider::fixed("x").unwrap().generation(), 1);
    /// ```
    pub fn generation(&self) -> u64 {
        self.read().1
    }

    /// The current token and its generation, read together.
    pub(crate) fn snapshot(&self) -> (UpstoxToken, u64) {
        self.read().clone()
    }

    /// Re-reads the token file (or the variable); returns whether the token changed. A fixed
    /// token never changes. A missing or empty file is an error and keeps the current token.
    ///
    /// ```
    /// # use market_feed::source::upstox::TokenProvider;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// assert!(!TokenProvider::fixed("x").unwrap().reload().await.unwrap());
    /// # });
    /// ```
    pub async fn reload(&self) -> Result<bool, SourceError> {
        let fresh = match &self.origin {
            Origin::Fixed => return Ok(false),
            Origin::Env => read_env()?,
            Origin::File(path) => {
                let text = tokio::fs::read_to_string(path)
                    .await
                    .map_err(|e| file_error(path, &e))?;
                UpstoxToken::new(&text)?
            }
        };
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if state.0 == fresh {
            return Ok(false);
        }
        *state = (fresh, state.1 + 1);
        Ok(true)
    }

    /// Records that the broker refused the token of `generation`: from now on
    /// [`TokenProvider::is_refused`] is true until the token changes.
    ///
    /// ```
    /// # use market_feed::source::upstox::TokenProvider;
    /// let t = TokenProvider::fixed("x").unwrap();
    /// t.refuse(t.generation());
    /// assert!(t.is_refused());
    /// ```
    pub fn refuse(&self, generation: u64) {
        self.refused.fetch_max(generation, Ordering::SeqCst);
    }

    /// Records that the broker answered a request made with the token of `generation`.
    ///
    /// ```
    /// # use market_feed::source::upstox::TokenProvider;
    /// let t = TokenProvider::fixed("x").unwrap();
    /// assert!(!t.is_accepted());
    /// t.accept(t.generation());
    /// assert!(t.is_accepted());
    /// ```
    pub fn accept(&self, generation: u64) {
        self.accepted.fetch_max(generation, Ordering::SeqCst);
    }

    /// True once the broker answered a request made with the current token. Until then a
    /// fetch sends one request first, so a refused token costs one call, not one per batch.
    ///
    /// See [`TokenProvider::accept`] for an example.
    pub fn is_accepted(&self) -> bool {
        self.generation() <= self.accepted.load(Ordering::SeqCst)
    }

    /// True while the current token is one the broker refused (no request should carry it).
    ///
    /// ```
    /// # use market_feed::source::upstox::TokenProvider;
    /// assert!(!TokenProvider::fixed("x").unwrap().is_refused());
    /// ```
    pub fn is_refused(&self) -> bool {
        self.generation() <= self.refused.load(Ordering::SeqCst)
    }

    /// Whether the current token may be sent: true unless the broker refused it, in which case
    /// the file (or variable) is re-read first and a changed token is usable at once. The same
    /// answer for every caller: a new token is not "used up" by the first one that sees it.
    ///
    /// ```
    /// # use market_feed::source::upstox::TokenProvider;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("token");
    /// std::fs::write(&path, "old").unwrap();
    /// let t = TokenProvider::from_file(&path).unwrap();
    /// t.refuse(t.generation());
    /// assert!(!t.usable().await);
    /// std::fs::write(&path, "new").unwrap();
    /// assert!(t.usable().await);
    /// assert!(t.usable().await, "and for the next caller too");
    /// # });
    /// ```
    pub async fn usable(&self) -> bool {
        if !self.is_refused() {
            return true;
        }
        if let Err(e) = self.reload().await {
            tracing::warn!(error = %e, "cannot re-read the Upstox token");
        }
        !self.is_refused()
    }

    /// After the broker refused the token of generation `seen`: true if a newer token is
    /// already there (another request reloaded it) or re-reading finds one.
    pub(crate) async fn renew_after_rejection(&self, seen: u64) -> bool {
        if self.generation() != seen {
            return true;
        }
        match self.reload().await {
            Ok(changed) => changed,
            Err(e) => {
                tracing::warn!(error = %e, "cannot re-read the Upstox token after a 401");
                false
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, (UpstoxToken, u64)> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider")
            .field("origin", &self.origin)
            .field("generation", &self.generation())
            .field("refused", &self.is_refused())
            .field("token", &"***")
            .finish()
    }
}

fn read_env() -> Result<UpstoxToken, SourceError> {
    match std::env::var(TOKEN_ENV) {
        Ok(v) => UpstoxToken::new(&v),
        Err(_) => Err(SourceError::Config(format!(
            "{TOKEN_ENV} is not set and no token file was given: export the Upstox access token or name a token file"
        ).into())),
    }
}

fn file_error(path: &Path, e: &std::io::Error) -> SourceError {
    SourceError::Config(
        format!(
            "cannot read the Upstox token file {}: {e}: write the access token into it",
            path.display()
        )
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reload_keeps_the_token_on_a_bad_file_and_bumps_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "one").unwrap();
        let p = TokenProvider::from_file(&path).unwrap();
        // TC0: an empty file is an error; the token stays.
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(p.reload().await, Err(SourceError::Config(_))));
        assert_eq!((p.current().expose(), p.generation()), ("one", 1));
        // TC1: a renewed token after a rejection of generation 1.
        std::fs::write(&path, "two").unwrap();
        assert!(p.renew_after_rejection(1).await);
        assert_eq!(p.generation(), 2);
        // TC2: a rejection of an older generation: newer token already there, no read.
        std::fs::remove_file(&path).unwrap();
        assert!(p.renew_after_rejection(1).await);
        // TC3: rejection of the current one with the file gone: no newer token.
        assert!(!p.renew_after_rejection(2).await);
    }

    #[tokio::test]
    async fn a_refused_token_stays_refused_for_every_caller_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "one").unwrap();
        let p = TokenProvider::from_file(&path).unwrap();
        assert!(p.usable().await);
        p.refuse(1);
        // Two callers (two topics) ask: both are told no, and the file is the same.
        assert!(!p.usable().await);
        assert!(!p.usable().await);
        std::fs::write(&path, "two").unwrap();
        // Both are told yes: the first one does not consume the change.
        assert!(p.usable().await);
        assert!(p.usable().await);
        assert_eq!(p.generation(), 2);
        // A late refusal of the old generation does not refuse the new token.
        p.refuse(1);
        assert!(!p.is_refused());
    }

    #[test]
    fn secrets_never_print() {
        let p = TokenProvider::fixed("very-secret-value").unwrap();
        let all = format!("{p:?} {:?} {}", p.current(), p.current());
        assert!(!all.contains("very-secret-value"), "{all}");
    }
}
