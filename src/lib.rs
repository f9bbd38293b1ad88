//! claimscrub: read → normalise (malformed rows split off) → link → rules → hold → write.

pub mod cli;
pub mod commands;
pub mod generate;
pub mod hold;
pub mod input;
pub mod link;
pub mod model;
pub mod output;
pub mod reference;
pub mod rules;
