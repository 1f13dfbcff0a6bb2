//! How many containers one command works on at once (`stop -a`, `rm -a`,
//! `pod stop`): most of each one's time is spent waiting on the runtime,
//! the helpers and the kernel, so three per CPU, as Podman's worker pool
//! runs several per CPU.

pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()) * 3
}
