//! The HTTP API answers as documented: health, portfolio, quotes, orders.

use super::*;

#[tokio::test]
async fn health_portfolio_and_quotes() {
    let s = start(&[]).await;
    let (status, health) = s.get("/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "UP");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert!(health["uptime_s"].is_u64());
    assert_eq!(
        health["checks"],
        json!({"database": "UP", "market_data": "UP"})
    );

    let (status, book) = s.get("/api/portfolio").await;
    assert_eq!(status, 200);
    let positions = book["positions"].as_array().unwrap();
    assert_eq!(positions.len(), 5);
    let sum: f64 = positions
        .iter()
        .map(|p| p["market_value"].as_f64().unwrap())
        .sum();
    assert!(
        (book["total_value"].as_f64().unwrap() - sum).abs() < 0.011,
        "{book}"
    );
    assert_eq!(positions[0]["symbol"], "AAPL");

    let (status, quote) = s.get("/api/quotes/MSFT").await;
    assert_eq!(status, 200);
    assert_eq!(quote["symbol"], "MSFT");
    assert!(quote["price"].as_f64().unwrap() > 0.0 && quote["ts"].is_i64());
    let (status, missing) = s.get("/api/quotes/NOPE").await;
    assert_eq!(status, 404);
    assert!(missing["error"].as_str().unwrap().contains("NOPE"));
    assert_eq!(s.get("/no/such/route").await.0, 404);
    // The deliberate known issue of checks/mytrader-known-issue.yaml.
    let (status, broken) = s.get("/api/market/volume-leaders").await;
    assert_eq!(status, 500);
    assert!(broken["error"].as_str().unwrap().contains("known issue"));
    s.stop().await;
}

#[tokio::test]
async fn orders_are_placed_validated_and_read_back() {
    let s = start(&[]).await;
    let post = reqwest::Method::POST;
    let body = r#"{"symbol":"AAPL","side":"buy","quantity":10,"type":"market"}"#;
    let (status, order) = s.send(post.clone(), "/api/orders", body).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["status"], "FILLED");
    let id = order["order_id"].as_str().unwrap();
    let (status, read_back) = s.get(&format!("/api/orders/{id}")).await;
    assert_eq!((status, &read_back), (200, &order));

    let limit = r#"{"symbol":"TSLA","side":"buy","quantity":1,"type":"limit","limit_price":0.01}"#;
    let (status, resting) = s.send(post.clone(), "/api/orders", limit).await;
    assert_eq!(
        (status, resting["status"].as_str()),
        (201, Some("ACCEPTED"))
    );

    for (bad, needle) in [
        ("not json", "invalid order"),
        (
            r#"{"symbol":"AAPL","side":"buy","quantity":0,"type":"market"}"#,
            "greater than 0",
        ),
        (
            r#"{"symbol":"AAPL","side":"short","quantity":1,"type":"market"}"#,
            "unknown variant",
        ),
        (
            r#"{"symbol":"ZZZ","side":"buy","quantity":1,"type":"market"}"#,
            "unknown symbol",
        ),
    ] {
        let (status, e) = s.send(post.clone(), "/api/orders", bad).await;
        assert_eq!(status, 400, "{bad}");
        assert!(e["error"].as_str().unwrap().contains(needle), "{bad}: {e}");
    }
    assert_eq!(s.get("/api/orders/ORD-99999999").await.0, 404);
    s.stop().await;
}

#[tokio::test]
async fn database_and_cache_routes_say_which_option_serves_them() {
    let s = start(&[]).await;
    let post = reqwest::Method::POST;
    for (status, body, option) in [
        (s.get("/api/db/health").await, "--postgres"),
        (s.get("/api/db/orders/1").await, "--postgres"),
        (
            s.send(post.clone(), "/api/db/orders", "{}").await,
            "--postgres",
        ),
        (s.get("/api/cache/quote/AAPL").await, "--redis"),
        (s.get("/api/cache/health").await, "--redis"),
        (
            s.send(post.clone(), "/api/cache/publish/x", "hi").await,
            "--redis",
        ),
    ]
    .map(|((status, body), option)| (status, body, option))
    {
        assert_eq!(status, 404, "{body}");
        let e = body["error"].as_str().unwrap();
        assert!(e.contains(option) && e.contains("started without"), "{e}");
    }
    // Without dependencies, /health is as it always was.
    let (status, health) = s.get("/health").await;
    assert_eq!((status, health.get("errors")), (200, None));
    s.stop().await;
}
