//! Connections kept between samples by the kinds that reuse them (postgres, redis): a
//! sample takes one (or connects) and puts it back when done, so there are never more
//! than `concurrency`, one per sampler. One taken and not put back (timeout,
//! cancellation, a broken connection) is dropped, which closes it. The reference
//! system's PostgreSQL pool keeps its idle connections here too.

use std::sync::Mutex;

pub struct Idle<C> {
    kept: Mutex<Vec<C>>,
}

impl<C> Default for Idle<C> {
    fn default() -> Self {
        Idle {
            kept: Mutex::new(Vec::new()),
        }
    }
}

impl<C> Idle<C> {
    /// A kept connection that `usable` accepts; unusable ones are dropped on the way.
    pub fn take(&self, usable: impl Fn(&C) -> bool) -> Option<C> {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(c) = kept.pop() {
            if usable(&c) {
                return Some(c);
            }
        }
        None
    }

    pub fn put(&self, c: C) {
        self.kept.lock().unwrap_or_else(|p| p.into_inner()).push(c);
    }

    /// How many are kept now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.kept.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}
