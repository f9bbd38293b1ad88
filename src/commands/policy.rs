//! `claimscrub policy`: the built-in payer policy as TOML.

pub fn run() -> anyhow::Result<i32> {
    super::write_stdout(crate::reference::policy::DEFAULT_POLICY)?;
    Ok(0)
}
