//! Panics of code that is not ours, turned into errors.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

/// Calls of `catch_panic` under way: while there is one, the panic hook stays quiet.
static QUIET: AtomicUsize = AtomicUsize::new(0);

/// Run `f`, a call into a library that may panic on damaged input (a Parquet reader may: polars'
/// did on some damaged files, seen by fuzzing, a bitmap sliced past its end; the `parquet` crate
/// is kept behind it too), and give its panic message as an error. The panic hook (wrapped once,
/// on the first call) prints nothing while such a call is under way, so stderr shows our message
/// only. No lock: the library's threads may need the threads of callers waiting beside it (a lock
/// here deadlocked two Parquet inputs read at once).
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static WRAP: Once = Once::new();
    WRAP.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.load(Ordering::SeqCst) == 0 {
                previous(info)
            }
        }));
    });
    QUIET.fetch_add(1, Ordering::SeqCst);
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.fetch_sub(1, Ordering::SeqCst);
    r.map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_panic_is_an_error_and_a_value_passes() {
        assert_eq!(super::catch_panic(|| 7), Ok(7));
        let e = super::catch_panic(|| -> u8 { panic!("slice past its end") });
        assert_eq!(e, Err("slice past its end".to_string()));
        // calls at once from several threads, nested too: none waits for another
        let n: Vec<Result<Result<u32, String>, String>> = std::thread::scope(|s| {
            let h: Vec<_> = (0..4)
                .map(|i| s.spawn(move || super::catch_panic(|| super::catch_panic(|| i))))
                .collect();
            h.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(n, (0..4).map(|i| Ok(Ok(i))).collect::<Vec<_>>());
    }
}
