//! Every default in one place; spec field docs name these values.

use crate::units::{ByteSize, Duration};

pub const CONFIDENCE: f64 = 0.95;
pub const SAMPLES: u32 = 1;
pub const MAX_SAMPLES: u32 = 1_000_000;
pub const CONCURRENCY: u32 = 1;
pub const MAX_CONCURRENCY: u32 = 256;
pub const INTERVAL: Duration = Duration::ZERO;
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(5);
pub const TCP_TIMEOUT: Duration = Duration::from_secs(5);
pub const WEBSOCKET_TIMEOUT: Duration = Duration::from_secs(5);
pub const TLS_TIMEOUT: Duration = Duration::from_secs(5);
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
pub const POSTGRES_TIMEOUT: Duration = Duration::from_secs(5);
pub const POSTGRES_QUERY: &str = "SELECT 1";
pub const POSTGRES_REUSE_CONNECTION: bool = true;
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(5);
pub const REDIS_COMMAND: &str = "PING";
pub const MAX_BODY: ByteSize = ByteSize::from_bytes(1 << 20);
pub const MAX_REDIRECTS: u32 = 20;
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_IN_FLIGHT: u32 = 1000;
/// The most users, connections or requests in flight one load run may ask for. The
/// engine sets aside about 575 KB for each before the start (10,000: under 6 GB would
/// be the ceiling; 3,000 already takes 1.7 GB), and one machine's engine saturates long
/// before: more is a typo or needs sharding, never a reason to abort at start.
pub const MAX_LOAD_WORKERS: u32 = 10_000;
pub const CONNECTIONS: u32 = 50;
/// What `golive load --url` judges when no `--threshold` is given: a run whose every
/// request failed must not exit 0.
pub const ADHOC_THRESHOLD: &str = "error_rate < 1%";
pub const RULE_WINDOW: Duration = Duration::from_secs(10);
pub const MIN_RULE_WINDOW: Duration = Duration::from_millis(100);
pub const RULE_MIN_SAMPLES: u64 = 20;
pub const PROCESS_URL: &str = "http://127.0.0.1:{port}";

/// How long a `pause` drill keeps a service frozen.
pub const PAUSE_FOR: Duration = Duration::from_secs(5);
