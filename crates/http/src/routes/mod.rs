//! Route groups, one module per interface.

pub mod admin;
pub mod events;
pub mod integration;
pub mod mobile;
pub mod ops;
pub mod pages;
