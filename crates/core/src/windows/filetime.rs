//! FILETIME: Windows timestamps, counted in 100-nanosecond intervals since
//! 1601-01-01 00:00:00 UTC.
//!
//! Conversions here never panic and never wrap. A FILETIME is carried as a `u64`, but Windows
//! stores it in a signed 64-bit `LARGE_INTEGER` where negative values are not times (in
//! `FILE_BASIC_INFORMATION`, -1 and -2 are instructions), so every FILETIME produced here lies
//! in `0..=MAX_FILETIME`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The FILETIME of the Unix epoch, 1970-01-01 00:00:00 UTC: the 369 years from 1601 to 1970,
/// in 100-nanosecond intervals.
pub const UNIX_EPOCH_FILETIME: u64 = 116_444_736_000_000_000;

/// The largest FILETIME produced (`i64::MAX`, in the year 30828); later times saturate to it.
pub const MAX_FILETIME: u64 = i64::MAX as u64;

const TICKS_PER_SECOND: u64 = 10_000_000;
const NANOS_PER_TICK: u128 = 100;
const TICKS_PER_MILLI: i128 = 10_000;

/// The FILETIME of `time`, rounded toward the past to a whole 100-ns interval (so a time never
/// reads later than it was). Times before 1601 saturate to 0 and times after
/// [`MAX_FILETIME`] saturate to it.
pub fn filetime_from_system_time(time: SystemTime) -> u64 {
    let offset = time
        .duration_since(UNIX_EPOCH)
        .map_err(|before| before.duration());
    filetime_from_unix_ticks(unix_ticks_from_offset(offset))
}

/// The instant a FILETIME denotes. 0 is 1601-01-01 00:00:00 UTC; values above
/// [`MAX_FILETIME`] (negative as Windows reads them) are taken as [`MAX_FILETIME`]. On every
/// supported platform `SystemTime` spans this whole range (on Windows it is this range); a
/// platform whose `SystemTime` could not represent the instant would get the Unix epoch.
pub fn system_time_from_filetime(filetime: u64) -> SystemTime {
    let ticks = unix_ticks_from_filetime(filetime);
    let distance = ticks_to_duration(ticks.unsigned_abs());
    let instant = if ticks >= 0 {
        UNIX_EPOCH.checked_add(distance)
    } else {
        UNIX_EPOCH.checked_sub(distance)
    };
    instant.unwrap_or(UNIX_EPOCH)
}

/// 100-ns intervals from the Unix epoch to a time `offset` after it (`Ok`) or before it
/// (`Err`), rounded toward the past. Counting in integers rather than moving a `SystemTime`
/// keeps the conversion exact and panic-free on every platform: Windows' `SystemTime` has
/// 100-ns resolution and ends at 1601, where Unix's goes on.
fn unix_ticks_from_offset(offset: Result<Duration, Duration>) -> i128 {
    // A `Duration` holds at most 2^64 seconds, about 2^91 ns: far inside i128.
    match offset {
        Ok(after) => (after.as_nanos() / NANOS_PER_TICK) as i128,
        Err(before) => -((before.as_nanos().div_ceil(NANOS_PER_TICK)) as i128),
    }
}

/// The FILETIME `ticks` 100-ns intervals after the Unix epoch (before it when negative),
/// saturating to `0..=MAX_FILETIME`.
fn filetime_from_unix_ticks(ticks: i128) -> u64 {
    let filetime = ticks.saturating_add(i128::from(UNIX_EPOCH_FILETIME));
    filetime.clamp(0, i128::from(MAX_FILETIME)) as u64
}

/// The 100-ns intervals from the Unix epoch to `filetime` (negative before 1970); values above
/// [`MAX_FILETIME`] are taken as [`MAX_FILETIME`].
fn unix_ticks_from_filetime(filetime: u64) -> i128 {
    i128::from(filetime.min(MAX_FILETIME)) - i128::from(UNIX_EPOCH_FILETIME)
}

fn ticks_to_duration(ticks: u128) -> Duration {
    let seconds = ticks / u128::from(TICKS_PER_SECOND);
    let nanos = (ticks % u128::from(TICKS_PER_SECOND)) * NANOS_PER_TICK;
    // Every FILETIME is at most i64::MAX ticks from the epoch: its seconds fit in a u64.
    Duration::new(seconds as u64, nanos as u32)
}

