//! The monitor's state on disk: one SQLite file (WAL, synchronous=NORMAL) holding ticks,
//! per-minute and per-hour counts, rule memories, incidents and the notification outbox.
//!
//! Why SQLite and not an append-only log: the outbox needs "the due, undelivered rows"
//! and retention needs "delete what is older than X"; both are one indexed statement
//! here, atomic with the transition that caused them, where a log would need its own
//! compaction, index and crash recovery. A file that is not golive's (or is of a newer
//! schema) is refused at start, never migrated over.

use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// Written into the file's `application_id`: "GoLv".
const APPLICATION_ID: i64 = 0x476f_4c76;
const SCHEMA_VERSION: i64 = 1;

/// A state file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: not a golive monitor state file (application id {found:#x}); give another --state, or move this file away")]
    Foreign { path: String, found: i64 },
    #[error("{path}: written by a newer golive (state schema {found}, this one reads {SCHEMA_VERSION}); use that golive or another --state")]
    Newer { path: String, found: i64 },
    #[error("{path}: cannot open the state file: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("state file: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// One tick as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTick {
    pub item: String,
    pub at_ms: i64,
    pub n: u32,
    pub errors: u32,
    /// Latencies of the successful samples, µs.
    pub latencies_us: Vec<u64>,
    pub reason: Option<String>,
    /// The first failure's class (`timeout`, `5xx` …).
    pub class: Option<String>,
}

/// An incident: an alert that fired, open until it resolves.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: i64,
    pub alert: String,
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
    /// JSON object of the alert's labels.
    pub labels: String,
    /// JSON object of the alert's annotations (evidence included).
    pub annotations: String,
}

/// A notification waiting for (or done with) delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub id: i64,
    pub receiver: String,
    pub incident: i64,
    /// `firing` or `resolved`.
    pub kind: String,
    pub attempts: i64,
}

pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if missing) the state file at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: shown.clone(),
            source,
        })?;
        // A file that is not SQLite at all fails on the first read.
        let app: i64 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|source| StoreError::Open {
                path: shown.clone(),
                source,
            })?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        if app == 0 && tables > 0 {
            return Err(StoreError::Foreign {
                path: shown,
                found: app,
            });
        }
        if app != 0 && app != APPLICATION_ID {
            return Err(StoreError::Foreign {
                path: shown,
                found: app,
            });
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::Newer {
                path: shown,
                found: version,
            });
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "BEGIN;
             CREATE TABLE IF NOT EXISTS ticks (
                 item TEXT NOT NULL, at_ms INTEGER NOT NULL, n INTEGER NOT NULL,
                 errors INTEGER NOT NULL, latencies BLOB NOT NULL, reason TEXT, class TEXT);
             CREATE INDEX IF NOT EXISTS ticks_at ON ticks (at_ms);
             CREATE TABLE IF NOT EXISTS slots (
                 ledger TEXT NOT NULL, slot_s INTEGER NOT NULL, start_s INTEGER NOT NULL,
                 good INTEGER NOT NULL, total INTEGER NOT NULL,
                 PRIMARY KEY (ledger, slot_s, start_s));
             CREATE TABLE IF NOT EXISTS rules (
                 id TEXT PRIMARY KEY, definition TEXT NOT NULL, memory TEXT NOT NULL,
                 next_end_ms INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS incidents (
                 id INTEGER PRIMARY KEY AUTOINCREMENT, alert TEXT NOT NULL, started_ms INTEGER NOT NULL,
                 ended_ms INTEGER, labels TEXT NOT NULL, annotations TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS incidents_open ON incidents (alert, ended_ms);
             CREATE TABLE IF NOT EXISTS outbox (
                 id INTEGER PRIMARY KEY, receiver TEXT NOT NULL, incident INTEGER NOT NULL,
                 kind TEXT NOT NULL, created_ms INTEGER NOT NULL, due_ms INTEGER NOT NULL,
                 attempts INTEGER NOT NULL DEFAULT 0, delivered_ms INTEGER,
                 suppressed INTEGER NOT NULL DEFAULT 0, last_error TEXT);
             CREATE INDEX IF NOT EXISTS outbox_due ON outbox (delivered_ms, suppressed, due_ms);
             COMMIT;",
        )?;
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        Ok(Store { conn })
    }

    /// Runs `f` in one transaction: a step's ticks, slots, rule memories and notifications
    /// land together or not at all.
    pub fn transaction<T>(
        &mut self,
        f: impl FnOnce(&Tx) -> Result<T, rusqlite::Error>,
    ) -> Result<T, StoreError> {
        let tx = self.conn.transaction()?;
        let out = f(&Tx(&tx))?;
        tx.commit()?;
        Ok(out)
    }

    /// Ticks at or after `since_ms`, oldest first.
    pub fn ticks_since(&self, since_ms: i64) -> Result<Vec<StoredTick>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT item, at_ms, n, errors, latencies, reason, class FROM ticks WHERE at_ms >= ?1 ORDER BY at_ms",
        )?;
        let rows = st.query_map([since_ms], |r| {
            let blob: Vec<u8> = r.get(4)?;
            Ok(StoredTick {
                item: r.get(0)?,
                at_ms: r.get(1)?,
                n: r.get(2)?,
                errors: r.get(3)?,
                latencies_us: blob
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect(),
                reason: r.get(5)?,
                class: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every stored slot of `ledger`: (slot length s, slot start s, good, total).
    pub fn slots(&self, ledger: &str) -> Result<Vec<(u64, u64, u64, u64)>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT slot_s, start_s, good, total FROM slots WHERE ledger = ?1")?;
        let rows = st.query_map([ledger], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
                r.get::<_, i64>(3)? as u64,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A rule's stored (definition, memory JSON, next window end).
    pub fn rule(&self, id: &str) -> Result<Option<(String, String, i64)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT definition, memory, next_end_ms FROM rules WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }

    /// The open incident of `alert`, if any.
    pub fn open_incident(&self, alert: &str) -> Result<Option<Incident>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, alert, started_ms, ended_ms, labels, annotations FROM incidents
                 WHERE alert = ?1 AND ended_ms IS NULL ORDER BY id DESC LIMIT 1",
                [alert],
                incident,
            )
            .optional()?)
    }

    /// Open incidents, then the newest `recent` closed ones.
    pub fn incidents(&self, recent: usize) -> Result<(Vec<Incident>, Vec<Incident>), StoreError> {
        let mut open = self.conn.prepare(
            "SELECT id, alert, started_ms, ended_ms, labels, annotations FROM incidents
             WHERE ended_ms IS NULL ORDER BY started_ms",
        )?;
        let open: Vec<Incident> = open.query_map([], incident)?.collect::<Result<_, _>>()?;
        let mut closed = self.conn.prepare(
            "SELECT id, alert, started_ms, ended_ms, labels, annotations FROM incidents
             WHERE ended_ms IS NOT NULL ORDER BY ended_ms DESC LIMIT ?1",
        )?;
        let closed: Vec<Incident> = closed
            .query_map([recent as i64], incident)?
            .collect::<Result<_, _>>()?;
        Ok((open, closed))
    }

    /// One incident by id.
    pub fn incident(&self, id: i64) -> Result<Option<Incident>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, alert, started_ms, ended_ms, labels, annotations FROM incidents WHERE id = ?1",
                [id],
                incident,
            )
            .optional()?)
    }

    /// Notifications due at `now_ms`, oldest first.
    pub fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<Outgoing>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT id, receiver, incident, kind, attempts FROM outbox AS o
             WHERE delivered_ms IS NULL AND suppressed = 0 AND due_ms <= ?1
               AND NOT EXISTS (
                 SELECT 1 FROM outbox AS earlier
                 WHERE earlier.receiver = o.receiver AND earlier.incident = o.incident
                   AND earlier.id < o.id AND earlier.delivered_ms IS NULL
                   AND earlier.suppressed = 0)
             ORDER BY id LIMIT ?2",
        )?;
        let rows = st.query_map(params![now_ms, limit as i64], |r| {
            Ok(Outgoing {
                id: r.get(0)?,
                receiver: r.get(1)?,
                incident: r.get(2)?,
                kind: r.get(3)?,
                attempts: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Notifications not yet delivered (suppressed ones excluded).
    pub fn pending(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM outbox WHERE delivered_ms IS NULL AND suppressed = 0",
            [],
            |r| r.get(0),
        )?)
    }

    pub fn delivered(&self, id: i64, now_ms: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET delivered_ms = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1",
            params![id, now_ms],
        )?;
        Ok(())
    }

    pub fn failed(&self, id: i64, due_ms: i64, error: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, due_ms = ?2, last_error = ?3 WHERE id = ?1",
            params![id, due_ms, error],
        )?;
        Ok(())
    }

    /// Deletes what retention lets go: ticks older than `ticks_before_ms`, minute slots
    /// older than `minutes_before_ms` (only the alert windows read them), hour slots,
    /// incidents closed and notifications created before `before_ms`. A notification no
    /// receiver took within the retention is given up: the returned count.
    pub fn prune(
        &self,
        ticks_before_ms: i64,
        minutes_before_ms: i64,
        before_ms: i64,
    ) -> Result<usize, StoreError> {
        self.conn
            .execute("DELETE FROM ticks WHERE at_ms < ?1", [ticks_before_ms])?;
        self.conn.execute(
            "DELETE FROM slots WHERE slot_s = 60 AND start_s < ?1",
            [minutes_before_ms / 1000],
        )?;
        self.conn
            .execute("DELETE FROM slots WHERE start_s < ?1", [before_ms / 1000])?;
        let given_up = self.conn.execute(
            "DELETE FROM outbox WHERE delivered_ms IS NULL AND suppressed = 0 AND created_ms < ?1",
            [before_ms],
        )?;
        self.conn.execute(
            "DELETE FROM outbox WHERE (delivered_ms IS NOT NULL OR suppressed = 1) AND created_ms < ?1",
            [before_ms],
        )?;
        self.conn.execute(
            "DELETE FROM incidents WHERE ended_ms IS NOT NULL AND ended_ms < ?1
             AND id NOT IN (SELECT incident FROM outbox)",
            [before_ms],
        )?;
        Ok(given_up)
    }

    /// Rows per table, for tests and the benchmark.
    pub fn counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut out = Vec::new();
        for t in ["ticks", "slots", "rules", "incidents", "outbox"] {
            let n: i64 = self
                .conn
                .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
            out.push((t.to_string(), n));
        }
        Ok(out)
    }
}

