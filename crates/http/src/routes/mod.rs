//! Route groups, one module per interface.

pub mod admin;
pub mod integration;
pub mod ops;
