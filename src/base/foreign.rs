//! Panics of code that is not ours, turned into errors.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;

/// Run `f`, a call into a library that may panic on damaged input (polars' Parquet reader does on
/// some damaged files: seen by fuzzing, a bitmap sliced past its end), and give its panic message
/// as an error. The panic hook is silenced meanwhile, so stderr shows our message only; one such
/// call runs at a time because the hook is the process's.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(hook);
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
        // the hook is back: a later panic is reported as usual (not checked: it would print)
        assert_eq!(super::catch_panic(|| "again"), Ok("again"));
    }
}