fn incident(r: &rusqlite::Row) -> rusqlite::Result<Incident> {
    Ok(Incident {
        id: r.get(0)?,
        alert: r.get(1)?,
        started_ms: r.get(2)?,
        ended_ms: r.get(3)?,
        labels: r.get(4)?,
        annotations: r.get(5)?,
    })
}

/// Writes inside [`Store::transaction`].
pub struct Tx<'a>(&'a rusqlite::Transaction<'a>);

impl Tx<'_> {
    pub fn tick(&self, t: &StoredTick) -> rusqlite::Result<()> {
        let blob: Vec<u8> = t
            .latencies_us
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        self.0.execute(
            "INSERT INTO ticks (item, at_ms, n, errors, latencies, reason, class) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![t.item, t.at_ms, t.n, t.errors, blob, t.reason, t.class],
        )?;
        Ok(())
    }

    /// Adds counts to a ledger's slot.
    pub fn slot(
        &self,
        ledger: &str,
        slot_s: u64,
        start_s: u64,
        good: u64,
        total: u64,
    ) -> rusqlite::Result<()> {
        self.0.execute(
            "INSERT INTO slots (ledger, slot_s, start_s, good, total) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (ledger, slot_s, start_s) DO UPDATE SET good = good + ?4, total = total + ?5",
            params![ledger, slot_s as i64, start_s as i64, good as i64, total as i64],
        )?;
        Ok(())
    }

    pub fn rule(
        &self,
        id: &str,
        definition: &str,
        memory: &str,
        next_end_ms: i64,
    ) -> rusqlite::Result<()> {
        self.0.execute(
            "INSERT INTO rules (id, definition, memory, next_end_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET definition = ?2, memory = ?3, next_end_ms = ?4",
            params![id, definition, memory, next_end_ms],
        )?;
        Ok(())
    }

    /// Opens an incident; returns its id.
    pub fn open_incident(
        &self,
        alert: &str,
        started_ms: i64,
        labels: &str,
        annotations: &str,
    ) -> rusqlite::Result<i64> {
        self.0.execute(
            "INSERT INTO incidents (alert, started_ms, labels, annotations) VALUES (?1, ?2, ?3, ?4)",
            params![alert, started_ms, labels, annotations],
        )?;
        Ok(self.0.last_insert_rowid())
    }

    /// Whether a `kind` notification of `incident` to `receiver` was queued to be sent
    /// (not held back by maintenance).
    pub fn sent(&self, incident: i64, receiver: &str, kind: &str) -> rusqlite::Result<bool> {
        self.0.query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE incident = ?1 AND receiver = ?2 AND kind = ?3 AND suppressed = 0)",
            params![incident, receiver, kind],
            |r| r.get(0),
        )
    }

    /// An incident's annotations (JSON).
    pub fn annotations(&self, id: i64) -> rusqlite::Result<String> {
        self.0.query_row(
            "SELECT annotations FROM incidents WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
    }

    pub fn close_incident(
        &self,
        id: i64,
        ended_ms: i64,
        annotations: &str,
    ) -> rusqlite::Result<()> {
        self.0.execute(
            "UPDATE incidents SET ended_ms = ?2, annotations = ?3 WHERE id = ?1",
            params![id, ended_ms, annotations],
        )?;
        Ok(())
    }

    /// Queues a notification for `receiver`; `suppressed` ones are recorded, never sent.
    pub fn enqueue(
        &self,
        receiver: &str,
        incident: i64,
        kind: &str,
        now_ms: i64,
        suppressed: bool,
    ) -> rusqlite::Result<()> {
        self.0.execute(
            "INSERT INTO outbox (receiver, incident, kind, created_ms, due_ms, suppressed) VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
            params![receiver, incident, kind, now_ms, i64::from(suppressed)],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_sqlite_file_and_a_file_that_is_not_sqlite_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let foreign = dir.path().join("app.db");
        let c = Connection::open(&foreign).unwrap();
        c.execute_batch("CREATE TABLE users (name TEXT);").unwrap();
        drop(c);
        assert!(matches!(
            Store::open(&foreign),
            Err(StoreError::Foreign { .. })
        ));
        let text = dir.path().join("notes.db");
        std::fs::write(
            &text,
            "these are notes, not a database, and quite long enough to have a header",
        )
        .unwrap();
        let e = Store::open(&text).err().expect("refused");
        assert!(e.to_string().contains("notes.db"), "{e}");
    }

    #[test]
    fn state_survives_reopening_and_the_outbox_hands_out_due_rows_once_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut s = Store::open(&path).unwrap();
        s.transaction(|tx| {
            tx.tick(&StoredTick {
                item: "health".into(),
                at_ms: 1_000,
                n: 3,
                errors: 1,
                latencies_us: vec![1200, 3400],
                reason: Some("HTTP 500".into()),
                class: Some("status_5xx".into()),
            })?;
            tx.slot("item:health", 60, 0, 2, 3)?;
            tx.slot("item:health", 60, 0, 1, 1)?;
            tx.rule("api-errors", "def", "{}", 5_000)?;
            let inc = tx.open_incident("api-errors", 900, "{}", "{}")?;
            tx.enqueue("alertmanager", inc, "firing", 1_000, false)?;
            tx.enqueue("webhook", inc, "firing", 1_000, true)
        })
        .unwrap();
        drop(s);
        let s = Store::open(&path).unwrap();
        let ticks = s.ticks_since(0).unwrap();
        assert_eq!(ticks[0].latencies_us, vec![1200, 3400]);
        assert_eq!(s.slots("item:health").unwrap(), vec![(60, 0, 3, 4)]);
        assert_eq!(s.rule("api-errors").unwrap().unwrap().2, 5_000);
        assert!(s.open_incident("api-errors").unwrap().is_some());
        let due = s.due(1_000, 10).unwrap();
        assert_eq!(due.len(), 1, "the suppressed one is recorded, never due");
        s.failed(due[0].id, 3_000, "connection refused").unwrap();
        assert!(s.due(2_000, 10).unwrap().is_empty());
        let again = s.due(3_000, 10).unwrap();
        assert_eq!(again[0].attempts, 1);
        s.delivered(again[0].id, 3_000).unwrap();
        assert!(s.due(10_000, 10).unwrap().is_empty());
        assert_eq!(s.pending().unwrap(), 0);
    }
}