/// The time a `FILE_BASIC_INFORMATION` field (or `SetFileTime` argument) asks to set, or
/// `None` when it asks to leave the time alone: 0 means "do not change", and the negative
/// values (-1 "stop updating this time on writes", -2 "resume updating it", any other is
/// invalid) have no meaning as instants, so a backend never sets a file's time to one of them.
pub fn requested_time(filetime: u64) -> Option<SystemTime> {
    (filetime != 0 && filetime <= MAX_FILETIME).then(|| system_time_from_filetime(filetime))
}

/// The FILETIME of a JavaScript time in milliseconds since the Unix epoch (what `Date.now()`
/// and `Date#getTime()` return; fractions of a millisecond are kept down to 100 ns, rounded
/// toward the past). NaN (an invalid `Date`) gives 0, "no time"; -∞ and times before 1601
/// give 0; +∞ and times after [`MAX_FILETIME`] give [`MAX_FILETIME`].
pub fn filetime_from_js_millis(millis: f64) -> u64 {
    if millis.is_nan() {
        return 0;
    }
    // Every FILETIME is within ±1e15 ms of the Unix epoch; clamping first keeps the float to
    // integer conversion below exact in its whole milliseconds.
    let millis = millis.clamp(-1e16, 1e16);
    let whole = millis.floor();
    let fraction_ticks = ((millis - whole) * TICKS_PER_MILLI as f64).floor();
    filetime_from_unix_ticks(whole as i128 * TICKS_PER_MILLI + fraction_ticks as i128)
}

