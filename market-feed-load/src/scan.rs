//! Cheap field extraction from JSON frames, so the load tool never parses a 2,100-quote batch.
//!
//! The client shares the machine's cores with the server it measures, so for every frame it only
//! finds the first occurrence of a few names (`"event"`, `"seq"`, `"topic"`, `"ts"`). That is exact
//! for market-feed frames: quotes carry none of `event`, `seq` or `topic`, and the first `"ts"` is
//! the first quote's. Optional whitespace after the colon is accepted (Python's `json.dumps`
//! writes `"ts": 1`).

/// Where `"name":` first occurs in `frame`, returning the index just past the colon and any
/// whitespace after it.
fn value_start(frame: &[u8], name: &str) -> Option<usize> {
    let n = name.len() + 3;
    let mut from = 0;
    while from + n <= frame.len() {
        let at = from + frame[from..].iter().position(|&b| b == b'"')?;
        let end = at + n;
        if end <= frame.len()
            && frame[at + 1..at + 1 + name.len()] == *name.as_bytes()
            && frame[at + 1 + name.len()] == b'"'
            && frame[end - 1] == b':'
        {
            let skip = frame[end..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            return Some(end + skip);
        }
        from = at + 1;
    }
    None
}

/// The integer value of the first `"name":` in `frame`, if it is an integer.
///
/// ```
/// use market_feed_load::scan::int_field;
/// let f = br#"{"event":"prices_batch","seq":7,"data":[{"key":"K","ltp":1.5,"ts": 1769680800123}]}"#;
/// assert_eq!(int_field(f, "seq"), Some(7));
/// assert_eq!(int_field(f, "ts"), Some(1769680800123));
/// assert_eq!(int_field(f, "ltp"), Some(1)); // stops at the first non-digit
/// assert_eq!(int_field(f, "missing"), None);
/// ```
pub fn int_field(frame: &[u8], name: &str) -> Option<i64> {
    let start = value_start(frame, name)?;
    let rest = &frame[start..];
    let (neg, digits) = match rest.first() {
        Some(b'-') => (true, &rest[1..]),
        _ => (false, rest),
    };
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || len > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &d in &digits[..len] {
        v = v * 10 + i64::from(d - b'0');
    }
    Some(if neg { -v } else { v })
}

/// The string value of the first `"name":` in `frame` (without escapes), if it is a string.
///
/// ```
/// use market_feed_load::scan::str_field;
/// let f = br#"{"event": "snapshot","topic":"indices","seq":3}"#;
/// assert_eq!(str_field(f, "event"), Some(&b"snapshot"[..]));
/// assert_eq!(str_field(f, "topic"), Some(&b"indices"[..]));
/// assert_eq!(str_field(f, "seq"), None);
/// ```
pub fn str_field<'a>(frame: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let start = value_start(frame, name)?;
    let rest = frame[start..].strip_prefix(b"\"")?;
    let len = rest.iter().position(|&b| b == b'"')?;
    Some(&rest[..len])
}

/// A Socket.IO event carried in an Engine.IO v4 message on the default namespace:
/// `42["name",payload]`. Returns the event name and the rest of the text (the payload and `]`).
///
/// ```
/// use market_feed_load::scan::socketio_event;
/// let (name, rest) = socketio_event(br#"42["prices_batch",{"seq":1}]"#).unwrap();
/// assert_eq!(name, b"prices_batch");
/// assert_eq!(rest, br#",{"seq":1}]"#);
/// assert!(socketio_event(b"2").is_none());
/// ```
pub fn socketio_event(packet: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = packet.strip_prefix(b"42[\"")?;
    let len = rest.iter().position(|&b| b == b'"')?;
    Some((&rest[..len], &rest[len + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_matched_whole_not_as_suffixes() {
        let f = br#"{"xts":1,"ts":2}"#;
        assert_eq!(int_field(f, "ts"), Some(2));
        let f = br#"{"tsx":1,"ts":2}"#;
        assert_eq!(int_field(f, "ts"), Some(2));
    }

    #[test]
    fn values_that_are_not_what_was_asked_give_none() {
        assert_eq!(int_field(br#"{"ts":null}"#, "ts"), None);
        assert_eq!(int_field(br#"{"ts":"#, "ts"), None);
        assert_eq!(str_field(br#"{"event":"unterminated"#, "event"), None);
        assert_eq!(int_field(br#"{"ts":-5}"#, "ts"), Some(-5));
        assert_eq!(int_field(br#"{"ts""#, "ts"), None);
        assert_eq!(int_field(b"", "ts"), None);
    }

    #[test]
    fn a_real_batch_gives_the_first_quotes_ts() {
        let mut u = crate::workload::Universe::stocks(50, 1);
        let f = u.tick_frame("prices_batch", 9, 1_769_680_800_123);
        assert_eq!(str_field(&f, "event"), Some(&b"prices_batch"[..]));
        assert_eq!(int_field(&f, "seq"), Some(9));
        assert_eq!(int_field(&f, "ts"), Some(1_769_680_800_123));
    }
}
