//! The Upstox holiday source against the fake Upstox: the real shape, headers and failures.

use time::macros::date;

use super::*;
use crate::testing::{FakeUpstox, HolidayReply, holiday_closed};

#[tokio::test]
async fn fetches_the_list_with_the_user_agent_and_the_token() {
    let fake = FakeUpstox::start().await.unwrap();
    fake.set_holidays(vec![holiday_closed(date!(2027 - 01 - 26), "Republic Day")]);
    let tokens = Arc::new(TokenProvider::fixed("s3cret-token").unwrap());
    let source = UpstoxHolidays::new(&fake.base_url(), Some(tokens)).unwrap();
    let list = source.fetch().await.unwrap();
    assert_eq!(
        list,
        vec![holiday_closed(date!(2027 - 01 - 26), "Republic Day")]
    );
    assert_eq!(
        fake.holiday_user_agents(),
        vec![Some(USER_AGENT.to_owned())]
    );
    assert_eq!(
        fake.request_count(),
        0,
        "holiday requests are not quote requests"
    );
}

#[tokio::test]
async fn failures_say_what_happened_without_the_token() {
    let fake = FakeUpstox::start().await.unwrap();
    let tokens = Arc::new(TokenProvider::fixed("s3cret-token").unwrap());
    let source = UpstoxHolidays::new(&fake.base_url(), Some(tokens.clone())).unwrap();
    let cases = [
        (HolidayReply::Status(500), "HTTP 500; the broker answered status \"error\" (error codes: [UDAPI100500])"),
        (HolidayReply::Status(401), "HTTP 401"),
        (HolidayReply::Html(502), "HTTP 502"),
        (HolidayReply::Raw("<html>ok</html>".into()), "not JSON"),
        (
            HolidayReply::Raw(r#"{"status":"success","data":[{"date":"2027-01-26","description":"R","holidayType":"TRADING_HOLIDAY","closedExchanges":[],"openExchanges":[]}]}"#.into()),
            "unexpected shape",
        ),
    ];
    for (reply, needle) in cases {
        fake.holiday_reply(reply.clone());
        let err = source.fetch().await.unwrap_err().to_string();
        assert!(err.contains(needle), "{reply:?}: {err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
    drop(fake);
    let dead = UpstoxHolidays::new("http://127.0.0.1:9", Some(tokens)).unwrap();
    let err = dead.fetch().await.unwrap_err().to_string();
    assert!(
        err.starts_with("cannot reach http://127.0.0.1:9/v2/market/holidays"),
        "{err}"
    );
    assert!(!err.contains("s3cret"));
}
