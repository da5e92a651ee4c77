//! The market-data WebSocket, and how a sandbox ends: cancelled, or dropped.

use super::*;

#[tokio::test]
async fn websocket_answers_pings_and_ticks() {
    let s = start_with(Faults::default(), Duration::from_millis(50)).await;
    let mut ws = s.ws().await;
    ws.send(Message::text("ping")).await.unwrap();
    next_text(&mut ws, |t| t == "pong").await;

    ws.send(Message::text(r#"{"type":"ping","id":42}"#))
        .await
        .unwrap();
    let pong: Value =
        serde_json::from_str(&next_text(&mut ws, |t| is_type(t, "pong")).await).unwrap();
    assert_eq!(pong["id"], 42);
    assert!(pong["ts"].is_i64());

    let first: Value =
        serde_json::from_str(&next_text(&mut ws, |t| is_type(t, "tick")).await).unwrap();
    assert_eq!(
        first["quotes"].as_array().unwrap().len(),
        quotes::UNIVERSE.len()
    );

    ws.send(Message::text(r#"{"type":"subscribe","symbols":["GOOG"]}"#))
        .await
        .unwrap();
    next_text(&mut ws, |t| is_type(t, "subscribed")).await;
    let narrowed: Value =
        serde_json::from_str(&next_text(&mut ws, |t| is_type(t, "tick")).await).unwrap();
    assert_eq!(narrowed["quotes"].as_array().unwrap().len(), 1);
    assert_eq!(narrowed["quotes"][0]["symbol"], "GOOG");
    assert!(narrowed["seq"].as_u64().unwrap() > first["seq"].as_u64().unwrap());
    s.stop().await;
}

#[tokio::test]
async fn shutdown_closes_websockets_and_stops_listening() {
    let s = start(&[]).await;
    let addr = s.sandbox.addr();
    let mut ws = s.ws().await;
    next_text(&mut ws, |t| is_type(t, "tick")).await;
    let (status, stats) = s.get("/admin/stats").await;
    assert_eq!((status, stats["websockets_open"].as_u64()), (200, Some(1)));
    s.stop().await;

    let deadline = Instant::now() + PATIENCE;
    let close = loop {
        assert!(Instant::now() < deadline, "no close frame");
        match tokio::time::timeout(PATIENCE, ws.next()).await.unwrap() {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(close.unwrap().code), 1001);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn dropping_a_sandbox_stops_it_but_not_the_callers_token() {
    let stop = CancellationToken::new();
    let sandbox = Sandbox::start(
        "127.0.0.1:0".parse().unwrap(),
        Faults::default(),
        Duration::from_secs(1),
        Deps::default(),
        stop.clone(),
    )
    .await
    .unwrap();
    let addr = sandbox.addr();
    drop(sandbox);
    let deadline = Instant::now() + PATIENCE;
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "still listening");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!stop.is_cancelled());

    let e = Sandbox::start(
        "127.0.0.1:0".parse().unwrap(),
        Faults::default(),
        Duration::ZERO,
        Deps::default(),
        stop,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("tick must be at least"), "{e}");
}
