//! The fake's HTTP side: recording a request, choosing the reply, and the documented bodies.

use std::{
    convert::Infallible,
    sync::{Arc, Mutex},
};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, body::Incoming};
use serde_json::{Map, Value, json};

use super::{FakeInstrument, FakeReply, RecordedRequest, State};

type Answer = Response<Full<Bytes>>;

pub(super) async fn handle(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Answer, Infallible> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if req.uri().path() == super::instrument_file::PATH {
        let request = super::FileRequest {
            user_agent: header("user-agent"),
            authorization: header("authorization"),
        };
        return Ok(super::instrument_file::serve(&state, request));
    }
    let keys = query_keys(req.uri().query().unwrap_or(""));
    let path = req.uri().path().to_owned();
    let authorization = header("authorization");
    let reply = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        let number = s.requests.len() + 1;
        s.requests.push(RecordedRequest {
            number,
            path: path.clone(),
            keys: keys.clone().unwrap_or_default(),
            authorization: authorization.clone(),
            api_version: header("api-version"),
        });
        s.scripted
            .remove(&number)
            .or_else(|| s.queued.pop_front())
            .unwrap_or(FakeReply::Normal)
    };
    let answer = match reply {
        FakeReply::Normal => normal(&state, &path, authorization, keys),
        FakeReply::Slow(pause) => {
            tokio::time::sleep(pause).await;
            normal(&state, &path, authorization, keys)
        }
        FakeReply::Status(status) => error(status),
        FakeReply::MalformedJson => respond(
            200,
            "application/json",
            r#"{"status":"success","data":{"NSE_EQ:RELIANCE":{"last_price":1391.2,"instrument_tok"#
                .into(),
        ),
        FakeReply::HtmlPage(status) => respond(
            status,
            "text/html",
            format!(
                "<!DOCTYPE html><html><head><title>{status} Bad Gateway</title></head><body><center><h1>{status} Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
            ),
        ),
        FakeReply::Raw {
            status,
            content_type,
            body,
        } => respond(status, &content_type, body),
    };
    Ok(answer)
}

fn normal(
    state: &Mutex<State>,
    path: &str,
    authorization: Option<String>,
    keys: Option<Vec<String>>,
) -> Answer {
    let full = match path {
        "/v3/market-quote/ltp" => false,
        "/v2/market-quote/quotes" => true,
        _ => return error_body(404, "UDAPI10000", "Request not supported"),
    };
    let s = state.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(token) = &s.required_token {
        if authorization.as_deref() != Some(&format!("Bearer {token}")) {
            return error(401);
        }
    }
    let Some(keys) = keys.filter(|k| !k.is_empty()) else {
        return error_body(400, "UDAPI1009", "instrument_key is required");
    };
    if keys.len() > 500 {
        return error_body(400, "UDAPI100043", "Maximum instrument key limit exceeded");
    }
    if keys.iter().any(|k| !k.contains('|')) {
        return error_body(400, "UDAPI1011", "instrument_key is of invalid format");
    }
    let mut data = Map::with_capacity(keys.len());
    for key in &keys {
        if let Some(i) = s.instruments.get(key) {
            data.insert(
                i.map_key.clone(),
                if full { full_entry(i) } else { ltp_entry(i) },
            );
        }
    }
    drop(s);
    let body = json!({"status": "success", "data": data});
    respond(200, "application/json", body.to_string())
}

fn ltp_entry(i: &FakeInstrument) -> Value {
    json!({"last_price": i.last_price, "instrument_token": i.key, "ltq": 1, "volume": i.volume, "cp": i.prev_close})
}

fn full_entry(i: &FakeInstrument) -> Value {
    let level = |q: u64, p: f64, o: u64| json!({"quantity": q, "price": p, "orders": o});
    let empty = level(0, 0.0, 0);
    json!({
        "ohlc": {"open": i.open, "high": i.high, "low": i.low, "close": i.last_price},
        "depth": {
            "buy": [level(100, i.last_price, 3), empty.clone(), empty.clone(), empty.clone(), empty.clone()],
            "sell": [empty.clone(), empty.clone(), empty.clone(), empty.clone(), empty],
        },
        "timestamp": "2026-01-29T10:00:00.000+05:30",
        "instrument_token": i.key,
        "symbol": i.map_key.split_once(':').map_or("", |(_, s)| s),
        "last_price": i.last_price,
        "volume": i.volume,
        "average_price": i.last_price,
        "oi": 0,
        "net_change": i.last_price - i.prev_close,
        "total_buy_quantity": 100,
        "total_sell_quantity": 0,
        "lower_circuit_limit": i.prev_close * 0.8,
        "upper_circuit_limit": i.prev_close * 1.2,
        "last_trade_time": "1769661000000",
        "oi_day_high": 0,
        "oi_day_low": 0
    })
}

fn error(status: u16) -> Answer {
    match status {
        401 => error_body(401, "UDAPI100050", "Invalid token used to access API"),
        429 => error_body(429, "UDAPI10005", "Too Many Request Sent"),
        400 => error_body(400, "UDAPI1087", "Invalid Instrument key"),
        500..=599 => respond(
            status,
            "application/json",
            json!({"status": "error", "errors": [{"errorCode": "UDAPI100500", "message": "Something went wrong"}]}).to_string(),
        ),
        _ => error_body(status, "UDAPI10000", "Request not supported"),
    }
}

fn error_body(status: u16, code: &str, message: &str) -> Answer {
    let body = json!({"status": "error", "errors": [{"error_code": code, "message": message, "property_path": null, "invalid_value": null}]});
    respond(status, "application/json", body.to_string())
}

fn respond(status: u16, content_type: &str, body: String) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, v);
    }
    response
}

/// The decoded, comma-split `instrument_key` values of a query string (`None` if absent).
fn query_keys(query: &str) -> Option<Vec<String>> {
    let value = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "instrument_key")?
        .1;
    let decoded = percent_decode(value);
    Some(
        decoded
            .split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keys_decode_like_a_server() {
        assert_eq!(
            query_keys("instrument_key=NSE_INDEX%7CNifty%2050,NSE_EQ|INE002A01018&x=1"),
            Some(vec![
                "NSE_INDEX|Nifty 50".to_owned(),
                "NSE_EQ|INE002A01018".to_owned()
            ])
        );
        assert_eq!(
            query_keys("instrument_key=BSE_INDEX%7CSENSEX%2CNSE_INDEX%7CNifty+Bank")
                .unwrap()
                .len(),
            2
        );
        assert_eq!(query_keys("symbol=x"), None);
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
