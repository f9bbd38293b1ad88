//! One module per subcommand.

pub mod explain;
pub mod generate;
pub mod history;
pub mod merge;
pub mod partition;
pub mod policy;
pub mod report;
pub mod rules;
pub mod scrub;
