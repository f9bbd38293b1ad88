//! One module per subcommand.

pub mod policy;
pub mod rules;
pub mod scrub;
