//! Rate limiting per credential: a fixed 60-second window, counted in DynamoDB so that every Lambda
//! instance sees the same count.
//!
//! The count of the current window is read in the same round trip as the credential (see
//! [`crate::Store::authenticate`]); a create charges the window inside its own transaction, on condition
//! that the window is not full — exact under concurrency, and no extra round trip. Requests that end before
//! the transaction (validation errors, refusals) are charged by one write after their answer is decided.

/// The rate key of a caller known by `tracker` (a secret, an OAuth client id, an address): the vendor, then
/// the tracker's digest, so that the key names no secret and IAM can limit each function to its vendor's.
pub fn key_of(vendor: crate::model::Vendor, tracker: &str) -> String {
    format!("{vendor}#{}", crate::secrets::digest(tracker))
}

/// The length of a window in seconds.
pub const WINDOW_S: i64 = 60;

/// The window a request falls in, and what the caller has used of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateWindow {
    /// What the window counts for: `<vendor>#` and the digest of a credential or another tracker of the
    /// caller ([`key_of`]), or a session's account (`clerk#<account>`); stored as `RATE#<key>`.
    pub key: String,
    /// Window number: Unix seconds / [`WINDOW_S`].
    pub window: i64,
    /// Requests per window; 0 turns limiting off.
    pub limit: u32,
    /// Requests already counted in this window, before this one.
    pub used: u32,
    /// Unix seconds now.
    pub now_s: i64,
    /// Unix seconds until which the caller is blocked after a refusal (vendors that block, e.g. Cal.com's
    /// throttler for 60 s); 0 when not blocked.
    pub blocked_until_s: i64,
}

impl RateWindow {
    pub fn new(key: impl Into<String>, limit: u32, used: u32, now_s: i64) -> Self {
        RateWindow {
            key: key.into(),
            window: now_s.div_euclid(WINDOW_S),
            limit,
            used,
            now_s,
            blocked_until_s: 0,
        }
    }

    /// Still blocked by an earlier refusal.
    pub fn blocked(&self) -> bool {
        self.enabled() && self.now_s < self.blocked_until_s
    }

    pub fn enabled(&self) -> bool {
        self.limit > 0
    }

    /// The window is full, or the caller still blocked: this request must be refused.
    pub fn exceeded(&self) -> bool {
        self.enabled() && (self.used >= self.limit || self.blocked())
    }

    /// What is left of the window once this request is counted.
    pub fn remaining(&self) -> u32 {
        self.limit.saturating_sub(self.used.saturating_add(1))
    }

    /// Seconds until the caller may send again: the end of the window (1 to 60), or of a block.
    pub fn reset_s(&self) -> u32 {
        let window_end = (self.window + 1) * WINDOW_S;
        let end = if self.blocked() { self.blocked_until_s.max(window_end) } else { window_end };
        (end - self.now_s) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_down_and_reset_at_the_minute() {
        let w = RateWindow::new("k", 120, 0, 1_000_020);
        assert_eq!((w.window, w.remaining(), w.reset_s()), (16_667, 119, 60));
        assert!(!w.exceeded());
        let full = RateWindow::new("k", 2, 2, 1_000_079);
        assert!(full.exceeded());
        assert_eq!((full.remaining(), full.reset_s()), (0, 1));
        assert!(!RateWindow::new("k", 0, 500, 0).exceeded(), "0 turns limiting off");
    }

    #[test]
    fn a_block_outlasts_its_window() {
        let blocked = RateWindow { blocked_until_s: 1_000_130, ..RateWindow::new("k", 5, 0, 1_000_070) };
        assert!(blocked.blocked() && blocked.exceeded());
        assert_eq!(blocked.reset_s(), 60, "until the block ends, past the window's end");
        let over = RateWindow { blocked_until_s: 1_000_070, ..RateWindow::new("k", 5, 0, 1_000_070) };
        assert!(!over.exceeded(), "a block ends at its second");
    }
}
