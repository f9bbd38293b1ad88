//! One module per subcommand.

pub mod generate;
pub mod history;
pub mod policy;
pub mod rules;
pub mod scrub;
