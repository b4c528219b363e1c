//! The end-to-end suite: one test binary (one link step) whose modules each cover an
//! area. Every test starts the real application on an ephemeral loopback port with a
//! throw-away database (`common::App`), usually once per backend (`backend_tests!`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

mod common;

mod api;
mod attempts;
mod audit;
mod binary;
mod console;
mod console_pages;
mod context;
mod demo;
mod duo;
mod edge;
mod fido;
mod files;
mod gateway;
mod limits;
mod methods;
mod mobile;
mod nodes;
mod otp;
mod outbox;
mod paging;
mod providers;
mod qr_login;
mod radius;
mod readme;
mod retention;
mod risk;
mod rotation;
mod schema_fuzz;
mod secrets;
mod self_service;
mod sessions;
mod tls;
mod token_import;
mod tokens;
mod upgrade;
