//! Injected faults change answers as promised, and the admin API switches them live.

use super::*;

#[tokio::test]
async fn latency_delays_every_answer() {
    let s = start(&["latency=200ms"]).await;
    let began = Instant::now();
    assert_eq!(s.get("/health").await.0, 200);
    assert!(
        began.elapsed() >= Duration::from_millis(200),
        "{:?}",
        began.elapsed()
    );
    s.stop().await;
}

#[tokio::test]
async fn error_ratio_is_honoured_at_both_extremes() {
    let s = start(&["errors=100%"]).await;
    for path in ["/health", "/api/portfolio", "/api/quotes/AAPL"] {
        let (status, body) = s.get(path).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (500, Some("injected fault")),
            "{path}"
        );
    }
    s.sandbox.set_faults(faults(&["errors=0%"]));
    for _ in 0..30 {
        assert_eq!(s.get("/health").await.0, 200);
    }
    s.stop().await;
}

#[tokio::test]
async fn stalled_requests_time_out_and_are_released_at_shutdown() {
    let s = start(&["stall=100%"]).await;
    let impatient = client(Duration::from_millis(300));
    let e = impatient
        .get(format!("{}/health", s.base))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");

    // A patient client's stalled request is answered once shutdown begins.
    let url = format!("{}/api/portfolio", s.base);
    let patient = s.http.clone();
    let held =
        tokio::spawn(async move { patient.get(url).send().await.map(|r| r.status().as_u16()) });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!held.is_finished());
    s.stop().await;
    assert_eq!(held.await.unwrap().unwrap(), 503);
}

#[tokio::test]
async fn admin_changes_faults_live_and_is_never_faulted() {
    let s = start(&[]).await;
    let put = reqwest::Method::PUT;
    assert_eq!(s.get("/health").await.0, 200);
    let (status, now) = s
        .send(
            put.clone(),
            "/admin/faults",
            r#"{"errors":"100%","stall":"0%"}"#,
        )
        .await;
    assert_eq!(
        (status, &now),
        (200, &json!({"errors": "100%", "stall": "0%"}))
    );
    assert_eq!(s.get("/health").await.0, 500);
    assert_eq!(s.get("/admin/faults").await, (200, now));
    assert_eq!(s.get("/admin/stats").await.0, 200);

    let (status, e) = s
        .send(put.clone(), "/admin/faults", r#"{"latncy":"1s"}"#)
        .await;
    assert_eq!(status, 400);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `latncy`"),
        "{e}"
    );
    let (status, e) = s
        .send(reqwest::Method::POST, "/admin/faults", r#"{"errors":"30"}"#)
        .await;
    assert_eq!(status, 400);
    assert!(e["error"].as_str().unwrap().contains("bare number"), "{e}");
    assert_eq!(
        s.get("/health").await.0,
        500,
        "a rejected change keeps the old faults"
    );

    let (status, cleared) = s.send(put, "/admin/faults", "{}").await;
    assert_eq!((status, cleared), (200, json!({})));
    assert_eq!(s.get("/health").await.0, 200);
    assert_eq!(s.sandbox.faults(), Faults::default());
    s.stop().await;
}

#[tokio::test]
async fn faults_reach_websocket_replies() {
    let s = start_with(Faults::default(), Duration::from_secs(60)).await;
    let mut ws = s.ws().await;
    s.sandbox.set_faults(faults(&["errors=100%"]));
    ws.send(Message::text(r#"{"type":"ping","id":1}"#))
        .await
        .unwrap();
    let reply = next_text(&mut ws, |t| !is_type(t, "tick")).await;
    assert_eq!(
        serde_json::from_str::<Value>(&reply).unwrap()["error"],
        "injected fault"
    );

    s.sandbox.set_faults(faults(&["latency=200ms"]));
    let began = Instant::now();
    ws.send(Message::text("ping")).await.unwrap();
    next_text(&mut ws, |t| t == "pong").await;
    assert!(
        began.elapsed() >= Duration::from_millis(200),
        "{:?}",
        began.elapsed()
    );
    s.stop().await;
}

#[tokio::test]
async fn leak_grows_resident_memory_while_set() {
    let s = start(&[]).await;
    assert_eq!(s.get("/admin/stats").await.1["leaked_bytes"], 0);
    s.sandbox.set_faults(faults(&["leak=10MB"]));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let leaked = s.get("/admin/stats").await.1["leaked_bytes"]
        .as_u64()
        .unwrap();
    assert!(leaked >= 1_000_000, "{leaked}");
    s.stop().await;
}
