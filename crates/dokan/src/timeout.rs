//! How long a Dokan callback may wait for the filesystem, and how the driver is kept from
//! giving up first.
//!
//! Dokan callbacks are synchronous: a Dokan worker thread calls in and must return the answer.
//! The driver times every request out after `DOKAN_OPTIONS.Timeout` milliseconds: it fails the
//! request with `STATUS_INSUFFICIENT_RESOURCES` and drops the callback's answer when it comes.
//! (Dokan 2.0.6 unmounts the volume on a timeout only before the library has activated its
//! keepalive handle, which it does while mounting; afterwards the volume stays.)
//!
//! mountkit has its own per-request timeout
//! ([`WindowsOptions::request_timeout`](mountkit_core::windows::WindowsOptions)), after which
//! the dispatcher answers `ETIMEDOUT`. The caller must get that answer (`STATUS_IO_TIMEOUT`)
//! rather than the driver's, and a request still being served must not lose its answer. So:
//!
//! - the driver timeout is the request timeout plus [`MARGIN`];
//! - a waiting callback wakes every [`TimeoutPolicy::wake_interval`] and, while its answer is
//!   still missing, extends the driver's timer (`DokanResetTimeout`) to the time left before
//!   its own deadline plus [`MARGIN`]. A callback that makes several requests in a row (open,
//!   then truncate) is kept alive for all of them;
//! - a callback stops waiting [`GRACE`] after the request timeout, in case the dispatcher never
//!   answers at all, and fails with `ETIMEDOUT` itself.
//!
//! Since the margin exceeds the grace plus one wake interval, the driver's timer can only run
//! out for a request that nobody is waiting for.

use std::time::{Duration, Instant};

/// How much longer than the library's own timeout the driver waits.
pub const MARGIN: Duration = Duration::from_secs(5);
/// How long after the request timeout a callback waits for the dispatcher's own timeout
/// answer before giving up itself.
pub const GRACE: Duration = Duration::from_secs(1);
/// The longest a waiting callback sleeps between two extensions of the driver's timer.
pub const MAX_WAKE_INTERVAL: Duration = Duration::from_secs(2);
/// The shortest request timeout honoured; smaller values are raised to it.
pub const MIN_REQUEST_TIMEOUT: Duration = Duration::from_millis(100);

/// The timeout arithmetic of one mount, derived from its request timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutPolicy {
    request_timeout: Duration,
}

impl TimeoutPolicy {
    /// The policy for a mount whose requests time out after `request_timeout` (raised to at
    /// least [`MIN_REQUEST_TIMEOUT`]).
    pub fn new(request_timeout: Duration) -> TimeoutPolicy {
        TimeoutPolicy {
            request_timeout: request_timeout.max(MIN_REQUEST_TIMEOUT),
        }
    }

    /// The request timeout this policy was built for, after raising.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// `DOKAN_OPTIONS.Timeout`: the request timeout plus [`MARGIN`], in milliseconds, at most
    /// `u32::MAX`.
    pub fn dokan_timeout_ms(&self) -> u32 {
        millis(self.request_timeout + MARGIN)
    }

    /// When a callback that sent a request at `started` stops waiting for it: the request
    /// timeout plus [`GRACE`] later.
    pub fn deadline(&self, started: Instant) -> Instant {
        started + self.request_timeout + GRACE
    }

    /// How long a waiting callback sleeps before checking again: a quarter of the request
    /// timeout, between 10 ms and [`MAX_WAKE_INTERVAL`].
    pub fn wake_interval(&self) -> Duration {
        (self.request_timeout / 4).clamp(Duration::from_millis(10), MAX_WAKE_INTERVAL)
    }

    /// How long to sleep at `now` when waiting until `deadline`: the wake interval, or less
    /// when the deadline is nearer. Zero means the deadline has passed.
    pub fn next_wait(&self, now: Instant, deadline: Instant) -> Duration {
        deadline
            .saturating_duration_since(now)
            .min(self.wake_interval())
    }

    /// The argument to `DokanResetTimeout` at `now` for a request that gives up at `deadline`:
    /// the time left plus [`MARGIN`], in milliseconds, at most `u32::MAX`.
    pub fn extension_ms(&self, now: Instant, deadline: Instant) -> u32 {
        millis(deadline.saturating_duration_since(now) + MARGIN)
    }
}

fn millis(duration: Duration) -> u32 {
    u32::try_from(duration.as_millis()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_driver_waits_longer_than_the_library() {
        let policy = TimeoutPolicy::new(Duration::from_secs(30));
        assert_eq!(policy.dokan_timeout_ms(), 35_000);
        let started = Instant::now();
        let deadline = policy.deadline(started);
        assert_eq!(deadline - started, Duration::from_secs(31));
        assert!(
            u128::from(policy.dokan_timeout_ms()) > (deadline - started).as_millis(),
            "the driver outlasts a callback that waits until its deadline"
        );
    }

    #[test]
    fn the_margin_covers_grace_and_a_wake_interval() {
        assert!(MARGIN > GRACE + MAX_WAKE_INTERVAL);
    }

    #[test]
    fn extensions_cover_the_remaining_wait() {
        let policy = TimeoutPolicy::new(Duration::from_secs(30));
        let started = Instant::now();
        let deadline = policy.deadline(started);
        assert_eq!(policy.extension_ms(started, deadline), 36_000);
        let later = started + Duration::from_secs(20);
        assert_eq!(policy.extension_ms(later, deadline), 16_000);
        let past = deadline + Duration::from_secs(3);
        assert_eq!(
            policy.extension_ms(past, deadline),
            5_000,
            "never below the margin"
        );
        // Between two wakes the driver's timer always outlives the next wake.
        let mut now = started;
        while now < deadline {
            let extension = Duration::from_millis(policy.extension_ms(now, deadline).into());
            assert!(extension > policy.next_wait(now, deadline));
            now += policy.wake_interval();
        }
    }

    #[test]
    fn wake_intervals_scale_with_the_timeout() {
        assert_eq!(
            TimeoutPolicy::new(Duration::from_secs(30)).wake_interval(),
            MAX_WAKE_INTERVAL
        );
        assert_eq!(
            TimeoutPolicy::new(Duration::from_secs(1)).wake_interval(),
            Duration::from_millis(250)
        );
        assert_eq!(
            TimeoutPolicy::new(Duration::ZERO).wake_interval(),
            Duration::from_millis(25),
            "a zero timeout is raised to the minimum first"
        );
    }

    #[test]
    fn waits_shrink_near_the_deadline() {
        let policy = TimeoutPolicy::new(Duration::from_secs(30));
        let started = Instant::now();
        let deadline = policy.deadline(started);
        assert_eq!(policy.next_wait(started, deadline), MAX_WAKE_INTERVAL);
        let near = deadline - Duration::from_millis(300);
        assert_eq!(policy.next_wait(near, deadline), Duration::from_millis(300));
        assert_eq!(policy.next_wait(deadline, deadline), Duration::ZERO);
        assert_eq!(
            policy.next_wait(deadline + Duration::from_secs(1), deadline),
            Duration::ZERO
        );
    }

    #[test]
    fn huge_timeouts_saturate() {
        let policy = TimeoutPolicy::new(Duration::from_secs(u64::from(u32::MAX)));
        assert_eq!(policy.dokan_timeout_ms(), u32::MAX);
        let now = Instant::now();
        assert_eq!(policy.extension_ms(now, policy.deadline(now)), u32::MAX);
        assert_eq!(
            TimeoutPolicy::new(Duration::ZERO).request_timeout(),
            MIN_REQUEST_TIMEOUT
        );
    }
}
