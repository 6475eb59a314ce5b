//! The `Date` header value (IMF-fixdate), formatted at most once a second per thread.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

const LEN: usize = 29; // "Sun, 06 Nov 1994 08:49:37 GMT"

/// The start of every `200 OK` response up to the end of its `Date` line: the common
/// case is one copy. Other statuses use the part after the status line.
const OK_PREFIX: &[u8] = b"HTTP/1.1 200 OK\r\nServer: fasterapi\r\nDate: ";
/// Length of `HTTP/1.1 200 OK\r\n`.
pub(crate) const STATUS_LINE_LEN: usize = 17;
/// Length of the cached head: status line, `Server`, `Date` and its CRLF.
pub(crate) const HEAD_LEN: usize = OK_PREFIX.len() + LEN + 2;

thread_local! {
    static CACHE: RefCell<(u64, [u8; HEAD_LEN])> = const { RefCell::new((u64::MAX, [0; HEAD_LEN])) };
}

fn head(unix_secs: u64) -> [u8; HEAD_LEN] {
    let mut out = [0; HEAD_LEN];
    out[..OK_PREFIX.len()].copy_from_slice(OK_PREFIX);
    out[OK_PREFIX.len()..OK_PREFIX.len() + LEN].copy_from_slice(&format(unix_secs));
    out[HEAD_LEN - 2..].copy_from_slice(b"\r\n");
    out
}

fn unix_now() -> u64 {
    // A clock before 1970 is a broken machine; serve the epoch rather than fail requests.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Re-reads the clock and reformats the cached date if the second changed. The event loop
/// calls this once per wake-up, so a busy thread pays one clock read per batch of events.
#[inline]
pub(crate) fn refresh() {
    let now = unix_now();
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != now {
            *c = (now, head(now));
        }
    });
}

/// Calls `f` with the cached `HTTP/1.1 200 OK\r\nServer: fasterapi\r\nDate: ...\r\n`,
/// borrowed in place (a response copies it once, into its output); formatted first on a
/// thread that never refreshed.
#[inline]
pub(crate) fn with_head<R>(f: impl FnOnce(&[u8; HEAD_LEN]) -> R) -> R {
    CACHE.with(|c| {
        if c.borrow().0 == u64::MAX {
            refresh();
        }
        f(&c.borrow().1)
    })
}

/// The cached date alone.
#[cfg(test)]
pub(crate) fn cached_date() -> String {
    with_head(|h| String::from_utf8_lossy(&h[OK_PREFIX.len()..OK_PREFIX.len() + LEN]).into_owned())
}

/// Formats seconds since the Unix epoch as an IMF-fixdate (RFC 9110 §5.6.7).
pub(crate) fn format(unix_secs: u64) -> [u8; LEN] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = unix_secs / 86_400;
    let secs_of_day = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days as i64);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    let two = |out: &mut [u8; LEN], at: usize, v: u64| {
        out[at] = b'0' + (v / 10 % 10) as u8;
        out[at + 1] = b'0' + (v % 10) as u8;
    };
    two(&mut out, 5, day as u64);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    two(&mut out, 12, (year / 100) as u64);
    two(&mut out, 14, (year % 100) as u64);
    two(&mut out, 17, secs_of_day / 3600);
    two(&mut out, 20, secs_of_day / 60 % 60);
    two(&mut out, 23, secs_of_day % 60);
    out
}

/// Howard Hinnant's days-to-civil algorithm: (year, month 1..=12, day 1..=31).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates() {
        assert_eq!(&format(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(&format(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&format(951_782_400), b"Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(&format(1_795_320_000), b"Sun, 22 Nov 2026 04:00:00 GMT");
        assert_eq!(&format(4_102_444_799), b"Thu, 31 Dec 2099 23:59:59 GMT");
    }

    #[test]
    fn cached_head_is_well_formed() {
        let h = with_head(|h| *h);
        assert!(h.starts_with(b"HTTP/1.1 200 OK\r\nServer: fasterapi\r\nDate: "));
        assert!(h.ends_with(b" GMT\r\n"));
        assert_eq!(cached_date().len(), LEN);
        assert_eq!(&h[..STATUS_LINE_LEN], b"HTTP/1.1 200 OK\r\n");
    }
}
