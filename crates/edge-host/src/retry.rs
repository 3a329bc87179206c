//! The edge node's outbound policy toward origins: how long it waits to connect and for
//! an answer, and when a failed request is tried again. One place for these numbers;
//! the cache's own head and body limits ([`crate::cache::HEAD_TIMEOUT`],
//! [`crate::cache::BODY_IDLE`]) sit beside its fills.

use std::time::Duration;

/// How long a TCP connect to an origin may take. An origin on the same network answers
/// a SYN in well under a millisecond; a connect that takes seconds is to a host that is
/// gone, and waiting longer only holds the viewer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The pauses before the second and third attempts of a request whose connection could
/// not be made. Only requests that never reached the origin are tried again (a refused
/// or timed-out connect), and only `GET`/`HEAD`: nothing was sent, so trying again
/// cannot repeat an effect. A request that reached the origin and got no answer is not
/// retried here (the cache retries a failed fill once, [edge-cache.md §5 #7]).
pub const BACKOFF: [Duration; 2] = [Duration::from_millis(50), Duration::from_millis(250)];

/// How long a request may wait for the origin's head: the cache's fill limit, above the
/// longest hold of the origin.
pub const HEAD_TIMEOUT: Duration = crate::cache::HEAD_TIMEOUT;

/// The pause before attempt `n` (1-based: attempt 1 goes at once), or `None` when no
/// attempt `n` is made.
pub fn pause_before(n: usize) -> Option<Duration> {
    match n {
        0 => None,
        1 => Some(Duration::ZERO),
        n => BACKOFF.get(n - 2).copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_attempts_with_growing_pauses() {
        assert_eq!(pause_before(1), Some(Duration::ZERO));
        assert_eq!(pause_before(2), Some(BACKOFF[0]));
        assert_eq!(pause_before(3), Some(BACKOFF[1]));
        assert_eq!(pause_before(4), None);
        assert!(BACKOFF[0] < BACKOFF[1]);
    }
}
