//! The one place the origin reads the wall clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// Current wall-clock time in Unix microseconds.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
