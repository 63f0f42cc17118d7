//! [`ReferenceDoc`]: a named reference document a store keeps across restarts.
//!
//! Reference data (the broker's holiday list, the instrument universe from the broker's daily
//! file) is refreshed from the network, but a server that restarts while the network is down must
//! still know the last good answer. Stores keep such answers as opaque documents under a short
//! name; the refreshers that own them decide the format (JSON, in market-feed's own refreshers).

use super::StoreError;

/// The longest accepted document name, in bytes.
pub const MAX_REFERENCE_NAME: usize = 64;

/// One stored reference document: the bytes, and when they were fetched.
///
/// ```
/// use market_feed::store::ReferenceDoc;
/// let doc = ReferenceDoc::new(1_764_547_200_000, br#"{"holidays":[]}"#.to_vec());
/// assert_eq!(doc.fetched_at, 1_764_547_200_000);
/// assert_eq!(doc.body.len(), 15);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceDoc {
    /// When the document was fetched, ms since the Unix epoch (as the caller's clock said).
    pub fetched_at: i64,
    /// The document itself, opaque to the store.
    pub body: Vec<u8>,
}

impl ReferenceDoc {
    /// A document fetched at `fetched_at` (ms since the Unix epoch).
    ///
    /// ```
    /// let doc = market_feed::store::ReferenceDoc::new(5, b"x".to_vec());
    /// assert_eq!(doc.body, b"x");
    /// ```
    pub fn new(fetched_at: i64, body: Vec<u8>) -> Self {
        Self { fetched_at, body }
    }
}

/// Checks a reference document name: 1 to [`MAX_REFERENCE_NAME`] bytes of lowercase ASCII
/// letters, digits, `_`, `-`, `.` and `:` (`calendar:upstox`, `universe:upstox`).
///
/// # Errors
///
/// [`StoreError::InvalidName`] naming the rule the name breaks.
///
/// ```
/// use market_feed::store::validate_reference_name;
/// assert!(validate_reference_name("calendar:upstox").is_ok());
/// assert!(validate_reference_name("").is_err());
/// assert!(validate_reference_name("Calendar").is_err());
/// ```
pub fn validate_reference_name(name: &str) -> Result<(), StoreError> {
    let ok_char = |c: char| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.' | ':')
    };
    if name.is_empty() || name.len() > MAX_REFERENCE_NAME || !name.chars().all(ok_char) {
        return Err(StoreError::InvalidName {
            name: name.chars().take(80).collect(),
            reason: format!(
                "use 1 to {MAX_REFERENCE_NAME} characters of a-z, 0-9, '_', '-', '.' and ':'"
            ),
        });
    }
    Ok(())
}
