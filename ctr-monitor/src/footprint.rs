//! Giving memory back when the monitor goes quiet.
//!
//! A monitor spends nearly all its life blocked in `epoll_wait` next to an
//! idle container, so what it keeps mapped while quiet is what every
//! container costs. Each burst of work (an RPC connection ending, an exec
//! session ending, a chunk of container output, an attach client leaving)
//! calls [`soon`]; once nothing has happened for [`QUIET`], [`shed`] runs
//! from the runtime's park hook, right before it blocks:
//!
//! * `malloc_trim(0)`: freed heap pages go back to the kernel, including
//!   free pages in the middle of the heap.
//! * The main stack below the current frame: creating a container (JSON,
//!   protobuf, HTTP/2, spawning the runtime) runs deep; idle needs little.
//!   Those pages are dead and would otherwise stay dirty for good.
//! * The executable's pages that are still exactly the file's: code,
//!   constants, unwind tables and (linked at a fixed address) the vtables
//!   in RELRO. Nothing is lost: they stay in the page cache, shared with
//!   every other monitor, and come back as minor faults when work resumes.
//!   What this saves is this process's share of them (Pss), and it lets
//!   the kernel reclaim them under pressure, which it is reluctant to do
//!   for mapped code. Shared libraries are left alone: their pages are
//!   mapped by every process on the host anyway.
//!
//! /proc is read by hand here (one line of /proc/self/maps, raw
//! /proc/self/pagemap words), not through the `procfs` crate podman uses:
//! measured with ten idle monitors each way, the crate's readers left each
//! monitor with more anonymous memory and a higher Pss, and the monitor's
//! idle memory is what every container pays.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tracing::debug;

/// How long the monitor must be quiet before it sheds memory: longer than
/// the gaps inside one podman command (create, start, hang up), so the run
/// path never pays for it.
pub const QUIET: Duration = Duration::from_millis(250);

/// Kept below the current stack frame: room for the `madvise` call made
/// from it (the kernel works on its own stack).
const STACK_MARGIN: usize = 4 * 1024;

static ACTIVITY: Notify = Notify::const_new();
static STARTED: AtomicBool = AtomicBool::new(false);
/// Quiet long enough: shed at the next park.
static DUE: AtomicBool = AtomicBool::new(false);

/// Something just happened: shed memory once the monitor is quiet again.
/// Cheap enough to call for every chunk of output.
pub fn soon() {
    ACTIVITY.notify_one();
}

/// Start the task that sheds memory after activity dies down. Call once,
/// inside the runtime; later calls do nothing.
pub fn start() {
    if STARTED.swap(true, Ordering::Relaxed) {
        return;
    }
    tokio::spawn(async {
        loop {
            ACTIVITY.notified().await;
            // Wait for QUIET without news.
            while tokio::time::timeout(QUIET, ACTIVITY.notified())
                .await
                .is_ok()
            {}
            DUE.store(true, Ordering::Relaxed);
        }
    });
}

/// The runtime's park hook: shed when due. Running right before
/// `epoll_wait`, the shed is followed only by the few code pages every
/// park touches, so the monitor sleeps with almost nothing mapped.
pub fn on_park() {
    if DUE.swap(false, Ordering::Relaxed) {
        shed();
    }
}

/// Largest allocation served from the heap; bigger ones get their own
/// mapping, returned whole on free.
const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Malloc settings for a long-lived, mostly idle process. Call first thing
/// in `main`, before any thread exists.
///
/// * One arena: a thread that ever runs (none should) shares the main
///   heap instead of reserving its own 64 MB arena and dirtying its pages.
/// * A fixed mmap threshold: glibc otherwise raises it after each large
///   free, after which large buffers come from the heap and fragment it
///   for good.
pub fn tune_malloc() {
    // SAFETY: mallopt only changes allocator settings.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
    untune_children();
}

