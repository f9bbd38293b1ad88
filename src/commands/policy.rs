//! `claimscrub policy`: the built-in payer policy as TOML.

pub fn run() -> i32 {
    print!("{}", crate::reference::policy::DEFAULT_POLICY);
    0
}
