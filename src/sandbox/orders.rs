//! Order entry: validating an order request, filling it against the current quote, and
//! remembering recent orders in a bounded book so a long load test cannot grow memory
//! without bound (the `leak` fault is the only deliberate growth).

use super::quotes::{self, Instrument};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How many orders the book remembers; older ones answer 404.
pub(crate) const KEPT_ORDERS: usize = 10_000;

/// Largest accepted quantity: far beyond any demo, small enough that notional values
/// stay exact in an `f64`.
const MAX_QUANTITY: u64 = 1_000_000_000;

const ID_PREFIX: &str = "ORD-";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Side {
    Buy,
    Sell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum OrderType {
    Market,
    Limit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum Status {
    /// Executed at once at the current quote.
    Filled,
    /// A limit order away from the market, resting (the sandbox has no matching engine).
    Accepted,
}

/// The body of `POST /api/orders` as clients send it. Unknown fields are ignored, as
/// most order APIs do, so load-test payloads can carry client-side tags.
#[derive(Debug, Deserialize)]
pub(crate) struct OrderRequest {
    symbol: String,
    side: Side,
    quantity: u64,
    #[serde(rename = "type")]
    kind: OrderType,
    #[serde(default)]
    limit_price: Option<f64>,
}

/// An order the book accepted, as `POST` returns it and `GET /api/orders/{id}` reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Order {
    #[serde(skip)]
    seq: u64,
    pub order_id: String,
    pub symbol: &'static str,
    pub side: Side,
    pub quantity: u64,
    #[serde(rename = "type")]
    pub kind: OrderType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<f64>,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fill_price: Option<f64>,
    pub created_ts: i64,
}

/// A request that passed validation, with its symbol resolved.
#[derive(Debug)]
pub(crate) struct ValidOrder {
    instrument: &'static Instrument,
    side: Side,
    quantity: u64,
    kind: OrderType,
    limit_price: Option<f64>,
}

impl OrderRequest {
    /// Checks what serde cannot; the error is the reason a client reads in the 400.
    pub fn validate(self) -> Result<ValidOrder, String> {
        let instrument = quotes::lookup(&self.symbol).ok_or_else(|| {
            format!(
                "unknown symbol `{}`; tradable symbols: {}",
                self.symbol,
                quotes::symbols()
            )
        })?;
        if self.quantity == 0 {
            return Err("`quantity` must be greater than 0".into());
        }
        if self.quantity > MAX_QUANTITY {
            return Err(format!("`quantity` must be at most {MAX_QUANTITY}"));
        }
        match (self.kind, self.limit_price) {
            (OrderType::Market, Some(_)) => {
                return Err("a market order takes no `limit_price`".into())
            }
            (OrderType::Limit, None) => return Err("a limit order needs a `limit_price`".into()),
            (OrderType::Limit, Some(p)) if !(p.is_finite() && p > 0.0) => {
                return Err(format!("`limit_price` must be a positive price, not {p}"))
            }
            _ => {}
        }
        Ok(ValidOrder {
            instrument,
            side: self.side,
            quantity: self.quantity,
            kind: self.kind,
            limit_price: self.limit_price,
        })
    }
}

impl ValidOrder {
    /// The order as numbered `seq` and executed at the quote of `now_ms`: a market order,
    /// or a limit order the market already crosses, is filled; any other limit order
    /// rests as `ACCEPTED`.
    pub fn execute(self, seq: u64, now_ms: i64) -> Order {
        let price = self.instrument.price_at(now_ms);
        let crosses = match (self.kind, self.side, self.limit_price) {
            (OrderType::Market, _, _) => true,
            (OrderType::Limit, Side::Buy, Some(limit)) => limit >= price,
            (OrderType::Limit, Side::Sell, Some(limit)) => limit <= price,
            (OrderType::Limit, _, None) => false,
        };
        Order {
            seq,
            order_id: format!("{ID_PREFIX}{seq:08}"),
            symbol: self.instrument.symbol,
            side: self.side,
            quantity: self.quantity,
            kind: self.kind,
            limit_price: self.limit_price,
            status: if crosses {
                Status::Filled
            } else {
                Status::Accepted
            },
            fill_price: crosses.then_some(price),
            created_ts: now_ms,
        }
    }
}

/// The most recent orders, oldest first; ids are sequential so a lookup is arithmetic.
#[derive(Debug)]
pub(crate) struct OrderBook {
    next_seq: u64,
    orders: VecDeque<Order>,
    capacity: usize,
}

impl OrderBook {
    pub fn new(capacity: usize) -> Self {
        OrderBook {
            next_seq: 1,
            orders: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Numbers the order, executes it at the quote of `now_ms` ([`ValidOrder::execute`])
    /// and remembers it.
    pub fn place(&mut self, order: ValidOrder, now_ms: i64) -> Order {
        let seq = self.next_seq;
        self.next_seq += 1;
        let placed = order.execute(seq, now_ms);
        if self.orders.len() == self.capacity {
            self.orders.pop_front();
        }
        self.orders.push_back(placed.clone());
        placed
    }

    /// The order with this id, if it is still among the most recent ones.
    pub fn get(&self, order_id: &str) -> Option<&Order> {
        let seq: u64 = order_id.strip_prefix(ID_PREFIX)?.parse().ok()?;
        let first = self.orders.front()?.seq;
        let index = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.orders.get(index).filter(|o| o.seq == seq)
    }

    pub fn len(&self) -> usize {
        self.orders.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: &str) -> Result<ValidOrder, String> {
        serde_json::from_str::<OrderRequest>(json)
            .map_err(|e| e.to_string())?
            .validate()
    }

    #[test]
    fn validates_requests_with_a_reason() {
        for (body, needle) in [
            (
                r#"{"symbol":"NOPE","side":"buy","quantity":1,"type":"market"}"#,
                "unknown symbol `NOPE`",
            ),
            (
                r#"{"symbol":"AAPL","side":"hold","quantity":1,"type":"market"}"#,
                "unknown variant `hold`",
            ),
            (
                r#"{"symbol":"AAPL","side":"buy","quantity":0,"type":"market"}"#,
                "greater than 0",
            ),
            (
                r#"{"symbol":"AAPL","side":"buy","quantity":-3,"type":"market"}"#,
                "invalid value",
            ),
            (
                r#"{"symbol":"AAPL","side":"buy","quantity":1.5,"type":"market"}"#,
                "invalid type",
            ),
            (
                r#"{"symbol":"AAPL","side":"buy","quantity":1,"type":"stop"}"#,
                "unknown variant `stop`",
            ),
            (
                r#"{"symbol":"AAPL","side":"buy","quantity":1,"type":"limit"}"#,
                "needs a `limit_price`",
            ),
            (
                r#"{"symbol":"AAPL","side":"buy","quantity":1,"type":"limit","limit_price":-2}"#,
                "positive price",
            ),
            (
                r#"{"symbol":"AAPL","side":"buy","quantity":1,"type":"market","limit_price":2}"#,
                "takes no `limit_price`",
            ),
            (
                r#"{"side":"buy","quantity":1,"type":"market"}"#,
                "missing field `symbol`",
            ),
        ] {
            let e = request(body).unwrap_err();
            assert!(e.contains(needle), "{body}: {e}");
        }
    }

    #[test]
    fn fills_market_and_crossing_limit_orders() {
        let mut book = OrderBook::new(10);
        let t = 1_700_000_000_000;
        let price = quotes::lookup("AAPL").unwrap().price_at(t);
        let market = request(r#"{"symbol":"aapl","side":"buy","quantity":5,"type":"market"}"#);
        let filled = book.place(market.unwrap(), t);
        assert_eq!(
            (filled.status, filled.fill_price),
            (Status::Filled, Some(price))
        );
        assert_eq!(filled.symbol, "AAPL");

        let body = format!(
            r#"{{"symbol":"AAPL","side":"buy","quantity":5,"type":"limit","limit_price":{}}}"#,
            price / 2.0
        );
        let resting = book.place(request(&body).unwrap(), t);
        assert_eq!(
            (resting.status, resting.fill_price),
            (Status::Accepted, None)
        );
        let json = serde_json::to_value(&resting).unwrap();
        assert_eq!(json["status"], "ACCEPTED");
        assert_eq!(json["type"], "limit");
        assert!(json.get("seq").is_none());
    }

    #[test]
    fn keeps_only_the_most_recent_orders() {
        let mut book = OrderBook::new(3);
        let ids: Vec<String> = (0..5)
            .map(|_| {
                let order =
                    request(r#"{"symbol":"MSFT","side":"sell","quantity":1,"type":"market"}"#);
                book.place(order.unwrap(), 0).order_id
            })
            .collect();
        assert_eq!(book.len(), 3);
        assert_eq!(ids[0], "ORD-00000001");
        assert!(book.get(&ids[0]).is_none() && book.get(&ids[1]).is_none());
        for id in &ids[2..] {
            assert_eq!(book.get(id).map(|o| o.order_id.as_str()), Some(id.as_str()));
        }
        for bad in ["ORD-99999999", "ORD-x", "42", ""] {
            assert!(book.get(bad).is_none(), "{bad}");
        }
    }
}