/// The JavaScript time (milliseconds since the Unix epoch, negative before 1970) of a
/// FILETIME, with the 100-ns intervals kept as a fraction. Values above [`MAX_FILETIME`] are
/// taken as [`MAX_FILETIME`].
pub fn js_millis_from_filetime(filetime: u64) -> f64 {
    let ticks = unix_ticks_from_filetime(filetime);
    let whole = ticks.div_euclid(TICKS_PER_MILLI);
    let fraction = ticks.rem_euclid(TICKS_PER_MILLI);
    whole as f64 + fraction as f64 / TICKS_PER_MILLI as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECONDS_1601_TO_1970: u64 = 11_644_473_600;

    #[test]
    fn the_epochs_line_up() {
        assert_eq!(UNIX_EPOCH_FILETIME, SECONDS_1601_TO_1970 * TICKS_PER_SECOND);
        assert_eq!(filetime_from_system_time(UNIX_EPOCH), UNIX_EPOCH_FILETIME);
        assert_eq!(system_time_from_filetime(UNIX_EPOCH_FILETIME), UNIX_EPOCH);
        let year_1601 = UNIX_EPOCH - Duration::from_secs(SECONDS_1601_TO_1970);
        assert_eq!(system_time_from_filetime(0), year_1601);
        assert_eq!(filetime_from_system_time(year_1601), 0);
    }

    #[test]
    fn known_dates() {
        // 2000-01-01T00:00:00Z is 946684800 Unix seconds.
        let y2k = UNIX_EPOCH + Duration::from_secs(946_684_800);
        assert_eq!(filetime_from_system_time(y2k), 125_911_584_000_000_000);
        // 1900-01-01T00:00:00Z is -2208988800 Unix seconds.
        let y1900 = UNIX_EPOCH - Duration::from_secs(2_208_988_800);
        assert_eq!(filetime_from_system_time(y1900), 94_354_848_000_000_000);
        assert_eq!(system_time_from_filetime(94_354_848_000_000_000), y1900);
    }

    #[test]
    fn times_before_1970_round_toward_the_past() {
        // Offsets of less than a tick exist only off Windows, whose `SystemTime` counts whole
        // ticks, so the rounding is checked on the offsets themselves.
        let nanos = Duration::from_nanos;
        assert_eq!(unix_ticks_from_offset(Err(nanos(150))), -2);
        assert_eq!(unix_ticks_from_offset(Err(nanos(100))), -1);
        assert_eq!(unix_ticks_from_offset(Err(nanos(1))), -1);
        assert_eq!(unix_ticks_from_offset(Err(Duration::ZERO)), 0);
        assert_eq!(unix_ticks_from_offset(Ok(nanos(150))), 1);
        assert_eq!(unix_ticks_from_offset(Ok(nanos(99))), 0);
        // Whole ticks before and after 1970 exist on every platform.
        assert_eq!(
            filetime_from_system_time(UNIX_EPOCH - Duration::from_nanos(200)),
            UNIX_EPOCH_FILETIME - 2
        );
        assert_eq!(
            filetime_from_system_time(UNIX_EPOCH + Duration::from_nanos(100)),
            UNIX_EPOCH_FILETIME + 1
        );
        assert_eq!(
            filetime_from_system_time(UNIX_EPOCH - Duration::from_secs(1)),
            UNIX_EPOCH_FILETIME - TICKS_PER_SECOND
        );
    }

    #[test]
    fn out_of_range_times_saturate() {
        // Times before 1601 exist only off Windows, times past 30828 nowhere, so the
        // saturation is checked on offsets; the extremes every platform has are checked too.
        let before_1601 = Duration::from_secs(SECONDS_1601_TO_1970) + Duration::from_nanos(100);
        let saturated = |offset| filetime_from_unix_ticks(unix_ticks_from_offset(offset));
        assert_eq!(saturated(Err(before_1601)), 0);
        assert_eq!(saturated(Err(Duration::MAX)), 0);
        assert_eq!(saturated(Ok(Duration::from_secs(1 << 40))), MAX_FILETIME);
        assert_eq!(saturated(Ok(Duration::MAX)), MAX_FILETIME);
        assert_eq!(filetime_from_unix_ticks(i128::MIN), 0);
        assert_eq!(filetime_from_unix_ticks(i128::MAX), MAX_FILETIME);
        let year_1601 = system_time_from_filetime(0);
        assert_eq!(filetime_from_system_time(year_1601), 0);
        let year_30828 = system_time_from_filetime(MAX_FILETIME);
        assert_eq!(filetime_from_system_time(year_30828), MAX_FILETIME);
        assert_eq!(system_time_from_filetime(u64::MAX), year_30828);
    }

    #[test]
    fn round_trips_keep_100ns_precision() {
        for filetime in [
            0,
            1,
            UNIX_EPOCH_FILETIME - 1,
            UNIX_EPOCH_FILETIME,
            UNIX_EPOCH_FILETIME + 1,
            133_000_000_123_456_789,
            MAX_FILETIME,
        ] {
            assert_eq!(
                filetime_from_system_time(system_time_from_filetime(filetime)),
                filetime
            );
        }
    }

    #[test]
    fn requested_times_skip_the_special_values() {
        assert_eq!(requested_time(0), None);
        assert_eq!(requested_time(u64::MAX), None, "-1");
        assert_eq!(requested_time(u64::MAX - 1), None, "-2");
        assert_eq!(requested_time(UNIX_EPOCH_FILETIME), Some(UNIX_EPOCH));
        assert_eq!(
            requested_time(1),
            Some(system_time_from_filetime(0) + Duration::from_nanos(100))
        );
    }

    #[test]
    fn javascript_milliseconds() {
        assert_eq!(filetime_from_js_millis(0.0), UNIX_EPOCH_FILETIME);
        assert_eq!(filetime_from_js_millis(-1.0), UNIX_EPOCH_FILETIME - 10_000);
        assert_eq!(filetime_from_js_millis(1.5), UNIX_EPOCH_FILETIME + 15_000);
        assert_eq!(filetime_from_js_millis(-0.00005), UNIX_EPOCH_FILETIME - 1);
        assert_eq!(
            filetime_from_js_millis(946_684_800_000.0),
            125_911_584_000_000_000
        );
        assert_eq!(filetime_from_js_millis(f64::NAN), 0);
        assert_eq!(filetime_from_js_millis(f64::NEG_INFINITY), 0);
        assert_eq!(filetime_from_js_millis(f64::INFINITY), MAX_FILETIME);
        assert_eq!(filetime_from_js_millis(-1e300), 0);
        assert_eq!(filetime_from_js_millis(1e300), MAX_FILETIME);
        // The earliest JavaScript date, -8.64e15 ms, is before 1601.
        assert_eq!(filetime_from_js_millis(-8.64e15), 0);

        assert_eq!(js_millis_from_filetime(UNIX_EPOCH_FILETIME), 0.0);
        assert_eq!(js_millis_from_filetime(0), -11_644_473_600_000.0);
        assert_eq!(js_millis_from_filetime(UNIX_EPOCH_FILETIME - 15_000), -1.5);
        assert_eq!(js_millis_from_filetime(UNIX_EPOCH_FILETIME + 1), 0.0001);
        assert_eq!(
            js_millis_from_filetime(u64::MAX),
            js_millis_from_filetime(MAX_FILETIME)
        );
        for millis in [0.0, 1.0, -1.0, 1_700_000_000_123.0, -2_208_988_800_000.0] {
            assert_eq!(
                js_millis_from_filetime(filetime_from_js_millis(millis)),
                millis
            );
        }
    }
}
