//! Waiting for a condition with a deadline, instead of sleeping for a
//! guessed time: the test goes on as soon as the condition holds, and fails
//! with what it waited for when it never does.

use std::time::{Duration, Instant};

/// How often a condition is checked.
pub const INTERVAL: Duration = Duration::from_millis(20);

/// Check `cond` every [`INTERVAL`] until it holds; panic naming `what`
/// once `timeout` has passed.
pub fn until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    until_some(timeout, what, || cond().then_some(()))
}

/// Call `f` every [`INTERVAL`] until it returns a value; panic naming
/// `what` once `timeout` has passed.
pub fn until_some<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(INTERVAL);
    }
}

/// Whether process `pid` exists and is not a zombie (nobody may reap it:
/// PID 1 of a test sandbox often does not).
pub fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_as_soon_as_the_condition_holds() {
        let mut n = 0;
        let v = until_some(Duration::from_secs(5), "three calls", || {
            n += 1;
            (n == 3).then_some(n)
        });
        assert_eq!(v, 3);
        assert!(running(std::process::id() as i32));
    }

    #[test]
    #[should_panic(expected = "waiting for never")]
    fn fails_at_the_deadline() {
        until(Duration::from_millis(50), "never", || false);
    }
}