/// podman starts the monitor with glibc's tcache off
/// (`GLIBC_TUNABLES=glibc.malloc.tcache_count=0`, read by glibc before
/// `main`), marked by `PODMAN_RS_MONITOR_TUNED`: that is for the monitor
/// only, not for the runtime or the exit command it runs, so both go.
/// Called first thing in `main`, before any thread exists.
fn untune_children() {
    if std::env::var_os("PODMAN_RS_MONITOR_TUNED").is_some() {
        // SAFETY: single-threaded at this point (documented contract).
        unsafe {
            std::env::remove_var("PODMAN_RS_MONITOR_TUNED");
            std::env::remove_var("GLIBC_TUNABLES");
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => 4096,
    }
}

/// Return freed heap, dead stack and mapped code pages to the kernel now.
pub fn shed() {
    let t = Instant::now();
    let page = page_size();
    let stack = drop_dead_stack(page);
    let code = drop_readonly_image(page);
    // SAFETY: malloc_trim only releases free memory.
    unsafe { libc::malloc_trim(0) };
    debug!(
        stack_kb = stack / 1024,
        image_kb = code / 1024,
        elapsed_us = t.elapsed().as_micros() as u64,
        "memory shed"
    );
}

/// The main thread's stack mapping, [low, high).
fn main_stack() -> Option<(usize, usize)> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps.lines().find(|l| l.ends_with("[stack]"))?;
    let (low, rest) = line.split_once('-')?;
    let high = rest.split_whitespace().next()?;
    Some((
        usize::from_str_radix(low, 16).ok()?,
        usize::from_str_radix(high, 16).ok()?,
    ))
}

/// MADV_DONTNEED the main stack below the current frame (less a margin);
/// the bytes released.
#[inline(never)]
fn drop_dead_stack(page: usize) -> usize {
    let here = 0u8;
    let sp = std::hint::black_box(&here) as *const u8 as usize;
    // Only on the main thread: its stack is the [stack] mapping.
    let Some((low, _)) = main_stack().filter(|&(low, high)| (low..high).contains(&sp)) else {
        return 0;
    };
    let end = (sp.saturating_sub(STACK_MARGIN)) & !(page - 1);
    if end <= low {
        return 0;
    }
    // SAFETY: [low, end) lies in the main stack below every live frame (the
    // margin covers the calls made from here); such pages hold nothing and
    // come back zeroed if the stack grows into them again.
    let r = unsafe { libc::madvise(low as *mut libc::c_void, end - low, libc::MADV_DONTNEED) };
    if r == 0 {
        end - low
    } else {
        0
    }
}

/// A copy of the executable's program headers (they sit in a page this
/// module drops) and the load bias (0 for a fixed-address executable, the
/// load address for a PIE).
fn program_headers() -> Option<(Vec<libc::Elf64_Phdr>, usize)> {
    // SAFETY: getauxval has no preconditions; 0 means "not there".
    let (phdr, phnum) = unsafe {
        (
            libc::getauxval(libc::AT_PHDR) as usize,
            libc::getauxval(libc::AT_PHNUM) as usize,
        )
    };
    if phdr == 0 || phnum == 0 {
        return None;
    }
    // SAFETY: the kernel tells where the loaded program headers are; they
    // stay mapped, unchanged, for the life of the process.
    let headers = unsafe { std::slice::from_raw_parts(phdr as *const libc::Elf64_Phdr, phnum) };
    let h = headers.iter().find(|h| h.p_type == libc::PT_PHDR)?;
    Some((headers.to_vec(), phdr.wrapping_sub(h.p_vaddr as usize)))
}

/// Drop [start, end) from this process's page tables; the bytes released.
///
/// # Safety
///
/// [start, end) must be whole, read-only pages of a file mapping that hold
/// exactly what the file holds: dropping them then only means they are
/// read again from the page cache when used.
unsafe fn dontneed(start: usize, end: usize) -> usize {
    // SAFETY: see the function's contract.
    let r = unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    if r == 0 {
        end - start
    } else {
        0
    }
}

/// MADV_DONTNEED the pages of the executable that hold exactly what the
/// file holds: those of the read-only segments (code, constants, unwind
/// tables) and of the RELRO region (vtables; read-only once the loader
/// relocated it) that are still the page cache's, not private copies (a
/// relocated GOT entry, a debugger's breakpoint); the bytes released.
fn drop_readonly_image(page: usize) -> usize {
    let Some((headers, bias)) = program_headers() else {
        return 0;
    };
    let down = |a: usize| a & !(page - 1);
    let up = |a: usize| (a + page - 1) & !(page - 1);
    let span = |h: &libc::Elf64_Phdr| {
        let start = bias + h.p_vaddr as usize;
        (start, start + h.p_memsz as usize)
    };
    let writable: Vec<(usize, usize)> = headers
        .iter()
        .filter(|h| h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_W != 0)
        .map(|h| {
            let (s, e) = span(h);
            (down(s), up(e))
        })
        .collect();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for h in headers
        .iter()
        .filter(|h| h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_W == 0)
    {
        // Never a page a writable segment shares: it could be written to
        // between the check and the drop.
        let (s, e) = span(h);
        let (mut start, mut end) = (down(s), up(e));
        for &(ws, we) in &writable {
            if (ws..we).contains(&start) {
                start = we;
            }
            if ws < end && end <= we {
                end = ws;
            }
        }
        if end > start {
            ranges.push((start, end));
        }
    }
    if let Some(h) = headers.iter().find(|h| h.p_type == libc::PT_GNU_RELRO) {
        // Only the pages the loader made read-only (a last partial page stays writable).
        let (s, e) = span(h);
        if down(e) > down(s) {
            ranges.push((down(s), down(e)));
        }
    }
    let mut released = 0;
    for (start, end) in ranges {
        for (a, b) in file_backed_runs(start, end, page) {
            // SAFETY: read-only pages of the executable (no writable segment
            // shares them) that pagemap says are still the file's.
            released += unsafe { dontneed(a, b) };
        }
    }
    released
}

/// /proc/self/pagemap: the page is present and still the file's own.
const PM_PRESENT: u64 = 1 << 63;
const PM_FILE: u64 = 1 << 61;

/// Runs of pages in [start, end) that are resident and unmodified copies
/// of the file (pagemap says "file page", not a private anonymous copy).
fn file_backed_runs(start: usize, end: usize, page: usize) -> Vec<(usize, usize)> {
    use std::os::unix::fs::FileExt;
    let n = (end - start) / page;
    let mut raw = vec![0u8; n * 8];
    let read = std::fs::File::open("/proc/self/pagemap")
        .and_then(|f| f.read_exact_at(&mut raw, (start / page * 8) as u64));
    if read.is_err() {
        return Vec::new();
    }
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (i, entry) in raw.chunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(entry);
        let flags = u64::from_ne_bytes(b);
        if flags & PM_PRESENT == 0 || flags & PM_FILE == 0 {
            continue;
        }
        let a = start + i * page;
        match runs.last_mut() {
            Some(r) if r.1 == a => r.1 = a + page,
            _ => runs.push((a, a + page)),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resident kB of the executable's read-only mappings.
    fn image_rss_kb() -> u64 {
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let exe = exe.to_string_lossy().into_owned();
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut ours = false;
        let mut kb = 0;
        for l in smaps.lines() {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.first()
                .is_some_and(|a| a.contains('-') && !a.ends_with(':'))
            {
                ours = f.len() > 5 && f[5] == exe && !f[1].contains('w');
            } else if ours && f.first() == Some(&"Rss:") {
                kb += f[1].parse::<u64>().unwrap();
            }
        }
        kb
    }

    #[test]
    fn dropping_the_readonly_image_keeps_the_program_working() {
        let before = image_rss_kb();
        let released = drop_readonly_image(page_size());
        assert!(released > 0, "nothing released");
        // Code and constants fault back in: formatting, hashing, sorting all still work.
        let mut v: Vec<String> = (0..1000).map(|i| format!("{i:x}")).collect();
        v.sort();
        assert_eq!(v[0], "0");
        let after = image_rss_kb();
        assert!(
            after < before,
            "read-only image resident {before} kB before, {after} kB after"
        );
    }

    #[test]
    fn only_the_main_threads_stack_is_shed() {
        fn deep(n: u32) -> u64 {
            let buf = std::hint::black_box([n as u8; 512]);
            if n == 0 {
                0
            } else {
                buf[0] as u64 + deep(n - 1)
            }
        }
        let kept = std::hint::black_box([7u8; 4096]);
        assert!(deep(200) > 0);
        // Test threads are not the main thread: their stacks are not the
        // [stack] mapping and are left alone.
        assert_eq!(drop_dead_stack(page_size()), 0);
        shed();
        assert!(kept.iter().all(|&b| b == 7));
    }
}
